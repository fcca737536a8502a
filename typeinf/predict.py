"""Predictions for slices: static facts first, then the shipped INT8 model (onnxruntime only).

    predictor = Predictor()                      # loads typeinf/model once (lazily)
    preds = predictor.predict(slices, project)   # batched; cached by slice content

A prediction's confidence is calibrated: model probabilities go through the temperature
fitted on the validation split, static facts carry the precision their rule reached there, and
a logistic calibrator fitted there too (typeinf.confidence) gives the final probability that
the prediction is exactly right.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .confidence import Calibrator, confidence_features
from .features import N_FEATURES, Candidate, ProjectType, lang_family, local_candidates, site_text
from .members import BUILTIN_MEMBERS, class_of, used_members
from .model_io import MAX_TOKENS, ModelConfig, encode_names, pad_batch
from .slices.model import Slice
from .static import Fact, holds, rule_key, static_fact
from .types import normalize, without_qualifier

MODEL_DIR = Path(__file__).resolve().parent / "model"
DEFAULT_THRESHOLD = 0.9


@dataclass
class Prediction:
    slice: Slice
    type: str
    confidence: float
    source: str  # "static" | "model"
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    module: str | None = None  # where the predicted name is imported from, when not in the file
    rule: str | None = None

    def to_dict(self, top_k: int = 5) -> dict[str, Any]:
        s = self.slice
        return {"file": s.file, "line": s.line, "column": s.column, "kind": s.kind, "qualname": s.qualname,
                "name": s.name, "type": self.type, "confidence": round(self.confidence, 4),
                "alternatives": [{"type": t, "confidence": round(c, 4)} for t, c in self.alternatives[:top_k]],
                "source": self.source}  # fmt: skip


class ModelMissing(RuntimeError):
    pass


# Padded tokens per model call: batches of similar length, so a short site is not padded to the
# longest one (on a 31-site function, 52 ms in one batch of 31 -> 30 ms in three).
TOKEN_BUDGET = 1024
# from this many slices on (a project, not one file), inference runs in one stream per thread,
# fed in chunks of this many sites as their features are computed
STREAM_MIN_SITES = 256
STREAM_CHUNK = 256


@dataclass
class _Todo:
    """A slice waiting for the model: its input and where its result goes."""

    index: int
    key: str
    cands: list[Candidate]
    ikey: str
    feats: np.ndarray
    text: str
    fam: str


def length_batches(lengths: Sequence[int], max_batch: int, token_budget: int = TOKEN_BUDGET) -> list[list[int]]:
    """Indices grouped into batches sorted by length, each at most `max_batch` long and with at most
    `token_budget` tokens once padded to its longest member (a single long site still gets a batch)."""
    order = sorted(range(len(lengths)), key=lambda j: lengths[j])
    batches: list[list[int]] = []
    cur: list[int] = []
    for j in order:
        padded = min(lengths[j], MAX_TOKENS) + 1
        if cur and (len(cur) + 1 > max_batch or (len(cur) + 1) * padded > token_budget):
            batches.append(cur)
            cur = []
        cur.append(j)
    if cur:
        batches.append(cur)
    return batches


class Predictor:
    """Loads the model once; `predict` is batched and caches by slice content."""

    def __init__(self, model_dir: Path | None = None, threads: int | None = None, cache_size: int = 20_000) -> None:
        self.dir = Path(model_dir or os.environ.get("TYPEINF_MODEL_DIR") or MODEL_DIR)
        if not (self.dir / "typeinf.onnx").is_file():
            raise ModelMissing(f"no model at {self.dir} (typeinf.onnx missing)")
        self.cfg = ModelConfig.load(self.dir)
        self.threads = threads or min(2, os.cpu_count() or 1)
        self._session: Any = None
        self._stream_sessions: list[Any] = []
        self._cache: OrderedDict[str, tuple[list[tuple[str, float]], dict[str, str | None]]] = OrderedDict()
        self.cache_size = cache_size
        self.rules = _read_json(self.dir / "static_rules.json", {})
        cal = _read_json(self.dir / "thresholds.json", {})
        self.temperature = float(cal.get("temperature", 1.0))
        self.default_threshold = float(cal.get("default", DEFAULT_THRESHOLD))
        # the >= 95%-precision threshold of each language family on validation (calibrators differ)
        self.thresholds: dict[str, float] = {k: float(v) for k, v in (cal.get("by_language") or {}).items()}
        # one calibrator per language family (their models' confidences are not alike)
        self.calibrators: dict[str, Calibrator] = {}
        for fam, d in (cal.get("calibrators") or {}).items():
            c = Calibrator.from_dict(d) if isinstance(d, dict) else None
            if c is not None:
                self.calibrators[fam] = c
        # the class-member check (rule_out_by_members); TYPEINF_MEMBER_CHECK=0 turns it off for A/B runs
        self.member_check = os.environ.get("TYPEINF_MEMBER_CHECK", "1") != "0"

    def _new_session(self, threads: int) -> Any:
        # onnxruntime writes a device id and an event database under ~/.cache/Microsoft (or
        # $XDG_CACHE_HOME) when it is imported; only this variable, set before the import, stops it
        # (disable_telemetry_events() comes too late for the files, but stops the events themselves)
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        import onnxruntime as ort

        ort.disable_telemetry_events()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self.dir / "typeinf.onnx"), opts, providers=["CPUExecutionProvider"])

    @property
    def session(self) -> Any:
        """The session for a few batches (one file in the editor): all threads on each batch."""
        if self._session is None:
            self._session = self._new_session(self.threads)
        return self._session

    def _streams(self) -> list[Any]:
        """One single-threaded session per thread, for many slices (a project): each runs its own
        batches, so that the Python work overlaps inference (faster than all threads on each batch
        in turn: benchmarks/predict_speed.py)."""
        if not self._stream_sessions:
            self._stream_sessions = [self._new_session(1) for _ in range(self.threads)]
        return self._stream_sessions

    # ------------------------------------------------------------------ model
    @staticmethod
    def _key(s: Slice, context_fp: str) -> str:
        """The cache key: everything the model reads of the slice (not where it is in the file).
        The dataclass repr is exact and far cheaper than a JSON dump (the editor computes a key
        for every slice of the file on each edit); the scope list is fingerprinted once per file."""
        content = (s.language, s.kind, s.name, s.qualname, s.annotatable, s.annotation, s.is_async,
                   s.evidence, s.neighbours)  # fmt: skip
        h = hashlib.blake2b(repr(content).encode("utf-8", "surrogatepass"), digest_size=16)
        h.update(context_fp.encode())
        return h.hexdigest()

    @staticmethod
    def _scope_fingerprint(s: Slice) -> str:
        return hashlib.blake2b(repr([(e.name, e.kind, e.module) for e in s.scope]).encode("utf-8", "surrogatepass"),
                               digest_size=16).hexdigest()  # fmt: skip

    @staticmethod
    def _fingerprint(project: Sequence[ProjectType]) -> str:
        h = hashlib.blake2b(digest_size=16)
        for name, module in sorted((p.name, p.module) for p in project):
            h.update(f"{name}\0{module}\0".encode())
        return h.hexdigest()

    def threshold(self, language: str) -> float:
        """The model's threshold for writing code at a site of this language."""
        return self.thresholds.get(lang_family(language), self.default_threshold)

    @staticmethod
    def features(s: Slice, project: Sequence[ProjectType] = ()) -> tuple[str, list[Candidate]]:
        """The site text and local candidates: the same functions the training set was built with."""
        return site_text(s), local_candidates(s, project)

    def rank(self, slices: Sequence[Slice], project: Sequence[ProjectType] = (), batch_size: int = 64,
             projects: Sequence[Sequence[ProjectType]] | None = None,
             ) -> list[tuple[list[tuple[str, float]], dict[str, str | None]]]:  # fmt: skip
        """For each slice: the model's ranked (type, probability) list and the modules of local names.
        `projects` gives each slice its own project types (one batched pass over several files).

        Many slices (a project) are fed to one single-threaded inference stream per thread, chunk
        by chunk as their features are computed, so that the Python work (features, padding,
        decoding) overlaps inference; a site's scores do not depend on its batch or stream."""
        results: list[Any] = [None] * len(slices)
        todo: list[_Todo] = []
        fingerprints: dict[int, str] = {}
        scopes: dict[int, str] = {}
        streams = self._streams() if self.threads > 1 and len(slices) >= STREAM_MIN_SITES else []
        pool = ThreadPoolExecutor(len(streams), thread_name_prefix="typeinf-model") if streams else None
        free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for sess in streams:
            free.put(sess)
        local = threading.local()
        batches: list[Any] = []  # futures (streams) or finished (items, rankings)
        tok = self.cfg.tokenizer()

        def in_stream(items: list[_Todo], ids: list[np.ndarray], ctok: list[Any]) -> Any:
            if getattr(local, "session", None) is None:
                local.session = free.get()  # one session per worker thread
            return items, self._run(local.session, items, ids, ctok)

        def submit(chunk: list[_Todo]) -> None:
            if not chunk:
                return
            enc = tok.encode_batch([t.text for t in chunk])
            for part in length_batches([len(e.ids) for e in enc], batch_size, TOKEN_BUDGET):
                items = [chunk[j] for j in part]
                ids = [np.asarray(enc[j].ids[:MAX_TOKENS], dtype=np.int64) for j in part]
                ctok = [encode_names(tok, [c.name for c in t.cands]) for t in items]
                if pool is not None:
                    batches.append(pool.submit(in_stream, items, ids, ctok))
                else:
                    batches.append((items, self._run(self.session, items, ids, ctok)))

        sent = 0
        try:
            for i, s in enumerate(slices):
                proj = projects[i] if projects is not None else project
                fp = fingerprints.get(id(proj))
                if fp is None:
                    fp = fingerprints[id(proj)] = self._fingerprint(proj)
                sfp = scopes.get(id(s.scope))
                if sfp is None:
                    sfp = scopes[id(s.scope)] = self._scope_fingerprint(s)
                key = self._key(s, fp + sfp)
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    results[i] = hit
                    continue
                text, cands = self.features(s, proj)
                feats = np.asarray([c.feats for c in cands], dtype=np.float32).reshape(-1, N_FEATURES)
                # the same model input as an earlier slice (an edit a few lines away changed only the
                # slice's context window, not what the model reads): the same ranking
                ikey = self._input_key(s.language, text, cands, feats)
                ranking = self._cache.get(ikey)
                if ranking is not None:
                    out = (ranking[0], {c.type: c.module for c in cands if c.kind == "project"})
                    self._store(key, out)
                    results[i] = out
                    continue
                todo.append(_Todo(i, key, cands, ikey, feats, text, lang_family(s.language)))
                if pool is not None and len(todo) - sent >= STREAM_CHUNK:
                    submit(todo[sent:])
                    sent = len(todo)
            submit(todo[sent:])
            done = [b.result() if pool is not None else b for b in batches]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        for items, ranked in done:
            for t, r in zip(items, ranked, strict=True):
                out = (r, {c.type: c.module for c in t.cands if c.kind == "project"})
                results[t.index] = out
                self._store(t.key, out)
                self._store(t.ikey, out)
        return results

    def _run(self, session: Any, items: list[_Todo], ids: list[np.ndarray], ctok: list[Any]
             ) -> list[list[tuple[str, float]]]:  # fmt: skip
        """One batch through the model, decoded."""
        type_logits, cand_logits = session.run(None, pad_batch(ids, ctok, [t.feats for t in items]))
        return [self.decode(t.fam, type_logits[row], cand_logits[row, : len(t.cands)], [c.type for c in t.cands])
                for row, t in enumerate(items)]  # fmt: skip

    def _store(self, key: str, value: tuple[list[tuple[str, float]], dict[str, str | None]]) -> None:
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    @staticmethod
    def _input_key(language: str, text: str, cands: Sequence[Candidate], feats: np.ndarray) -> str:
        """A key of exactly what the model reads: the site text and the candidates with their
        features (as the float32 array the model is given)."""
        h = hashlib.blake2b(f"{lang_family(language)}\0{text}\0".encode("utf-8", "surrogatepass"), digest_size=16)
        h.update("\0".join(f"{c.type}\1{c.name}" for c in cands).encode("utf-8", "surrogatepass"))
        h.update(feats.tobytes())
        return "in:" + h.hexdigest()

    def decode(self, fam: str, type_logits: np.ndarray, cand_logits: np.ndarray, cand_types: Sequence[str]
               ) -> list[tuple[str, float]]:  # fmt: skip
        """Ranked (type, probability): one softmax over the language's vocabulary and the local
        candidates (temperature-calibrated), probabilities of equal type texts added up."""
        a, b = self.cfg.lang_range(fam)
        logits = np.concatenate([type_logits[a:b], cand_logits]).astype(np.float64) / self.temperature
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        probs: dict[str, float] = {}
        vocab = self.cfg.types[fam]
        top = np.argpartition(-p, 40)[:40] if p.size > 40 else np.arange(p.size)
        for k in top[np.argsort(-p[top], kind="stable")]:
            t = vocab[k] if k < b - a else cand_types[k - (b - a)]
            probs[t] = probs.get(t, 0.0) + float(p[k])
        return sorted(probs.items(), key=lambda x: -x[1])

    # ------------------------------------------------------------------ public
    def predict_groups(self, groups: Sequence[tuple[Sequence[Slice], Sequence[ProjectType]]], top_k: int = 5
                       ) -> list[list[Prediction]]:  # fmt: skip
        """Predictions for several files (each with its own project types) in one batched pass."""
        flat = [s for slices, _ in groups for s in slices]
        projects = [proj for slices, proj in groups for _ in slices]
        preds = self.predict(flat, top_k=top_k, projects=projects)
        out, i = [], 0
        for slices, _ in groups:
            out.append(preds[i : i + len(slices)])
            i += len(slices)
        return out

    def predict(self, slices: Sequence[Slice], project: Sequence[ProjectType] = (), top_k: int = 5,
                projects: Sequence[Sequence[ProjectType]] | None = None) -> list[Prediction]:  # fmt: skip
        ranked = self.rank(slices, project, projects=projects)
        out = []
        tables: dict[tuple[int, str], dict[str, frozenset[str]]] = {}
        for i, (s, (alts, modules)) in enumerate(zip(slices, ranked, strict=True)):
            used = used_members([c.method for c in s.evidence.calls_on], s.evidence.attrs_read)
            if used and alts and self.member_check:
                proj = projects[i] if projects is not None else project
                fam = lang_family(s.language)
                table = tables.get((id(proj), fam))
                if table is None:
                    table = tables[(id(proj), fam)] = {**BUILTIN_MEMBERS[fam],
                                                       **{p.name: p.members for p in proj if p.members is not None}}  # fmt: skip
                alts = rule_out_by_members(alts, used, table, fam)
            if s.language == "python":
                alts = types_not_qualifiers(alts)
            fact = static_fact(s)
            t, conf, source, alternatives = self.combine(lang_family(s.language), fact, alts, top_k, s.kind)
            out.append(Prediction(s, t, conf, source, alternatives, modules.get(t),
                                  fact.rule if fact is not None and source == "static" else None))  # fmt: skip
        return out

    def combine(self, fam: str, fact: Fact | None, alts: list[tuple[str, float]], top_k: int = 5,
                kind: str = "var") -> tuple[str, float, str, list[tuple[str, float]]]:  # fmt: skip
        """The final prediction (see `combine_raw`) with its calibrated confidence: the probability,
        fitted on the validation split (typeinf.confidence), that it is exactly right."""
        t, conf, source, out = self.combine_raw(fam, fact, alts, top_k, kind)
        calibrator = self.calibrators.get(fam)
        if calibrator is None or not t:
            return t, conf, source, out
        rule_p = float(self.rules.get(rule_key(fam, kind, fact), 0.8)) if fact is not None else 0.0
        conf = calibrator(confidence_features(t, conf, alts, source, rule_p, kind, fam))
        return t, conf, source, [(t, conf), *[(x, c) for x, c in out if x != t]][:top_k]

    def combine_raw(self, fam: str, fact: Fact | None, alts: list[tuple[str, float]], top_k: int = 5,
                    kind: str = "var") -> tuple[str, float, str, list[tuple[str, float]]]:  # fmt: skip
        """Static facts first, with their rule's measured precision; the model's first choice when
        it is more confident than the rule has been (`x: float = 0`, `x: Base = Derived()`)."""
        if fact is not None:
            t = normalize(fact.type, fam)
            rule_p = float(self.rules.get(rule_key(fam, kind, fact), 0.8))
            # the model overrides a fact only with a type that holds the fact's value
            if not alts or alts[0][0] == t or alts[0][1] <= rule_p or not holds(alts[0][0], fact, fam):
                conf = max(rule_p, dict(alts).get(t, 0.0))
                rest = [(x, c) for x, c in alts if x != t]
                return t, conf, "static", [(t, conf), *rest][:top_k]
        t, c = alts[0] if alts else ("", 0.0)
        return t, c, "model", alts[:top_k]


