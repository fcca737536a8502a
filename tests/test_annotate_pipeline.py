"""The annotate pipeline (typeinf.annotate.pipeline) without the model: a fixed predictor, files in
a temporary project, each WriteBack mode, the Report's counts, JSON entries and exit code, and each
written edit reported with the prediction it carries (through respelling, verification and the
later rounds that see the file as rewritten)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from typeinf.annotate import Options, plan
from typeinf.annotate import pipeline as pipeline_module
from typeinf.annotate.pipeline import Request, annotate
from typeinf.annotate.python import annotate_python
from typeinf.annotate.report import Report, WriteBack
from typeinf.annotate.verify import Verdict
from typeinf.files import Read, SourceFile, read_file
from typeinf.inference.engine import Engine, default_checkers
from typeinf.inference.predict import Prediction
from typeinf.inference.project import ProjectIndex
from typeinf.slices import Slice, extract


class FixedPredictor:
    """Predicts `table[(kind, name)]` at confidence 1; given several tables, the n-th call uses the n-th."""

    reranker = None  # no re-ranking with the project's evidence
    reads_calls = False  # slices as they are

    def __init__(self, *tables: dict[tuple[str, str], str]) -> None:
        self.tables = list(tables)
        self.calls = 0

    def predict_groups(
        self, groups: Sequence[tuple[Sequence[Slice], object]], top_k: int = 5, evidence: object = None
    ) -> list[list[Prediction]]:
        table = self.tables[min(self.calls, len(self.tables) - 1)]
        self.calls += 1
        return [
            [
                Prediction(s, table[(s.kind, s.name)], 1.0, "model", [(table[(s.kind, s.name)], 1.0)])
                for s in slices
                if (s.kind, s.name) in table
            ]
            for slices, _ in groups
        ]


def run(
    root: Path, predictor: FixedPredictor, mode: WriteBack, checker: bool = False, **kw: object
) -> tuple[Report, list[str]]:
    messages: list[str] = []
    sources = []
    for p in sorted(root.rglob("*.py")):
        read = read_file(p, 1_000_000)
        assert isinstance(read, Read)
        sources.append((SourceFile(p, "python"), read))
    request = Request(Options(0.5, python_target=(3, 10)), root, mode, **kw)  # type: ignore[arg-type]
    report = Report(mode, request.verify)
    checkers = default_checkers(root) if checker else None
    engine = Engine(predictor, ProjectIndex.build(root), checkers)  # type: ignore[arg-type]
    annotate(sources, engine, request, report, messages.append)
    return report, messages


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a.py").write_text("def f(x, y=1):\n    return x\n")
    (tmp_path / "b.py").write_text("N = 3\n")
    return tmp_path


TABLE = {("param", "x"): "int", ("param", "y"): "int", ("return", "f"): "int", ("var", "N"): "int"}


def test_write_back_modes_and_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_text() for p in project.glob("*.py")}
    report, messages = run(project, FixedPredictor(TABLE), WriteBack.CHECK, json_report=True)
    assert report.return_code == 1 and report.changed_files == 2
    assert messages[:2] == ["would annotate a.py", "would annotate b.py"] and len(messages) == 3
    assert messages[-1] == (
        "2 file(s) would be annotated: 2 param, 1 return, 1 var (threshold 0.50); 0 skipped as "
        "read at run time, 0 needing an unknown import, 0 file(s) not processed"
    )
    assert [(e["file"], e["line"], e["kind"], e["name"], e["type"]) for e in report.entries] == [
        ("a.py", 1, "return", "f", "int"),
        ("a.py", 1, "param", "x", "int"),
        ("a.py", 1, "param", "y", "int"),
        ("b.py", 1, "var", "N", "int"),
    ]
    assert '"name": "x"' in capsys.readouterr().out
    assert {p.name: p.read_text() for p in project.glob("*.py")} == before

    report, messages = run(project, FixedPredictor(TABLE), WriteBack.DIFF)
    assert report.return_code == 0 and report.changed_files == 2
    assert "+def f(x: int, y: int = 1) -> int:\n" in capsys.readouterr().out
    assert {p.name: p.read_text() for p in project.glob("*.py")} == before

    report, messages = run(project, FixedPredictor(TABLE), WriteBack.YES)
    assert report.return_code == 0 and messages[-1].startswith("2 file(s) annotated: ")
    assert (project / "a.py").read_text() == "def f(x: int, y: int = 1) -> int:\n    return x\n"
    assert (project / "b.py").read_text() == "N: int = 3\n"


def test_stubs_mode_writes_stubs_only(project: Path) -> None:
    report, messages = run(project, FixedPredictor(TABLE), WriteBack.STUBS, stubs_dir=project / "out")
    assert report.return_code == 0 and report.stubbed == 2
    assert (project / "out" / "a.pyi").read_text() == "def f(x: int, y: int = ...) -> int: ...\n"
    assert (project / "b.py").read_text() == "N = 3\n"
    assert ", 2 stub file(s) written, 0 file(s) not processed" in messages[-1]


def test_a_file_not_written_is_a_failure_and_not_counted(project: Path) -> None:
    (project / "b.py").chmod(0o444)
    report, messages = run(project, FixedPredictor(TABLE), WriteBack.YES, json_report=False)
    assert report.return_code == 123 and report.changed_files == 1
    assert [f.path.name for f in report.failures] == ["b.py"]
    assert messages[0].startswith("b.py: not written: read-only file")
    assert [e["name"] for e in report.entries] == ["f", "x", "y"]


def test_verified_edits_keep_their_predictions(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The type checker rejects the parameter `y`: the file is rewritten without it and the report
    lists the predictions of the edits kept (the edits re-applied, respelled, carry them)."""

    def verdicts(targets: list, root: Path) -> list[Verdict]:
        return [
            Verdict([e for e in t.edits if e.start != 9], [e for e in t.edits if e.start == 9])
            for t in targets
        ]

    monkeypatch.setattr(pipeline_module, "verify_all", verdicts)
    report, messages = run(project, FixedPredictor(TABLE), WriteBack.YES, verify=True)
    assert (project / "a.py").read_text() == "def f(x: int, y=1) -> int:\n    return x\n"
    assert report.rejected == 1 and report.return_code == 0
    assert [(e["name"], e["type"]) for e in report.entries] == [("f", "int"), ("x", "int"), ("N", "int")]
    assert ", 1 rejected by the type checker (0 new error(s) not attributed), " in messages[-1]


