"""The last stage, pure: a site and the model's Ranking in, the final Prediction out.

    pred = finalize(calibration, slice, ranking, top_k=5, members=table_or_None)

In order: the member check (classes lacking a member the code uses on the value lose most of
their probability; `members` is the table of known members, None turns the check off),
declaration qualifiers taken off Python types, then `combine`: a static fact first with its
rule's measured precision unless the model is more confident with a type that holds the fact's
value, and the confidence calibrated (typeinf.inference.confidence) into the probability that the
prediction is exactly right.  Nothing here reads files, the environment or a model; the same
functions serve models.evaluate on validation and test sites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..lang import lang_family
from ..slices.data import Slice
from ..types import normalize, without_qualifier
from .bundle import Calibration
from .confidence import confidence_features
from .features import ProjectType
from .members import BUILTIN_MEMBERS, class_of, used_members
from .scorer import Ranking
from .static import QUALIFIER_RULES, Fact, holds, static_fact

MEMBER_PENALTY = 0.1


@dataclass
class Prediction:
    slice: Slice
    type: str
    confidence: float
    source: (
        str  # "static" | "model" | "project" | "checker" (typeinf.inference.rerank) | "rejected" (the judge)
    )
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    module: str | None = None  # where the predicted name is imported from, when not in the file
    rule: str | None = None

    def to_dict(self, top_k: int = 5) -> dict[str, Any]:
        s = self.slice
        return {
            "file": s.file,
            "line": s.line,
            "column": s.column,
            "kind": s.kind,
            "qualname": s.qualname,
            "name": s.name,
            "type": self.type,
            "confidence": round(self.confidence, 4),
            "alternatives": [{"type": t, "confidence": round(c, 4)} for t, c in self.alternatives[:top_k]],
            "source": self.source,
        }


class Choice(NamedTuple):
    """The final type of a site, before it is attached to the slice."""

    type: str
    confidence: float
    source: (
        str  # "static" | "model" | "project" | "checker" (typeinf.inference.rerank) | "rejected" (the judge)
    )
    alternatives: list[tuple[str, float]]


def combine_raw(
    calibration: Calibration,
    fam: str,
    fact: Fact | None,
    alts: list[tuple[str, float]],
    top_k: int = 5,
    kind: str = "var",
) -> Choice:
    """Static facts first, with their rule's measured precision; the model's first choice when
    it is more confident than the rule has been (`x: float = 0`, `x: Base = Derived()`)."""
    if fact is not None:
        t = normalize(fact.type, fam)
        rule_p = calibration.rule_precision(fam, kind, fact)
        # the model overrides a fact only with a type that holds the fact's value
        if not alts or alts[0][0] == t or alts[0][1] <= rule_p or not holds(alts[0][0], fact, fam):
            conf = max(rule_p, dict(alts).get(t, 0.0))
            rest = [(x, c) for x, c in alts if x != t]
            return Choice(t, conf, "static", [(t, conf), *rest][:top_k])
    t, c = alts[0] if alts else ("", 0.0)
    return Choice(t, c, "model", alts[:top_k])


def combine(
    calibration: Calibration,
    fam: str,
    fact: Fact | None,
    alts: list[tuple[str, float]],
    top_k: int = 5,
    kind: str = "var",
) -> Choice:
    """The final prediction (see `combine_raw`) with its calibrated confidence: the probability,
    fitted on the validation split (typeinf.inference.confidence), that it is exactly right."""
    t, conf, source, out = combine_raw(calibration, fam, fact, alts, top_k, kind)
    calibrator = calibration.calibrators.get(fam)
    if (
        calibrator is None
        or not t
        or (source == "static" and fact is not None and fact.rule in QUALIFIER_RULES)
    ):
        return Choice(t, conf, source, out)
    rule_p = calibration.rule_precision(fam, kind, fact) if fact is not None else 0.0
    conf = calibrator(confidence_features(t, conf, alts, source, rule_p, kind, fam))
    return Choice(t, conf, source, [(t, conf), *[(x, c) for x, c in out if x != t]][:top_k])


def member_table(project: Sequence[ProjectType], fam: str) -> dict[str, frozenset[str]]:
    """The known members of each class: the language's builtins, then the project's classes."""
    return {**BUILTIN_MEMBERS[fam], **{p.name: p.members for p in project if p.members is not None}}


def finalize(
    calibration: Calibration,
    s: Slice,
    ranking: Ranking,
    top_k: int = 5,
    members: Callable[[], Mapping[str, frozenset[str]]] | None = None,
) -> Prediction:
    """The prediction of a site from the model's ranking. `members` gives the member table
    (`member_table`; called only when the code uses members of the value), None: no member check."""
    fam = lang_family(s.language)
    alts = list(ranking.types)
    if members is not None and alts:
        used = used_members([c.method for c in s.evidence.calls_on], s.evidence.attrs_read)
        if used:
            alts = rule_out_by_members(alts, used, members(), fam)
    if s.language == "python":
        alts = types_not_qualifiers(alts)
    fact = static_fact(s)
    t, conf, source, alternatives = combine(calibration, fam, fact, alts, top_k, s.kind)
    return Prediction(
        s,
        t,
        conf,
        source,
        alternatives,
        ranking.modules.get(t),
        fact.rule if fact is not None and source == "static" else None,
    )


def types_not_qualifiers(alts: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The ranking with declaration qualifiers taken off (`Final[int]` counts for `int`) and bare
    ones (`Final`, `TypeAlias`) dropped: they are not types to write."""
    if not any(without_qualifier(t) != t for t, _ in alts):
        return alts
    merged: dict[str, float] = {}
    for t, p in alts:
        u = without_qualifier(t)
        if u is not None:
            merged[u] = merged.get(u, 0.0) + p
    return sorted(merged.items(), key=lambda x: -x[1])


def rule_out_by_members(
    alts: list[tuple[str, float]],
    used: set[str],
    members: Mapping[str, frozenset[str]],
    language: str = "python",
) -> list[tuple[str, float]]:
    """Candidates that are classes (of the project, or builtins such as `str`, `list`, `string`,
    `Array`) lacking a member the code uses on the value lose most of their probability to the
    others (the total stays the same)."""
    changed = False
    out = []
    for t, p in alts:
        cls = class_of(t, language)
        known = members.get(cls) if cls is not None else None
        if known is not None and not used <= known:
            p *= MEMBER_PENALTY
            changed = True
        out.append((t, p))
    if not changed:
        return alts
    total, new_total = sum(p for _, p in alts), sum(p for _, p in out)
    scale = total / new_total if new_total > 0 else 1.0
    return sorted(((t, p * scale) for t, p in out), key=lambda x: -x[1])
