"""The model's top 5 re-ranked with the project's evidence: its own annotations of the same name,
the type checker's inference at the site, for a parameter the types its callers pass, and for a
value passed to project functions the annotations of their parameters (issue #20, items 2, 4, 6, 7).

    reranker = Reranker.load(path)                  # fitted on validation by models/project_names.py
    pred = reranker.apply(pred, Evidence(votes, checker_type))
                                                    # the same Prediction when there is no evidence

Candidates come from five sources: the model's top 5 (after the static facts and the member
check: `finalize`), the types the project wrote for the same (kind, name) elsewhere
(typeinf.inference.names: a parameter called `session` is a `ClientSession` in four other
functions), and the type the checker infers at the site where it infers a concrete one
(typeinf.checker: pyrefly for Python, the TypeScript compiler), and the types of the arguments the
project's calls pass for a parameter and the annotations of the parameters a value is passed to
(typeinf.inference.calls).  Each candidate gets the features
below and one logistic regression, fitted on validation packages in the half-typed and the
unannotated settings, gives the probability that it is the author's type; the best candidate wins
and that probability is its confidence (the same scale as the model's calibrated confidence: the
probability of being exactly right, so annotate's threshold keeps its meaning).  Without evidence
nothing changes.  Pure: predictions and evidence in, predictions out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..lang import lang_family
from ..types import union_members
from .confidence import Calibrator, fit
from .names import Votes
from .static import QUALIFIER_RULES

if TYPE_CHECKING:  # finalize imports the bundle, which loads this stage
    from .finalize import Prediction

FEATURES = (
    "model_p",
    "log_model_p",
    "is_pick",
    "inv_rank",
    "share",
    "log_votes",
    "log_total",
    "is_vote_top",
    "share_x_total",
    "pick_x_share",
    "static_pick",
    "pick_logit",
    "checker",
    "checker_x_pick",
    "checker_known",
    "checker_x_return",
    "checker_x_var",
    "other_share",
    "log_other_votes",
    "is_other_top",
    "call_share",
    "log_call_votes",
    "is_call_top",
    "call_x_pick",
    "call_cover",
    "callee_share",
    "log_callee_votes",
    "is_callee_top",
    "param",
    "return",
    "python",
)
MAX_VOTE_CANDIDATES = 3
_QUALIFIER = re.compile(r"\b[A-Za-z_][\w]*\.(?=[A-Za-z_])")


def unqualified(t: str) -> str:
    """A type without its module qualifiers: `configuration.NamespaceConfig` -> `NamespaceConfig`."""
    return _QUALIFIER.sub("", t)


def key(t: str) -> str:
    """A type's identity across the sources: module qualifiers and spaces dropped
    (`configuration.NamespaceConfig` is the model's `NamespaceConfig`)."""
    return unqualified(t).replace(" ", "")


@dataclass(frozen=True)
class Evidence:
    """What the project says about a site beside the model."""

    votes: Votes | None = None  # how the project annotates the same (kind, name)
    checker: str | None = None  # the checker's concrete inferred type at the site
    other: Votes | None = None  # the same name as the other kind (a parameter and an attribute)
    calls: Votes | None = None  # a parameter: the types of the arguments the project's calls pass
    callees: Votes | None = None  # a value passed to project functions: their parameters' annotations

    def __bool__(self) -> bool:
        return any(x is not None for x in (self.votes, self.checker, self.other, self.calls, self.callees))


@dataclass(frozen=True)
class Site:
    """What the re-ranker reads of a final prediction (a Prediction, or a row recorded on validation)."""

    type: str
    confidence: float
    source: str
    alternatives: Sequence[tuple[str, float]]
    kind: str
    language: str

    @classmethod
    def of(cls, pred: Prediction) -> Site:
        s = pred.slice
        return cls(pred.type, pred.confidence, pred.source, pred.alternatives, s.kind, s.language)


@dataclass(frozen=True)
class Candidate:
    type: str
    features: list[float]
    from_model: bool


def _by_key(votes: Votes | None) -> tuple[dict[str, tuple[str, int]], int, str | None]:
    """The most voted types (at most MAX_VOTE_CANDIDATES) by `key`, the total, the top one's key.
    The spellings of one type count together (`NamespaceConfig` and `configuration.NamespaceConfig`:
    a project writes both), under the most frequent one."""
    if votes is None or not votes.counts:
        return {}, votes.total if votes is not None else 0, None
    merged: dict[str, tuple[str, int]] = {}
    for t, n in votes.counts:  # most frequent first: a key's first spelling is its most frequent
        k = key(t)
        got = merged.get(k)
        merged[k] = (t, n) if got is None else (got[0], got[1] + n)
    top = sorted(merged.items(), key=lambda kv: -kv[1][1])[:MAX_VOTE_CANDIDATES]  # (stable: ties as voted)
    return dict(reversed(top)), votes.total, top[0][0]  # (in the order the candidates had before)


NOTHING = frozenset({"None", "null", "undefined"})  # an argument that says a type may be missing


def call_candidates(ev: Evidence, language: str) -> tuple[Votes | None, dict[str, float]]:
    """The callers' argument types as candidates (`None` passed is no candidate of its own; in
    Python, with one other type passed, `T | None` is one) and, by key, the share of the arguments
    each union of types covers."""
    if ev.calls is None:
        return None, {}
    real = tuple((t, n) for t, n in ev.calls.counts if t not in NOTHING)
    nothing = sum(n for t, n in ev.calls.counts if t in NOTHING)
    if nothing and len(real) == 1 and language == "python":
        real = (*real, (f"{real[0][0]} | None", real[0][1] + nothing))
    kept = Votes(real, ev.calls.total) if real else None
    return kept, {key(t): n / ev.calls.total for t, n in ev.calls.counts}


def _cover(t: str, shares: dict[str, float], language: str) -> float:
    """The share of the callers' arguments whose type is the candidate or one of its union's members."""
    if not shares:
        return 0.0
    return sum(shares.get(key(m), 0.0) for m in dict.fromkeys(union_members(t, lang_family(language))))


def candidates(site: Site, ev: Evidence) -> list[Candidate]:
    """The model's top 5, the project's most frequent types for the name, the types the callers
    pass, the parameters' types it is passed to and the checker's type, each once (by `key`), with
    its features."""
    alts = list(site.alternatives[:5]) or ([(site.type, site.confidence)] if site.type else [])
    model = {key(t): (i, t, p) for i, (t, p) in reversed(list(enumerate(alts)))}
    voted, total, top_key = _by_key(ev.votes)
    other, other_total, other_top = _by_key(ev.other)
    call_votes, call_shares = call_candidates(ev, site.language)
    passed, passed_total, passed_top = _by_key(call_votes)
    taken, taken_total, taken_top = _by_key(ev.callees)
    checker_key = key(ev.checker) if ev.checker else None
    extra = [checker_key] if checker_key is not None else []
    kind = site.kind
    out = []
    for k in dict.fromkeys([*model, *voted, *other, *passed, *taken, *extra]):
        rank, t, p = model.get(k, (None, None, 0.0))
        vt, n = voted.get(k, (None, 0))
        ot, on = other.get(k, (None, 0))
        ct, cn = passed.get(k, (None, 0))
        tt, tn = taken.get(k, (None, 0))
        spelled = next((x for x in (t, vt, ot, ct, tt) if x is not None), ev.checker)
        share = n / total if total else 0.0
        pick = 1.0 if t is not None and t == site.type else 0.0
        checker = 1.0 if k == checker_key else 0.0
        out.append(
            Candidate(
                spelled or "",  # the model's spelling where it has one (its module is known)
                [
                    p,
                    math.log(p + 1e-4),
                    pick,
                    1.0 / (rank + 1) if rank is not None else 0.0,
                    share,
                    math.log1p(n),
                    math.log1p(total),
                    1.0 if k == top_key else 0.0,
                    share * math.log1p(total),
                    pick * share,
                    pick * (1.0 if site.source == "static" else 0.0),
                    pick * _logit(site.confidence),
                    checker,
                    checker * pick,
                    1.0 if checker_key is not None else 0.0,
                    checker * (1.0 if kind == "return" else 0.0),
                    checker * (1.0 if kind == "var" else 0.0),
                    on / other_total if other_total else 0.0,
                    math.log1p(on),
                    1.0 if k == other_top else 0.0,
                    cn / passed_total if passed_total else 0.0,
                    math.log1p(cn),
                    1.0 if k == passed_top else 0.0,
                    pick * (cn / passed_total if passed_total else 0.0),
                    _cover(spelled or "", call_shares, site.language),
                    tn / taken_total if taken_total else 0.0,
                    math.log1p(tn),
                    1.0 if k == taken_top else 0.0,
                    1.0 if kind == "param" else 0.0,
                    1.0 if kind == "return" else 0.0,
                    1.0 if site.language == "python" else 0.0,
                ],
                t is not None,
            )
        )
    return out


@dataclass(frozen=True)
class Reranker:
    calibrator: Calibrator  # the sites the project's calls say nothing of
    # the sites they say something of (`Evidence.calls` or `.callees`): a model of its own, so that
    # adding this evidence leaves the others' probabilities as a fit without it gives them
    with_calls: Calibrator
    # per language family, kind, whether the site has a static fact and whether calls say something of
    # it ("python:param:static", "python:param:model:calls"),
    # subtracted from the log-odds: fitted so that the re-ranked sites of each group at or above the
    # language's writing threshold keep its precision on validation (models/rerank.py)
    offsets: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reranker:
        """Strict: a file fitted for other features, or missing a field, raises."""
        if d.get("features") != list(FEATURES):
            raise ValueError(f"fitted for other features: {d.get('features')}")
        offsets = {str(k): float(v) for k, v in d["offsets"].items()}
        return cls(Calibrator.from_fields(d["calibrator"]), Calibrator.from_fields(d["with_calls"]), offsets)

    @classmethod
    def load(cls, path: Path) -> Reranker:
        return cls.from_dict(json.loads(path.read_text()))

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "calibrator": asdict(self.calibrator),
            "with_calls": asdict(self.with_calls),
            "offsets": dict(self.offsets),
            **extra,
        }

    def rank(self, site: Site, ev: Evidence) -> list[tuple[float, Candidate]]:
        """Every candidate with its probability of being the author's type, best first."""
        ev = trusted(site, ev)
        name = group(site, ev)
        # (a group validation did not see has the offset of the group it was split from)
        off = self.offsets.get(name, self.offsets.get(name.removesuffix(AGREE), 0.0))
        model = self.with_calls if says_calls(ev) else self.calibrator
        return sorted(((shift(model(c.features), off), c) for c in candidates(site, ev)), key=lambda x: -x[0])

    def choose(self, site: Site, ev: Evidence) -> tuple[float, Candidate, list[tuple[float, Candidate]]]:
        """The best candidate, its confidence, and every candidate scored.  The evidence only ever
        raises the confidence of the choice the site had (whose calibration stands on its own);
        a new choice gets the re-ranker's probability."""
        scored = self.rank(site, ev)
        p, best = scored[0]
        if best.type == site.type:
            p = max(p, site.confidence)
        return p, best, scored

    def apply(self, pred: Prediction, ev: Evidence) -> Prediction:
        """The prediction re-ranked with the project's evidence (unchanged without any, or for a
        qualifier the code states: a type alias)."""
        site = Site.of(pred) if pred.type else None
        ev = trusted(site, ev) if site is not None else ev
        if not ev or site is None or pred.rule in QUALIFIER_RULES:
            return pred
        p, best, scored = self.choose(site, ev)
        alternatives = [(best.type, p), *[(c.type, q) for q, c in scored if c is not best]][:5]
        if best.type == pred.type:
            return replace(pred, confidence=p, alternatives=alternatives)
        return replace(
            pred,
            type=best.type,
            confidence=p,
            source="model"
            if best.from_model
            else ("checker" if ev.checker and key(ev.checker) == key(best.type) else "project"),
            alternatives=alternatives,
            module=None,
            rule=None,
        )


