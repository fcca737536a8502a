"""The editor's changes to a document, in bytes: what an incremental parse needs.

    content_edit(doc, change) -> TextEdit | None   one LSP content change as a byte edit of the
                                                   document's text before it (None: a whole text)
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
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp
from pygls.workspace import TextDocument

from ..slices.source import TextEdit

_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_STEPS = 256  # versions remembered per document (an analysis is rarely more than a few behind)


def document_bytes(text: str) -> bytes:
    """UTF-8 of a document; a lone surrogate (valid in JSON strings, not in UTF-8) becomes U+FFFD,
    which has the same length in UTF-8, UTF-16 and UTF-32 units, so positions do not move."""
    return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def content_edit(doc: TextDocument, change: lsp.TextDocumentContentChangeEvent) -> TextEdit | None:
    """A change of `doc` (its text before the change) as a byte edit, the offsets found the way
    pygls applies the change (its lines, its position codec); None for a whole new text."""
    if not isinstance(change, lsp.TextDocumentContentChangePartial):
        return None
    lines = doc.lines
    rng = doc.position_codec.range_from_client_units(lines, change.range)

    def offset(pos: Any) -> int:  # a position in the server's units (code points)
        if pos.line >= len(lines):
            return len(document_bytes(doc.source))
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
