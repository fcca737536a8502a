"""Average the weights of two checkpoints of one training lineage: `python -m models.average A B`.

    python -m models.average ~/.cache/typeinf/init/stage4.pt ~/.cache/typeinf/init/stage3.pt \
        --weight 0.7 --out ~/.cache/typeinf/init/soup34.pt

Writes `weight * A + (1 - weight) * B` in A's network shape, for `models.train --init`. B may lack a
module A has grown with a zero output (`--cand-attn`): B is then A's network with that output at
zero, so its other weights are taken from A and the output is scaled by `weight`. Checkpoints
from one lineage (a stage and its continuation) average well; unrelated ones do not.
"""

from __future__ import annotations

import argparse
import sys
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--weight", type=float, default=0.5, help="share of A")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    ca: dict[str, Any] = torch.load(args.a, weights_only=False)
    cb: dict[str, Any] = torch.load(args.b, weights_only=False)
    try:
        model = average(ca["model"], cb["model"], args.weight)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    state = dict(ca["state"])
    state["note"] = f"weight average: {args.weight} x {args.a.name} + {1 - args.weight:g} x {args.b.name}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "state": state, "net_config": ca["net_config"]}, args.out)
    print(f"{args.out}: {state['note']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
