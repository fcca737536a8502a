"""Slicing an edited document again: only the function the edit is in (Python).

    sliced = slice_document(data, language, path)                    # the whole text
    sliced = slice_document(new, language, path, previous=sliced)    # after an edit

`sliced.slices` and `sliced.diagnostics` are what `extract_with_diagnostics` gives for the text.

An edit inside one function (its parameters or its body) of a Python file changes the slices of
that function's sites and moves the others.  The function is sliced again alone (its lines, below
the header of its class for a method), its slices moved to where its lines are in the text; the
other slices are kept, moved by the edit's length and lines.  That gives what slicing the whole text
gives when nothing outside the function reads the function's text, which these conditions make
sure of (when one fails, the whole text is sliced):

- both texts parse without a syntax error (no recovery), and the one changed span lies between the
  start of the parameters and the end of a function that is a statement of the module or of a
  module-level class; the function has the same name, start and header before and after;
- the function holds no class, `global` or `nonlocal` statement, and no class member site
  (`self.x = ...`) is in it before or after the edit; a method's first parameter (the receiver of
  its `self.x`) is as it was;
- no site outside it reads it otherwise than before: every statement of the function that holds
  the name of a module-level variable or function or of a member (`self.x`) is as it was (the
  uses of those names there, the calls of those functions, are the same), no module- or
  class-level variable is within 30 lines of it (their windows are the lines around them), and
  the function's name is not where its binding can be referenced (its callers are evidence for
  its return);
- its own slices are those of it alone but the names in scope: the file's, which an edit
  inside a function leaves as they were (imports, classes and aliases there are not the file's).

A TypeScript document is walked whole again, but only the slices an edit can change are assembled
again (typeinf.slices.incremental_typescript: its functions are mostly the values of module-level
constants, whose uses are all over the file).  tests/test_incremental.py compares the result with
slicing from scratch after random edits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from tree_sitter import Node

from . import incremental_typescript as ts
from .assemble import assemble, site_order
from .data import ScopeName, Slice
from .python import analyse_python
from .scopes import Site
from .source import WINDOW_LINES, Diagnostic, decode, diff_edit, parse

log = logging.getLogger("typeinf.slices")
_BOM = b"\xef\xbb\xbf"
_NOT_LOCAL = frozenset({"class_definition", "global_statement", "nonlocal_statement"})


@dataclass(frozen=True)
class Sliced:
    """One text's slices (and diagnostics), with what re-slicing it after an edit needs."""

    data: bytes
    language: str
    path: str
    slices: list[Slice]
    diagnostics: list[Diagnostic]
    # the file's names in scope when it was sliced whole without a syntax error (else None: the
    # next edit slices the whole text), and for each slice where its name can be used
    file_scope: list[ScopeName] | None = None
    visible: tuple[str, ...] = ()  # `_visible` of each slice (Python)
    reads: tuple[ts.Reads, ...] = ()  # `incremental_typescript.reads` of each slice (TypeScript)


def slice_document(data: bytes, language: str, path: str, previous: Sliced | None = None) -> Sliced:
    """The slices of `data`; `previous`: the slicing of the text it was edited from (see above)."""
    if data.startswith(_BOM):
        from . import extract_with_diagnostics

        slices, diags = extract_with_diagnostics(data, language, path)
        return Sliced(data, language, path, slices, diags)
    decode(data)  # (not UTF-8, binary: SourceError, as extract_with_diagnostics says)
    same_file = previous is not None and (previous.language, previous.path) == (language, path)
    if language != "python":
        return _typescript(data, language, path, previous if same_file else None)
    if previous is not None and previous.file_scope is not None and same_file:
        if previous.data == data:
            return previous
        got = _python_edit(previous, data)
        if got is not None:
            return got
    return _python_whole(data, path)