NONE_DOUBTED = 0.2  # the model's confidence in another type above which the checker's `None` is not evidence


def trusted(site: Site, ev: Evidence) -> Evidence:
    """The evidence without the checker's `None` for a return whose model's first choice is another
    type at a confidence of at least NONE_DOUBTED: on the validation packages such a `None` was the
    author's type 6 times of 175 and the model's choice 66 times (a hook that returns `None` until
    it is overridden, a function pyrefly cannot see returning), where the checker's other types
    that the model did not choose were right 1,750 times of 2,291.  Below that confidence the
    checker's `None` stays (right 14 times of 122, the model's choice 8 times)."""
    if (
        site.kind == "return"
        and ev.checker == "None"
        and site.type != "None"
        and site.confidence >= NONE_DOUBTED
    ):
        return replace(ev, checker=None)
    return ev


def says_calls(ev: Evidence) -> bool:
    """Whether the project's calls say something of the site (its callers' or callees' types)."""
    return ev.calls is not None or ev.callees is not None


AGREE = ":agree"  # the last part of a group whose checker's type is the site's own choice


def group(site: Site, ev: Evidence) -> str:
    """The calibration group of a site: language family, kind, static fact or not, whether the
    project's calls say something of it, and whether the checker's type is the site's own choice
    (each gets an offset of its own: one shared with the other sites would let their precision on
    validation pay for the others' writes, or, the other way round, hold back the writes of a group
    that is right far more often: Python returns whose checker agrees with the model were written
    at 0.989 on validation, those below the threshold right 0.917 of the time)."""
    calls = ":calls" if says_calls(ev) else ""
    agree = AGREE if ev.checker is not None and key(ev.checker) == key(site.type) else ""
    origin = "static" if site.source == "static" else "model"
    return f"{lang_family(site.language)}:{site.kind}:{origin}{calls}{agree}"


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def shift(p: float, offset: float) -> float:
    if offset == 0.0:
        return p
    p = min(max(p, 1e-9), 1 - 1e-9)
    return 1.0 / (1.0 + math.exp(-(math.log(p / (1 - p)) - offset)))


