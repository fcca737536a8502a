"""Where the language server's time goes during an edit session, by stage, from py-spy's samples.

    python benchmarks/lsp_latency.py FILE --edits 40 --py-spy /tmp/spy.txt
    python benchmarks/lsp_profile.py /tmp/spy.txt --edits 40

py-spy (`--threads --format raw`) writes one line per distinct stack with its sample count; each
sample goes to the stage of the innermost frame in its stack that names a stage (`STAGES`, first
match wins per frame), or to `other` in its thread.  Printed: milliseconds per edit of each stage
in each thread (the model thread does an analysis; the checker thread waits for the checker; the
main thread reads and writes JSON-RPC and runs the event loop).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

# (stage, frame names): the innermost frame of a sample that is in one of these names its stage
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("parse", ("parse", "parse_incremental", "Parser.parse", "bridge_grammar_gaps", "reparse")),
    ("slicing", ("extract_with_diagnostics", "extract_python", "extract_typescript", "slice_document")),
    ("project index", ("ProjectIndex.add", "ProjectIndex.names_for", "ProjectIndex.types_for")),
    ("evidence", ("Engine.evidence",)),
    ("model", ("Scorer.rank.<locals>.submit", "Scorer._run")),
    ("features+keys", ("Scorer.rank",)),
    ("finalize+rerank", ("Predictor.predict", "finalize", "Reranker.apply")),
    ("modules", ("TypeinfServer._with_modules", "Engine.with_modules")),
    ("insertions", ("insertions",)),
    ("checker", ("Engine.checker_types", "TypeinfServer._checked_evidence")),
    ("JSON-RPC", ("JsonRPCProtocol.handle_message", "JsonRPCProtocol._send_data", "serve", "structure",
                  "unstructure", "TypeinfProtocol.handle_message")),
]  # fmt: skip
_FRAME = re.compile(r" \(.*\)$")


def stage_of(frames: list[str]) -> str:
    for f in reversed(frames):
        for stage, names in STAGES:
            if f in names:
                return stage
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", help="py-spy record --threads --format raw output")
    ap.add_argument("--edits", type=int, required=True)
    ap.add_argument("--rate", type=int, default=200, help="py-spy's sampling rate (samples per second)")
    args = ap.parse_args()
    per: Counter[tuple[str, str]] = Counter()
    for line in open(args.raw):
        stack, _, n = line.rstrip().rpartition(" ")
        if not stack or not n.isdigit():  # (a last line cut short when py-spy was stopped)
            continue
        frames = [_FRAME.sub("", f) for f in stack.split(";")]
        thread = re.sub(r"^thread \(\d+\):? ?", "", frames[0]) or "main"
        thread = re.sub(r"_\d+$", "", thread)
        per[(thread, stage_of(frames[1:]))] += int(n)
    ms = 1000 / args.rate / args.edits
    by_thread: dict[str, list[tuple[str, int]]] = {}
    for (thread, stage), n in per.most_common():
        by_thread.setdefault(thread, []).append((stage, n))
    for thread, stages in sorted(by_thread.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        total = sum(n for _, n in stages)
        print(f"{thread}: {total * ms:.1f} ms per edit")
        for stage, n in stages:
            print(f"  {stage:16s} {n * ms:8.1f}")


if __name__ == "__main__":
    main()
