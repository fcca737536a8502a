"""Fit the re-ranker (typeinf.inference.rerank): the project's evidence joined to the model, on validation.

    python -m models.rerank collect python /tmp/valid/py/* --out /tmp/rows_py.jsonl [--keep-fraction 0.5]
    python -m models.rerank fit /tmp/rows_*.jsonl --out typeinf/model/rerank.json

`collect` strips each validation package with the shared strip-and-restore protocol (../shared/eval;
`--keep-fraction 0.5`: the half-typed setting, the annotations of half the functions kept), runs
the shipped predictor *without* the re-ranker on every stripped site, and writes one row per
site: the model's final prediction and its top 5, the project's evidence (typeinf.inference.engine:
the votes for the site's (kind, name) from what the stripped copy still has, and the checker's
inferred type), and the author's type.  `fit` fits the re-ranker on those rows and writes it beside
the model.  Validation packages only (models/corpus/*.toml, split = "valid"): the test split and the
applications the benchmarks use are never seen here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from harness import load  # noqa: E402

from typeinf.annotate.dts import typescript_from_env  # noqa: E402
from typeinf.files import SourceFile, walk  # noqa: E402
from typeinf.inference.bundle import MODEL_DIR, RERANK_FILE, Calibration  # noqa: E402
from typeinf.inference.engine import Engine, FileSites, default_checkers  # noqa: E402
from typeinf.inference.names import Votes  # noqa: E402
from typeinf.inference.predict import Predictor  # noqa: E402
from typeinf.inference.project import ProjectIndex  # noqa: E402
from typeinf.inference.rerank import (  # noqa: E402
    Evidence,
    Reranker,
    Site,
    call_candidates,
    fit_reranker,
    group,
    key,
    row_of,
    shift,
)
from typeinf.inference.static import QUALIFIER_RULES  # noqa: E402
from typeinf.slices import extract  # noqa: E402
from typeinf.types import normalize  # noqa: E402


def collect_package(
    lang: str,
    src: Path,
    tmp: Path,
    keep: float | None,
    predictor: Predictor,
    drop: bool = False,
    checker: bool = True,
) -> list[dict]:
    h = load(lang)
    dst = tmp / src.name
    argv = ["strip", str(src), str(dst)]
    argv += ["--keep-fraction", str(keep)] if keep else []
    argv += ["--drop-annotation-imports"] if drop else []
    argv += [] if lang == "python" else ["--skip-tests"]
    h.main(argv)
    truth = {
        (t["file"], t["line"], t["column"], t["kind"]): t
        for t in json.loads((dst / ".truth.json").read_text())
    }
    index = ProjectIndex.build(dst)
    rows = []
    engine = Engine(predictor, index, default_checkers(dst, typescript_from_env()) if checker else None)
    with engine:
        for item in walk([dst]):
            rows += _collect_file(h, item, dst, truth, engine, src.name)
    return rows


def _collect_file(h, item, dst: Path, truth: dict, engine: Engine, package: str) -> list[dict]:
    """One file's rows: the sites stripped from it, predicted without the re-ranker."""
    rows: list[dict] = []
    if not isinstance(item, SourceFile):
        return rows
    rel = item.path.relative_to(dst).as_posix()
    slices = [
        s
        for s in extract(item.path.read_bytes(), item.language, rel)
        if (rel, s.line, s.column, s.kind) in truth and s.annotation is None
    ]
    if not slices:
        return rows
    sites = FileSites(item.path, item.language, slices)
    evidence = engine.evidence(sites)
    if engine.predictor.reads_calls:  # the model's input as the engine gives it (Engine.predict_files)
        slices = engine.across(sites).slices
    preds = engine.predictor.predict(slices, engine.index.types_for(item.path, item.language))
    for s, p, ev in zip(slices, preds, evidence, strict=True):
        t = truth[(rel, s.line, s.column, s.kind)]["annotation"]
        row = row_of(p, ev)
        row.update(
            package=package,
            truth=t,
            exact=h.normalise(p.type) == h.normalise(t),
            exact_alts=[h.normalise(a) == h.normalise(t) for a, _ in p.alternatives],
            exact_votes=[h.normalise(v) == h.normalise(t) for v, _ in row["votes"]],
            exact_checker=bool(ev.checker) and h.normalise(ev.checker or "") == h.normalise(t),
            exact_other=[h.normalise(v) == h.normalise(t) for v, _ in row["other"]],
            exact_calls=[h.normalise(v) == h.normalise(t) for v, _ in row["calls"]],
            exact_callees=[h.normalise(v) == h.normalise(t) for v, _ in row["callees"]],
        )
        rows.append(row)
    return rows


