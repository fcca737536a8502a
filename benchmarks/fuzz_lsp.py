"""Hostile-input probes and a random fuzzer for `typeinf lsp`, over real framed JSON-RPC bytes.

    python benchmarks/fuzz_lsp.py [--rounds 200] [--seed 0]

Starts `typeinf lsp` as a subprocess, speaks raw bytes to it (no LSP client library: framing
errors are the point), and prints a probe table (probe, expected, observed, ok).  After each
probe a normal inlay-hint request on a small document must be answered (`served`).  Then
`--rounds` random cases (malformed frames and params, random edits, big and deep documents),
each followed by the same check; the first case that leaves the server deaf or dead is printed.

tests/test_lsp_hostile.py runs the probe table and a few random rounds in CI (this module is
its single source of probes).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANARY = 'def scale(value, factor=2, label="x"):\n    print(label)\n    return value * factor\n'
ANSWER_S = float(os.environ.get("TYPEINF_FUZZ_ANSWER_S", "20"))  # a request must be answered within this


def frame(body: bytes | str, header: bytes | None = None) -> bytes:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return (header if header is not None else b"Content-Length: %d\r\n\r\n" % len(data)) + data


def message(obj: Any) -> bytes:
    return frame(json.dumps(obj))


class RawServer:
    """`typeinf lsp` over stdio, driven with raw bytes; frames it sends are read in a thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "typeinf", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=os.environ.copy(),
        )
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.responses: dict[Any, dict[str, Any]] = {}
        self.next_id = 1000
        self.version = 1
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.inbox.put(None)
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line in (b"\r\n", b"\n") and length is not None:
                    break
            self.inbox.put(json.loads(out.read(length)))

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def request(self, method: str, params: Any = None, *, raw_params: bool = False) -> int:
        rid = self.new_id()
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None or raw_params:
            msg["params"] = params
        self.send(message(msg))
        return rid

    def notify(self, method: str, params: Any) -> None:
        self.send(message({"jsonrpc": "2.0", "method": method, "params": params}))

    def pump(self, timeout: float) -> bool:
        """Handle what the server sent within `timeout`; False once its output has ended."""
        try:
            msg = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return True
        if msg is None:
            return False
        if "method" in msg and "id" in msg:  # a request to the client (refresh, progress): answer it
            self.send(message({"jsonrpc": "2.0", "id": msg["id"], "result": None}))
        elif "method" in msg:
            self.notifications.append(msg)
        else:
            self.responses[msg.get("id")] = msg
        return True

    def wait(self, rid: Any, timeout: float = ANSWER_S) -> dict[str, Any] | None:
        end = time.monotonic() + timeout
        while rid not in self.responses and time.monotonic() < end:
            if not self.pump(min(0.2, max(0.0, end - time.monotonic()))):
                break
        return self.responses.pop(rid, None)

    def settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.pump(0.05):
            pass

    def initialize(self) -> dict[str, Any] | None:
        # minConfidence 0: every prediction is a hint, so that a count of hints means something
        rid = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": self.root.as_uri(),
                "capabilities": {"workspace": {"inlayHint": {"refreshSupport": True}}},
                "initializationOptions": {"typeinf": {"minConfidence": 0.0}},
            },
        )
        got = self.wait(rid, 60)
        self.notify("initialized", {})
        return got

    def open(self, name: str, text: str, language: str = "python") -> str:
        path = self.root / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        uri = path.as_uri()
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )
        return uri

    def hints(self, uri: str, lines: int = 100) -> dict[str, Any] | None:
        rid = self.request(
            "textDocument/inlayHint",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": lines, "character": 0}},
            },
        )
        return self.wait(rid)

    def exit_code(self, timeout: float = 10.0) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def summary(resp: dict[str, Any] | None) -> str:
    """A response in a few words: `error -32602`, `result null`, `result [3]`, `no reply`."""
    if resp is None:
        return "no reply"
    if "error" in resp:
        err = resp["error"]
        tb = " +traceback" if isinstance(err.get("data"), dict) and "traceback" in err["data"] else ""
        return f"error {err.get('code')}{tb}" + (" id=null" if resp.get("id") is None else "")
    result = resp.get("result")
    if result is None:
        return "result null"
    return f"result [{len(result)}]" if isinstance(result, list) else "result {...}"


