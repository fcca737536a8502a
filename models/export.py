"""Export a trained checkpoint to ONNX, quantize it to INT8 and assemble the model directory.

    python -m models.export [--checkpoint ~/.cache/typeinf/train/best.pt] [--out typeinf/model]

Writes typeinf.onnx (INT8: onnxruntime.quantization.quantize_dynamic after quant_pre_process),
tokenizer.json, types.json and config.json; checks the INT8 model against PyTorch on real
inputs and reports how often the first choice agrees.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from models.dataset import cache_dir
from models.network import NetConfig, TypeNet
from models.train import Split, lang_mask, to_torch
from typeinf.model_io import ModelConfig
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
    ap.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="where quantization.json / training.json go")
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
        lmask = lang_mask(mcfg, b["lang"]).numpy()
        rows = np.arange(len(idx))
        quant: dict[str, float] = {"n": len(idx)}
        firsts = {}
        for name, path in (("fp32", fp32), ("int8", args.out / "typeinf.onnx")):
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            tl, cl = sess.run(None, feeds)
            out = np.concatenate([tl, cl], axis=1)
            firsts[name] = np.concatenate([tl + lmask, cl], axis=1).argmax(1)
            quant[f"{name}_exact"] = round(float(b["target"][rows, firsts[name]].mean()), 4)
            print(f"{name}: max |diff| vs torch {np.abs(out - ref).max():.4f}, "
                  f"exact@1 on {len(idx)} validation sites {quant[f'{name}_exact']:.4f}", file=sys.stderr)  # fmt: skip
        quant["agree"] = round(float((firsts["fp32"] == firsts["int8"]).mean()), 4)
        print(f"int8 vs fp32: first choice agrees {quant['agree']:.1%}", file=sys.stderr)
    ck = torch.load(args.checkpoint, weights_only=False)
    st = ck["state"]
    args.eval_dir.mkdir(parents=True, exist_ok=True)
    (args.eval_dir / "quantization.json").write_text(json.dumps(quant, indent=1) + "\n")
    (args.eval_dir / "training.json").write_text(json.dumps({
        "steps": st["step"], "epochs": st["epoch"], "minutes": round(st["elapsed"] / 60, 1),
        "best": st["best"], "history": st["history"], "batch_size": st.get("batch_size"),
        "parameters": sum(v.numel() for v in ck["model"].values()),
        "tokenizer_vocab": mcfg.tokenizer().get_vocab_size(),
        "types": {k: len(v) for k, v in mcfg.types.items()},
        "stages": [{"step": x["step"], "elapsed": x["elapsed"], "best": x["best"]} for x in st.get("stages", [])],
    }, indent=1) + "\n")  # fmt: skip
    shutil.copy(args.data / "model" / "tokenizer.json", args.out / "tokenizer.json")
    types = json.loads((args.data / "model" / "types.json").read_text(encoding="utf-8"))
    types["typescript"] = [repair_ts_label(t) for t in types.get("typescript", [])]
    (args.out / "types.json").write_text(json.dumps(types, ensure_ascii=False), encoding="utf-8")
    cfg = ModelConfig.load(args.out)
    cfg.extra["network"] = NetConfig(**ck["net_config"]).to_dict()
    cfg.save()
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"model directory {args.out}: {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
