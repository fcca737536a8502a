"""Source text handling shared by the slicers: decoding, positions, annotation-free windows."""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Language, Node, Parser, Tree

from .model import MAX_TEXT, clip

WINDOW_LINES = 30


class SourceError(ValueError):
    """The input cannot be sliced at all (not UTF-8, binary)."""


def decode(data: bytes) -> str:
    """Decode file bytes as UTF-8 (BOM allowed); binary or other encodings raise SourceError."""
    if b"\x00" in data[:8192]:
        raise SourceError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SourceError(f"not valid UTF-8 (line {line})") from None


@cache
def parser(language: str) -> Parser:
    if language == "python":
        import tree_sitter_python as tsp

        return Parser(Language(tsp.language()))
    import tree_sitter_typescript as tst

    if language == "typescript":
        return Parser(Language(tst.language_typescript()))
    if language == "tsx":
        return Parser(Language(tst.language_tsx()))
    raise ValueError(f"unknown language {language!r} (python, typescript or tsx)")


_TREES: OrderedDict[tuple[str, bytes], Tree] = OrderedDict()
_TREES_LOCK = threading.Lock()


def parse(data: bytes, language: str) -> Tree:
    """The syntax tree of `data`, shared: the slicer, the project index and the edit planners
    all read the same document version, so it is parsed once (trees are never edited here)."""
    key = (language, data)
    with _TREES_LOCK:
        tree = _TREES.get(key)
        if tree is not None:
            _TREES.move_to_end(key)
            return tree
        tree = parser(language).parse(data)
        _TREES[key] = tree
        if len(_TREES) > 4:
            _TREES.popitem(last=False)
        return tree


class Parents:
    """Parent links recorded by a slicer's own walk over the tree.

    tree-sitter's `Node.parent` (and `prev_sibling`) searches down from the root, so it costs
    O(depth): a slicer that climbs from every reference that way is quadratic in the nesting of
    `f(f(f(...)))`.  The slicers record each node's parent when their walk reaches it and climb
    through this table instead; a node the walk never reached falls back to `Node.parent` and
    is counted in `fallbacks` (the tests require none)."""

    __slots__ = ("links", "fallbacks")

    def __init__(self) -> None:
        self.links: dict[int, Node | None] = {}
        self.fallbacks = 0

    def __call__(self, node: Node) -> Node | None:
        try:
            return self.links[node.id]
        except KeyError:
            self.fallbacks += 1
            parent = self.links[node.id] = node.parent
            return parent

    def add(self, parent: Node | None, child: Node | None) -> None:
        if child is not None:
            self.links[child.id] = parent


@dataclass(slots=True)
class Diagnostic:
    line: int
    message: str


