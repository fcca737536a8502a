"""Model inputs from a slice: the site text and the local type candidates with their features.

The SAME code runs when the training set is built (models/dataset.py) and at prediction time
(typeinf/inference/scorer.py), so the model never sees inputs shaped differently from its training.

    site_text(slice)                      the text the encoder reads (no annotation text)
    local_candidates(slice, project)      in-scope (and project) type names, each composed with
                                          a few templates (`X`, `X | None`, `list[X]`, `X[]`,
                                          `Promise<X>` ...), with per-candidate features

Candidates from the global vocabulary (builtins, library types learned from the corpus) are
scored by the model's classifier head; local candidates by its pointer/ranking head, which
sees each name's tokens and the features below.  Together they can name any type that exists
at the site, user-defined ones included.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..lang import lang_family
from ..memo import by_identity
from ..slices.data import ScopeName, Slice, clip
from ..types import normalize

TEMPLATES = {
    "python": ("{}", "{} | None", "list[{}]"),
    "typescript": ("{}", "{}[]", "{} | undefined", "Promise<{}>", "{} | null"),
}
CAND_KINDS = ("class", "alias", "interface", "enum", "type_param", "import", "project")
N_TEMPLATE_SLOTS = 5
N_FEATURES = 12 + len(CAND_KINDS) + N_TEMPLATE_SLOTS
MAX_NAMES = 16
MAX_PROJECT_NAMES = 12
MAX_CANDIDATES = 64

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    """`user_repo` / `UserRepo` / `self.userRepo` -> ['user', 'repo']."""
    return [w.lower() for w in _WORD.findall(name.rsplit(".", 1)[-1])]


# ---------------------------------------------------------------------------- site text
def _exprs(items: Iterable[object], limit: int) -> str:
    out = []
    for e in items:
        text = getattr(e, "text", "")
        cat = getattr(e, "category", "")
        out.append(f"{cat} {text}".strip())
        if len(out) >= limit:
            break
    return " ; ".join(out)


def site_text(s: Slice) -> str:
    """What the encoder reads: kind, name and evidence, most telling first (no labels)."""
    ev = s.evidence
    parts = [f"{s.language} {s.kind} {s.name}"]
    if s.qualname:
        parts.append("in " + s.qualname)
    if s.is_async:
        parts.append("async")
    if not s.annotatable:
        parts.append("unannotatable")
    if ev.definition is not None:
        parts.append(f"def {ev.definition.category} {ev.definition.text}")
    if ev.default is not None:
        parts.append(f"default {ev.default.category} {ev.default.text}")
    if ev.type_checks:
        parts.append("check " + " , ".join(ev.type_checks[:4]))
    if ev.calls_on:
        parts.append("calls " + " ".join(f".{c.method}/{c.args}" for c in ev.calls_on[:10]))
    if ev.attrs_read:
        parts.append("reads " + " ".join("." + a for a in ev.attrs_read[:10]))
    if ev.attrs_written:
        parts.append("writes " + " ".join("." + a for a in ev.attrs_written[:6]))
    if ev.operators:
        parts.append("ops " + " ; ".join(f"{o.op} {o.other}".strip() for o in ev.operators[:8]))
    if ev.passed_to:
        parts.append(
            "to "
            + " ; ".join(f"{p.callee}#{p.arg if p.keyword is None else p.keyword}" for p in ev.passed_to[:8])
        )
    if ev.callee_params:
        parts.append("into " + " ".join(ev.callee_params[:6]))
    if ev.arguments:  # what callers pass: the first 4, each clipped shorter than a slice keeps it
        parts.append("given " + " ; ".join(f"{e.category} {clip(e.text, 24)}" for e in ev.arguments[:4]))
    if ev.subscripts:
        parts.append("index " + " ".join(ev.subscripts[:4]))
    flags = [
        f
        for f, n in (
            ("iterated", ev.iterated),
            ("called", ev.called),
            ("awaited", ev.awaited),
            ("returned", ev.returned),
        )
        if n
    ]
    if flags:
        parts.append(" ".join(flags))
    if ev.returns:
        parts.append("returns " + _exprs(ev.returns, 4))
    if ev.yields:
        parts.append("yields " + _exprs(ev.yields, 3))
    if ev.result_uses:
        parts.append("result " + " ; ".join(ev.result_uses[:6]))
    if ev.assignments:
        parts.append("assigned " + _exprs(ev.assignments, 3))
    if ev.decorators:
        parts.append("decorators " + " ".join(ev.decorators[:3]))
    if ev.signature:
        parts.append("sig " + ev.signature)
    return " | ".join(parts)


# ---------------------------------------------------------------------------- candidates
@dataclass(slots=True)
class Candidate:
    type: str  # normalised type text, e.g. "User | None"
    name: str  # the name it is built from, e.g. "User"
    template: int
    kind: str
    module: str | None  # where to import it from (None: defined in the file / builtin)
    feats: list[float]


@dataclass(frozen=True, slots=True)
class ProjectType:
    """A type defined somewhere in the project (class, alias, interface, enum) and its module."""

    name: str
    kind: str
    module: str
    members: frozenset[str] | None = None  # a class's members, own and inherited (None: unknown)


def _is_type_like(name: str, kind: str) -> bool:
    if kind in ("class", "alias", "interface", "enum", "type_param", "project"):
        return True
    last = name.rsplit(".", 1)[-1]
    return kind == "import" and last.lstrip("_")[:1].isupper()


_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_HEAD = re.compile(r"(?:new\s+|await\s+)?([A-Za-z_$][\w$.]*)\s*[.(<]")


@lru_cache(maxsize=200_000)
def _words_cached(name: str) -> tuple[str, ...]:
    return tuple(words(name))


class _SiteContext:
    """Identifier sets of a slice's evidence, computed once per slice for all candidates."""

    __slots__ = (
        "window",
        "checks",
        "default",
        "returns",
        "signature",
        "callees",
        "head",
        "site_words",
        "site_key",
    )

    def __init__(self, s: Slice) -> None:
        ev = s.evidence
        self.window: dict[str, int] = {}
        for w in _IDENT.findall(ev.window):
            self.window[w] = self.window.get(w, 0) + 1
        self.checks = set(_IDENT.findall(" ".join(ev.type_checks)))
        self.default = set(_IDENT.findall(ev.default.text)) if ev.default is not None else set()
        self.returns = set(_IDENT.findall(" ".join(e.text for e in ev.returns[:6])))
        self.signature = set(_IDENT.findall(ev.signature))
        self.callees = set(_IDENT.findall(" ".join(p.callee for p in ev.passed_to)))
        m = _HEAD.match(ev.definition.text) if ev.definition is not None else None
        self.head = m.group(1) if m else ""
        self.site_words = _words_cached(s.name)
        self.site_key = "".join(self.site_words)


