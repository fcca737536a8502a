"""Slicing an edited TypeScript document again: the sites the edit can change are assembled again,
the others' slices are kept (moved).

    sliced = slice_typescript(data, language, path)                  # the whole text
    sliced = slice_typescript(new, language, path, previous=sliced)  # after an edit

What slicing the whole text gives, with less work: the text is walked and its names resolved
again (a tenth of the slicing of an 8,000-line file), but a slice is assembled (its evidence
classified, its window and signature cut out: the rest) only for the sites whose evidence can have
changed.  The edit must lie inside one *unit* before and after: a statement of the module, or a
method or field of a module-level class; the unit has the same kind, start and end (moved by the edit's
length) in both texts, so every byte outside it is as it was.  Both texts parse without a syntax
error (no recovery) and have the same names in scope.  A site outside the unit keeps its slice
(moved, its line and column those of its new place) when all of these hold:

- it was a site of the same kind at the same (moved) place;
- what it reads outside its own statement is what it read, at the same (moved) places, and none
  of it is inside the unit: the uses of its name (`this.x` for a member), the later assignments
  to it, for a return the calls of its function whose results are used.  Each such place is
  classified by the statement around it (never the unit, which is a statement of its own or a
  method or field), so the same places outside the unit tell the same;
- it is not near the unit inside a node around the unit (the module, the unit's class): its
  window (the lines around it) does not reach the unit's lines, and its neighbours (a class
  field's: the other fields' annotations, a constructor's parameter properties among them) are as
  they were.

Everything else (what a site reads inside its own statement: its definition, default, function)
is outside the unit when the site is.  tests/test_incremental.py compares the result with slicing
from scratch after random edits of real files, inside functions and anywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .assemble import Assembler, site_order
from .source import WINDOW_LINES, Source, diff_edit, parse

if TYPE_CHECKING:
    from tree_sitter import Node

    from .data import ScopeName, Slice
    from .scopes import Site
    from .typescript import _EvidenceBuilder

log = logging.getLogger("typeinf.slices")
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
# a class's members that are units of their own: its methods, and its fields (`load = async () =>
# {...}`: classes written with arrow-function fields, as router-core's, have few methods)
_MEMBERS = frozenset({"method_definition", "public_field_definition"})

Reads = tuple[int, ...]


def reads(front: _EvidenceBuilder, site: Site) -> Reads:
    """The places outside its own statement a site's slice reads: the uses of its name, the later
    assignments to it and (a return) the calls of its function whose results are used."""
    out = [n.start_byte for n in front.references(site)]
    out += [n.start_byte for n in site.later]
    if site.kind == "return":
        out.append(-1)
        out += [c.start_byte for c in front.result_uses(site)]
    return tuple(out)


def unit(root: Node, start: int, end: int) -> Node | None:
    """The statement of the module, or the method or field of a module-level class, holding [start, end)."""
    for c in root.children:
        if c.start_byte <= start and end <= c.end_byte:
            d = c.child_by_field_name("declaration") if c.type == "export_statement" else c
            body = d.child_by_field_name("body") if d is not None and d.type in _CLASSES else None
            for m in body.children if body is not None else ():
                if m.type in _MEMBERS and m.start_byte <= start and end <= m.end_byte:
                    return m
            return c
    return None


def edited_unit(old: bytes, old_root: Node, data: bytes, root: Node) -> tuple[Node, Node] | None:
    """(before, after) the unit (`unit`) holding the one changed span of `old` -> `data`, when it is
    the same unit (same kind, same start, same end but the edit's length) and no other statement
    shares a line with it (what is scanned by lines, typeinf.inference.calls.rescan_calls, holds);
    None otherwise (no syntax error in either tree assumed)."""
    e = diff_edit(old, data)
    a, b = unit(old_root, e.start, e.end), unit(root, e.start, e.start + len(e.new))
    if (
        a is None
        or b is None
        or (a.type, a.start_byte, a.end_byte + len(data) - len(old))
        != (
            b.type,
            b.start_byte,
            b.end_byte,
        )
    ):
        return None
    for n in (a, b):
        before, after = n.prev_sibling, n.next_sibling
        if after is not None and after.type == ";" and after.start_byte == n.end_byte:
            after = after.next_sibling  # a field's `;` (its own node in a class body) ends it
        if before is not None and before.end_point[0] >= n.start_point[0]:
            return None
        if after is not None and after.start_point[0] <= n.end_point[0]:
            return None
    return a, b


def _around(site: Site, u: Node) -> bool:
    """Whether the site's container (None: the module) holds the unit."""
    c = site.container
    return c is None or (c.start_byte <= u.start_byte and u.end_byte <= c.end_byte)


def whole(
    data: bytes, language: str, path: str
) -> tuple[list[Slice], list[ScopeName], tuple[Reads, ...]] | None:
    """The slices of a text without a syntax error, its names in scope and each slice's reads;
    None when it has an error (recovery: `extract_with_diagnostics`)."""
    from .typescript import analyse_typescript

    if parse(data, language).root_node.has_error:
        return None
    an = analyse_typescript(data, language, path)
    sites = sorted(an.sites(), key=site_order)
    front = an.evidence
    asm = Assembler(front, an.source, path, language, an.file_scope)
    got = [asm.slice(s) for s in sites], an.file_scope, tuple(reads(front, s) for s in sites)
    an.release()
    return got


def edited(
    old: bytes,
    slices: list[Slice],
    file_scope: list[ScopeName],
    old_reads: tuple[Reads, ...],
    data: bytes,
    language: str,
    path: str,
) -> tuple[list[Slice], tuple[Reads, ...]] | None:
    """The slices of `data` (and their reads) from those of `old` (see above); None when a
    condition on the edit fails (the whole text is sliced)."""
    from .typescript import analyse_typescript

    tree = parse(data, language)
    if tree.root_node.has_error:
        return _whole("a syntax error")
    units = edited_unit(old, parse(old, language).root_node, data, tree.root_node)
    if units is None:
        return _whole("not inside one statement of the module or member of a class, or its extent changed")
    u = units[1]
    an = analyse_typescript(data, language, path)
    sites = sorted(an.sites(), key=site_order)
    if an.file_scope != file_scope:
        an.release()
        return _whole("the names in scope changed")
    front, source = an.evidence, an.source
    edit = _Edit(
        u,
        len(data) - len(old),
        {(s.span[0], s.kind): i for i, s in enumerate(slices)},
        slices,
        old_reads,
        Assembler(front, source, path, language, file_scope),  # (the same names: the kept list)
        source,
        source.line_of(u.start_byte),
        source.line_of(max(u.start_byte, u.end_byte - 1)),
    )
    out: list[Slice] = []
    out_reads: list[Reads] = []
    fresh = 0
    # the unit's text before and after the edit: what a site reads in it names it there
    written = old[units[0].start_byte : units[0].end_byte] + b"\0" + data[u.start_byte : u.end_byte]
    for site in sites:
        r = edit.outside_reads(site, written)
        moved = r is not None
        if r is None:
            r = reads(front, site)
        kept = edit.kept(site, r, moved)
        if kept is None:
            kept = edit.asm.slice(site)
            fresh += 1
        out.append(kept)
        out_reads.append(r)
    log.debug("re-assembled %d of %d sites", fresh, len(out))
    an.release()
    return out, tuple(out_reads)


@dataclass(frozen=True, slots=True)
class _Edit:
    """The edit's unit in the new text and what the previous slicing left."""

    u: Node
    delta: int  # the edit's change of length
    before: dict[tuple[int, str], int]  # the previous slices' indexes by (start, kind)
    slices: list[Slice]
    old_reads: tuple[Reads, ...]
    asm: Assembler
    source: Source
    first: int  # the unit's first and last lines (0-based)
    last: int

    def moved(self, at: int) -> int:
        """A place of the new text outside the unit, in the old text."""
        return at if at < self.u.start_byte else at - self.delta

    def outside_reads(self, site: Site, written: bytes) -> Reads | None:
        """A parameter's or variable's reads (`reads`) without looking them up, when none of them
        can be in the unit: it is outside the unit and its name is written nowhere in the unit's
        text, before or after the edit (`written`), so the uses of its name and the assignments to
        it are those of the previous text, moved by the edit; None otherwise."""
        u = self.u
        if site.kind == "return" or u.start_byte <= site.start < u.end_byte:
            return None
        i = self.before.get((self.moved(site.start), site.kind))
        if i is None:
            return None
        name = site.name.rpartition(".")[2].encode()
        if not name or name in written:
            return None
        return tuple(at if at < u.start_byte else at + self.delta for at in self.old_reads[i])

    def kept(self, site: Site, r: Reads, moved_reads: bool = False) -> Slice | None:
        """The site's previous slice, moved to its place, when the edit cannot have changed it.
        `moved_reads`: `r` is the site's previous reads moved (`outside_reads`), none in the unit."""
        u = self.u
        if u.start_byte <= site.start < u.end_byte:
            return None
        i = self.before.get((self.moved(site.start), site.kind))
        if i is None:
            return None
        old = self.slices[i]
        if old.name != site.name or old.span[1] != self.moved(site.end):
            return None
        if not moved_reads and (
            any(u.start_byte <= at < u.end_byte for at in r)
            or tuple(at if at < 0 else self.moved(at) for at in r) != self.old_reads[i]
        ):
            return None
        if _around(site, u):
            line = self.source.line_of(site.start)
            if line + WINDOW_LINES >= self.first and line - WINDOW_LINES <= self.last:
                return None
            if self.asm.neighbours(site) != old.neighbours:
                return None
        if site.start < u.start_byte:
            return old
        # after the unit: moved by the edit's bytes and lines (an edit of the same length can
        # still add or remove line breaks)
        span, (line, column) = (site.start, site.end), self.source.position(site.start)
        if (span, line, column) == (old.span, old.line, old.column):
            return old
        return old.at(span, line, column)


def _whole(why: str) -> tuple[list[Slice], tuple[Reads, ...]] | None:
    """None: the whole text is sliced again (why: in the debug log)."""
    log.debug("sliced whole: %s", why)
    return None
