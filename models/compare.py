"""Top-1 of checkpoints on the same validation sites of one or more encodings of them.

    python -m models.compare CKPT... --data DIR... [--sites 12000] [--max-tokens 80]

Each checkpoint is scored on each dataset directory (a `models.dataset` output whose valid split
holds the same sites in the same order, encoded differently: with and without the evidence of the
package's calls, `models.dataset --without-calls`), on one fixed sample of its sites: the
ablation of a new model input is the shipped weights on the old encoding against the new weights
on the new one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from typeinf.inference.encoding import MAX_TOKENS, ModelConfig

from .network import load_checkpoint
from .train import Split, evaluate, has_amx


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--sites", type=int, default=12_000)
    ap.add_argument(
        "--max-tokens",
        type=int,
        default=MAX_TOKENS,
        help="cut each input here (a model's config.json max_tokens)",
    )
    ap.add_argument("--out", type=Path, help="write the table as JSON here too")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    splits = {d: (Split(d / "valid.npz", args.max_tokens), ModelConfig.load(d / "model")) for d in args.data}
    sizes = {s.n for s, _ in splits.values()}
    if len(sizes) != 1:
        raise SystemExit(f"the datasets' valid splits differ in size ({sorted(sizes)}): not the same sites")
    idx = np.random.default_rng(0).permutation(sizes.pop())[: args.sites]
    table = []
    for ck in args.checkpoints:
        model = load_checkpoint(torch.load(ck, weights_only=False, map_location="cpu")).eval()
        for d, (split, cfg) in splits.items():
            acc = evaluate(model, cfg, split, idx, bf16=has_amx())
            row = {"checkpoint": str(ck), "data": str(d), "sites": len(idx), "max_tokens": split.max_tokens}
            table.append({**row, "top1": round(acc, 4)})
            print(f"{ck}  {d}: top-1 {acc:.4f} on {len(idx):,} sites", file=sys.stderr)
    if args.out is not None:
        args.out.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
