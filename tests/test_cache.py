"""The persistent ranking cache (typeinf.inference.cache): a second run on unchanged code does no model work
and predicts the same; entries are bounded; a cache that cannot be used is a miss, not an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from typeinf.inference.cache import RankingCache, namespace
from typeinf.inference.predict import Predictor, PredictorSettings
from typeinf.slices import extract

SRC = "def is_on(config, strict=False):\n    if strict:\n        return False\n    return config.enabled\n"


def _predictor(cache: Path | None) -> Predictor:
    return Predictor(threads=1, settings=PredictorSettings(cache_dir=cache))


def test_a_second_run_reads_the_cache_and_runs_no_model(tmp_path, monkeypatch):
    slices = extract(SRC, "python", "m.py")
    first = [p.to_dict() for p in _predictor(tmp_path).predict(slices)]
    second = _predictor(tmp_path)

    def no_model(*args, **kwargs):
        raise AssertionError("the model ran although every ranking was cached")

    monkeypatch.setattr(second.scorer, "_run", no_model)
    assert [p.to_dict() for p in second.predict(slices)] == first
    assert second.scorer.disk is not None and second.scorer.disk.hits == len(slices)
    # without the cache the model runs, and predicts the same
    third = _predictor(None)
    assert third.scorer.disk is None and [p.to_dict() for p in third.predict(slices)] == first


def test_entries_are_bounded_and_namespaced(tmp_path):
    cache = RankingCache.open(tmp_path, "space", max_entries=3)
    assert cache is not None
    cache.put_many([(f"k{i}", (("int", 0.5),)) for i in range(5)])
    kept = [k for k in (f"k{i}" for i in range(5)) if cache.get(k) is not None]
    assert len(kept) == 3
    assert (
        RankingCache.open(tmp_path, "other") is not None
        and RankingCache.open(tmp_path, "other").get("k4") is None
    )
    model = Path(__file__).resolve().parents[1] / "typeinf" / "model"
    files = [model / "typeinf.onnx", model / "types.json"]
    assert namespace(files, 1.0) != namespace(files, 1.1) != namespace(files[:1], 1.0)


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_a_cache_that_cannot_be_used_is_a_miss(tmp_path, damage):
    root = tmp_path / "cache"
    if damage == "directory":
        root.write_text("not a directory")
    else:
        root.mkdir()
    p = _predictor(root)
    if damage == "garbage":
        for f in root.glob("*.sqlite"):
            f.write_bytes(b"\x00garbage" * 100)
        p = _predictor(root)
    got = [x.to_dict() for x in p.predict(extract(SRC, "python", "m.py"))]
    assert got == [x.to_dict() for x in _predictor(None).predict(extract(SRC, "python", "m.py"))]


def test_the_cli_keeps_rankings_where_configured_and_not_with_no_cache(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "m.py").write_text(SRC)
    (tmp_path / "pyproject.toml").write_text('[tool.typeinf]\ncache-dir = "kept"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("TYPEINF_CACHE_DIR", "TYPEINF_NO_CACHE")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")

    def predict(*flags: str) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "typeinf", "predict", *flags, "m.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    cold = predict("--no-cache")
    assert not (tmp_path / "kept").exists() and not (tmp_path / "xdg").exists()
    assert predict() == cold and list((tmp_path / "kept").glob("rankings-*.sqlite"))
    assert predict() == cold  # warm
    (tmp_path / "pyproject.toml").write_text("")
    assert predict() == cold and list((tmp_path / "xdg" / "typeinf").glob("rankings-*.sqlite"))


def test_a_files_slices_and_applied_edits_are_read_back_after_another_file_is_edited(tmp_path, monkeypatch):
    """typeinf.filecache: annotate on a project whose one file changed slices and applies only that
    file again (the others' results are read back), and writes what a run without the memo writes."""
    from typeinf.annotate import run
    from typeinf.annotate.pipeline import Request, plan_files
    from typeinf.files import Read, SourceFile, read_file
    from typeinf.inference.engine import Engine
    from typeinf.inference.project import ProjectIndex

    texts = {f"m{i}.py": SRC.replace("is_on", f"is_on{i}") for i in range(5)}  # (in this process)
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    sliced: list[str] = []
    applied: list[str] = []
    real_slice, real_apply = run._slice_one, run._apply_one
    monkeypatch.setattr(run, "_slice_one", lambda a: sliced.append(a[2]) or real_slice(a))
    monkeypatch.setattr(run, "_apply_one", lambda a: applied.append(a[4]) or real_apply(a))
    predictor = Predictor()

    def annotate(cache: Path | None) -> dict[str, bytes | None]:
        sliced.clear()
        applied.clear()
        sources = []
        for n in sorted(texts):
            read = read_file(tmp_path / n, 1_000_000)
            assert isinstance(read, Read)
            sources.append((SourceFile(tmp_path / n, "python"), read))
        request = Request(run.Options(min_confidence=0.0), tmp_path, cache_dir=cache)
        engine = Engine(predictor, ProjectIndex.build(tmp_path), None)
        return {r.proj_rel: r.new for r in plan_files(sources, engine, request, lambda m: None)}

    kept = tmp_path / "cache"
    first = annotate(kept)
    assert len(sliced) >= 5 and len(applied) >= 5
    (tmp_path / "m3.py").write_text(texts["m3.py"] + "\n\ndef added(flag=True):\n    return flag\n")
    again = annotate(kept)
    assert {Path(p).name for p in sliced} == {"m3.py"} and {Path(p).name for p in applied} == {"m3.py"}
    assert again == annotate(None) and again != first
