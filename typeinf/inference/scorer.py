"""The model stage: slices in, the model's ranked types out (onnxruntime only).

    scorer = Scorer(bundle, threads=2)          # sessions are created on first use
    rankings = scorer.rank(slices, project)     # one typed Ranking per slice, in order

A `Ranking` is the model's answer alone: a softmax over the language's vocabulary and the
site's local candidates at the bundle's temperature, equal type texts added up, most probable
first, and the module each project candidate is imported from.  No static facts, member check
or calibrated confidence here (typeinf.inference.finalize does that).

The scorer owns the inference sessions (one with all threads for a few batches; one
single-threaded stream per thread for many sites), batching by length, and a cache by slice
content and by exact model input.  A site's scores depend neither on its batch nor on its
stream.  `decode`, `site_logits`, `labels` and `merge` are the decoding steps, shared with
models.evaluate.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..heap import return_free_memory
from ..lang import lang_family
from ..memo import by_identity
from ..slices.data import ScopeName, Slice
from .bundle import ModelBundle
from .cache import Ranked, RankingCache
from .encoding import MAX_TOKENS, ModelConfig, encode_names, pad_batch
from .features import N_FEATURES, Candidate, ProjectType, local_candidates, site_text

# Padded tokens per model call: batches of similar length, so a short site is not padded to the
# longest one (on a 31-site function, 52 ms in one batch of 31 -> 30 ms in three).
TOKEN_BUDGET = 1024
# from this many slices on (a project, not one file), inference runs in one stream per thread,
# fed in chunks of this many sites as their features are computed
STREAM_MIN_SITES = 256
STREAM_CHUNK = 256
# batches sent to the streams and not yet scored, at most (beyond, the features wait for the model)
MAX_IN_FLIGHT = 16
# the most probable entries of the softmax kept in a ranking
TOP_N = 40
# slice keys remembered (each holds its slice's evidence: a few documents' sites, not a project's)
KEYS_KEPT = 4096


@dataclass(frozen=True)
class Ranking:
    """The model's ranking of one site."""

    types: tuple[tuple[str, float], ...]  # (type text, probability), most probable first
    modules: Mapping[str, str | None]  # where each project type among the candidates is imported from


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


def features(s: Slice, project: Sequence[ProjectType] = ()) -> tuple[str, list[Candidate]]:
    """The site text and local candidates: the same functions the training set was built with."""
    return site_text(s), local_candidates(s, project)


def length_batches(
    lengths: Sequence[int], max_batch: int, token_budget: int = TOKEN_BUDGET
) -> list[list[int]]:
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


