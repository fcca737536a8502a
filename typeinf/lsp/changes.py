"""The editor's changes to a document, in bytes: what an incremental parse needs.

    content_edit(doc, change, text) -> TextEdit | None
                                                   one LSP content change as a byte edit of the
                                                   document's text before it (None: a whole text)
    Texts.of(doc) -> DocumentText                  the document's current text in bytes, with its
                                                   line starts and lines, made once per text
    ChangeLog.record(uri, old, new, edits)         the edits that made version `new` of `old`
    ChangeLog.between(uri, old, new) -> edits | None
    document_bytes(text) -> bytes                  the UTF-8 the server analyses

The server advertises incremental sync (pygls's default): a client sends each change as a range
of the text before it and the new text there.  The protocol turns each into a `TextEdit` before
pygls applies it; an analysis of version `new` hands `parse` the text it last parsed and the
edits between the two, and `parse` checks that they lead from one text to the other (edits that
do not are not used: the texts are compared instead).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp
from pygls.workspace import TextDocument

from ..slices.source import TextEdit
from ..text import line_starts

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_STEPS = 256  # versions remembered per document (an analysis is rarely more than a few behind)


def document_bytes(text: str) -> bytes:
    """UTF-8 of a document; a lone surrogate (valid in JSON strings, not in UTF-8) becomes U+FFFD,
    which has the same length in UTF-8, UTF-16 and UTF-32 units, so positions do not move."""
    return _SURROGATE.sub("\ufffd", text).encode("utf-8")


@dataclass(frozen=True)
class DocumentText:
    """A document's text as the server reads it: its bytes, line starts and lines, made once per
    text (pygls splits `TextDocument.lines` again at each use; a request's positions need both)."""

    source: str  # the text they were made of (a new text is a new string)
    data: bytes
    starts: list[int]
    lines: Sequence[str]

    @property
    def same_lines(self) -> bool:
        """Whether pygls's lines are the lines `starts` marks (no line break but b"\n" and
        b"\r\n", which both split at, is in the text)."""
        return len(self.lines) == len(self.starts) - (1 if self.data.endswith(b"\n") else 0)


@dataclass
class Texts:
    """(event loop) Each open document's current `DocumentText`."""

    _texts: dict[str, DocumentText] = field(default_factory=dict)

    def of(self, doc: TextDocument) -> DocumentText:
        got = self._texts.get(doc.uri)
        source = doc.source
        if got is None or got.source is not source:
            data = document_bytes(source)
            got = self._texts[doc.uri] = DocumentText(source, data, line_starts(data), doc.lines)
        return got

    def forget(self, uri: str) -> None:
        self._texts.pop(uri, None)


def content_edit(
    doc: TextDocument, change: lsp.TextDocumentContentChangeEvent, text: DocumentText | None = None
) -> TextEdit | None:
    """A change of `doc` (its text before the change) as a byte edit, the offsets found the way
    pygls applies the change (its lines, its position codec); None for a whole new text.  `text`:
    the document's text in bytes, whose line starts give a line's offset without encoding all the
    lines before it."""
    if not isinstance(change, lsp.TextDocumentContentChangePartial):
        return None
    known = text if text is not None and text.source is doc.source and text.same_lines else None
    lines = known.lines if known is not None else doc.lines
    rng = doc.position_codec.range_from_client_units(lines, change.range)

    def offset(pos: Any) -> int:  # a position in the server's units (code points)
        if pos.line >= len(lines):
            return len(known.data) if known is not None else len(document_bytes(doc.source))
        if known is not None:
            return known.starts[pos.line] + len(document_bytes(lines[pos.line][: pos.character]))
        head = "".join(lines[: pos.line]) + lines[pos.line][: pos.character]
        return len(document_bytes(head))

    start, end = offset(rng.start), offset(rng.end)
    return TextEdit(start, max(start, end), document_bytes(change.text))


@dataclass
class ChangeLog:
    """Each open document's edits from one version to the next (a whole text: None)."""

    _steps: dict[str, list[tuple[int | None, int | None, list[TextEdit] | None]]] = field(
        default_factory=dict
    )

    def record(self, uri: str, old: int | None, new: int | None, edits: list[TextEdit] | None) -> None:
        steps = self._steps.setdefault(uri, [])
        steps.append((old, new, edits))
        del steps[:-MAX_STEPS]

    def between(self, uri: str, old: int | None, new: int | None) -> list[TextEdit] | None:
        """The edits from version `old` to version `new`, in order; None when some are not known."""
        if old == new:
            return []
        out: list[TextEdit] = []
        at = old
        for a, b, edits in self._steps.get(uri, []):
            if a != at:
                continue
            if edits is None:
                return None
            out.extend(edits)
            at = b
            if at == new:
                return out
        return out if at == new else None

    def forget(self, uri: str, before: int | None = None) -> None:
        """Drop the document's steps (all of them, or those that end before version `before`)."""
        if before is None:
            self._steps.pop(uri, None)
            return
        steps = self._steps.get(uri)
        if steps is not None:
            steps[:] = [s for s in steps if s[1] is None or s[1] > before]
