"""Accuracy and model time against the input's length budget (issue #22, item 3: "shorter inputs
where accuracy holds"): the shipped INT8 model on the validation split's encoded sites, each
input cut at N tokens as the runtime cuts it at the model's `max_tokens` (`enc.ids[:N]`).

    python benchmarks/length_budget.py [--data ~/.cache/typeinf/dataset-nocalls] [--sites 12000]
        [--budgets 128,112,96,80,64] [--model DIR] [--out results.json]

The data is a `models.dataset` output made with the shipped tokenizer and type vocabulary
(`--without-calls`: the shipped model's input).  For each budget: top-1 (the argmax over the
language's vocabulary and the site's candidates, as `models.train.evaluate`; a site whose type
neither holds is a miss) on one fixed sample,
by language, and the model's time for the sample in length-bucketed batches on one thread
(onnxruntime, median of --repeat runs), with the share of inputs the budget cuts.  Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from typeinf.inference.bundle import MODEL_DIR, ModelBundle  # noqa: E402
from typeinf.inference.encoding import LANG_FAMILIES, ModelConfig, pad_batch  # noqa: E402
from typeinf.inference.scorer import TOKEN_BUDGET, length_batches, new_session, site_logits  # noqa: E402


def load(path: Path) -> dict[str, np.ndarray]:
    z = np.load(path)
    return {k: z[k] for k in ("ids", "ids_off", "cand_tok", "feats", "cand_off", "tgt", "tgt_off", "lang")}


def run(session, z: dict, idx: np.ndarray, budget: int, cfg: ModelConfig) -> tuple[int, float]:
    """(hits, seconds) of the sample with inputs cut at `budget` tokens."""
    ids = [z["ids"][z["ids_off"][i] : z["ids_off"][i + 1]][:budget] for i in idx]
    ctok = [z["cand_tok"][z["cand_off"][i] : z["cand_off"][i + 1]] for i in idx]
    feats = [z["feats"][z["cand_off"][i] : z["cand_off"][i + 1]] for i in idx]
    hits = 0
    seconds = 0.0
    for part in length_batches([len(x) for x in ids], 64, TOKEN_BUDGET):
        arrays = pad_batch([ids[j] for j in part], [ctok[j] for j in part], [feats[j] for j in part])
        t0 = time.perf_counter()
        type_logits, cand_logits = session.run(None, arrays)
        seconds += time.perf_counter() - t0
        for row, j in enumerate(part):
            i = idx[j]
            fam = LANG_FAMILIES[int(z["lang"][i])]
            a, b = cfg.lang_range(fam)
            best = int(np.argmax(site_logits(cfg, fam, type_logits[row], cand_logits[row, : len(ctok[j])])))
            best = (
                best + a if best < b - a else type_logits.shape[1] + (best - (b - a))
            )  # the target's column
            hits += best in set(z["tgt"][z["tgt_off"][i] : z["tgt_off"][i + 1]].tolist())
    return hits, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path.home() / ".cache" / "typeinf" / "dataset-nocalls")
    ap.add_argument("--sites", type=int, default=12_000)
    ap.add_argument("--budgets", default="128,112,96,80,64")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--model", type=Path, default=MODEL_DIR, help="a model directory (default: the shipped one)"
    )
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    bundle = ModelBundle.load(args.model)
    cfg = bundle.config
    z = load(args.data / "valid.npz")
    n = len(z["lang"])
    idx = np.random.default_rng(0).permutation(n)[: args.sites]
    lengths = np.diff(z["ids_off"])[idx]
    session = new_session(bundle.onnx_path, 1)
    rows = []
    for budget in (int(b) for b in args.budgets.split(",")):
        times = []
        for _ in range(args.repeat):  # the hits are the same each time: only the time varies
            hits = {}
            secs = 0.0
            for lang_id, name in enumerate(LANG_FAMILIES):  # the dataset's `lang` ids
                mine = idx[z["lang"][idx] == lang_id]
                h, s = run(session, z, mine, budget, cfg)
                hits[name] = (h, len(mine))
                secs += s
            times.append(secs)
        by_lang = {k: round(h / max(m, 1), 4) for k, (h, m) in hits.items()}
        total = sum(h for h, _ in hits.values()) / max(1, sum(m for _, m in hits.values()))
        row = {
            "budget": budget,
            "cut_share": round(float(np.mean(lengths > budget)), 3),
            "top1": round(total, 4),
            **{f"top1_{k}": v for k, v in by_lang.items()},
            "model_seconds": round(statistics.median(times), 2),
            "sites_per_s_one_thread": round(len(idx) / statistics.median(times)),
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    report = {"model": str(args.model), "data": str(args.data), "sites": int(len(idx)), "rows": rows}
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
