"""Evidence across functions: the arguments a parameter receives at the project's call sites
(issue #20, item 6; HiTyper's and the TypeScript compiler's `inferFromUsage` idea).

    scan_calls(root, language) -> FileCalls      one file's calls of named functions and its parameters
    CallTable.build(files)                        the project's calls by callee name
    table.arguments(path, line, column)           the arguments passed for the parameter at that position
    table.passed(p)                               the parameter a slice's value is passed to (its annotation)

A parameter is joined to its function's call sites by name: `f(x)` and `obj.f(x)` call a
function or method `f`, `Cls(x)` / `new Cls(x)` call `Cls`'s `__init__` / `constructor`.  A name
defined more than once in the project (two methods `get`) is ambiguous and gives no evidence, and a
call that spreads its arguments (`f(*args)`, `f(...xs)`) stops the positional count there.  What an
argument says of its type is either certain from its text (a literal, a constructor call: `Argument.static`)
or a question for the type checker at the argument's position (a name or an attribute:
`Argument.ask`), which the engine batches (typeinf.inference.engine).  The other way round, a value
passed to a project function hears the annotation of the parameter it is passed to, where the
function has one (partially typed code: the callee's signature).  And (Python) a method hears the
annotations of the methods of the same name it overrides and that override it, through the
project's classes and their bases (`table.override_params`, `table.override_returns`: on the
validation packages' own code a method's parameter is annotated as the one it overrides 1,869
times of 1,918, its return 1,243 of 1,417).  Pure: trees in, tables out.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, TypeVar

from tree_sitter import Node, QueryCursor

from ..slices.data import Evidence, Expr, PassedTo, Slice, clip
from ..slices.python import LITERAL_TYPES
from ..slices.python import category as py_category
from ..slices.source import node_text, query
from ..slices.typescript import CATEGORIES as TS_CATEGORIES
from ..slices.typescript import LITERAL_KINDS
from .members import py_bases
from .static import literal_type

MAX_CALLS = 12  # call sites read per parameter (the first ones in path order)
MAX_DEFINITIONS = 4  # functions of one name a call may reach, asked about (`CallTable.definitions`)
ARG_TEXT = 40  # characters of an argument's text kept for the model

# a file's functions: where the name is -> the name it is called by, and whether only as an attribute
Functions = dict[tuple[int, int], tuple[str, bool | None]]

T = TypeVar("T")
V = TypeVar("V")

_CLASS_NAME = re.compile(r"^[A-Z][\w$]*$")


class Argument(NamedTuple):
    """An argument at a call site: by `position` or by `keyword`."""

    position: int | None
    keyword: str | None
    static: str | None  # its type when its text says it (a literal, a constructor call)
    ask: tuple[int, int] | None  # else where the checker can be asked: 1-based line, code-point column
    text: str = ""  # its text, clipped to ARG_TEXT characters (the model's input: `Evidence.arguments`)
    category: str = ""  # the slicer's category of that text (literal, name, attribute, call, ...)


class Call(NamedTuple):
    callee: str  # the called name: `f` of `f(x)` and of `obj.f(x)`, `Cls` of `Cls(x)` / `new Cls(x)`
    member: bool  # called as an attribute (`obj.f(x)`, `self.f(x)`)
    args: tuple[Argument, ...]
    line: int  # 1-based, where the call starts
    use: str = ""  # what the caller does with the result (`use_of`: "assigned user", ".items", ...)

    def moved(self, lines: int) -> Call:
        args = tuple(a if a.ask is None else a._replace(ask=(a.ask[0] + lines, a.ask[1])) for a in self.args)
        return self._replace(args=args, line=self.line + lines)


class Param(NamedTuple):
    """A parameter's place in its function's calls, and its annotation as written (None: none)."""

    callee: str  # the name its function is called by (a constructor's: its class)
    position: int | None  # position among the arguments of a call (`self` not counted); None: keyword-only
    keyword: str | None  # the name a call can pass it by (None: positional-only, `*args`, `**kw`)
    member: bool | None  # True: only as an attribute (a method); False: never (`new Cls`); None: either
    annotation: str | None = None
    name: str = ""  # the parameter's name
    # (Python) the annotation its class declares for the attribute a method stores it into as it is
    # (`self.guards = guards` where the class body says `guards: Sequence[Guard] | None`)
    stored: str | None = None
    owner: str | None = None  # (Python) the class of a method (not a static method's)

    def takes(self, position: int | None, keyword: str | None) -> bool:
        """Whether an argument at this position or with this keyword is this parameter."""
        if keyword is not None:
            return keyword == self.keyword
        return position is not None and position == self.position

    def called_as(self, member: bool) -> bool:
        return self.member is None or self.member == member


@dataclass(frozen=True)
class FileCalls:
    calls: tuple[Call, ...] = ()
    params: dict[tuple[int, int], Param] = field(default_factory=dict)  # (line, column) -> its place
    # (line, name) of the functions it defines (a constructor: its class)
    defined: tuple[tuple[int, str], ...] = ()
    # where each function's name is (1-based line, code-point column: its return site) -> the name
    # it is called by and how (a method: only as an attribute; None: either way)
    functions: Functions = field(default_factory=dict)
    # (Python) where each method's name is -> (its class, its name, its return annotation or None)
    methods: dict[tuple[int, int], tuple[str, str, str | None]] = field(default_factory=dict)
    # (Python) where each class's name is -> (its name, its bases' last names)
    classes: dict[tuple[int, int], tuple[str, tuple[str, ...]]] = field(default_factory=dict)


def position(node: Node, data: bytes) -> tuple[int, int]:
    """(1-based line, code-point column) of a node (its column in bytes is its line's bytes
    before it: the text's lines are never split)."""
    row, col = node.start_point
    return row + 1, len(data[node.start_byte - col : node.start_byte].decode("utf-8", "replace"))


_PY_QUERY = "(call) @call (function_definition) @def (class_definition) @class"
_TS_QUERY = """
(call_expression) @call
(new_expression) @call
[(function_declaration) (generator_function_declaration) (method_definition) (arrow_function)
 (function_expression)] @def
"""


def scan_calls(root: Node, language: str, data: bytes) -> FileCalls:
    """The calls of named functions in a file, and where each of its parameters sits in the calls
    of its function."""
    python = language == "python"
    found = QueryCursor(query(language, _PY_QUERY if python else _TS_QUERY)).captures(root)
    calls: list[Call] = []
    for n in sorted(found.get("call", ()), key=lambda n: (n.start_byte, -n.end_byte)):  # outer first
        call = _py_call(n, data) if python else _ts_call(n, data)
        if call is not None:
            calls.append(call)
    params: dict[tuple[int, int], Param] = {}
    functions: Functions = {}
    defined: list[tuple[int, str]] = []
    declared: dict[int, dict[str, str]] = {}  # (Python) a class's declared attributes, by its node's id
    methods: dict[tuple[int, int], tuple[str, str, str | None]] = {}
    classes: dict[tuple[int, int], tuple[str, tuple[str, ...]]] = {}
    for n in sorted(found.get("def", ()), key=lambda n: (n.start_byte, -n.end_byte)):
        name = (
            _py_params(n, data, params, functions, declared, methods)
            if python
            else _ts_params(n, data, params, functions)
        )
        if name:
            defined.append((n.start_point[0] + 1, name))
    # (in the text's order: a capture's nodes come in no fixed order, and the subclasses a method
    # hears are the first MAX_DEFINITIONS in this order)
    for n in sorted(found.get("class", ()), key=lambda n: n.start_byte):
        _py_class_record(n, data, classes)
    return FileCalls(tuple(calls), params, tuple(defined), functions, methods, classes)


def rescan_calls(
    previous: FileCalls, old_unit: Node, new_unit: Node, language: str, data: bytes
) -> FileCalls:
    """`scan_calls` of a text edited inside one statement of the module or of a class (`old_unit`,
    now `new_unit`, as typeinf.slices.incremental.edited_unit or incremental_typescript.edited_unit find it): the calls and parameters
    of the lines before it are the previous scan's, those after it are moved by the lines the edit
    added or removed, and only the statement is scanned again (a 7,000-line file: 1 ms, not 25)."""
    first, old_last = old_unit.start_point[0] + 1, old_unit.end_point[0] + 1
    lines = new_unit.end_point[0] + 1 - old_last
    inner = scan_calls(new_unit, language, data)
    calls = [c for c in previous.calls if c.line < first] + list(inner.calls)
    # (an edit that adds or removes no line, most keystrokes, moves nothing: the same entries)
    calls += [c.moved(lines) if lines else c for c in previous.calls if c.line > old_last]
    defined = [d for d in previous.defined if d[0] < first] + list(inner.defined)
    defined += [(d[0] + lines, d[1]) for d in previous.defined if d[0] > old_last]
    return FileCalls(
        tuple(calls),
        _spliced(previous.params, inner.params, first, old_last, lines),
        tuple(defined),
        _spliced(previous.functions, inner.functions, first, old_last, lines),
        _spliced(previous.methods, inner.methods, first, old_last, lines),
        _spliced(previous.classes, inner.classes, first, old_last, lines),
    )


def _spliced(
    previous: dict[tuple[int, int], V], inner: dict[tuple[int, int], V], first: int, old_last: int, lines: int
) -> dict[tuple[int, int], V]:
    """A table by (line, column): the previous entries before line `first`, the edited statement's
    own, and the previous ones after line `old_last` moved by `lines`."""
    out = {k: v for k, v in previous.items() if k[0] < first}
    out.update(inner)
    # (no line added or removed: the same keys)
    out.update({((k[0] + lines, k[1]) if lines else k): v for k, v in previous.items() if k[0] > old_last})
    return out


class _Values(NamedTuple):
    """What an argument's text says of its type, per language."""

    language: str
    literals: dict[str, str]  # node type -> the literal's type
    constructor: tuple[str, str]  # the node type of a constructor call and its callee's field
    builtins: frozenset[str]  # lower-case callees that make a value of their name (`str(x)`)
    names: frozenset[str]  # node types the checker is asked about (a name, an attribute)
    callee_field: str  # a call node's field of what it calls
    member: tuple[str, str]  # the attribute node type and its field of the name (`_callee`)
    category: Callable[[Node], str]  # the slicer's category of an expression
    functions: frozenset[str]  # function literals: shown as their category only (they hold annotations)
    uses: dict[str, str]  # parent node type -> what it does with a call's result (`use_of`)


PY_VALUES = _Values(
    "python",
    {k: v for k, v in LITERAL_TYPES.items() if k != "ellipsis"},  # `None` passed: the type may be optional
    ("call", "function"),
    frozenset({"str", "int", "float", "bool", "bytes", "frozenset"}),
    frozenset({"identifier", "attribute"}),
    "function",
    ("attribute", "attribute"),
    py_category,
    frozenset({"lambda"}),
    {
        "for_statement": "iterated",
        "for_in_clause": "iterated",
        "return_statement": "returned",
        "if_statement": "tested",
        "while_statement": "tested",
        "not_operator": "tested",
        "boolean_operator": "tested",
        "conditional_expression": "tested",
        "subscript": "indexed",
        "expression_statement": "discarded",
        "with_item": "context",
        "as_pattern": "context",
        "yield": "yielded",
        "list": "collected",
        "tuple": "collected",
        "pair": "collected",
        "f-string": "formatted",
        "interpolation": "formatted",
        "list_splat": "unpacked",
        "dictionary_splat": "unpacked",
    },
)
_TS = _Values(
    "typescript",
    {
        **{k: LITERAL_KINDS[k] for k in ("number", "string", "true", "false", "null", "undefined")},
        "template_string": "string",
    },
    ("new_expression", "constructor"),
    frozenset(),
    frozenset({"identifier", "member_expression"}),
    "function",
    ("member_expression", "property"),
    lambda n: TS_CATEGORIES.get(n.type, "other"),
    frozenset({"arrow_function", "function_expression", "function"}),
    {
        "for_in_statement": "iterated",
        "return_statement": "returned",
        "if_statement": "tested",
        "while_statement": "tested",
        "ternary_expression": "tested",
        "unary_expression": "tested",
        "subscript_expression": "indexed",
        "expression_statement": "discarded",
        "yield_expression": "yielded",
        "array": "collected",
        "pair": "collected",
        "template_substitution": "formatted",
        "spread_element": "unpacked",
        "arrow_function": "returned",
    },
)


def _unwrapped(v: Node) -> Node:
    """The expression inside parentheses."""
    while v.type == "parenthesized_expression" and v.named_child_count == 1:
        v = v.named_children[0]
    return v


def written_type(v: Node, data: bytes, lang: _Values) -> tuple[str | None, tuple[int, int] | None]:
    """An argument's type when its text says it (a literal, a constructor call without type
    arguments), else where to ask the checker (a name or an attribute), else neither."""
    v = _unwrapped(v)
    t = v.type
    if t in lang.literals:  # (a bytes literal is a string node: its text tells)
        return literal_type(Expr(node_text(v), "literal"), lang.language) or lang.literals[t], None
    if t == lang.constructor[0]:
        f = v.child_by_field_name(lang.constructor[1])
        name = node_text(f).rsplit(".", 1)[-1] if f is not None and f.type in lang.names else ""
        if (_CLASS_NAME.match(name) or name in lang.builtins) and v.child_by_field_name(
            "type_arguments"
        ) is None:
            return name, None
        return None, None
    if t in lang.names:
        return None, position(v, data)
    return None, None


def _shown(v: Node, lang: _Values) -> tuple[str, str]:
    """An argument's text and category as the model reads them (`Evidence.arguments`): a function
    literal by its category alone, as its parameters may carry annotations."""
    v = _unwrapped(v)
    if v.type in lang.functions:
        return "function", "function"
    return clip(node_text(v), ARG_TEXT), lang.category(v)


_ASSIGNED = {
    "assignment": ("right", "left"),
    "variable_declarator": ("value", "name"),
    "assignment_expression": ("right", "left"),
    "augmented_assignment": ("right", "left"),
}
_MEMBER = {"attribute": ("object", "attribute"), "member_expression": ("object", "property")}
_OPERATORS = frozenset({"binary_operator", "binary_expression"})


def use_of(call: Node, lang: _Values) -> str:
    """What the code does with a call's result, for the model to read as evidence of the called
    function's return type: `assigned user`, `.items`, `iterated`, `awaited .json`, `op +`,
    `passed`, `discarded`, ... (empty when it says nothing)."""
    prefix = ""
    node, parent = call, call.parent
    while parent is not None and parent.type in (
        "parenthesized_expression",
        "await",
        "await_expression",
        "non_null_expression",
        "as_expression",
    ):
        if parent.type in ("await", "await_expression"):
            prefix = "awaited "
        node, parent = parent, parent.parent
    if parent is None:
        return ""
    t = parent.type
    if t in _ASSIGNED:
        value, target = _ASSIGNED[t]
        v = parent.child_by_field_name(value)
        if v is not None and v.id == node.id:
            return prefix + "assigned " + clip(node_text(parent.child_by_field_name(target)), 30)
        return ""
    if t in _MEMBER:
        obj, attr = _MEMBER[t]
        o = parent.child_by_field_name(obj)
        if o is not None and o.id == node.id:
            return prefix + "." + node_text(parent.child_by_field_name(attr))
        return ""
    if t in _OPERATORS:
        op = parent.child_by_field_name("operator")
        return prefix + "op " + (node_text(op) if op is not None else "")
    if t == "keyword_argument" and parent.parent is not None:
        parent = parent.parent
        t = parent.type
    if t in ("argument_list", "arguments") and parent.parent is not None:  # `open(f())`: "passed open"
        named = _callee(parent.parent.child_by_field_name(lang.callee_field) or parent.parent, *lang.member)
        return prefix + "passed" + (" " + named[0] if named is not None else "")
    if t == "comparison_operator":  # Python: `f() > 9`, `f() is None`, `x in f()`
        ops = [node_text(c) for c in parent.children if not c.is_named]
        return prefix + "compared " + " ".join(ops[:1])
    return prefix + lang.uses[t] if t in lang.uses else prefix.strip()


def _callee(f: Node, attribute: str, field: str) -> tuple[str, bool] | None:
    """The name a call calls and whether as an attribute: `f` of `f(...)`, `m` of `obj.m(...)`."""
    if f.type == "identifier":
        return node_text(f), False
    last = f.child_by_field_name(field) if f.type == attribute else None
    return (node_text(last), True) if last is not None else None


# ------------------------------------------------------------------------------------- Python
def _py_call(n: Node, data: bytes) -> Call | None:
    f, arglist = n.child_by_field_name("function"), n.child_by_field_name("arguments")
    if f is None or arglist is None or arglist.type != "argument_list":
        return None
    named = _callee(f, "attribute", "attribute")
    if named is None:
        return None
    callee, member = named
    args: list[Argument] = []
    index: int | None = 0  # None after `*xs`: the positions that follow are not known
    for a in arglist.named_children:
        if a.type == "list_splat":
            index = None
        elif a.type == "keyword_argument":
            k, v = a.child_by_field_name("name"), a.child_by_field_name("value")
            if k is not None and v is not None:
                args.append(
                    Argument(None, node_text(k), *written_type(v, data, PY_VALUES), *_shown(v, PY_VALUES))
                )
        elif a.type not in ("comment", "dictionary_splat") and index is not None:
            args.append(Argument(index, None, *written_type(a, data, PY_VALUES), *_shown(a, PY_VALUES)))
            index += 1
    return Call(callee, member, tuple(args), n.start_point[0] + 1, use_of(n, PY_VALUES))


def _py_params(
    fn: Node,
    data: bytes,
    out: dict[tuple[int, int], Param],
    functions: Functions,
    declared: dict[int, dict[str, str]],
    methods: dict[tuple[int, int], tuple[str, str, str | None]],
) -> str:
    where = fn.child_by_field_name("name")
    name = node_text(where)
    ps = fn.child_by_field_name("parameters")
    if where is None or not name or ps is None:
        return ""
    cls = _py_class_of(fn)
    static = _py_decorated(fn, "staticmethod")
    method = cls is not None and not static
    callee = name
    if cls is not None and name == "__init__":
        callee = node_text(cls.child_by_field_name("name"))
    elif name.startswith("__") and name.endswith("__"):
        return ""  # called by the language (`__eq__`, `__getitem__`), not by name
    member = True if method and callee == name else None
    owner = (
        (node_text(cls.child_by_field_name("name")) or None) if method and callee == name and cls else None
    )
    if callee == name:
        functions[position(where, data)] = (callee, member)
        if owner is not None:
            methods[position(where, data)] = (
                owner,
                name,
                node_text(fn.child_by_field_name("return_type")) or None,
            )
    index = 0
    keyword_only = False
    first = method  # self / cls: not an argument at the call
    stored = _py_stored(fn, cls, ps, declared) if method and cls is not None else {}
    for p in ps.named_children:
        t = p.type
        if t in ("comment", "positional_separator"):
            continue
        if t == "keyword_separator":
            keyword_only = True
            continue
        if t == "typed_parameter":
            ident = p.named_children[0] if p.named_children else None
        elif t in ("default_parameter", "typed_default_parameter"):
            ident = p.child_by_field_name("name")
        else:
            ident = p
        if ident is None or ident.type != "identifier":  # *args, **kw
            keyword_only = True
            first = False
            continue
        if first:
            first = False
            continue
        ann = p.child_by_field_name("type") if t in ("typed_parameter", "typed_default_parameter") else None
        out[position(ident, data)] = Param(
            callee,
            None if keyword_only else index,
            node_text(ident),
            member,
            node_text(ann) or None,
            node_text(ident),
            stored.get(node_text(ident)),
            owner,
        )
        if not keyword_only:
            index += 1
    return callee


def _py_class_record(
    node: Node, data: bytes, classes: dict[tuple[int, int], tuple[str, tuple[str, ...]]]
) -> None:
    """A class's name and its bases' last names (`members.py_bases`), in `classes` by where its
    name is."""
    where = node.child_by_field_name("name")
    if where is not None:
        classes[position(where, data)] = (node_text(where), py_bases(node))


# besides statements and clauses: blocks, and a TypeScript `switch`'s body and cases
_INTO = frozenset({"block", "statement_block", "switch_body", "switch_case", "switch_default"})


def _statements(block: Node | None, assignment: str = "assignment") -> Iterable[Node]:
    """The assignment statements of a function's or a class's own code: only blocks, statements
    and clauses are gone into, so neither expressions nor the functions and classes it nests (their
    nodes are definitions and declarations).  `assignment`: the grammar's node (TypeScript:
    `assignment_expression`)."""
    todo = list(reversed(block.named_children)) if block is not None else []
    while todo:
        n = todo.pop()
        t = n.type
        if t == "expression_statement":
            yield from (c for c in n.named_children if c.type == assignment)
        elif t in _INTO or t.endswith(("_statement", "_clause")):
            todo.extend(reversed(n.named_children))


def _stores(body: Node | None, me: str, assignment: str, attribute: str, field: str) -> dict[str, str]:
    """A method's parameters (by name) that it stores as they are into an attribute of `me`
    (`self`, `this`) -> that attribute (the first store of each)."""
    into: dict[str, str] = {}
    for a in _statements(body, assignment):
        left, right = a.child_by_field_name("left"), a.child_by_field_name("right")
        if left is None or right is None or left.type != attribute or right.type != "identifier":
            continue
        owner, attr = left.child_by_field_name("object"), left.child_by_field_name(field)
        if owner is not None and attr is not None and node_text(owner) == me:
            into.setdefault(node_text(right), node_text(attr))
    return into


def _py_stored(fn: Node, owner: Node, ps: Node, declared: dict[int, dict[str, str]]) -> dict[str, str]:
    """The parameters of a method that it stores as they are into an attribute of `self` (its
    first parameter) whose annotation its class declares (`_py_declared`): parameter name -> that
    annotation.  `declared`: the classes' declarations found so far (a scan's)."""
    first = next((p for p in ps.named_children if p.type != "comment"), None)
    if first is None or first.type != "identifier":
        return {}
    into = _stores(fn.child_by_field_name("body"), node_text(first), "assignment", "attribute", "attribute")
    if not into:
        return {}
    if owner.id not in declared:
        declared[owner.id] = _py_declared(owner)
    attrs = declared[owner.id]
    return {p: attrs[x] for p, x in into.items() if x in attrs}


def _py_declared(owner: Node) -> dict[str, str]:
    """A class's attributes whose annotations it declares, in the class body (`guards: T`, kept
    where a dataclass or a slot needs it) or in a method (`self.guards: T = ...`): name -> the
    annotation's text (the first one)."""
    declared: dict[str, str] = {}
    body = owner.child_by_field_name("body")
    for a in _statements(body):  # the class body's own declarations
        left, ann = a.child_by_field_name("left"), a.child_by_field_name("type")
        if left is not None and ann is not None and left.type == "identifier":
            declared.setdefault(node_text(left), node_text(ann))
    for m in body.named_children if body is not None else ():  # the methods' `self.x: T = ...`
        fn = m.child_by_field_name("definition") if m.type == "decorated_definition" else m
        if fn is None or fn.type != "function_definition":
            continue
        for a in _statements(fn.child_by_field_name("body")):
            left, ann = a.child_by_field_name("left"), a.child_by_field_name("type")
            if left is not None and ann is not None and left.type == "attribute":
                who, attr = left.child_by_field_name("object"), left.child_by_field_name("attribute")
                if who is not None and attr is not None and node_text(who) == "self":
                    declared.setdefault(node_text(attr), node_text(ann))
    return declared


def _py_class_of(fn: Node) -> Node | None:
    p = fn.parent
    if p is not None and p.type == "decorated_definition":
        p = p.parent
    if p is not None and p.type == "block" and p.parent is not None and p.parent.type == "class_definition":
        return p.parent
    return None


def _py_decorated(fn: Node, name: str) -> bool:
    p = fn.parent
    if p is None or p.type != "decorated_definition":
        return False
    return any(node_text(d).lstrip("@").strip() == name for d in p.children if d.type == "decorator")


# ------------------------------------------------------------------------------------- TypeScript
def _ts_call(n: Node, data: bytes) -> Call | None:
    if n.type == "new_expression":
        f, arglist = n.child_by_field_name("constructor"), n.child_by_field_name("arguments")
    else:
        f, arglist = n.child_by_field_name("function"), n.child_by_field_name("arguments")
    if f is None or arglist is None or arglist.type != "arguments":
        return None
    named = _callee(f, "member_expression", "property")
    if named is None:
        return None
    callee, member = named[0], named[1] and n.type != "new_expression"
    args: list[Argument] = []
    for i, a in enumerate(x for x in arglist.named_children if x.type != "comment"):
        if a.type == "spread_element":
            break
        args.append(Argument(i, None, *written_type(a, data, _TS), *_shown(a, _TS)))
    return Call(callee, member, tuple(args), n.start_point[0] + 1, use_of(n, _TS))


def _ts_params(fn: Node, data: bytes, out: dict[tuple[int, int], Param], functions: Functions) -> str:
    ps = fn.child_by_field_name("parameters")
    if ps is None:
        return ""
    member: bool | None = None
    where = fn.child_by_field_name("name")
    if fn.type == "method_definition":
        name = node_text(where)
        member = True
        if name == "constructor":
            cls = fn.parent.parent if fn.parent is not None else None
            name = node_text(cls.child_by_field_name("name")) if cls is not None else ""
            member = False
    elif fn.type in ("function_declaration", "generator_function_declaration"):
        name = node_text(fn.child_by_field_name("name"))
    else:  # an arrow or function expression: the name of the variable it is assigned to
        p = fn.parent
        where = p.child_by_field_name("name") if p is not None and p.type == "variable_declarator" else None
        name = node_text(where)
    if not name:
        return ""
    if member is not False and where is not None:
        functions[position(where, data)] = (name, member)
    index = 0
    stored = _ts_stored(fn) if fn.type == "method_definition" else {}
    for p in ps.named_children:
        if p.type not in ("required_parameter", "optional_parameter"):
            continue
        pat = p.child_by_field_name("pattern")
        if pat is None or pat.type == "rest_pattern":
            break
        if pat.type == "this":
            continue
        if pat.type == "identifier":
            ann = p.child_by_field_name("type")
            out[position(pat, data)] = Param(
                name,
                index,
                None,
                member,
                node_text(ann)[1:].strip() or None,
                node_text(pat),
                stored.get(node_text(pat)),
            )
        index += 1
    return name


def _ts_stored(fn: Node) -> dict[str, str]:
    """A method's parameters that it stores as they are into a field of `this` whose type its class
    declares (`url: string;`, a field without an initialiser: kept by the strip protocol) -> that
    type (the first declaration)."""
    into = _stores(
        fn.child_by_field_name("body"), "this", "assignment_expression", "member_expression", "property"
    )
    body = fn.parent
    if not into or body is None or body.type != "class_body":
        return {}
    declared: dict[str, str] = {}
    for f in body.named_children:
        if f.type != "public_field_definition":
            continue
        name, ann = f.child_by_field_name("name"), f.child_by_field_name("type")
        if name is not None and ann is not None:
            declared.setdefault(node_text(name), node_text(ann)[1:].strip())
    return {p: declared[x] for p, x in into.items() if x in declared}


# ------------------------------------------------------------------------------------- the table
C = TypeVar("C")
K = TypeVar("K")


def _path_of(entry: tuple[Path, object]) -> tuple[str, ...]:
    """An entry's path as it is ordered (a path's parts: compared in C, where `Path.__lt__` is a
    Python call per comparison: a third of an edit's table update on effect's 7,000-line file)."""
    return entry[0].parts


def _callee_of(x: Call | Param) -> str:
    return x.callee


def _first_of(x: tuple[str, tuple[str, ...]]) -> str:
    return x[0]


def _method_of(x: tuple[str, str, str | None]) -> tuple[str, str]:
    return x[0], x[1]


def _swapped(
    by_callee: dict[K, list[tuple[Path, C]]],
    path: Path,
    old: Iterable[C],
    new: Iterable[C],
    key: Callable[[C], K] = _callee_of,  # type: ignore[assignment]
) -> dict[K, list[tuple[Path, C]]]:
    """`by_callee` (each list in path order) with one file's entries `old` replaced by `new`: the
    file's run of each list is found by bisection (a common callee's list holds the whole
    project's calls of it; filtering it for every callee of an edited file cost 0.2-0.7 s an edit
    on effect's 7,000-line internal/effect.ts).  `key`: what an entry is listed under."""
    mine: dict[K, list[tuple[Path, C]]] = {}
    for x in new:
        mine.setdefault(key(x), []).append((path, x))
    out = dict(by_callee)
    for callee in {key(x) for x in old} | mine.keys():
        entries = out.get(callee, [])
        lo = bisect.bisect_left(entries, path.parts, key=_path_of)
        hi = bisect.bisect_right(entries, path.parts, lo=lo, key=_path_of)
        kept = entries[:lo] + mine.get(callee, []) + entries[hi:]
        if kept:
            out[callee] = kept
        else:
            out.pop(callee, None)
    return out


@dataclass
class CallTable:
    """The project's calls by callee name, and how many functions each name defines."""

    calls: dict[str, list[tuple[Path, Call]]]
    defined: dict[str, int]
    params: dict[Path, dict[tuple[int, int], Param]]
    signatures: dict[str, list[tuple[Path, Param]]]  # callee name -> its parameters
    functions: dict[Path, Functions]
    # callee name -> where its functions' names are (their return sites), and how they are called
    where: dict[str, list[tuple[Path, tuple[int, int], bool | None]]]
    # (Python) a class name -> its definitions' (name, bases); (class, method) -> its definitions'
    # (class, method, return annotation)
    classes: dict[str, list[tuple[Path, tuple[str, tuple[str, ...]]]]] = field(default_factory=dict)
    methods: dict[tuple[str, str], list[tuple[Path, tuple[str, str, str | None]]]] = field(
        default_factory=dict
    )
    method_sites: dict[Path, dict[tuple[int, int], tuple[str, str, str | None]]] = field(default_factory=dict)
    # a base's name -> the classes that name it among their bases (made when first asked)
    _subclasses: dict[str, list[str]] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, files: Iterable[tuple[Path, FileCalls]]) -> CallTable:
        calls: dict[str, list[tuple[Path, Call]]] = {}
        defined: dict[str, int] = {}
        params: dict[Path, dict[tuple[int, int], Param]] = {}
        signatures: dict[str, list[tuple[Path, Param]]] = {}
        functions: dict[Path, Functions] = {}
        where: dict[str, list[tuple[Path, tuple[int, int], bool | None]]] = {}
        classes: dict[str, list[tuple[Path, tuple[str, tuple[str, ...]]]]] = {}
        methods: dict[tuple[str, str], list[tuple[Path, tuple[str, str, str | None]]]] = {}
        method_sites: dict[Path, dict[tuple[int, int], tuple[str, str, str | None]]] = {}
        for path, fc in sorted(files, key=lambda x: x[0]):
            for k in fc.classes.values():
                classes.setdefault(k[0], []).append((path, k))
            for m in fc.methods.values():
                methods.setdefault(m[:2], []).append((path, m))
            if fc.methods:
                method_sites[path] = fc.methods
            for c in fc.calls:
                calls.setdefault(c.callee, []).append((path, c))
            for _, name in fc.defined:
                defined[name] = defined.get(name, 0) + 1
            if fc.params:
                params[path] = fc.params
            if fc.functions:
                functions[path] = fc.functions
            for at, (name, member) in fc.functions.items():
                where.setdefault(name, []).append((path, at, member))
            for p in fc.params.values():
                signatures.setdefault(p.callee, []).append((path, p))
        return cls(calls, defined, params, signatures, functions, where, classes, methods, method_sites)

    def replaced(self, path: Path, old: FileCalls, new: FileCalls) -> CallTable:
        """The table with one file's calls `old` replaced by `new` (an edited file): what `build`
        makes of the files as they are now, without going over the others' calls again."""
        calls = _swapped(self.calls, path, old.calls, new.calls)
        defined = dict(self.defined)
        for sign, names in ((-1, old.defined), (1, new.defined)):
            for _, name in names:
                defined[name] = defined.get(name, 0) + sign
                if defined[name] <= 0:
                    del defined[name]
        params = dict(self.params)
        params.pop(path, None)
        if new.params:
            params[path] = new.params
        functions = dict(self.functions)
        functions.pop(path, None)
        if new.functions:
            functions[path] = new.functions
        signatures = _swapped(self.signatures, path, old.params.values(), new.params.values())
        where = dict(self.where)
        for name in {n for n, _ in old.functions.values()} | {n for n, _ in new.functions.values()}:
            kept = [w for w in where.get(name, ()) if w[0] != path]
            kept += [(path, at, m) for at, (n, m) in new.functions.items() if n == name]
            if kept:
                where[name] = kept
            else:
                where.pop(name, None)
        classes = _swapped(self.classes, path, old.classes.values(), new.classes.values(), _first_of)
        methods = _swapped(self.methods, path, old.methods.values(), new.methods.values(), _method_of)
        method_sites = dict(self.method_sites)
        method_sites.pop(path, None)
        if new.methods:
            method_sites[path] = new.methods
        return CallTable(calls, defined, params, signatures, functions, where, classes, methods, method_sites)

    def _bases(self, c: str) -> tuple[str, ...]:
        return self.classes[c][0][1][1]

    def _subclasses_of(self, c: str) -> list[str]:
        below = self._subclasses
        if below is None:  # (made once per table, when first asked)
            below = self._subclasses = {}
            for sub, defs in self.classes.items():
                for _, (_, bases) in defs:
                    for b in bases:
                        below.setdefault(b, []).append(sub)
        return below.get(c, [])

    def _definers(self, owner: str, name: str, step: Callable[[str], Iterable[str]], limit: int) -> list[str]:
        """Breadth first from `owner` along `step` (its bases, or its subclasses): the classes of the
        project that define a method `name`, at most `limit`, none followed past one that does; a
        class defined more than once, or not the project's (a library's: its methods are not known
        here), is not followed."""
        if len(self.classes.get(owner, ())) != 1:
            return []
        out: list[str] = []
        todo, seen = list(step(owner)), {owner}
        while todo and len(out) < limit:
            c = todo.pop(0)
            if c in seen or len(self.classes.get(c, ())) != 1:
                continue
            seen.add(c)
            if len(self.methods.get((c, name), ())) == 1:
                out.append(c)
            else:
                todo.extend(step(c))
        return out

    def _overrides(self, owner: str, name: str) -> list[str]:
        """The classes whose method `name` a method of `owner` overrides (the nearest base that
        defines one) or is overridden by (below, the first in each line of subclasses, at most
        MAX_DEFINITIONS)."""
        return self._definers(owner, name, self._bases, 1) + self._definers(
            owner, name, self._subclasses_of, MAX_DEFINITIONS
        )

    def override_params(self, p: Param) -> list[str]:
        """(Python) The annotations of the parameters of the same name of the methods a method's
        parameter overrides (`handle(self, item)` under a base's `handle(self, item: Item)`: the
        nearest base's) and of those that override it (the subclasses')."""
        if p.owner is None:
            return []
        classes = self._overrides(p.owner, p.callee)
        return [
            q.annotation
            for _, q in self.signatures.get(p.callee, ())
            if q.owner in classes and q.name == p.name and q.annotation is not None
        ]

    def override_returns(self, path: Path, line: int, column: int) -> list[str]:
        """(Python) The return annotations of the methods the method whose name is at (line, column)
        of the file overrides (the nearest base's) and of those that override it."""
        m = self.method_sites.get(path, {}).get((line, column))
        if m is None:
            return []
        return [
            ann
            for c in self._overrides(m[0], m[1])
            for _, (_, _, ann) in self.methods[(c, m[1])]
            if ann is not None
        ]

    def signature(self, callee: str, position: int | None, keyword: str | None, member: bool) -> Param | None:
        """The parameter a call `callee(...)` (`obj.callee(...)`: `member`) passes an argument at this
        position or keyword to; None when the callee's name is not one function of the project."""
        if self.defined.get(callee, 0) != 1:
            return None
        for _, p in self.signatures.get(callee, ()):
            if p.called_as(member) and p.takes(position, keyword):
                return p
        return None

    def definitions(self, callee: str, member: bool) -> list[tuple[Path, int, int]]:
        """Where the project functions a call `callee(...)` (`obj.callee(...)`: `member`) may call
        have their names (the file, 1-based line, code-point column: their return sites), at most
        MAX_DEFINITIONS; none when the name is defined more often than that, or also as something
        a call of it does not reach that way (a class, a method called bare)."""
        n = self.defined.get(callee, 0)
        found = [
            (path, line, column)
            for path, (line, column), how in self.where.get(callee, ())
            if how is None or how == member
        ]
        return found if 0 < n <= MAX_DEFINITIONS and len(found) == n else []

    def passed(self, p: PassedTo) -> Param | None:
        """The parameter a slice's value is passed to (`render(page)`, `obj.render(page)`,
        `new Page(doc)`: the constructor's name): `signature` of the callee's last name."""
        callee = p.callee.removeprefix("new ").strip()
        return self.signature(callee.rsplit(".", 1)[-1], p.arg, p.keyword, "." in callee)

    def uses(self, path: Path, line: int, column: int) -> list[str]:
        """What the project's calls of the function whose name is at (line, column) of the file do
        with its result (`Call.use`), at most MAX_CALLS calls' worth; none when its name is defined
        more than once in the project."""
        f = self.functions.get(path, {}).get((line, column))
        if f is None or self.defined.get(f[0], 0) != 1:
            return []
        callee, member = f
        found = [c.use for _, c in self.calls.get(callee, ()) if member is None or c.member == member]
        return found[:MAX_CALLS]

    def param(self, path: Path, line: int, column: int) -> Param | None:
        return self.params.get(path, {}).get((line, column))

    def arguments(self, path: Path, line: int, column: int) -> list[tuple[Path, Argument]]:
        """The arguments passed for the parameter at (line, column) of the file, at most MAX_CALLS
        calls' worth; none when its function's name is defined more than once in the project."""
        p = self.param(path, line, column)
        if p is None or self.defined.get(p.callee, 0) != 1:
            return []
        out: list[tuple[Path, Argument]] = []
        seen = 0
        for where, call in self.calls.get(p.callee, ()):
            if not p.called_as(call.member):
                continue
            seen += 1
            if seen > MAX_CALLS:
                break
            for a in call.args:
                if p.takes(a.position, a.keyword):
                    out.append((where, a))
                    break
        return out


