"""Accuracy on real applications with the shared strip-and-restore protocol.

    python benchmarks/strip_restore_eval.py python SRC [SRC ...] [--drop] [--keep-fraction 0.5] [--out results.json]
    python benchmarks/strip_restore_eval.py typescript SRC [SRC ...] [--drop] [--configs typeinf,no-checker,model]

For each project: strip its annotations with ../shared/eval (beside the repository) into a
temporary copy (with --drop also the imports only annotations used: the strict setting; with
--keep-fraction 0.5 the annotations of half the functions stay: the half-typed setting), run
`typeinf predict --format json` inside the copy, and score with the protocol's `score`.
Reports coverage, exact and base match overall, by kind, and precision at thresholds.

--configs runs `typeinf predict` several ways on the same stripped copy, to show what each stage
of the engine adds (typeinf.inference.engine):
    typeinf       the whole engine: the model, the project's annotations and the checker's types
    no-checker    without the checker (--no-checker): the model and the project's annotations
    model         the model alone (TYPEINF_RERANK=0: no re-ranking with the project's evidence)
    checker       the checker's own inference alone (pyrefly / the TypeScript compiler, as the engine
                  asks it: a site it has no concrete type for is not covered)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import load

from typeinf.inference.bundle import Calibration
from typeinf.inference.predict import PredictorSettings

CONFIGS = {  # name -> (extra flags, extra environment)
    "typeinf": ([], {}),
    "no-checker": (["--no-checker"], {}),
    "model": (["--no-checker"], {"TYPEINF_RERANK": "0"}),
}


def run_project(
    lang: str,
    src: Path,
    drop: bool,
    tmp: Path,
    baseline: bool = False,
    keep: float | None = None,
    configs: tuple[str, ...] = ("typeinf",),
) -> dict:
    h = load(lang)
    dst = tmp / src.name
    argv = ["strip", str(src), str(dst)] + (["--drop-annotation-imports"] if drop else [])
    if keep:
        argv += ["--keep-fraction", str(keep)]
    if lang != "python":
        argv.append("--skip-tests")
    h.main(argv)
    res = {}
    for config in configs:
        if config == "checker":
            pred_path = tmp / f"{src.name}.checker.pred.json"
            t0 = time.perf_counter()
            pred_path.write_text(json.dumps(checker_predictions(lang, dst)))
            res[config] = score(h, dst, pred_path, tmp / f"{src.name}.checker.score.json", lang)
            res[config]["predict_seconds"] = round(time.perf_counter() - t0, 1)
            continue
        flags, env = CONFIGS[config]
        pred_path = tmp / f"{src.name}.{config}.pred.json"
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
            ]
            + flags,
            cwd=dst,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
        seconds = time.perf_counter() - t0
        if proc.returncode not in (0, 123):
            raise RuntimeError(proc.stderr[-2000:])
        pred_path.write_text(proc.stdout)
        res[config] = score(h, dst, pred_path, tmp / f"{src.name}.{config}.score.json", lang)
        res[config]["predict_seconds"] = round(seconds, 1)
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


def checker_predictions(lang: str, dst: Path) -> list[dict]:
    """The checker's concrete type at every stripped site (typeinf.inference.engine's checker)."""
    from collections import defaultdict

    from typeinf.annotate.dts import typescript_from_env
    from typeinf.inference.engine import Engine, FileSites, default_checkers
    from typeinf.slices import extract, language_for_path

    truth = json.loads((dst / ".truth.json").read_text())
    by_file: dict[str, list[dict]] = defaultdict(list)
    for t in truth:
        by_file[t["file"]].append(t)
    out = []
    engine = Engine(None, None, default_checkers(dst, typescript_from_env()))  # type: ignore[arg-type]
    with engine:
        for rel, sites in sorted(by_file.items()):
            language = language_for_path(rel) or lang
            wanted = {(t["line"], t["column"], t["kind"]) for t in sites}
            slices = [
                s
                for s in extract((dst / rel).read_bytes(), language, rel)
                if (s.line, s.column, s.kind) in wanted
            ]
            types = engine.checker_types(FileSites(dst / rel, language, slices))
            for s, t in zip(slices, types, strict=True):
                if t:
                    out.append({"file": rel, "line": s.line, "column": s.column, "kind": s.kind,
                                "qualname": s.qualname, "name": s.name, "type": t, "confidence": 1.0})  # fmt: skip
    return out


def _thresholds(lang: str) -> str:
    """The usual thresholds plus the model's default for the language (what `typeinf annotate` writes):
    the model the runs use (TYPEINF_MODEL_DIR, else the shipped one)."""
    default = Calibration.load(PredictorSettings.from_env().model_dir).threshold(lang)
    values = {0.0, 0.5, 0.7, 0.9, 0.95, round(default, 3)}
    return ",".join(str(v) for v in sorted(values))


def score(h, dst: Path, preds: Path, out_json: Path, lang: str) -> dict:
    h.main(["score", str(dst), str(preds), "--json", str(out_json), "--thresholds", _thresholds(lang)])
    return json.loads(out_json.read_text())


def pooled(results: dict) -> dict:
    """Each configuration's exact and base match over all the projects' sites, overall and by kind,
    and what it would write at the language's default threshold (precision and share of sites)."""
    out: dict = {}
    for res in results.values():
        for config, sc in res.items():
            if not isinstance(sc, dict) or "all" not in sc:
                continue
            mine = out.setdefault(config, {})
            for part in ("all", "param", "return", "var"):
                got = sc.get(part)
                if not got:
                    continue
                acc = mine.setdefault(
                    part, {"sites": 0, "exact_n": 0, "base_n": 0, "written": 0, "written_exact": 0}
                )
                acc["sites"] += got["sites"]
                acc["exact_n"] += got["exact_n"]
                acc["base_n"] += got["base_n"]
                at = [k for k in got.get("precision", {}) if k not in ("0.0", "0.5", "0.7", "0.9", "0.95")]
                if at:
                    row = got["precision"][at[0]]
                    acc["written"] += row["n"]
                    acc["written_exact"] += round(row["exact"] * row["n"])
    for mine in out.values():
        for acc in mine.values():
            n = max(acc["sites"], 1)
            acc["exact"] = round(acc["exact_n"] / n, 3)
            acc["base"] = round(acc["base_n"] / n, 3)
            acc["at_default_threshold"] = {
                "share": round(acc["written"] / n, 3),
                "precision": round(acc["written_exact"] / max(acc["written"], 1), 3),
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--drop", action="store_true", help="strict: also drop annotation-only imports")
    ap.add_argument(
        "--keep-fraction",
        type=float,
        default=None,
        help="half-typed: 0.5 keeps half the functions' annotations",
    )
    ap.add_argument("--configs", default="typeinf", help=f"comma-separated, of {', '.join(CONFIGS)}")
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
            configs = tuple(args.configs.split(","))
            res = run_project(
                args.lang,
                src.resolve(),
                args.drop,
                Path(tmp),
                args.baseline or (bool(prev) and not reuse),
                args.keep_fraction,
                configs,
            )
            first = res[configs[0]]
            if reuse and old.get(configs[0], {}).get("truth_sites") != first.get("truth_sites"):
                res = run_project(
                    args.lang, src.resolve(), args.drop, Path(tmp), True, args.keep_fraction, configs
                )
            elif reuse:
                res[tool] = {**old[tool], "reused_from": str(args.baseline_from)}
            results[src.name] = res
    results["pooled"] = pooled(results)
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
