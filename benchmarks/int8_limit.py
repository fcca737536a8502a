"""The CPU's INT8 matrix-multiply throughput through onnxruntime, beside what the shipped model
achieves per site (issue #22, item 3: "quote the CPU's INT8 throughput limit beside the achieved
figure").

    python benchmarks/int8_limit.py [PROJECT_DIR ...] [--threads 1]

limit: MatMulInteger (uint8 x int8 -> int32, onnxruntime's MLAS kernels, as the shipped QDQ model's
MatMuls run) and fp32 MatMul on the encoder's own shapes (rows x 256 by 256 x 768 and 256 x 256),
GOPS = 2 x multiply-adds / second of this process's CPU time (robust to other jobs on the machine;
with --threads 1 it is the one core's time), median of 5.
achieved: the model's multiply-adds per site counted from its configuration and the sites' token
counts (encoder layers, attention, the type head), over the measured single-thread sites/s of the
shipped model on the runtime's own inputs for the projects' sites (a sample of 1,500 per project);
beside it the same weights dequantized to fp32 (the precision choice on this CPU) and how often
the two agree on the first choice.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _session(model: object, threads: int) -> object:
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]


def matmul_gops(rows: int, k: int, n: int, int8: bool, threads: int) -> float:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if int8:
        w = numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "w")
        node = helper.make_node("MatMulInteger", ["x", "w"], ["y"])
        x_type, y_type = TensorProto.UINT8, TensorProto.INT32
        x = rng.integers(0, 255, (rows, k), dtype=np.uint8)
    else:
        w = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "w")
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        x_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
        x = rng.standard_normal((rows, k)).astype(np.float32)
    graph = helper.make_graph(
        [node],
        "mm",
        [helper.make_tensor_value_info("x", x_type, [rows, k])],
        [helper.make_tensor_value_info("y", y_type, [rows, n])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    sess = _session(model, threads)
    for _ in range(3):
        sess.run(None, {"x": x})  # type: ignore[attr-defined]
    runs = []
    for _ in range(5):
        t = time.process_time()
        reps = 20
        for _ in range(reps):
            sess.run(None, {"x": x})  # type: ignore[attr-defined]
        runs.append((time.process_time() - t) / reps)
    return 2 * rows * k * n / statistics.median(runs) / 1e9


def macs_per_site(cfg: dict, tokens: float) -> float:
    """Multiply-adds of one site with `tokens` input tokens (+1 for the site token)."""
    d, ff, layers, types = cfg["d"], cfg["ff"], cfg["layers"], cfg["n_types"]
    t = tokens + 1
    per_token = layers * (d * 3 * d + d * d + 2 * d * ff + 2 * t * d)  # qkv, out, ffn, attention
    return t * per_token + d * types  # the type head (candidate scoring is small beside it)


def achieved(dirs: list[Path], threads: int) -> dict:
    from models.requantize import recording_scorer, runtime_feeds
    from typeinf.inference.bundle import MODEL_DIR, ModelBundle
    from typeinf.inference.scorer import new_session

    bundle = ModelBundle.load(MODEL_DIR)
    cfg = json.loads((MODEL_DIR / "config.json").read_text())["network"]
    scorer, rec = recording_scorer(bundle, threads=1)
    feeds = runtime_feeds(scorer, rec, dirs, per_dir=1500)
    # the mask covers the <cls> token and the site's tokens
    tokens = [int(m.sum()) - 1 for f in feeds for m in np.asarray(f["mask"]).reshape(len(f["ids"]), -1)]
    sites = len(tokens)
    macs = sum(macs_per_site(cfg, n) for n in tokens)
    out: dict = {"sites": sites, "mean_tokens": round(float(np.mean(tokens)), 1)}
    models = {"int8": bundle.onnx_path, "fp32": fp32_copy(bundle, cfg, feeds[0])}
    firsts = {}
    for name, path in models.items():
        sess = new_session(path, threads)
        for f in feeds[:3]:
            sess.run(None, f)
        runs = []
        for _ in range(3):
            t = time.process_time()
            got = [np.concatenate(sess.run(None, f), axis=1).argmax(1) for f in feeds]
            runs.append(time.process_time() - t)
        sec = statistics.median(runs)
        firsts[name] = np.concatenate(got)
        out[name] = {"sites_per_s": round(sites / sec), "achieved_gops": round(2 * macs / sec / 1e9, 1)}
    out["first_choice_agreement"] = round(float((firsts["int8"] == firsts["fp32"]).mean()), 3)
    return out


def fp32_copy(bundle: object, cfg: dict, sample: dict) -> Path:
    """The shipped weights, dequantized, exported to fp32 ONNX (the same network without INT8)."""
    import tempfile

    import torch

    from models.export import export_onnx
    from models.network import NetConfig, TypeNet
    from models.requantize import dequantized_state

    net_cfg = NetConfig(**cfg)
    net = TypeNet(net_cfg)
    net.load_state_dict(dequantized_state(bundle.onnx_path, net_cfg))  # type: ignore[attr-defined]
    net.eval()
    path = Path(tempfile.mkdtemp(prefix="typeinf-fp32-")) / "fp32.onnx"
    export_onnx(net, {k: torch.from_numpy(v[:4]) for k, v in sample.items()}, path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    limit = {}
    for rows in (64, 2048):
        for k, n in ((256, 768), (256, 256)):
            limit[f"int8 {rows}x{k}x{n}"] = round(matmul_gops(rows, k, n, True, args.threads), 1)
            limit[f"fp32 {rows}x{k}x{n}"] = round(matmul_gops(rows, k, n, False, args.threads), 1)
    out: dict = {"threads": args.threads, "limit_gops": limit}
    if args.dirs:
        out["model"] = achieved(args.dirs, args.threads)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
