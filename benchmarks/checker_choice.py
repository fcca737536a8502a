"""Which Python type checker goes in the loop (issue #20, item 1): measured on held-out code.

    python benchmarks/checker_choice.py SRC [SRC ...] [--checkers pyrefly,ty,basedpyright]
        [--bin DIR] [--drop] [--no-model] [--out benchmarks/results/checker_choice.json]
    python benchmarks/checker_choice.py --lang typescript SRC [SRC ...] [--out ...]

For each project SRC (held-out applications: the corpus's test split): strip its annotations with
the shared protocol (../shared/eval; with --drop also the imports only annotations used) into a
temporary copy, then for each checker, one at a time:
  start it on the copy (typeinf.checker.python, over LSP), ask the inferred type at every stripped
  site (hover on the name; for a return site the function's name, the signature's return type),
  file by file, one long-lived process for the project, and write the answers as predictions
  (confidence 1) — a site where the checker's type is unknown, Any or contains Unknown is left out
  (not covered);
  score them with the protocol's `score`;
  wall time (start to close, the process start-up and the project's analysis included) and peak
  RSS of the checker's process tree (VmHWM, read before it closes).
Also `typeinf predict --format json` in the copy (the model alone, the same sites), and the
checker with the model at its holes ("checker+model": the checker's type where it has one, else
the model's first prediction) — what the loop of issue #20 would start from.

Figures pooled over the projects: coverage (share of sites with a type), exact (share of sites
whose type is the author's after normalisation), by kind, precision (exact among the sites with a
type), seconds and peak MB (the largest over the projects).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import load  # noqa: E402

from typeinf.annotate.dts import typescript_from_env  # noqa: E402
from typeinf.checker.base import CheckerUnavailable, Query  # noqa: E402
from typeinf.checker.lsp_client import _tree_hwm, path_uri  # noqa: E402
from typeinf.checker.python import BACKENDS, find_executable, writable_type  # noqa: E402
from typeinf.checker.typescript import TypeScriptChecker  # noqa: E402

KINDS = ("param", "return", "var")


def _score(h, dst: Path, preds: list[dict], tag: str) -> dict:
    pred_path = dst.parent / f"{dst.name}.{tag}.pred.json"
    out_path = dst.parent / f"{dst.name}.{tag}.score.json"
    pred_path.write_text(json.dumps(preds))
    h.main(["score", str(dst), str(pred_path), "--json", str(out_path), "--thresholds", "0"])
    return json.loads(out_path.read_text())


def run_checker(name: str, exe: str, dst: Path, truth: list[dict]) -> tuple[list[dict], list[dict], dict]:
    """The checker's predictions (strict: a type with Unknown in it is no answer; partial: the
    Unknown members of a union dropped first), and its time and memory."""
    by_file: dict[str, list[dict]] = defaultdict(list)
    for site in truth:
        by_file[site["file"]].append(site)
    preds: list[dict] = []
    partial: list[dict] = []
    recheck: list[float] = []
    info: dict = {"executable": exe}
    t0 = time.perf_counter()
    ck = BACKENDS[name](dst, executable=exe)
    try:
        for file, sites in sorted(by_file.items()):
            try:
                raw = ck.hovers_at(file, [Query(s["line"], s["column"], s["kind"]) for s in sites])
            except CheckerUnavailable as exc:
                info.setdefault("errors", []).append(f"{file}: {exc}")
                if ck.client is None or ck.client.proc.poll() is not None:
                    break
                continue
            if len(recheck) < RECHECK_FILES:
                recheck.append(_recheck_ms(ck, file))
            ck.release(file)
            for s, text in zip(sites, raw, strict=True):
                site = {k: s[k] for k in ("file", "line", "column", "kind", "qualname", "name")}
                for out, part in ((preds, False), (partial, True)):
                    t = writable_type(text, s["kind"], partial=part)
                    if t is not None:
                        out.append(site | {"type": t, "confidence": 1.0})
        info["peak_rss_mb"] = round((ck.peak_rss_kb() or 0) / 1024, 1)
    finally:
        ck.close()
    info["seconds"] = round(time.perf_counter() - t0, 2)
    if recheck:
        info["recheck_ms_median"] = round(statistics.median(recheck), 1)
        info["recheck_ms_max"] = round(max(recheck), 1)
    return preds, partial, info


RECHECK_FILES = 15  # files per project whose re-check after an edit is timed


def _recheck_ms(ck, file: str) -> float:
    """Milliseconds from an edit of an open file (a comment line appended, in memory) to its new
    diagnostics: pulled where the server offers it, else the first set it publishes for the new
    version (the judge's round trip in the loop)."""
    c = ck.client
    uri = path_uri(ck._abs(file))
    text = "\n".join(ck._texts[uri]) + "\n# edited\n"
    before = c.diag_seq
    t0 = time.perf_counter()
    ck.set_text(file, text)
    if c.server_capabilities.get("diagnosticProvider"):
        c.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})
    else:
        c.wait_diagnostics(uri, ck._versions[uri], before, 120)
    return (time.perf_counter() - t0) * 1000