def types_not_qualifiers(alts: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The ranking with declaration qualifiers taken off (`Final[int]` counts for `int`) and bare
    ones (`Final`, `TypeAlias`) dropped: they are not types to write."""
    if not any(without_qualifier(t) != t for t, _ in alts):
        return alts
    merged: dict[str, float] = {}
    for t, p in alts:
        u = without_qualifier(t)
        if u is not None:
            merged[u] = merged.get(u, 0.0) + p
    return sorted(merged.items(), key=lambda x: -x[1])


MEMBER_PENALTY = 0.1


def rule_out_by_members(alts: list[tuple[str, float]], used: set[str], members: dict[str, frozenset[str]],
                        language: str = "python") -> list[tuple[str, float]]:  # fmt: skip
    """Candidates that are classes (of the project, or builtins such as `str`, `list`, `string`,
    `Array`) lacking a member the code uses on the value lose most of their probability to the
    others (the total stays the same)."""
    changed = False
    out = []
    for t, p in alts:
        cls = class_of(t, language)
        known = members.get(cls) if cls is not None else None
        if known is not None and not used <= known:
            p *= MEMBER_PENALTY
            changed = True
        out.append((t, p))
    if not changed:
        return alts
    total, new_total = sum(p for _, p in alts), sum(p for _, p in out)
    scale = total / new_total if new_total > 0 else 1.0
    return sorted(((t, p * scale) for t, p in out), key=lambda x: -x[1])


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default