def _typescript(data: bytes, language: str, path: str, previous: Sliced | None) -> Sliced:
    """TypeScript: the sites an edit can change assembled again (typeinf.slices.incremental_typescript)."""
    from . import extract_with_diagnostics

    try:
        if previous is not None and previous.file_scope is not None:
            if previous.data == data:
                return previous
            got = ts.edited(
                previous.data, previous.slices, previous.file_scope, previous.reads, data, language, path
            )
            if got is not None:
                return Sliced(data, language, path, got[0], [], previous.file_scope, (), got[1])
        w = ts.whole(data, language, path)
    except RecursionError:
        w = None
    if w is None:  # a syntax error (recovered), or nesting too deep
        slices, diags = extract_with_diagnostics(data, language, path)
        return Sliced(data, language, path, slices, diags)
    return Sliced(data, language, path, w[0], [], w[1], (), w[2])


def _python_whole(data: bytes, path: str) -> Sliced:
    from . import extract_with_diagnostics

    if parse(data, "python").root_node.has_error:  # broken blocks recovered: sliced whole next time
        slices, diags = extract_with_diagnostics(data, "python", path)
        return Sliced(data, "python", path, slices, diags)
    try:
        slicer = analyse_python(data, path)
        sites = slicer.sites()
        slices = assemble(sites, slicer, slicer.src, path, "python", slicer.file_scope)
    except RecursionError:
        slices, diags = extract_with_diagnostics(data, "python", path)
        return Sliced(data, "python", path, slices, diags)
    visible = tuple(_visible(s) for s in sorted(sites, key=site_order))
    slicer.release()
    return Sliced(data, "python", path, slices, [], slicer.file_scope, visible)


MODULE, CLASS, MEMBER, LOCAL = "module", "class", "member", ""


def _visible(site: Site) -> str:
    """Where a site's name can be used: a variable or function of the module (MODULE), of a class
    (CLASS: in the class's own statements), a member (`self.x`, MEMBER), or only in its function."""
    scope = site.scope
    if site.kind == "param" or scope is None:
        return LOCAL
    if site.kind == "return":
        scope = scope.parent
        return {"module": MODULE, "class": CLASS}.get(scope.kind, LOCAL) if scope is not None else LOCAL
    if "." in site.name:
        return MEMBER
    return {"module": MODULE, "class": CLASS}.get(scope.kind, LOCAL)


def _definition(node: Node) -> Node:
    if node.type == "decorated_definition":
        d = node.child_by_field_name("definition")
        return d if d is not None else node
    return node


def _unit(root: Node, start: int, end: int) -> tuple[Node, Node, Node | None] | None:
    """(the statement, its function, the class statement around it or None) of the function that is
    a statement of the module or of a module-level class and holds bytes [start, end)."""
    for c in root.children:
        if c.start_byte <= start and end <= c.end_byte:
            d = _definition(c)
            if d.type == "function_definition":
                return c, d, None
            body = d.child_by_field_name("body") if d.type == "class_definition" else None
            for m in body.children if body is not None else ():
                if m.start_byte <= start and end <= m.end_byte:
                    dm = _definition(m)
                    return (m, dm, c) if dm.type == "function_definition" else None
            return None
    return None


def edited_unit(old: bytes, old_root: Node, data: bytes, root: Node) -> tuple[Node, Node] | None:
    """(before, after) the statement of the module or of a module-level class that is a function
    and holds the one changed span of `old` -> `data`, when it is the same function (same start,
    same end but the edit's length); None otherwise (no syntax error in either tree assumed)."""
    if old_root.has_error or root.has_error:
        return None
    e = diff_edit(old, data)
    found_old = _unit(old_root, e.start, e.end)
    found_new = _unit(root, e.start, e.start + len(e.new))
    if found_old is None or found_new is None:
        return None
    a, b = found_old[0], found_new[0]
    if (a.start_byte, a.end_byte + len(data) - len(old)) != (b.start_byte, b.end_byte):
        return None
    return a, b


def _receiver(fn: Node) -> bytes | None:
    """The text of a function's first parameter (a method's receiver: `self` in `self.x`)."""
    params = fn.child_by_field_name("parameters")
    first = params.named_children[0] if params is not None and params.named_children else None
    return first.text if first is not None else None


def _names(fn: Node) -> set[bytes] | None:
    """The identifiers in a function, or None when it holds a class, `global` or `nonlocal`."""
    out: set[bytes] = set()
    stack = [fn]
    while stack:
        n = stack.pop()
        if n.type in _NOT_LOCAL:
            return None
        if n.type == "identifier" and n.text is not None:
            out.add(n.text)
        stack.extend(n.children)
    return out


