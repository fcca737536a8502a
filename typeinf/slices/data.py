"""The usage-slice data model: plain dataclasses, serialised to the JSON format in `slices/`.

A slice is everything the code says about one typeable name (a parameter, a return or a
variable).  Positions are 1-based lines and 0-based columns in Unicode code points of the
name being typed, plus the UTF-8 byte span of that name.  No evidence field ever contains
annotation text: the label is `annotation`, and the annotations of other sites travel
separately in `neighbours`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = "1.0"


# Evidence lists are capped so one busy name cannot blow up a slice.
MAX_ITEMS = 24
MAX_TEXT = 160


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Collapse whitespace and cut `text` to `limit` characters (with an ellipsis)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(slots=True)
class Expr:
    """An expression with its category (literal, call, name, attribute, collection, ...)."""

    text: str
    category: str


@dataclass(slots=True)
class CallOn:
    """A method called on the name: `x.append(1)` -> method="append", args=1."""

    method: str
    args: int


@dataclass(slots=True)
class PassedTo:
    """The name passed to a call: `f(a, x)` -> callee="f", arg=1; `f(k=x)` -> keyword="k"."""

    callee: str
    arg: int | None = None
    keyword: str | None = None


@dataclass(slots=True)
class Operation:
    """An operator or comparison applied to the name: op, the other operand's kind, side."""

    op: str
    other: str
    side: Literal["left", "right", "unary"] = "left"


@dataclass(slots=True)
class Evidence:
    """What the code says about the name.  Never contains annotation text."""

    definition: Expr | None = None
    assignments: list[Expr] = field(default_factory=list)
    default: Expr | None = None
    calls_on: list[CallOn] = field(default_factory=list)
    passed_to: list[PassedTo] = field(default_factory=list)
    attrs_read: list[str] = field(default_factory=list)
    attrs_written: list[str] = field(default_factory=list)
    operators: list[Operation] = field(default_factory=list)
    subscripts: list[str] = field(default_factory=list)
    iterated: int = 0
    called: int = 0
    awaited: int = 0
    returned: int = 0
    type_checks: list[str] = field(default_factory=list)
    returns: list[Expr] = field(default_factory=list)
    yields: list[Expr] = field(default_factory=list)
    ends_without_value: bool = False  # for returns: a bare `return`, or the end of the body is reachable
    signature: str = ""
    decorators: list[str] = field(default_factory=list)
    window: str = ""
    # evidence from the rest of the project (its calls), filled by typeinf.inference.calls.across
    # when the slices of a whole project are at hand; empty for a file sliced alone
    arguments: list[Expr] = field(default_factory=list)  # a parameter: what the project's calls pass
    callee_params: list[str] = field(
        default_factory=list
    )  # a value passed to project functions: their parameters' names
    result_uses: list[str] = field(default_factory=list)  # a return: what the callers do with the result

    def usage_count(self) -> int:
        """Number of usage items (everything learned from how the name is used)."""
        return (
            len(self.calls_on)
            + len(self.passed_to)
            + len(self.attrs_read)
            + len(self.attrs_written)
            + len(self.operators)
            + len(self.subscripts)
            + len(self.type_checks)
            + self.iterated
            + self.called
            + self.awaited
            + self.returned
        )


@dataclass(slots=True)
class ScopeName:
    """A name that can be used as a type at the site.

    kind: builtin | import | class | alias | interface | enum | type_param.
    module: where an imported name comes from (`collections.abc`, `./util`), else None.
    """

    name: str
    kind: str
    module: str | None = None


@dataclass(slots=True)
class Neighbour:
    """The existing annotation of another site of the same function or class (optional input)."""

    kind: str
    name: str
    annotation: str


@dataclass(slots=True)
class Slice:
    file: str
    language: str
    kind: str
    name: str
    qualname: str
    line: int
    column: int
    span: tuple[int, int]
    annotatable: bool
    annotation: str | None
    evidence: Evidence
    scope: list[ScopeName] = field(default_factory=list)
    neighbours: list[Neighbour] = field(default_factory=list)
    is_async: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span"] = list(self.span)
        return {"schema": SCHEMA_VERSION, **d}

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.kind)

    def at(self, span: tuple[int, int], line: int, column: int) -> Slice:
        """The same slice at another place (an edit before it moved it): a copy sharing all the
        rest (`dataclasses.replace` costs 4x more: the language server moves hundreds per edit)."""
        return Slice(
            self.file,
            self.language,
            self.kind,
            self.name,
            self.qualname,
            line,
            column,
            span,
            self.annotatable,
            self.annotation,
            self.evidence,
            self.scope,
            self.neighbours,
            self.is_async,
        )


def slice_from_dict(d: dict[str, Any]) -> Slice:
    """Inverse of `Slice.to_dict` (used by the corpus reader and tests)."""
    ev = dict(d["evidence"])
    for k in ("definition", "default"):
        if ev.get(k) is not None:
            ev[k] = Expr(**ev[k])
    for k in ("assignments", "returns", "yields", "arguments"):
        ev[k] = [Expr(**e) for e in ev.get(k, [])]
    ev["calls_on"] = [CallOn(**c) for c in ev.get("calls_on", [])]
    ev["passed_to"] = [PassedTo(**c) for c in ev.get("passed_to", [])]
    ev["operators"] = [Operation(**c) for c in ev.get("operators", [])]
    return Slice(
        file=d["file"],
        language=d["language"],
        kind=d["kind"],
        name=d["name"],
        qualname=d["qualname"],
        line=d["line"],
        column=d["column"],
        span=(d["span"][0], d["span"][1]),
        annotatable=d["annotatable"],
        annotation=d.get("annotation"),
        evidence=Evidence(**ev),
        scope=[ScopeName(**s) for s in d.get("scope", [])],
        neighbours=[Neighbour(**n) for n in d.get("neighbours", [])],
        is_async=d.get("is_async", False),
    )
