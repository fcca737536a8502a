"""`typeinf lsp` against hostile input, over real framed JSON-RPC bytes on stdio (issue #19).

The probes are benchmarks/fuzz_lsp.py's (one source): each sends something malformed, then a
normal inlay-hint request that must be answered.  Here they run once each, plus a bounded
number of random cases; `python benchmarks/fuzz_lsp.py` runs the long version.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from typeinf.lsp.hints import Insertion, map_insertions
from typeinf.lsp.wire import Body, FrameParser, Rejected

ROOT = Path(__file__).resolve().parents[1]


def _fuzz():
    if "fuzz_lsp" in sys.modules:
        return sys.modules["fuzz_lsp"]
    spec = importlib.util.spec_from_file_location("fuzz_lsp", ROOT / "benchmarks" / "fuzz_lsp.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_lsp"] = mod
    spec.loader.exec_module(mod)
    return mod


fuzz = _fuzz()
PROBES = {p.name: p for p in fuzz.probes()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / "pyproject.toml").write_text('[project]\nname = "ws"\n')
    return root


@pytest.fixture(scope="module")
def shared(workspace):
    """One server for the probes that leave it running (restarted if one leaves it deaf)."""
    holder = {"s": None}

    def get():
        s = holder["s"]
        if s is None or s.server.proc.poll() is not None:
            sub = workspace / f"s{time.monotonic_ns()}"
            sub.mkdir()
            s = holder["s"] = fuzz.start(sub)
        return s

    yield get
    if holder["s"] is not None:
        holder["s"].server.close()


@pytest.mark.parametrize("name", list(PROBES))
def test_probe(name, shared, workspace):
    probe = PROBES[name]
    rows = fuzz.run_probes(workspace, [probe]) if probe.fresh else None
    if rows is None:
        s = shared()
        observed = probe.run(s)
        if "DEAF" in observed:
            s.server.close()
        rows = [(name, probe.expected, observed, probe.ok(observed))]
    ((_, expected, observed, ok),) = rows
    assert ok, f"{name}: expected {expected!r}, observed {observed!r}"


def test_random_cases_leave_the_server_serving(workspace):
    done, broke = fuzz.fuzz(workspace, rounds=25, seed=19)
    assert broke is None, f"after {done} random cases: {broke}"


# ---------------------------------------------------------------------- the frame parser (pure)
def _bodies(events):
    return [e.data for e in events if isinstance(e, Body)]


def test_frames_split_anywhere_are_reassembled():
    wire = b"".join(fuzz.message({"jsonrpc": "2.0", "method": "m", "params": {"i": i}}) for i in range(5))
    for step in (1, 7, 64):
        parser = FrameParser()
        events = [e for k in range(0, len(wire), step) for e in parser.feed(wire[k : k + step])]
        assert len(_bodies(events)) == 5 and not [e for e in events if isinstance(e, Rejected)]


def test_oversized_frame_is_skipped_without_keeping_it():
    parser = FrameParser(max_bytes=1000)
    events = parser.feed(
        b'Content-Length: 5000\r\n\r\n{"jsonrpc": "2.0", "id": 7, "method": "x", "params": "'
    )
    assert [e.request_id for e in events if isinstance(e, Rejected)] == [7]
    for _ in range(10):
        parser.feed(b"a" * 500)
    assert len(parser.buf) < 200  # the body is dropped as it comes, not buffered
    tail = b'"}' + fuzz.message({"jsonrpc": "2.0", "method": "next"})
    assert _bodies(parser.feed(b"a" * 4 + tail)) == [b'{"jsonrpc": "2.0", "method": "next"}']


def test_a_length_too_long_stops_at_the_next_header():
    first, second = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "a"}',
        fuzz.message({"jsonrpc": "2.0", "method": "b"}),
    )
    events = FrameParser().feed(b"Content-Length: 500\r\n\r\n" + first + second)
    assert _bodies(events) == [first, b'{"jsonrpc": "2.0", "method": "b"}']


# ---------------------------------------------------------------------- stale hints moved (pure)
def test_hints_of_an_older_version_move_to_unchanged_lines_only():
    old = b"def f(a):\n    pass\n\ndef g(b):\n    pass\n\ndef h(c):\n    pass\n"
    new = old.replace(b"def g(b)", b"def g(b, extra)").replace(b"def f", b"# top\ndef f")
    hints = [
        (None, Insertion(old.index(b"a)") + 1, ": int")),
        (None, Insertion(old.index(b"b)") + 1, ": str")),
        (None, Insertion(old.index(b"c)") + 1, ": float")),
    ]
    moved = map_insertions(old, new, hints)  # type: ignore[arg-type]
    assert [(new[i.offset - 1 : i.offset], i.text) for _, i in moved] == [(b"c", ": float")]
    same = map_insertions(old, old.replace(b"def g(b)", b"def g(bb)"), hints)  # type: ignore[arg-type]
    assert [i.text for _, i in same] == [": int", ": float"]