def _named_outside(data: bytes, unit: Node, owner: Node | None, name: bytes) -> bool:
    """Whether `name` is in the text where a reference to the function's binding can be: for a
    function of the module, anywhere outside it; for a method, the parts of its class read in the
    class's scope (its header, its statements but the bodies of its functions and classes, the
    decorators of its functions: references from methods do not see the class's names)."""
    word = re.compile(rb"(?<![\w])" + re.escape(name) + rb"(?![\w])")
    if owner is None:
        return bool(word.search(data, 0, unit.start_byte) or word.search(data, unit.end_byte))
    body = _definition(owner).child_by_field_name("body")
    if body is None:
        return True
    ranges = [(owner.start_byte, body.start_byte)]
    for m in body.children:
        if m.id == unit.id:
            continue
        d = _definition(m)
        if d.type in ("function_definition", "class_definition"):
            ranges.append((m.start_byte, d.start_byte))  # its decorators
        else:
            ranges.append((m.start_byte, m.end_byte))
    return any(word.search(data, a, b) for a, b in ranges)


def _contexts(fn: Node, data: bytes, wanted: set[str]) -> list[tuple[bytes, bytes]]:
    """Each identifier of the function that is in `wanted`, with the text of what holds it: its
    parameters, or the statement of its body (a use of a name is classified by what is around it,
    within its statement; its resolution by the bindings in the function, which are statements
    too), in order."""
    out: list[tuple[bytes, bytes]] = []
    body = fn.child_by_field_name("body")
    parts = [c for c in fn.children if c != body] + (body.children if body is not None else [])
    for part in parts:
        stack = [part]
        found = []
        while stack:
            n = stack.pop()
            if n.type == "identifier" and n.text is not None and n.text.decode("utf-8", "replace") in wanted:
                found.append((n.start_byte, n.text))
            stack.extend(n.children)
        if found:
            text = data[part.start_byte : part.end_byte]
            out.extend((name, text) for _at, name in sorted(found))
    return out


