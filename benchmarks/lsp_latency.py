"""Language-server latency and memory over a scripted edit session, Python or TypeScript.

    python benchmarks/lsp_latency.py FILE [--edits 40] [--checker on|off] [--sync incremental|full]

Starts a fresh `typeinf lsp` (a cold ranking cache of its own: a temporary TYPEINF_CACHE_DIR,
unless --warm-cache), opens FILE (a large real file, left where it is: its project is the
server's) and measures:

  first_hints_s     didOpen -> the first non-empty inlay-hint response for the viewport (--viewport
                    lines, default 60, from the file's first function, or with --viewport-at last
                    its last one: what an editor shows of a file and asks hints for; every
                    prediction is a hint, minConfidence 0; model load included)
  all_hints_s       didOpen -> the inlay-hint response for the whole file
  settled_s         didOpen -> the server idle (the project's index scanned, the checker's first
                    pass done: under 5% of a core for --settle seconds); the edits start then
  edit_hint_ms      after each edit inside one function, the inlay-hint request's latency
                    (sent right after the didChange; for the whole file, or with --edit-range
                    viewport for the --viewport lines around the edit): p50 / p90 / max.  An edit adds a parameter
                    to a function's signature (Python `bench_K=0`, before a `**kwargs`;
                    TypeScript `p_K?: number`, before a rest parameter), so the edited function's
                    sites miss the caches (their signature changed); the edits are spread evenly
                    over the file's functions, and sent as the LSP's incremental changes (a range
                    and its new text, as editors send them) or, with --sync full, as whole texts
  peak_rss_mb       the server's peak resident memory (VmHWM) after all edits
  checker_rss_mb    the resident memory of the server's child processes (the checker) at the end

--py-spy OUT records the server's threads during the edits (py-spy's raw stacks, for
benchmarks/lsp_profile.py, which sums them up by stage).

--checker off sends the editor setting `typeinf.checker: false` (the model and the project's
annotations only).  TYPEINF_TYPESCRIPT (the TypeScript compiler for the checker) is passed on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from typeinf.slices import language_for_path
from typeinf.slices.source import parse
from typeinf.slices.typescript import FUNC_TYPES

LANGUAGE_IDS = {"python": "python", "typescript": "typescript", "tsx": "typescriptreact"}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """The process's descendants (the checker and its helpers), from the parents in /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out.extend(kids)
        todo.extend(kids)
    return out


