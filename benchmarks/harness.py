"""The shared strip-and-restore harness (../shared/eval beside the repository), loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def load(lang: str) -> ModuleType:
    name = "strip_restore" if lang == "python" else "strip_restore_ts"
    if name in sys.modules:
        return sys.modules[name]
    if not (EVAL / f"{name}.py").is_file():
        raise SystemExit(
            f"the shared evaluation harness is missing: {EVAL / name}.py (../shared/eval beside the "
            "repository, on the project's machines and CI only)"
        )
    spec = importlib.util.spec_from_file_location(name, EVAL / f"{name}.py")
    assert spec and spec.loader, f"the shared evaluation harness is missing: {EVAL}"
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