def fit_reranker(sites: Sequence[tuple[Site, Evidence, set[str]]]) -> Reranker:
    """Fitted on (site, its evidence, the keys of the candidates that are the author's type)."""
    parts: dict[bool, tuple[list[list[float]], list[bool]]] = {False: ([], []), True: ([], [])}
    for site, ev, right in sites:
        rows, labels = parts[says_calls(ev)]
        for c in candidates(site, ev):
            rows.append(c.features)
            labels.append(key(c.type) in right)
    return Reranker(fit(*parts[False], l2=1e-3, steps=3000), fit(*parts[True], l2=1e-3, steps=3000))


def row_of(pred: Prediction, ev: Evidence) -> dict[str, Any]:
    """What models/project_names.py records of a site (without its truth)."""
    return {
        "kind": pred.slice.kind,
        "language": pred.slice.language,
        "name": pred.slice.name,
        "type": pred.type,
        "confidence": pred.confidence,
        "source": pred.source,
        "rule": pred.rule,
        "alternatives": pred.alternatives[:5],
        "votes": list(ev.votes.counts) if ev.votes is not None else [],
        "total": ev.votes.total if ev.votes is not None else 0,
        "checker": ev.checker,
        "other": list(ev.other.counts) if ev.other is not None else [],
        "other_total": ev.other.total if ev.other is not None else 0,
        "calls": list(ev.calls.counts) if ev.calls is not None else [],
        "calls_total": ev.calls.total if ev.calls is not None else 0,
        "callees": list(ev.callees.counts) if ev.callees is not None else [],
        "callees_total": ev.callees.total if ev.callees is not None else 0,
    }
