"""Server settings (initializationOptions / workspace/didChangeConfiguration), as dataclasses.

    typeinf.inlayHints.parameters   bool   hints for parameters (default true)
    typeinf.inlayHints.returns      bool   hints for returns (default true)
    typeinf.inlayHints.variables    bool   hints for variables (default true)
    typeinf.minConfidence           number in [0, 1]; default: the model's >= 95%-precision threshold
    typeinf.maxHints                int > 0: at most this many hints per request (default 500)
    typeinf.checker                 bool   the type checker's types as evidence (default true; the
                                           project's `checker = false` turns it off too)

Accepted nested (`{"typeinf": {"inlayHints": {...}}}`, `{"inlayHints": ...}`) or flat with dotted
keys.  An invalid value falls back to its default and the problem is reported to the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InlayHintOptions:
    parameters: bool = True
    returns: bool = True
    variables: bool = True


@dataclass
class ServerOptions:
    inlay_hints: InlayHintOptions = field(default_factory=InlayHintOptions)
    min_confidence: float | None = None
    max_hints: int = 500
    checker: bool = True


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                out.update(_flatten(v, key + "."))
            else:
                out[key] = v
    return out


def parse_options(raw: Any) -> tuple[ServerOptions, str | None]:
    """Options from client settings, and a message naming what was invalid (None if all fine)."""
    opts = ServerOptions()
    if raw is None:
        return opts, None
    if not isinstance(raw, dict):
        return opts, "typeinf: settings must be an object; using the defaults"
    flat = {k.removeprefix("typeinf."): v for k, v in _flatten(raw).items()}
    problems = []
    for key, value in flat.items():
        if key in ("inlayHints.parameters", "inlayHints.returns", "inlayHints.variables"):
            if isinstance(value, bool):
                setattr(opts.inlay_hints, key.split(".")[1], value)
            else:
                problems.append(f"{key} must be true or false")
        elif key == "minConfidence":
            if value is None or (
                isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
            ):
                opts.min_confidence = None if value is None else float(value)
            else:
                problems.append("minConfidence must be a number between 0 and 1")
        elif key == "checker":
            if isinstance(value, bool):
                opts.checker = value
            else:
                problems.append("checker must be true or false")
        elif key == "maxHints":
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                opts.max_hints = value
            else:
                problems.append("maxHints must be a positive integer")
        else:
            problems.append(f"unknown setting {key}")
    if problems:
        return opts, "typeinf: " + "; ".join(problems) + " (defaults used for those)"
    return opts, None
