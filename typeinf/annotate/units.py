"""The smallest pieces of a Python module that hold a set of edits, cut out so that libcst parses,
walks and prints only them instead of the whole module (most files get a few annotations in a
few functions; the whole-module passes were most of `typeinf annotate`'s time).

A *unit* is a function definition (with its decorators) at the top level or in a class body
(classes nested in classes included), else the class or top-level statement that holds the edit.
Narrower still, where the edits allow: a function's *header* alone (decorators to the colon, given
a `pass` body to parse) when it holds only parameter and return edits, and the assignment alone
for a variable in a function body (no enclosing class there: a local's annotation is never read
at run time). It is cut out as whole lines with its indentation removed, edited on its own, and
put back with the same indentation: the annotations written never add or remove a line, so the lines map one
to one. Lines that do not start with the unit's indentation (continuation lines in brackets,
string contents, comments) keep theirs. Where this cannot be exact (source the running Python
cannot parse, lone carriage returns, a unit libcst cannot parse on its own, an edit that changed
a unit's line count) the caller edits the whole module instead.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class Unit:
    first: int  # 0-based index of the unit's first line
    end: int  # one past its last line
    indent: str  # the indentation removed from its lines
    stripped: list[bool]  # per line: the indentation was removed (False: the line did not start with it)
    text: str  # the dedented lines
    starts: list[int]  # byte offset in `text` where each line starts
    tail: str = ""  # appended to `text` so that it parses (a header's body), left out of the result

    @property
    def code(self) -> str:
        return self.text + self.tail

    def put_back(self, code: str) -> str | None:
        """The edited unit with its indentation restored (None: the edit changed its line count)."""
        if self.tail:
            if not code.endswith(self.tail):
                return None
            code = code[: len(code) - len(self.tail)]
        out = _LINE.findall(code)
        if len(out) != len(self.stripped):
            return None
        return "".join(self.indent + ln if st else ln for ln, st in zip(out, self.stripped, strict=True))


class Lines:
    """The module's lines with the byte offset where each starts (edits are keyed by byte offset)."""

    def __init__(self, source: str) -> None:
        self.lines = _LINE.findall(source)
        self.starts = [0]
        for ln in self.lines:
            self.starts.append(self.starts[-1] + len(ln.encode("utf-8")))

    def line_of(self, offset: int) -> int:
        """0-based line holding the byte offset."""
        return bisect.bisect_right(self.starts, offset) - 1

    def local_offset(self, unit: Unit, offset: int) -> int:
        """The byte offset in the unit's text of a byte offset in the module."""
        k = self.line_of(offset) - unit.first
        col = offset - self.starts[unit.first + k]
        if unit.stripped[k]:
            col -= len(unit.indent)  # spaces and tabs: one byte each
        return unit.starts[k] + col


def parse_tree(source: str) -> ast.Module | None:
    if "\r" in source.replace("\r\n", ""):  # lone CR: line numbers would not match ours
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _span(node: ast.stmt) -> tuple[int, int]:
    """1-based first line (decorators included) and last line of a statement."""
    first = node.lineno
    for d in getattr(node, "decorator_list", None) or []:
        first = min(first, d.lineno)
    return first, node.end_lineno or node.lineno


def _containing(body: list[ast.stmt], line: int) -> ast.stmt | None:
    for node in body:
        a, b = _span(node)
        if a <= line <= b:
            return node
        if a > line:
            return None
    return None


def _unit_node(tree: ast.Module, line: int) -> ast.stmt | None:
    """The function definition (in classes, nested or not) or class or top-level statement holding the line."""
    node = _containing(tree.body, line)
    while isinstance(node, ast.ClassDef):
        child = _containing(node.body, line)
        if not isinstance(child, (*_DEFS, ast.ClassDef)):
            break
        node = child
        if isinstance(node, _DEFS):
            break
    return node


def _line_start(lines: Lines, node: ast.stmt) -> str | None:
    """The indentation of the statement's first line (decorators included) when the statement
    begins that line, else None (`if x: y`, `def f(\n    x): return x`)."""
    text = lines.lines[_span(node)[0] - 1]
    rest = text.lstrip(" \t")
    ws = text[: len(text) - len(rest)]
    decorated = bool(getattr(node, "decorator_list", None))
    return ws if (rest.startswith("@") if decorated else len(ws) == node.col_offset) else None


