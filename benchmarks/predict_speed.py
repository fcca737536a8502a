"""Prediction throughput with the shipped model, slicing included, and cold CLI latency.

    python benchmarks/predict_speed.py DIR [--repeat 3] [--cold FILE]

bulk: slice every file under DIR and predict every unannotated site in one batched pass
(a fresh Predictor per run, so the content cache does not help); medians over --repeat runs.
cold: wall time of `typeinf predict FILE` in a new process (model load included), median of 3.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from typeinf.files import SourceFile, read_source, walk
from typeinf.inference.predict import Predictor
from typeinf.slices import extract_with_diagnostics


def bulk(root: Path, repeat: int) -> dict:
    files = [(f.path, f.language) for f in walk([root]) if isinstance(f, SourceFile)]
    datas = [(p, lang, d) for p, lang in files if isinstance(d := read_source(p, 1_000_000), bytes)]
    runs, n = [], 0
    for _ in range(repeat):
        pred = Predictor()
        t0 = time.perf_counter()
        slices = []
        for p, lang, data in datas:
            slices.extend(s for s in extract_with_diagnostics(data, lang, str(p))[0] if s.annotation is None)
        pred.predict(slices)
        runs.append(time.perf_counter() - t0)
        n = len(slices)
    med = statistics.median(runs)
    return {"files": len(datas), "sites": n, "seconds_median": round(med, 2), "sites_per_s": round(n / med)}


def cold(path: Path) -> dict:
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "typeinf", "predict", str(path), "--format", "json"],
            capture_output=True,
            check=False,
        )
        runs.append(time.perf_counter() - t0)
    lines = path.read_bytes().count(b"\n")
    return {"file": str(path), "lines": lines, "seconds_median": round(statistics.median(runs), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", type=Path)
    args = ap.parse_args()
    res = {"bulk": bulk(args.root, args.repeat)}
    if args.cold:
        res["cold"] = cold(args.cold)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
