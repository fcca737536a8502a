"""Confidence of a final prediction: a small logistic model over what is known about it.

The model's probability (after temperature scaling) and a static rule's measured precision
are already calibrated on their own, but how often a prediction is right also depends on the
margin to the second choice, the kind of site, the language and the shape of the type.  A
logistic regression over those features, fitted on the validation split by models.evaluate
and shipped in thresholds.json, turns them into one probability of being exactly right, so a
threshold keeps more correct predictions at the same precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

FEATURES = (
    "log_conf",
    "log_p1",
    "log_p2",
    "margin",
    "conf",
    "static",
    "rule_precision",
    "param",
    "return",
    "python",
    "union",
    "generic",
    "agrees",
)


def confidence_features(
    t: str, conf: float, alts: Sequence[tuple[str, float]], source: str, rule_p: float, kind: str, fam: str
) -> list[float]:
    """The features of a final prediction `t` (confidence `conf`) given the model's ranking `alts`."""
    p1 = alts[0][1] if alts else 0.0
    p2 = alts[1][1] if len(alts) > 1 else 0.0
    return [
        math.log(conf + 1e-6),
        math.log(p1 + 1e-6),
        math.log(p2 + 1e-6),
        p1 - p2,
        conf,
        1.0 if source == "static" else 0.0,
        rule_p,
        1.0 if kind == "param" else 0.0,
        1.0 if kind == "return" else 0.0,
        1.0 if fam == "python" else 0.0,
        1.0 if " | " in t else 0.0,
        1.0 if ("[" in t or "<" in t) else 0.0,
        1.0 if alts and alts[0][0] == t else 0.0,
    ]


@dataclass
class Calibrator:
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float

    def __call__(self, x: Sequence[float]) -> float:
        z = self.bias + sum(
            w * (v - m) / s for w, v, m, s in zip(self.weights, x, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator | None:
        if d.get("features") != list(FEATURES):
            return None  # fitted for other features: the uncalibrated confidence is used
        return cls.from_fields(d)

    @classmethod
    def from_fields(cls, d: dict[str, Any]) -> Calibrator:
        """The calibrator of its fields as `asdict` writes them (KeyError when one is missing)."""
        return cls(list(d["mean"]), list(d["scale"]), list(d["weights"]), float(d["bias"]))


def fit(
    rows: Sequence[Sequence[float]], correct: Sequence[bool], l2: float = 1e-4, steps: int = 2000
) -> Calibrator:
    """Logistic regression by full-batch gradient descent (numpy; deterministic)."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) / len(y)
        grad[:-1] += l2 * w[:-1]
        w -= 0.5 * grad
    return Calibrator(mean.tolist(), scale.tolist(), w[:-1].tolist(), float(w[-1]))
