"""typeinf.config: every [tool.typeinf] setting, bad values (ConfigError naming the key), the
Python target, and command-line flags taking precedence.  Pure: no CLI process."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from typeinf.cli import _annotate_options
from typeinf.config import DEFAULT_MAX_BYTES, ConfigError, Settings, find_pyproject, load_settings
from typeinf.lang import DEFAULT_PYTHON_TARGET, KINDS


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_defaults_without_a_pyproject(tmp_path):
    s = load_settings(tmp_path / "nowhere")
    assert s == Settings()
    assert s.max_bytes == DEFAULT_MAX_BYTES and s.exclude == [] and s.min_confidence is None
    assert s.kinds == list(KINDS) and not s.aggressive and not s.inferrable_types
    assert s.cache_dir is None and s.source is None
    assert s.python_target() == DEFAULT_PYTHON_TARGET == (3, 9)


def test_every_setting_read(tmp_path):
    root = write(
        tmp_path,
        """
[project]
requires-python = ">=3.11"

[tool.typeinf]
max-bytes = 1234
exclude = ["gen/**", "*.pb.py"]
min-confidence = 0.75
kinds = ["param", "return"]
aggressive = true
inferrable-types = true
cache-dir = "../cache"
""",
    )
    (root / "pkg").mkdir()
    s = load_settings(root / "pkg")  # found in a parent
    assert s.source == root / "pyproject.toml"
    assert s.max_bytes == 1234
    assert s.exclude == ["gen/**", "*.pb.py"]
    assert s.min_confidence == 0.75
    assert s.kinds == ["param", "return"]
    assert s.aggressive is True and s.inferrable_types is True
    assert s.cache_dir == (root / ".." / "cache").resolve()  # relative to the pyproject.toml
    assert s.requires_python == ">=3.11" and s.python_target() == (3, 11)


@pytest.mark.parametrize(
    ("req", "target"),
    [
        (">=3.10", (3, 10)),
        ("> 3.12", (3, 12)),
        (">=3.8,<4", (3, 8)),
        ("~=3.11", DEFAULT_PYTHON_TARGET),
        (None, (3, 9)),
    ],
)
def test_python_target(req, target):
    assert Settings(requires_python=req).python_target() == target


def test_min_confidence_accepts_integers_at_the_bounds(tmp_path):
    assert load_settings(write(tmp_path, "[tool.typeinf]\nmin-confidence = 1\n")).min_confidence == 1
    assert load_settings(write(tmp_path, "[tool.typeinf]\nmin-confidence = 0\n")).min_confidence == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("max-bytes = 0", "max-bytes must be a positive integer"),
        ("max-bytes = -5", "max-bytes must be a positive integer"),
        ("max-bytes = true", "max-bytes must be a positive integer"),
        ('max-bytes = "10"', "max-bytes must be a positive integer"),
        ("max-bytes = 1.5", "max-bytes must be a positive integer"),
        ('exclude = "gen"', "exclude must be a list of strings"),
        ("exclude = [1]", "exclude must be a list of strings"),
        ("min-confidence = 1.5", "min-confidence must be a number between 0 and 1"),
        ("min-confidence = -0.1", "min-confidence must be a number between 0 and 1"),
        ("min-confidence = true", "min-confidence must be a number between 0 and 1"),
        ('min-confidence = "0.5"', "min-confidence must be a number between 0 and 1"),
        ('kinds = "param"', "kinds must be a list of strings"),
        ('kinds = ["param", "field"]', "kinds must be among param, return, var"),
        ('aggressive = "yes"', "aggressive must be true or false"),
        ("aggressive = 1", "aggressive must be true or false"),
        ("inferrable-types = 0", "inferrable-types must be true or false"),
        ("cache-dir = 3", "cache-dir must be a string"),
    ],
)
def test_bad_values_name_the_key(tmp_path, line, message):
    root = write(tmp_path, f"[tool.typeinf]\n{line}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(root)
    assert message in str(e.value)
    assert str(root / "pyproject.toml") in str(e.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(write(tmp_path, "[tool.typeinf\n"))
    with pytest.raises(ConfigError, match=r"\[tool.typeinf\] must be a table"):
        load_settings(write(tmp_path, "[tool]\ntypeinf = 3\n"))
    (tmp_path / "pyproject.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path)


def test_unknown_keys_warned_and_ignored(tmp_path):
    root = write(tmp_path, "[tool.typeinf]\nmax-byte = 3\naggressive = true\n")
    warnings: list[str] = []
    s = load_settings(root, warn=warnings.append)
    assert s.aggressive and s.max_bytes == DEFAULT_MAX_BYTES
    assert len(warnings) == 1 and "unknown setting [tool.typeinf] max-byte (ignored)" in warnings[0]
    assert load_settings(root).aggressive  # without a warn callback: ignored silently


def test_requires_python_not_a_string_is_ignored(tmp_path):
    s = load_settings(write(tmp_path, "[project]\nrequires-python = 3\n"))
    assert s.requires_python is None and s.python_target() == DEFAULT_PYTHON_TARGET


def test_find_pyproject_from_a_file_and_a_directory(tmp_path):
    root = write(tmp_path, "")
    (root / "a").mkdir()
    (root / "a" / "m.py").write_text("")
    assert find_pyproject(root / "a" / "m.py") == root / "pyproject.toml"
    assert find_pyproject(root) == root / "pyproject.toml"


def test_flags_take_precedence_over_settings():
    base = Settings(max_bytes=10, exclude=["x"], min_confidence=0.5, aggressive=True)
    merged = base.merged(max_bytes=20, exclude=None, min_confidence=None, aggressive=False)
    assert merged.max_bytes == 20  # a flag given wins
    assert merged.exclude == ["x"] and merged.min_confidence == 0.5  # None: not given, the setting stays
    assert merged.aggressive is False  # False is a value given, not "unset"
    assert base.max_bytes == 10  # a copy


def test_annotate_options_precedence():
    predictor = SimpleNamespace(thresholds={"python": 0.88, "typescript": 0.94}, default_threshold=0.9)
    configured = Settings(
        min_confidence=0.6, kinds=["var"], aggressive=True, inferrable_types=True, requires_python=">=3.12"
    )
    o = _annotate_options(configured, predictor)
    assert o.min_confidence == 0.6 and o.by_language == {}  # the setting's threshold for every language
    assert o.kinds == frozenset({"var"}) and o.aggressive and o.inferrable_types
    assert o.python_target == (3, 12)
    o = _annotate_options(
        configured, predictor, threshold=0.7, kinds=["param"], aggressive=False, inferrable_types=False
    )
    assert o.min_confidence == 0.7 and o.kinds == frozenset({"param"})
    assert o.aggressive is False and o.inferrable_types is False
    o = _annotate_options(Settings(), predictor)  # neither: the model's own thresholds
    assert o.min_confidence == 0.9 and o.by_language == {"python": 0.88, "typescript": 0.94}
    assert o.kinds == frozenset(KINDS) and o.python_target == DEFAULT_PYTHON_TARGET
    assert _annotate_options(Settings(), predictor, aggressive=False, stubs=True).aggressive  # stubs
