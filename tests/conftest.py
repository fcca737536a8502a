from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = ROOT.parent / "shared" / "eval"
SCHEMA = json.loads((ROOT / "slices" / "slice.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def validate(slices) -> None:
    for s in slices:
        d = s.to_dict() if hasattr(s, "to_dict") else s
        errors = sorted(VALIDATOR.iter_errors(d), key=str)
        assert not errors, f"{d['file']}:{d['line']}:{d['column']} {d['name']}: {errors[0].message}"


def load_harness(lang: str):
    """The shared strip-and-restore harness (../shared/eval beside the repository)."""
    name = "strip_restore" if lang == "python" else "strip_restore_ts"
    if name in sys.modules:
        return sys.modules[name]
    path = SHARED_EVAL / f"{name}.py"
    assert path.is_file(), f"the shared evaluation harness is missing: {path}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def harness_py():
    return load_harness("python")


@pytest.fixture(scope="session")
def harness_ts():
    return load_harness("typescript")
