"""`typeinf predict` leaves nothing behind: onnxruntime's telemetry files are not written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_predict_writes_nothing_under_the_home_cache(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.py").write_text("def is_enabled(config, strict=False):\n    return strict\n")
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env["HOME"] = str(home)
    r = subprocess.run(
        [sys.executable, "-m", "typeinf", "predict", "m.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "strict : bool" in r.stdout  # the model really ran
    written = [p.relative_to(home).as_posix() for p in Path(home).rglob("*")]
    assert not [p for p in written if "Microsoft" in p], written


def test_predict_shows_what_annotate_writes_and_marks_it(tmp_path):
    """annotate runs several predict-and-apply rounds; predict runs the same rounds (writing nothing)
    so that every site annotate writes is shown with the type and confidence annotate writes."""
    import json as _json

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nrequires-python = ">=3.10"\n')
    src = "def f(flag=False):\n    return 1\n\n\ndef is_on(x, strict=False):\n    if strict:\n        return False\n    return True\n"
    (tmp_path / "m.py").write_text(src)
    pred = subprocess.run(
        [sys.executable, "-m", "typeinf", "predict", "--format", "json", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pred.returncode == 0, pred.stderr
    marked = {
        (d["line"], d["column"], d["kind"]): (d["type"], d["confidence"])
        for d in _json.loads(pred.stdout)
        if d["annotate"]
    }
    ann = subprocess.run(
        [sys.executable, "-m", "typeinf", "annotate", "--diff", "--format", "text", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ann_json = subprocess.run(
        [sys.executable, "-m", "typeinf", "annotate", "--check", "--format", "json", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    written = {
        (d["line"], d["column"], d["kind"]): (d["type"], d["confidence"])
        for d in _json.loads(ann_json.stdout)
    }
    assert written and marked == written, (marked, written, ann.stdout)
    assert (tmp_path / "m.py").read_text() == src  # predict writes nothing
    text = subprocess.run(
        [sys.executable, "-m", "typeinf", "predict", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert sum("[annotate]" in line for line in text.splitlines()) == len(written)
    assert "| model: " in text  # alternatives are shown, with the model's scores


def test_an_unknown_setting_is_warned_about_once(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.typeinf]\nbogus = 1\n")
    (tmp_path / "m.py").write_text("def f(x=1):\n    return x\n")
    r = subprocess.run([sys.executable, "-m", "typeinf", "predict", "m.py"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0 and r.stderr.count("unknown setting") == 1, r.stderr


def test_sites_of_one_name_keep_their_own_predictions_after_annotate_changes_the_file(tmp_path):
    """A file that defines `_` many times (singledispatch, overloads): predict's last pass reads the
    text annotate's rounds changed, and each `_` gets its own prediction back, not the last one's."""
    import json as _json

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nrequires-python = ">=3.10"\n')
    src = (
        "import functools\n\n\ndef count():\n    return 1\n\n\n"
        "@functools.singledispatch\ndef show(x):\n    raise NotImplementedError\n\n\n"
        "@show.register\ndef _(x: int):\n    return 'int'\n\n\n"
        "@show.register\ndef _(x: float):\n    return 1.5\n\n\n"
        "@show.register\ndef _(x: bytes):\n    return b'bytes'\n"
    )
    (tmp_path / "m.py").write_text(src)
    pred = subprocess.run(
        [sys.executable, "-m", "typeinf", "predict", "--format", "json", "--no-checker", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pred.returncode == 0, pred.stderr
    got = {(d["line"], d["kind"]): d for d in _json.loads(pred.stdout)}
    assert got[(4, "return")]["annotate"]  # the file is changed by annotate's rounds
    assert [got[(line, "return")]["type"] for line in (14, 19, 24)] == ["str", "float", "bytes"]
