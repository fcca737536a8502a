"""Export a trained checkpoint to ONNX, quantize it to INT8 and assemble the model directory.

    python -m models.export [--checkpoint ~/.cache/typeinf/train/best.pt] [--out typeinf/model]

Writes typeinf.onnx (INT8, see `quantize`), tokenizer.json, types.json, config.json and an
explicitly uncalibrated thresholds.json / static_rules.json (typeinf.inference.bundle.UNCALIBRATED: the new
weights' calibration is models.evaluate's to fit); checks the INT8 model against PyTorch on real
inputs and reports how often the first choice agrees.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.dataset import cache_dir
from models.network import NetConfig, TypeNet, load_checkpoint
from models.train import Split, lang_mask, to_torch
from typeinf.inference.bundle import UNCALIBRATED
from typeinf.inference.encoding import ModelConfig
from typeinf.types import normalize

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT / "models" / "eval"
INPUTS = ("ids", "mask", "cand_tok", "cand_feat", "cand_mask")


_VOID_UNION = re.compile(r"^(.*=> ?void) \| (null|undefined)$")


def repair_ts_label(label: str) -> str:
    """Vocabularies built before the normaliser kept the parentheses of `(() => void) | null`
    hold `() => void | null`: a nullable callback (a function returning `void | null` is not
    what anyone writes), spelled again so that writing it back means what was meant."""
    m = _VOID_UNION.match(label)
    if m is None or not label.startswith(("(", "<", "new ")):
        return label
    return normalize(f"({m.group(1)}) | {m.group(2)}", "typescript")


def export_onnx(model: TypeNet, sample: dict[str, torch.Tensor], path: Path) -> None:
    dynamic = {
        "ids": {0: "batch", 1: "tokens"},
        "mask": {0: "batch", 1: "tokens"},
        "cand_tok": {0: "batch", 1: "cands"},
        "cand_feat": {0: "batch", 1: "cands"},
        "cand_mask": {0: "batch", 1: "cands"},
        "type_logits": {0: "batch"},
        "cand_logits": {0: "batch", 1: "cands"},
    }
    torch.onnx.export(
        model,
        tuple(sample[k] for k in INPUTS),
        str(path),
        input_names=list(INPUTS),
        output_names=["type_logits", "cand_logits"],
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )


HEADS = (
    "/type_head/",
    "/cand_mlp/",
    "/feat/",
    "/cand_attn/",
)  # node-name prefixes of the heads, kept in fp32


def weight_nodes(model: Any) -> list[str]:
    """The nodes to quantize: the encoder's weight MatMuls and the embedding Gathers."""
    inits = {x.name for x in model.graph.initializer}
    nodes = []
    for n in model.graph.node:
        if (
            n.op_type in ("MatMul", "Gemm")
            and any(i in inits for i in n.input)
            and not n.name.startswith(HEADS)
        ):
            nodes.append(n.name)
        elif n.op_type == "Gather" and n.input[0] in ("tok.weight", "pos.weight"):
            nodes.append(n.name)
    return nodes


