"""Class members, so a candidate type that lacks a member the code uses counts against itself.

    class_defs(root, language)   [(name, kind, own members, base names)] of a file's top-level types
    resolve(defs)                name -> frozenset of members (own and inherited), or None when
                                 the class is *open*: a base we cannot see (a library class),
                                 `__getattr__`, an index signature, computed names
    unsupported(members, used)   the used members a closed class lacks

Only what the file and the project define is known; anything else stays open, so the check
never rules out a type for lack of knowledge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

from tree_sitter import Node

from ..memo import BoundedCache
from ..slices.source import node_text

# bases that add no members a use could need (or whose members are all dunders)
_NEUTRAL_BASES = {"object", "Generic", "Protocol", "ABC", "NamedTuple", "TypedDict"}
_OPEN_MARKERS = {"__getattr__", "__getattribute__"}

ClassDef = tuple[str, str, frozenset[str] | None, tuple[str, ...]]


# A method's attributes by its source text: an edit re-scans the file, but only the edited method's
# body needs walking again.
# Bounded and locked: the language server's index scans from a thread while documents are analysed.
_SELF_ATTRS: BoundedCache[bytes, frozenset[str]] = BoundedCache(20_000)


def _py_self_attrs(fn: Node, out: set[str]) -> None:
    key = fn.text or b""
    hit = _SELF_ATTRS.get(key)
    if hit is None:
        found: set[str] = set()
        _walk_self_attrs(fn, found)
        hit = frozenset(found)
        _SELF_ATTRS.put(key, hit)
    out |= hit


def _walk_self_attrs(fn: Node, out: set[str]) -> None:
    params = fn.child_by_field_name("parameters")
    first = next((c for c in params.named_children), None) if params is not None else None
    if first is None or first.type != "identifier":
        return
    me = node_text(first)
    stack = list(fn.children)
    while stack:
        n = stack.pop()
        if n.type == "attribute":
            obj = n.child_by_field_name("object")
            parent = n.parent
            if (
                obj is not None
                and obj.type == "identifier"
                and node_text(obj) == me
                and parent is not None
                and parent.type in ("assignment", "augmented_assignment", "pattern_list", "tuple_pattern")
            ):
                out.add(node_text(n.child_by_field_name("attribute")))
        if n.type not in ("function_definition", "class_definition", "lambda"):
            stack.extend(n.children)


def py_bases(node: Node) -> tuple[str, ...]:
    """A Python class's bases by their last names (`mod.Base[T]` is `Base`; `metaclass=...` is none)."""
    sup = node.child_by_field_name("superclasses")
    out = []
    for b in sup.named_children if sup is not None else ():
        if b.type == "keyword_argument":
            continue  # metaclass=...
        out.append(
            node_text(b.child_by_field_name("value") if b.type == "subscript" else b).rsplit(".", 1)[-1]
        )
    return tuple(out)


def _py_class(node: Node) -> ClassDef | None:
    name = node_text(node.child_by_field_name("name"))
    if not name:
        return None
    members: set[str] = set()
    bases = py_bases(node)
    body = node.child_by_field_name("body")
    for stmt in body.named_children if body is not None else ():
        if stmt.type == "decorated_definition":
            stmt = stmt.child_by_field_name("definition") or stmt
        if stmt.type in ("function_definition", "class_definition"):
            members.add(node_text(stmt.child_by_field_name("name")))
            if stmt.type == "function_definition":
                _py_self_attrs(stmt, members)
        elif stmt.type == "expression_statement":
            for a in stmt.named_children:
                if a.type == "assignment":
                    left = a.child_by_field_name("left")
                    targets = (
                        [left]
                        if left is not None and left.type == "identifier"
                        else (
                            [c for c in left.named_children if c.type == "identifier"]
                            if left is not None
                            else []
                        )
                    )
                    members.update(node_text(t) for t in targets)
    if members & _OPEN_MARKERS:
        return name, "class", None, tuple(bases)
    return name, "class", frozenset(members), tuple(bases)


