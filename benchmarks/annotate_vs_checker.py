"""Wall time of `typeinf annotate` on a whole project beside the type checker on the same project.

    python benchmarks/annotate_vs_checker.py python SRC [SRC ...] [--repeat 3] [--out F.json]
    python benchmarks/annotate_vs_checker.py typescript SRC [SRC ...]

For each project: strip its annotations with the shared protocol (../shared/eval) into a
temporary copy, then time, in one run and alternately (`--repeat` times, medians reported):
  annotate   `python -m typeinf annotate . --project .` on a fresh copy of the stripped project
             (a new process: Python start-up and model load included), writing the files;
  checker    `pyright --outputjson .` (Python) or `tsc --noEmit` over the project's files
             (TypeScript) on the stripped copy, from the npm packages under
             ~/.cache/typeinf/bench-npm (pyright 1.1.407, typescript 5.7.2).
The ratio annotate / checker is what issue #5 asks to be below 1.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import load

NPM = Path.home() / ".cache" / "typeinf" / "bench-npm" / "node_modules"


def _timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode


def _checker(lang: str, root: Path) -> list[str]:
    if lang == "python":
        return [str(NPM / ".bin" / "pyright"), "--outputjson", "."]
    files = [str(p.relative_to(root)) for p in sorted(root.rglob("*.ts*"))
             if p.suffix in (".ts", ".tsx") and not p.name.endswith(".d.ts") and "node_modules" not in p.parts]  # fmt: skip
    return ["node", str(NPM / "typescript" / "bin" / "tsc"), "--noEmit", "--skipLibCheck", "--target", "ES2022",
            "--module", "ESNext", "--moduleResolution", "bundler", "--jsx", "preserve", *files]  # fmt: skip


def run(lang: str, src: Path, repeat: int, tmp: Path) -> dict:
    h = load(lang)
    stripped = tmp / f"{src.name}-stripped"
    argv = ["strip", str(src), str(stripped)] + ([] if lang == "python" else ["--skip-tests"])
    h.main(argv)
    lines = sum(len(p.read_bytes().splitlines()) for p in stripped.rglob("*")
                if p.is_file() and p.suffix in (".py", ".ts", ".tsx"))  # fmt: skip
    annotate, checker = [], []
    for i in range(repeat):
        work = tmp / f"{src.name}-{i}"
        shutil.copytree(stripped, work)
        secs, rc = _timed([sys.executable, "-m", "typeinf", "annotate", ".", "--project", ".", "--lang", lang], work)
        if rc not in (0, 123):
            raise RuntimeError(f"typeinf annotate exited {rc}")
        annotate.append(secs)
        secs, _ = _timed(_checker(lang, stripped), stripped)  # exit code: the stripped code has type errors
        checker.append(secs)
        shutil.rmtree(work)
    a, c = statistics.median(annotate), statistics.median(checker)
    return {"lines": lines, "annotate_s": round(a, 2), "checker": "pyright" if lang == "python" else "tsc",
            "checker_s": round(c, 2), "ratio": round(a / c, 3), "runs": repeat}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            results[src.name] = run(args.lang, src.resolve(), args.repeat, Path(tmp))
            print(f"{src.name}: {results[src.name]}", file=sys.stderr)
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
