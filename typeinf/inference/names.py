"""How the project already annotates its names: repo-local evidence for partially typed code.

    annotated_names(root, language)   -> [(kind, name, annotation text)] of one file's annotated sites
    NameTable.build(files, fam)       the counts over the project: (kind, name) -> {normalised type: n}
    table.votes(kind, name)           -> Votes (the counts, most frequent first) or None
    table.other_votes(kind, name)     the same name's votes as the other kind of value: a parameter
                                      `session` and an attribute or variable `session` (`self.` dropped)

A parameter called `request` is annotated `Request` in the project's other functions; a function
called `to_dict` returns `dict[str, Any]` wherever it is annotated.  Half-typed code is the common
case, and what the project's authors wrote elsewhere is the best evidence of what they would write
here (TypeCare, ICSE'26: repo-local name statistics beside a model's top-k).  Measured on held-out
half-typed applications in `benchmarks/strip_restore_eval.py --keep-fraction 0.5`.

The sites are found with tree-sitter queries over the tree the project index already parsed (no
slicing: a sixth of the slicer's time); names follow the slicer's conventions (a return site is
the function's name, `self.x` is a variable named `self.x`).  Pure: trees in, tables out.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node, QueryCursor

from ..slices.source import query
from ..types import normalize, without_qualifier

_MADE_KEPT = 200_000  # votes remembered (`NameTable._made`), shared by a table and its successors

_PY_QUERY = """
(function_definition name: (identifier) @return return_type: (type) @type)
(typed_parameter . (identifier) @param type: (type) @type)
(typed_parameter (list_splat_pattern (identifier) @param) type: (type) @type)
(typed_parameter (dictionary_splat_pattern (identifier) @param) type: (type) @type)
(typed_default_parameter name: (identifier) @param type: (type) @type)
(assignment left: (identifier) @var type: (type) @type)
(assignment left: (attribute object: (identifier) @self attribute: (identifier) @attr) type: (type) @type)
"""

_TS_QUERY = """
(function_declaration name: (identifier) @return return_type: (type_annotation) @type)
(generator_function_declaration name: (identifier) @return return_type: (type_annotation) @type)
(method_definition name: (property_identifier) @return return_type: (type_annotation) @type)
(variable_declarator name: (identifier) @return value: (arrow_function return_type: (type_annotation) @type))
(variable_declarator name: (identifier) @return value: (function_expression return_type: (type_annotation) @type))
(required_parameter pattern: (identifier) @param type: (type_annotation) @type)
(optional_parameter pattern: (identifier) @param type: (type_annotation) @type)
(variable_declarator name: (identifier) @var type: (type_annotation) @type)
(public_field_definition name: (property_identifier) @var type: (type_annotation) @type)
"""

Annotated = tuple[str, str, str]  # kind, name, annotation text


def annotated_names(root: Node, language: str, at: list[int] | None = None) -> list[Annotated]:
    """The (kind, name, annotation) of every annotated parameter, return and variable of a file;
    `at`: each one's place (the first byte of the nodes it is read from) appended there."""
    python = language == "python"
    out: list[Annotated] = []
    for _, match in QueryCursor(query(language, _PY_QUERY if python else _TS_QUERY)).matches(root):
        n = len(out)
        ann = _text(match["type"][0])
        if not python:
            ann = ann[1:].strip()  # a type_annotation starts with its colon
        if "self" in match:
            if _text(match["self"][0]) == "self":
                out.append(("var", "self." + _text(match["attr"][0]), ann))
        else:
            for kind in ("param", "return", "var"):
                if kind in match:
                    name = _text(match[kind][0])
                    if not (python and kind == "param" and name in ("self", "cls")):
                        out.append((kind, name, ann))
        if at is not None and len(out) > n:
            at.extend([min(ns[0].start_byte for ns in match.values())] * (len(out) - n))
    return out


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class Votes:
    """How a (kind, name) is annotated in the project: types, most frequent first, and the total."""

    counts: tuple[tuple[str, int], ...]
    total: int

    @property
    def top(self) -> str:
        return self.counts[0][0]

    @property
    def share(self) -> float:
        return self.counts[0][1] / self.total


