"""A prediction made consistent with what the code itself states of the site, pure.

    pred = consistent(pred, ranking, aliases)

Two things the code states, which neither the model nor the project's evidence always respected
(on the 17 held-out Python applications, unannotated, `benchmarks/strip_restore_eval.py`: exact
0.618 -> 0.625, 72 more parameters and 23 more returns right, none lost by the second rule):

- a Python parameter whose default is `None` admits `None`: `def f(tag=None)` is `Tag | None`,
  never `Tag` (a checker rejects `tag: Tag = None`); each candidate that does not admit `None`
  gets `| None`, unless it is a type alias (which may hold `None` itself) or a type variable;
- a function that returns a value other than a call's result (`return self._name`, `return x[0]`)
  does not return `None` (nor `void` / `undefined`): such candidates are dropped and the next one
  is the prediction, with its own confidence.

And one thing people state by what they do not write: TypeScript's empty object type `{}` is
dropped the same way (`_empty_object`).

A prediction the code does not contradict is returned as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from ..slices.data import Slice
from ..types import union_members
from .features import ProjectType
from .finalize import Prediction
from .scorer import Ranking

ADMITS_NONE = frozenset({"None", "Any", "object", "typing.Any", "NoneType"})
NOTHING = frozenset({"None", "void", "undefined", "null", "NoReturn", "Never", "never", "typing.NoReturn"})
# what a returned expression of these categories can evaluate to is not known from its text
UNKNOWN_RESULT = frozenset({"call", "await", "bare", "other"})


def consistent(pred: Prediction, ranking: Ranking, aliases: Collection[str] = ()) -> Prediction:
    """`pred` with its type and alternatives made consistent with the site's code; `ranking`: the
    model's (where a type it names is imported from); `aliases`: the names of the type aliases
    and type variables at the site (they may admit `None` themselves)."""
    s = pred.slice
    if not pred.type:
        return pred
    if s.language != "python" and _empty_object(pred.type):
        pred = _without(pred, ranking, _empty_object)
    if s.kind == "param" and s.language == "python" and _defaults_to_none(s):
        return _with_none(pred, aliases)
    if s.kind == "return" and returns_a_value(s):
        return _without(pred, ranking, lambda t: t.strip() in NOTHING)  # (a name: never a union)
    return pred


def _empty_object(t: str) -> bool:
    """TypeScript's empty object type `{}` (any value but null and undefined): what an empty object
    literal passed or assigned is inferred as, hardly ever what a person writes (typescript-eslint's
    `no-empty-object-type` flags it): 1 of the 37,505 declared labels of the corpus's TypeScript
    validation split, and none of the 28 times it was predicted on the held-out applications."""
    return t.replace(" ", "") == "{}"


def aliases(s: Slice, project: Sequence[ProjectType]) -> frozenset[str]:
    """The names at the site that may stand for any type: its scope's type aliases and type
    variables, and the project's aliases (imported ones are in the scope as imports)."""
    if s.kind != "param" or s.language != "python" or not _defaults_to_none(s):
        return frozenset()  # only `_with_none` reads them
    return frozenset(
        [n.name for n in s.scope if n.kind in ("alias", "type_param")]
        + [p.name for p in project if p.kind == "alias"]
    )


def _defaults_to_none(s: Slice) -> bool:
    d = s.evidence.default
    return d is not None and d.text.strip() == "None"


def returns_a_value(s: Slice) -> bool:
    """Whether one of the function's returns is a value that is not `None` by its text (a name,
    an attribute, a literal, a collection...; not a call, whose result may be `None`)."""
    return any(r.category not in UNKNOWN_RESULT and r.text.strip() not in NOTHING for r in s.evidence.returns)


def admits_none(t: str, aliases: Collection[str] = ()) -> bool:
    """Whether the (Python) type holds `None`: a union with `None`, `Optional[...]`, `Any`, `object`,
    or a name that may stand for such a type (an alias or a type variable in `aliases`)."""
    members = union_members(t, "python")
    return any(m.strip() in ADMITS_NONE or m.strip() in aliases for m in members)


def _with_none(pred: Prediction, aliases: Collection[str]) -> Prediction:
    return respelled(pred, lambda t: t if not t or admits_none(t, aliases) else f"{t} | None")


def respelled(pred: Prediction, fix: Callable[[str], str]) -> Prediction:
    """`pred` with its type and each alternative rewritten by `fix`, the alternatives that become
    one type merged at their best confidence; the same object when `fix` changes nothing."""
    new = fix(pred.type)
    if new == pred.type and all(fix(t) == t for t, _ in pred.alternatives):
        return pred
    merged: dict[str, float] = {}
    for t, c in pred.alternatives:
        u = fix(t)
        merged[u] = max(merged.get(u, 0.0), c)
    return replace(pred, type=new, alternatives=list(merged.items()))


def _without(pred: Prediction, ranking: Ranking, ruled_out: Callable[[str], bool]) -> Prediction:
    """`pred` without the candidates `ruled_out`: when its type is one, the next alternative is the
    prediction, with its own confidence (unchanged when there is none)."""
    if not ruled_out(pred.type):
        return pred
    rest = [(t, c) for t, c in pred.alternatives if not ruled_out(t)]
    if not rest:
        return pred  # nothing else to say: the prediction stands
    t, c = rest[0]
    source = "model" if any(t == m for m, _ in ranking.types) else "project"
    return replace(
        pred, type=t, confidence=c, source=source, alternatives=rest, module=ranking.modules.get(t), rule=None
    )
