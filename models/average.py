"""Average the weights of two checkpoints of one training lineage: `python -m models.average A B`.

    python -m models.average ~/.cache/typeinf/init/stage4.pt ~/.cache/typeinf/init/stage3.pt \
        --weight 0.7 --out ~/.cache/typeinf/init/soup34.pt

Writes `weight * A + (1 - weight) * B` in A's network shape, for `models.train --init`. B may lack a
module A has grown with a zero output (`--cand-attn`): B is then A's network with that output at
zero, so its other weights are taken from A and the output is scaled by `weight`. Checkpoints
from one lineage (a stage and its continuation) average well; unrelated ones do not.

With several weights (`--weight 0.3,0.5,0.7`) each average is scored (top-1) on a fixed sample of
the validation split (`--valid-sites`, the first sites of the permutation models.train draws its
validation subset from) and the best is written; the scores go into the checkpoint's note.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# grown modules whose output projection starts at zero (models.network.CandAttn)
ZERO_OUTPUTS = ("cand_attn.out.",)


def average(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], weight: float) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in a.items():
        if k in b:
            if b[k].shape != v.shape:
                raise ValueError(f"{k}: shapes differ ({tuple(v.shape)} vs {tuple(b[k].shape)})")
            out[k] = weight * v + (1.0 - weight) * b[k]
        elif k.startswith(ZERO_OUTPUTS):
            out[k] = weight * v
        elif k.startswith(tuple(p.split(".")[0] + "." for p in ZERO_OUTPUTS)):
            out[k] = v.clone()
        else:
            raise ValueError(f"{k}: not in the second checkpoint")
    extra = sorted(set(b) - set(a))
    if extra:
        raise ValueError(f"the second checkpoint has weights the first lacks: {extra[:5]}")
    return out


def valid_scorer(data: Path, sites: int) -> Callable[[dict[str, torch.Tensor], dict[str, Any]], float]:
    """Top-1 of a set of weights on the first `sites` of the validation permutation models.train
    uses; the split is read once for all the weights scored."""
    import numpy as np

    from models.network import NetConfig, TypeNet
    from models.train import Split, evaluate
    from typeinf.inference.encoding import ModelConfig

    valid = Split(data / "valid.npz")
    cfg = ModelConfig.load(data / "model")
    idx = np.random.default_rng(0).permutation(valid.n)[:sites]

    def score(weights: dict[str, torch.Tensor], net_config: dict[str, Any]) -> float:
        net = TypeNet(NetConfig(**net_config))
        net.load_state_dict(weights)
        return evaluate(net, cfg, valid, idx, bf16=False)

    return score


def main(argv: list[str] | None = None) -> int:
    from models.dataset import cache_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument(
        "--weight",
        default="0.5",
        help="share of A; several (comma-separated): the best on validation is written",
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=cache_dir() / "dataset", help="models.dataset output")
    ap.add_argument("--valid-sites", type=int, default=12_000)
    args = ap.parse_args(argv)
    try:
        weights = [float(w) for w in args.weight.split(",")]
    except ValueError:
        print(f"error: --weight {args.weight}: expected numbers separated by commas", file=sys.stderr)
        return 2
    ca: dict[str, Any] = torch.load(args.a, weights_only=False)
    cb: dict[str, Any] = torch.load(args.b, weights_only=False)
    try:
        soups = {w: average(ca["model"], cb["model"], w) for w in weights}
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    best = weights[0]
    scores = ""
    if len(weights) > 1:
        if not (args.data / "valid.npz").is_file():
            print(
                f"error: choosing among weights needs the validation split: no {args.data / 'valid.npz'}",
                file=sys.stderr,
            )
            return 2
        score = valid_scorer(args.data, args.valid_sites)
        top1 = {w: score(m, ca["net_config"]) for w, m in soups.items()}
        for w, acc in top1.items():
            print(f"weight {w:g}: valid top-1 {100 * acc:.2f}", file=sys.stderr)
        best = max(weights, key=lambda w: top1[w])
        scores = (
            f" (chosen on {args.valid_sites:,} validation sites, top-1: "
            + ", ".join(f"{w:g} -> {100 * acc:.2f}" for w, acc in top1.items())
            + ")"
        )
    model = soups[best]
    state = dict(ca["state"])
    state["note"] = f"weight average: {best:g} x {args.a.name} + {1 - best:g} x {args.b.name}{scores}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "state": state, "net_config": ca["net_config"]}, args.out)
    print(f"{args.out}: {state['note']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