def _name_features(s: Slice, name: str, ctx: _SiteContext) -> list[float]:
    last = name.rsplit(".", 1)[-1]
    cw = _words_cached(last)
    sw = ctx.site_words
    union = len(set(cw) | set(sw))
    jacc = len(set(cw) & set(sw)) / union if union else 0.0
    head = ctx.head
    return [
        1.0 if ctx.site_key and ctx.site_key == "".join(cw) else 0.0,
        jacc,
        1.0 if sw and cw and sw[-1] == cw[-1] else 0.0,
        1.0 if last in ctx.checks else 0.0,
        1.0 if head and (head == name or head.startswith(name + ".")) else 0.0,
        1.0 if last in ctx.default else 0.0,
        1.0 if last in ctx.returns else 0.0,
        1.0 if last in ctx.signature else 0.0,
        math.log1p(ctx.window.get(last, 0)),
        1.0 if last in ctx.callees else 0.0,
        1.0 if last[:1].isupper() else 0.0,
        1.0 if s.kind == "return" and s.is_async else 0.0,
    ]


class _ProjectLookup:
    """Project types indexed by last name component and by word, built once per project list."""

    def __init__(self, project: Sequence[ProjectType]) -> None:
        self.by_last: dict[str, list[ProjectType]] = {}
        self.by_word: dict[str, list[ProjectType]] = {}
        for p in project:
            last = p.name.rsplit(".", 1)[-1]
            self.by_last.setdefault(last, []).append(p)
            for w in set(_words_cached(last)):
                self.by_word.setdefault(w, []).append(p)


