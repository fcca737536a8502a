"""Whole-project speed and memory of `predict` and `annotate --check`, cold and warm, beside the
type checkers' own check of the same tree, in the same run (issue #22).

    python benchmarks/project_speed.py python DIR [DIR ...] [--repeat 3] [--out results.json]
    python benchmarks/project_speed.py typescript DIR [DIR ...]

For each project, each command runs `--repeat` times in a new process and the median wall time is
reported, with the peak memory of the whole process tree (typeinf, its worker processes and the
checker it starts: the sum of their proportional set sizes, so that pages a forked worker shares
with its parent count once; sampled every 20 ms from /proc):

  predict_cold / annotate_cold   `typeinf predict . --format json` / `typeinf annotate --check .`
                                 with an empty cache folder each time
  predict_warm / annotate_warm   the same command again on the unchanged tree, the cache kept
  *_one_file_edited              then again after a comment line is appended to the project's
                                 largest source file (restored afterwards), the cache kept
  pyrefly, basedpyright          `pyrefly check` and `basedpyright` on the tree (Python)
  tsc                            `tsc --noEmit -p .` (TypeScript; TYPEINF_TYPESCRIPT names the compiler)

sites: the unannotated sites of the project (typeinf's slicer); sites_per_s: sites over
predict_cold's median; ratios: each typeinf command over the checker's time (basedpyright for
Python, tsc for TypeScript), the yardstick of issue #22.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from typeinf.files import SourceFile, walk  # noqa: E402
from typeinf.slices import extract  # noqa: E402


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _pss_kb(pid: int) -> int:
    """The process's proportional set size: its private pages plus its share of pages shared with
    others (a forked worker's copy-on-write pages are not counted twice)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_mb(pid: int) -> float:
    todo, total = [pid], 0
    while todo:
        p = todo.pop()
        total += _pss_kb(p)
        todo += _children(p)
    return total / 1024


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak memory of the process tree in MB (PSS), exit code)."""
    peak = 0.0
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_mb(proc.pid))
            done.wait(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    return wall, peak, rc


def sites(root: Path) -> tuple[int, int]:
    """(lines, unannotated sites) of the project."""
    lines = n = 0
    for f in walk([root]):
        if not isinstance(f, SourceFile):
            continue
        data = f.path.read_bytes()
        lines += data.count(b"\n")
        n += sum(s.annotation is None for s in extract(data, f.language, str(f.path)))
    return lines, n


def largest_source(root: Path) -> Path:
    files = [f.path for f in walk([root]) if isinstance(f, SourceFile)]
    return max(files, key=lambda p: p.stat().st_size)


def median_of(runs: list[tuple[float, float, int]]) -> dict:
    return {
        "seconds": round(statistics.median(r[0] for r in runs), 2),
        "runs": [round(r[0], 2) for r in runs],
        "peak_mb": round(max(r[1] for r in runs)),
        "exit": sorted({r[2] for r in runs}),
    }


def checker_commands(lang: str) -> dict[str, list[str]]:
    bindir = Path(sys.executable).parent
    if lang == "python":
        return {
            "pyrefly": [str(bindir / "pyrefly"), "check", "."],
            "basedpyright": [str(bindir / "basedpyright")],
        }
    tsc = Path(os.environ.get("TYPEINF_TYPESCRIPT", "")) / "bin" / "tsc"
    return {
        "tsc": ["node", str(tsc), "--noEmit", "-p", "."] if tsc.is_file() else ["tsc", "--noEmit", "-p", "."]
    }


def project(lang: str, root: Path, repeat: int, extra: list[str]) -> dict:
    lines, n = sites(root)
    out: dict = {"project": root.name, "lines": lines, "sites": n}
    base = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    commands = {
        "predict": [sys.executable, "-m", "typeinf", "predict", ".", "--format", "json", *extra],
        "annotate": [sys.executable, "-m", "typeinf", "annotate", "--check", ".", *extra],
    }
    edited = largest_source(root)
    for name, argv in commands.items():
        cold, warm, edit = [], [], []
        for _ in range(repeat):
            cache = Path(tempfile.mkdtemp(prefix="typeinf-bench-cache-"))
            env = {**base, "TYPEINF_CACHE_DIR": str(cache)}
            cold.append(timed(argv, root, env))
            warm.append(timed(argv, root, env))
            original = edited.read_bytes()
            try:  # one file edited (a comment line appended), the cache kept
                edited.write_bytes(
                    original + (b"\n# edited\n" if edited.suffix == ".py" else b"\n// edited\n")
                )
                edit.append(timed(argv, root, env))
            finally:
                edited.write_bytes(original)
            shutil.rmtree(cache, ignore_errors=True)
        out[f"{name}_cold"] = median_of(cold)
        out[f"{name}_warm"] = median_of(warm)
        out[f"{name}_one_file_edited"] = median_of(edit)
    for name, argv in checker_commands(lang).items():
        out[name] = median_of([timed(argv, root, base) for _ in range(repeat)])
    yard = out["basedpyright" if lang == "python" else "tsc"]["seconds"]
    out["sites_per_s"] = round(n / out["predict_cold"]["seconds"])
    out["ratios"] = {
        k: round(out[k]["seconds"] / yard, 2)
        for k in (
            "predict_cold",
            "predict_warm",
            "annotate_cold",
            "annotate_warm",
            "annotate_one_file_edited",
        )
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--extra", default="", help="more typeinf flags, e.g. --extra=--no-checker")
    args = ap.parse_args()
    results = []
    for d in args.dirs:
        r = project(args.lang, d.resolve(), args.repeat, args.extra.split())
        print(json.dumps(r), flush=True)
        results.append(r)
    if args.out:
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            "?",
        )
        meta = {"cpu": cpu, "cores": os.cpu_count(), "repeat": args.repeat, "extra": args.extra}
        args.out.write_text(json.dumps({"meta": meta, "projects": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
