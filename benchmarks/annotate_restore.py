"""What `typeinf annotate` writes, scored by the shared strip-and-restore protocol.

    python benchmarks/annotate_restore.py python SRC [SRC ...] [--drop] [--min-confidence X] [--out F.json]
    python benchmarks/annotate_restore.py typescript SRC [SRC ...] [--drop]

For each project: strip its annotations with ../shared/eval (with --drop also the imports only
annotations used: the strict setting), run `typeinf annotate .` on the copy (the model's default
threshold unless --min-confidence), strip the annotated copy again to read back exactly the
annotations that were written, and score those with the protocol's `score` against what the
authors wrote. Unlike `strip_restore_eval.py` (which scores `typeinf predict` at a threshold),
this counts only what reached the files: a prediction the write-back cannot import or place is
not written and does not count.

    precision   exact among the written annotations
    written     written / stripped sites
    restored    exact written / stripped sites          (issue #5: >= 90% precision, >= 50% restored)
    unjudged    annotations written where the authors had written none (no truth to judge them by)
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from harness import load


def _line_map(before: list[str], after: list[str]) -> dict[int, int]:
    """0-based line numbers of `before` -> those of `after`, for the lines both share."""
    out: dict[int, int] = {}
    sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, _j2 in sm.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                out[i1 + k] = j1 + k
    return out


def written_annotations(restripped: Path, stripped: Path) -> list[dict]:
    """The annotations the re-strip found in the annotated copy, as predictions placed in the
    stripped copy (lines moved back across the imports the write-back added)."""
    truth = json.loads((restripped / ".truth.json").read_text())
    by_file: dict[str, list[dict]] = defaultdict(list)
    for t in truth:
        by_file[t["file"]].append(t)
    preds = []
    for rel, items in by_file.items():
        a = (restripped / rel).read_text(encoding="utf-8").splitlines()
        b_path = stripped / rel
        b = b_path.read_text(encoding="utf-8").splitlines() if b_path.is_file() else []
        lines = _line_map(a, b)
        for t in items:
            line = lines.get(t["line"] - 1)
            preds.append(
                {
                    "file": rel,
                    "line": line + 1 if line is not None else t["line"],
                    "column": t["column"],
                    "kind": t["kind"],
                    "qualname": t["qualname"],
                    "name": t["name"],
                    "type": t["annotation"],
                    "confidence": 1.0,
                }
            )
    return preds


def run_project(lang: str, src: Path, drop: bool, tmp: Path, min_confidence: float | None) -> dict:
    h = load(lang)
    extra = [] if lang == "python" else ["--skip-tests"]
    stripped = tmp / f"{src.name}-stripped"
    h.main(["strip", str(src), str(stripped), *extra] + (["--drop-annotation-imports"] if drop else []))
    work = tmp / f"{src.name}-annotated"
    shutil.copytree(stripped, work)
    argv = [sys.executable, "-m", "typeinf", "annotate", ".", "--project", ".", "--lang", lang]
    if min_confidence is not None:
        argv += ["--min-confidence", str(min_confidence)]
    proc = subprocess.run(argv, cwd=work, capture_output=True, text=True)
    if proc.returncode not in (0, 123):
        raise RuntimeError(f"typeinf annotate exited {proc.returncode}: {proc.stderr[-2000:]}")
    restripped = tmp / f"{src.name}-restripped"
    h.main(["strip", str(work), str(restripped), *extra])
    preds = written_annotations(restripped, stripped)
    pred_path = tmp / f"{src.name}.written.json"
    pred_path.write_text(json.dumps(preds))
    out_json = tmp / f"{src.name}.score.json"
    h.main(["score", str(stripped), str(pred_path), "--json", str(out_json), "--thresholds", "0.0"])
    res = json.loads(out_json.read_text())
    for d in (stripped, work, restripped):
        shutil.rmtree(d)
    m = res["all"]
    # unjudged: written where the authors had left the site unannotated, nothing to judge them against
    return {
        **rates(m["sites"], m["predicted"], m["exact_n"]),
        "unjudged": res["unattached_predictions"],
        "by_kind": {
            k: {"sites": res[k]["sites"], "written": res[k]["predicted"], "exact": res[k]["exact_n"]}
            for k in ("param", "return", "var")
        },
    }


def rates(n: int, written: int, exact: int) -> dict:
    """Counts and the shares issue #5 reads: precision of the written, written and restored shares."""
    return {
        "sites": n,
        "written": written,
        "exact": exact,
        "precision": round(exact / written, 4) if written else None,
        "written_share": round(written / n, 4) if n else 0.0,
        "restored": round(exact / n, 4) if n else 0.0,
    }


def summary(results: dict[str, dict]) -> dict:
    total = {k: sum(r[k] for r in results.values()) for k in ("sites", "written", "exact")}
    return {"projects": len(results), **rates(total["sites"], total["written"], total["exact"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--drop", action="store_true", help="strict: also drop annotation-only imports")
    ap.add_argument("--min-confidence", type=float, default=None, help="passed to typeinf annotate")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            results[src.name] = run_project(
                args.lang, src.resolve(), args.drop, Path(tmp), args.min_confidence
            )
            print(f"{src.name}: {json.dumps(results[src.name])}", file=sys.stderr)
    out = {
        "setting": "strict" if args.drop else "classic",
        "min_confidence": args.min_confidence,
        "all": summary(results),
        "projects": results,
    }
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