@dataclass
class Session:
    server: RawServer
    canary: str

    def served(self) -> bool:
        """A normal request after a probe is answered (with a list of hints)."""
        got = self.server.hints(self.canary)
        return got is not None and isinstance(got.get("result"), list)

    def popups(self) -> list[str]:
        return [
            n["params"]["message"] for n in self.server.notifications if n["method"] == "window/showMessage"
        ]


def start(root: Path, *, initialize: bool = True) -> Session:
    server = RawServer(root)
    if not initialize:
        return Session(server, "")
    server.initialize()
    canary = server.open("canary.py", CANARY)
    got = server.hints(canary)
    deadline = time.monotonic() + 120  # the model loads on the first session
    while (got is None or not got.get("result")) and time.monotonic() < deadline:
        got = server.hints(canary)
    return Session(server, canary)


# ---------------------------------------------------------------------- probes
@dataclass
class Probe:
    name: str
    expected: str
    run: Callable[[Session], str]  # returns what was observed
    ok: Callable[[str], bool]
    fresh: bool = False  # needs its own server (lifecycle probes)
    initialize: bool = True
    tags: list[str] = field(default_factory=list)


def _hover(uri: str, line: Any = 0, character: Any = 4) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def _req(rid: int, method: str, params: Any = None) -> bytes:
    return message({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})


def _framing(
    header: bytes,
    body_of: Callable[[int, Session], bytes],
    expect_reply: bool = True,
) -> Callable[[Session], str]:
    def run(s: Session) -> str:
        rid = s.server.new_id()
        s.server.send(header.replace(b"LEN", b"%d" % len(body_of(rid, s))) + body_of(rid, s))
        got = s.server.wait(rid, 3.0) if expect_reply else None
        nulls = s.server.responses.pop(None, None)
        observed = summary(got) if got is not None else (summary(nulls) if nulls is not None else "no reply")
        return f"{observed}; " + ("served" if s.served() else "DEAF")

    return run


def _hover_body(rid: int, s: Session) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": rid, "method": "textDocument/hover", "params": _hover(s.canary)}
    ).encode()


def _served_after(send: Callable[[Session, int], None], wait: float = 5.0) -> Callable[[Session], str]:
    def run(s: Session) -> str:
        rid = s.server.new_id()
        send(s, rid)
        got = s.server.wait(rid, wait)
        if got is None and None in s.server.responses:
            got = s.server.responses.pop(None)
        return f"{summary(got)}; " + ("served" if s.served() else "DEAF")

    return run


def _served(observed: str) -> bool:
    return observed.endswith("; served")


def _is(*prefixes: str) -> Callable[[str], bool]:
    return lambda o: _served(o) and any(o.startswith(p) for p in prefixes) and "traceback" not in o


def _send(data_of: Callable[[Session, int], bytes]) -> Callable[[Session, int], None]:
    return lambda s, rid: s.server.send(data_of(s, rid))


def _hint_params(s: Session, **over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "textDocument": {"uri": s.canary},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}},
    }
    p.update(over)
    return p


def _lifecycle_before_init(s: Session) -> str:
    rid = s.server.request("textDocument/hover", _hover("file:///x.py"))
    got = s.server.wait(rid, 10)
    init = s.server.initialize()
    return f"{summary(got)}; initialize " + ("answered" if init and "result" in init else "NOT answered")


def _exit_without_shutdown(s: Session) -> str:
    s.server.notify("exit", None)
    return f"exit code {s.server.exit_code()}"


def _shutdown_then_request(s: Session) -> str:
    first = summary(s.server.wait(s.server.request("shutdown"), 10))
    after = summary(s.server.wait(s.server.request("textDocument/hover", _hover(s.canary)), 5))
    s.server.notify("exit", None)
    return f"shutdown {first}; then {after}; exit code {s.server.exit_code()}"


def _doc_request(
    uri_of: Callable[[Session], str],
    text: str | None = None,
    language: str = "python",
) -> Callable[[Session], str]:
    def run(s: Session) -> str:
        uri = uri_of(s)
        if text is not None:
            s.server.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
            )
        got = s.server.wait(
            s.server.request("textDocument/inlayHint", _hint_params(s, textDocument={"uri": uri}))
        )
        pop = " +popup" if s.popups() else ""
        s.server.notifications.clear()
        return f"{summary(got)}{pop}; " + ("served" if s.served() else "DEAF")

    return run


