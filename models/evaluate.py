"""Evaluate the shipped model on held-out packages: `python -m models.evaluate`.

    1. calibrate on the validation split: the softmax temperature (least NLL), the precision of
       each static-fact rule, the confidence calibrator (typeinf.inference.confidence) and the confidence
       threshold that gives >= 95% precision;
       written to the model directory (thresholds.json, static_rules.json);
    2. evaluate on the test split: top-1 / top-5 exact match (after typeinf.types.normalize)
       and base-type match, by language, kind and label category, beside the baselines
       (most frequent type per kind, name lookup table) on the same sites;
    3. write models/eval/results.json (and the tables for the model card).

Runs the INT8 ONNX model through the runtime's own pieces, on the arrays that models.dataset
built with typeinf.inference.features (the runtime feature code): the session of typeinf.inference.scorer.Scorer, its
decoding steps (site_logits, labels, merge), typeinf.inference.finalize.combine for the final prediction,
and typeinf.inference.bundle.Calibration for what is fitted and written.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from models.dataset import cache_dir
from models.rules import precision
from typeinf.inference.bundle import MODEL_DIR, Calibration, ModelBundle
from typeinf.inference.confidence import confidence_features
from typeinf.inference.confidence import fit as fit_calibrator
from typeinf.inference.encoding import pad_batch
from typeinf.inference.finalize import Choice, combine
from typeinf.inference.scorer import Scorer, labels, merge, site_logits
from typeinf.inference.static import Fact, rule_key
from typeinf.types import base_type

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT / "models" / "eval"
TEMPERATURES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
TOPN = 40
UNINFORMATIVE = {"Any", "object", "any", "unknown", "Object"}
THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)


def load_meta(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


class Scored:
    """Per site: the top-N (type, logit) pairs and log-sum-exp per temperature."""

    def __init__(self, n: int) -> None:
        self.top: list[list[tuple[str, float]]] = [[] for _ in range(n)]
        self.scored: set[int] = set(range(n))
        self.lse = np.zeros((n, len(TEMPERATURES)))
        self.target_lse = np.full((n, len(TEMPERATURES)), np.nan)

    def ranked(self, i: int, t_index: int) -> list[tuple[str, float]]:
        temp = TEMPERATURES[t_index]
        return merge((t, float(np.exp(logit / temp - self.lse[i, t_index]))) for t, logit in self.top[i])


def score_split(
    scorer: Scorer,
    data: Path,
    split: str,
    meta: list[dict[str, Any]],
    batch: int = 128,
    limit: int | None = None,
) -> Scored:
    z = np.load(data / f"{split}.npz")
    ids, ids_off = z["ids"], z["ids_off"]
    ctok, feats, coff = z["cand_tok"], z["feats"], z["cand_off"]
    tgt, toff = z["tgt"], z["tgt_off"]
    n = len(meta)
    out = Scored(n)
    cfg = scorer.bundle.config
    lengths = np.diff(ids_off)
    order = np.argsort(lengths, kind="stable")
    if limit is not None and limit < n:  # an evenly spread, fixed subset (calibration)
        keep = np.zeros(n, dtype=bool)
        keep[np.linspace(0, n - 1, limit).astype(int)] = True
        order = order[keep[order]]
    start = time.monotonic()
    for s in range(0, len(order), batch):
        part = order[s : s + batch]
        arrays = pad_batch(
            [ids[ids_off[i] : ids_off[i + 1]] for i in part],
            [ctok[coff[i] : coff[i + 1]] for i in part],
            [feats[coff[i] : coff[i + 1]] for i in part],
        )
        type_logits, cand_logits = scorer.session.run(None, arrays)
        for row, i in enumerate(part):
            m = meta[i]
            fam = m["language"]
            a, b = cfg.lang_range(fam)
            nc = int(coff[i + 1] - coff[i])
            logits = site_logits(cfg, fam, type_logits[row], cand_logits[row, :nc]).astype(np.float64)
            top = np.argsort(-logits)[:TOPN].tolist()
            out.top[i] = list(
                zip(labels(cfg, fam, top, m["cands"]), (float(logits[k]) for k in top), strict=True)
            )
            for ti, temp in enumerate(TEMPERATURES):
                x = logits / temp
                mx = x.max()
                out.lse[i, ti] = mx + np.log(np.exp(x - mx).sum())
                targets = tgt[toff[i] : toff[i + 1]]
                if len(targets):
                    idx = [int(t) - a if t < cfg.n_types else int(t) - cfg.n_types + (b - a) for t in targets]
                    y = x[idx]
                    ym = y.max()
                    out.target_lse[i, ti] = ym + np.log(np.exp(y - ym).sum())
        done = min(len(order), s + batch)
        if done % (batch * 50) < batch or done == len(order):
            el = time.monotonic() - start
            print(
                f"\r{split}: {done:,}/{len(order):,} ({done / max(el, 1e-9):.0f} sites/s)",
                end="",
                file=sys.stderr,
            )
    print(file=sys.stderr)
    out.scored = set(order.tolist())
    return out


def final_predictions(
    calibration: Calibration, scored: Scored, meta: list[dict[str, Any]], t_index: int
) -> list[Choice]:
    out = []
    for i, m in enumerate(meta):
        fact = Fact(*m["static"]) if m["static"] else None
        out.append(
            combine(calibration, m["language"], fact, scored.ranked(i, t_index), top_k=5, kind=m["kind"])
        )
    return out


def metrics(items: Iterable[tuple[dict[str, Any], list[str]]]) -> dict[str, Any]:
    """exact@1, exact@5, base@1 over (meta, ranked types)."""
    n = e1 = e5 = b1 = 0
    for m, ranked in items:
        n += 1
        label = m["label"]
        fam = m["language"]
        if ranked and ranked[0] == label:
            e1 += 1
        if label in ranked[:5]:
            e5 += 1
        if ranked and base_type(ranked[0], fam) == base_type(label, fam):
            b1 += 1
    if n == 0:
        return {"n": 0}
    return {"n": n, "exact@1": round(e1 / n, 4), "exact@5": round(e5 / n, 4), "base@1": round(b1 / n, 4)}


def breakdown(meta: list[dict[str, Any]], ranked: list[list[str]]) -> dict[str, Any]:
    """Headline (informative labels) by language, then by kind, category and generic."""
    res: dict[str, Any] = {}
    for lang in ("python", "typescript"):
        rows = [
            (m, r)
            for m, r in zip(meta, ranked, strict=True)
            if m["language"] == lang and not m.get("inferred")
        ]
        head = [(m, r) for m, r in rows if m["label"] not in UNINFORMATIVE]
        res[lang] = {
            "all": metrics(head),
            "uninformative_labels": metrics((m, r) for m, r in rows if m["label"] in UNINFORMATIVE),
            "by_kind": {
                k: metrics((m, r) for m, r in head if m["kind"] == k) for k in ("param", "return", "var")
            },
            "by_category": {
                c: metrics((m, r) for m, r in head if m["category"] == c)
                for c in ("builtin", "third-party", "user-defined")
            },
            "generic": metrics((m, r) for m, r in head if m["generic"]),
        }
        inferred = [
            (m, r)
            for m, r in zip(meta, ranked, strict=True)
            if m["language"] == lang and m.get("inferred") and m["label"] not in UNINFORMATIVE
        ]
        if inferred:  # compiler-inferred labels of unannotated sites: apart from the headline
            res[lang]["inferred_labels"] = {
                "all": metrics(inferred),
                "by_kind": {
                    k: metrics((m, r) for m, r in inferred if m["kind"] == k) for k in ("return", "var")
                },
            }
    return res


class Baselines:
    """Most frequent type per (language, kind) and the name lookup table, from the train split."""

    def __init__(self, train_meta: list[dict[str, Any]]) -> None:
        per_kind: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        per_name: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
        for m in train_meta:
            per_kind[(m["language"], m["kind"])][m["label"]] += 1
            per_name[(m["language"], m["kind"], m["name"].rsplit(".", 1)[-1])][m["label"]] += 1
        self.kind = {k: [t for t, _ in c.most_common(5)] for k, c in per_kind.items()}
        self.name = {k: [t for t, _ in c.most_common(5)] for k, c in per_name.items()}

    def most_frequent(self, m: dict[str, Any]) -> list[str]:
        return self.kind.get((m["language"], m["kind"]), [])

    def name_lookup(self, m: dict[str, Any]) -> list[str]:
        got = self.name.get((m["language"], m["kind"], m["name"].rsplit(".", 1)[-1]), [])
        return (got + [t for t in self.most_frequent(m) if t not in got])[:5]


def precision_table(meta: list[dict[str, Any]], finals: list[Any]) -> list[dict[str, Any]]:
    rows = []
    n = len(meta)
    for th in THRESHOLDS:
        sel = [(m, f) for m, f in zip(meta, finals, strict=True) if f[1] >= th]
        ok = sum(1 for m, f in sel if f[0] == m["label"])
        rows.append(
            {
                "threshold": th,
                "coverage": round(len(sel) / max(1, n), 4),
                "precision": round(ok / max(1, len(sel)), 4),
                "n": len(sel),
            }
        )
    return rows


def threshold_for(meta: list[dict[str, Any]], finals: list[Any], target: float = 0.95) -> float:
    """The lowest confidence (to 3 decimals) at and above which >= 50 sites are `target` precise."""
    conf = np.array([f[1] for f in finals], dtype=np.float64)
    right = np.array([f[0] == m["label"] for m, f in zip(meta, finals, strict=True)], dtype=np.int64)
    order = np.argsort(-conf, kind="stable")
    conf_desc, hits = conf[order], np.cumsum(right[order])
    for th in sorted({round(float(c), 3) for c in conf}):
        n = int(np.searchsorted(-conf_desc, -th, side="right"))  # sites with conf >= th
        if n >= 50 and hits[n - 1] / n >= target:
            return float(th)
    return 1.0


def write_sites(
    path: Path, meta: list[dict[str, Any]], finals: list[Any], ranked: list[list[str]], scored: Scored
) -> None:
    """One JSON line per test site: what it is, its label, the final top-5 and whether the label
    was nameable at all (by the vocabulary or a local candidate)."""
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for i, m in enumerate(meta):
            row = {
                k: m[k] for k in ("language", "kind", "category", "generic", "package", "label", "inferred")
            }
            row.update(
                top=ranked[i][:5],
                confidence=round(finals[i][1], 4),
                source=finals[i][2],
                representable=bool(not np.isnan(scored.target_lse[i, 0])),
            )
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=cache_dir() / "dataset")
    ap.add_argument("--model", type=Path, default=MODEL_DIR)
    ap.add_argument("--out", type=Path, default=EVAL_DIR / "results.json")
    ap.add_argument("--valid-limit", type=int, default=60_000, help="validation sites used for calibration")
    ap.add_argument(
        "--quantization", type=Path, default=None, help="quantization.json written by models.export"
    )
    ap.add_argument("--no-calibrate", action="store_true", help="keep the model directory's calibration")
    ap.add_argument(
        "--sites",
        type=Path,
        default=None,
        help="also write each test site's ranked predictions here (JSON lines, .gz) for models.errors",
    )
    args = ap.parse_args(argv)
    bundle = ModelBundle.load(args.model)
    scorer = Scorer(bundle, threads=min(2, os.cpu_count() or 1))
    calibration = bundle.calibration
    valid_meta = load_meta(args.data / "valid.meta.jsonl")
    test_meta = load_meta(args.data / "test.meta.jsonl")
    train_meta = load_meta(args.data / "train.meta.jsonl")
    # millions of loaded records: keep the cyclic GC from re-scanning them on every collection
    # (it made scoring and threshold search slow down as the heap grew)
    gc.freeze()
    results: dict[str, Any] = {}
    t0 = time.monotonic()
    vs = score_split(scorer, args.data, "valid", valid_meta, limit=args.valid_limit)
    keep = [i for i in sorted(vs.scored) if not valid_meta[i].get("inferred")]  # calibrate on declared labels
    declared = [m for m in valid_meta if not m.get("inferred")]  # the rules need no model scores: all of them
    valid_meta = [valid_meta[i] for i in keep]
    vs.top = [vs.top[i] for i in keep]
    vs.lse, vs.target_lse = vs.lse[keep], vs.target_lse[keep]
    if not args.no_calibrate:
        has = ~np.isnan(vs.target_lse[:, 0])
        nll = [float(np.mean(vs.lse[has, i] - vs.target_lse[has, i])) for i in range(len(TEMPERATURES))]
        t_index = int(np.argmin(nll))
        temperature = TEMPERATURES[t_index]
        rules: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for m in declared:
            if m["static"]:
                key = rule_key(m["language"], m["kind"], Fact(*m["static"]))
                rules[key][1] += 1
                rules[key][0] += int(m["static"][0] == m["label"])
        # a rule seen fewer than 20 times keeps a cautious prior instead of a noisy estimate
        precisions = {k: precision(ok, n) for k, (ok, n) in rules.items() if n}
        uncalibrated = Calibration(temperature, rules=precisions)  # the rules, no confidence calibrator yet
        raw = final_predictions(uncalibrated, vs, valid_meta, t_index)
        feats = []
        for i, (m, f) in enumerate(zip(valid_meta, raw, strict=True)):
            fact = Fact(*m["static"]) if m["static"] else None
            rule_p = uncalibrated.rule_precision(m["language"], m["kind"], fact) if fact else 0.0
            feats.append(
                confidence_features(f[0], f[1], vs.ranked(i, t_index), f[2], rule_p, m["kind"], m["language"])
            )
        right = [f[0] == m["label"] for m, f in zip(valid_meta, raw, strict=True)]
        calibrators = {
            fam: fit_calibrator(
                [x for x, m in zip(feats, valid_meta, strict=True) if m["language"] == fam],
                [y for y, m in zip(right, valid_meta, strict=True) if m["language"] == fam],
            )
            for fam in ("python", "typescript")
            if any(m["language"] == fam for m in valid_meta)
        }
        finals = final_predictions(
            Calibration(temperature, rules=precisions, calibrators=calibrators), vs, valid_meta, t_index
        )
        default = threshold_for(valid_meta, finals)
        # the calibrators differ by language: each gets the lowest threshold reaching the target on its own sites
        by_language = {
            fam: threshold_for(
                [m for m in valid_meta if m["language"] == fam],
                [f for f, m in zip(finals, valid_meta, strict=True) if m["language"] == fam],
            )
            for fam in calibrators
        }
        # a language that reaches the target at no threshold keeps the overall one (rather than writing nothing)
        by_language = {fam: th for fam, th in by_language.items() if th < 1.0}
        calibration = Calibration(temperature, default, by_language, calibrators, precisions)
        calibration.write(
            args.model,
            target_precision=0.95,
            valid_nll_by_temperature=dict(
                zip(map(str, TEMPERATURES), map(lambda x: round(x, 4), nll), strict=True)
            ),
        )
        results["calibration"] = {
            "temperature": calibration.temperature,
            "default_threshold": default,
            "threshold_by_language": by_language,
            "static_rules": dict(calibration.rules),
            "static_rule_counts": {k: n for k, (_, n) in rules.items()},
            "valid_precision_coverage": precision_table(valid_meta, finals),
            "valid_precision_coverage_uncalibrated": precision_table(valid_meta, raw),
        }
    temperature = calibration.temperature
    t_index = TEMPERATURES.index(temperature) if temperature in TEMPERATURES else 4
    ts = score_split(scorer, args.data, "test", test_meta)
    finals = final_predictions(calibration, ts, test_meta, t_index)
    model_ranked = [[f[0]] + [t for t, _ in f[3] if t != f[0]] for f in finals]
    base = Baselines(train_meta)
    declared = [i for i, m in enumerate(test_meta) if not m.get("inferred")]
    d_meta, d_finals = [test_meta[i] for i in declared], [finals[i] for i in declared]
    results["test"] = {
        "sites": len(declared),
        "inferred_sites": len(test_meta) - len(declared),
        "packages": len({m["package"] for m in d_meta}),
        "model": breakdown(test_meta, model_ranked),
        "most_frequent_per_kind": breakdown(test_meta, [base.most_frequent(m) for m in test_meta]),
        "name_lookup": breakdown(test_meta, [base.name_lookup(m) for m in test_meta]),
        "precision_coverage": precision_table(d_meta, d_finals),
        "static_share": round(sum(1 for f in d_finals if f[2] == "static") / max(1, len(d_finals)), 4),
        "representable": round(float(np.mean([not np.isnan(ts.target_lse[i, 0]) for i in declared])), 4),
    }
    if args.sites is not None:
        write_sites(args.sites, test_meta, finals, model_ranked, ts)
    qpath = args.quantization if args.quantization is not None else EVAL_DIR / "quantization.json"
    if qpath.is_file():
        results["quantization"] = json.loads(qpath.read_text())
    results["seconds"] = round(time.monotonic() - t0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    for lang in ("python", "typescript"):
        m = results["test"]["model"][lang]["all"]
        nl = results["test"]["name_lookup"][lang]["all"]
        print(
            f"{lang}: model exact@1 {m.get('exact@1')} exact@5 {m.get('exact@5')} base@1 {m.get('base@1')} "
            f"| name lookup exact@1 {nl.get('exact@1')} (n={m.get('n')})",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