def _site(r: dict) -> tuple[Site, Evidence, set[str]] | None:
    """A row as the re-ranker sees it, with the keys of its right candidates; None without evidence
    or for a qualifier the code states (a type alias: the re-ranker leaves it as it is)."""
    if r.get("rule") in QUALIFIER_RULES:
        return None
    if not (r["votes"] or r["checker"] or r["other"] or r.get("calls") or r.get("callees")) or not r["type"]:
        return None
    right = {key(t) for (t, _), ok in zip(r["alternatives"], r["exact_alts"], strict=True) if ok}
    right |= {key(t) for (t, _), ok in zip(r["votes"], r["exact_votes"], strict=True) if ok}
    if r["exact"]:
        right.add(key(r["type"]))
    if r["exact_checker"]:
        right.add(key(r["checker"]))
    right |= {key(t) for (t, _), ok in zip(r["other"], r["exact_other"], strict=True) if ok}
    for field in ("calls", "callees"):
        right |= {
            key(t) for (t, _), ok in zip(r.get(field, []), r.get(f"exact_{field}", []), strict=True) if ok
        }
    alts = [(t, p) for t, p in r["alternatives"]]
    site = Site(r["type"], r["confidence"], r["source"], alts, r["kind"], r["language"])
    votes = Votes(tuple((t, n) for t, n in r["votes"]), r["total"]) if r["votes"] else None
    other = Votes(tuple((t, n) for t, n in r["other"]), r["other_total"]) if r["other"] else None
    calls = Votes(tuple((t, n) for t, n in r["calls"]), r["calls_total"]) if r.get("calls") else None
    callees = Votes(tuple((t, n) for t, n in r["callees"]), r["callees_total"]) if r.get("callees") else None
    ev = Evidence(votes, r["checker"], other, calls, callees)
    # a candidate the re-ranker makes of the callers' types (`str | None`): right if it is the author's
    made, _ = call_candidates(ev, r["language"])
    for t, _ in made.counts if made is not None else ():
        if normalize(t) == normalize(r["truth"]):
            right.add(key(t))
    return site, ev, right


def _sites(rows: list[dict]) -> list[tuple[Site, Evidence, set[str]]]:
    return [x for x in map(_site, rows) if x is not None]


def _score(reranker: Reranker, rows: list[dict]) -> dict:
    """Exact before and after (overall, by kind, on the sites with evidence) and what the language's
    writing threshold keeps before and after (share of sites, precision)."""
    calibration = Calibration.load(MODEL_DIR)
    tally: dict[str, list[int]] = {}  # part -> [sites, exact before, exact after]
    written = {"before": [0, 0], "after": [0, 0]}
    for r in rows:
        before = bool(r["exact"])
        after, conf = before, r["confidence"]
        s = _site(r)
        if s is not None:
            site, ev, right = s
            conf, best, _ = reranker.choose(site, ev)
            after = key(best.type) in right
        parts = ["all", r["kind"]] + (["with_evidence"] if s is not None else [])
        parts += ["with_votes"] if r["votes"] else []
        parts += ["with_checker"] if r["checker"] else []
        parts += ["with_other"] if r["other"] else []
        parts += ["with_calls"] if r.get("calls") else []
        parts += ["with_callees"] if r.get("callees") else []
        for part in parts:
            t = tally.setdefault(part, [0, 0, 0])
            t[0] += 1
            t[1] += before
            t[2] += after
        threshold = calibration.threshold(r["language"])
        for name, c, ok in (("before", r["confidence"], before), ("after", conf, after)):
            if c >= threshold:
                written[name][0] += 1
                written[name][1] += ok
    out: dict = {
        part: {"sites": n, "exact_before": round(b / n, 4), "exact_after": round(a / n, 4)}
        for part, (n, b, a) in tally.items()
    }
    out["at_threshold"] = {
        name: {"share": round(w / len(rows), 4), "precision": round(ok / max(w, 1), 4)}
        for name, (w, ok) in written.items()
    }
    return out


TARGET_PRECISION = 0.95  # what the language's writing threshold stands for (thresholds.json)
CONFIDENCE_Z = 1.0  # the precision a group's offset holds is a one-sided ~84% lower bound, not the estimate


def lower_bound(right: int, n: int, z: float = CONFIDENCE_Z, units: int | None = None) -> float:
    """Wilson's lower bound of a proportion: the smallest offset whose writes' precision *estimate*
    reaches the target is chosen for being lucky on its sample (the more so, the fewer the writes).
    `units`: the number of independent units among the `n` (default `n`): the bound's width is
    that of `units` draws at the observed proportion."""
    if n == 0:
        return 1.0
    p = right / n
    m = n if units is None else max(1, min(units, n))
    centre = p + z * z / (2 * m)
    margin = z * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    return (centre - margin) / (1 + z * z / m)


