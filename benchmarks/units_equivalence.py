"""The Python write-back's unit path against the whole-module path, on real code.

    python benchmarks/units_equivalence.py DIR [DIR ...] [--min-confidence 0]

For every Python file under each DIR: the sites the shipped model would annotate at the given
threshold (0: every unannotated site, so every kind of edit and import occurs), applied once with
`annotate_python` (only the functions, headers, assignments and the module head that hold edits
go through libcst: typeinf.annotate.units) and once over the whole module
(`_annotate_module`, the reference). Prints the number of files, how many took the unit path,
the mismatches (there should be none) and the time of each path.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from typeinf.annotate import Options, plan
from typeinf.annotate.python import _annotate_module, _annotate_units, annotate_python
from typeinf.files import SourceFile, read_source, walk
from typeinf.inference.predict import Predictor
from typeinf.inference.project import ProjectIndex
from typeinf.slices import extract_with_diagnostics


def cases(root: Path, predictor: Predictor, options: Options) -> list[tuple[str, str, list]]:
    index = ProjectIndex.build(root)
    out = []
    for f in walk([root]):
        if not isinstance(f, SourceFile) or f.language != "python":
            continue
        data = read_source(f.path, 1_000_000)
        if not isinstance(data, bytes):
            continue
        slices, diags = extract_with_diagnostics(data, "python", str(f.path))
        if diags:
            continue
        todo = [s for s in slices if s.annotation is None and s.annotatable]
        preds = predictor.predict(todo, index.types_for(f.path, "python"))
        edits = plan(preds, options, "python").edits
        if edits:
            out.append((str(f.path.relative_to(root)), data.decode("utf-8"), edits))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("dirs", type=Path, nargs="+")
    ap.add_argument("--min-confidence", type=float, default=0.0)
    args = ap.parse_args()
    predictor = Predictor()
    options = Options(min_confidence=args.min_confidence)
    total = {"files": 0, "unit_path": 0, "mismatches": [], "units_s": 0.0, "module_s": 0.0}
    for root in args.dirs:
        for rel, source, edits in cases(root.resolve(), predictor, options):
            t0 = time.perf_counter()
            got = annotate_python(source, edits)
            t1 = time.perf_counter()
            want = _annotate_module(source, edits, (3, 10), False)
            t2 = time.perf_counter()
            total["files"] += 1
            total["unit_path"] += _annotate_units(source, edits, (3, 10), False) is not None
            total["units_s"] += t1 - t0
            total["module_s"] += t2 - t1
            if got != want:
                total["mismatches"].append(f"{root.name}/{rel}")
    total["units_s"] = round(total["units_s"], 2)
    total["module_s"] = round(total["module_s"], 2)
    print(json.dumps(total, indent=1))


if __name__ == "__main__":
    main()
