"""Positions in a document's bytes and splitting text at its top level: one home for each.

    line_starts(data)                  byte offset where each line starts (lines end at b"\\n";
                                       universal=True: also at b"\\r\\n" and a lone b"\\r", as
                                       Python's tokenizer counts them)
    line_of(starts, offset)            0-based line holding a byte offset
    position(data, starts, offset)     (0-based line, code-point column) of a byte offset
    offset_at(data, starts, line, col) the byte offset of a (0-based line, code-point column),
                                       the line clamped to the document, the column to its line
    split_top(text, separators)        the stripped, non-empty parts of text between separators
                                       outside brackets

No imports from the rest of the package: everything may import this module.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

_NEWLINE = re.compile(rb"\r\n|\r|\n")
_PLUS_ONE = (1).__add__


def line_starts(data: bytes, universal: bool = False) -> list[int]:
    if universal:
        return [0, *(m.end() for m in _NEWLINE.finditer(data))]
    # each line's length and its b"\n", summed (in C: a loop over the lines costs a millisecond
    # per 5,000 lines, on each edit of a large document); the last sum is the text's end + 1
    starts = list(accumulate(map(_PLUS_ONE, map(len, data.split(b"\n"))), initial=0))
    starts.pop()
    return starts


def line_of(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset) - 1


def position(data: bytes, starts: list[int], offset: int) -> tuple[int, int]:
    line = bisect_right(starts, offset) - 1
    return line, len(data[starts[line] : offset].decode("utf-8", "replace"))


def offset_at(data: bytes, starts: list[int], line: int, col: int) -> int:
    line = min(line, len(starts) - 1)
    start = starts[line]
    end = starts[line + 1] - 1 if line + 1 < len(starts) else len(data)
    return start + len(data[start:end].decode("utf-8", "replace")[:col].encode("utf-8"))


def split_top(text: str, separators: str, type_syntax: bool = False) -> list[str]:
    """The stripped, non-empty parts of `text` split at any of `separators` outside brackets.

    Code (the default): `()[]{}` nest, a stray closer never takes the depth below 0.
    A type's text (type_syntax=True): `<>` nest too (not the `>` of `=>`), quoted strings are
    skipped whole (backslash escapes), and a stray closer leaves the rest unsplit."""
    opens, closes = ("([{<", ")]}>") if type_syntax else ("([{", ")]}")
    out: list[str] = []
    cur: list[str] = []
    depth, quote, i = 0, "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif type_syntax and ch in "\"'`":
            quote = ch
            cur.append(ch)
        elif ch in opens:
            depth += 1
            cur.append(ch)
        elif ch in closes and not (ch == ">" and i > 0 and text[i - 1] == "="):
            depth = depth - 1 if type_syntax else max(0, depth - 1)
            cur.append(ch)
        elif ch in separators and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur).strip())
    return [o for o in out if o]
