"""The training pipeline end to end on a small fixture corpus (a sample of real corpus records):
dataset -> train -> ONNX export + INT8 -> runtime predictor -> evaluation.  Also proves there is
no train/serve skew: the runtime builds byte-identical model inputs for the same slice."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from typeinf.inference.encoding import MAX_TOKENS, encode_names
from typeinf.inference.features import N_FEATURES
from typeinf.inference.predict import Predictor
from typeinf.slices import slice_from_dict

FIXTURE = ROOT / "tests" / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from models import dataset, evaluate, export, train

    work = tmp_path_factory.mktemp("pipeline")
    data, ckpt, model = work / "data", work / "train", work / "model"
    assert (
        dataset.main(
            [
                "--shards",
                str(FIXTURE),
                "--out",
                str(data),
                "--tokenizer-size",
                "600",
                "--types-per-lang",
                "300",
                "--min-count",
                "1",
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    assert (
        train.main(
            [
                "--data",
                str(data),
                "--out",
                str(ckpt),
                "--max-steps",
                "40",
                "--minutes",
                "5",
                "--d",
                "64",
                "--layers",
                "1",
                "--heads",
                "2",
                "--ff",
                "128",
                "--batch-size",
                "16",
                "--eval-every",
                "20",
            ]
        )
        == 0
    )
    assert (
        export.main(
            [
                "--checkpoint",
                str(ckpt / "best.pt"),
                "--data",
                str(data),
                "--out",
                str(model),
                "--eval-dir",
                str(work),
            ]
        )
        == 0
    )
    out = work / "results.json"
    assert (
        evaluate.main(
            [
                "--data",
                str(data),
                "--model",
                str(model),
                "--out",
                str(out),
                "--quantization",
                str(work / "quantization.json"),
                "--sites",
                str(work / "sites.jsonl.gz"),
            ]
        )
        == 0
    )
    return data, model, json.loads(out.read_text())


def test_runtime_inputs_are_byte_identical_to_training_inputs(trained):
    from models.dataset import project_index, read_split

    data, model, _ = trained
    pred = Predictor(model)
    projects = project_index(FIXTURE)
    z = np.load(data / "test.npz")
    records = list(read_split(FIXTURE, "python", "test")) + list(read_split(FIXTURE, "typescript", "test"))
    assert len(records) == len(z["lang"])
    tok = pred.cfg.tokenizer()
    for i, r in enumerate(records):
        text, cands = pred.features(slice_from_dict(r), projects.get(r["package"], []))
        ids = np.asarray(tok.encode(text).ids[:MAX_TOKENS], dtype=np.int16)
        assert ids.tobytes() == z["ids"][z["ids_off"][i] : z["ids_off"][i + 1]].tobytes()
        a, b = z["cand_off"][i], z["cand_off"][i + 1]
        assert encode_names(tok, [c.name for c in cands]).tobytes() == z["cand_tok"][a:b].tobytes()
        feats = np.asarray([c.feats for c in cands], dtype=np.float16).reshape(len(cands), N_FEATURES)
        assert feats.tobytes() == z["feats"][a:b].tobytes()


def test_predictor_on_real_source(trained):
    from typeinf.slices import extract

    _, model, _ = trained
    pred = Predictor(model)
    src = "class Repo:\n    pass\n\ndef load(path, count=0, repo=None):\n    items = []\n    return items\n"
    slices = extract(src, "python", "m.py")
    preds = pred.predict(slices)
    assert len(preds) == len(slices)
    by = {(p.slice.kind, p.slice.name): p for p in preds}
    assert by[("param", "count")].type == "int" and by[("param", "count")].source == "static"
    for p in preds:
        assert 0.0 <= p.confidence <= 1.0 and p.type
        assert all(0.0 <= c <= 1.0 for _, c in p.alternatives)
    again = pred.predict(slices)  # served from the content cache, same answers
    assert [(p.type, p.confidence) for p in again] == [(p.type, p.confidence) for p in preds]


def test_evaluation_reports_every_breakdown(trained):
    _, model, res = trained
    for lang in ("python", "typescript"):
        for who in ("model", "name_lookup", "most_frequent_per_kind"):
            r = res["test"][who][lang]
            assert set(r["by_kind"]) == {"param", "return", "var"}
            assert set(r["by_category"]) == {"builtin", "third-party", "user-defined"}
            assert 0.0 <= r["all"]["exact@1"] <= r["all"]["exact@5"] <= 1.0
    q = res["quantization"]
    assert q["n"] > 0 and 0.0 <= q["int8_exact"] <= 1.0 and 0.0 <= q["agree"] <= 1.0
    cal = json.loads((Path(model) / "thresholds.json").read_text())
    assert 0.0 < cal["temperature"] and 0.0 <= cal["default"] <= 1.0


def test_the_error_budget_accounts_for_every_headline_site(trained):
    """models.errors splits each language's headline sites into disjoint buckets whose 'right'
    share is the evaluation's exact@1 and whose top-5 share is its exact@5."""
    from models import errors

    data, _, res = trained
    sites = errors.read_sites(Path(data).parent / "sites.jsonl.gz")
    assert sites and all(len(s["top"]) <= 5 for s in sites)
    for lang in ("python", "typescript"):
        r = errors.breakdown(sites, lang)
        model = res["test"]["model"][lang]["all"]
        assert r["n"] == model["n"] == sum(v["n"] for v in r["buckets"].values())
        assert r["buckets"]["right"]["n"] == round(model["exact@1"] * r["n"])
        assert r["buckets"]["right"]["n"] + r["buckets"]["ranked 2-5"]["n"] == round(
            model["exact@5"] * r["n"]
        )
        assert sum(d["n"] for d in r["detail"]) == r["n"] == sum(p["n"] for p in r["largest_packages"])
        assert sum(sum(c.values()) for c in r["by_category"].values()) == r["n"]
        # a label nobody could name is never ranked
        assert all(errors.bucket(s) != "not nameable" or s["label"] not in s["top"] for s in sites)
    assert "| right |" in errors.render(
        {lang: errors.breakdown(sites, lang) for lang in ("python", "typescript")}
    )