_project_lookup = by_identity(maxsize=64)(_ProjectLookup)


def _relevant_project_types(project: Sequence[ProjectType], ctx: _SiteContext) -> list[ProjectType]:
    """Project types mentioned near the site or sharing a word with its name (in a stable order)."""
    if not project:
        return []
    lookup = _project_lookup(project)
    found: dict[str, ProjectType] = {}
    for ident in ctx.window:
        for p in lookup.by_last.get(ident, ()):
            found.setdefault(p.name, p)
    for w in set(ctx.site_words):
        for p in lookup.by_word.get(w, ()):
            found.setdefault(p.name, p)
    return sorted(found.values(), key=lambda p: p.name)


_KIND_ONEHOT = {k: [1.0 if k == j else 0.0 for j in CAND_KINDS] for k in CAND_KINDS}
_NO_KIND = [0.0] * len(CAND_KINDS)
_TEMPLATE_ONEHOT = [
    [1.0 if t == i else 0.0 for i in range(N_TEMPLATE_SLOTS)] for t in range(N_TEMPLATE_SLOTS)
]


@by_identity(maxsize=256)  # the slices of one file share their scope list
def _type_like_names(scope: list[ScopeName]) -> dict[str, tuple[str, str | None]]:
    names: dict[str, tuple[str, str | None]] = {}
    for e in scope:
        if e.kind != "builtin" and e.name not in names and _is_type_like(e.name, e.kind):
            names[e.name] = (e.kind, e.module)
    return names


def local_candidates(s: Slice, project: Sequence[ProjectType] = ()) -> list[Candidate]:
    """Type candidates built from the names visible at the site (and the project's types)."""
    fam = lang_family(s.language)
    ctx = _SiteContext(s)
    names = _type_like_names(s.scope)
    scored = []
    for name, (kind, module) in names.items():
        f = _name_features(s, name, ctx)
        prior = 4 * (f[3] + f[4] + f[6]) + 2 * f[0] + f[1] + f[2] + f[8] + (0.5 if kind == "class" else 0)
        scored.append((prior, name, kind, module, f))
    proj = []
    for p in _relevant_project_types(project, ctx):
        if p.name in names:
            continue
        f = _name_features(s, p.name, ctx)
        relevance = f[0] * 2 + f[1] + f[2] + f[3] + f[4] + f[8]
        if relevance > 0:
            proj.append((relevance, p.name, "project", p.module, f))
    proj.sort(key=lambda x: (-x[0], x[1]))
    scored.sort(key=lambda x: (-x[0], x[1]))
    chosen = scored[:MAX_NAMES] + proj[:MAX_PROJECT_NAMES]
    out: list[Candidate] = []
    templates = TEMPLATES[fam]
    for _prior, name, kind, module, f in chosen:
        f_kind = f + _KIND_ONEHOT.get(kind, _NO_KIND)
        for t, tpl in enumerate(templates):
            if fam == "typescript" and tpl.startswith("Promise") and s.kind != "return":
                continue
            out.append(
                Candidate(
                    normalize(tpl.format(name), fam), name, t, kind, module, f_kind + _TEMPLATE_ONEHOT[t]
                )
            )
            if len(out) >= MAX_CANDIDATES:
                return out
    return out
