"""What a Python variable that starts empty is later given: the values written into it (issue #20,
variables).

    found = written(data, slices)          # per slice: Writes | None
    t = compose(found[i], types)           # `types`: each written value's type (None: unknown)

A variable whose definition says nothing of its type (`None`, `[]`, `{}`, `set()`, `list()`,
`dict()`) is declared by its authors with what the code puts in it later: `self.reader = None`
and, in another method, `self.reader = reader` is `StreamReader | None`; `pools = {}` and then
`pools[key] = pool` is `dict[Key, Pool]`.  The type checker cannot say it at the definition
(pyrefly infers `None` there, or a container of unknowns), nor can the model, which reads the
uses but not the types of what is written.

`written` finds, for each such site, every write of the same variable: the other assignments to
it, and for a container the elements added (`x.append(v)`, `x.add(v)`, `x.insert(i, v)`,
`x[k] = v`, `x.setdefault(k, v)`).  A variable of a function is written in that function (not
in a nested one), a member (`self.x`) in any method of its class, a module's variable by the
module's statements and, for a container, by any function that does not bind the name itself.
Each written value is typed from its text where its text says it (a literal, a constructor call:
typeinf.inference.calls) or is a place where the checker is asked (a name, an attribute, the
function a call calls: what it returns).  A site
written in any other way (`x.extend(...)`, `x += ...`, `x.update(...)`, a value that is neither
typed nor a name) has no `Writes`: what it holds is not known.

`compose` makes the type from the values' types (all known, at most two distinct ones): the engine
gives it to the re-ranker as the checker's type at the site (typeinf.inference.engine), where the
checker's own type says nothing more (`None`, unknown).  Pure: bytes and slices in, data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tree_sitter import Node

from ..slices.data import Slice
from ..slices.source import node_text, parse
from ..types import names_in, union_members
from .calls import PY_VALUES, position, written_type
from .returned import called

# a definition that says nothing of the type -> the container it starts
EMPTY = {"None": "optional", "[]": "list", "list()": "list", "{}": "dict", "dict()": "dict", "set()": "set"}
# a container's methods that add an element: name -> (the key's argument, the element's argument)
_ADDS = {"append": (None, 0), "add": (None, 0), "insert": (None, 1), "setdefault": (0, 1)}
# the other methods that change it: what they add is not read
_CHANGES = frozenset({"extend", "update", "__setitem__", "appendleft", "extendleft", "union", "push"})
_SCOPES = frozenset({"function_definition", "class_definition", "lambda"})
_NEVER = frozenset({"Never", "NoReturn"})  # (the checker's type of what it could not infer)
MAX_VALUES = 12  # a site written more often is left alone
MAX_TYPES = 2  # distinct types of its elements (or values)


class Value(NamedTuple):
    """A value written: its role (`value` assigned, `item` of a list or set, `key` and `entry` of
    a dict), its type from its text, else where to ask the checker (1-based line, column) and
    what (`var`: the name or attribute there; `return`: the function called there returns)."""

    role: str
    static: str | None
    ask: tuple[int, int] | None
    kind: str = "var"


@dataclass(frozen=True, slots=True)
class Writes:
    container: str  # optional | list | set | dict
    values: tuple[Value, ...]


def written(data: bytes, slices: Sequence[Slice], root: Node | None = None) -> list[Writes | None]:
    """For each slice, the values later written into it where it is a variable that starts empty
    (see above); None elsewhere.  `root`: the text's tree, when the caller has parsed it."""
    out: list[Writes | None] = [None] * len(slices)
    wanted = [i for i, s in enumerate(slices) if starts_empty(s) is not None]
    if not wanted:
        return out
    if root is None:
        root = parse(data, "python").root_node
    targets: dict[str, list[_Target]] = {}
    for i in wanted:
        t = _target(root, slices[i], i, starts_empty(slices[i]) or "")
        if t is not None:
            targets.setdefault(t.text, []).append(t)
    if not targets:
        return out
    found: dict[int, list[Value] | None] = {t.index: [] for ts in targets.values() for t in ts}
    bound: set[tuple[int, str]] = set()  # (a function's start, a name it binds)
    stack = [root]
    while stack:
        n = stack.pop()
        stack.extend(reversed(n.named_children))  # (in the order of the text)
        if n.type in ("assignment", "augmented_assignment"):
            _assignment(n, data, targets, found, bound)
        elif n.type == "call":
            _call(n, data, targets, found)
        elif n.type == "parameters":
            fn = n.parent
            for p in n.named_children:
                name = p if p.type == "identifier" else p.child_by_field_name("name")
                if name is not None and fn is not None:
                    bound.add((fn.start_byte, node_text(name)))
    for ts in targets.values():
        for t in ts:
            vals = found[t.index]
            if vals is None or len(vals) > MAX_VALUES:
                continue
            if t.module and any((f, t.text) in bound for f in t.mutated_in):
                continue  # (a function that binds the name mutates its own)
            if vals:
                out[t.index] = Writes(t.container, tuple(vals))
    return out