def run_typescript(dst: Path, truth: list[dict]) -> tuple[list[dict], list[dict], dict]:
    """The TypeScript checker (typeinf.checker.typescript) on every site: its predictions, time,
    memory and re-check (edit to diagnostics) latency."""
    by_file: dict[str, list[dict]] = defaultdict(list)
    for site in truth:
        by_file[site["file"]].append(site)
    preds: list[dict] = []
    recheck: list[float] = []
    t0 = time.perf_counter()
    ck = TypeScriptChecker(dst, typescript=typescript_from_env())  # $TYPEINF_TYPESCRIPT, read here
    info: dict = {"typescript": ck.version}
    try:
        for file, sites in sorted(by_file.items()):
            types = ck.types_at(file, [Query(s["line"], s["column"], s["kind"]) for s in sites])
            for s, t in zip(sites, types, strict=True):
                if t is not None:
                    preds.append(
                        {k: s[k] for k in ("file", "line", "column", "kind", "qualname", "name")}
                        | {"type": t, "confidence": 1.0}
                    )
            if len(recheck) < RECHECK_FILES:
                text = (dst / file).read_text(encoding="utf-8") + "\n// edited\n"
                t1 = time.perf_counter()
                ck.set_text(file, text)
                ck.diagnostics(file)
                recheck.append((time.perf_counter() - t1) * 1000)
        assert ck.proc is not None
        info["peak_rss_mb"] = round((_tree_hwm(ck.proc.pid) or 0) / 1024, 1)
    finally:
        ck.close()
    info["seconds"] = round(time.perf_counter() - t0, 2)
    if recheck:
        info["recheck_ms_median"] = round(statistics.median(recheck), 1)
        info["recheck_ms_max"] = round(max(recheck), 1)
    return preds, preds, info


def run_model(dst: Path, lang: str = "python") -> tuple[list[dict], dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "typeinf", "predict", ".", "--format", "json", "--lang", lang,
                           "--project", "."], cwd=dst, capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 123):
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout or "[]"), {"seconds": round(seconds, 2)}


def _key(p: dict) -> tuple:
    return (p["file"], p["line"], p["column"], p["kind"])


def summary(score: dict) -> dict:
    out: dict = {}
    for part in ("all", *KINDS):
        s = score.get(part) or {}
        prec = (s.get("precision") or {}).get("0.0") or {}
        out[part] = {"sites": s.get("sites", 0), "predicted": s.get("predicted", 0),
                     "exact_n": s.get("exact_n", 0), "attached": prec.get("n", 0),
                     "precise_n": round(prec.get("exact", 0.0) * prec.get("n", 0))}  # fmt: skip
    return out


