"""Slicing throughput on one core, and pyright's time on the same Python code.

    python benchmarks/slice_speed.py [--repeat 3] [--pyright] [--ts DIR ...]

Python: the whole CPython standard library (tests excluded). TypeScript: the .ts sources
of the npm packages given (default: rxjs, zod, mobx from the test set-up). Reports medians
over --repeat runs, pinned to one CPU core. With --pyright, also times `pyright` (npm package,
installed under ~/.cache/typeinf/bench-npm) checking the same Python files, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

from typeinf.slices import extract_with_diagnostics, language_for_path

NPM = Path(os.environ.get("TYPEINF_TEST_NPM", Path.home() / ".cache/typeinf/test-npm")) / "node_modules"


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for p in sorted(root.rglob("*.py")):
        parts = set(p.relative_to(root).parts)
        if parts & {"test", "tests", "site-packages", "idle_test", "lib2to3"}:
            continue
        out.append(p)
    return out


def ts_files(dirs: list[Path]) -> list[Path]:
    return sorted(
        p
        for d in dirs
        for p in d.rglob("*.ts")
        if language_for_path(p) and "node_modules" not in p.relative_to(d).parts
    )


def load(files: list[Path]) -> list[tuple[Path, bytes, str]]:
    out = []
    for p in files:
        data = p.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append((p, data, language_for_path(p) or "python"))
    return out


def time_slicing(items, repeat: int) -> dict:
    runs = []
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = 0
        for p, data, lang in items:
            n += len(extract_with_diagnostics(data, lang, str(p))[0])
        runs.append(time.perf_counter() - t0)
    med = statistics.median(runs)
    lines = sum(d.count(b"\n") for _, d, _ in items)
    return {
        "files": len(items),
        "lines": lines,
        "slices": n,
        "seconds_median": round(med, 2),
        "slices_per_s": round(n / med),
        "lines_per_s": round(lines / med),
    }


def time_pyright(items, repeat: int) -> dict:
    home = Path.home() / ".cache/typeinf/bench-npm"
    exe = home / "node_modules/.bin/pyright"
    if not exe.exists():
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "pyright@1.1.407"],
            cwd=home,
            check=True,
            capture_output=True,
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "code"
        for i, (p, data, _) in enumerate(items):
            dst = root / f"m{i // 200}" / f"{p.stem}_{i}.py"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
        (root / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "basic"}))
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(
                [str(exe), "--outputjson", "-p", str(root / "pyrightconfig.json")],
                cwd=root,
                capture_output=True,
            )
            runs.append(time.perf_counter() - t0)
    return {"seconds_median": round(statistics.median(runs), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pyright", action="store_true")
    ap.add_argument("--ts", type=Path, nargs="*", default=[NPM / "rxjs", NPM / "zod", NPM / "mobx"])
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    py = load(stdlib_files())
    res: dict = {"python_stdlib": time_slicing(py, args.repeat)}
    ts = load(ts_files(args.ts))
    if ts:
        res["typescript"] = time_slicing(ts, args.repeat)
    if args.pyright and shutil.which("node"):
        res["pyright_stdlib"] = time_pyright(py, max(1, args.repeat // 2))
        res["pyright_over_slicing"] = round(
            res["pyright_stdlib"]["seconds_median"] / res["python_stdlib"]["seconds_median"], 2
        )
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