def compose(w: Writes, types: Sequence[str | None]) -> str | None:
    """The variable's type from its written values' types (`types[i]`: of `w.values[i]`, None
    when unknown); None when one is unknown or they are more than MAX_TYPES."""
    if any(t is None or not _NEVER.isdisjoint(names_in(t, "python")) for t in types):
        return None
    by: dict[str, list[str]] = {}
    for v, t in zip(w.values, types, strict=True):
        by.setdefault(v.role, []).extend(_members(t or ""))
    if w.container == "optional":
        members = _distinct(by.get("value", []), drop_none=True)
        if members is None or not members:
            return None
        return " | ".join([*members, "None"])
    if w.container in ("list", "set"):
        items = list(by.get("item", []))
        for t in by.get("value", []):  # `x = [a, b]` later: its element type
            inner = _inside(t, w.container)
            if inner is None:
                return None
            items.extend(_members(inner))
        members = _distinct(items)
        return f"{w.container}[{' | '.join(members)}]" if members else None
    keys, entries = list(by.get("key", [])), list(by.get("entry", []))
    for t in by.get("value", []):
        inner = _inside(t, "dict")
        parts = _split_args(inner) if inner is not None else None
        if parts is None or len(parts) != 2:
            return None
        keys.extend(_members(parts[0]))
        entries.extend(_members(parts[1]))
    k, e = _distinct(keys), _distinct(entries)
    if not k or not e:
        return None
    return f"dict[{' | '.join(k)}, {' | '.join(e)}]"


# ------------------------------------------------------------------------------------- finding


def starts_empty(s: Slice) -> str | None:
    """The container a variable starts as, when its definition says nothing of its type."""
    d = s.evidence.definition
    return EMPTY.get(d.text) if s.kind == "var" and d is not None else None


@dataclass(slots=True)
class _Target:
    index: int  # the slice's
    container: str  # what it starts as (`starts_empty`)
    text: str  # `x`, `self.x`
    scope: Node  # the function (a variable), the class (a member) or the module
    definition: int  # the defining assignment's start byte
    module: bool
    mutated_in: list[int]  # the functions (start bytes) whose mutations were counted


def _target(root: Node, s: Slice, index: int, container: str) -> _Target | None:
    n = root.descendant_for_byte_range(s.span[0], s.span[1])
    while n is not None and n.type in ("identifier", "attribute"):
        if n.parent is None or n.parent.type not in ("identifier", "attribute"):
            break
        n = n.parent
    a = n.parent if n is not None else None
    if n is None or a is None or a.type != "assignment" or a.child_by_field_name("left") != n:
        return None
    text = node_text(n)
    if text != s.name:  # (the slice is not of this text)
        return None
    member = "." in text
    fn = _owner(a, False)  # a variable: of its function or of the module; a member: of a method's class
    if fn is not None and fn.type != "function_definition":
        return None
    scope = _owner(a, True) if member else fn
    if member and (scope is None or scope.type != "class_definition"):
        return None
    return _Target(
        index, container, text, scope if scope is not None else root, a.start_byte, scope is None, []
    )


def _owner(n: Node, member: bool) -> Node | None:
    """The function a write is in (a member's: its class); None: the module's statements."""
    p = n.parent
    while p is not None and p.type not in _SCOPES:
        p = p.parent
    if member and p is not None and p.type == "function_definition":
        p = p.parent
        while p is not None and p.type not in _SCOPES:
            p = p.parent
    return p


def _matching(targets: dict[str, list[_Target]], text: str, n: Node, mutation: bool) -> list[_Target]:
    out = []
    for t in targets.get(text, ()):
        owner = _owner(n, "." in t.text)
        if t.module:
            if owner is None:
                out.append(t)
            elif mutation and owner.type == "function_definition":
                t.mutated_in.append(owner.start_byte)
                out.append(t)
        elif owner is not None and owner.id == t.scope.id:
            out.append(t)
    return out


