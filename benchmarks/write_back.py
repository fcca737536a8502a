"""What a write-back tool writes into a stripped project: typeinf annotate (the whole engine and its
stages) beside `pyrefly infer`, scored by the shared protocol's `written_score.py`, with wall time.

    python benchmarks/write_back.py python SRC [SRC ...] [--drop] [--keep-fraction 0.5]
        [--configs typeinf,no-checker,model,pyrefly-infer] [--out F.json]
    python benchmarks/write_back.py typescript SRC [SRC ...] [--configs typeinf,no-checker,model]

For each project: strip it with ../shared/eval (the classic, strict (--drop) or half-typed
(--keep-fraction 0.5) setting); for each configuration a fresh copy of the stripped project, the
tool run on it (a new process: model load, checker start included), then `written_score.py` reads
back what was written and scores it against the authors' annotations (sites matched by file, kind,
qualified name and name):

    typeinf         `typeinf annotate .`: the engine with the checker (evidence and judge) and the
                    project's annotations
    no-checker      `typeinf annotate . --no-checker`: the project's annotations, no checker
    model           `--no-checker` and TYPEINF_RERANK=0: the model and its static facts alone
    pyrefly-infer   `pyrefly infer .` (Python): the checker's own write-back
    check           not a write-back: `pyrefly check` of the stripped copy (Python) or `tsc --noEmit`
                    (TypeScript), for the time a type checker takes on the same tree

Pooled over the projects: written (share of sites), precision (exact among written), restored
(exact written / sites), by kind; seconds per configuration (the sum over projects).  Beside the
protocol's figures, `by_site` counts each write once, at the site it was written
(benchmarks/site_score.py: sites sharing a key, such as overloads and a property's getter and
setter, make the protocol count one write several times).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import site_score
from harness import EVAL, load

CONFIGS = {  # name -> (argv, environment)
    "typeinf": ([sys.executable, "-m", "typeinf", "annotate", ".", "--no-cache"], {}),
    "no-checker": ([sys.executable, "-m", "typeinf", "annotate", ".", "--no-cache", "--no-checker"], {}),
    "model": (
        [sys.executable, "-m", "typeinf", "annotate", ".", "--no-cache", "--no-checker"],
        {"TYPEINF_RERANK": "0"},
    ),
    "pyrefly-infer": ([str(Path(sys.executable).with_name("pyrefly")), "infer", "."], {}),
}


def _check_argv(lang: str) -> list[str]:
    if lang == "python":
        return [str(Path(sys.executable).with_name("pyrefly")), "check", "."]
    tsc = Path(os.environ.get("TYPEINF_TYPESCRIPT", "")) / "bin" / "tsc"
    return ["node", str(tsc), "--noEmit", "-p", "."] if tsc.is_file() else ["tsc", "--noEmit", "-p", "."]


def run_project(lang: str, src: Path, tmp: Path, drop: bool, keep: float | None, configs: list[str]) -> dict:
    h = load(lang)
    stripped = tmp / f"{src.name}.stripped"
    argv = ["strip", str(src), str(stripped)] + (["--drop-annotation-imports"] if drop else [])
    argv += ["--keep-fraction", str(keep)] if keep else []
    argv += [] if lang == "python" else ["--skip-tests"]
    h.main(argv)
    out: dict = {}
    for config in configs:
        work = tmp / f"{src.name}.{config}"
        shutil.copytree(stripped, work)
        cmd, env = (_check_argv(lang), {}) if config == "check" else CONFIGS[config]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env={**os.environ, **env})
        seconds = round(time.perf_counter() - t0, 2)
        if config == "check":
            out[config] = {"seconds": seconds}
            continue
        if config != "pyrefly-infer" and proc.returncode not in (0, 123):
            raise RuntimeError(f"{config} on {src.name}: {proc.stderr[-2000:]}")
        score = tmp / f"{src.name}.{config}.json"
        subprocess.run(
            [sys.executable, str(EVAL / "written_score.py"), "py" if lang == "python" else "ts", str(stripped),
             str(work), "--json", str(score)],
            check=True,
            capture_output=True,
        )  # fmt: skip
        out[config] = {**json.loads(score.read_text()), "seconds": seconds}
        out[config]["by_site"] = site_score.score(lang, stripped, work)
        shutil.rmtree(work)
    return out


def pooled(results: dict) -> dict:
    """Each configuration over all the projects: written, precision, restored by kind (as the
    protocol counts them, and `by_site`: each write counted at its own site), seconds."""
    out: dict = {}
    for res in results.values():
        for config, sc in res.items():
            mine = out.setdefault(config, {"seconds": 0.0})
            mine["seconds"] = round(mine["seconds"] + sc["seconds"], 2)
            _add(mine, sc)
            if "by_site" in sc:
                _add(mine.setdefault("by_site", {}), sc["by_site"])
    for mine in out.values():
        _rates(mine)
        _rates(mine.get("by_site", {}))
    return out


def _add(acc: dict, sc: dict) -> None:
    for kind in ("all", "param", "return", "var"):
        got = sc.get(kind)
        if isinstance(got, dict):
            a = acc.setdefault(kind, {"sites": 0, "written": 0, "exact": 0})
            for k in ("sites", "written", "exact"):
                a[k] += got.get(k, 0)


def _rates(acc: dict) -> None:
    for kind in ("all", "param", "return", "var"):
        a = acc.get(kind)
        if a is not None:
            a["written_share"] = round(a["written"] / max(a["sites"], 1), 3)
            a["precision"] = round(a["exact"] / max(a["written"], 1), 3)
            a["restored"] = round(a["exact"] / max(a["sites"], 1), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--drop", action="store_true", help="strict: also drop annotation-only imports")
    ap.add_argument("--keep-fraction", type=float, default=None, help="half-typed: 0.5")
    ap.add_argument("--configs", default="typeinf,no-checker,model,pyrefly-infer,check")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    configs = args.configs.split(",")
    if args.lang != "python":
        configs = [c for c in configs if c != "pyrefly-infer"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            results[src.name] = run_project(
                args.lang, src.resolve(), Path(tmp), args.drop, args.keep_fraction, configs
            )
            print(src.name, {c: r.get("all", r) for c, r in results[src.name].items()}, file=sys.stderr)
    report = {"setting": "strict" if args.drop else "half-typed" if args.keep_fraction else "classic",
              "projects": results, "pooled": pooled(results)}  # fmt: skip
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(json.dumps(report["pooled"], indent=1))


if __name__ == "__main__":
    main()
