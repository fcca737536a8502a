"""The functions of the project a function returns the result of (issue #20, evidence across
functions: for a return, the callee's signature).

    found = returned_calls(data, slices)     # per slice: the calls it returns, or None

A function whose every `return` hands back what a call of a named function gives (`return
visitor.visit_import(node)`, `return await self._impl.fetch(url)`) returns what that function
returns.  The type checker tells it at the call where it knows the function called (`".".join(...)`,
though it may infer nothing for the enclosing function); where it does not (a method of an
unannotated parameter, `visitor` above), the call reaches one of the project's functions of that
name (at most four), and where the checker tells the same return type at each of their names,
that is what the call gives (the engine asks both: typeinf.inference.engine, through the project's
call table, typeinf.inference.calls).

`returned_calls` gives, for each Python `return` site whose function returns a value on every path
and returns nothing but such calls, each call (the called name, whether as an attribute,
`obj.f(...)`, whether awaited, where); None elsewhere: a function that returns anything else, or whose end is reachable
(an implicit `None`), or a generator.  Pure: bytes and slices in, data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from tree_sitter import Node

from ..slices.data import Slice
from ..slices.source import node_text, parse
from .calls import position

_NESTED = frozenset({"function_definition", "lambda", "class_definition"})


class Returned(NamedTuple):
    """A call whose result is returned: the called name, whether as an attribute (`obj.f()`),
    whether its result is awaited (`await obj.f()`), and where the called name is in the text
    (1-based line, code-point column: where the checker tells what the call gives when it knows
    the function called)."""

    callee: str
    member: bool
    awaited: bool
    at: tuple[int, int]


class Called(NamedTuple):
    """The function an expression calls: the node of its name, and whether the call is awaited."""

    name: Node
    member: bool
    awaited: bool


def returned_calls(
    data: bytes, slices: Sequence[Slice], root: Node | None = None
) -> list[tuple[Returned, ...] | None]:
    """For each Python return slice, the calls its function returns (see above); None elsewhere.
    `root`: the text's tree, when the caller has parsed it."""
    out: list[tuple[Returned, ...] | None] = [None] * len(slices)
    wanted = [i for i, s in enumerate(slices) if _candidate(s)]
    if not wanted:
        return out
    if root is None:
        root = parse(data, "python").root_node
    for i in wanted:
        s = slices[i]
        name = root.descendant_for_byte_range(s.span[0], s.span[1])
        fn = name.parent if name is not None else None
        if fn is None or fn.type != "function_definition" or fn.child_by_field_name("name") != name:
            continue
        body = fn.child_by_field_name("body")
        found = _returns(body, data) if body is not None else None
        if found:
            out[i] = found
    return out


def _candidate(s: Slice) -> bool:
    """A Python return site whose returns are all calls by the slicer's categories, on every path."""
    ev = s.evidence
    return (
        s.kind == "return"
        and s.language == "python"
        and bool(ev.returns)
        and not ev.yields
        and not ev.ends_without_value
        and all(r.category in ("call", "await") for r in ev.returns)
    )


def _returns(body: Node, data: bytes) -> tuple[Returned, ...] | None:
    """The calls the function body returns (not those of nested functions), None when a return is
    anything else."""
    got: list[Returned] = []
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type in _NESTED:
            continue
        if n.type == "return_statement":
            value = n.named_children[0] if n.named_children else None
            c = called(value) if value is not None else None
            if c is None:
                return None
            got.append(Returned(node_text(c.name), c.member, c.awaited, position(c.name, data)))
            continue
        stack.extend(reversed(n.named_children))  # (in the order of the text)
    return tuple(got) or None


def called(v: Node) -> Called | None:
    """The named function an expression calls (`f(...)`, `obj.f(...)`, awaited or not)."""
    awaited = False
    while v.type in ("parenthesized_expression", "await") and v.named_child_count == 1:
        awaited = awaited or v.type == "await"
        v = v.named_children[0]
    f = v.child_by_field_name("function") if v.type == "call" else None
    if f is not None and f.type == "identifier":
        return Called(f, False, awaited)
    attr = f.child_by_field_name("attribute") if f is not None and f.type == "attribute" else None
    return Called(attr, True, awaited) if attr is not None else None