def _did_change_unopened(s: Session) -> str:
    s.server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": (s.server.root / "nope.py").as_uri(), "version": 2},
            "contentChanges": [{"text": "x = 1\n"}],
        },
    )
    s.server.settle(1.0)
    pop = "popup" if s.popups() else "no popup"
    s.server.notifications.clear()
    return f"{pop}; " + ("served" if s.served() else "DEAF")


BIG = "".join(f"def f{i}(a, b=1):\n    return a + b\n\n" for i in range(40000))  # > 1 MB


def _big_document(s: Session) -> str:
    uri = s.server.open("big.py", BIG)
    t0 = time.monotonic()
    other = s.served()
    dt = time.monotonic() - t0
    got = s.server.hints(uri, 10)
    again = s.server.hints(uri, 10)  # the message is shown once
    s.server.settle(0.5)
    pops = len([m for m in s.popups() if "big.py" in m or "larger" in m])
    s.server.notifications.clear()
    return (
        f"{summary(got)}/{summary(again)}; {pops} popup; other doc "
        f"{'served' if other and dt < 10 else 'STALLED'}; " + ("served" if s.served() else "DEAF")
    )


def _busy_document(s: Session) -> str:
    """While a large document (under max-bytes: ~18000 sites, tens of seconds of model time) is
    analysed, an edit of another document is answered within seconds; closing the large one
    stops its analysis."""
    text = "".join(f"def f{i}(a, b=1, c='x'):\n    return a + b\n\n" for i in range(6000))
    uri = s.server.open("busy.py", text)
    time.sleep(0.5)
    s.server.version += 1
    s.server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": s.canary, "version": s.server.version},
            "contentChanges": [{"text": CANARY + "\n"}],
        },
    )
    t0 = time.monotonic()
    got = s.server.hints(s.canary)
    dt = time.monotonic() - t0
    s.server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    other = (
        "other doc served in < 5 s"
        if got is not None and "result" in got and dt < 5
        else f"other doc took {dt:.0f} s"
    )
    return f"{other}; " + ("served" if s.served() else "DEAF")


def _deep_document(s: Session) -> str:
    text = (
        "x = "
        + "(" * 3000
        + "1"
        + ")" * 3000
        + "\ndef g(a, b=["
        + "[" * 3000
        + "]" * 3000
        + "]):\n    pass\n"
    )
    return _doc_request(lambda s: s.server.open("deep.py", text))(s)


def _stale_request(s: Session) -> str:
    """An inlay-hint request, then an edit before its analysis is done: hints are kept or -32801."""
    text = CANARY + "".join(f"\ndef g{i}(a, b=1):\n    return a + b\n" for i in range(300))
    uri = s.server.open("stale.py", text)
    s.server.wait(s.server.request("textDocument/inlayHint", _hint_params(s, textDocument={"uri": uri})), 60)
    rid = None
    for v in range(2, 5):  # typing in the middle of the file: edit, request, edit ...
        new = text.replace("def g150(a, b=1)", "def g150(a, b=1" + ", c" * v + ")")
        s.server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": new}]},
        )
        if rid is None:
            rid = s.server.request(
                "textDocument/inlayHint",
                _hint_params(
                    s,
                    textDocument={"uri": uri},
                    range={"start": {"line": 0, "character": 0}, "end": {"line": 2000, "character": 0}},
                ),
            )
    got = s.server.wait(rid)
    return f"{summary(got)}; " + ("served" if s.served() else "DEAF")


