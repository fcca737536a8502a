"""Export a trained checkpoint to ONNX, quantize it to INT8 and assemble the model directory.

    python -m models.export [--checkpoint ~/.cache/typeinf/train/best.pt] [--out typeinf/model]

Writes typeinf.onnx (INT8: onnxruntime.quantization.quantize_dynamic after quant_pre_process),
tokenizer.json, types.json and config.json; checks the INT8 model against PyTorch on real
inputs and reports how often the first choice agrees.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from models.dataset import cache_dir
from models.network import NetConfig, TypeNet
from models.train import Split, to_torch
from typeinf.model_io import ModelConfig

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ("ids", "mask", "cand_tok", "cand_feat", "cand_mask")


def load_checkpoint(path: Path) -> TypeNet:
    ck = torch.load(path, weights_only=False, map_location="cpu")
    model = TypeNet(NetConfig(**ck["net_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model


def export_onnx(model: TypeNet, sample: dict[str, torch.Tensor], path: Path) -> None:
    dynamic = {"ids": {0: "batch", 1: "tokens"}, "mask": {0: "batch", 1: "tokens"},
               "cand_tok": {0: "batch", 1: "cands"}, "cand_feat": {0: "batch", 1: "cands"},
               "cand_mask": {0: "batch", 1: "cands"}, "type_logits": {0: "batch"},
               "cand_logits": {0: "batch", 1: "cands"}}  # fmt: skip
    torch.onnx.export(model, tuple(sample[k] for k in INPUTS), str(path), input_names=list(INPUTS),
                      output_names=["type_logits", "cand_logits"], dynamic_axes=dynamic, opset_version=17,
                      dynamo=False)  # fmt: skip


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8, per_channel=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--checkpoint", type=Path, default=cache_dir() / "train" / "best.pt")
    ap.add_argument("--data", type=Path, default=cache_dir() / "dataset")
    ap.add_argument("--out", type=Path, default=ROOT / "typeinf" / "model")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    model = load_checkpoint(args.checkpoint)
    mcfg = ModelConfig.load(args.data / "model")
    valid = Split(args.data / "valid.npz")
    idx = np.arange(min(valid.n, 512))
    b = valid.batch(idx, mcfg.n_types)
    sample = to_torch(b)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_onnx(model, {k: v[:4] for k, v in sample.items()}, fp32)
        quantize(fp32, args.out / "typeinf.onnx")
        with torch.no_grad():
            tl, cl = model(**sample)
        ref = torch.cat([tl, cl], 1).numpy()
        feeds = {k: b[k] for k in INPUTS}
        for name, path in (("fp32", fp32), ("int8", args.out / "typeinf.onnx")):
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            out = np.concatenate(sess.run(None, feeds), axis=1)
            agree = float((out.argmax(1) == ref.argmax(1)).mean())
            print(f"{name}: max |diff| {np.abs(out - ref).max():.4f}, first choice agrees {agree:.1%}",
                  file=sys.stderr)  # fmt: skip
    for f in ("tokenizer.json", "types.json"):
        shutil.copy(args.data / "model" / f, args.out / f)
    cfg = ModelConfig.load(args.out)
    cfg.extra["network"] = NetConfig(**torch.load(args.checkpoint, weights_only=False)["net_config"]).to_dict()
    cfg.save()
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"model directory {args.out}: {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