_TS_MEMBER_NODES = (
    "method_definition",
    "public_field_definition",
    "method_signature",
    "property_signature",
    "abstract_method_signature",
)


def _ts_type(node: Node, kind: str) -> ClassDef | None:
    name = node_text(node.child_by_field_name("name"))
    if not name:
        return None
    members: set[str] = set()
    bases: list[str] = []
    open_ = False
    for c in node.children:
        if c.type in ("class_heritage", "extends_type_clause"):
            for clause in [c] if c.type == "extends_type_clause" else c.named_children:
                if clause.type not in ("extends_clause", "extends_type_clause"):
                    continue  # `implements` adds no members the body does not declare
                for v in clause.named_children:
                    if v.type != "type_arguments":
                        bases.append(node_text(v).split("<")[0].split("(")[0].rsplit(".", 1)[-1].strip())
    body = node.child_by_field_name("body")
    for m in body.named_children if body is not None else ():
        if m.type in _TS_MEMBER_NODES:
            key = m.child_by_field_name("name")
            if key is None or key.type in ("computed_property_name",):
                open_ = True
                continue
            members.add(node_text(key).strip("'\""))
            if m.type == "method_definition" and node_text(key) == "constructor":
                params = m.child_by_field_name("parameters")
                for p in params.named_children if params is not None else ():
                    if any(x.type in ("accessibility_modifier", "readonly") for x in p.children):
                        members.add(node_text(p.child_by_field_name("pattern")))
        elif m.type == "index_signature":
            open_ = True
    return name, kind, None if open_ else frozenset(members), tuple(bases)


def top_level(root: Node) -> Iterator[Node]:
    """A file's top-level statements, looking inside decorators, `export` and `if` blocks."""
    stack = list(root.children)
    while stack:
        n = stack.pop()
        if n.type in ("decorated_definition", "export_statement", "if_statement", "block"):
            stack.extend(n.children)
        else:
            yield n


def class_defs(root: Node, language: str) -> list[ClassDef]:
    """The top-level (or exported) classes and interfaces of a file with their own members."""
    out: list[ClassDef] = []
    for n in top_level(root):
        t = n.type
        got: ClassDef | None = None
        if language == "python" and t == "class_definition":
            got = _py_class(n)
        elif language != "python" and t in ("class_declaration", "abstract_class_declaration"):
            got = _ts_type(n, "class")
        elif language != "python" and t == "interface_declaration":
            got = _ts_type(n, "interface")
        if got is not None:
            out.append(got)
    return out


def resolve(defs: Iterable[ClassDef]) -> dict[str, frozenset[str] | None]:
    """Members of each named type with its bases' (None: open). A name defined twice is open."""
    own: dict[str, tuple[frozenset[str] | None, tuple[str, ...]]] = {}
    twice: set[str] = set()
    for name, _kind, members, bases in defs:
        if name in own:
            twice.add(name)
        own[name] = (members, bases)
    out: dict[str, frozenset[str] | None] = {}

    def walk(name: str, seen: frozenset[str]) -> frozenset[str] | None:
        if name in out:
            return out[name]
        if name in twice or name not in own or name in seen:
            return None
        members, bases = own[name]
        if members is None:
            return None
        acc = set(members)
        for b in bases:
            if b in _NEUTRAL_BASES:
                continue
            inherited = walk(b, seen | {name})
            if inherited is None:
                return None
            acc |= inherited
        return frozenset(acc)

    for name in own:
        out[name] = walk(name, frozenset())
    return out


def used_members(calls_on: Sequence[str], attrs_read: Sequence[str]) -> set[str]:
    """Members the code uses on the value (dunders left out: every class has them)."""
    return {m for m in (*calls_on, *attrs_read) if m and not (m.startswith("__") and m.endswith("__"))}


_NULLISH = re.compile(r"^(?:(?:None|null|undefined) \| )*(.+?)(?: \| (?:None|null|undefined))*$")
_PY_GENERIC = re.compile(r"^(list|dict|set|frozenset|tuple)\[.*\]$")
_TS_GENERIC = re.compile(r"^(Promise|Map|Set|ReadonlyMap|ReadonlySet|Array)<.*>$")