def _header_end(lines: Lines, node: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    """1-based first line of the function's body when the header (decorators to the colon) ends
    on an earlier line, else None (`def f(x): return x`, `def f(\n    x): return x`)."""
    first = _span(node.body[0])[0]
    if first <= node.lineno or _line_start(lines, node.body[0]) is None:
        return None
    return first


def _assignment(node: ast.stmt, line: int) -> ast.Assign | None:
    """The assignment holding the line, inside the function's body (nested blocks and functions
    included, not a class: its fields may be read at run time)."""
    body: list[ast.stmt] = getattr(node, "body", [])
    while True:
        child = _containing(body, line)
        if child is None or isinstance(child, ast.ClassDef):
            return None
        if isinstance(child, ast.Assign):
            return child
        blocks = [getattr(child, n, None) for n in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(child, "handlers", None) or []]
        blocks += [c.body for c in getattr(child, "cases", None) or []]
        inner = [
            b
            for b in blocks
            if isinstance(b, list) and b and isinstance(b[0], ast.stmt) and _containing(b, line) is not None
        ]
        if not inner:
            return None
        body = inner[0]


def _site_span(tree: ast.Module, lines: Lines, offset: int, kind: str) -> tuple[int, int, bool] | None:
    """0-based first line, end line and whether it is a function header, of the unit for one edit."""
    line = lines.line_of(offset) + 1
    node = _unit_node(tree, line)
    if node is None:
        return None
    a, b = _span(node)
    if isinstance(node, _DEFS):
        head = _header_end(lines, node)
        if kind in ("param", "return") and head is not None and line < head:
            return a - 1, head - 1, True
        if kind == "var" and head is not None and line >= head:
            stmt = _assignment(node, line)
            if stmt is not None and stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
                return stmt.lineno - 1, stmt.end_lineno or stmt.lineno, False
    return a - 1, b, False


def units_for(lines: Lines, tree: ast.Module, sites: list[tuple[int, str]]) -> list[Unit] | None:
    """Units holding the edits (byte offset, kind), in order, none overlapping (None: an offset
    outside any statement)."""
    spans: list[tuple[int, int, bool]] = []
    for off, kind in sites:
        span = _site_span(tree, lines, off, kind)
        if span is None:
            return None
        spans.append(span)
    spans.sort()
    merged: list[list[int]] = []  # [first, end, header]
    for a, b, head in spans:
        if merged and a < merged[-1][1]:
            last = merged[-1]
            last[2] = int(bool(last[2]) and head and last[1] == b)
            last[1] = max(last[1], b)
        else:
            merged.append([a, b, int(head)])
    out = []
    for a, b, header in merged:
        head = lines.lines[a]
        indent = head[: len(head) - len(head.lstrip(" \t"))]
        stripped, text, starts, at = [], [], [], 0
        for ln in lines.lines[a:b]:
            if ln.startswith(indent):
                stripped.append(True)
                ln = ln[len(indent) :]
            else:  # continuation lines inside brackets, string contents, comments: any indentation
                stripped.append(False)
            text.append(ln)
            starts.append(at)
            at += len(ln.encode("utf-8"))
        out.append(Unit(a, b, indent, stripped, "".join(text), starts, " pass\n" if header else ""))
    return out


_IMPORTS = (ast.Import, ast.ImportFrom)


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def import_prefix(lines: Lines, tree: ast.Module) -> tuple[int, str | None] | None:
    """Where to cut the module so that adding imports to its head alone gives what adding them to
    the whole module gives: (number of lines of the head, the module's indentation unit as libcst
    detects it over the whole module, None when it has none), or None when no such cut is known.

    The head holds every top-level statement that adding imports reads or changes: the leading
    import block (after a docstring) and the statement after it, the first import block anywhere
    (where an `if TYPE_CHECKING:` block goes) and the statement after it, every `if TYPE_CHECKING:`
    block and the statement after it."""
    body = tree.body
    if not body:
        return None
    last = (
        1 if isinstance(body[0], ast.Expr) or isinstance(body[0], ast.Assign) else 0
    )  # docstring, __strict__
    while last < len(body) and isinstance(body[last], _IMPORTS):
        last += 1
    j = next((n for n, st in enumerate(body) if isinstance(st, _IMPORTS)), None)
    if j is not None:
        while j < len(body) and isinstance(body[j], _IMPORTS):
            j += 1
        last = max(last, j)
    for n, st in enumerate(body):
        if _is_type_checking(st):
            last = max(last, n + 1)
    if any(isinstance(st, _IMPORTS) for st in body[last + 2 :]):
        return None  # more imports further down: an added import could equal one of them
    for n in range(1, min(len(body), last + 2)):
        if body[n].lineno == (body[n - 1].end_lineno or body[n - 1].lineno):
            return None  # statements sharing a line (`import os; x = 1`): libcst's statements are not ast's
    indent = _first_indent(lines, tree)
    if indent is None:
        return None
    if last + 1 >= len(body):
        return len(lines.lines), indent or None
    return _span(body[last + 1])[0] - 1, indent or None  # the rest starts on a line of its own


def _first_indent(lines: Lines, tree: ast.Module) -> str | None:
    """The whitespace of the module's first indented block (libcst's indentation unit), "" when
    there is none, None when it cannot be told from the tree alone."""
    for st in tree.body:
        block = getattr(st, "body", None)
        if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
            continue
        ws = _line_start(lines, block[0])
        if _span(block[0])[0] > st.lineno and ws:
            return ws
        if (st.end_lineno or st.lineno) > st.lineno:
            return None  # a one-line body followed by more lines (`if x: y` / `else:`): not told here
    return ""