def probes() -> list[Probe]:
    cl = b"Content-Length: LEN\r\n\r\n"
    return [
        # ---- framing (items 1, 2)
        Probe(
            "Content-Length 99999999999999",
            "rejected (-32600 or none); served",
            _framing(b"Content-Length: 99999999999999\r\n\r\n", _hover_body),
            _is("error -32600", "no reply"),
        ),
        Probe(
            "Content-Length shorter than body",
            "error -32700 id=null; served",
            _framing(b"Content-Length: 20\r\n\r\n", _hover_body),
            _is("error -32700"),
        ),
        Probe(
            "Content-Length longer than body",
            "answered or -32700; served",
            _framing(b"Content-Length: 4000\r\n\r\n", _hover_body),
            _is("result", "error -32700", "no reply"),
        ),
        Probe(
            "Content-Length non-numeric",
            "no reply; served",
            _framing(b"Content-Length: abc\r\n\r\n", _hover_body),
            _is("no reply", "error -32700"),
        ),
        Probe(
            "Content-Length negative",
            "no reply; served",
            _framing(b"Content-Length: -5\r\n\r\n", _hover_body),
            _is("no reply", "error -32700"),
        ),
        Probe(
            "Content-Length missing",
            "no reply; served",
            _framing(b"Content-Type: application/vscode-jsonrpc\r\n\r\n", _hover_body),
            _is("no reply"),
        ),
        Probe(
            "lowercase content-length",
            "answered; served",
            _framing(b"content-length: LEN\r\n\r\n", _hover_body),
            _is("result"),
        ),
        Probe(
            "LF-only line endings",
            "answered; served",
            _framing(b"Content-Length: LEN\n\n", _hover_body),
            _is("result"),
        ),
        Probe(
            "garbage before the header",
            "answered; served",
            _framing(b"\x00\xffgarbage\r\n" + cl, _hover_body),
            _is("result"),
        ),
        Probe(
            "unparsable JSON",
            "error -32700 id=null; served",
            _framing(cl, lambda rid, s: b'{"jsonrpc": "2.0", "id": %d, "method": ' % rid),
            _is("error -32700"),
        ),
        Probe(
            "invalid UTF-8 body",
            "error -32700 id=null; served",
            _framing(cl, lambda rid, s: b'{"jsonrpc": "2.0", "id": %d, "method": "\xff\xfe"}' % rid),
            _is("error -32700"),
        ),
        # ---- malformed messages (item 3)
        Probe(
            "body is an array",
            "error -32600 id=null; served",
            _framing(cl, lambda rid, s: b"[1, 2]"),
            _is("error -32600"),
        ),
        Probe(
            "jsonrpc 1.0 with an id",
            "error -32600; served",
            _framing(
                cl, lambda rid, s: b'{"jsonrpc": "1.0", "id": %d, "method": "textDocument/hover"}' % rid
            ),
            _is("error -32600"),
        ),
        Probe(
            "method not a string",
            "error -32600; served",
            _framing(cl, lambda rid, s: b'{"jsonrpc": "2.0", "id": %d, "method": 7}' % rid),
            _is("error -32600"),
        ),
        Probe(
            "id is an object",
            "error -32600 id=null; served",
            _framing(cl, lambda rid, s: b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "shutdown"}'),
            _is("error -32600"),
        ),
        Probe(
            "inlayHint range is a string",
            "error -32602; served",
            _served_after(
                _send(lambda s, rid: _req(rid, "textDocument/inlayHint", _hint_params(s, range="all")))
            ),
            _is("error -32602"),
        ),
        Probe(
            "inlayHint line -1",
            "error -32602; served",
            _served_after(
                _send(
                    lambda s, rid: _req(
                        rid,
                        "textDocument/inlayHint",
                        _hint_params(
                            s,
                            range={"start": {"line": -1, "character": 0}, "end": {"line": 3, "character": 0}},
                        ),
                    )
                )
            ),
            _is("error -32602"),
        ),
        Probe(
            "inlayHint line 2**40",
            "error -32602; served",
            _served_after(
                _send(
                    lambda s, rid: _req(
                        rid,
                        "textDocument/inlayHint",
                        _hint_params(
                            s,
                            range={
                                "start": {"line": 0, "character": 0},
                                "end": {"line": 2**40, "character": 0},
                            },
                        ),
                    )
                )
            ),
            _is("error -32602"),
        ),
        Probe(
            "inlayHint params an array",
            "error -32602; served",
            _served_after(_send(lambda s, rid: _req(rid, "textDocument/inlayHint", [s.canary]))),
            _is("error -32602"),
        ),
        Probe(
            "inlayHint without params",
            "error -32602; served",
            _served_after(
                _send(
                    lambda s, rid: message({"jsonrpc": "2.0", "id": rid, "method": "textDocument/inlayHint"})
                )
            ),
            _is("error -32602"),
        ),
        Probe(
            "hover character -1",
            "error -32602; served",
            _served_after(_send(lambda s, rid: _req(rid, "textDocument/hover", _hover(s.canary, 0, -1)))),
            _is("error -32602"),
        ),
        Probe(
            "unknown method",
            "error -32601; served",
            _served_after(_send(lambda s, rid: _req(rid, "typeinf/nothing", {}))),
            _is("error -32601"),
        ),
        # ---- lifecycle (items 3, 5)
        Probe(
            "request before initialize",
            "error -32002; initialize answered",
            _lifecycle_before_init,
            lambda o: o == "error -32002; initialize answered",
            fresh=True,
            initialize=False,
        ),
        Probe(
            "exit without shutdown",
            "exit code 1",
            _exit_without_shutdown,
            lambda o: o == "exit code 1",
            fresh=True,
        ),
        Probe(
            "request after shutdown",
            "shutdown result null; then error -32600; exit code 0",
            _shutdown_then_request,
            lambda o: o == "shutdown result null; then error -32600; exit code 0",
            fresh=True,
        ),
        # ---- documents (items 4, 6, 7)
        Probe(
            "unopened file missing on disk",
            "result null; served",
            _doc_request(lambda s: (s.server.root / "missing.py").as_uri()),
            _is("result null"),
        ),
        Probe(
            "https: URI",
            "result null; served",
            _doc_request(lambda s: "https://example.com/x.py"),
            _is("result null"),
        ),
        Probe(
            "untitled:foo.py opened",
            "result; served",
            _doc_request(lambda s: "untitled:foo.py", CANARY),
            _is("result"),
        ),
        Probe(
            "file://host/ URI opened",
            "result; served",
            _doc_request(lambda s: "file://host/share/x.py", CANARY),
            _is("result"),
        ),
        Probe(
            "document with NUL",
            "result; served",
            _doc_request(lambda s: (s.server.root / "nul.py").as_uri(), CANARY + "s = '\x00'\n"),
            _is("result"),
        ),
        Probe(
            "document with lone surrogate",
            "result; served",
            _doc_request(lambda s: (s.server.root / "sur.py").as_uri(), CANARY + "s = '\ud800'\n"),
            _is("result"),
        ),
        Probe(
            "didChange of an unopened document",
            "no popup; served",
            _did_change_unopened,
            lambda o: o == "no popup; served",
        ),
        Probe(
            "document over max-bytes",
            "result null/result null; 1 popup; other doc served; served",
            _big_document,
            lambda o: o == "result null/result null; 1 popup; other doc served; served",
        ),
        Probe(
            "another document while a large one is analysed",
            "other doc served in < 5 s; served",
            _busy_document,
            lambda o: o == "other doc served in < 5 s; served",
        ),
        Probe("deeply nested document", "result; served", _deep_document, _is("result")),
        Probe(
            "request superseded by an edit",
            "result [hints] or -32801; served",
            _stale_request,
            lambda o: (
                _served(o)
                and (
                    o.startswith("result [")
                    and not o.startswith("result [0]")
                    or o.startswith("error -32801")
                )
            ),
        ),
    ]


