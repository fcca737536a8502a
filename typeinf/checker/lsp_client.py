"""A small synchronous JSON-RPC-over-stdio client for language servers (LSP).

One server process per client.  A reader thread parses the ``Content-Length`` frames; requests
block on their own reply with a timeout; notifications the server pushes
(``textDocument/publishDiagnostics``) are kept per URI; requests the server makes of the client
(``workspace/configuration``, ``client/registerCapability``, ``window/workDoneProgress/create``)
are answered at once, so no server waits on us.  Nothing here knows a particular server: the
backends in :mod:`typeinf.checker.python` give the command line, initialization options and
settings.

Positions: LSP counts columns in UTF-16 code units (the default ``positionEncoding``);
typeinf counts code points.  :func:`utf16_col` and :func:`codepoint_col` convert on one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .base import CheckerCrashed, CheckerError, CheckerTimeout


def uri_path(uri: str) -> Path:
    """The file path of a ``file:`` URI (``path_uri``'s inverse)."""
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))


def path_uri(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def utf16_col(line_text: str, col: int) -> int:
    """UTF-16 code units before code-point column ``col`` of ``line_text``."""
    prefix = line_text[:col]
    return col + sum(1 for ch in prefix if ord(ch) > 0xFFFF)


def codepoint_col(line_text: str, col16: int) -> int:
    """Code-point column of UTF-16 column ``col16`` of ``line_text``."""
    units = 0
    for i, ch in enumerate(line_text):
        if units >= col16:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line_text)


WRITE_CHUNK = 1 << 16  # bytes of messages written at once (a pipe's buffer)


