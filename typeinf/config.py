"""Settings from `[tool.typeinf]` in pyproject.toml; command-line flags take precedence."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .lang import DEFAULT_PYTHON_TARGET, KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_MAX_BYTES = 1_000_000


class ConfigError(ValueError):
    """A setting is invalid: a usage/configuration error (exit 2)."""


@dataclass
class Settings:
    max_bytes: int = DEFAULT_MAX_BYTES
    exclude: list[str] = field(default_factory=list)
    min_confidence: float | None = None  # None: the model's calibrated threshold
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    aggressive: bool = False
    inferrable_types: bool = False  # TypeScript: also sites whose type tsc infers from a literal
    cache_dir: Path | None = None  # where the model's rankings are kept across runs (None: the default)
    checker: bool = True  # the type checker's inference as evidence (typeinf.inference.engine)
    requires_python: str | None = None  # from [project] requires-python
    source: Path | None = None  # the pyproject.toml the settings came from

    def python_target(self) -> tuple[int, int]:
        """The oldest Python the project supports (from requires-python; DEFAULT_PYTHON_TARGET if unknown)."""
        import re

        m = re.search(r">=?\s*3\.(\d+)", self.requires_python or "")
        return (3, int(m.group(1))) if m else DEFAULT_PYTHON_TARGET

    def merged(self, **flags: Any) -> Settings:
        """A copy with every flag that is not None taking precedence."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in flags.items() if v is not None})
        return Settings(**values)


_KEYS = {
    "max-bytes": ("max_bytes", int),
    "exclude": ("exclude", list),
    "min-confidence": ("min_confidence", float),
    "kinds": ("kinds", list),
    "aggressive": ("aggressive", bool),
    "inferrable-types": ("inferrable_types", bool),
    "cache-dir": ("cache_dir", str),
    "checker": ("checker", bool),
}


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for d in [start, *start.parents] if start.is_dir() else start.parents:
        p = d / "pyproject.toml"
        if p.is_file():
            return p
    return None


def load_settings(start: Path, warn: Any = None) -> Settings:
    """Settings from the nearest pyproject.toml at or above `start` (defaults if none)."""
    path = find_pyproject(start)
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    table = data.get("tool", {}).get("typeinf", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.typeinf] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            if warn is not None:
                warn(f"{path}: unknown setting [tool.typeinf] {key} (ignored)")
            continue
        attr, typ = _KEYS[key]
        if typ is int and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ConfigError(f"{path}: [tool.typeinf] {key} must be a positive integer")
        if typ is list and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{path}: [tool.typeinf] {key} must be a list of strings")
        if typ is float and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1
        ):
            raise ConfigError(f"{path}: [tool.typeinf] {key} must be a number between 0 and 1")
        if typ is str and not isinstance(value, str):
            raise ConfigError(f"{path}: [tool.typeinf] {key} must be a string")
        if key == "cache-dir":
            value = (path.parent / Path(value).expanduser()).resolve()
        if typ is bool and not isinstance(value, bool):
            raise ConfigError(f"{path}: [tool.typeinf] {key} must be true or false")
        if key == "kinds" and not set(value) <= set(KINDS):
            raise ConfigError(f"{path}: [tool.typeinf] kinds must be among param, return, var")
        values[attr] = value
    req = data.get("project", {}).get("requires-python")
    return Settings(**values, requires_python=req if isinstance(req, str) else None, source=path)
