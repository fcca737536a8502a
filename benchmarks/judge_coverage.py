"""Would the checker as judge raise exact at full coverage?  Every site's first choice written,
judged, and the rejected ones' second choices scored (issue #20, item 4).

    python benchmarks/judge_coverage.py python SRC [SRC ...] [--keep-fraction 0.5] [--out F.json]

`annotate` judges what it is about to write (typeinf.annotate.judge: an annotation that brings a
new error at a use of the value is not written).  This asks whether the same judge, applied to every
site's first choice (not only those above the writing threshold), would pick better types for
`predict`: for each project, stripped with the shared protocol (../shared/eval), every site is
predicted by the engine (model, the project's evidence, the checker's types), every first choice is
written (threshold 0, all kinds), the checker judges the files as annotate does, and for each
rejected first choice this counts whether it was the author's type and whether the next
alternative is.  Demoting a rejected choice to its next alternative changes exact by
(second right - first right) over the rejected sites.

Run it on validation packages (models/corpus, split "valid"): it is a design measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from harness import load

from typeinf.annotate import Options, apply, plan
from typeinf.annotate.dts import typescript_from_env
from typeinf.annotate.judge import Case, judge_all
from typeinf.files import SourceFile, walk
from typeinf.inference.engine import Engine, FileSites, default_checkers
from typeinf.inference.predict import Prediction, Predictor
from typeinf.inference.project import ProjectIndex
from typeinf.slices import extract

COUNTS = ("sites", "exact", "written", "rejected", "rejected_first_right", "rejected_second_right")


def judge_project(lang: str, src: Path, tmp: Path, predictor: Predictor, keep: float | None) -> dict:
    """The counts of one project, in total and by kind."""
    h = load(lang)
    dst = tmp / src.name
    argv = ["strip", str(src), str(dst)] + (["--keep-fraction", str(keep)] if keep else [])
    h.main(argv + ([] if lang == "python" else ["--skip-tests"]))
    truth = {
        (t["file"], t["line"], t["column"], t["kind"]): t["annotation"]
        for t in json.loads((dst / ".truth.json").read_text())
    }
    out: dict[str, dict[str, int]] = {}

    def count(kind: str, field: str, n: int = 1) -> None:
        for part in ("all", kind):
            out.setdefault(part, dict.fromkeys(COUNTS, 0))[field] += n

    def right(p: Prediction, t: str | None = None) -> bool:
        return h.normalise(t if t is not None else p.type) == h.normalise(truth[p.slice.key])

    options = Options(min_confidence=0.0)
    engine = Engine(predictor, ProjectIndex.build(dst), default_checkers(dst, typescript_from_env()))
    with engine:
        groups, files = [], []
        for item in walk([dst]):
            if not isinstance(item, SourceFile):
                continue
            rel = item.path.relative_to(dst).as_posix()
            data = item.path.read_bytes()
            slices = [
                s
                for s in extract(data, item.language, rel)
                if (rel, s.line, s.column, s.kind) in truth and s.annotation is None
            ]
            if slices:
                groups.append(FileSites(item.path, item.language, slices, data.decode("utf-8", "replace")))
                files.append((item, rel, data))
        cases, judged = [], []
        for (item, rel, data), preds in zip(files, engine.predict_files(groups), strict=True):
            for p in preds:
                count(p.slice.kind, "sites")
                count(p.slice.kind, "exact", right(p))
            edits = plan(preds, options, item.language).edits
            try:
                new, done, _ = apply(data, item.language, edits, options, rel)
            except Exception as e:  # noqa: BLE001 - a file the writer refuses is left out
                print(f"{rel}: not written ({e})", file=sys.stderr)
                continue
            for e in done:
                count(e.kind, "written")

            def reapply(edits, data=data, language=item.language, rel=rel):  # noqa: ANN001
                text, applied, _ = apply(data, language, edits, options, rel)
                return text, applied

            cases.append(Case(item.language, data, new, done, reapply))
            judged.append(item)

        def diagnose(texts):  # noqa: ANN001
            return engine.diagnostics_many([(judged[i].path, judged[i].language, t) for i, t in texts])

        for _new, _kept, rejected in judge_all(diagnose, cases):
            for e in rejected:
                p = e.prediction
                if p is None:
                    continue
                count(e.kind, "rejected")
                count(e.kind, "rejected_first_right", right(p))
                second = next((a for a, _ in p.alternatives if h.normalise(a) != h.normalise(p.type)), None)
                count(e.kind, "rejected_second_right", second is not None and right(p, second))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--keep-fraction", type=float, default=None, help="half-typed: 0.5")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    predictor = Predictor()
    pooled: dict[str, dict[str, int]] = {}
    projects = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            got = projects[src.name] = judge_project(
                args.lang, src.resolve(), Path(tmp), predictor, args.keep_fraction
            )
            for part, counts in got.items():
                mine = pooled.setdefault(part, dict.fromkeys(COUNTS, 0))
                for k, v in counts.items():
                    mine[k] += v
            print(src.name, json.dumps(got.get("all")), file=sys.stderr)
    for counts in pooled.values():
        counts["exact_if_demoted"] = (
            counts["exact"] - counts["rejected_first_right"] + counts["rejected_second_right"]
        )
    report = {
        "setting": "half-typed" if args.keep_fraction else "classic",
        "pooled": pooled,
        "projects": projects,
    }
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