def test_a_later_rounds_prediction_is_reported_where_the_site_was_read(project: Path) -> None:
    """Round 1 adds an import (three lines above `f`); round 2's site is reported at its line in
    the file as read, from the prediction its edit carries."""
    (project / "b.py").unlink()
    first = {("param", "x"): "Sequence[int]"}
    second = {("return", "f"): "int"}
    report, _ = run(project, FixedPredictor(first, second), WriteBack.CHECK)
    assert [(e["name"], e["line"], e["column"]) for e in report.entries] == [("x", 1, 6), ("f", 1, 4)]


def test_a_function_defined_twice_has_each_later_round_site_reported_where_it_was_read(project: Path) -> None:
    """`lock` defined in both branches of an `if`: round 2's two `flags` are two sites, each
    reported at its own place as read (they were both put at the first one's, so `predict`
    lost the second)."""
    (project / "b.py").unlink()
    (project / "a.py").write_text(
        "import os\nif os.name == 'nt':\n    def lock(file, flags):\n        return 1\n"
        "else:\n    def lock(file, flags):\n        return 2\n"
    )
    first = {("param", "file"): "Sequence[int]"}
    second = {("param", "flags"): "int"}
    report, _ = run(project, FixedPredictor(first, second), WriteBack.CHECK)
    assert sorted((e["name"], e["line"], e["column"]) for e in report.entries) == [
        ("file", 3, 13),
        ("file", 6, 13),
        ("flags", 3, 19),
        ("flags", 6, 19),
    ]


def test_an_edit_carries_its_prediction_through_respelling(tmp_path: Path) -> None:
    src = "class A:\n    def __init__(self):\n        self.x = []\n"
    slices = extract(src.encode(), "python", "a.py")
    preds = [Prediction(s, "list[int]", 1.0, "model") for s in slices if s.kind == "var"]
    planned = plan(preds, Options(0.5), "python")
    _, applied, _ = annotate_python(src, planned.edits, (3, 8))
    assert [e.type for e in applied] == ["List[int]"]
    assert applied[0].prediction is preds[0]
    assert applied[0] == replace(
        planned.edits[0], type="List[int]"
    )  # the prediction is not the edit's identity


@pytest.mark.parametrize(
    ("mode", "changed", "failures", "code"),
    [
        (WriteBack.YES, 3, 0, 0),
        (WriteBack.DIFF, 3, 0, 0),
        (WriteBack.STUBS, 3, 0, 0),
        (WriteBack.CHECK, 0, 0, 0),
        (WriteBack.CHECK, 3, 0, 1),
        (WriteBack.CHECK, 3, 1, 123),
        (WriteBack.YES, 0, 1, 123),
    ],
)
def test_report_return_code(mode: WriteBack, changed: int, failures: int, code: int) -> None:
    report = Report(mode, changed_files=changed)
    for i in range(failures):
        report.failed(Path(f"f{i}.py"), "unreadable")
    assert report.return_code == code
    assert report.abort(2).return_code == 2


def test_write_back_from_flags() -> None:
    assert WriteBack.from_flags(check=False, diff=False, stubs=False) is WriteBack.YES
    assert WriteBack.from_flags(check=True, diff=False, stubs=False) is WriteBack.CHECK
    assert WriteBack.from_flags(check=False, diff=True, stubs=False) is WriteBack.DIFF
    assert WriteBack.from_flags(check=False, diff=False, stubs=True) is WriteBack.STUBS


def test_the_checker_rejects_an_annotation_its_uses_contradict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The judge (typeinf.annotate.judge) with a real pyrefly: `items: str` is contradicted by
    `items.append(...)` and the return by what is returned, so neither is written; the annotations
    the checker accepts are; the second round offers the sites' next candidates, which it judges too."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    src = "def f(x, items):\n    items.append(x)\n    return items\n"
    (tmp_path / "a.py").write_text(src)
    wrong = {("param", "x"): "int", ("param", "items"): "str", ("return", "f"): "int"}
    report, _ = run(tmp_path, FixedPredictor(wrong), WriteBack.YES, checker=True)
    assert (tmp_path / "a.py").read_text() == "def f(x: int, items):\n    items.append(x)\n    return items\n"
    assert [e["name"] for e in report.entries] == ["x"]
    (tmp_path / "a.py").write_text(src)
    report, _ = run(tmp_path, FixedPredictor(wrong), WriteBack.YES, checker=False)
    assert "items: str" in (tmp_path / "a.py").read_text()
