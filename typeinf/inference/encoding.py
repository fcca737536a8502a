"""The model's files and input tensors, shared by training (models/) and the runtime.

A model directory holds:
    tokenizer.json      byte-level BPE (the `tokenizers` library)
    types.json          the type vocabulary per language: {"python": [...], "typescript": [...]}
    config.json         input sizes and the feature version, written at export
    typeinf.onnx        the INT8 model (runtime only)
    static_rules.json   measured precision of each static-fact rule
    thresholds.json     confidence thresholds (default for writing code: >= 95% precision)
    MODEL_CARD.md

The runtime reads them all through typeinf.inference.bundle.ModelBundle (strictly: a file missing or
malformed is an error naming it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..memo import by_identity
from .features import N_FEATURES

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_TOKENS = 128
CAND_TOKENS = 6
PAD_ID = 0
CLS_ID = 1
FEATURE_VERSION = 1
LANG_FAMILIES = ("python", "typescript")


@dataclass
class ModelConfig:
    directory: Path
    types: dict[str, list[str]]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, directory: Path) -> ModelConfig:
        cfg = cls.load(directory)
        cfg.save()
        return cfg

    @classmethod
    def load(cls, directory: Path) -> ModelConfig:
        types = json.loads((directory / "types.json").read_text(encoding="utf-8"))
        extra = {}
        if (directory / "config.json").is_file():
            extra = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        return cls.from_data(directory, types, extra)

    @classmethod
    def from_data(cls, directory: Path, types: dict[str, list[str]], extra: dict[str, Any]) -> ModelConfig:
        """The config of types.json and config.json as read (a ValueError if built for other features)."""
        if extra.get("feature_version", FEATURE_VERSION) != FEATURE_VERSION:
            raise ValueError(
                f"{directory}: model built for feature version {extra['feature_version']}, "
                f"this typeinf uses {FEATURE_VERSION}"
            )
        return cls(directory, types, extra)

    def save(self) -> None:
        data = {
            "feature_version": FEATURE_VERSION,
            "max_tokens": MAX_TOKENS,
            "cand_tokens": CAND_TOKENS,
            "n_features": N_FEATURES,
            **self.extra,
        }
        (self.directory / "config.json").write_text(json.dumps(data, indent=1) + "\n")

    @property
    def project_calls(self) -> bool:
        """Whether the model reads the evidence of the project's calls (`Evidence.arguments`,
        `callee_params`, `result_uses`: typeinf.inference.calls.across); the models before it never
        saw those fields, so they are left empty for them."""
        return bool(self.extra.get("project_calls", False))

    @cached_property
    def offsets(self) -> dict[str, int]:
        off, out = 0, {}
        for lang in LANG_FAMILIES:
            out[lang] = off
            off += len(self.types.get(lang, []))
        return out

    @property
    def n_types(self) -> int:
        return sum(len(self.types.get(lang, [])) for lang in LANG_FAMILIES)

    @cached_property
    def _index(self) -> dict[tuple[str, str], int]:
        return {
            (lang, t): self.offsets[lang] + i
            for lang in LANG_FAMILIES
            for i, t in enumerate(self.types.get(lang, []))
        }

    def type_index(self, lang: str, label: str) -> int | None:
        return self._index.get((lang, label))

    def type_at(self, index: int) -> tuple[str, str]:
        for lang in reversed(LANG_FAMILIES):
            if index >= self.offsets[lang]:
                return lang, self.types[lang][index - self.offsets[lang]]
        raise IndexError(index)

    @property
    def max_tokens(self) -> int:
        """Where a site's input is cut (config.json's `max_tokens`, at most the network's
        MAX_TOKENS): the shipped model reads 80 tokens, as it was trained (`models.train
        --max-tokens`); the budget was chosen with benchmarks/length_budget.py."""
        return max(1, min(int(self.extra.get("max_tokens", MAX_TOKENS)), MAX_TOKENS))

    def lang_range(self, lang: str) -> tuple[int, int]:
        start = self.offsets[lang]
        return start, start + len(self.types.get(lang, []))

    def tokenizer(self) -> Tokenizer:
        return _tokenizer(str(self.directory / "tokenizer.json"))


@lru_cache(maxsize=4)  # a tokenizer file loaded once (the shipped model's, and a test's or two)
def _tokenizer(path: str) -> Tokenizer:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


@by_identity(maxsize=8)
def _name_ids(tok: Tokenizer) -> dict[str, list[int]]:
    """Token ids of candidate names, per tokenizer: the same few thousand names recur at every site."""
    return {}


def encode_names(tok: Tokenizer, names: list[str]) -> np.ndarray:
    """[len(names), CAND_TOKENS] int16 token ids of candidate names (padded with PAD_ID)."""
    out = np.zeros((len(names), CAND_TOKENS), dtype=np.int16)
    enc = _name_ids(tok)
    if len(enc) > 200_000:
        enc.clear()
    new = sorted({n for n in names if n not in enc})
    if new:
        enc.update((n, e.ids[:CAND_TOKENS]) for n, e in zip(new, tok.encode_batch(new), strict=True))
    for i, n in enumerate(names):
        ids = enc[n]
        out[i, : len(ids)] = ids
    return out


def pad_batch(
    ids: list[np.ndarray], cand_tok: list[np.ndarray], feats: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Padded model inputs for a batch: a <cls> token first, candidates padded to the batch max."""
    b = len(ids)
    t = min(MAX_TOKENS, max((len(x) for x in ids), default=0)) + 1
    c = max(1, max((len(x) for x in cand_tok), default=0))
    out_ids = np.full((b, t), PAD_ID, dtype=np.int64)
    mask = np.zeros((b, t), dtype=np.int64)
    ctok = np.full((b, c, CAND_TOKENS), PAD_ID, dtype=np.int64)
    cfeat = np.zeros((b, c, N_FEATURES), dtype=np.float32)
    cmask = np.zeros((b, c), dtype=np.int64)
    for i in range(b):
        x = ids[i][: t - 1]
        out_ids[i, 0] = CLS_ID
        out_ids[i, 1 : len(x) + 1] = x
        mask[i, : len(x) + 1] = 1
        n = len(cand_tok[i])
        if n:
            ctok[i, :n] = cand_tok[i]
            cfeat[i, :n] = feats[i]
            cmask[i, :n] = 1
    return {"ids": out_ids, "mask": mask, "cand_tok": ctok, "cand_feat": cfeat, "cand_mask": cmask}
