"""JSON-RPC framing that survives a hostile or broken client (pure: bytes in, events out).

pygls 2.x reads a header line by line, accepts only `Content-Length: N\\r\\n` exactly, reads N
bytes in one call, and once a frame is wrong never finds a header again.  `FrameParser` instead:

- accepts the header name in any case and LF-only line endings (HTTP rules);
- rejects a frame whose Content-Length is missing, not a number or larger than `max_bytes`
  (its body is skipped without being kept in memory) and resynchronises on the next
  `Content-Length:` header;
- cuts a body where a header line starts inside it: raw line breaks never occur inside a JSON
  string and `Content-Length:` is not JSON outside one, so this is the next frame (the declared
  length was too long);
- drops junk before a header, and junk that never ends in a header past `MAX_HEADER_BYTES`.

A body that is too short for its JSON is passed on as it is: the protocol answers it -32700.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a frame declared larger is rejected
MAX_HEADER_BYTES = 64 * 1024  # bytes without the end of a header that are kept before dropping them
_TAIL = 64  # bytes kept at the end of dropped junk, where a header may have started

_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]+[ \t]*\r?\n", re.IGNORECASE)
_ID = re.compile(rb'^\s*\{[^{}\[\]]*?"id"\s*:\s*(-?[0-9]{1,18}|"[^"\\]{0,200}")')


@dataclass(frozen=True)
class Body:
    data: bytes


@dataclass(frozen=True)
class Rejected:
    reason: str
    skipped: int  # header bytes dropped (a skipped body is not counted)
    request_id: int | str | None = None  # when the rejected frame's id could be read


Event = Body | Rejected


def request_id_of(head: bytes) -> int | str | None:
    """The id of a request from the first bytes of its body, when it comes before any nested value."""
    m = _ID.match(head)
    if m is None:
        return None
    raw = m.group(1)
    return raw[1:-1].decode("utf-8", "replace") if raw.startswith(b'"') else int(raw)


def _header_end(buf: bytearray) -> tuple[int, int]:
    """(where the header block ends, where the body starts), or (-1, -1)."""
    ends = [(k, k + len(sep)) for sep in (b"\r\n\r\n", b"\n\n", b"\n\r\n") if (k := buf.find(sep)) != -1]
    return min(ends) if ends else (-1, -1)


class FrameParser:
    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.buf = bytearray()
        self.skip = 0  # body bytes of a rejected frame still to be skipped
        self.scanned = 0  # how far the pending body was searched for a header line

    def feed(self, data: bytes) -> list[Event]:
        self.buf += data
        out = []
        while (event := self._next()) is not None:
            out.append(event)
        return out

    def _next(self) -> Event | None:
        buf = self.buf
        while self.skip:
            m = _HEADER_LINE.search(buf, 0, self.skip + _TAIL)
            if m is not None and m.start() < self.skip:  # the next frame starts inside the skipped body
                del buf[: m.start()]
                self.skip = 0
            elif len(buf) >= self.skip:
                del buf[: self.skip]
                self.skip = 0
            else:
                n = max(0, len(buf) - _TAIL)  # (the tail may hold the start of a header line)
                del buf[:n]
                self.skip -= n
                return None
        end, body_start = _header_end(buf)
        if end == -1:
            if len(buf) > MAX_HEADER_BYTES:
                dropped = len(buf) - _TAIL
                del buf[:dropped]
                return Rejected("no header end", dropped)
            return None
        lengths = list(_LENGTH.finditer(buf, 0, end))
        if not lengths:
            del buf[:body_start]
            return Rejected("a header without Content-Length", body_start)
        value = lengths[-1].group(1).strip()
        if not value.isdigit():
            del buf[:body_start]
            return Rejected(f"Content-Length {value[:40]!r} is not a length", body_start)
        length = int(value)
        if length > self.max_bytes:
            rid = request_id_of(bytes(buf[body_start : body_start + 4096]))
            del buf[:body_start]
            self.skip, self.scanned = length, 0
            return Rejected(
                f"Content-Length {length} is over the limit of {self.max_bytes} bytes", body_start, rid
            )
        # a header line inside the body: the declared length ran into the next frame
        cut = _HEADER_LINE.search(buf, max(body_start, self.scanned - _TAIL), body_start + length + _TAIL)
        if cut is not None and cut.start() >= body_start + length:
            cut = None
        if cut is None and len(buf) - body_start < length:
            self.scanned = len(buf)
            return None
        stop = cut.start() if cut is not None else body_start + length
        data = bytes(buf[body_start:stop])
        del buf[:stop]
        self.scanned = 0
        return Body(data)
