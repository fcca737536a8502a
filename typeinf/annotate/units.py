"""The smallest pieces of a Python module that hold a set of edits, cut out so that libcst parses,
walks and prints only them instead of the whole module (most files get a few annotations in a
few functions; the whole-module passes were most of `typeinf annotate`'s time).

A *unit* is a function definition (with its decorators) at the top level or in a class body
(classes nested in classes included), else the class or top-level statement that holds the edit.
It is cut out as whole lines with its indentation removed, edited on its own, and put back with
the same indentation: the annotations written never add or remove a line, so the lines map one
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

    def put_back(self, code: str) -> str | None:
        """The edited unit with its indentation restored (None: the edit changed its line count)."""
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


def units_for(lines: Lines, tree: ast.Module, offsets: list[int]) -> list[Unit] | None:
    """Units holding the byte offsets, in order, none overlapping (None: an offset outside any statement)."""
    spans: list[tuple[int, int]] = []
    for off in offsets:
        node = _unit_node(tree, lines.line_of(off) + 1)
        if node is None:
            return None
        a, b = _span(node)
        spans.append((a - 1, b))
    spans.sort()
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
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
        out.append(Unit(a, b, indent, stripped, "".join(text), starts))
    return out
