"""Predictions for slices: static facts first, then the shipped INT8 model (onnxruntime only).

    predictor = Predictor()                      # loads typeinf/model once (sessions lazily)
    preds = predictor.predict(slices, project)   # batched; cached by slice content
    preds = predictor.predict(slices, project, evidence=[...])   # re-ranked with the project's
                                                 # evidence (typeinf.inference.rerank, .engine)

A thin facade over three stages with public interfaces:

    typeinf.inference.bundle    ModelBundle.load(dir): the model's files, strictly, into frozen values
                      (config, tokenizer, and the Calibration fitted on the validation split)
    typeinf.inference.scorer    Scorer(bundle).rank(slices): sessions, batching and caches -> Ranking per slice
    typeinf.inference.finalize  finalize(calibration, slice, ranking): member check, qualifiers, static
                      facts and calibrated confidence -> Prediction (pure)

A prediction's confidence is calibrated: model probabilities go through the temperature
fitted on the validation split, static facts carry the precision their rule reached there, and
a logistic calibrator fitted there too (typeinf.inference.confidence) gives the final probability that
the prediction is exactly right.

The environment is read once, here (`PredictorSettings.from_env`): TYPEINF_MODEL_DIR (another
model directory) and TYPEINF_MEMBER_CHECK=0 and TYPEINF_RERANK=0 (the member check or the
re-ranking with the project's evidence off, for A/B runs); arguments
given to Predictor take precedence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..lang import lang_family
from ..memo import BoundedCache
from ..slices.data import Slice
from .bundle import DEFAULT_THRESHOLD, MODEL_DIR, BundleError, Calibration, ModelBundle, ModelMissing
from .cache import RankingCache, default_directory, namespace
from .consistent import aliases, consistent
from .encoding import ModelConfig
from .features import Candidate, ProjectType
from .finalize import (
    MEMBER_PENALTY,
    Choice,
    Prediction,
    combine,
    combine_raw,
    finalize,
    member_table,
    rule_out_by_members,
    types_not_qualifiers,
)
from .rerank import Evidence
from .scorer import Ranking, Scorer, decode, features, length_batches
from .static import Fact

# re-exported: the names callers imported from here before the stages had modules of their own
__all__ = [
    "DEFAULT_THRESHOLD",
    "MEMBER_PENALTY",
    "MODEL_DIR",
    "BundleError",
    "Choice",
    "ModelMissing",
    "Prediction",
    "Predictor",
    "PredictorSettings",
    "Ranking",
    "length_batches",
    "rule_out_by_members",
    "types_not_qualifiers",
]


@dataclass(frozen=True)
class PredictorSettings:
    """What the environment says about prediction, parsed once."""

    model_dir: Path = MODEL_DIR
    member_check: bool = True
    rerank: bool = True  # the project's evidence re-ranks the model's top 5 (typeinf.inference.rerank)
    cache_dir: Path | None = None  # rankings kept across runs (typeinf.inference.cache); None: not kept

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> PredictorSettings:
        """TYPEINF_MODEL_DIR, TYPEINF_MEMBER_CHECK=0, TYPEINF_RERANK=0 (A/B runs), TYPEINF_CACHE_DIR
        (default: $XDG_CACHE_HOME/typeinf) and TYPEINF_NO_CACHE=1."""
        cache = (
            None
            if environ.get("TYPEINF_NO_CACHE", "") not in ("", "0")
            else Path(environ.get("TYPEINF_CACHE_DIR") or default_directory(environ))
        )
        return cls(
            Path(environ.get("TYPEINF_MODEL_DIR") or MODEL_DIR),
            environ.get("TYPEINF_MEMBER_CHECK", "1") != "0",
            environ.get("TYPEINF_RERANK", "1") != "0",
            cache,
        )


class Predictor:
    """Loads the model once; `predict` is batched and caches by slice content."""

    def __init__(
        self,
        model_dir: Path | None = None,
        threads: int | None = None,
        cache_size: int = 20_000,
        member_check: bool | None = None,
        settings: PredictorSettings | None = None,
    ) -> None:
        settings = settings or PredictorSettings.from_env()
        self.bundle = ModelBundle.load(Path(model_dir or settings.model_dir))
        self.reranker = self.bundle.reranker if settings.rerank else None
        disk = None
        if settings.cache_dir is not None:
            model_files = [
                self.bundle.onnx_path,
                *(self.bundle.directory / n for n in ("types.json", "tokenizer.json", "config.json")),
            ]
            space = namespace([p for p in model_files if p.exists()], self.bundle.calibration.temperature)
            disk = RankingCache.open(settings.cache_dir, space)
        self.scorer = Scorer(self.bundle, threads or min(2, os.cpu_count() or 1), cache_size, disk=disk)
        # the class-member check (finalize.rule_out_by_members)
        self.member_check = settings.member_check if member_check is None else member_check
        # predictions by (slice key, top_k, evidence): all of a Prediction but its slice (not held)
        self._memo: BoundedCache[tuple[str, int, Evidence | None], tuple[Any, ...]] = BoundedCache(cache_size)

    # ------------------------------------------------------------------ the bundle
    @property
    def dir(self) -> Path:
        return self.bundle.directory

    @property
    def cfg(self) -> ModelConfig:
        return self.bundle.config

    @property
    def calibration(self) -> Calibration:
        return self.bundle.calibration

    @property
    def threads(self) -> int:
        return self.scorer.threads

    @property
    def default_threshold(self) -> float:
        return self.calibration.default_threshold

    @property
    def thresholds(self) -> dict[str, float]:
        """The >= 95%-precision threshold of each language family on validation (calibrators differ)."""
        return dict(self.calibration.thresholds)

    def threshold(self, language: str) -> float:
        """The model's threshold for writing code at a site of this language."""
        return self.calibration.threshold(language)

    # ------------------------------------------------------------------ the model
    @property
    def reads_calls(self) -> bool:
        """Whether the model reads the evidence of the project's calls (ModelConfig.project_calls)."""
        return self.cfg.project_calls

    @property
    def session(self) -> Any:
        """The session for a few batches (one file in the editor): all threads on each batch."""
        return self.scorer.session

    @staticmethod
    def features(s: Slice, project: Sequence[ProjectType] = ()) -> tuple[str, list[Candidate]]:
        """The site text and local candidates: the same functions the training set was built with."""
        return features(s, project)

    def rank(
        self,
        slices: Sequence[Slice],
        project: Sequence[ProjectType] = (),
        batch_size: int = 64,
        projects: Sequence[Sequence[ProjectType]] | None = None,
    ) -> list[Ranking]:
        """For each slice: the model's Ranking (typeinf.inference.scorer.Scorer.rank)."""
        return self.scorer.rank(slices, project, batch_size, projects)

    def decode(
        self, fam: str, type_logits: np.ndarray, cand_logits: np.ndarray, cand_types: Sequence[str]
    ) -> list[tuple[str, float]]:
        """Ranked (type, probability) of one site's logits (typeinf.inference.scorer.decode)."""
        return decode(self.cfg, self.calibration.temperature, fam, type_logits, cand_logits, cand_types)

    # ------------------------------------------------------------------ public
    def predict_groups(
        self,
        groups: Sequence[tuple[Sequence[Slice], Sequence[ProjectType]]],
        top_k: int = 5,
        evidence: Sequence[Sequence[Evidence]] | None = None,
        ranked: Sequence[Ranking] | None = None,
    ) -> list[list[Prediction]]:
        """Predictions for several files (each with its own project types and, optionally, the
        project's evidence for each site) in one batched pass.  `ranked`: the model's rankings of
        the sites, from `rank_groups` (the engine gathers the evidence meanwhile)."""
        flat, projects = _flat(groups)
        ev = [e for file in evidence for e in file] if evidence is not None else None
        preds = self.predict(flat, top_k=top_k, projects=projects, evidence=ev, ranked=ranked)
        out, i = [], 0
        for slices, _ in groups:
            out.append(preds[i : i + len(slices)])
            i += len(slices)
        return out

    def rank_groups(self, groups: Sequence[tuple[Sequence[Slice], Sequence[ProjectType]]]) -> list[Ranking]:
        """The model's ranking of every site of several files, in one batched pass."""
        flat, projects = _flat(groups)
        return self.scorer.rank(flat, projects=projects)

    def predict(
        self,
        slices: Sequence[Slice],
        project: Sequence[ProjectType] = (),
        top_k: int = 5,
        projects: Sequence[Sequence[ProjectType]] | None = None,
        evidence: Sequence[Evidence] | None = None,
        ranked: Sequence[Ranking] | None = None,
    ) -> list[Prediction]:
        """`evidence`: the project's evidence for each slice (its annotations of the same name, the
        checker's type); the model's top 5 are re-ranked with it (typeinf.inference.rerank).

        A prediction is a pure function of what the model reads of the slice (its cache key:
        not where the site is), `top_k` and the evidence: the last predictions are remembered
        by those (an edit re-predicts only the sites it changed; the others get their new slice).
        `ranked`: the model's rankings of these slices, when already computed."""
        keys = self.scorer.keys(slices, project, projects)
        out: list[Prediction | None] = [None] * len(slices)
        todo = []  # the sites whose content or evidence is new: the others are remembered
        for i, (s, k) in enumerate(zip(slices, keys, strict=True)):
            done = self._memo.get((k, top_k, evidence[i] if evidence is not None else None))
            if done is not None:
                t, confidence, source, alternatives, module, rule = done
                out[i] = Prediction(s, t, confidence, source, list(alternatives), module, rule)
            else:
                todo.append(i)
        if todo:
            fresh = self._predict(
                [slices[i] for i in todo],
                project,
                top_k,
                [projects[i] for i in todo] if projects is not None else None,
                [evidence[i] for i in todo] if evidence is not None else None,
                [keys[i] for i in todo],
                [ranked[i] for i in todo] if ranked is not None else None,
            )
            for i, pred in zip(todo, fresh, strict=True):
                out[i] = pred
                kept = (
                    pred.type,
                    pred.confidence,
                    pred.source,
                    tuple(pred.alternatives),
                    pred.module,
                    pred.rule,
                )
                self._memo.put((keys[i], top_k, evidence[i] if evidence is not None else None), kept)
        return [p for p in out if p is not None]

    def _predict(
        self,
        slices: Sequence[Slice],
        project: Sequence[ProjectType],
        top_k: int,
        projects: Sequence[Sequence[ProjectType]] | None,
        evidence: Sequence[Evidence] | None,
        keys: Sequence[str],
        ranked: Sequence[Ranking] | None = None,
    ) -> list[Prediction]:
        if ranked is None:
            ranked = self.scorer.rank(slices, project, projects=projects, keys=keys)
        tables: dict[tuple[int, str], dict[str, frozenset[str]]] = {}

        def members(proj: Sequence[ProjectType], fam: str) -> dict[str, frozenset[str]]:
            table = tables.get((id(proj), fam))
            if table is None:
                table = tables[(id(proj), fam)] = member_table(proj, fam)
            return table

        out = []
        for i, (s, ranking) in enumerate(zip(slices, ranked, strict=True)):
            proj = projects[i] if projects is not None else project
            check = partial(members, proj, lang_family(s.language)) if self.member_check else None
            pred = finalize(self.calibration, s, ranking, top_k, check)
            if evidence is not None and self.reranker is not None:
                pred = self.reranker.apply(pred, evidence[i])
            out.append(consistent(pred, ranking, aliases(s, proj)))
        return out

    def combine(
        self, fam: str, fact: Fact | None, alts: list[tuple[str, float]], top_k: int = 5, kind: str = "var"
    ) -> Choice:
        """typeinf.inference.finalize.combine with this model's calibration."""
        return combine(self.calibration, fam, fact, alts, top_k, kind)

    def combine_raw(
        self, fam: str, fact: Fact | None, alts: list[tuple[str, float]], top_k: int = 5, kind: str = "var"
    ) -> Choice:
        """typeinf.inference.finalize.combine_raw with this model's calibration."""
        return combine_raw(self.calibration, fam, fact, alts, top_k, kind)


def _flat(
    groups: Sequence[tuple[Sequence[Slice], Sequence[ProjectType]]],
) -> tuple[list[Slice], list[Sequence[ProjectType]]]:
    """Several files' sites in one list, each with its file's project types."""
    return [s for slices, _ in groups for s in slices], [proj for slices, proj in groups for _ in slices]
