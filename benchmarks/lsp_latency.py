"""Language-server latency and memory over a scripted edit session.

    python benchmarks/lsp_latency.py FILE.py [--edits 100]

Starts a fresh `typeinf lsp`, opens FILE (a large real file), and measures:
  first_hints_s     didOpen -> first non-empty inlay-hint response (model load included)
  edit_hint_ms      after each edit inside one function (a new parameter with a default at the end
                    of its signature, so the edited function's sites miss the cache; the edits rotate
                    over the file's functions), the inlay-hint request's latency; median/p90
  peak_rss_mb       the server's peak resident memory (VmHWM) after all edits
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
import tokenize
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def signature_ends(lines: list[str]) -> list[tuple[int, int]]:
    """(line, column) of the closing parenthesis of every function signature that a parameter
    with a default can be appended to (not after `**kwargs`)."""
    toks = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    out = []
    for k, t in enumerate(toks):
        if t.type != tokenize.NAME or t.string != "def" or k + 2 >= len(toks) or toks[k + 2].string != "(":
            continue
        depth, saw_kwargs = 0, False
        for u in toks[k + 2 :]:
            depth += u.string in "([{" and u.type == tokenize.OP
            depth -= u.string in ")]}" and u.type == tokenize.OP
            saw_kwargs |= u.string == "**" and depth == 1
            if depth == 0:
                if not saw_kwargs:
                    out.append((u.start[0] - 1, u.start[1]))
                break
    return out


async def run(path: Path, edits: int) -> dict:
    client = LanguageClient("typeinf-bench", "1")

    @client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(params: None) -> None:
        return None

    await client.start_io(sys.executable, "-m", "typeinf", "lsp")
    caps = lsp.ClientCapabilities(
        workspace=lsp.WorkspaceClientCapabilities(
            inlay_hint=lsp.InlayHintWorkspaceClientCapabilities(refresh_support=True)
        )
    )
    await client.initialize_async(lsp.InitializeParams(capabilities=caps, root_uri=path.parent.as_uri()))
    client.initialized(lsp.InitializedParams())
    text = path.read_text()
    uri = path.resolve().as_uri()
    lines = text.splitlines()
    rng = lsp.Range(lsp.Position(0, 0), lsp.Position(len(lines) + 1, 0))
    t0 = time.perf_counter()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "python", 1, text)))
    hints = None
    while not hints:
        hints = await client.text_document_inlay_hint_async(
            lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), rng)
        )
    first = time.perf_counter() - t0
    # edit inside one function at a time, rotating over the file's functions: a new parameter with a
    # default at the end of the signature, so the edited function's sites miss the cache
    latencies = []
    for k in range(edits):
        sigs = signature_ends(lines)  # (again after each edit: the edited line's columns moved)
        i, col = sigs[k % len(sigs)]
        before = "\n".join(lines[:i] + [lines[i][:col]]).rstrip()
        sep = "" if before.endswith(("(", ",")) else ", "
        lines[i] = lines[i][:col] + sep + f"bench_{k}=0" + lines[i][col:]
        new = "\n".join(lines) + "\n"
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(version=k + 2, uri=uri),
                [lsp.TextDocumentContentChangeWholeDocument(new)],
            )
        )
        t = time.perf_counter()
        await client.text_document_inlay_hint_async(lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), rng))
        latencies.append((time.perf_counter() - t) * 1000)
    pid = client._server.pid  # type: ignore[union-attr]
    rss = peak_rss_mb(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    latencies.sort()
    return {
        "file": str(path),
        "lines": len(lines),
        "first_hints_s": round(first, 2),
        "edit_hint_ms_median": round(statistics.median(latencies), 1),
        "edit_hint_ms_p90": round(latencies[int(0.9 * (len(latencies) - 1))], 1),
        "edits": edits,
        "peak_rss_mb": round(rss, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--edits", type=int, default=100)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.file, args.edits)), indent=1))


if __name__ == "__main__":
    main()
