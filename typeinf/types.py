"""Type text: one normaliser shared by the corpus statistics, training labels, evaluation,
predictions and edits.

    normalize(text, language)   canonical spelling of an annotation
    base_type(text, language)   the outermost type(s): list[int] -> list; A | None -> A | None
    names_in(text, language)    the names a type is built from (for categories and imports)
    is_generic(text, language)  parametrised (list[int], Promise<T>, Foo<Bar>)

Python (`language="python"`):
  * quotes removed (`"Foo"` -> `Foo`), whitespace canonical;
  * `typing` / `typing_extensions` / `builtins` prefixes dropped and the typing aliases mapped
    to builtins: `typing.List[int]` -> `list[int]`, `Dict` -> `dict`, `Text` -> `str`;
  * `Optional[X]` and `Union[X, None]` -> `X | None`; union members de-duplicated and sorted
    (`None` last); `Annotated[X, ...]` -> `X`;
  * other module prefixes kept only where the text has them (`np.ndarray` stays).
TypeScript (`typescript`, `tsx`):
  * whitespace canonical, `Array<T>` / `ReadonlyArray<T>` -> `T[]`, `readonly T[]` -> `T[]`;
  * union and intersection members de-duplicated and sorted (`null`/`undefined` last),
    `true | false` -> `boolean`; string literal types with double quotes.
Unparseable text comes back with its whitespace collapsed.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from .text import split_top

PY_ALIASES = {
    "List": "list",
    "Dict": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Tuple": "tuple",
    "Type": "type",
    "Text": "str",
    "NoneType": "None",
    "DefaultDict": "defaultdict",
    "Deque": "deque",
}
_PY_DROP_PREFIXES = ("typing.", "typing_extensions.", "builtins.", "t.")
_LAST = {"None": 2, "null": 2, "undefined": 3}


def _sort_key(member: str) -> tuple[int, str]:
    return (_LAST.get(member, 0), member)


# ---------------------------------------------------------------------------- Python
def _py_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _py_name(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _py_strip_prefix(name: str) -> str:
    for p in _PY_DROP_PREFIXES:
        if name.startswith(p) and name.count(".") == 1:
            name = name[len(p) :]
            break
    return PY_ALIASES.get(name, name)


def _py_render(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "None"
        if isinstance(node.value, str):
            try:
                return _py_render(ast.parse(node.value.strip(), mode="eval").body)
            except SyntaxError:
                return " ".join(node.value.split())
        if node.value is Ellipsis:
            return "..."
        return repr(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _py_union([node.left, node.right])
    name = _py_name(node)
    if name is not None:
        return _py_strip_prefix(name)
    if isinstance(node, ast.Subscript):
        head = _py_name(node.value)
        head = _py_strip_prefix(head) if head is not None else _py_render(node.value)
        sl = node.slice
        items = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        if head == "Optional" and items:
            return _py_union([items[0], ast.Constant(None)])
        if head == "Union":
            return _py_union(items)
        if head == "Annotated" and items:
            return _py_render(items[0])
        if head == "Literal":
            lits = (repr(i.value) if isinstance(i, ast.Constant) else _py_render(i) for i in items)
            return f"Literal[{', '.join(sorted(lits))}]"
        return f"{head}[{', '.join(_py_render(i) for i in items)}]"
    if isinstance(node, (ast.List, ast.Tuple)):
        return "[" + ", ".join(_py_render(i) for i in node.elts) + "]"
    return ast.unparse(node)


def _py_union(nodes: list[ast.expr]) -> str:
    members: set[str] = set()
    for n in nodes:
        members.update(split_top(_py_render(n), "|", type_syntax=True))
    return " | ".join(sorted(members, key=_sort_key))


# ---------------------------------------------------------------------------- TypeScript
_TS_TOKEN = re.compile(
    r"\s*(=>|\.\.\.|[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*|\d[\w.]*|\"(?:\\.|[^\"])*\"|'(?:\\.|[^'])*'"
    r"|`(?:\\.|[^`])*`|[<>()\[\]{}|&,:;?=.*+\-!])"
)


class _TSParser:
    """A small recursive-descent parser for TypeScript type expressions (what annotations use).

    Object, function, conditional and mapped types are kept as canonical text."""

    def __init__(self, text: str) -> None:
        self.toks: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TS_TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ValueError(text)
            self.toks.append(m.group(1))
            pos = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expect: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expect is not None and tok != expect):
            raise ValueError(f"expected {expect!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> str:
        out = self.union()
        if self.peek() is not None:
            raise ValueError("trailing tokens")
        return out

    def union(self) -> str:
        if self.peek() == "|":
            self.take()
        members = [self.intersection()]
        while self.peek() == "|":
            self.take()
            members.append(self.intersection())
        if len(members) == 1:
            return members[0]
        flat: set[str] = set()
        for m in members:
            if _is_function_type(m):  # `(() => void) | null`, not `() => void | null`
                flat.add(f"({m})")
            else:
                flat.update(split_top(m, "|", type_syntax=True))
        if {"true", "false"} <= flat:
            flat -= {"true", "false"}
            flat.add("boolean")
        return " | ".join(sorted(flat, key=_sort_key))

    def intersection(self) -> str:
        if self.peek() == "&":
            self.take()
        members = [self.postfix()]
        while self.peek() == "&":
            self.take()
            members.append(self.postfix())
        if len(members) == 1:
            return members[0]
        return " & ".join(sorted({f"({m})" if _is_function_type(m) or " | " in m else m for m in members}))

    def postfix(self) -> str:
        base = self.primary()
        while self.peek() == "[":
            self.take()
            if self.peek() == "]":
                self.take()
                base = f"({base})[]" if (" | " in base or " & " in base or "=>" in base) else base + "[]"
            else:
                idx = self.union()
                self.take("]")
                base = f"{base}[{idx}]"
        return base

    def primary(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ValueError("unexpected end")
        if tok in ("keyof", "typeof", "unique", "infer") and self.i + 1 < len(self.toks):
            self.take()
            return f"{tok} {self.postfix()}"
        if tok == "readonly":
            self.take()
            return self.postfix()
        if tok == "(":
            # a parenthesised type or a function type
            start = self.i
            try:
                self.take("(")
                inner = self.union()
                self.take(")")
                if self.peek() != "=>":
                    return inner
            except ValueError:
                pass
            self.i = start
            return self.function_type()
        if tok in ("new", "<"):
            return self.function_type()
        if tok == "{":
            return self.balanced("{", "}")
        if tok == "[":
            self.take("[")
            items = []
            while self.peek() != "]":
                items.append(self.tuple_item())
                if self.peek() == ",":
                    self.take()
            self.take("]")
            return "[" + ", ".join(items) + "]"
        if tok[0] in "\"'`":
            self.take()
            return '"' + tok[1:-1].replace('"', '\\"') + '"' if tok[0] == "'" else tok
        if tok == "-":
            self.take()
            return "-" + self.take()
        self.take()
        name = tok
        if self.peek() == "<":
            self.take("<")
            args = [self.union()]
            while self.peek() == ",":
                self.take()
                args.append(self.union())
            self.take(">")
            if name in ("Array", "ReadonlyArray") and len(args) == 1:
                a = args[0]
                return f"({a})[]" if (" | " in a or " & " in a or "=>" in a) else a + "[]"
            return f"{name}<{', '.join(args)}>"
        if self.peek() == "is" or (name == "asserts" and self.peek() not in (None, "|", "&", ",", ">")):
            rest = " ".join(self.toks[self.i :])
            self.i = len(self.toks)
            return f"{name} {rest}"
        return name

    def tuple_item(self) -> str:
        if self.peek() == "...":
            self.take()
            return "..." + self.union()
        # named tuple member `name: T` or `name?: T`
        if self.i + 1 < len(self.toks) and self.toks[self.i + 1] in (":", "?"):
            self.take()
            opt = ""
            if self.peek() == "?":
                self.take()
                opt = "?"
            self.take(":")
            return self.union() + opt
        t = self.union()
        if self.peek() == "?":
            self.take()
            t += "?"
        return t

    def balanced(self, open_: str, close: str) -> str:
        depth = 0
        parts = []
        while True:
            tok = self.take()
            parts.append(tok)
            if tok == open_:
                depth += 1
            elif tok == close:
                depth -= 1
                if depth == 0:
                    break
        return _join_tokens(parts)

    def function_type(self) -> str:
        parts = []
        if self.peek() == "new":
            parts.append(self.take())
        if self.peek() == "<":
            parts.append(self.balanced("<", ">"))
        parts.append(self.balanced("(", ")"))
        self.take("=>")
        ret = self.union()
        return _join_tokens(parts) + " => " + ret


def _is_function_type(t: str) -> bool:
    """`(a: A) => B` / `new () => T` at the top level (an arrow outside any brackets)."""
    depth = 0
    for i, ch in enumerate(t):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>" and not (ch == ">" and i > 0 and t[i - 1] == "="):
            depth -= 1
        elif ch == "=" and depth == 0 and t.startswith("=>", i):
            return True
    return False


def _join_tokens(toks: list[str]) -> str:
    out = ""
    for t in toks:
        if t in (",", ":", ";"):
            out += t + " "
        elif t in ("=>", "|", "&", "="):
            out += f" {t} "
        elif t in ("{",):
            out += "{ "
        elif t == "}":
            out = out.rstrip() + " }"
        else:
            out += t
    return " ".join(out.replace("{  }", "{}").split())


# ---------------------------------------------------------------------------- shared


@lru_cache(maxsize=65536)
def normalize(text: str, language: str = "python") -> str:
    """Canonical spelling of a type annotation (see the module docstring)."""
    text = (text or "").strip()
    if not text:
        return ""
    if language == "python":
        try:
            return _py_render(ast.parse(text, mode="eval").body)
        except (SyntaxError, ValueError, RecursionError):
            return " ".join(text.split())
    try:
        return _TSParser(text).parse()
    except (ValueError, RecursionError):
        return " ".join(text.split())


def _outer(t: str, language: str) -> str:
    if language == "python":
        i = t.find("[")
        return t if i < 0 else t[:i]
    if t.endswith("[]"):
        return "[]"
    if t.startswith("(") and t.endswith(")") and _is_function_type(t[1:-1]):
        return "=>"
    if "=>" in t:
        return "=>"
    if t.startswith("{"):
        return "{}"
    if t.startswith("["):
        return "[tuple]"
    if t[:1] in "\"'`":
        return "string"
    if re.fullmatch(r"-?\d[\w.]*", t):
        return "number"
    i = t.find("<")
    return t if i < 0 else t[:i]


@lru_cache(maxsize=65536)
def base_type(text: str, language: str = "python") -> str:
    """The outermost type: `list[int]` -> `list`, `Promise<X>` -> `Promise`, `X[]` -> `[]`;
    unions become the sorted set of their members' outer types."""
    norm = normalize(text, language)
    if not norm:
        return ""
    if language != "python" and _is_function_type(norm):
        return "=>"
    members = split_top(norm, "|", type_syntax=True)
    outs = sorted({_outer(m, language) for m in members}, key=_sort_key)
    return " | ".join(outs)


