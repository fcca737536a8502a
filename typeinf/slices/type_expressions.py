"""Whether a Python expression's text is a type, as only a type alias binds one.

    is_type_expression(text)   `Callable[[int], str]`, `dict[str, Handler]`, `int | None`, `A | B`
    is_alias_value(text)       the same, or a string holding one (a forward reference)
    binds_alias(value, ann)    whether a module's assignment binds an alias (tree-sitter nodes)
    module_alias(statement)    the name a top-level `X = <alias value>` / `X: TypeAlias = ...` binds
    alias_admits_none(statement)  whether that alias's value holds `None` (`X = None | bytes | str`)

The slicer puts a module's `X = <type expression>` in its files' scope as an alias, the project
index records it among the project's types, and the `type-alias` rule (typeinf.inference.static)
predicts `TypeAlias` for the variable itself: one test for all three.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..text import split_top
from .source import node_text

# the generic types whose subscription is only ever a type (`Callable[...]`, `dict[str, int]`), by
# their own name, as imported or under these module prefixes
_GENERIC_HEADS = frozenset(
    "Annotated AbstractSet AsyncContextManager AsyncGenerator AsyncIterable AsyncIterator Awaitable "
    "Callable ChainMap Collection Concatenate Container ContextManager Coroutine Counter DefaultDict "
    "Deque Dict FrozenSet Generator IO Iterable Iterator List Literal Mapping Match MutableMapping "
    "MutableSequence MutableSet Optional OrderedDict Pattern Reversible Sequence Set Tuple Type "
    "TypeGuard TypeIs Union Unpack dict frozenset list set tuple type".split()
)
_TYPE_PREFIXES = ("", "typing.", "t.", "typing_extensions.", "te.", "collections.abc.", "abc.")
_SUBSCRIPT = re.compile(r"^((?:[A-Za-z_]\w*\.)*)([A-Za-z_]\w*)\[")
_PY_TYPE_NAMES = frozenset(
    "None int str bytes float bool complex object list dict set tuple frozenset".split()
)
_NAME = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*")
STRING = re.compile(r"^[rRuU]?('|\")(.*)\1$", re.S)


def _generic(text: str) -> bool:
    """`Head[...]` with a head only types have (the text may be clipped: `…` at its end)."""
    m = _SUBSCRIPT.match(text)
    return m is not None and m.group(2) in _GENERIC_HEADS and m.group(1) in _TYPE_PREFIXES


def _class_name(text: str) -> bool:
    """`Foo`, `mod.Foo`: a CapWords name (not an ALL_CAPS constant such as an enum flag's `Perm.READ`)."""
    last = text.rsplit(".", 1)[-1]
    return _NAME.fullmatch(text) is not None and last[:1].isupper() and not last.isupper()


def is_type_expression(text: str) -> bool:
    """Whether a Python expression's text is a type, as only a type alias binds one: a generic's
    subscription, or a union (`|`) of types (builtin types, `None`, generics' subscriptions, class
    names, quoted or not), in parentheses or not."""
    t = text.strip()
    while t.startswith("(") and t.endswith(")") and len(split_top(t, ",")) == 1:
        t = t[1:-1].strip()
    if _generic(t):
        return True
    parts = split_top(t, "|")
    return len(parts) >= 2 and all(_member(p) for p in parts)


def is_alias_value(text: str) -> bool:
    """A type expression, or a string holding one (`Ref = "dict[str, Handler]"`)."""
    t = text.strip()
    m = STRING.match(t)
    return is_type_expression(m.group(2) if m is not None else t)


# the tree-sitter nodes an alias's value can be (a call, a name or a literal number never is)
_ALIAS_NODES = frozenset({"subscript", "binary_operator", "parenthesized_expression", "string"})


def binds_alias(value: Node | None, annotation: Node | None) -> bool:
    """Whether an assignment of the module with this value and annotation binds a type alias:
    `X: TypeAlias = ...`, or no annotation and a type expression (`is_alias_value`) for value."""
    if annotation is not None:
        return node_text(annotation).endswith("TypeAlias")
    return value is not None and value.type in _ALIAS_NODES and is_alias_value(node_text(value))


def module_alias(statement: Node) -> str | None:
    """The name a module's statement binds to a type: `X = Union[int, str]`, `X = "Foo | None"`,
    `X: TypeAlias = ...`; None for any other statement."""
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    a = statement.named_children[0]
    if a.type != "assignment":
        return None
    left, right, ann = (a.child_by_field_name(f) for f in ("left", "right", "type"))
    if left is None or left.type != "identifier" or not left.text:
        return None
    return node_text(left) if binds_alias(right, ann) else None


def alias_admits_none(statement: Node) -> bool:
    """Whether the type a module's alias statement binds (`module_alias`) holds `None` by its text:
    a union with `None`, `Optional[...]`, or a string holding one (`X = "Foo | None"`)."""
    from ..types import union_members  # (typeinf.types imports nothing of the slicer)

    a = statement.named_children[0] if statement.named_child_count == 1 else None
    value = a.child_by_field_name("right") if a is not None and a.type == "assignment" else None
    if value is None:
        return False
    t = node_text(value).strip()
    m = STRING.match(t)
    members = union_members(m.group(2) if m is not None else t, "python")
    return any(x.strip() in ("None", "NoneType", "typing.Optional") for x in members)


def _member(text: str) -> bool:
    """A union's member that is a type: a builtin type, `None`, a generic's subscription, a class
    name; quoted (a forward reference) or not."""
    m = STRING.match(text)
    t = m.group(2).strip() if m is not None else text
    return t in _PY_TYPE_NAMES or _generic(t) or _class_name(t)
