"""Source text handling shared by the slicers: decoding, positions, annotation-free windows."""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from ..text import line_of, line_starts, position
from .data import MAX_TEXT, clip

WINDOW_LINES = 30


class SourceError(ValueError):
    """The input cannot be sliced at all (not UTF-8, binary)."""


def node_text(node: Node | None) -> str:
    """A node's source text (undecodable bytes replaced; none: "")."""
    return (node.text or b"").decode("utf-8", "replace") if node is not None else ""


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


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Bytes [start, end) of a text replaced by `new`: an editor's change, in bytes."""

    start: int
    end: int
    new: bytes


def apply_edits(data: bytes, edits: Sequence[TextEdit]) -> bytes:
    """The text after the edits, each in the coordinates of the text the ones before it left."""
    for e in edits:
        data = data[: e.start] + e.new + data[e.end :]
    return data


def diff_edit(old: bytes, new: bytes) -> TextEdit:
    """One edit that turns `old` into `new`: the bytes between their common prefix and suffix
    (for a client that sends whole texts instead of its changes)."""
    n = min(len(old), len(new))
    lo, hi = 0, n  # the common prefix is at least lo and at most hi bytes long
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if old[lo:mid] == new[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    lo2, hi2 = 0, n - lo  # the common suffix, not overlapping the prefix
    while lo2 < hi2:
        mid = (lo2 + hi2 + 1) // 2
        if old[len(old) - mid : len(old) - lo2] == new[len(new) - mid : len(new) - lo2]:
            lo2 = mid
        else:
            hi2 = mid - 1
    return TextEdit(lo, len(old) - lo2, new[lo : len(new) - lo2])


def _point(data: bytes, offset: int) -> tuple[int, int]:
    """tree-sitter's point of a byte offset: (row, byte column)."""
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


def edited(tree: Tree, data: bytes, edits: Sequence[TextEdit]) -> Tree:
    """A copy of `tree` (the tree of `data`) told of the edits (`Tree.edit`), to be parsed again
    with the new text: tree-sitter then reuses the subtrees the edits did not touch."""
    tree = tree.copy()
    if len(edits) > 4 and all(_in_place(data, e) for e in edits):  # the bridging's rewrites
        starts = line_starts(data)  # the lines do not move: one table for all of them
        for e in edits:
            start, end = _line_point(starts, e.start), _line_point(starts, e.end)
            tree.edit(e.start, e.end, e.end, start, end, end)
        return tree
    for e in edits:
        start, old_end = _point(data, e.start), _point(data, e.end)
        data = data[: e.start] + e.new + data[e.end :]
        new_end = e.start + len(e.new)
        tree.edit(e.start, e.end, new_end, start, old_end, _point(data, new_end))
    return tree


def _in_place(data: bytes, e: TextEdit) -> bool:
    """Whether the edit keeps the length and the line breaks of what it replaces."""
    return len(e.new) == e.end - e.start and all(
        (a == 10) == (b == 10) for a, b in zip(data[e.start : e.end], e.new, strict=True)
    )


def _line_point(starts: list[int], offset: int) -> tuple[int, int]:
    row = line_of(starts, offset)
    return row, offset - starts[row]


def reparse(p: Parser, data: bytes, old: Tree | None) -> Tree:
    """`data` parsed with the edited tree of its previous text, kept only when it has no syntax
    error; otherwise (or without `old`) parsed from scratch.  Where there are errors, tree-sitter's
    incremental parse can recover from them otherwise than a parse from scratch (measured on a
    file the grammar misreads: 2 trees of 150 differed), and the slices must not depend on the
    history of the text; without errors the trees were the same in every case measured
    (tests/test_incremental.py)."""
    if old is not None:
        tree = p.parse(data, old)
        if not tree.root_node.has_error:
            return tree
    return p.parse(data)


@dataclass(frozen=True, slots=True)
class Bridging:
    """How a text's grammar gaps were bridged (see `bridge_grammar_gaps`), kept so that an edit
    elsewhere can carry it over to the next version (`_carried`)."""

    text: bytes  # the bridged text: the raw text with the rewrites (of the same length)
    spans: tuple[tuple[int, int], ...]  # where the two differ, in order
    regions: tuple[tuple[int, int], ...]  # where the rewrites were looked for: the raw errors' lines


@dataclass(frozen=True, slots=True)
class _Parsed:
    # the grammar's tree of the text (what an edit's parse starts from); None when the text's
    # bridging was carried over from the version before and the raw text was not parsed
    raw: Tree | None
    tree: Tree  # the tree the slicers read: `raw`, or the tree with the grammar's gaps bridged
    bridging: Bridging | None = None  # set when the bridging can be carried over to an edit
    # `raw` has no error and no construct the grammar reads as something else (`silent_rewrites`):
    # an edit whose new tree has neither where it changed needs no bridging either
    plain: bool = False


_TREES: OrderedDict[tuple[str, bytes], _Parsed] = OrderedDict()
_TREES_LOCK = threading.Lock()
KEPT_TREES = 6


def parse(
    data: bytes,
    language: str,
    previous: bytes | None = None,
    edits: Sequence[TextEdit] | None = None,
    keep: bool = True,
) -> Tree:
    """The syntax tree of `data`, shared: the slicer, the project index and the edit planners
    all read the same document version, so it is parsed once (the last few texts are kept).

    An editor's new version is parsed incrementally: `previous` is the text it was edited from
    (its tree still kept) and `edits` what changed (the editor's changes in bytes; None: found by
    comparing the texts).  tree-sitter's `Tree.edit` and a parse with the old tree give the tree
    a parse from scratch gives, reusing what the edits did not touch; edits that do not turn
    `previous` into `data` are not trusted (a parse from scratch).  `keep=False`: a text read
    once (the project index's scan of the files on disk) is not kept."""
    key = (language, data)
    with _TREES_LOCK:
        got = _TREES.get(key)
        if got is not None:
            _TREES.move_to_end(key)
            return got.tree
        base = _TREES.get((language, previous)) if previous is not None else None
        got = None
        old = None
        if base is not None and previous is not None:
            if edits is None or apply_edits(previous, edits) != data:
                edits = [diff_edit(previous, data)]  # (edits that do not lead to `data` are not trusted)
            if base.bridging is not None:
                one = edits if len(edits) == 1 else [diff_edit(previous, data)]
                got = _carried(base.bridging, base.tree, data, language, one)
            # (a text whose tree has errors is parsed from scratch: an incremental parse of it
            # would hardly ever be kept, see `reparse`; the same for the bridging of a text it
            # did not fix)
            elif base.raw is not None and not base.raw.root_node.has_error:
                old = edited(base.raw, previous, edits)
        if got is None:
            raw = reparse(parser(language), data, old)
            if not raw.root_node.has_error and not silent_rewrites(
                data,
                language,
                raw.root_node,
                _changed(raw, old, edits) if base is not None and base.plain else None,
            ):
                got = _Parsed(raw, raw, plain=True)  # (what `bridge_grammar_gaps` would find: nothing)
            else:
                bridged = bridge_grammar_gaps(
                    data, language, raw, base is None or not base.tree.root_node.has_error
                )
                got = _Parsed(raw, raw) if bridged is None else _Parsed(raw, bridged[0], bridged[1])
        if keep:
            _TREES[key] = got
            if len(_TREES) > KEPT_TREES:
                _TREES.popitem(last=False)
        return got.tree


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
        self.line_starts = line_starts(self.data)

    def text(self, node: Node | None) -> str:
        if node is None:
            return ""
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def line_of(self, offset: int) -> int:
        """0-based line index of a byte offset."""
        return line_of(self.line_starts, offset)

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 0-based code-point column) of a byte offset."""
        ln, col = position(self.data, self.line_starts, offset)
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
            raw = (
                self.strip_annotations(start, head)
                if strip
                else self.data[start:head].decode("utf-8", "replace")
            )
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


# ---------------------------------------------------------------------------- grammar gaps
# Syntax that CPython 3.12/3.13 and TypeScript 5.x/7 accept but that the grammars typeinf pins
# (the newest wheels on PyPI: tree-sitter-python 0.25.0, tree-sitter-typescript 0.23.2) do not
# parse.  Such a file is parsed a second time with each construct rewritten, at the same byte
# positions, into one the grammar knows and that says the same to the slicers and the writers:
# a keyword or a type-level part that carries no evidence becomes spaces.  The tree then has no
# ERROR node there (so annotate can write the file, never into the rewritten bytes: they hold no
# site), while the slicers keep reading the original bytes (`Source.data`).
#
#   TypeScript  variance annotations  `<in T>`, `<out T>`, `<in out T>`     -> `<   T>` ...
#               `export type * (as ns) from`, `import defer * as ns from`  -> keyword blanked
#               `static accessor x` (accessor after another modifier)       -> `static          x`
#               type arguments of a tagged template  tag<{ id: number }[]>`...` -> tag        `...`
#               a function type's parameter named like a type  (any) => void   -> (___) => void
#               a call signature on the line after a member with no `;`:
#                 `x: number\n  <T>(v: T): T`  ->  `x: number\n ;<T>(v: T): T` (an indent becomes `;`)
#                 `f: () => A\n  (v: B): B`  ->  `f: () => A\n ;(v: B): B`
#               `for (using x of xs)`, `for await (await using x of xs)`   -> `const` (same length)
#   Python      PEP 696 type parameter defaults  def f[T = int]()              -> def f[T      ]()
#
# A rewrite of these is only tried on the lines of an ERROR/MISSING node, and kept only if the
# new tree has fewer errors.  Two constructs parse without an error but as something else, so
# they are rewritten wherever the grammar produced them (kept if errors do not go up):
#   TypeScript  `using x = f()`, `await using x = f()`: an assignment to x  -> `const x = f()`
#   Python      a format spec that starts with `=`: f"{x:=^10}", f"{v:=10}" -> f"{x: ^10}"
#               (read as a walrus, which CPython never does: an unparenthesised `:=` cannot
#               stand at the top of an interpolation; f"{v:=06.2f}" was an error)
# Anything else stays an error and is reported as before.

_PY_SPEC_WALRUS = "(interpolation expression: (named_expression) @walrus)"
_TS_TEMPLATES = "(template_string) @template"
_TS_USING = '(assignment_expression "using" @using)'
_TS_KEYWORDS = re.compile(
    rb"\bexport\s+(type)\s*\*|\bimport\s+(defer)\s*\*"
    rb"|\b(?:static|override|readonly|declare|public|private|protected|abstract)\s+(accessor)\s+(?=[#\w$\[\"'])"
)
_FOR_USING = re.compile(rb"\bfor\s*(?:await\s*)?\(\s*(?:(await)[ \t]+)?(using)[ \t]+(?=[A-Za-z_$])")
# a function type's parameter named like a predefined type: `(any) => void`, `(string, n) => 0`
_KEYWORD_PARAMETER = re.compile(
    rb"\(\s*(any|unknown|string|number|boolean|bigint|symbol|object|never|void|undefined)"
    rb"(?=\s*[,)])"
)

# a line that starts (after its indentation) with a call signature: `<T>(...` when its type
# parameters (on that line or on several, with object types in them: effect's
# `<\n    A,\n    Cases extends { ... }\n  >(`) are followed by `(`, or `(...):` without them
_CALL_SIGNATURE_LINE = re.compile(rb"\n([ \t]+)[<(]")
# `in`/`out` before a type parameter's name and what may follow it (`,` `>` `=` `extends`): not
# `f(a, out as any)`, a value named `out` in an error's lines
_VARIANCE = re.compile(
    rb"(?<![\w$.])(in|out)(?=\s+(?:out\s+)?(?!extends\b)[A-Za-z_$][\w$]*\s*(?:[,>=]|extends\b))"
)


@cache
def query(language: str, source: str) -> Query:
    """A tree-sitter query compiled once for the language (compiled queries are immutable)."""
    return Query(parser(language).language, source)  # type: ignore[arg-type]


def error_nodes(root: Node, limit: int = 1000) -> list[Node]:
    """The ERROR and MISSING nodes of a tree (the first `limit`), in document order."""
    out: list[Node] = []
    if not root.has_error:
        return out
    stack = [root]
    while stack and len(out) < limit:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            out.append(node)
        elif node.has_error:
            stack.extend(reversed(node.children))
    return out


def bridge_grammar_gaps(
    data: bytes, language: str, tree: Tree, incremental: bool = True
) -> tuple[Tree, Bridging | None] | None:
    """A tree of `data` with the constructs the grammar lacks rewritten (positions kept), or
    None when there is nothing to rewrite or rewriting does not remove errors.  Each rewritten
    text is parsed from the tree before the rewrite (`incremental`; kept only without errors,
    see `reparse`), or from scratch.  With the tree, what was rewritten where, when an edit of
    the text can carry it over (`_carried`: a TypeScript text bridged in one round of errors,
    nothing read as something else rewritten, no error left), else None."""
    p = parser(language)
    raw = data
    errors = error_nodes(tree.root_node)
    bridged = None
    silent_done = False
    regions: list[tuple[int, int]] = []
    applied: list[Rewrite] = []  # the error rounds' rewrites, kept
    rounds = 0  # the error rounds kept
    silent = False  # whether the rewrites of constructs read as something else were kept
    for _ in range(6):
        if errors:  # constructs that make errors, on the error lines; kept if errors go down
            if language == "python":
                rewrites = _python_gaps(data, errors)
            else:
                regions = _regions(data, errors)
                rewrites = _typescript_gaps(data, language, tree, regions)
            if rewrites:
                buf = _blanked(data, rewrites)
                new = reparse(
                    p, buf, edited(tree, data, _rewritten(data, buf, rewrites)) if incremental else None
                )
                new_errors = error_nodes(new.root_node)
                if len(new_errors) < len(errors):
                    data, tree, errors, bridged = buf, new, new_errors, new
                    rounds += 1
                    applied.extend(rewrites)
                    continue  # a bridged error can uncover the next one (`<out A, out B>`)
        if silent_done:
            break
        silent_done = True  # constructs the grammar parses, but as something else (once)
        rewrites = silent_rewrites(data, language, tree.root_node)
        if not rewrites:
            break
        buf = _blanked(data, rewrites)
        new = reparse(p, buf, edited(tree, data, _rewritten(data, buf, rewrites)) if incremental else None)
        new_errors = error_nodes(new.root_node)
        if len(new_errors) > len(errors):
            break
        data, tree, errors, bridged = buf, new, new_errors, new
        silent = True
    if bridged is None:
        return None
    if language == "python" or rounds != 1 or silent or errors:
        return bridged, None
    spans = tuple((e.start, e.end) for e in _rewritten(raw, data, applied))
    return bridged, Bridging(data, spans, tuple(regions))


# How far a rewrite's decision reads around it (`_closing` looks 2,000 bytes ahead, a tagged
# template's type arguments 4,000 back): the rewrites this near an edit are looked for again
_REACH = 4_200


def _carried(
    b: Bridging, tree: Tree, data: bytes, language: str, edits: Sequence[TextEdit]
) -> _Parsed | None:
    """The bridged tree of `data`, an edit of the text that `b` bridged (`tree` is its tree),
    without parsing the raw `data` (a parse from scratch with the grammar's error recovery, then
    bridging: 200-300 ms on effect's 7,100-line internal/effect.ts): the edit applied to the bridged
    text, parsed from `tree`, which has no error.  Only where the edit cannot change the bridging:
    one edit, inside one region or outside them all, more than a line away from every rewrite,
    with no `using` in reach, the rewrites in reach of it those that bridging `data` finds there,
    and no error in the new tree; otherwise None (the text is parsed and bridged from scratch).
    That the raw errors of the edited text lie where those of the text before did, moved by the
    edit, is the assumption; tests/test_incremental.py checks the trees against a parse from
    scratch on random edits of bridged files."""
    if len(edits) != 1:
        return None
    e = edits[0]
    old = b.text
    lo, hi = _around(old, e.start, e.end)
    at = bisect.bisect_left(b.spans, (hi,))
    if at and b.spans[at - 1][1] > lo:
        return None  # (spans are disjoint and in order: the last one starting before `hi`)
    delta = len(e.new) - (e.end - e.start)
    regions = []
    for a, z in b.regions:
        if z < e.start:
            regions.append((a, z))
        elif a > e.end:
            regions.append((a + delta, z + delta))
        elif a < e.start and e.end < z:
            regions.append((a, z + delta))
        else:
            return None  # across a region's edge
    text = old[: e.start] + e.new + old[e.end :]
    near_lo = max(0, e.start - _REACH)
    near_hi = min(len(text), e.start + len(e.new) + _REACH)
    if b"using" in old[max(0, e.start - _REACH) : e.end + _REACH] or b"using" in text[near_lo:near_hi]:
        return None
    new = parser(language).parse(text, edited(tree, old, [e]))
    if new.root_node.has_error:
        return None
    # the rewrites in reach of the edit, looked for again (regions cut a line further out)
    near_lo = text.rfind(b"\n", 0, near_lo) + 1
    end = text.find(b"\n", near_hi)
    near_hi = len(text) if end < 0 else end
    out_lo, out_hi = _around(text, near_lo, near_hi)
    cut = [(max(a, out_lo), min(z, out_hi)) for a, z in regions if a < out_hi and z > out_lo]
    if _blanked(data, _typescript_gaps(data, language, new, cut))[near_lo:near_hi] != text[near_lo:near_hi]:
        return None
    spans = tuple((a, z) if z <= e.start else (a + delta, z + delta) for a, z in b.spans)
    return _Parsed(None, new, Bridging(text, spans, tuple(regions)))


# bytes [start, end) become `fill`: one byte repeated (line breaks are kept), or as many bytes
Rewrite = tuple[int, int, bytes]
SPACE, UNDERSCORE, SEMICOLON = b" ", b"_", b";"


def _blanked(data: bytes, rewrites: list[Rewrite]) -> bytes:
    out = bytearray(data)
    for start, end, fill in rewrites:
        if len(fill) == end - start and len(fill) > 1:
            out[start:end] = fill
            continue
        for i in range(start, end):
            if out[i] not in (10, 13):
                out[i] = fill[0]
    return bytes(out)


def _rewritten(old: bytes, new: bytes, rewrites: list[Rewrite]) -> list[TextEdit]:
    """The rewrites as edits (same lengths: the positions hold), merged where they overlap: the
    bridged text is parsed again from the tree of the text before (only the rewritten bytes
    changed)."""
    spans: list[list[int]] = []
    for start, end, _fill in sorted(rewrites):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [TextEdit(a, b, new[a:b]) for a, b in spans if old[a:b] != new[a:b]]


def silent_rewrites(
    data: bytes, language: str, root: Node, ranges: Sequence[tuple[int, int]] | None = None
) -> list[Rewrite]:
    """The rewrites of the constructs the grammar parses without an error but as something else
    (`using` declarations, format specs opening with `=`), looked for in the byte `ranges` only
    when given (an edit's changed ranges: the rest of the tree is the text's before, which had none)."""
    if language == "python":
        return _format_specs(data, root, ranges) if b":=" in data else []
    return _using_declarations(data, language, root, ranges) if b"using" in data else []


def _captures(
    source: str, language: str, root: Node, name: str, ranges: Sequence[tuple[int, int]] | None
) -> list[Node]:
    """A query's captures of `name` in the tree, or in the byte ranges only (each node once)."""
    if ranges is None:
        return QueryCursor(query(language, source)).captures(root).get(name, [])
    out: dict[int, Node] = {}
    for start, end in ranges:
        cursor = QueryCursor(query(language, source))
        cursor.set_byte_range(start, end)
        for n in cursor.captures(root).get(name, []):
            out.setdefault(n.id, n)
    return sorted(out.values(), key=lambda n: n.start_byte)


def _changed(new: Tree, old: Tree | None, edits: Sequence[TextEdit] | None) -> list[tuple[int, int]] | None:
    """Where an incremental parse's tree may differ from the edited tree it started from:
    tree-sitter's changed ranges and the edits' new text (each edit is in the coordinates the ones
    before it left: moved by the later ones), widened by `_LINE_REACH` each way; None (everywhere)
    without an incremental parse."""
    if old is None or edits is None:
        return None
    spans: list[tuple[int, int]] = []
    for e in edits:
        delta = len(e.new) - (e.end - e.start)
        spans = [(a if a < e.start else a + delta, b if b < e.start else b + delta) for a, b in spans]
        spans.append((e.start, e.start + len(e.new)))
    spans += [(r.start_byte, r.end_byte) for r in new.changed_ranges(old)]
    return [(max(0, a - _LINE_REACH), b + _LINE_REACH) for a, b in spans]


_LINE_REACH = 512  # bytes around a changed range in which a capture's node may start


def _format_specs(data: bytes, root: Node, ranges: Sequence[tuple[int, int]] | None = None) -> list[Rewrite]:
    """The `=` opening a format spec that the grammar read as a walrus: f"{x:=^10}"."""
    out = []
    for w in _captures(_PY_SPEC_WALRUS, "python", root, "walrus", ranges):
        name = w.child_by_field_name("name")
        if name is None:
            continue
        at = data.find(b":=", name.end_byte, w.end_byte)
        if at >= 0 and not data[name.end_byte : at].strip():
            out.append((at + 1, at + 2, SPACE))
    return out


def _using_declarations(
    data: bytes, language: str, root: Node, ranges: Sequence[tuple[int, int]] | None = None
) -> list[Rewrite]:
    """`using x = ...` / `await using x = ...`, which the grammar reads as an assignment."""
    out: list[Rewrite] = []
    for u in _captures(_TS_USING, language, root, "using", ranges):
        name = u.next_sibling  # a sibling of a token: the assignment is small
        if name is None or b"\n" in data[u.end_byte : name.start_byte]:
            continue  # `using` NEWLINE `x = 1` is two statements
        out.append((u.start_byte, u.end_byte, b"const"))
        holder = u.parent
        outer = holder.parent if holder is not None else None
        if outer is not None and outer.type == "await_expression" and outer.children[0].type == "await":
            out.append((outer.children[0].start_byte, outer.children[0].end_byte, SPACE))
    return out


def _python_gaps(data: bytes, errors: list[Node]) -> list[Rewrite]:
    """PEP 696 defaults in the type parameter lists that hold an error."""
    out: list[Rewrite] = []
    seen: set[int] = set()
    for e in errors:
        tp = e.parent
        if tp is None or tp.type != "type_parameter" or tp.id in seen:
            continue
        seen.add(tp.id)
        out.extend(_defaults(data, tp.start_byte, tp.end_byte))
    return out


def _defaults(data: bytes, start: int, end: int) -> list[Rewrite]:
    """The `= default` parts at the top level of the bracketed list data[start:end], blanked."""
    out: list[Rewrite] = []
    depth = 0
    quote = 0
    default_at = -1
    i = start
    while i < end:
        c = data[i]
        if quote:
            if c == 92:  # backslash
                i += 1
            elif c == quote:
                quote = 0
        elif c in (34, 39):  # " '
            quote = c
        elif c in (40, 91, 123):  # ( [ {
            depth += 1
        elif c in (41, 93, 125):  # ) ] }
            depth -= 1
            if depth == 0 and default_at >= 0:
                _add_default(data, default_at, i, out)
                default_at = -1
        elif c == 44 and depth == 1 and default_at >= 0:  # ,
            _add_default(data, default_at, i, out)
            default_at = -1
        elif c == 61 and depth == 1 and default_at < 0:  # =
            default_at = i
        i += 1
    return out


def _add_default(data: bytes, at: int, end: int, out: list[Rewrite]) -> None:
    if data[at + 1 : end].strip():  # `T = ` without a default stays an error
        out.append((at, end, SPACE))


def _around(data: bytes, start: int, end: int) -> tuple[int, int]:
    """From the start of the line before `start`'s to the end of the line after `end`'s."""
    lo = data.rfind(b"\n", 0, max(0, data.rfind(b"\n", 0, start))) + 1
    hi = data.find(b"\n", end)
    if hi >= 0:
        hi = data.find(b"\n", hi + 1)
    return lo, len(data) if hi < 0 else hi


def _regions(data: bytes, errors: list[Node]) -> list[tuple[int, int]]:
    """The lines of the error nodes, with one line of context either side (merged)."""
    out: list[tuple[int, int]] = []
    for e in errors:  # in document order
        start, end = _around(data, e.start_byte, e.end_byte)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _typescript_gaps(data: bytes, language: str, tree: Tree, regions: list[tuple[int, int]]) -> list[Rewrite]:
    """The rewrites of the grammar's TypeScript gaps found in the regions (the errors' lines)."""
    out: list[Rewrite] = []
    for start, end in regions:
        for m in _VARIANCE.finditer(data, start, end):  # `<in T`, `, out U`, `<in out V`
            at = _code_before(data, m.start(), max(0, m.start() - 2000))
            prev = data[at - 1 : at]
            if (
                prev == b","
                or (prev == b"<" and at > 1 and (chr(data[at - 2]).isalnum() or data[at - 2] in b"_$"))
                or (m.group(1) == b"out" and data[at - 2 : at] == b"in")
            ):
                out.append((*m.span(1), SPACE))
        for m in _TS_KEYWORDS.finditer(data, start, end):
            group = next(g for g in (1, 2, 3) if m.group(g) is not None)
            out.append((*m.span(group), SPACE))
        cursor = QueryCursor(query(language, _TS_TEMPLATES))
        cursor.set_byte_range(start, end)
        for t in cursor.captures(tree.root_node).get("template", []):
            span = _template_type_arguments(data, t.start_byte)
            if span is not None:
                out.append((*span, SPACE))
        for m in _FOR_USING.finditer(data, start, end):  # for (await using x of xs)
            if m.group(1) is not None:
                out.append((*m.span(1), SPACE))
            out.append((*m.span(2), b"const"))
        for m in _KEYWORD_PARAMETER.finditer(data, start, end):  # (any) => void
            if _arrow_follows(data, m.start()):
                out.append((*m.span(1), UNDERSCORE))
        for m in _CALL_SIGNATURE_LINE.finditer(data, start, end):  # a member, then `<T>(x: T): T`
            close = _closing(data, m.end() - 1)
            after = data[close + 1 : close + 64].lstrip() if close is not None else b""
            if not after.startswith(b"(" if data[m.end() - 1] == 60 else b":"):  # <T>(  or  (x):
                continue
            at = _code_before(data, m.start(1), max(0, m.start(1) - 20_000))  # (long doc comments)
            prev = data[at - 1 : at]
            if prev and (chr(prev[0]).isalnum() or prev in b"_$)]}>'\"") and data[at - 2 : at] != b"=>":
                out.append((m.end(1) - 1, m.end(1), SEMICOLON))
    return out


def _closing(data: bytes, at: int, limit: int = 2000) -> int | None:
    """The offset of the bracket that closes the one at `at` (`(`, `[`, `{` or `<`, nested in any
    order; the `>` of `=>` closes nothing), within `limit` bytes; None if none does."""
    depth = 0
    for i in range(at, min(len(data), at + limit)):
        c = data[i]
        if c in (40, 91, 123, 60):  # ( [ { <
            depth += 1
        elif c in (41, 93, 125) or (c == 62 and data[i - 1] != 61):  # ) ] } > (not =>)
            depth -= 1
            if depth == 0:
                return i
    return None


def _arrow_follows(data: bytes, paren: int) -> bool:
    """Whether the parenthesised list opened at `paren` is followed by `=>` (a function type)."""
    close = _closing(data, paren)
    return close is not None and data[close + 1 : close + 64].lstrip().startswith(b"=>")


def _code_before(data: bytes, pos: int, lo: int) -> int:
    """The end of the code before `pos` (blanks and comments skipped), not below `lo`."""
    i = pos
    while i > lo:
        if data[i - 1] in (32, 9, 10, 13):
            i -= 1
        elif data[i - 2 : i] == b"*/" and (j := data.rfind(b"/*", lo, i - 2)) >= 0:
            i = j
        elif (k := data.find(b"//", max(lo, data.rfind(b"\n", 0, i) + 1), i)) >= 0:
            i = k
        else:
            break
    return i


def _template_type_arguments(data: bytes, tick: int) -> tuple[int, int] | None:
    """The span of `<...>` in tag<...>`...` (type arguments of a tagged template), if any."""
    close = tick - 1
    while close >= 0 and data[close] in (32, 9, 10, 13):
        close -= 1
    if close < 1 or data[close] != 62:  # >
        return None
    depth = 0
    i = close
    while i >= 0 and close - i < 4000:
        c = data[i]
        if c == 62 and data[i - 1] != 61:  # > but not =>
            depth += 1
        elif c == 60:  # <
            depth -= 1
            if depth == 0:
                if (
                    i > 0
                    and (chr(data[i - 1]).isalnum() or data[i - 1] in b"_$)]")
                    and data[i + 1 : close].strip()
                ):
                    return i, close + 1
                return None
        elif c in (59, 96):  # ; or a backtick: not type arguments
            return None
        i -= 1
    return None


def has_break(body: Node | None, own_breaks: frozenset[str]) -> bool:
    """Whether a loop's body holds a `break` of that loop: one not inside a node of the types in
    `own_breaks` (nested loops and switches, functions and classes, which take their own)."""
    if body is None:
        return False
    stack = list(body.named_children)
    while stack:
        n = stack.pop()
        if n.type == "break_statement":
            return True
        if n.type not in own_breaks:
            stack.extend(n.named_children)
    return False