def run_probes(
    root: Path,
    selected: list[Probe] | None = None,
    report: Callable[[tuple[str, str, str, bool]], None] | None = None,
) -> list[tuple[str, str, str, bool]]:
    rows = []
    shared: Session | None = None
    try:
        for p in selected if selected is not None else probes():
            if p.fresh:
                s = start(Path(tempfile.mkdtemp(dir=root)), initialize=p.initialize)
            else:
                if shared is None or shared.server.proc.poll() is not None:
                    shared = start(Path(tempfile.mkdtemp(dir=root)))
                s = shared
            try:
                observed = p.run(s)
            except Exception as e:  # noqa: BLE001 - a probe that breaks the harness is a finding too
                observed = f"harness error {e!r}"
            if s.server.proc.poll() is not None and not p.fresh:
                observed += f" (server died: exit {s.server.proc.returncode})"
            rows.append((p.name, p.expected, observed, p.ok(observed)))
            if report is not None:
                report(rows[-1])
            if p.fresh or "DEAF" in observed:  # the next probe gets a server that still listens
                s.server.close()
                shared = None if s is shared else shared
    finally:
        if shared is not None:
            shared.server.close()
    return rows


# ---------------------------------------------------------------------- random cases
def random_case(rng: random.Random, s: Session) -> str:
    """Send one random hostile input; returns a short description of it."""
    kind = rng.choice(["frame", "params", "edit", "edit", "doc"])
    srv = s.server
    if kind == "frame":
        body = _hover_body(srv.new_id(), s)
        cut = rng.randrange(len(body))
        variants = {
            "truncated body": frame(body[:cut], b"Content-Length: %d\r\n\r\n" % len(body)),
            "length off": frame(body, b"Content-Length: %d\r\n\r\n" % (len(body) + rng.randint(-30, 30))),
            "bit flip": frame(bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.02 else b for b in body)),
            "random header": frame(
                body, bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))) + b"\r\n\r\n"
            ),
            "random bytes": bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))),
        }
        name = rng.choice(sorted(variants))
        srv.send(variants[name])
        return f"frame: {name}"
    if kind == "params":
        junk: list[Any] = [None, -1, 2**40, 2**31, "x", [], {}, 1.5, True, {"line": -3}]
        params = _hint_params(s)
        where = rng.choice(["range", "start", "line", "character", "textDocument", "uri"])
        value = rng.choice(junk)
        if where == "range":
            params["range"] = value
        elif where in ("start", "textDocument"):
            params[where if where == "textDocument" else "range"] = value
        elif where == "uri":
            params["textDocument"] = {"uri": value}
        else:
            params["range"]["end"][where] = value
        method = rng.choice(["textDocument/inlayHint", "textDocument/hover", "textDocument/codeAction"])
        srv.request(method, params)
        return f"params: {method} {where}={value!r}"
    if kind == "edit":
        lines = rng.randint(0, 40)
        change = {
            "range": {
                "start": {"line": rng.randint(-1, lines), "character": rng.randint(-1, 50)},
                "end": {"line": rng.randint(0, lines), "character": rng.randint(0, 80)},
            },
            "text": rng.choice(["", "x", "(", "def h(a=1):\n    return a\n", "\n" * 5, "é😀", "\x00", "'''"]),
        }
        srv.version += 1
        srv.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": s.canary, "version": srv.version}, "contentChanges": [change]},
        )
        return f"edit: {json.dumps(change)[:80]}"
    depth = rng.randint(100, 5000)
    text = rng.choice(
        [
            "(" * depth,
            "[" * depth + "]" * depth,
            "def f(" + "a," * depth + "):\n    pass\n",
            "if x:\n" + "".join("    " * i + "if x:\n" for i in range(1, min(depth, 200))),
        ]
    )
    srv.open(f"r{rng.randrange(10**6)}.py", text)
    return f"doc: {text[:30]!r}... ({len(text)} chars)"


