"""Train the type model on 2 CPU cores: `python -m models.train [--minutes 90]`.

bf16 autocast where the CPU has AMX (fp32 otherwise: see `has_amx`), length-bucketed batches,
a learning-rate schedule over a wall-clock budget, checkpoints every few minutes under
~/.cache/typeinf/train/ so a run can stop and resume (`--resume`); the best checkpoint on the
validation subset is kept as `best.pt`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.dataset import cache_dir
from models.distill import distill_loss, parse_layers, student_from
from models.network import NetConfig, TypeNet, load_checkpoint
from typeinf.inference.encoding import MAX_TOKENS, ModelConfig, pad_batch
from typeinf.inference.features import N_FEATURES


class Split:
    """One split's arrays (from models.dataset) with per-example access."""

    def __init__(self, path: Path, max_tokens: int = MAX_TOKENS) -> None:
        z = np.load(path)
        self.ids, self.ids_off = z["ids"], z["ids_off"]
        self.cand_tok, self.feats, self.cand_off = z["cand_tok"], z["feats"], z["cand_off"]
        self.tgt, self.tgt_off = z["tgt"], z["tgt_off"]
        self.lang = z["lang"]
        self.n = len(self.lang)
        self.max_tokens = min(max_tokens, MAX_TOKENS)  # where each input is cut, as the runtime cuts it
        self.lengths = np.minimum(np.diff(self.ids_off), self.max_tokens)

    def has_target(self) -> np.ndarray:
        return np.diff(self.tgt_off) > 0

    def batch(self, idx: list[int] | np.ndarray, n_types: int) -> dict[str, Any]:
        ids = [self.ids[self.ids_off[i] : self.ids_off[i + 1]][: self.max_tokens] for i in idx]
        ctok = [self.cand_tok[self.cand_off[i] : self.cand_off[i + 1]] for i in idx]
        feats = [self.feats[self.cand_off[i] : self.cand_off[i + 1]] for i in idx]
        arrays = pad_batch(ids, ctok, feats)
        c = arrays["cand_tok"].shape[1]
        target = np.zeros((len(idx), n_types + c), dtype=bool)
        for row, i in enumerate(idx):
            target[row, self.tgt[self.tgt_off[i] : self.tgt_off[i + 1]]] = True
        arrays["target"] = target
        arrays["lang"] = self.lang[np.asarray(idx)]
        return arrays


