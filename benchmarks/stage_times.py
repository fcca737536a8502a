"""Where a whole-project `predict` or `annotate` run's time goes, stage by stage (issue #22).

    cd PROJECT && python /path/to/benchmarks/stage_times.py predict . --format json > /dev/null
    cd PROJECT && python /path/to/benchmarks/stage_times.py annotate --check .

Runs typeinf's CLI in this process with the pipeline's stages wrapped, and prints to stderr when
each started and ended (seconds from the start; the thread), the files and sites each engine pass
had, and the total time and count of the checker's and the model's calls.  The typeinf imported is
the one on `sys.path` (PYTHONPATH=<a checkout> for another version).  Nothing is asserted.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import runpy
import sys
import threading
import time
from typing import Any

# (module, qualified name): a line per call
STAGES = [
    ("typeinf.inference.project", "ProjectIndex.build"),
    ("typeinf.annotate.run", "annotate_files"),
    ("typeinf.annotate.run", "_round"),
    ("typeinf.annotate.run", "Workers.kept_map"),
    ("typeinf.annotate.run", "_judged"),
    ("typeinf.inference.engine", "Engine.predict_files"),
    ("typeinf.inference.engine", "Engine._evidence_of_all"),
    ("typeinf.inference.engine", "Engine.publish"),
    ("typeinf.inference.predict", "Predictor.rank_groups"),
    ("typeinf.inference.predict", "Predictor.predict_groups"),
    ("typeinf.cli", "_predict_rest"),
]
# (module, qualified name): summed over the run
SUMMED = [
    ("typeinf.checker.base", "FallbackChecker.types_at_many"),
    ("typeinf.checker.base", "FallbackChecker.set_text"),
    ("typeinf.checker.base", "FallbackChecker.sync"),
    ("typeinf.checker.base", "FallbackChecker.diagnostics"),
    ("typeinf.inference.scorer", "Scorer._run"),
    ("typeinf.inference.engine", "Engine.evidence"),
]


def _files(qual: str, args: tuple[Any, ...]) -> str:
    if qual in ("Engine._evidence_of_all", "Engine.predict_files") and len(args) > 1:
        files = args[1]
        return f" files={len(files)} sites={sum(len(f.slices) for f in files)}"
    return ""


def main() -> None:
    t0 = time.perf_counter()
    lines: list[tuple[float, float, str, str]] = []
    sums: dict[str, list[float]] = {}
    lock = threading.Lock()

    def wrap(module: str, qual: str, summed: bool) -> None:
        owner: Any = importlib.import_module(module)
        *path, name = qual.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        fn = getattr(owner, name, None) if owner is not None else None
        if fn is None:
            print(f"stage_times: no {module}.{qual} in this version", file=sys.stderr)
            return

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                with lock:
                    if summed:
                        got = sums.setdefault(qual, [0, 0.0])
                        got[0] += 1
                        got[1] += end - start
                    else:
                        where = threading.current_thread().name
                        lines.append((start - t0, end - t0, qual + _files(qual, args), where))

        setattr(owner, name, timed)

    for module, qual in STAGES:
        wrap(module, qual, False)
    for module, qual in SUMMED:
        wrap(module, qual, True)

    def report() -> None:
        for start, end, what, where in sorted(lines):
            print(f"{start:7.2f} {end:7.2f} {end - start:6.2f}  {what} [{where}]", file=sys.stderr)
        for qual, (n, total) in sums.items():
            print(f"sum {qual}: {int(n)} calls, {total:.2f} s", file=sys.stderr)

    atexit.register(report)
    sys.argv = ["typeinf", *sys.argv[1:]]
    runpy.run_module("typeinf", run_name="__main__")


if __name__ == "__main__":  # (the annotate workers' forkserver imports this file again)
    main()