def children_rss_mb(pid: int) -> float:
    """The resident memory of the process's descendants (the checker and its helpers)."""
    total = 0.0
    for k in descendants(pid):
        try:
            for line in Path(f"/proc/{k}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """The CPU time used by the process and its descendants so far."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def insertion_points(data: bytes, language: str, k: int) -> list[tuple[int, bytes]]:
    """For every function that can take one more parameter: (byte offset, text to insert there)
    adding parameter number k, in document order."""
    root = parse(data, language).root_node
    out = []
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(reversed(node.children))
        if language == "python":
            if node.type != "function_definition":
                continue
            params = node.child_by_field_name("parameters")
            new = f"bench_{k}=0"
            last = "dictionary_splat_pattern"
        else:
            # the slicer's function nodes, with a body: a parameter list that can take one more
            if node.type not in FUNC_TYPES or node.child_by_field_name("body") is None:
                continue
            params = node.child_by_field_name("parameters")
            new = f"p_{k}?: number"
            last = "rest_pattern"
        if params is None or params.type not in ("parameters", "formal_parameters") or params.has_error:
            continue
        named = params.named_children
        tail = next((c for c in named if c.type == last or any(g.type == last for g in c.children)), None)
        if tail is not None:  # before `**kwargs` / `...rest`
            out.append((tail.start_byte, f"{new}, ".encode()))
            continue
        close = params.children[-1]
        if close.type != ")":
            continue
        before = data[params.start_byte + 1 : close.start_byte].rstrip()
        sep = "" if not before or before.endswith(b",") else ", "
        out.append((close.start_byte, f"{sep}{new}".encode()))
    return sorted(out)


def utf16_position(data: bytes, offset: int) -> lsp.Position:
    line_start = data.rfind(b"\n", 0, offset) + 1
    prefix = data[line_start:offset].decode("utf-8", "replace")
    return lsp.Position(data.count(b"\n", 0, offset), len(prefix.encode("utf-16-le")) // 2)


async def run(
    path: Path,
    edits: int,
    checker: bool,
    incremental: bool,
    env: dict[str, str],
    spy: str | None,
    settle: float,
    viewport: int = 60,
    edit_range: str = "whole",
    viewport_at: str = "first",
) -> dict:
    client = LanguageClient("typeinf-bench", "1")

    @client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(params: None) -> None:
        return None

    @client.feature(lsp.WINDOW_SHOW_MESSAGE)
    def message(params: lsp.ShowMessageParams) -> None:
        print(f"server: {params.message}", file=sys.stderr)

    await client.start_io(sys.executable, "-m", "typeinf", "lsp", env=env)
    pid = client._server.pid  # type: ignore[union-attr]
    caps = lsp.ClientCapabilities(
        workspace=lsp.WorkspaceClientCapabilities(
            inlay_hint=lsp.InlayHintWorkspaceClientCapabilities(refresh_support=True)
        )
    )
    language = language_for_path(path)
    assert language is not None, f"{path}: not a Python or TypeScript file"
    await client.initialize_async(
        lsp.InitializeParams(
            capabilities=caps,
            root_uri=path.parent.as_uri(),
            # every prediction is a hint (minConfidence 0): a viewport has hints to show, whatever
            # the model's confidence on the file's sites
            initialization_options={"typeinf": {"checker": checker, "minConfidence": 0.0}},
        )
    )
    client.initialized(lsp.InitializedParams())
    data = path.read_bytes()
    uri = path.resolve().as_uri()
    whole = lsp.Range(lsp.Position(0, 0), lsp.Position(data.count(b"\n") + 2, 0))
    t0 = time.perf_counter()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, LANGUAGE_IDS[language], 1, data.decode()))
    )
    # the viewport: --viewport lines from the file's first (or last) function: sites to hint
    points = insertion_points(data, language, 0)
    at = (points[0] if viewport_at == "first" else points[-1])[0] if points else 0
    top = max(0, data.count(b"\n", 0, at) - 5)
    view = lsp.Range(lsp.Position(top, 0), lsp.Position(top + viewport, 0))
    hints = None
    while not hints and time.perf_counter() - t0 < 120:  # (a viewport without a confident hint: empty)
        hints = await client.text_document_inlay_hint_async(
            lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), view)
        )
        if not hints:
            await asyncio.sleep(0.05)
    first = time.perf_counter() - t0
    n_first = len(hints)
    all_hints = await client.text_document_inlay_hint_async(
        lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), whole)
    )
    every = time.perf_counter() - t0
    # the project's index is scanned and the checker starts after the first hints: the edits start
    # once the server and its checker are idle (under 5% of a core over `settle` seconds)
    samples = [(time.perf_counter(), cpu_seconds(pid))]
    while time.perf_counter() - t0 < 300:
        await asyncio.sleep(0.25)
        samples.append((time.perf_counter(), cpu_seconds(pid)))
        old = [x for x in samples if x[0] <= samples[-1][0] - settle]
        if old and samples[-1][1] - old[-1][1] < 0.05 * (samples[-1][0] - old[-1][0]):
            break
    settled = time.perf_counter() - t0
    spy_proc = None
    if spy:  # sample every thread of the server during the edits (py-spy: pip install py-spy)
        spy_proc = await asyncio.create_subprocess_exec(
            "py-spy", "record", "--pid", str(pid), "--threads", "--rate", "200", "--format", "raw",
            "--output", spy, "--nonblocking",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.sleep(1.0)  # attached
    latencies = []
    functions = len(insertion_points(data, language, 0))
    for k in range(edits):
        points = insertion_points(data, language, k)  # again after each edit: offsets moved
        at, text = points[(k * len(points)) // edits]
        pos = utf16_position(data, at)
        data = data[:at] + text + data[at:]
        change: lsp.TextDocumentContentChangeEvent = (
            lsp.TextDocumentContentChangePartial(lsp.Range(pos, pos), text.decode())
            if incremental
            else lsp.TextDocumentContentChangeWholeDocument(data.decode())
        )
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(version=k + 2, uri=uri), [change]
            )
        )
        asked = whole
        if edit_range == "viewport":  # the --viewport lines around the edit, as VS Code and Helix ask
            top = max(0, pos.line - viewport // 2)
            asked = lsp.Range(lsp.Position(top, 0), lsp.Position(top + viewport, 0))
        t = time.perf_counter()
        await client.text_document_inlay_hint_async(
            lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), asked)
        )
        latencies.append((time.perf_counter() - t) * 1000)
    rss = peak_rss_mb(pid)
    checker_rss = children_rss_mb(pid)
    if spy_proc is not None:
        spy_proc.send_signal(2)
        await spy_proc.wait()
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    latencies.sort()
    return {
        "file": str(path),
        "lines": data.count(b"\n"),
        "functions": functions,
        "checker": checker,
        "sync": "incremental" if incremental else "full",
        "edit_range": edit_range,
        "first_hints_s": round(first, 2),
        "first_hints": n_first,
        "viewport_lines": viewport,
        "viewport_at": viewport_at,
        "all_hints_s": round(every, 2),
        "all_hints": len(all_hints or []),
        "settled_s": round(settled, 1),
        "edits": edits,
        "edit_hint_ms_p50": round(statistics.median(latencies), 1),
        "edit_hint_ms_p90": round(latencies[int(0.9 * (len(latencies) - 1))], 1),
        "edit_hint_ms_max": round(latencies[-1], 1),
        "peak_rss_mb": round(rss, 1),
        "checker_rss_mb": round(checker_rss, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--edits", type=int, default=40)
    ap.add_argument("--checker", choices=("on", "off"), default="on")
    ap.add_argument("--sync", choices=("incremental", "full"), default="incremental")
    ap.add_argument("--settle", type=float, default=3.0, help="idle seconds before the edits start")
    ap.add_argument("--viewport", type=int, default=60, help="lines of the first hint request")
    ap.add_argument(
        "--viewport-at",
        choices=("first", "last"),
        default="first",
        help="the first hint request's lines start at the file's first or last function",
    )
    ap.add_argument(
        "--edit-range",
        choices=("whole", "viewport"),
        default="whole",
        help="what the request after each edit asks for: the whole file (as Neovim asks) or the "
        "--viewport lines around the edit (as VS Code and Helix ask)",
    )
    ap.add_argument("--warm-cache", action="store_true", help="the user's ranking cache, not a fresh one")
    ap.add_argument("--py-spy", metavar="OUT", help="record the server with py-spy (raw stacks) into OUT")
    args = ap.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if not args.warm_cache:
            env["TYPEINF_CACHE_DIR"] = cache
        result = asyncio.run(
            run(
                args.file,
                args.edits,
                args.checker == "on",
                args.sync == "incremental",
                env,
                args.py_spy,
                args.settle,
                args.viewport,
                args.edit_range,
                args.viewport_at,
            )
        )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