def test_export_respells_nullable_callbacks_of_old_vocabularies():
    from models.export import repair_ts_label

    assert repair_ts_label("(event: Event) => void | null") == "((event: Event) => void) | null"
    assert repair_ts_label("() => void | undefined") == "(() => void) | undefined"
    for keep in ("() => string | null", "() => void", "string | null", "(a: A) => Promise<B> | B"):
        assert repair_ts_label(keep) == keep


def test_length_batches_cover_every_site_within_the_budget():
    from typeinf.inference.encoding import MAX_TOKENS
    from typeinf.inference.scorer import length_batches

    lengths = [5, 300, 40, 41, 7, 128, 90, 2, 60, 60, 60]
    batches = length_batches(lengths, max_batch=4, token_budget=200)
    assert sorted(j for b in batches for j in b) == list(range(len(lengths)))
    for b in batches:
        padded = min(max(lengths[j] for j in b), MAX_TOKENS) + 1
        assert len(b) <= 4 and (len(b) == 1 or len(b) * padded <= 200)
        assert [lengths[j] for j in b] == sorted(lengths[j] for j in b)


def test_shipped_model_scores_a_site_the_same_whatever_its_batch():
    """Static activation scales: a site's ranking does not depend on the other sites of its batch
    (with dynamic quantization it did, and `typeinf annotate` was not idempotent on real code)."""
    from typeinf.slices import extract

    src = (ROOT / "slices" / "examples" / "python_example.py").read_text()
    src += (
        ROOT / "typeinf" / "annotate" / "python.py"
    ).read_text()  # a real module: many sites, many lengths
    slices = extract(src, "python", "m.py")
    assert len(slices) > 40
    together = Predictor().rank(slices)
    alone = Predictor()
    for s, batched in zip(slices, together, strict=True):
        assert alone.rank([s])[0].types[:3] == batched.types[:3], s.name