@dataclass
class Source:
    """The bytes of one file with line tables and the spans of all its annotations."""

    data: bytes
    line_starts: list[int] = field(init=False)
    # spans (start, end) of annotation text *with* its ':'/'->' indicator and leading blanks
    annotation_spans: list[tuple[int, int]] = field(default_factory=list)
    # window texts by line range: the sites of nested functions on one long line share one
    _windows: dict[tuple[int, int], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.data.find
        i = find(b"\n")
        while i >= 0:
            starts.append(i + 1)
            i = find(b"\n", i + 1)
        self.line_starts = starts

    def text(self, node: Node | None) -> str:
        if node is None:
            return ""
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def line_of(self, offset: int) -> int:
        """0-based line index of a byte offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 0-based code-point column) of a byte offset."""
        ln = self.line_of(offset)
        col = len(self.data[self.line_starts[ln] : offset].decode("utf-8", "replace"))
        return ln + 1, col

    def add_annotation(self, start: int, end: int) -> None:
        """Record an annotation's bytes; `start` should point at the ':' or '->' indicator."""
        while start > 0 and self.data[start - 1 : start] in (b" ", b"\t"):
            start -= 1
        self.annotation_spans.append((start, end))
        if self._windows:
            self._windows.clear()

    def finish(self) -> None:
        self.annotation_spans.sort()

    def strip_annotations(self, start: int, end: int) -> str:
        """Text of bytes [start, end) with every annotation removed."""
        spans = self.annotation_spans
        i = bisect.bisect_left(spans, (start, -1))
        # an annotation that began before `start` may overlap it
        if i > 0 and spans[i - 1][1] > start:
            i -= 1
        out: list[bytes] = []
        pos = start
        while i < len(spans) and spans[i][0] < end:
            s, e = spans[i]
            if s > pos:
                out.append(self.data[pos:s])
            pos = max(pos, min(e, end))
            i += 1
        if pos < end:
            out.append(self.data[pos:end])
        return b"".join(out).decode("utf-8", "replace")

    def expr_text(self, node: Node | None, limit: int = MAX_TEXT) -> str:
        """An expression's text without annotations (arrow functions carry some), clipped.

        Only a prefix of a long expression is rendered (the same result as clipping the whole
        text): rendering all of it made nested expressions, each of which is some site's
        evidence, quadratic in their size."""
        if node is None:
            return ""
        return self.clipped(node.start_byte, node.end_byte, limit, strip=True)

    def clipped(self, start: int, end: int, limit: int, strip: bool = False) -> str:
        """`clip` of the text of bytes [start, end) (annotations removed with `strip`), reading
        only as much of it as the clipped text needs."""
        span = 8 * limit + 64
        while end - start > span:
            head = start + span
            raw = self.strip_annotations(start, head) if strip else self.data[start:head].decode("utf-8", "replace")
            text = " ".join(raw.split())
            if len(text) > limit:  # a prefix of the collapsed whole: cut where clip would cut
                return text[: limit - 1] + "\u2026"
            span *= 4
        raw = self.strip_annotations(start, end) if strip else self.data[start:end].decode("utf-8", "replace")
        return clip(raw, limit)

    def window(self, site_offset: int, scope_node: Node | None) -> str:
        """At most WINDOW_LINES lines around the site, annotations removed.

        The enclosing function (or class) is shown whole when it fits; otherwise the lines
        centred on the site, clipped to the enclosing node."""
        site_line = self.line_of(site_offset)
        if scope_node is not None:
            first = self.line_of(scope_node.start_byte)
            last = self.line_of(max(scope_node.start_byte, scope_node.end_byte - 1))
        else:
            first, last = 0, len(self.line_starts) - 1
        if last - first + 1 > WINDOW_LINES:
            lo = max(first, site_line - WINDOW_LINES // 3)
            hi = min(last, lo + WINDOW_LINES - 1)
            lo = max(first, hi - WINDOW_LINES + 1)
            first, last = lo, hi
        text = self._windows.get((first, last))
        if text is None:
            start = self.line_starts[first]
            end = self.line_starts[last + 1] if last + 1 < len(self.line_starts) else len(self.data)
            text = self._windows[(first, last)] = self.strip_annotations(start, end).rstrip("\n")
        return text


def syntax_diagnostics(source: Source, root: Node, limit: int = 5) -> list[Diagnostic]:
    """Lines with ERROR or MISSING nodes (the first few), for warnings."""
    out: list[Diagnostic] = []
    if not root.has_error:
        return out
    stack = [root]
    while stack and len(out) < limit:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            line = source.line_of(node.start_byte) + 1
            what = f"missing {node.type!r}" if node.is_missing else "syntax error"
            out.append(Diagnostic(line, f"{what}; slices were recovered for the code that parses"))
        elif node.has_error:
            stack.extend(reversed(node.children))
    out.sort(key=lambda d: d.line)
    return out




# ---------------------------------------------------------------------------- recovery
_HEADERS = {
    "python": re.compile(rb"^[ \t]*(?:async[ \t]+def|def|class)[ \t]"),
    "typescript": re.compile(
        rb"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?"
        rb"(?:function\b|class\b|(?:const|let|var)[ \t]+\w+[ \t]*=|"
        rb"(?:(?:public|private|protected|static|readonly|async|get|set)[ \t]+)*[\w$]+[ \t]*\()"
    ),
}


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


def broken_region(data: bytes, offset: int, language: str) -> tuple[int, int]:
    """The lines of the innermost function/class block around a syntax error, as a byte range.

    The block starts at the nearest header line at or above the error and ends before the
    next non-blank line indented no deeper than the header (for braces languages, that line
    is included when it closes the block with `}`)."""
    header = _HEADERS["python" if language == "python" else "typescript"]
    lines = data.split(b"\n")
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)
    err_line = bisect.bisect_right(starts, offset) - 1
    first = err_line
    while first > 0 and not header.match(lines[first]):
        first -= 1
    if not header.match(lines[first]):
        first = err_line
    indent = len(lines[first]) - len(lines[first].lstrip(b" \t"))
    last = max(first, err_line)
    for i in range(max(first, err_line) + 1, len(lines)):
        text = lines[i]
        stripped = text.lstrip(b" \t")
        if not stripped or stripped.startswith((b"#", b"//", b"*", b"/*")):
            continue
        if len(text) - len(stripped) <= indent:
            if language != "python" and stripped.startswith((b"}", b")")):
                last = i
            break
        last = i
    end = starts[last] + len(lines[last])
    return starts[first], end


def blank(data: bytes | bytearray, start: int, end: int) -> bytearray:
    """A copy with bytes [start, end) turned into spaces (newlines kept, so positions hold)."""
    out = bytearray(data)
    for i in range(start, end):
        if out[i] not in (10, 13):
            out[i] = 32
    return out