@lru_cache(maxsize=65536)
def label(ann: str, fam: str) -> str:
    """An annotation as the name table counts it (normalised; Python's `Final[int]` as `int`, a
    bare `Final` as no type: ""), remembered (a project repeats its annotations)."""
    t = normalize(ann, fam)
    if fam == "python" and t:
        t = without_qualifier(t) or ""
    return t


def _unshared(old: list[Annotated], new: list[Annotated]) -> tuple[list[Annotated], list[Annotated]]:
    """The two lists without the entries they begin and end with alike (an edit of one function
    changes a few of a file's annotations)."""
    n = min(len(old), len(new))
    start = 0
    while start < n and old[start] == new[start]:
        start += 1
    end = 0
    while end < n - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return old[start : len(old) - end], new[start : len(new) - end]


def ranked(c: Counter[str] | None) -> Votes | None:
    """Counted types as votes, most frequent first (ties by name); None for none."""
    if not c:
        return None
    return Votes(tuple(sorted(c.items(), key=lambda x: (-x[1], x[0]))), sum(c.values()))


@dataclass(frozen=True)
class NameTable:
    """The project's annotations counted by (kind, name), normalised as the model's labels are.

    The counters are never changed once the table is made (`replaced` makes new ones for the
    names an edit changes), so a counter's identity is its version: the votes made of the same
    counters are the same `Votes` object, remembered in `_made` and shared with the tables
    `replaced` makes (the language server's engine then knows a site's votes did not change by
    their identity, typeinf.inference.engine)."""

    counts: Mapping[tuple[str, str], Counter[str]] = field(default_factory=dict)
    # (kind, name, same kind?) -> (the counters the votes were made of, the votes)
    _made: dict[tuple[str, str, bool], tuple[tuple[Counter[str], ...], Votes | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def build(cls, files: Iterable[Iterable[Annotated]], fam: str) -> NameTable:
        counts: dict[tuple[str, str], Counter[str]] = {}
        for annotated in files:
            for kind, name, ann in annotated:
                t = label(ann, fam)
                if t:
                    counts.setdefault((kind, name), Counter())[t] += 1
        return cls(counts)

    def replaced(self, old: Iterable[Annotated], new: Iterable[Annotated], fam: str) -> NameTable:
        """The table with one file's annotations `old` replaced by `new` (an edited file): the
        table `build` makes of the files as they are now, without reading the others again."""
        old, new = _unshared(list(old), list(new))
        delta: dict[tuple[str, str], Counter[str]] = {}
        for sign, annotated in ((-1, old), (1, new)):
            for kind, name, ann in annotated:
                t = label(ann, fam)
                if t:
                    delta.setdefault((kind, name), Counter())[t] += sign
        counts = dict(self.counts)
        for k, d in delta.items():
            if not any(d.values()):  # (the same annotations before and after: the same counter)
                continue
            c = Counter(counts.get(k, Counter()))
            for t, n in d.items():
                c[t] += n
                if c[t] <= 0:
                    del c[t]
            if c:
                counts[k] = c
            else:
                counts.pop(k, None)
        if len(self._made) > _MADE_KEPT:
            self._made.clear()
        return NameTable(counts, self._made)

    def votes(self, kind: str, name: str) -> Votes | None:
        c = self.counts.get((kind, name))
        if c is None:
            return None
        at = (kind, name, True)
        got = self._made.get(at)
        if got is not None and got[0][0] is c:
            return got[1]
        made = ranked(c)
        self._made[at] = ((c,), made)
        return made

    def other_votes(self, kind: str, name: str) -> Votes | None:
        """Values of the same name of the other kind: for a parameter or a variable, the variables
        or attributes (`self.x`, class fields) or parameters so named; none for returns."""
        if kind == "return":
            return None
        bare = name.removeprefix("self.")
        other = "var" if kind == "param" else "param"
        keys = sorted({(other, bare), ("var", "self." + bare), ("var", bare)} - {(kind, name)})
        counters = tuple(c for c in (self.counts.get(k) for k in keys) if c is not None)
        at = (kind, name, False)
        got = self._made.get(at)
        if got is not None and len(got[0]) == len(counters) and all(map(operator.is_, got[0], counters)):
            return got[1]
        total: Counter[str] = Counter()
        for c in counters:
            total.update(c)
        made = ranked(total)
        self._made[at] = (counters, made)
        return made

    def __len__(self) -> int:
        return len(self.counts)
