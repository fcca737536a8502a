"""Where `predict`'s time goes per site (issue #22, item 3): slicing, features, tokenising, the
model, decoding and finalisation, on one project, one thread, no cache; with the tokens-per-site
histogram and the padding the length batches waste.

    python benchmarks/model_time.py PROJECT_DIR [--lang python|typescript] [--repeat 3]

Prints a table (medians over the repeats) and the histogram; nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from typeinf.files import SourceFile, walk  # noqa: E402
from typeinf.inference.encoding import MAX_TOKENS, encode_names, pad_batch  # noqa: E402
from typeinf.inference.features import N_FEATURES  # noqa: E402
from typeinf.inference.finalize import finalize  # noqa: E402
from typeinf.inference.predict import Predictor, PredictorSettings  # noqa: E402
from typeinf.inference.project import ProjectIndex  # noqa: E402
from typeinf.inference.scorer import TOKEN_BUDGET, decode, features, length_batches  # noqa: E402
from typeinf.slices import extract_with_diagnostics  # noqa: E402


def one_run(root: Path, lang: str | None) -> tuple[dict[str, float], list[int], int, int]:
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    files = [
        f
        for f in walk([root])
        if isinstance(f, SourceFile) and (lang is None or f.language.startswith(lang[:4]))
    ]
    index = ProjectIndex.build(root)
    t["index"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sites = []
    for f in files:
        try:
            slices, _ = extract_with_diagnostics(f.path.read_bytes(), f.language, str(f.path))
        except OSError:
            continue
        proj = index.types_for(f.path, f.language)
        sites += [(s, proj) for s in slices if s.annotation is None]
    t["slicing"] = time.perf_counter() - t0

    predictor = Predictor(threads=1, settings=PredictorSettings(cache_dir=None))
    bundle = predictor.bundle
    tok = bundle.config.tokenizer()
    t0 = time.perf_counter()
    feats = [features(s, proj) for s, proj in sites]
    t["features"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    enc = tok.encode_batch([text for text, _ in feats])
    lengths = [min(len(e.ids), MAX_TOKENS) for e in enc]
    ctok = [encode_names(tok, [c.name for c in cands]) for _, cands in feats]
    t["tokenising"] = time.perf_counter() - t0

    session = predictor.scorer.session
    t_model = t_decode = 0.0
    real = padded = 0
    rankings: list = [None] * len(sites)
    for batch in length_batches(lengths, 64, TOKEN_BUDGET):
        ids = [np.asarray(enc[j].ids[:MAX_TOKENS], dtype=np.int64) for j in batch]
        cf = [
            np.asarray([c.feats for c in feats[j][1]], dtype=np.float32).reshape(-1, N_FEATURES)
            for j in batch
        ]
        inputs = pad_batch(ids, [ctok[j] for j in batch], cf)
        real += sum(lengths[j] + 1 for j in batch)
        padded += inputs["ids"].size
        a = time.perf_counter()
        type_logits, cand_logits = session.run(None, inputs)
        b = time.perf_counter()
        for row, j in enumerate(batch):
            s, _ = sites[j]
            cands = feats[j][1]
            rankings[j] = decode(
                bundle.config,
                bundle.calibration.temperature,
                "python" if s.language == "python" else "typescript",
                type_logits[row],
                cand_logits[row, : len(cands)],
                [c.type for c in cands],
            )
        t_model += b - a
        t_decode += time.perf_counter() - b
    t["model"] = t_model
    t["decode"] = t_decode

    from typeinf.inference.scorer import Ranking

    t0 = time.perf_counter()
    for (s, _), r in zip(sites, rankings, strict=True):
        finalize(bundle.calibration, s, Ranking(tuple(r), {}), 5, None)
    t["finalize"] = time.perf_counter() - t0
    return t, lengths, real, padded


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project", type=Path)
    ap.add_argument("--lang", choices=["python", "typescript"], default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    runs = [one_run(args.project, args.lang) for _ in range(args.repeat)]
    lengths, real, padded = runs[0][1], runs[0][2], runs[0][3]
    n = len(lengths)
    print(f"{args.project}: {n} sites, one thread, medians of {args.repeat}")
    print(f"{'stage':<12} {'seconds':>8} {'us/site':>9} {'share':>6}")
    med = {k: statistics.median(r[0][k] for r in runs) for k in runs[0][0]}
    total = sum(med.values())
    for k, v in med.items():
        print(f"{k:<12} {v:8.2f} {1e6 * v / max(n, 1):9.0f} {v / total:6.1%}")
    print(f"{'total':<12} {total:8.2f} {1e6 * total / max(n, 1):9.0f}   ({n / total:.0f} sites/s)")
    print(f"padding: {real:,} real tokens, {padded:,} padded ({padded / max(real, 1) - 1:.1%} waste)")
    hist = Counter(min(x // 16 * 16, MAX_TOKENS) for x in lengths)
    print("tokens per site (bucket of 16: sites):", ", ".join(f"{k}: {hist[k]}" for k in sorted(hist)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