def _lines(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The bytes of the whole lines holding [start, end)."""
    a = data.rfind(b"\n", 0, start) + 1
    b = data.find(b"\n", end)
    return a, len(data) if b < 0 else b


def _whole(why: str) -> Sliced | None:
    """None: the whole text is sliced again (why: in the debug log)."""
    log.debug("sliced whole: %s", why)
    return None


def _python_edit(prev: Sliced, data: bytes) -> Sliced | None:
    """The slicing of `data` from `prev`'s when the edit is inside one function (see above); None
    when a condition fails."""
    assert prev.file_scope is not None
    old = prev.data
    tree = parse(data, "python")
    if tree.root_node.has_error:
        return _whole("a syntax error")
    e = diff_edit(old, data)
    new_end = e.start + len(e.new)
    delta = len(data) - len(old)
    found_old = _unit(parse(old, "python").root_node, e.start, e.end)
    found_new = _unit(tree.root_node, e.start, new_end)
    if found_old is None or found_new is None:
        return _whole("not inside a function of the module or of a class")
    (unit_old, fn_old, cls_old), (unit_new, fn_new, cls_new) = found_old, found_new
    params = fn_old.child_by_field_name("parameters")
    if params is None or e.start < params.start_byte or e.end > fn_old.end_byte:
        return _whole("not inside the parameters or body")
    if (
        (unit_old.start_byte, fn_old.start_byte, unit_old.end_byte + delta, fn_old.end_byte + delta)
        != (unit_new.start_byte, fn_new.start_byte, unit_new.end_byte, fn_new.end_byte)
        or old[unit_old.start_byte : params.start_byte] != data[unit_new.start_byte : params.start_byte]
        or (cls_old is None) != (cls_new is None)
        or (cls_old is not None and cls_new is not None and cls_old.start_byte != cls_new.start_byte)
    ):
        return _whole("the function's header or extent changed")
    if cls_new is not None and _receiver(fn_old) != _receiver(fn_new):
        return _whole("the method's first parameter changed (what `self.x` in it is)")
    names_old, names_new = _names(fn_old), _names(fn_new)
    if names_old is None or names_new is None:
        return _whole("a class, global or nonlocal in the function")
    names = {n.decode("utf-8", "replace") for n in names_old | names_new}
    name_node = fn_new.child_by_field_name("name")
    fname = name_node.text if name_node is not None else None
    if fname is None:
        return _whole("a function without a name")
    if _named_outside(data, unit_new, cls_new, fname):
        return _whole("the function is named outside it")
    # the slices outside the function, and the lines around it a module-level site's window may show
    first_line = old.count(b"\n", 0, unit_old.start_byte)
    last_line = first_line + old.count(b"\n", unit_old.start_byte, unit_old.end_byte)
    before: list[Slice] = []
    after: list[Slice] = []
    before_visible: list[str] = []
    after_visible: list[str] = []
    named: set[str] = set()  # the names of sites outside that the function may use
    for s, vis in zip(prev.slices, prev.visible, strict=True):
        inside = unit_old.start_byte <= s.span[0] < unit_old.end_byte
        if inside:
            if vis and s.kind == "var":  # a class member made in it, a variable in its decorators
                return _whole("a member or module-level variable in it")
            continue
        # a function's names (never a class's: a class's scope is not seen from its methods) are
        # the module's variables and functions, and members after the receiver (`self.x`)
        if vis in (MODULE, MEMBER) and s.name.rsplit(".", 1)[-1] in names:
            named.add(s.name.rsplit(".", 1)[-1])
        if vis in (MODULE, CLASS) and s.kind == "var":
            if first_line - WINDOW_LINES <= s.line - 1 <= last_line + WINDOW_LINES:
                return _whole("a module- or class-level variable near it (its window)")
        if s.span[0] < unit_old.start_byte:
            before.append(s)
            before_visible.append(vis)
        else:
            if s.line - 1 <= last_line:  # (on the function's last line: its column would move)
                return _whole("a site on its last line")
            after.append(s)
            after_visible.append(vis)
    # their uses in the function are what they were when each statement holding one is unchanged
    if named and _contexts(fn_old, old, named) != _contexts(fn_new, data, named):
        return _whole("it uses a variable, member or function of the module otherwise")
    # the function alone: its lines, below the lines of its class's header (if a method), sliced
    # and moved to where they are in the text (whole lines: the columns hold)
    start, end = _lines(data, unit_new.start_byte, unit_new.end_byte)
    header = b""
    if cls_new is not None:
        body = _definition(cls_new).child_by_field_name("body")
        if body is None:
            return _whole("a class without a body")
        head, first = _lines(data, cls_new.start_byte, cls_new.start_byte)[0], body.start_byte
        header = data[head : data.rfind(b"\n", 0, first) + 1]
        if not header:
            return _whole("a class on one line")
    alone = header + data[start:end] + b"\n"
    shift_bytes = start - len(header)
    shift_lines = data.count(b"\n", 0, start) - header.count(b"\n")
    try:
        slicer = analyse_python(alone, prev.path, keep=False)
        if slicer.root.has_error:
            return _whole("the function alone does not parse")
        sites = slicer.sites()
        fresh = [
            s.at((s.span[0] + shift_bytes, s.span[1] + shift_bytes), s.line + shift_lines, s.column)
            for s in assemble(sites, slicer, slicer.src, prev.path, "python", slicer.file_scope)
        ]
    except RecursionError:
        return _whole("nesting too deep")
    fresh_visible = [_visible(s) for s in sorted(sites, key=site_order)]
    slicer.release()
    if any(v and s.kind == "var" for v, s in zip(fresh_visible, fresh, strict=True)):
        return _whole("a member or module-level variable in it")
    prefix = len(slicer.file_scope)
    for s in fresh:
        extra = s.scope[prefix:]  # the type parameters in scope
        s.scope = prev.file_scope + extra if extra else prev.file_scope
    lines = data.count(b"\n", e.start, new_end) - old.count(b"\n", e.start, e.end)
    moved = [s.at((s.span[0] + delta, s.span[1] + delta), s.line + lines, s.column) for s in after]
    return Sliced(
        data,
        "python",
        prev.path,
        before + fresh + moved,
        [],
        prev.file_scope,
        (*before_visible, *fresh_visible, *after_visible),
    )