def _assignment(
    n: Node,
    data: bytes,
    targets: dict[str, list[_Target]],
    found: dict[int, list[Value] | None],
    bound: set[tuple[int, str]],
) -> None:
    left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
    if left is None:
        return
    if left.type == "identifier":  # a function's own variable of that name
        fn = _owner(n, False)
        if fn is not None and fn.type == "function_definition":
            bound.add((fn.start_byte, node_text(left)))
    if left.type == "subscript":
        obj = left.child_by_field_name("value")
        sub = left.child_by_field_name("subscript")
        for t in _matching(targets, node_text(obj), n, True) if obj is not None else ():
            if n.type != "assignment" or right is None or sub is None:
                found[t.index] = None
            else:
                _add(found, t.index, Value("key", *_typed(sub, data)))
                _add(found, t.index, Value("entry", *_typed(right, data)))
        return
    if left.type not in ("identifier", "attribute"):
        return
    for t in _matching(targets, node_text(left), n, False):
        if n.start_byte == t.definition:
            continue
        if n.type != "assignment" or right is None:
            found[t.index] = None
        elif node_text(right) != "None":
            _add(found, t.index, Value("value", *_typed(right, data)))


def _call(
    n: Node, data: bytes, targets: dict[str, list[_Target]], found: dict[int, list[Value] | None]
) -> None:
    f, args = n.child_by_field_name("function"), n.child_by_field_name("arguments")
    if f is None or f.type != "attribute" or args is None:
        return
    obj, attr = f.child_by_field_name("object"), f.child_by_field_name("attribute")
    if obj is None or attr is None or obj.type not in ("identifier", "attribute"):
        return
    method = node_text(attr)
    if method not in _ADDS and method not in _CHANGES:
        return
    hits = _matching(targets, node_text(obj), n, True)
    if not hits:
        return
    positional = [a for a in args.named_children if a.type != "comment"]
    where = _ADDS.get(method)
    ok = where is not None and all(a.type not in ("keyword_argument", "list_splat") for a in positional)
    for t in hits:
        if not ok or where is None or len(positional) <= max(i for i in where if i is not None):
            found[t.index] = None
            continue
        k, e = where
        if k is not None:
            _add(found, t.index, Value("key", *_typed(positional[k], data)))
            _add(found, t.index, Value("entry", *_typed(positional[e], data)))
        else:
            _add(found, t.index, Value("item", *_typed(positional[e], data)))


def _typed(v: Node, data: bytes) -> tuple[str | None, tuple[int, int] | None, str]:
    """A written value's type from its text, else where to ask the checker and what: a name or an
    attribute (typeinf.inference.calls), or a call of a named function (`make()`, `await
    self.fetch()`), whose return type (awaited) the checker tells at the function's name."""
    static, ask = written_type(v, data, PY_VALUES)
    if static is not None or ask is not None:
        return static, ask, "var"
    call = called(v)
    if call is None:
        return None, None, "var"
    return None, position(call.name, data), "awaited" if call.awaited else "return"


def _add(found: dict[int, list[Value] | None], i: int, v: Value) -> None:
    got = found.get(i)
    if got is None:
        return
    if v.static is None and v.ask is None:  # (neither typed nor a place to ask: not known)
        found[i] = None
        return
    got.append(v)


# ------------------------------------------------------------------------------------- types


def _members(t: str) -> list[str]:
    return [m.strip() for m in union_members(t, "python")] if t else []


def _distinct(types: Sequence[str], drop_none: bool = False) -> list[str] | None:
    out: list[str] = []
    for t in types:
        if drop_none and t == "None":
            continue
        if t not in out:
            out.append(t)
    if len(out) > MAX_TYPES:
        return None
    return out


def _inside(t: str, container: str) -> str | None:
    """`T` of `list[T]` (`set[T]`, `dict[K, V]`), None for another type."""
    head = f"{container}["
    if t.startswith(head) and t.endswith("]"):
        return t[len(head) : -1]
    return None


def _split_args(t: str) -> list[str] | None:
    """The top-level comma-separated parts of a type's arguments."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(t):
        if c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(t[start:i].strip())
            start = i + 1
    parts.append(t[start:].strip())
    return parts if all(parts) else None
