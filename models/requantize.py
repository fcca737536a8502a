"""Re-quantize a shipped dynamic-INT8 model statically, without its training checkpoint.

    python -m models.requantize CALIB_DIR [CALIB_DIR ...] [--model typeinf/model]

The weights are read back from the INT8 ONNX file (dequantized: exactly the values the shipped
model computes with), loaded into `models.network.TypeNet`, exported to fp32 ONNX and quantized
again by `models.export.quantize` (static activation scales). Calibration inputs are the runtime's
own model inputs (`typeinf.inference.scorer.Scorer`, recorded through the session it is given) for up to
3,000 sites of each directory: pass unpacked
packages of the validation split (`python -m models.corpus unpack --dest DIR NAME ...`).
Prints how often the new file's first choice matches the dequantized fp32 model and the old file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.export import export_onnx, quantize
from models.network import NetConfig, TypeNet
from typeinf.inference.bundle import ModelBundle
from typeinf.inference.scorer import Scorer, new_session
from typeinf.slices import extract, language_for_path

EVAL = Path(__file__).resolve().parent / "eval"


def _module_of(node_name: str) -> str:
    """The network module a MatMul node belongs to: /blocks.0/qkv/MatMul -> blocks.0.qkv,
    /cand_mlp/cand_mlp.0/MatMul -> cand_mlp.0 (the names torch.onnx.export gives)."""
    parts = node_name.strip("/").split("/")[:-1]
    return parts[-1] if parts[0] == "cand_mlp" else ".".join(parts)


def dequantized_state(onnx_path: Path, cfg: NetConfig) -> dict[str, torch.Tensor]:
    """TypeNet's state dict from a shipped INT8 model: a `quantize_dynamic` export (MatMulInteger
    nodes) or a static QDQ one (per-channel DequantizeLinear nodes on the weights)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(onnx_path))
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}

    def deq(name: str, axis: int | None = None) -> np.ndarray:
        q = init[name + "_quantized"].astype(np.float32)
        scale = init[name + "_scale"].astype(np.float32)
        zero = init[name + "_zero_point"].astype(np.float32)
        if scale.ndim == 1 and axis is not None:  # per channel: along `axis`
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return (q - zero) * scale

    users: dict[str, list[Any]] = {}
    for n in m.graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    state: dict[str, torch.Tensor] = {}
    for n in m.graph.node:
        if n.op_type == "MatMulInteger":
            module = _module_of(n.name)
            state[module + ".weight"] = torch.tensor(deq(n.input[1][: -len("_quantized")]).T.copy())
        elif n.op_type == "DequantizeLinear" and n.input[0] in init and n.input[0].endswith("_quantized"):
            name = n.input[0][: -len("_quantized")]
            axis = next((helper.get_attribute_value(a) for a in n.attribute if a.name == "axis"), None)
            w = deq(name, axis if axis is not None else 1)
            matmuls = [u for u in users.get(n.output[0], []) if u.op_type == "MatMul"]
            if name in ("tok.weight", "pos.weight"):
                state[name] = torch.tensor(w)
            elif matmuls:
                state[_module_of(matmuls[0].name) + ".weight"] = torch.tensor(w.T.copy())
        elif n.op_type == "MatMul" and len(n.input) > 1 and n.input[1] in init:  # a weight left in fp32
            state[_module_of(n.name) + ".weight"] = torch.tensor(init[n.input[1]].T.copy())
    for k in ("tok.weight", "pos.weight"):
        if k not in state:
            state[k] = torch.tensor(deq(k))
    for k, v in TypeNet(cfg).state_dict().items():
        if k not in state:
            state[k] = torch.tensor(init[k])
        if state[k].shape != v.shape:
            raise ValueError(f"{k}: {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the network")
    return state


