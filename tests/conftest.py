from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "slices" / "slice.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def validate(slices) -> None:
    for s in slices:
        d = s.to_dict() if hasattr(s, "to_dict") else s
        errors = sorted(VALIDATOR.iter_errors(d), key=str)
        assert not errors, f"{d['file']}:{d['line']}:{d['column']} {d['name']}: {errors[0].message}"


def need_tool(found: object, tool: str) -> None:
    """An end-to-end test's tool (Neovim, npm packages, the TypeScript compiler): skipped with a
    reason naming it on a developer's machine without it; a failure in CI (TYPEINF_CI=1, set by
    .ci/run), where a skipped test would be a test that did not run."""
    if found:
        return
    message = f"missing {tool} (scripts/test.sh installs it when it can)"
    if os.environ.get("TYPEINF_CI") == "1":
        pytest.fail(message + "; required in CI")
    pytest.skip(message)


def python_project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A Python project in `tmp_path` (a pyproject.toml and these files)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def python_sites(root: Path, name: str, kind: str) -> list:
    """The sites of one kind of a Python file of the project, as sliced from its text on disk."""
    from typeinf.slices import extract

    return [s for s in extract((root / name).read_text(), "python", name) if s.kind == kind]


def checked_engine(root: Path):  # -> typeinf.inference.engine.Engine
    """The engine over the project at `root` with the shipped model and its default checkers
    (pyrefly for Python: a real checker, started on first need)."""
    from typeinf.inference.engine import Engine, default_checkers
    from typeinf.inference.predict import Predictor
    from typeinf.inference.project import ProjectIndex

    return Engine(Predictor(), ProjectIndex.build(root), default_checkers(root))
