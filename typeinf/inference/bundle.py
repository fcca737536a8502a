"""A model directory loaded once, strictly, into frozen values.

    bundle = ModelBundle.load(directory)   # raises ModelMissing (no typeinf.onnx) or BundleError
    bundle.config                          # typeinf.inference.encoding.ModelConfig: vocabulary, tokenizer
    bundle.calibration                     # Calibration: temperature, rules, calibrators, thresholds
    bundle.reranker                        # Reranker: the project's evidence joined to the model's top 5
                                           # (rerank.json; a model without the file has no such stage)

Every file the runtime reads is read here, and a file that is missing or not what it should be
is an error that names it (`BundleError`, a ValueError): there are no silent defaults.  A
model that has not been calibrated yet says so in its files (`UNCALIBRATED`,
written by models.export).  Nothing here changes after loading; training builds a new
`Calibration` and writes it with `Calibration.write`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..lang import lang_family
from .confidence import Calibrator
from .encoding import ModelConfig
from .rerank import Reranker
from .static import Fact, rule_key

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
ONNX_FILE = "typeinf.onnx"
THRESHOLDS_FILE = "thresholds.json"
RULES_FILE = "static_rules.json"
TOKENIZER_FILE = "tokenizer.json"
TYPES_FILE = "types.json"
CONFIG_FILE = "config.json"
RERANK_FILE = "rerank.json"  # models/rerank.py
# the threshold for writing code when thresholds.json gives none (an uncalibrated model)
DEFAULT_THRESHOLD = 0.9
# the precision assumed for a static-fact rule seen too rarely on validation to be measured
# (models.evaluate writes it for such rules; a rule absent from static_rules.json gets it too)
RULE_PRIOR = 0.8


class ModelMissing(RuntimeError):
    """No model at all in the directory (typeinf.onnx missing)."""


class BundleError(ValueError):
    """A model file that is missing or unreadable; the message starts with its path."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Calibration:
    """What validation measured: the softmax temperature, each static rule's precision, the
    confidence calibrator and writing threshold of each language family."""

    temperature: float = 1.0
    default_threshold: float = DEFAULT_THRESHOLD
    thresholds: Mapping[str, float] = field(default_factory=lambda: _frozen({}))  # by language family
    calibrators: Mapping[str, Calibrator] = field(default_factory=lambda: _frozen({}))  # by language family
    rules: Mapping[str, float] = field(default_factory=lambda: _frozen({}))  # rule_key -> precision

    def __post_init__(self) -> None:
        for name in ("thresholds", "calibrators", "rules"):  # copied: the caller's dicts stay theirs
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def threshold(self, language: str) -> float:
        """The confidence from which a prediction at a site of this language is written as code."""
        return self.thresholds.get(lang_family(language), self.default_threshold)

    def rule_precision(self, fam: str, kind: str, fact: Fact) -> float:
        """The precision the fact's rule reached on validation (RULE_PRIOR when not measured)."""
        return float(self.rules.get(rule_key(fam, kind, fact), RULE_PRIOR))

    # ------------------------------------------------------------------ files
    @classmethod
    def load(cls, directory: Path) -> Calibration:
        """thresholds.json and static_rules.json of a model directory; BundleError names the
        file that is missing or malformed."""
        cal = _read_object(directory / THRESHOLDS_FILE)
        rules = _read_object(directory / RULES_FILE)
        path = directory / THRESHOLDS_FILE
        temperature = _number(cal, "temperature", path)
        if not temperature > 0:
            raise BundleError(path, f"temperature must be positive, not {temperature}")
        default = _number(cal, "default", path)
        by_language = cal.get("by_language", {})
        if not isinstance(by_language, dict):
            raise BundleError(path, "by_language must be an object")
        thresholds = {k: _number(by_language, k, path, "by_language.") for k in by_language}
        raw = cal.get("calibrators", {})
        if not isinstance(raw, dict):
            raise BundleError(path, "calibrators must be an object")
        calibrators: dict[str, Calibrator] = {}
        for fam, d in raw.items():
            if not isinstance(d, dict):
                raise BundleError(path, f"calibrators.{fam} must be an object")
            try:
                c = Calibrator.from_dict(d)
            except (KeyError, TypeError, ValueError) as e:
                raise BundleError(path, f"calibrators.{fam} is malformed ({type(e).__name__}: {e})") from None
            if c is not None:  # fitted for other features: the documented fallback is the raw confidence
                calibrators[fam] = c
        rpath = directory / RULES_FILE
        precisions = {k: _number(rules, k, rpath) for k in rules}
        return cls(temperature, default, thresholds, calibrators, precisions)

    def write(self, directory: Path, **extra: Any) -> None:
        """thresholds.json (with `extra` keys after by_language, as models.evaluate records
        them) and static_rules.json."""
        (directory / RULES_FILE).write_text(json.dumps(dict(self.rules), indent=1, sort_keys=True) + "\n")
        data: dict[str, Any] = {
            "temperature": self.temperature,
            "default": self.default_threshold,
            "by_language": dict(self.thresholds),
        }
        target = extra.pop("target_precision", None)
        if target is not None:
            data["target_precision"] = target
        data["calibrators"] = {fam: c.to_dict() for fam, c in self.calibrators.items()}
        data.update(extra)
        (directory / THRESHOLDS_FILE).write_text(json.dumps(data, indent=1) + "\n")


# what a model has before models.evaluate fits its calibration (models.export writes it)
UNCALIBRATED = Calibration()


@dataclass(frozen=True)
class ModelBundle:
    """A model directory: its files checked and read once."""

    directory: Path
    config: ModelConfig
    calibration: Calibration
    reranker: Reranker | None = None

    @property
    def onnx_path(self) -> Path:
        return self.directory / ONNX_FILE

    @classmethod
    def load(cls, directory: Path) -> ModelBundle:
        directory = Path(directory)
        if not (directory / ONNX_FILE).is_file():
            raise ModelMissing(f"no model at {directory} ({ONNX_FILE} missing)")
        if not (directory / TOKENIZER_FILE).is_file():
            raise BundleError(directory / TOKENIZER_FILE, "missing")
        types = _read_object(directory / TYPES_FILE)
        if not all(isinstance(v, list) for v in types.values()):
            raise BundleError(directory / TYPES_FILE, "expected lists of type texts by language")
        extra = _read_object(directory / CONFIG_FILE) if (directory / CONFIG_FILE).is_file() else {}
        config = ModelConfig.from_data(directory, types, extra)
        reranker = None
        if (directory / RERANK_FILE).exists():
            data = _read_object(directory / RERANK_FILE)
            try:
                reranker = Reranker.from_dict(data)
            except (KeyError, TypeError, ValueError) as e:
                raise BundleError(directory / RERANK_FILE, f"not a fitted re-ranker ({e})") from None
        return cls(directory, config, Calibration.load(directory), reranker)


def _read_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(
            path, "missing (models.export writes an uncalibrated one, models.evaluate the fitted one)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise BundleError(path, f"unreadable ({e})") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise BundleError(path, f"not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise BundleError(path, f"expected a JSON object, found {type(data).__name__}")
    return data


def _number(d: Mapping[str, Any], key: str, path: Path, prefix: str = "") -> float:
    if key not in d:
        raise BundleError(path, f"{prefix}{key} missing")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise BundleError(path, f"{prefix}{key} must be a number, not {v!r}")
    return float(v)
