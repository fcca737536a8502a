"""Accuracy on real applications with the shared strip-and-restore protocol.

    python benchmarks/strip_restore_eval.py python SRC [SRC ...] [--drop] [--out results.json]
    python benchmarks/strip_restore_eval.py typescript SRC [SRC ...] [--drop]

For each project: strip its annotations with ../shared/eval (beside the repository) into a
temporary copy (with --drop also the imports only annotations used: the strict setting), run
`typeinf predict --format json` inside the copy, and score with the protocol's `score`.
Reports coverage, exact and base match overall, by kind, and precision at thresholds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import load

from typeinf.inference.bundle import MODEL_DIR, Calibration


def run_project(lang: str, src: Path, drop: bool, tmp: Path, baseline: bool = False) -> dict:
    h = load(lang)
    dst = tmp / src.name
    argv = ["strip", str(src), str(dst)] + (["--drop-annotation-imports"] if drop else [])
    if lang != "python":
        argv.append("--skip-tests")
    h.main(argv)
    pred_path = tmp / f"{src.name}.pred.json"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "typeinf",
            "predict",
            ".",
            "--format",
            "json",
            "--lang",
            lang,
            "--project",
            ".",
        ],
        cwd=dst,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 123):
        raise RuntimeError(proc.stderr[-2000:])
    pred_path.write_text(proc.stdout)
    res = {"typeinf": score(h, dst, pred_path, tmp / f"{src.name}.score.json", lang)}
    res["typeinf"]["predict_seconds"] = round(seconds, 1)
    if baseline:
        tool = "pyright" if lang == "python" else "tsc"
        base_path = tmp / f"{src.name}.{tool}.json"
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("baselines.py")), tool, str(dst), str(base_path)],
            check=True,
        )
        res[tool] = score(h, dst, base_path, tmp / f"{src.name}.{tool}.score.json", lang)
        res[tool]["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def _thresholds(lang: str) -> str:
    """The usual thresholds plus the shipped model's default for the language (what `typeinf annotate` writes)."""
    default = Calibration.load(MODEL_DIR).threshold(lang)
    values = {0.0, 0.5, 0.7, 0.9, 0.95, round(default, 3)}
    return ",".join(str(v) for v in sorted(values))


def score(h, dst: Path, preds: Path, out_json: Path, lang: str) -> dict:
    h.main(["score", str(dst), str(preds), "--json", str(out_json), "--thresholds", _thresholds(lang)])
    return json.loads(out_json.read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--drop", action="store_true", help="strict: also drop annotation-only imports")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--baseline", action="store_true", help="also score pyright (Python) or tsc (TypeScript)")
    ap.add_argument(
        "--baseline-from",
        type=Path,
        help="reuse the checker's scores from an earlier results file of the same setting (the checker "
        "and the stripped sites are unchanged; a project whose site count differs is re-run)",
    )
    args = ap.parse_args()
    prev = json.loads(args.baseline_from.read_text()) if args.baseline_from else {}
    tool = "pyright" if args.lang == "python" else "tsc"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            old = prev.get(src.name, {})
            reuse = bool(old.get(tool)) and not args.baseline
            res = run_project(
                args.lang, src.resolve(), args.drop, Path(tmp), args.baseline or (bool(prev) and not reuse)
            )
            if reuse and old.get("typeinf", {}).get("truth_sites") != res["typeinf"].get("truth_sites"):
                res = run_project(args.lang, src.resolve(), args.drop, Path(tmp), True)
            elif reuse:
                res[tool] = {**old[tool], "reused_from": str(args.baseline_from)}
            results[src.name] = res
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