def new_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session of the model file, on `threads` intra-op threads."""
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
    # no arena and no memory patterns: the inputs' shapes vary with every batch, so an arena only
    # grows and a pattern is never reused (measured on slack-sdk's 3,863 sites, one thread: +104 MB
    # with them, +40 MB without, the same CPU time within noise)
    opts.enable_cpu_mem_arena = False
    opts.enable_mem_pattern = False
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------- decoding
def site_logits(
    config: ModelConfig, fam: str, type_logits: np.ndarray, cand_logits: np.ndarray
) -> np.ndarray:
    """One site's logits over its language's vocabulary followed by its local candidates."""
    a, b = config.lang_range(fam)
    return np.concatenate([type_logits[a:b], cand_logits])


def labels(config: ModelConfig, fam: str, ks: Iterable[int], cand_types: Sequence[str]) -> list[str]:
    """The type texts of entries `ks` of `site_logits`."""
    a, b = config.lang_range(fam)
    n, vocab = b - a, config.types[fam]
    return [vocab[k] if k < n else cand_types[k - n] for k in ks]


def merge(pairs: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """(type, probability) pairs with the probabilities of equal type texts added up, most probable
    first (ties in the order given)."""
    probs: dict[str, float] = {}
    for t, p in pairs:
        probs[t] = probs.get(t, 0.0) + p
    return sorted(probs.items(), key=lambda x: -x[1])


def decode(
    config: ModelConfig,
    temperature: float,
    fam: str,
    type_logits: np.ndarray,
    cand_logits: np.ndarray,
    cand_types: Sequence[str],
) -> list[tuple[str, float]]:
    """Ranked (type, probability): one softmax over the language's vocabulary and the local
    candidates (at the calibrated temperature), the TOP_N most probable, equal type texts added up."""
    logits = site_logits(config, fam, type_logits, cand_logits).astype(np.float64) / temperature
    logits -= logits.max()
    p = np.exp(logits)
    p /= p.sum()
    top = np.argpartition(-p, TOP_N)[:TOP_N] if p.size > TOP_N else np.arange(p.size)
    ks = top[np.argsort(-p[top], kind="stable")].tolist()
    return merge(zip(labels(config, fam, ks, cand_types), (float(p[k]) for k in ks), strict=True))


# ---------------------------------------------------------------------- keys
def _identity(s: Slice) -> tuple[object, ...]:
    """What the model reads of a slice besides its evidence, neighbours and scope."""
    return (s.language, s.kind, s.name, s.qualname, s.annotatable, s.annotation, s.is_async)


def _key(s: Slice, context_fp: str) -> str:
    """The cache key: everything the model reads of the slice (not where it is in the file).
    The dataclass repr is exact and far cheaper than a JSON dump (the editor computes a key
    for every slice of the file on each edit); the scope list is fingerprinted once per file."""
    content = (*_identity(s), s.evidence, s.neighbours)
    h = hashlib.blake2b(repr(content).encode("utf-8", "surrogatepass"), digest_size=16)
    h.update(context_fp.encode())
    return h.hexdigest()


@by_identity(maxsize=256)  # the slices of one file share their scope list
def _scope_fingerprint(scope: Sequence[ScopeName]) -> str:
    return hashlib.blake2b(
        repr([(e.name, e.kind, e.module) for e in scope]).encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()


@by_identity(maxsize=64)  # the project index hands out one list per language while its types stay
def _fingerprint(project: Sequence[ProjectType]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name, module in sorted((p.name, p.module) for p in project):
        h.update(f"{name}\0{module}\0".encode())
    return h.hexdigest()


def _input_key(language: str, text: str, cands: Sequence[Candidate], feats: np.ndarray) -> str:
    """A key of exactly what the model reads: the site text and the candidates with their
    features (as the float32 array the model is given)."""
    h = hashlib.blake2b(f"{lang_family(language)}\0{text}\0".encode("utf-8", "surrogatepass"), digest_size=16)
    h.update("\0".join(f"{c.type}\1{c.name}" for c in cands).encode("utf-8", "surrogatepass"))
    h.update(feats.tobytes())
    return "in:" + h.hexdigest()


def _modules(cands: Sequence[Candidate]) -> dict[str, str | None]:
    return {c.type: c.module for c in cands if c.kind == "project"}


class Scorer:
    """The model's rankings of slices: sessions, batching and caches.

    `session`, when given, is used instead of loading one (anything with onnxruntime's
    `run(names, feeds)`: models.requantize records the inputs through it); with threads=1 every
    batch goes through it."""

    def __init__(
        self,
        bundle: ModelBundle,
        threads: int = 1,
        cache_size: int = 20_000,
        session: Any = None,
        stream_min_sites: int = STREAM_MIN_SITES,
        stream_chunk: int = STREAM_CHUNK,
        disk: RankingCache | None = None,
    ) -> None:
        self.bundle = bundle
        self.disk = disk  # rankings kept across runs (typeinf.inference.cache), by model input
        self.threads = threads
        self.cache_size = cache_size
        self.stream_min_sites = stream_min_sites
        self.stream_chunk = stream_chunk
        self._session: Any = session
        self._stream_sessions: list[Any] = []
        self._cache: OrderedDict[str, Ranking] = OrderedDict()
        # keys by the id of the slice's evidence (held: the id is not reused while it is here)
        self._keys: OrderedDict[int, tuple[Any, Any, tuple[Any, ...], str]] = OrderedDict()

    @property
    def session(self) -> Any:
        """The session for a few batches (one file in the editor): all threads on each batch."""
        if self._session is None:
            self._session = new_session(self.bundle.onnx_path, self.threads)
        return self._session

    def _streams(self) -> list[Any]:
        """One single-threaded session per thread, for many slices (a project): each runs its own
        batches, so that the Python work overlaps inference (faster than all threads on each batch
        in turn: benchmarks/predict_speed.py)."""
        if not self._stream_sessions:
            self._stream_sessions = [new_session(self.bundle.onnx_path, 1) for _ in range(self.threads)]
        return self._stream_sessions

    def keys(
        self,
        slices: Sequence[Slice],
        project: Sequence[ProjectType] = (),
        projects: Sequence[Sequence[ProjectType]] | None = None,
    ) -> list[str]:
        """Each slice's cache key: everything the model reads of it and of its project's types
        (not where it is in the file).  The key of a slice whose evidence object was keyed before
        (an edit's unchanged sites keep theirs) is remembered, checked against the other fields."""
        out = []
        for i, s in enumerate(slices):
            context = _fingerprint(projects[i] if projects is not None else project) + _scope_fingerprint(
                s.scope
            )
            fields = (*_identity(s), context)
            got = self._keys.get(id(s.evidence))
            if got is not None and got[0] is s.evidence and got[1] is s.neighbours and got[2] == fields:
                self._keys.move_to_end(id(s.evidence))
                out.append(got[3])
                continue
            key = _key(s, context)
            self._keys[id(s.evidence)] = (s.evidence, s.neighbours, fields, key)
            if len(self._keys) > KEYS_KEPT:
                self._keys.popitem(last=False)
            out.append(key)
        return out

    def rank(
        self,
        slices: Sequence[Slice],
        project: Sequence[ProjectType] = (),
        batch_size: int = 64,
        projects: Sequence[Sequence[ProjectType]] | None = None,
        keys: Sequence[str] | None = None,
    ) -> list[Ranking]:
        """For each slice: the model's Ranking. `projects` gives each slice its own project types
        (one batched pass over several files); `keys`: the slices' `keys`, when the caller has them.

        Many slices (a project) are fed to one single-threaded inference stream per thread, chunk
        by chunk as their features are computed, so that the Python work (features, padding,
        decoding) overlaps inference; a site's scores do not depend on its batch or stream."""
        results: list[Any] = [None] * len(slices)
        pending: list[_Todo] = []  # features computed, not yet sent to the model
        if keys is None:
            keys = self.keys(slices, project, projects)
        # the streams are started with the first full chunk of slices the caches do not have: a
        # run that finds most rankings kept (a project after an edit of one file) scores its few
        # misses on the one session, and loads the model once instead of once per stream
        streaming = self.threads > 1 and len(slices) >= self.stream_min_sites
        pool: ThreadPoolExecutor | None = None
        free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        local = threading.local()
        # futures (streams) or finished batches: (index, key, input key, modules) and rankings; a
        # batch keeps no features once scored, so a project's candidates are never all in memory
        batches: list[Any] = []
        tok = self.bundle.config.tokenizer()
        budget = self.bundle.config.max_tokens  # the input is cut there (ModelConfig.max_tokens)

        def scored(items: list[_Todo], ranked: list[list[tuple[str, float]]]) -> tuple[list[Any], list[Any]]:
            return [(t.index, t.key, t.ikey, _modules(t.cands)) for t in items], ranked

        def in_stream(items: list[_Todo], ids: list[np.ndarray], ctok: list[Any]) -> Any:
            if getattr(local, "session", None) is None:
                local.session = free.get()  # one session per worker thread
            return scored(items, self._run(local.session, items, ids, ctok))

        waited = 0  # the batches before this one have been waited for

        def submit(chunk: list[_Todo], full: bool = False) -> None:
            nonlocal waited, pool
            if not chunk:
                return
            if pool is None and streaming and full:
                streams = self._streams()
                pool = ThreadPoolExecutor(len(streams), thread_name_prefix="typeinf-model")
                for sess in streams:
                    free.put(sess)
            enc = tok.encode_batch([t.text for t in chunk])
            lengths = [min(len(e.ids), budget) for e in enc]
            for part in length_batches(lengths, batch_size, TOKEN_BUDGET):
                items = [chunk[j] for j in part]
                ids = [np.asarray(enc[j].ids[:budget], dtype=np.int64) for j in part]
                ctok = [encode_names(tok, [c.name for c in t.cands]) for t in items]
                if pool is not None:
                    batches.append(pool.submit(in_stream, items, ids, ctok))
                    # backpressure: the features are computed faster than the model scores them, and
                    # a backlog would hold a project's candidates in memory (zod: 628 MB at the peak)
                    if len(batches) - waited > MAX_IN_FLIGHT:
                        batches[waited].result()
                        waited += 1
                        if waited % 32 == 0:
                            return_free_memory()
                else:
                    batches.append(scored(items, self._run(self.session, items, ids, ctok)))

        used: list[str] = []  # rankings read from the disk cache
        try:
            for i, s in enumerate(slices):
                proj = projects[i] if projects is not None else project
                key = keys[i]
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    results[i] = hit
                    continue
                text, cands = features(s, proj)
                feats = np.asarray([c.feats for c in cands], dtype=np.float32).reshape(-1, N_FEATURES)
                # the same model input as an earlier slice (an edit a few lines away changed only the
                # slice's context window, not what the model reads): the same ranking
                ikey = _input_key(s.language, text, cands, feats)
                same = self._cache.get(ikey)
                if same is None and self.disk is not None:
                    kept = self.disk.get(ikey)
                    if kept is not None:
                        same = Ranking(kept, {})
                        self._store(ikey, same)
                        used.append(ikey)
                if same is not None:
                    out = Ranking(same.types, _modules(cands))
                    self._store(key, out)
                    results[i] = out
                    continue
                pending.append(_Todo(i, key, cands, ikey, feats, text, lang_family(s.language)))
                if len(pending) >= self.stream_chunk:
                    submit(pending, full=True)
                    pending = []
            submit(pending)
            pending = []
            done = [b.result() if pool is not None else b for b in batches]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        new: list[tuple[str, Ranked]] = []
        for records, ranked in done:
            for (index, key, ikey, modules), r in zip(records, ranked, strict=True):
                out = Ranking(tuple(r), modules)
                results[index] = out
                self._store(key, out)
                self._store(ikey, out)
                new.append((ikey, out.types))
        if self.disk is not None:
            self.disk.put_many(new, used)
        if pool is not None:
            return_free_memory()
        return results

    def _run(
        self, session: Any, items: list[_Todo], ids: list[np.ndarray], ctok: list[Any]
    ) -> list[list[tuple[str, float]]]:
        """One batch through the model, decoded."""
        type_logits, cand_logits = session.run(None, pad_batch(ids, ctok, [t.feats for t in items]))
        cfg, temperature = self.bundle.config, self.bundle.calibration.temperature
        return [
            decode(
                cfg,
                temperature,
                t.fam,
                type_logits[row],
                cand_logits[row, : len(t.cands)],
                [c.type for c in t.cands],
            )
            for row, t in enumerate(items)
        ]

    def _store(self, key: str, value: Ranking) -> None:
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