def batches(split: Split, idx: np.ndarray, batch_size: int, rng: random.Random) -> list[np.ndarray]:
    """Length-bucketed batches: sort chunks of 50 batches by length, then shuffle the batches."""
    idx = idx.copy()
    rng.shuffle(idx)  # type: ignore[arg-type]
    out = []
    chunk = batch_size * 50
    for s in range(0, len(idx), chunk):
        part = idx[s : s + chunk]
        part = part[np.argsort(split.lengths[part], kind="stable")]
        out.extend(part[j : j + batch_size] for j in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def lang_mask(cfg: ModelConfig, langs: np.ndarray) -> torch.Tensor:
    """Additive mask on the type logits: each site only sees its language's vocabulary."""
    m = torch.full((len(langs), cfg.n_types), -1e4)
    for row, lang_id in enumerate(langs):
        a, b = cfg.lang_range("python" if lang_id == 0 else "typescript")
        m[row, a:b] = 0.0
    return m


def loss_fn(type_logits, cand_logits, target, lmask) -> torch.Tensor:
    logits = torch.cat([type_logits.float() + lmask, cand_logits.float()], dim=1)
    log_z = torch.logsumexp(logits, dim=1)
    log_t = torch.logsumexp(logits.masked_fill(~target, -1e4), dim=1)
    return (log_z - log_t).mean()


def attention_kernel() -> Any:
    """PyTorch picks its CPU flash-attention kernel when there is no attention dropout, and its
    backward is slow on 2 cores: the plain (math) kernel trains 1.3x faster here (dropout 0: 316 ->
    375 sites/s; dropout 0.05 with the math kernel: 286, a fifth of it spent drawing dropout masks)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


def has_amx() -> bool:
    """bf16 pays only with AMX tiles: on this workplace's AMX machines bf16 autocast trained at
    ~385 sites/s against ~175 for fp32; on a machine with AVX512-BF16 but no AMX it ran at ~105
    sites/s, slower than fp32 (~175)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags


def autocast(enabled: bool) -> Any:
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def to_torch(b: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(b[k]) for k in ("ids", "mask", "cand_tok", "cand_feat", "cand_mask")}


@torch.no_grad()
def evaluate(
    model: TypeNet, cfg: ModelConfig, split: Split, idx: np.ndarray, bs: int = 128, bf16: bool = True
) -> float:
    """Top-1 accuracy (argmax over vocabulary and candidates) on the given examples."""
    model.eval()
    hits = 0
    order = idx[np.argsort(split.lengths[idx])]
    for s in range(0, len(order), bs):
        part = order[s : s + bs]
        b = split.batch(part, cfg.n_types)
        with autocast(bf16), attention_kernel():
            tl, cl = model(**to_torch(b))
        logits = torch.cat([tl.float() + lang_mask(cfg, b["lang"]), cl.float()], dim=1)
        best = logits.argmax(1).numpy()
        hits += int(b["target"][np.arange(len(part)), best].sum())
    model.train()
    return hits / max(1, len(idx))


def lr_at(frac: float, peak: float, warmup: float = 0.03) -> float:
    if frac < warmup:
        return peak * frac / warmup
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (frac - warmup) / (1 - warmup)))))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=cache_dir() / "dataset")
    ap.add_argument("--out", type=Path, default=cache_dir() / "train")
    ap.add_argument("--minutes", type=float, default=90.0, help="wall-clock training budget")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=768)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: budget only)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this checkpoint's weights (new optimizer and schedule: a further stage)",
    )
    ap.add_argument(
        "--cand-attn",
        action="store_true",
        help="candidates attend over the site's tokens (grown from --init with the same scores)",
    )
    ap.add_argument(
        "--dropout", type=float, default=0.0, help="0 by default: a run on 2 cores sees each site about once"
    )
    ap.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="distil this checkpoint into a student made of its --keep-layers (models.distill)",
    )
    ap.add_argument(
        "--keep-layers", default="0,2", help="with --teacher: the teacher's blocks the student keeps"
    )
    ap.add_argument(
        "--distill-weight", type=float, default=0.8, help="with --teacher: the teacher's share of the loss"
    )
    ap.add_argument("--temperature", type=float, default=1.0, help="with --teacher: of both distributions")
    ap.add_argument(
        "--max-tokens",
        type=int,
        default=MAX_TOKENS,
        help="cut each site's input here, as a model whose config.json says max_tokens does at run time",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--precision",
        choices=("auto", "bf16", "fp32"),
        default="auto",
        help="auto: bf16 autocast when the CPU has AMX, else fp32",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    bf16 = args.precision == "bf16" or (args.precision == "auto" and has_amx())
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    mcfg = ModelConfig.load(args.data / "model")
    train = Split(args.data / "train.npz", args.max_tokens)
    valid = Split(args.data / "valid.npz", args.max_tokens)
    train_idx = np.flatnonzero(train.has_target())
    vrng = np.random.default_rng(0)
    valid_idx = vrng.permutation(valid.n)[:4000]
    net_cfg = NetConfig(
        vocab_size=mcfg.tokenizer().get_vocab_size(),
        n_types=mcfg.n_types,
        n_features=N_FEATURES,
        d=args.d,
        layers=args.layers,
        heads=args.heads,
        ff=args.ff,
        max_len=MAX_TOKENS + 1,
        dropout=args.dropout,
        cand_attn=int(args.cand_attn),
    )
    teacher = None
    if args.teacher is not None:
        if args.init is not None:
            raise SystemExit("--teacher starts the student from the teacher's own blocks: no --init")
        tck = torch.load(args.teacher, weights_only=False, map_location="cpu")
        teacher = load_checkpoint(tck)
        try:
            student_cfg, student_weights = student_from(
                tck["net_config"], tck["model"], parse_layers(args.keep_layers)
            )
        except ValueError as e:
            raise SystemExit(str(e)) from None
        net_cfg = NetConfig(**{**student_cfg, "dropout": args.dropout})
    model = TypeNet(net_cfg)
    if teacher is not None:
        model.load_state_dict(student_weights)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / "last.pt"
    state: dict[str, Any] = {
        "step": 0,
        "elapsed": 0.0,
        "epoch": 0,
        "best": -1.0,
        "history": [],
        "batch_size": args.batch_size,
        "max_tokens": train.max_tokens,
    }
    if teacher is not None:
        state["distilled_from"] = {
            "teacher": str(args.teacher),
            "keep_layers": args.keep_layers,
            "weight": args.distill_weight,
            "temperature": args.temperature,
        }
    if args.init is not None and not (args.resume and ckpt_path.is_file()):
        ck = torch.load(args.init, weights_only=False)
        missing, unexpected = model.load_state_dict(ck["model"], strict=False)
        if unexpected or any(not k.startswith("cand_attn.") for k in missing):
            raise SystemExit(f"--init {args.init}: does not fit this network ({missing=}, {unexpected=})")
        prev = ck["state"]
        state["stages"] = [
            *prev.get("stages", []),
            {k: prev[k] for k in ("step", "elapsed", "best", "history", "note") if k in prev},
        ]
        print(
            f"initialised from {args.init} (step {prev['step']}, {prev['elapsed'] / 60:.1f} min)",
            file=sys.stderr,
        )
    if args.resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        print(f"resumed at step {state['step']} ({state['elapsed'] / 60:.1f} min)", file=sys.stderr)
    n_params = sum(p.numel() for p in model.parameters())
    state.setdefault("precision", []).append("bf16" if bf16 else "fp32")
    print(
        f"train: {len(train_idx):,} sites with a target of {train.n:,}; valid subset {len(valid_idx):,}; "
        f"{n_params / 1e6:.1f}M parameters",
        file=sys.stderr,
    )
    budget = args.minutes * 60
    start = time.monotonic() - state["elapsed"]
    last_ckpt = t_proc = time.monotonic()
    seen = 0

    def save(path: Path) -> None:
        state["elapsed"] = time.monotonic() - start
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "state": state,
                "net_config": net_cfg.to_dict(),
            },
            str(path) + ".tmp",
        )
        Path(str(path) + ".tmp").replace(path)

    done = False
    model.train()
    while not done:
        for bidx in batches(train, train_idx, args.batch_size, rng):
            frac = (time.monotonic() - start) / budget
            if args.max_steps:
                frac = max(frac, state["step"] / args.max_steps)
            if frac >= 1.0:
                done = True
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(frac, args.lr)
            b = train.batch(bidx, mcfg.n_types)
            inputs = to_torch(b)
            with autocast(bf16), attention_kernel():
                tl, cl = model(**inputs)
            lmask = lang_mask(mcfg, b["lang"])
            loss = loss_fn(tl, cl, torch.from_numpy(b["target"]), lmask)
            if teacher is not None:
                with torch.no_grad(), autocast(bf16), attention_kernel():
                    scores = teacher(**inputs)
                soft = distill_loss((tl, cl), scores, lmask, args.temperature)
                loss = args.distill_weight * soft + (1 - args.distill_weight) * loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state["step"] += 1
            seen += len(bidx)
            if state["step"] % 50 == 0:
                el = time.monotonic() - start
                print(
                    f"step {state['step']} epoch {state['epoch']} loss {loss.item():.3f} "
                    f"lr {opt.param_groups[0]['lr']:.2e} {el / 60:.1f} min "
                    f"{seen / max(1e-9, time.monotonic() - t_proc):.0f} ex/s",
                    file=sys.stderr,
                )
            if state["step"] % args.eval_every == 0:
                acc = evaluate(model, mcfg, valid, valid_idx, bf16=bf16)
                state["history"].append(
                    {
                        "step": state["step"],
                        "minutes": round((time.monotonic() - start) / 60, 1),
                        "valid_top1": round(acc, 4),
                    }
                )
                print(f"valid top-1 {acc:.4f} at step {state['step']}", file=sys.stderr)
                if acc > state["best"]:
                    state["best"] = acc
                    save(args.out / "best.pt")
            if time.monotonic() - last_ckpt > args.checkpoint_minutes * 60:
                save(ckpt_path)
                last_ckpt = time.monotonic()
        else:
            state["epoch"] += 1
    acc = evaluate(model, mcfg, valid, valid_idx, bf16=bf16)
    state["history"].append(
        {
            "step": state["step"],
            "minutes": round((time.monotonic() - start) / 60, 1),
            "valid_top1": round(acc, 4),
        }
    )
    if acc > state["best"]:
        state["best"] = acc
        save(args.out / "best.pt")
    save(ckpt_path)
    (args.out / "history.json").write_text(json.dumps(state["history"], indent=1))
    print(f"done: {state['step']} steps, best valid top-1 {state['best']:.4f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