class Recorder:
    """An inference session that keeps a copy of every input it runs."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.feeds: list[dict[str, np.ndarray]] = []

    def run(self, names: Any, arrays: dict[str, np.ndarray]) -> Any:
        self.feeds.append({k: v.copy() for k, v in arrays.items()})
        return self.session.run(names, arrays)


def recording_scorer(bundle: ModelBundle, threads: int = 2) -> tuple[Scorer, Recorder]:
    """A scorer whose every batch goes through one recorded session (of `threads` threads): with one
    scorer thread there are no single-threaded streams, which the recorder would not see."""
    recorder = Recorder(new_session(bundle.onnx_path, threads))
    return Scorer(bundle, threads=1, session=recorder), recorder


def runtime_feeds(
    scorer: Scorer, recorder: Recorder, dirs: list[Path], per_dir: int = 3000
) -> list[dict[str, np.ndarray]]:
    """The arrays the runtime feeds the model for a sample of each directory's sites (sites the
    scorer has already seen come from its cache and are not fed again)."""
    start = len(recorder.feeds)
    for d in dirs:
        slices = []
        for f in sorted(d.rglob("*")):
            lang = language_for_path(f)
            if lang is None or not f.is_file():
                continue
            try:
                slices += extract(f.read_text(encoding="utf-8"), lang, str(f))
            except (UnicodeDecodeError, ValueError):
                continue
        random.Random(0).shuffle(slices)
        scorer.rank(slices[:per_dir])
    return recorder.feeds[start:]


def first_choices(path: Path, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([np.concatenate(sess.run(None, f), axis=1).argmax(1) for f in feeds])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("calib", nargs="*", type=Path, help="directories of validation-split packages")
    ap.add_argument("--model", type=Path, default=Path(__file__).resolve().parents[1] / "typeinf" / "model")
    ap.add_argument("--check", nargs="*", type=Path, default=[], help="directories for the agreement check")
    ap.add_argument(
        "--to-checkpoint",
        type=Path,
        default=None,
        help="only write the dequantized weights as a checkpoint for `models.train --init` (with the "
        "stage figures of eval/training.json and --note), and stop",
    )
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)
    cfg = NetConfig(**json.loads((args.model / "config.json").read_text())["network"])
    net = TypeNet(cfg).eval()
    net.load_state_dict(dequantized_state(args.model / "typeinf.onnx", cfg))
    if args.to_checkpoint is not None:
        t = json.loads((EVAL / "training.json").read_text())
        state = {
            "step": t["steps"],
            "elapsed": t["minutes"] * 60,
            "best": t["best"],
            "history": t["history"],
            "stages": t.get("stages", []),
            **({"note": args.note} if args.note else {}),
        }
        args.to_checkpoint.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {"model": net.state_dict(), "state": state, "net_config": cfg.to_dict()}, args.to_checkpoint
        )
        print(f"wrote {args.to_checkpoint}", file=sys.stderr)
        return 0
    if not args.calib:
        ap.error("calibration directories are needed to re-quantize")
    scorer, recorder = recording_scorer(ModelBundle.load(args.model), min(2, os.cpu_count() or 1))
    calib = runtime_feeds(scorer, recorder, args.calib)
    check = runtime_feeds(scorer, recorder, args.check) if args.check else []
    with tempfile.TemporaryDirectory() as tmp:
        fp32, new, old = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx", Path(tmp) / "old.onnx"
        old.write_bytes((args.model / "typeinf.onnx").read_bytes())
        export_onnx(net, {k: torch.from_numpy(v[:4]) for k, v in calib[0].items()}, fp32)
        quantize(fp32, new, calib)
        if check:
            ref = first_choices(fp32, check)
            report: dict[str, Any] = {
                "sites": len(ref),
                "calibration": [d.name for d in args.calib],
                "check": [str(d) for d in args.check],
            }
            for name, p in (("static", new), ("dynamic", old)):
                report[f"{name}_agree"] = round(float((first_choices(p, check) == ref).mean()), 4)
                print(
                    f"{name}: first choice = dequantized fp32 on {len(ref)} sites: "
                    f"{report[f'{name}_agree']:.2%}",
                    file=sys.stderr,
                )
            (EVAL / "requantize.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.model / "typeinf.onnx").write_bytes(new.read_bytes())
    print(f"wrote {args.model / 'typeinf.onnx'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