def test_the_input_is_cut_where_the_models_config_says(tmp_path):
    """config.json's `max_tokens` is where every site's input is cut (the shipped model reads 80
    tokens: benchmarks/length_budget.py); the model's own capacity bounds it."""
    import shutil

    from typeinf.inference.bundle import ModelBundle
    from typeinf.inference.encoding import ModelConfig
    from typeinf.inference.scorer import Scorer, features
    from typeinf.slices import extract

    shipped = ROOT / "typeinf" / "model"
    assert ModelConfig.load(shipped).max_tokens == 80
    slices = extract((ROOT / "typeinf" / "annotate" / "python.py").read_text(), "python", "m.py")
    tok = ModelConfig.load(shipped).tokenizer()
    long = [s for s in slices if len(tok.encode(features(s, [])[0]).ids) > 80]
    assert long, "sites whose input is longer than the budget"

    def rankings(budget: int) -> list:
        d = tmp_path / f"m{budget}"
        shutil.copytree(shipped, d)
        cfg = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps({**cfg, "max_tokens": budget}))
        return [r.types[:3] for r in Scorer(ModelBundle.load(d), threads=1).rank(long)]

    cut, whole, beyond = rankings(80), rankings(MAX_TOKENS), rankings(10_000)
    assert cut == [r.types[:3] for r in Scorer(ModelBundle.load(shipped), threads=1).rank(long)]
    assert whole != cut  # the cut tokens counted
    assert beyond == whole  # never past what the network was built for


def test_many_sites_run_in_one_stream_per_thread_with_the_same_rankings():
    """A project's sites go to one single-threaded session per thread, chunk by chunk as their
    features are computed; the rankings are those of one session taking every batch in turn."""
    from typeinf.inference.bundle import ModelBundle
    from typeinf.inference.scorer import Scorer
    from typeinf.slices import extract

    src = (ROOT / "typeinf" / "annotate" / "python.py").read_text() + (
        ROOT / "typeinf" / "inference" / "scorer.py"
    ).read_text()
    slices = extract(src, "python", "m.py")
    assert len(slices) > 100
    bundle = ModelBundle.load(ROOT / "typeinf" / "model")
    one = Scorer(bundle, threads=2, stream_min_sites=10**9)
    serial = one.rank(slices)
    assert one._stream_sessions == []
    streamed = Scorer(
        bundle, threads=2, stream_min_sites=50, stream_chunk=13
    )  # many chunks, batches of every size
    assert streamed.rank(slices) == serial
    assert len(streamed._stream_sessions) == 2 and streamed._session is None


def test_the_training_weights_are_read_back_from_the_shipped_int8_model(trained):
    """`models.requantize --to-checkpoint`: when the checkpoint is lost, the next training stage
    starts from the weights of the static QDQ file (int8, per channel) within one quantization step."""
    import torch

    from models.network import NetConfig
    from models.requantize import dequantized_state

    _, model, _ = trained
    ckpt = torch.load(Path(model).parent / "train" / "best.pt", map_location="cpu", weights_only=False)
    cfg = NetConfig(**json.loads((Path(model) / "config.json").read_text())["network"])
    got = dequantized_state(Path(model) / "typeinf.onnx", cfg)
    want = {k: v.float() for k, v in ckpt["model"].items()}
    assert set(got) == set(want)
    quantized = 0
    for k, w in want.items():
        diff = (got[k].float() - w).abs().max().item()
        if diff == 0.0:
            continue
        quantized += 1  # int8: within one step of the tensor's range / 127
        assert diff <= w.abs().max().item() / 127 + 1e-6, k
    assert quantized >= 5  # the matrices of the block, the heads and the embeddings