class LspClient:
    """A language server over stdio, driven synchronously."""

    def __init__(
        self,
        argv: list[str],
        cwd: str | Path,
        *,
        timeout: float = 60.0,
        settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.argv = argv
        self.timeout = timeout
        self.settings = settings or {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._replies: dict[int, dict[str, Any]] = {}
        self._waiting: dict[int, threading.Event] = {}
        self._diag_cv = threading.Condition()
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self.diag_versions: dict[str, int | None] = {}
        self.diag_seq = 0  # publishDiagnostics notifications received so far
        self.server_capabilities: dict[str, Any] = {}
        self.on_notification: Callable[[str, Any], None] | None = None
        self._closed = False
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=str(cwd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env or os.environ.copy(),
            )
        except OSError as exc:
            from .base import CheckerUnavailable

            raise CheckerUnavailable(f"cannot start {argv[0]}: {exc}") from exc
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ wire
    @property
    def pid(self) -> int:
        return self.proc.pid

    def _send(self, msg: dict[str, Any]) -> None:
        self._send_all([msg])

    def _send_all(self, msgs: Sequence[dict[str, Any]]) -> None:
        """The messages framed and written a pipe's worth at a time (a file's thousand hovers in a
        few writes, not one each; the lock let go between them, so that the reader thread's answer
        to a request of the server is never stuck behind a write the server is not reading)."""
        assert self.proc.stdin is not None
        chunk: list[bytes] = []
        size = 0
        for n, msg in enumerate(msgs):
            body = json.dumps(msg, separators=(",", ":")).encode("utf-8")
            chunk.append(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            size += len(chunk[-1])
            if size < WRITE_CHUNK and n + 1 < len(msgs):
                continue
            with self._write_lock:
                try:
                    self.proc.stdin.write(b"".join(chunk))
                    self.proc.stdin.flush()
                except (BrokenPipeError, OSError, ValueError) as exc:
                    raise CheckerCrashed(f"{self.argv[0]} closed its input: {exc}") from exc
            chunk, size = [], 0

    def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = -1
                while True:
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length < 0:
                    continue
                body = out.read(length)
                if len(body) < length:
                    return
                try:
                    msg = json.loads(body)
                except ValueError:
                    continue
                self._dispatch(msg)
        finally:
            with self._lock:
                for ev in self._waiting.values():
                    ev.set()
            with self._diag_cv:
                self._diag_cv.notify_all()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "method" in msg and "id" in msg:  # a request of the server
            self._answer_server_request(msg)
        elif "method" in msg:  # a notification
            if msg["method"] == "textDocument/publishDiagnostics":
                params = msg.get("params") or {}
                with self._diag_cv:
                    self.diagnostics[params.get("uri", "")] = params.get("diagnostics") or []
                    self.diag_versions[params.get("uri", "")] = params.get("version")
                    self.diag_seq += 1
                    self._diag_cv.notify_all()
            if self.on_notification is not None:
                self.on_notification(msg["method"], msg.get("params"))
        elif "id" in msg:  # a reply
            with self._lock:
                rid = msg["id"]
                ev = self._waiting.get(rid)
                if ev is not None:  # not a late reply to a request given up on
                    self._replies[rid] = msg
            if ev is not None:
                ev.set()

    def _answer_server_request(self, msg: dict[str, Any]) -> None:
        method = msg["method"]
        result: Any = None
        if method == "workspace/configuration":
            items = (msg.get("params") or {}).get("items") or []
            result = [self._setting(item.get("section")) for item in items]
        elif method == "workspace/workspaceFolders":
            result = []
        try:
            self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        except CheckerCrashed:
            pass

    def _setting(self, section: str | None) -> Any:
        if not section:
            return self.settings
        node: Any = self.settings
        for part in section.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    # ------------------------------------------------------------------ API
    def request(self, method: str, params: Any, timeout: float | None = None) -> Any:
        """Send a request and wait for its result; raises CheckerTimeout / CheckerCrashed, or
        CheckerError with the server's error message."""
        with self._lock:
            self._next_id += 1
            rid = self._next_id
            ev = threading.Event()
            self._waiting[rid] = ev
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        limit = self.timeout if timeout is None else timeout
        ok = ev.wait(limit)
        with self._lock:
            self._waiting.pop(rid, None)
            reply = self._replies.pop(rid, None)
        if reply is None:
            if self.proc.poll() is not None:
                raise CheckerCrashed(f"{self.argv[0]} exited with {self.proc.returncode} during {method}")
            if not ok:
                try:
                    self.notify("$/cancelRequest", {"id": rid})
                except CheckerCrashed:
                    pass
                raise CheckerTimeout(f"{self.argv[0]}: no reply to {method} within {limit:.0f}s")
            raise CheckerCrashed(f"{self.argv[0]}: no reply to {method}")
        if "error" in reply:
            err = reply["error"] or {}
            raise CheckerError(f"{self.argv[0]}: {method}: {err.get('message', err)}")
        return reply.get("result")

    def request_many(self, method: str, params: Sequence[Any], timeout: float | None = None) -> list[Any]:
        """Several requests of one method in flight at once; each result, or a CheckerError with the
        server's message for a request it failed.  Raises CheckerTimeout / CheckerCrashed as `request`."""
        return self.replies(self.send_many(method, params), method, timeout)

    def send_many(self, method: str, params: Sequence[Any]) -> list[int]:
        """Send requests of one method at once, not waiting for them: their ids, for `replies`
        (every id sent must be given to `replies`, which forgets it)."""
        with self._lock:
            ids = []
            for _ in params:
                self._next_id += 1
                ids.append(self._next_id)
                self._waiting[self._next_id] = threading.Event()
        try:
            self._send_all(
                [
                    {"jsonrpc": "2.0", "id": rid, "method": method, "params": p}
                    for rid, p in zip(ids, params, strict=True)
                ]
            )
        except CheckerCrashed:
            self.forget(ids)
            raise
        return ids

    def replies(self, ids: Sequence[int], method: str, timeout: float | None = None) -> list[Any]:
        """The results of requests `send_many` sent (a CheckerError for each the server failed), waited
        for at most `timeout` seconds from now.  Raises CheckerTimeout / CheckerCrashed as `request`."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._lock:
            events = [self._waiting[i] for i in ids]
        out: list[Any] = []
        try:
            for rid, ev in zip(ids, events, strict=True):
                ok = ev.wait(max(0.0, deadline - time.monotonic()))
                with self._lock:
                    reply = self._replies.pop(rid, None)
                if reply is None:
                    if self.proc.poll() is not None:
                        raise CheckerCrashed(
                            f"{self.argv[0]} exited with {self.proc.returncode} during {method}"
                        )
                    if not ok:
                        raise CheckerTimeout(f"{self.argv[0]}: no reply to {method} within {limit:.0f}s")
                    raise CheckerCrashed(f"{self.argv[0]}: no reply to {method}")
                if "error" in reply:
                    err = reply["error"] or {}
                    out.append(CheckerError(f"{self.argv[0]}: {method}: {err.get('message', err)}"))
                else:
                    out.append(reply.get("result"))
        finally:
            self.forget(ids)
        return out

    def forget(self, ids: Sequence[int]) -> None:
        """Drop requests sent and not to be waited for (their late replies are discarded)."""
        with self._lock:
            for rid in ids:
                self._waiting.pop(rid, None)
                self._replies.pop(rid, None)

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def initialize(
        self, root: Path, initialization_options: dict[str, Any] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        caps = {
            "general": {"positionEncodings": ["utf-16"]},
            "workspace": {
                "configuration": True,
                "workspaceFolders": True,
                "didChangeConfiguration": {"dynamicRegistration": True},
            },
            "textDocument": {
                "synchronization": {"dynamicRegistration": False, "didSave": True},
                "hover": {"contentFormat": ["markdown", "plaintext"]},
                "publishDiagnostics": {"versionSupport": True},
                "diagnostic": {"dynamicRegistration": False},
            },
            "window": {"workDoneProgress": False},
        }
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "rootUri": path_uri(root),
            "rootPath": str(root),
            "workspaceFolders": [{"uri": path_uri(root), "name": root.name or "root"}],
            "capabilities": caps,
        }
        if initialization_options is not None:
            params["initializationOptions"] = initialization_options
        result = self.request("initialize", params, timeout=timeout) or {}
        self.server_capabilities = result.get("capabilities") or {}
        self.notify("initialized", {})
        if self.settings:
            self.notify("workspace/didChangeConfiguration", {"settings": self.settings})
        return result

    def wait_diagnostics(
        self, uri: str, version: int | None, after_seq: int, timeout: float
    ) -> list[dict[str, Any]]:
        """Pushed diagnostics for ``uri``: the first set published after ``after_seq`` for that
        version (or any version, when the server sends none)."""
        deadline = time.monotonic() + timeout
        with self._diag_cv:
            while True:
                if self.diag_seq > after_seq and uri in self.diagnostics:
                    v = self.diag_versions.get(uri)
                    if v is None or version is None or v >= version:
                        return list(self.diagnostics[uri])
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    if self.proc.poll() is not None:
                        raise CheckerCrashed(f"{self.argv[0]} exited with {self.proc.returncode}")
                    raise CheckerTimeout(f"{self.argv[0]}: no diagnostics for {uri} within {timeout:.0f}s")
                self._diag_cv.wait(min(left, 0.5))

    def peak_rss_kb(self) -> int | None:
        """Peak resident memory (VmHWM, kB) of the server process plus its children
        (basedpyright runs in node under a Python launcher)."""
        return _tree_hwm(self.proc.pid)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None:
            try:
                self.request("shutdown", None, timeout=min(5.0, self.timeout))
                self.notify("exit", None)
            except Exception:  # noqa: BLE001 - a dying server is closed the hard way below
                pass
            try:
                self.proc.wait(timeout=min(5.0, self.timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _hwm(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _tree_hwm(pid: int) -> int | None:
    """Sum of VmHWM over the process tree (launcher + server), in kB."""
    total = 0
    found = False
    stack = [pid]
    while stack:
        p = stack.pop()
        h = _hwm(p)
        if h is not None:
            total += h
            found = True
        stack.extend(_children(p))
    return total if found else None