def fuzz(root: Path, rounds: int, seed: int) -> tuple[int, str | None]:
    """Random cases, each followed by a normal request; (cases run, the first that broke it)."""
    rng = random.Random(seed)
    s = start(Path(tempfile.mkdtemp(dir=root)))
    try:
        for i in range(rounds):
            what = random_case(rng, s)
            s.server.settle(0.05)
            # the canary may have been edited into anything: reset it, then it must be answered
            s.server.version += 1
            s.server.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": s.canary, "version": s.server.version},
                    "contentChanges": [{"text": CANARY}],
                },
            )
            if not s.served():
                return i + 1, f"{what} (exit {s.server.proc.poll()})"
            if s.popups():
                return i + 1, f"{what}: popup {s.popups()[0][:100]!r}"
        return rounds, None
    finally:
        s.server.close()


def print_table(rows: list[tuple[str, str, str, bool]]) -> None:
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"{'probe':<{w[0]}}  {'expected':<{w[1]}}  {'observed':<{w[2]}}  ok")
    for name, expected, observed, ok in rows:
        print(f"{name:<{w[0]}}  {expected:<{w[1]}}  {observed:<{w[2]}}  {'yes' if ok else 'NO'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", help="run the probes whose name contains this")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text('[project]\nname = "ws"\n')
        chosen = [p for p in probes() if args.only is None or args.only in p.name]
        rows = run_probes(root, chosen, lambda r: print(" | ".join(map(str, r)), file=sys.stderr, flush=True))
        print_table(rows)
        done, broke = fuzz(root, args.rounds, args.seed) if args.rounds else (0, None)
        print(f"\nrandom cases: {done} run, " + (f"first failure: {broke}" if broke else "no failure"))
        return 0 if all(r[3] for r in rows) and broke is None else 1


if __name__ == "__main__":
    sys.exit(main())