def test_a_network_grown_with_candidate_attention_starts_with_the_same_scores_and_ships(trained, tmp_path):
    """`models.train --init CKPT --cand-attn`: the candidates' cross-attention over the site's tokens
    is added with a zero output projection, so the grown network scores every site as its parent
    did; trained further it changes the candidate scores, exports to INT8 and runs in the predictor."""
    import torch

    from models import export, train
    from models.network import NetConfig, TypeNet
    from models.train import Split, to_torch
    from typeinf.inference.encoding import ModelConfig

    data, _, _ = trained
    parent_ck = Path(data).parent / "train" / "best.pt"
    ck = torch.load(parent_ck, map_location="cpu", weights_only=False)
    parent = TypeNet(NetConfig(**ck["net_config"]))
    parent.load_state_dict(ck["model"])
    grown = TypeNet(NetConfig(**{**ck["net_config"], "cand_attn": 1}))
    grown.load_state_dict(ck["model"], strict=False)
    b = to_torch(
        Split(Path(data) / "valid.npz").batch(np.arange(8), ModelConfig.load(Path(data) / "model").n_types)
    )
    with torch.no_grad():
        for a, g in zip(parent.eval()(**b), grown.eval()(**b), strict=True):
            assert torch.equal(a, g)
    out = tmp_path / "grown"
    assert (
        train.main(
            [
                "--data",
                str(data),
                "--out",
                str(out),
                "--max-steps",
                "20",
                "--minutes",
                "5",
                "--d",
                "64",
                "--layers",
                "1",
                "--heads",
                "2",
                "--ff",
                "128",
                "--batch-size",
                "16",
                "--eval-every",
                "10",
                "--init",
                str(parent_ck),
                "--cand-attn",
                "--lr",
                "3e-3",
                "--precision",
                "fp32",
            ]
        )
        == 0
    )
    last = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert last["net_config"]["cand_attn"] == 1 and last["model"]["cand_attn.out.weight"].abs().sum() > 0
    assert last["state"]["precision"] == ["fp32"]
    model = tmp_path / "model"
    assert (
        export.main(
            [
                "--checkpoint",
                str(out / "last.pt"),
                "--data",
                str(data),
                "--out",
                str(model),
                "--eval-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    cfg = json.loads((model / "config.json").read_text())["network"]
    assert cfg["cand_attn"] == 1
    from models.requantize import dequantized_state

    assert set(dequantized_state(model / "typeinf.onnx", NetConfig(**cfg))) == set(last["model"])
    from typeinf.slices import extract

    src = "class Repo:\n    pass\n\ndef load(path, repo=None):\n    if isinstance(repo, Repo):\n        return repo\n"
    preds = Predictor(model).predict(extract(src, "python", "m.py"))
    assert preds and all(0.0 <= p.confidence <= 1.0 and p.type for p in preds)
    with pytest.raises(SystemExit):  # a checkpoint of another shape is refused, not half-loaded
        train.main(
            [
                "--data",
                str(data),
                "--out",
                str(tmp_path / "bad"),
                "--max-steps",
                "1",
                "--d",
                "64",
                "--layers",
                "2",
                "--heads",
                "2",
                "--ff",
                "128",
                "--init",
                str(parent_ck),
            ]
        )


def test_averaged_weights_interpolate_between_a_stage_and_its_grown_continuation(trained, tmp_path):
    """`models.average A B --weight w`: w=1 is A, w=0 is B (a parent without the grown candidate
    attention: its output projection goes to zero), and the result loads into A's network for --init."""
    import torch

    from models import average, train
    from models.network import NetConfig, TypeNet
    from models.train import Split, to_torch
    from typeinf.inference.encoding import ModelConfig

    data, _, _ = trained
    parent_ck = Path(data).parent / "train" / "best.pt"
    out = tmp_path / "grown"
    assert (
        train.main(
            [
                "--data",
                str(data),
                "--out",
                str(out),
                "--max-steps",
                "10",
                "--minutes",
                "5",
                "--d",
                "64",
                "--layers",
                "1",
                "--heads",
                "2",
                "--ff",
                "128",
                "--batch-size",
                "16",
                "--eval-every",
                "10",
                "--init",
                str(parent_ck),
                "--cand-attn",
                "--lr",
                "3e-3",
                "--precision",
                "fp32",
            ]
        )
        == 0
    )
    b = to_torch(
        Split(Path(data) / "valid.npz").batch(np.arange(8), ModelConfig.load(Path(data) / "model").n_types)
    )

    def logits(ck_path: Path) -> tuple[torch.Tensor, ...]:
        ck = torch.load(ck_path, map_location="cpu", weights_only=False)
        net = TypeNet(NetConfig(**ck["net_config"]))
        net.load_state_dict(ck["model"])
        with torch.no_grad():
            return tuple(net.eval()(**b))

    for w, same_as in ((1.0, out / "last.pt"), (0.0, parent_ck)):
        soup = tmp_path / f"soup{w}.pt"
        assert (
            average.main([str(out / "last.pt"), str(parent_ck), "--weight", str(w), "--out", str(soup)]) == 0
        )
        for x, y in zip(logits(soup), logits(same_as), strict=True):
            assert torch.allclose(x, y, atol=1e-5)
    mid = tmp_path / "mid.pt"
    assert average.main([str(out / "last.pt"), str(parent_ck), "--out", str(mid)]) == 0
    assert not torch.allclose(logits(mid)[1], logits(parent_ck)[1])
    chosen = tmp_path / "chosen.pt"  # several weights: each scored on validation, the best written
    assert (
        average.main(
            [
                str(out / "last.pt"),
                str(parent_ck),
                "--weight",
                "0,1",
                "--data",
                str(data),
                "--valid-sites",
                "200",
                "--out",
                str(chosen),
            ]
        )
        == 0
    )
    note = torch.load(chosen, weights_only=False)["state"]["note"]
    scores = {float(w): float(v) for w, v in re.findall(r"([\d.]+) -> ([\d.]+)", note)}
    assert set(scores) == {0.0, 1.0}
    best = max(scores, key=lambda w: scores[w])
    assert note.startswith(f"weight average: {best:g} x last.pt")
    for x, y in zip(logits(chosen), logits(out / "last.pt" if best == 1.0 else parent_ck), strict=True):
        assert torch.allclose(x, y, atol=1e-5)
    other = tmp_path / "other"  # weights of another shape are refused with a usage error
    assert (
        train.main(
            [
                "--data",
                str(data),
                "--out",
                str(other),
                "--max-steps",
                "1",
                "--d",
                "32",
                "--layers",
                "1",
                "--heads",
                "2",
                "--ff",
                "64",
                "--batch-size",
                "16",
            ]
        )
        == 0
    )
    assert average.main([str(other / "last.pt"), str(parent_ck), "--out", str(tmp_path / "bad.pt")]) == 2


def test_refreshing_static_facts_rewrites_only_them_and_refuses_a_meta_out_of_step(trained, tmp_path):
    from models import dataset

    data, _, _ = trained
    built = (data / "test.meta.jsonl").read_text().splitlines()
    assert any(json.loads(line)["static"] for line in built)
    stale = [json.loads(line) | {"static": ["Stale", "literal"]} for line in built]
    (tmp_path / "test.meta.jsonl").write_text(
        "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in stale)
    )
    assert (
        dataset.main(
            ["--shards", str(FIXTURE), "--out", str(tmp_path), "--splits", "test", "--refresh-static"]
        )
        == 0
    )
    assert (tmp_path / "test.meta.jsonl").read_text().splitlines() == built
    (tmp_path / "test.meta.jsonl").write_text("\n".join(built[1:]) + "\n")  # a site short: out of step
    with pytest.raises(SystemExit, match="rebuild the split"):
        dataset.main(
            ["--shards", str(FIXTURE), "--out", str(tmp_path), "--splits", "test", "--refresh-static"]
        )
    assert (tmp_path / "test.meta.jsonl").read_text().splitlines() == built[1:]
    assert not (tmp_path / "test.meta.tmp").exists()


def test_a_student_starts_as_the_teachers_kept_blocks_and_is_pulled_towards_its_scores(trained, tmp_path):
    """`models.train --teacher CKPT --keep-layers ...` (models.distill): the student is the teacher
    without the blocks it leaves out, so keeping them all scores every site as the teacher does;
    trained on the teacher's scores alone, its distance from the teacher (the distillation loss)
    falls; it is cut at --max-tokens as the runtime cuts, and it exports and predicts."""
    import torch

    from models import export, train
    from models.distill import distill_loss, parse_layers, student_from
    from models.network import NetConfig, TypeNet
    from models.train import Split, lang_mask, to_torch
    from typeinf.inference.encoding import ModelConfig

    data, _, _ = trained
    cfg = ModelConfig.load(Path(data) / "model")
    torch.manual_seed(0)
    trained_ck = torch.load(Path(data).parent / "train" / "best.pt", weights_only=False)
    net = {**trained_ck["net_config"], "layers": 2}  # the trained network with a second, random block
    teacher = TypeNet(NetConfig(**net)).eval()
    teacher.load_state_dict(trained_ck["model"], strict=False)
    teacher_ck = tmp_path / "teacher.pt"
    torch.save({"model": teacher.state_dict(), "net_config": net, "state": {"step": 0}}, teacher_ck)
    batch = Split(Path(data) / "valid.npz").batch(np.arange(16), cfg.n_types)
    inputs, lmask = to_torch(batch), lang_mask(cfg, batch["lang"])

    same_cfg, same_weights = student_from(net, teacher.state_dict(), [0, 1])
    same = TypeNet(NetConfig(**same_cfg)).eval()
    same.load_state_dict(same_weights)
    one_cfg, one_weights = student_from(net, teacher.state_dict(), [1])
    assert one_cfg["layers"] == 1
    assert torch.equal(one_weights["blocks.0.qkv.weight"], teacher.state_dict()["blocks.1.qkv.weight"])
    assert not any(k.startswith("blocks.1.") for k in one_weights)
    one = TypeNet(NetConfig(**one_cfg)).eval()
    one.load_state_dict(one_weights)
    with torch.no_grad():
        t = teacher(**inputs)
        assert all(torch.equal(a, b) for a, b in zip(t, same(**inputs), strict=True))
        assert float(distill_loss(same(**inputs), t, lmask, 1.0)) < 1e-6
        before = float(distill_loss(one(**inputs), t, lmask, 1.0))
    assert before > 0.01
    with pytest.raises(ValueError):
        parse_layers("1,0")
    with pytest.raises(ValueError):
        student_from(net, teacher.state_dict(), [2])

    out = tmp_path / "student"
    args = [
        "--data",
        str(data),
        "--out",
        str(out),
        "--max-steps",
        "30",
        "--minutes",
        "5",
        "--batch-size",
        "16",
    ]
    args += ["--lr", "3e-3", "--eval-every", "1000", "--teacher", str(teacher_ck), "--keep-layers", "1"]
    assert train.main([*args, "--distill-weight", "1.0", "--max-tokens", "24"]) == 0
    ck = torch.load(out / "last.pt", weights_only=False)
    assert ck["net_config"]["layers"] == 1
    assert ck["state"]["distilled_from"]["keep_layers"] == "1" and ck["state"]["max_tokens"] == 24
    student = TypeNet(NetConfig(**ck["net_config"])).eval()
    student.load_state_dict(ck["model"])
    with torch.no_grad():
        after = float(distill_loss(student(**inputs), t, lmask, 1.0))
    assert after < before
    cut = Split(Path(data) / "valid.npz", 24)
    assert int(cut.lengths.max()) <= 24 and cut.batch(np.arange(16), cfg.n_types)["ids"].shape[1] <= 25

    model = tmp_path / "model"
    export_args = ["--checkpoint", str(out / "last.pt"), "--data", str(data), "--out", str(model)]
    assert export.main([*export_args, "--eval-dir", str(tmp_path)]) == 0
    exported = ModelConfig.load(model)
    assert exported.extra["network"]["layers"] == 1 and exported.max_tokens == 24
    from typeinf.slices import extract

    slices = extract("def area(width, height=1):\n    return width * height\n", "python", "m.py")
    assert len(Predictor(model).predict(slices)) == len(slices) == 3