@lru_cache(maxsize=65536)
def class_of(type_text: str, language: str = "python") -> str | None:
    """The class a value of this type is an instance of, when it is one: `Foo`, `Foo | None`,
    `list[int]` -> `list`, `string[]` -> `Array`, `Promise<T>` -> `Promise`."""
    m = _NULLISH.match(type_text)
    inner = m.group(1) if m else type_text
    if " | " in inner or " & " in inner:
        return None
    if language == "python":
        g = _PY_GENERIC.match(inner)
        if g:
            return g.group(1)
    else:
        if inner.endswith("[]") and not inner.startswith("["):
            return "Array"
        g = _TS_GENERIC.match(inner)
        if g:
            return g.group(1)
    return inner if _IDENT.match(inner) else None


_IDENT = re.compile(r"^[A-Za-z_$][\w$]*$")


def _python_builtins() -> dict[str, frozenset[str]]:
    import builtins

    names = (
        "str",
        "bytes",
        "bytearray",
        "int",
        "float",
        "complex",
        "bool",
        "list",
        "dict",
        "set",
        "frozenset",
        "tuple",
        "range",
        "memoryview",
    )
    return {n: frozenset(dir(getattr(builtins, n))) for n in names}


_TS_OBJECT = (
    "toString",
    "valueOf",
    "toLocaleString",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "constructor",
)
_TS_BUILTINS: dict[str, tuple[str, ...]] = {
    "string": (
        "length",
        "at",
        "charAt",
        "charCodeAt",
        "codePointAt",
        "concat",
        "endsWith",
        "includes",
        "indexOf",
        "lastIndexOf",
        "localeCompare",
        "match",
        "matchAll",
        "normalize",
        "padEnd",
        "padStart",
        "repeat",
        "replace",
        "replaceAll",
        "search",
        "slice",
        "split",
        "startsWith",
        "substring",
        "substr",
        "toLocaleLowerCase",
        "toLocaleUpperCase",
        "toLowerCase",
        "toUpperCase",
        "trim",
        "trimEnd",
        "trimStart",
        "trimLeft",
        "trimRight",
        "isWellFormed",
        "toWellFormed",
        "anchor",
        "big",
        "blink",
        "bold",
        "fixed",
        "fontcolor",
        "fontsize",
        "italics",
        "link",
        "small",
        "strike",
        "sub",
        "sup",
    ),
    "number": ("toExponential", "toFixed", "toPrecision"),
    "boolean": (),
    "Array": (
        "length",
        "at",
        "concat",
        "copyWithin",
        "entries",
        "every",
        "fill",
        "filter",
        "find",
        "findIndex",
        "findLast",
        "findLastIndex",
        "flat",
        "flatMap",
        "forEach",
        "includes",
        "indexOf",
        "join",
        "keys",
        "lastIndexOf",
        "map",
        "pop",
        "push",
        "reduce",
        "reduceRight",
        "reverse",
        "shift",
        "slice",
        "some",
        "sort",
        "splice",
        "unshift",
        "values",
        "toReversed",
        "toSorted",
        "toSpliced",
        "with",
    ),
    "Promise": ("then", "catch", "finally"),
    "Map": ("clear", "delete", "forEach", "get", "has", "set", "size", "entries", "keys", "values"),
    "ReadonlyMap": ("forEach", "get", "has", "size", "entries", "keys", "values"),
    "Set": (
        "add",
        "clear",
        "delete",
        "forEach",
        "has",
        "size",
        "entries",
        "keys",
        "values",
        "union",
        "intersection",
        "difference",
        "symmetricDifference",
        "isSubsetOf",
        "isSupersetOf",
        "isDisjointFrom",
    ),
    "ReadonlySet": ("forEach", "has", "size", "entries", "keys", "values"),
}

BUILTIN_MEMBERS: dict[str, dict[str, frozenset[str]]] = {
    "python": _python_builtins(),
    "typescript": {k: frozenset(v + _TS_OBJECT) for k, v in _TS_BUILTINS.items()},
}
