"""Kept runs (typeinf.runcache): `predict` and `annotate` on an unchanged project read the kept run
(no project index, no model, no checker) and print the same, warnings included; any change that
can change the results (an edit anywhere in the project, an option, a damaged entry) is a miss."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import typeinf.inference.project as project
from typeinf.cli import main

A = "import os\n\n\ndef read_config(path, default=None):\n    name = os.path.basename(path)\n    return name.upper()\n"
B = "def scale(value, factor=2.0):\n    total = value * factor\n    return total\n"
BROKEN = "def broken(:\n    pass\n"


@pytest.fixture
def proj(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "a.py").write_text(A)
    (root / "b.py").write_text(B)
    (root / "c.py").write_text(BROKEN)
    monkeypatch.chdir(root)
    monkeypatch.setenv("TYPEINF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TYPEINF_NO_CACHE", raising=False)
    return root


class Builds:
    """Counts the project index's builds: a run computed, not read from a kept one, builds it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        real = project.ProjectIndex.build.__func__  # type: ignore[attr-defined]

        def build(cls, *args, **kwargs):  # noqa: ANN001, ANN202
            self.n += 1
            return real(cls, *args, **kwargs)

        monkeypatch.setattr(project.ProjectIndex, "build", classmethod(build))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_second_predict_on_an_unchanged_project_reads_the_kept_run(proj, capsys, monkeypatch):
    builds = Builds(monkeypatch)
    cold = run(capsys, "predict", ".", "--format", "json")
    assert builds.n == 1 and "c.py:1:" in cold[2] and cold[0] == 0
    assert '"read_config"' in cold[1] or '"path"' in cold[1]

    def no_model(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a kept run loads no model")

    from typeinf.inference.scorer import Scorer

    rank = Scorer.rank
    monkeypatch.setattr(Scorer, "rank", no_model)
    warm = run(capsys, "predict", ".", "--format", "json")
    assert warm == cold and builds.n == 1  # the same output and warnings, nothing computed
    monkeypatch.setattr(Scorer, "rank", rank)
    one = run(capsys, "predict", "a.py", "--format", "json")
    assert run(capsys, "predict", "a.py", "--format", "json") == one and builds.n == 2
    # an edit in another file of the project (not a named path) is a miss
    (proj / "b.py").write_text(B.replace("value, factor", "value: float, factor"))
    assert run(capsys, "predict", "a.py", "--format", "json")[0] == 0 and builds.n == 3


def test_options_that_change_results_are_misses_and_those_that_do_not_are_hits(proj, capsys, monkeypatch):
    builds = Builds(monkeypatch)
    first = run(capsys, "predict", "a.py", "b.py")
    run(capsys, "predict", "a.py", "b.py", "--threads", "1")  # how, not what: a hit
    assert builds.n == 1
    shown = run(capsys, "predict", "a.py", "b.py", "--min-confidence", "0.99")
    assert builds.n == 2 and len(shown[1]) <= len(first[1])
    monkeypatch.setenv("TYPEINF_RERANK", "0")  # the environment's switches are options too
    run(capsys, "predict", "a.py", "b.py")
    assert builds.n == 3


def test_annotate_check_then_diff_reads_the_kept_run(proj, capsys, monkeypatch):
    builds = Builds(monkeypatch)
    check = run(capsys, "annotate", "--check", "a.py", "b.py", "--min-confidence", "0.3")
    assert check[0] == 1 and "would annotate" in check[2] and builds.n == 1
    diff = run(capsys, "annotate", "--diff", "a.py", "b.py", "--min-confidence", "0.3")
    assert builds.n == 1 and diff[1].count("+++ b/") == check[2].count("would annotate")
    # writing changes the files: the next run computes again, and writes nothing more (idempotent)
    assert run(capsys, "annotate", "a.py", "b.py", "--min-confidence", "0.3")[0] == 0
    assert builds.n == 1
    after = run(capsys, "annotate", "--check", "a.py", "b.py", "--min-confidence", "0.3")
    assert after[0] == 0 and builds.n == 2


def test_no_cache_keeps_nothing_and_a_damaged_run_is_a_miss(proj, capsys, monkeypatch):
    builds = Builds(monkeypatch)
    cache = proj.parent / "cache"
    cold = run(capsys, "predict", "a.py", "--no-cache")
    assert not cache.exists()
    assert run(capsys, "predict", "a.py") == cold and builds.n == 2
    db = sqlite3.connect(cache / "runs.sqlite")
    db.execute("UPDATE runs SET value = ?", (b"\x00damaged",))
    db.commit()
    db.close()
    assert run(capsys, "predict", "a.py") == cold and builds.n == 3
    assert run(capsys, "predict", "a.py") == cold and builds.n == 3  # kept again


def test_the_key_covers_the_projects_files_and_configuration(tmp_path):
    from typeinf.runcache import RunInputs, run_key

    root = tmp_path / "p"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "m.py").write_text(B)
    (root / "other.py").write_text(A)
    model = Path(__file__).resolve().parents[1] / "typeinf" / "model"

    def key(**changes: object) -> str:
        base = dict(
            command="predict",
            options={"top_k": 5},
            root=root,
            sources=[(root / "pkg" / "m.py", B.encode())],
            model_files=[model / "config.json"],
            max_bytes=1_000_000,
            environ={"PATH": "/bin"},
        )
        return run_key(RunInputs(**{**base, **changes}))  # type: ignore[arg-type]

    first = key()
    assert key() == first
    assert key(options={"top_k": 3}) != first
    assert key(environ={"PATH": "/bin", "TYPEINF_RERANK": "0"}) != first
    assert key(environ={"PATH": "/bin", "TYPEINF_CACHE_DIR": "/elsewhere"}) == first
    assert key(command="annotate") != first
    (root / "other.py").write_text(A + "x = 1\n")  # not named, but read by the project index
    second = key()
    assert second != first
    (root / "pkg" / "tsconfig.json").write_text("{}")  # beside a source: the checkers read it
    assert key() != second