# ------------------------------------------------------------------------------------- model input
MAX_SHOWN = 8  # arguments, parameter names and result uses kept per slice


def _first(items: Iterable[T], limit: int = MAX_SHOWN) -> list[T]:
    """The distinct items in order, at most `limit`."""
    out: list[T] = []
    for x in items:
        if x not in out:
            out.append(x)
            if len(out) >= limit:
                break
    return out


# what `across` made of an evidence object: (the evidence, what it added, the evidence made)
AcrossMemo = dict[int, tuple[Evidence, tuple[list[Expr], list[str], list[str]], Evidence]]


def across(
    slices: Sequence[Slice], table: CallTable, path: Path, memo: AcrossMemo | None = None
) -> list[Slice]:
    """The slices of one file with their evidence from the project's calls (issue #20, item 6):
    a parameter's `arguments` (what the calls of its function pass for it), a value's
    `callee_params` (the names of the project parameters it is passed to) and a return's
    `result_uses` (what the callers do with the result).  Pure: new slices where something was
    found, the same objects elsewhere.  `memo` (by the slice's evidence object): where the same
    evidence gets what it got before, the evidence made then is given again, so that what is
    remembered by the evidence object (the model's keys: an editor's unchanged sites) holds."""
    out: list[Slice] = []
    for s in slices:
        ev = s.evidence
        args: list[Expr] = []
        uses: list[str] = []
        if s.kind == "param":
            args = _first(
                Expr(a.text, a.category) for _, a in table.arguments(path, s.line, s.column) if a.text
            )
        elif s.kind == "return":
            uses = _first(u for u in table.uses(path, s.line, s.column) if u)
        named = [table.passed(p) for p in ev.passed_to]
        params = _first(p.name for p in named if p is not None and p.name)
        if args or uses or params:
            made = memo.get(id(ev)) if memo is not None else None
            if made is None or made[0] is not ev or made[1] != (args, uses, params):
                made = (
                    ev,
                    (args, uses, params),
                    replace(ev, arguments=args, result_uses=uses, callee_params=params),
                )
                if memo is not None:
                    memo[id(ev)] = made
            s = replace(s, evidence=made[2])
        out.append(s)
    return out
