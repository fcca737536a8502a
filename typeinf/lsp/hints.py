"""Pure helpers for the language server: where an annotation goes, what a hint says, and text
edits from an annotated copy of a document.  No LSP types here except in `text_edits`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from tree_sitter import Node

from ..annotate.typescript import _function_for_name, _param_insert, _var_insert
from ..inference.predict import Prediction
from ..lang import ts_async_return
from ..slices.source import parse
from ..text import line_of, line_starts


@dataclass(frozen=True)
class Insertion:
    offset: int  # byte offset in the document
    text: str  # what the hint shows there (": T" / " -> T")
    end: int | None = None  # accepting it replaces [offset, end) ...
    edit: str | None = None  # ... with this (default: `text` is inserted at offset)

    @property
    def new_text(self) -> str:
        return self.text if self.edit is None else self.edit

    @property
    def stop(self) -> int:
        return self.offset if self.end is None else self.end


def annotated_default(type_: str) -> str:
    """What goes between a parameter's name and its default once annotated: PEP 8 `x: T = v`
    (the annotate engine writes the same; `x=v` without spaces is for unannotated parameters)."""
    return f": {type_} = "


def _py_insertion(root: Node, p: Prediction) -> Insertion | None:
    s = p.slice
    if s.kind == "param":
        name = root.descendant_for_byte_range(s.span[0], s.span[1])
        parent = name.parent if name is not None else None
        value = (
            parent.child_by_field_name("value")
            if parent is not None and parent.type == "default_parameter"
            else None
        )
        if value is not None:
            return Insertion(s.span[1], f": {p.type}", value.start_byte, annotated_default(p.type))
        return Insertion(s.span[1], f": {p.type}")
    if s.kind == "var":
        return Insertion(s.span[1], f": {p.type}")
    node = root.descendant_for_byte_range(s.span[0], s.span[1])
    while node is not None and node.type != "function_definition":
        node = node.parent
    if node is None:
        return None
    params = node.child_by_field_name("parameters")
    return Insertion(params.end_byte, f" -> {p.type}") if params is not None else None


def _ts_insertion(root: Node, p: Prediction) -> Insertion | None:
    s = p.slice
    node = root.descendant_for_byte_range(s.span[0], s.span[0] + 1)
    if node is None:
        return None
    if s.kind == "param":
        ins = _param_insert(node, p.type)
    elif s.kind == "var":
        ins = _var_insert(node, p.type)
    else:
        fn = _function_for_name(node, s.span[0])
        params = fn.child_by_field_name("parameters") if fn is not None else None
        if params is None or fn is None or fn.child_by_field_name("return_type") is not None:
            return None
        t = p.type
        if any(c.type == "async" for c in fn.children):
            t = ts_async_return(t)
        return Insertion(params.end_byte, f": {t}")
    if not ins or len(ins) != 1:
        return None  # a lone arrow parameter needs parentheses: left to the code action
    return Insertion(ins[0].at, ins[0].text.decode("utf-8"))


def insertions(data: bytes, language: str, preds: list[Prediction]) -> list[tuple[Prediction, Insertion]]:
    """Where each prediction's annotation would be inserted (sites that cannot take one inline
    are left out)."""
    root = parse(data, language).root_node
    out = []
    for p in preds:
        if p.slice.annotation is not None or not p.slice.annotatable or not p.type:
            continue
        ins = _py_insertion(root, p) if language == "python" else _ts_insertion(root, p)
        if ins is not None:
            out.append((p, ins))
    return out


def tooltip(p: Prediction) -> str:
    """Markdown: the ranked alternatives with confidence and where each comes from."""
    lines = [f"**typeinf** `{p.slice.name}` ({p.slice.kind})", ""]
    for i, (t, c) in enumerate(p.alternatives or [(p.type, p.confidence)]):
        src = p.source if i == 0 else "model"
        lines.append(f"{i + 1}. `{t}` — {c:.0%} ({src})")
    return "\n".join(lines)


def map_insertions(
    old: bytes, new: bytes, hints: list[tuple[Prediction, Insertion]]
) -> list[tuple[Prediction, Insertion]]:
    """The hints of an older version of a document moved to a newer one: those on the lines
    before the first changed line and after the last one (their text is the same), the others
    dropped.  (An edit while typing changes a few lines: most hints stay.)"""
    a, b = old.split(b"\n"), new.split(b"\n")
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    starts = line_starts(old)
    first_tail_line = len(a) - tail  # lines >= this are unchanged, shifted by the length change
    shift = len(new) - len(old)
    out = []
    for p, ins in hints:
        line = line_of(starts, ins.offset)
        last = line_of(starts, ins.stop)
        if last < head:
            out.append((p, ins))
        elif line >= first_tail_line:
            out.append(
                (p, replace(ins, offset=ins.offset + shift, end=None if ins.end is None else ins.end + shift))
            )
    return out


def changed_lines(old: str, new: str) -> list[tuple[int, int, str]]:
    """(first line, end line, replacement text): the line ranges of `old` that become `new`."""
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(i1, i2, "".join(b[j1:j2])) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]
