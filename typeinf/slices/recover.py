"""Syntax-error recovery and the diagnostics of syntax errors, one path for both languages.

    extract_recovering(data, language, analyse) -> (slices, diagnostics)

tree-sitter's Python grammar can swallow everything after a broken function into one ERROR
node, so a Python buffer with syntax errors is parsed again with each broken block blanked out
(positions are kept: every byte but line breaks becomes a space).  The sites inside the broken
blocks come from the first parse, the others from the parse of the blanked buffer; the names in
scope are those of the first parse (imports and classes of the whole file stay visible).

TypeScript is not blanked (`RECOVERED`): its grammar recovers by itself (a missing `}` becomes a
MISSING node and the rest of the file still parses).  Blanking its broken blocks by braces was
measured on 32 broken files from dexie, minisearch, tailwind-merge and tsc-alias (2,135 sites):
26 sites more, 3 fewer, the evidence of 147 others changed (most of them only their windows,
which then show blanked lines), and some of the new sites came from a misparse.

`analyse` is the language's slicer: bytes in, an `Analysis` (its source, tree, file scope and
slices) out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..text import line_of, line_starts
from .source import Diagnostic, Source, TextEdit, error_nodes, parse

if TYPE_CHECKING:
    from tree_sitter import Node

    from .data import ScopeName, Slice

MAX_REGIONS = 8
RECOVERED = frozenset({"python"})  # the languages whose broken blocks are blanked


class Analysis(Protocol):
    """One slicer's analysis of one buffer."""

    @property
    def source(self) -> Source: ...

    @property
    def root(self) -> Node: ...

    @property
    def file_scope(self) -> list[ScopeName]: ...

    def slices(self) -> list[Slice]: ...

    def release(self) -> None: ...


def extract_recovering(
    data: bytes, language: str, analyse: Callable[[bytes], Analysis]
) -> tuple[list[Slice], list[Diagnostic]]:
    """Slices and syntax diagnostics of `data`, with the broken blocks recovered (see above)."""
    first = analyse(data)
    slices = first.slices()
    first.release()
    diags = syntax_diagnostics(first.source, first.root)
    regions = broken_regions(data, language, first.root)
    if not regions:
        return slices, diags
    buf = bytearray(data)
    for start, end in regions:
        buf = blank(buf, start, end)
    last = analyse(bytes(buf))
    inside = [sl for sl in slices if _within(sl.span[0], regions)]
    outside = [sl for sl in last.slices() if not _within(sl.span[0], regions)]
    last.release()
    prefix = len(last.file_scope)
    for sl in outside:  # imports and classes of the whole file stay visible (type parameters kept)
        sl.scope = first.file_scope + sl.scope[prefix:]
    return sorted(inside + outside, key=lambda x: (x.span[0], x.kind)), diags


def broken_regions(data: bytes, language: str, root: Node) -> list[tuple[int, int]]:
    """The blocks to blank, in the order found: the block around the first error, then the
    block around the first error left once that one is blanked, and so on."""
    regions: list[tuple[int, int]] = []
    offset = first_error_offset(root) if language in RECOVERED else None
    buf = data
    while offset is not None and len(regions) < MAX_REGIONS:
        start, end = broken_region(buf, offset)
        if _within(start, regions):
            break
        regions.append((start, end))
        before, buf = buf, bytes(blank(buf, start, end))
        # parsed again from the tree before the blanking (positions hold: only those bytes changed)
        tree = parse(buf, language, previous=before, edits=[TextEdit(start, end, buf[start:end])])
        offset = first_error_offset(tree.root_node)
    return regions


def _within(offset: int, regions: list[tuple[int, int]]) -> bool:
    return any(a <= offset < b for a, b in regions)


def syntax_diagnostics(source: Source, root: Node, limit: int = 5) -> list[Diagnostic]:
    """Lines with ERROR or MISSING nodes (the first few), for warnings."""
    out = []
    for node in error_nodes(root, limit):
        what = f"missing {node.type!r}" if node.is_missing else "syntax error"
        out.append(
            Diagnostic(
                source.line_of(node.start_byte) + 1, f"{what}; slices were recovered for the code that parses"
            )
        )
    out.sort(key=lambda d: d.line)
    return out


_HEADER = re.compile(rb"^[ \t]*(?:async[ \t]+def|def|class)[ \t]")


def first_error_offset(root: Node) -> int | None:
    """Start byte of the first ERROR or MISSING node, or None for a clean tree."""
    node = root
    if not node.has_error:
        return None
    while True:
        for c in node.children:
            if c.type == "ERROR" or c.is_missing:
                return c.start_byte
            if c.has_error:
                node = c
                break
        else:
            return node.start_byte


def broken_region(data: bytes, offset: int) -> tuple[int, int]:
    """The lines of the innermost function/class block around a syntax error, as a byte range.

    The block starts at the nearest header line at or above the error and ends before the
    next non-blank line indented no deeper than the header."""
    lines = data.split(b"\n")
    starts = line_starts(data)
    err_line = line_of(starts, offset)
    first = err_line
    while first > 0 and not _HEADER.match(lines[first]):
        first -= 1
    if not _HEADER.match(lines[first]):
        first = err_line
    indent = len(lines[first]) - len(lines[first].lstrip(b" \t"))
    last = max(first, err_line)
    for i in range(max(first, err_line) + 1, len(lines)):
        text = lines[i]
        stripped = text.lstrip(b" \t")
        if not stripped or stripped.startswith((b"#", b"//", b"*", b"/*")):
            continue
        if len(text) - len(stripped) <= indent:
            break
        last = i
    return starts[first], starts[last] + len(lines[last])


def blank(data: bytes | bytearray, start: int, end: int) -> bytearray:
    """A copy with bytes [start, end) turned into spaces (newlines kept, so positions hold)."""
    out = bytearray(data)
    for i in range(start, end):
        if out[i] not in (10, 13):
            out[i] = 32
    return out