def _clustered(rows: list[dict]) -> list[tuple[tuple[Site, Evidence, set[str]], tuple[str, str, str]]]:
    """The re-ranker's sites, each with its cluster: its package, kind and name.  The evidence of
    one name in one package (the project's votes for `documentId`, what its callers pass) is shared
    by its sites, so their errors come together: on 4 held-out TypeScript applications, the 14
    wrong writes of the half-typed setting were 7 names (`keyPath` 4 times, `documentId` 3 times)."""
    out = []
    for r in rows:
        x = _site(r)
        if x is not None:
            out.append((x, (r["package"], r["kind"], r["name"])))
    return out


def _offsets(reranker: Reranker, rows: list[dict]) -> dict[str, float]:
    """Per calibration group (language family, kind, static fact or not), the smallest shift of the
    log-odds after which the sites the evidence lifts to the family's writing threshold are right at
    least TARGET_PRECISION of the time: the lower bound of their precision counts a package's sites
    of one name as one unit (`_clustered`)."""
    calibration = Calibration.load(MODEL_DIR)
    sites = _clustered(rows)
    out = {}
    for name in sorted({group(s, ev) for (s, ev, _), _ in sites}):
        mine = [(s, ev, right, unit) for (s, ev, right), unit in sites if group(s, ev) == name]
        threshold = calibration.threshold(name.split(":")[0])
        # (the re-ranker's probability of its choice, the site's own confidence when the choice is
        # the site's own, right?, its unit): the confidence at run time is max(shift(p), own) for
        # the own choice
        scored = []
        for s, ev, right, unit in mine:
            p, c = reranker.rank(s, ev)[0]
            scored.append((p, s.confidence if c.type == s.type else 0.0, key(c.type) in right, unit))
        for step in range(0, 101):
            offset = step * 0.05
            # the writes the evidence adds (the site's own confidence was below the threshold, or
            # its choice is new) must be right TARGET_PRECISION of the time; the others are the
            # model's own, calibrated before
            kept = [(ok, unit) for p, own, ok, unit in scored if shift(p, offset) >= threshold > own]
            right = sum(ok for ok, _ in kept)
            if not kept or lower_bound(right, len(kept), units=len({u for _, u in kept})) >= TARGET_PRECISION:
                out[name] = round(offset, 2)
                break
        else:
            out[name] = 5.0
    return out


def _fit(rows: list[dict]) -> Reranker:
    plain = fit_reranker(_sites(rows))
    return Reranker(plain.calibrator, plain.with_calls, _offsets(plain, rows))


def _refit_offsets(rows: list[dict]) -> Reranker:
    """The shipped re-ranker with offsets fitted on `rows` for the groups it has none for (a
    group split from one it has: `group`); the groups it has keep theirs."""
    shipped = Reranker.load(MODEL_DIR / RERANK_FILE)
    return Reranker(shipped.calibrator, shipped.with_calls, {**_offsets(shipped, rows), **shipped.offsets})


def fit_and_dump(rows: list[dict], out: Path, offsets_only: bool = False) -> dict:
    """Fit on every row; report 2-fold (by package) held-out figures beside the in-sample ones.
    `offsets_only`: the shipped re-ranker kept, only the offsets of new groups fitted (its models
    were fitted on all the rows, so the folds hold out those offsets only)."""
    fitting = _refit_offsets if offsets_only else _fit
    packages = sorted({r["package"] for r in rows})
    folds = [set(packages[0::2]), set(packages[1::2])]
    held = []
    for fold in folds:
        held.append(
            _score(
                fitting([r for r in rows if r["package"] not in fold]),
                [r for r in rows if r["package"] in fold],
            )
        )
    reranker = fitting(rows)
    report = {"packages": packages, "in_sample": _score(reranker, rows), "held_out_folds": held}
    out.write_text(json.dumps(reranker.to_dict(validation=report), indent=1) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("lang", choices=["python", "typescript"])
    c.add_argument("src", type=Path, nargs="+")
    c.add_argument("--keep-fraction", type=float, default=0.5)
    c.add_argument("--drop", action="store_true", help="also drop annotation-only imports (strict)")
    c.add_argument("--no-checker", dest="checker", action="store_false")
    c.add_argument("--out", type=Path, required=True)
    f = sub.add_parser("fit")
    f.add_argument("rows", type=Path, nargs="+")
    f.add_argument("--out", type=Path, required=True)
    f.add_argument(
        "--offsets-only",
        action="store_true",
        help="keep the shipped re-ranker (MODEL_DIR/rerank.json) and fit the offsets of the groups it has none for",
    )
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        predictor = Predictor()
        with tempfile.TemporaryDirectory() as tmp, args.out.open("w") as out:
            for src in args.src:
                rows = collect_package(
                    args.lang, src.resolve(), Path(tmp), args.keep_fraction, predictor, args.drop
                )
                print(f"{src.name}: {len(rows)} sites", file=sys.stderr)
                for r in rows:
                    out.write(json.dumps(r) + "\n")
        return
    rows = [json.loads(line) for p in args.rows for line in p.read_text().splitlines() if line.strip()]
    report = fit_and_dump(rows, args.out, offsets_only=args.offsets_only)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
