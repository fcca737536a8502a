"""Language-server latency and memory over a scripted edit session.

    python benchmarks/lsp_latency.py FILE.py [--edits 100]

Starts a fresh `typeinf lsp`, opens FILE (a large real file), and measures:
  first_hints_s     didOpen -> first non-empty inlay-hint response (model load included)
  edit_hint_ms      after each edit inside one function (a new parameter with a default, so the
                    edited function misses the cache), the inlay-hint request's latency; median/p90
  peak_rss_mb       the server's peak resident memory (VmHWM) after all edits
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(path: Path, edits: int) -> dict:
    client = LanguageClient("typeinf-bench", "1")

    @client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(params: None) -> None:
        return None

    await client.start_io(sys.executable, "-m", "typeinf", "lsp")
    caps = lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(
        inlay_hint=lsp.InlayHintWorkspaceClientCapabilities(refresh_support=True)))  # fmt: skip
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
        hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), rng))
    first = time.perf_counter() - t0
    # edit inside one function: add a parameter with a default to the def lines, one at a time
    defs = [i for i, ln in enumerate(lines) if re.match(r"\s*def \w+\(", ln) and ln.rstrip().endswith("):")]
    latencies = []
    for k in range(edits):
        i = defs[k % len(defs)]
        lines[i] = lines[i].rstrip()[:-2] + (", " if not lines[i].rstrip().endswith("():") else "") + f"bench_{k}=0):"
        new = "\n".join(lines) + "\n"
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version=k + 2, uri=uri), [lsp.TextDocumentContentChangeWholeDocument(new)]))  # fmt: skip
        t = time.perf_counter()
        await client.text_document_inlay_hint_async(lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), rng))
        latencies.append((time.perf_counter() - t) * 1000)
    pid = client._server.pid  # type: ignore[union-attr]
    rss = peak_rss_mb(pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    latencies.sort()
    return {"file": str(path), "lines": len(lines), "first_hints_s": round(first, 2),
            "edit_hint_ms_median": round(statistics.median(latencies), 1),
            "edit_hint_ms_p90": round(latencies[int(0.9 * (len(latencies) - 1))], 1),
            "edits": edits, "peak_rss_mb": round(rss, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("--edits", type=int, default=100)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.file, args.edits)), indent=1))


if __name__ == "__main__":
    main()