def pooled(parts: list[dict]) -> dict:
    out: dict = {}
    for part in ("all", *KINDS):
        tot = defaultdict(int)
        for p in parts:
            for k, v in p[part].items():
                tot[k] += v
        sites = tot["sites"] or 1
        out[part] = {"sites": tot["sites"], "coverage": round(tot["predicted"] / sites, 3),
                     "exact": round(tot["exact_n"] / sites, 3),
                     "precision": round(tot["precise_n"] / tot["attached"], 3) if tot["attached"] else None}  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument(
        "--lang",
        choices=["python", "typescript"],
        default="python",
        help="typescript: the TypeScript backend (no choice to make: the compiler itself)",
    )
    ap.add_argument("--checkers", default=",".join(BACKENDS))
    ap.add_argument("--bin", type=Path, help="directory of the checkers' executables (default: beside "
                    "this Python, else PATH)")  # fmt: skip
    ap.add_argument("--drop", action="store_true", help="strict setting: --drop-annotation-imports")
    ap.add_argument("--no-model", action="store_true", help="skip typeinf predict")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    ap_lang = args.lang
    h = load(ap_lang)
    names = [n for n in args.checkers.split(",") if n] if ap_lang == "python" else ["typescript"]
    per_project: dict = {}
    parts: dict[str, list[dict]] = defaultdict(list)
    resources: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "peak_rss_mb": 0.0, "recheck_ms": []})
    resources["model"] = {"seconds": 0.0}  # its memory is not measured here (benchmarks/predict_speed.py)
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            dst = Path(tmp) / src.name
            h.main(
                ["strip", str(src.resolve()), str(dst)]
                + (["--drop-annotation-imports"] if args.drop else [])
                + (["--skip-tests"] if ap_lang == "typescript" else [])
            )
            truth = json.loads((dst / ".truth.json").read_text())
            res: dict = {"sites": len(truth)}
            model_first: dict[tuple, dict] = {}
            if not args.no_model:
                mpreds, minfo = run_model(dst, ap_lang)
                sc = _score(h, dst, mpreds, "model")
                res["model"] = {**minfo, "score": summary(sc)}
                parts["model"].append(res["model"]["score"])
                resources["model"]["seconds"] += minfo["seconds"]
                for p in mpreds:
                    model_first.setdefault(_key(p), p)
            for name in names:
                if ap_lang == "typescript":
                    preds, ppreds, info = run_typescript(dst, truth)
                else:
                    exe = (
                        str(args.bin / BACKENDS[name].executable)
                        if args.bin
                        else find_executable(BACKENDS[name].executable)
                    )
                    if not exe:
                        raise SystemExit(f"{name}: executable {BACKENDS[name].executable} not found")
                    preds, ppreds, info = run_checker(name, exe, dst, truth)
                sc = _score(h, dst, preds, name)
                res[name] = {**info, "score": summary(sc)}
                parts[name].append(res[name]["score"])
                variants = [(name, preds)]
                if ap_lang == "python":
                    variants.append((f"{name} (partial)", ppreds))
                    res[f"{name} (partial)"] = {"score": summary(_score(h, dst, ppreds, f"{name}.partial"))}
                    parts[f"{name} (partial)"].append(res[f"{name} (partial)"]["score"])
                resources[name]["seconds"] += info["seconds"]
                resources[name]["peak_rss_mb"] = max(
                    resources[name]["peak_rss_mb"], info.get("peak_rss_mb", 0)
                )
                if "recheck_ms_median" in info:
                    resources[name]["recheck_ms"].append(info["recheck_ms_median"])
                for tag, cpreds in variants:
                    if not model_first:
                        break
                    have = {_key(p) for p in cpreds}
                    merged = cpreds + [p for k, p in model_first.items() if k not in have]
                    sc = _score(h, dst, merged, f"{tag}+model".replace(" ", "_"))
                    res[f"{tag}+model"] = {"score": summary(sc)}
                    parts[f"{tag}+model"].append(res[f"{tag}+model"]["score"])
                print(f"{src.name}: {name} {info}", file=sys.stderr)
            per_project[src.name] = res
    table = {}
    for tool, p in parts.items():
        row = pooled(p)
        if tool in resources:
            r = resources[tool]
            row["seconds"] = round(r["seconds"], 2)
            if "peak_rss_mb" in r:
                row["peak_rss_mb"] = r["peak_rss_mb"]
            if r.get("recheck_ms"):
                row["recheck_ms_median_of_projects"] = round(statistics.median(r["recheck_ms"]), 1)
        table[tool] = row
    result = {
        "sites": sum(r["sites"] for r in per_project.values()),
        "setting": "strict (--drop-annotation-imports)" if args.drop else "classic (imports kept)",
        "projects": [s.name for s in args.src],
        "table": table,
        "per_project": per_project,
    }
    for tool, row in table.items():
        a = row["all"]
        print(
            f"{tool:22s} cov {a['coverage']:.3f} exact {a['exact']:.3f} "
            + " ".join(f"{k} {row[k]['exact']:.3f}" for k in KINDS)
            + f" prec {a['precision']} s {row.get('seconds', '-')} MB {row.get('peak_rss_mb', '-')}"
            + f" recheck ms {row.get('recheck_ms_median_of_projects', '-')}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