def quantize(src: Path, dst: Path, calibration: Iterable[dict[str, np.ndarray]]) -> None:
    """Static INT8 (QDQ): per-channel INT8 weights, UINT8 activations with scales fixed from
    calibration batches (min/max), so a site's scores never depend on the other sites of its batch
    (dynamic quantization scales activations per batch: 1.2% of first choices and some
    confidences moved with the batch, which made `typeinf annotate` non-idempotent). The
    encoder's MatMuls and the embeddings are quantized; the two small heads stay fp32 (with them
    quantized, 2.8% of first choices differed from fp32 instead of 1.1%)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        nodes = weight_nodes(onnx.load(str(pre)))
        quantize_static(
            str(pre),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm", "Gather"],
            nodes_to_quantize=nodes,
            calibrate_method=CalibrationMethod.MinMax,
        )


def calibration_batches(
    split: Split, n_types: int, sites: int = 4096, batch: int = 64, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Validation sites in length-sorted batches, padded as the runtime pads them."""
    rng = np.random.default_rng(seed)
    half = np.arange(split.n // 2, split.n)  # the first half is left for the agreement check
    idx = rng.choice(half, size=min(sites, len(half)), replace=False)
    idx = idx[np.argsort(split.lengths[idx], kind="stable")]
    out = []
    for s in range(0, len(idx), batch):
        b = split.batch(idx[s : s + batch], n_types)
        out.append({k: b[k] for k in INPUTS})
    return out


def compare(
    model: TypeNet, mcfg: ModelConfig, split: Split, idx: np.ndarray, paths: dict[str, Path], batch: int = 64
) -> dict[str, float]:
    """exact@1 of each ONNX file on the sites `idx` (runtime-like length-sorted batches), their
    largest difference from PyTorch, and how often the INT8 first choice is the fp32 one."""
    import onnxruntime as ort

    order = idx[np.argsort(split.lengths[idx], kind="stable")]
    sessions = {k: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for k, p in paths.items()}
    firsts: dict[str, list[np.ndarray]] = {k: [] for k in paths}
    hits = {k: 0 for k in paths}
    diff = {k: 0.0 for k in paths}
    for s in range(0, len(order), batch):
        b = split.batch(order[s : s + batch], mcfg.n_types)
        with torch.no_grad():
            tl, cl = model(**to_torch(b))
        ref = torch.cat([tl, cl], 1).numpy()
        lmask = lang_mask(mcfg, b["lang"]).numpy()
        rows = np.arange(len(b["lang"]))
        for k, sess in sessions.items():
            tl, cl = sess.run(None, {n: b[n] for n in INPUTS})
            diff[k] = max(diff[k], float(np.abs(np.concatenate([tl, cl], axis=1) - ref).max()))
            first = np.concatenate([tl + lmask, cl], axis=1).argmax(1)
            firsts[k].append(first)
            hits[k] += int(b["target"][rows, first].sum())
    quant: dict[str, float] = {"n": len(idx)}
    for k in paths:
        quant[f"{k}_exact"] = round(hits[k] / len(idx), 4)
        print(
            f"{k}: max |diff| vs torch {diff[k]:.4f}, exact@1 on {len(idx)} validation sites "
            f"{quant[f'{k}_exact']:.4f}",
            file=sys.stderr,
        )
    if "fp32" in paths and "int8" in paths:
        quant["agree"] = round(
            float((np.concatenate(firsts["fp32"]) == np.concatenate(firsts["int8"])).mean()), 4
        )
        print(f"int8 vs fp32: first choice agrees {quant['agree']:.1%}", file=sys.stderr)
    return quant


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--checkpoint", type=Path, default=cache_dir() / "train" / "best.pt")
    ap.add_argument("--data", type=Path, default=cache_dir() / "dataset")
    ap.add_argument("--out", type=Path, default=ROOT / "typeinf" / "model")
    ap.add_argument(
        "--eval-dir", type=Path, default=EVAL_DIR, help="where quantization.json / training.json go"
    )
    ap.add_argument(
        "--no-project-calls",
        dest="project_calls",
        action="store_false",
        help="the model was trained without the evidence of the project's calls (a corpus built before v2)",
    )
    args = ap.parse_args(argv)
    ck = torch.load(args.checkpoint, weights_only=False, map_location="cpu")
    model = load_checkpoint(ck)
    mcfg = ModelConfig.load(args.data / "model")
    valid = Split(args.data / "valid.npz")
    check = np.arange(min(valid.n // 2, 4096))  # the agreement check; calibration uses the other half
    sample = to_torch(valid.batch(check[:4], mcfg.n_types))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_onnx(model, sample, fp32)
        quantize(fp32, args.out / "typeinf.onnx", calibration_batches(valid, mcfg.n_types))
        quant = {
            "method": "static",
            **compare(model, mcfg, valid, check, {"fp32": fp32, "int8": args.out / "typeinf.onnx"}),
        }
    st = ck.get("state")
    args.eval_dir.mkdir(parents=True, exist_ok=True)
    (args.eval_dir / "quantization.json").write_text(json.dumps(quant, indent=1) + "\n")
    if st is not None:  # a training checkpoint (not weights rebuilt from an earlier export)
        (args.eval_dir / "training.json").write_text(
            json.dumps(
                {
                    "steps": st["step"],
                    "epochs": st["epoch"],
                    "minutes": round(st["elapsed"] / 60, 1),
                    "best": st["best"],
                    "history": st["history"],
                    "batch_size": st.get("batch_size"),
                    "precision": st.get("precision"),  # None: a stage from before it was recorded (bf16)
                    "parameters": sum(v.numel() for v in ck["model"].values()),
                    "tokenizer_vocab": mcfg.tokenizer().get_vocab_size(),
                    "types": {k: len(v) for k, v in mcfg.types.items()},
                    "stages": [
                        {k: x[k] for k in ("step", "elapsed", "best", "note") if k in x}
                        for x in st.get("stages", [])
                    ],
                    "note": st.get("note"),  # e.g. the weights are an average (models.average)
                    "distilled_from": st.get("distilled_from"),  # a student (models.distill)
                    "max_tokens": st.get("max_tokens"),  # where its inputs were cut in training
                },
                indent=1,
            )
            + "\n"
        )
    shutil.copy(args.data / "model" / "tokenizer.json", args.out / "tokenizer.json")
    types = json.loads((args.data / "model" / "types.json").read_text(encoding="utf-8"))
    types["typescript"] = [repair_ts_label(t) for t in types.get("typescript", [])]
    (args.out / "types.json").write_text(json.dumps(types, ensure_ascii=False), encoding="utf-8")
    cfg = ModelConfig.load(args.out)
    cfg.extra["network"] = NetConfig(**ck["net_config"]).to_dict()
    cfg.extra["project_calls"] = args.project_calls
    if st is not None and st.get("max_tokens"):  # a network trained on cut inputs reads them cut
        cfg.extra["max_tokens"] = int(st["max_tokens"])
    cfg.save()
    UNCALIBRATED.write(args.out)  # a calibration fitted for earlier weights would not hold for these
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"model directory {args.out}: {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
