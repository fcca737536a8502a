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