_NAME = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
_TS_KEYWORDS = {"keyof", "typeof", "readonly", "infer", "extends", "is", "asserts", "unique", "new"}


def names_in(text: str, language: str = "python") -> list[str]:
    """Type names the (normalised) text refers to, in order, without duplicates
    (string literal contents and TypeScript keywords excluded)."""
    return list(_names_in(text, language))


@lru_cache(maxsize=65536)
def _names_in(text: str, language: str) -> tuple[str, ...]:
    norm = normalize(text, language)
    norm = re.sub(r"\"(?:\\.|[^\"])*\"|'(?:\\.|[^'])*'|`(?:\\.|[^`])*`", "", norm)
    if language != "python":
        norm = re.sub(r"[\w$]+\??\s*:", ":", norm)  # property and parameter names
    seen: dict[str, None] = {}
    for m in _NAME.finditer(norm):
        n = m.group(0)
        if language != "python" and n in _TS_KEYWORDS:
            continue
        seen.setdefault(n, None)
    return tuple(seen)


def is_generic(text: str, language: str = "python") -> bool:
    norm = normalize(text, language)
    if language == "python":
        return "[" in norm and not norm.startswith("Literal[")
    return "<" in norm or "[]" in norm


# Qualifiers of a declaration, not types: `X: Final = 50` declares a constant whose type is int;
# `NotRequired[str]` is only meaningful in a TypedDict body (which annotate never writes into).
_QUALIFIERS = ("Final", "ClassVar", "InitVar", "NotRequired", "Required", "ReadOnly")
_BARE_QUALIFIERS = frozenset({*_QUALIFIERS, "TypeAlias", "KW_ONLY"})
_QUALIFIED = re.compile(
    r"^(?:(?:typing|typing_extensions|t|T|dataclasses)\.)?(" + "|".join(_QUALIFIERS) + r")\[(.*)\]$", re.S
)


def without_qualifier(text: str) -> str | None:
    """A Python type text without a declaration qualifier: `Final[int]` -> `int`; a bare qualifier
    (`Final`, `TypeAlias`, `ClassVar`) -> None, it names no type; other texts unchanged."""
    t = text.strip()
    if t.rsplit(".", 1)[-1] in _BARE_QUALIFIERS:
        return None
    m = _QUALIFIED.match(t)
    return without_qualifier(m.group(2)) if m else text


def union_members(text: str, language: str = "python") -> list[str]:
    """The members of a union type text at its top level (`int | None` -> int, None; `Optional[int]`
    -> int, None); the text itself when it is not a union."""
    t = text.strip()
    if language == "python":
        m = re.match(r"^(?:typing\.)?Optional\[(.*)\]$", t, re.S)
        if m:
            return [*union_members(m.group(1), language), "None"]
        m = re.match(r"^(?:typing\.)?Union\[(.*)\]$", t, re.S)
        if m:
            return [
                u
                for part in split_top(m.group(1), ",", type_syntax=True)
                for u in union_members(part, language)
            ]
    return split_top(t, "|", type_syntax=True) or [t]
