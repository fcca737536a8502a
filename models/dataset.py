"""Model-ready arrays from the corpus shards: `python -m models.dataset`.

    vocabulary   the most frequent normalised labels of the train split, per language
    tokenizer    byte-level BPE (the `tokenizers` library) trained on train-split site texts
    arrays       per split: token ids, local candidates (name tokens + features), targets

Uses typeinf.features (the same code as prediction time) for the site text and candidates.
A label can be named by a vocabulary entry and/or by local candidates; all of them are
targets (the loss is over their total probability).  Sites whose label neither can name are
kept (they count as misses in evaluation) but carry no target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from typeinf.features import N_FEATURES, ProjectType, site_text
from typeinf.model_io import CAND_TOKENS, MAX_TOKENS, ModelConfig, encode_names
from typeinf.predict import Predictor
from typeinf.slices import slice_from_dict
from typeinf.static import static_fact

LANGS = ("python", "typescript")
ECO_OF = {"python": "python", "typescript": "npm"}


def cache_dir() -> Path:
    return Path(os.environ.get("TYPEINF_CACHE", Path.home() / ".cache" / "typeinf"))


def read_split(shards: Path, lang: str, split: str) -> Iterator[dict[str, Any]]:
    for p in sorted((shards / ECO_OF[lang]).glob(f"{split}-*.jsonl")):
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def module_of(path: str, language: str) -> str:
    """`httpx/_models.py` -> `httpx._models`; TypeScript keeps the path without extension."""
    if language == "python":
        p = path[:-3] if path.endswith(".py") else path
        parts = [x for x in p.split("/") if x]
        if parts and parts[0] in ("src", "lib"):
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)
    return path.rsplit(".", 1)[0]


def project_index(shards: Path) -> dict[str, list[ProjectType]]:
    """Per package: the classes, aliases, interfaces and enums its files define."""
    index: dict[str, dict[str, ProjectType]] = defaultdict(dict)
    for lang in LANGS:
        for split in ("train", "valid", "test"):
            seen_files: set[str] = set()
            for r in read_split(shards, lang, split):
                if r["file_hash"] in seen_files:
                    continue
                seen_files.add(r["file_hash"])
                mod = module_of(r["file"], lang)
                for e in r["scope"]:
                    if e["kind"] in ("class", "alias", "interface", "enum"):
                        index[r["package"]].setdefault(e["name"], ProjectType(e["name"], e["kind"], mod))
    return {k: list(v.values()) for k, v in index.items()}


def build_vocab(shards: Path, per_lang: int, min_count: int) -> dict[str, list[str]]:
    vocab = {}
    for lang in LANGS:
        c: Counter[str] = Counter(r["label"] for r in read_split(shards, lang, "train"))
        vocab[lang] = [t for t, n in c.most_common(per_lang) if n >= min_count and t]
    return vocab


def train_tokenizer(texts: list[str], size: int, out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=size, min_frequency=3, special_tokens=["<pad>", "<cls>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tok.train_from_iterator(texts, trainer)
    tok.save(str(out))


# ---------------------------------------------------------------------------- encoding
_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: str, projects: dict[str, list[ProjectType]]) -> None:
    cfg = ModelConfig.load(Path(model_dir))
    _WORKER.update(cfg=cfg, projects=projects)


def encode_records(recs: list[dict[str, Any]], drop_imports_p: float = 0.0, seed: int = 0) -> dict[str, Any]:
    """Arrays for a chunk of records (runs in a worker process)."""
    cfg: ModelConfig = _WORKER["cfg"]
    projects: dict[str, list[ProjectType]] = _WORKER["projects"]
    rng = random.Random(seed)
    texts, cand_counts, cand_names, feats, targets, lang_ids, meta = [], [], [], [], [], [], []
    for r in recs:
        s = slice_from_dict(r)
        lang = "python" if s.language == "python" else "typescript"
        if drop_imports_p and rng.random() < drop_imports_p:
            # unannotated code imports fewer types: hide imports the window does not use
            s.scope = [e for e in s.scope if e.kind != "import" or e.name in s.evidence.window]
        text, cands = Predictor.features(s, projects.get(r["package"], []))
        texts.append(text)
        cand_counts.append(len(cands))
        cand_names.extend(c.name for c in cands)
        feats.extend(c.feats for c in cands)
        label = r["label"]
        tgt = []
        vi = cfg.type_index(lang, label)
        if vi is not None:
            tgt.append(vi)
        tgt.extend(cfg.n_types + i for i, c in enumerate(cands) if c.type == label)
        targets.append(tgt)
        lang_ids.append(0 if lang == "python" else 1)
        fact = static_fact(s)
        meta.append({"language": lang, "kind": s.kind, "label": label, "category": r["category"],
                     "generic": r["generic"], "package": r["package"], "name": s.name, "file": r["file"],
                     "line": s.line, "column": s.column,
                     "static": [fact.type, fact.rule] if fact else None,
                     "cands": [c.type for c in cands]})  # fmt: skip
    ids = cfg.tokenizer().encode_batch(texts)
    name_tok = encode_names(cfg.tokenizer(), cand_names)
    return {
        "ids": [e.ids[:MAX_TOKENS] for e in ids],
        "cand_counts": cand_counts,
        "cand_tok": name_tok,
        "feats": np.asarray(feats, dtype=np.float16).reshape(-1, N_FEATURES),
        "targets": targets,
        "lang": lang_ids,
        "meta": meta,
    }


def _chunks(it: Iterator[dict[str, Any]], n: int) -> Iterator[list[dict[str, Any]]]:
    buf: list[dict[str, Any]] = []
    for r in it:
        buf.append(r)
        if len(buf) == n:
            yield buf
            buf = []
    if buf:
        yield buf


def encode_split(shards: Path, split: str, model_dir: Path, projects: dict[str, list[ProjectType]],
                 out: Path, jobs: int, drop_imports_p: float) -> int:  # fmt: skip
    ids: list[np.ndarray] = []
    cand_tok, feats, cand_counts, targets, langs = [], [], [], [], []
    n = 0
    start = time.monotonic()
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(str(model_dir), projects)) as pool, \
            open(out / f"{split}.meta.jsonl", "w", encoding="utf-8") as meta_fh:  # fmt: skip
        for lang in LANGS:
            chunks = _chunks(read_split(shards, lang, split), 2000)
            futs = [pool.submit(encode_records, c, drop_imports_p, i) for i, c in enumerate(chunks)]
            for f in futs:
                res = f.result()
                ids.extend(np.asarray(x, dtype=np.int16) for x in res["ids"])
                cand_tok.append(res["cand_tok"])
                feats.append(res["feats"])
                cand_counts.extend(res["cand_counts"])
                targets.extend(res["targets"])
                langs.extend(res["lang"])
                for m in res["meta"]:
                    meta_fh.write(json.dumps(m, ensure_ascii=False) + "\n")
                n += len(res["ids"])
                print(f"\r{split}: {n:,} sites ({time.monotonic() - start:.0f}s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    lens = np.array([len(x) for x in ids], dtype=np.int64)
    np.savez(
        out / f"{split}.npz",
        ids=np.concatenate(ids) if ids else np.zeros(0, np.int16),
        ids_off=np.concatenate([[0], np.cumsum(lens)]),
        cand_tok=np.concatenate(cand_tok) if cand_tok else np.zeros((0, CAND_TOKENS), np.int16),
        feats=np.concatenate(feats) if feats else np.zeros((0, N_FEATURES), np.float16),
        cand_off=np.concatenate([[0], np.cumsum(cand_counts)]),
        tgt=np.array([t for ts in targets for t in ts], dtype=np.int32),
        tgt_off=np.concatenate([[0], np.cumsum([len(t) for t in targets])]),
        lang=np.array(langs, dtype=np.int8),
    )
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--shards", type=Path, default=cache_dir() / "corpus-build" / "shards")
    ap.add_argument("--out", type=Path, default=cache_dir() / "dataset")
    ap.add_argument("--types-per-lang", type=int, default=2000)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--tokenizer-size", type=int, default=8192)
    ap.add_argument("--tokenizer-sample", type=int, default=300_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--drop-imports", type=float, default=0.3,
                    help="share of train sites whose imports are thinned as in unannotated code")  # fmt: skip
    ap.add_argument("--splits", default="train,valid,test")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model_dir = out / "model"
    model_dir.mkdir(exist_ok=True)
    t0 = time.monotonic()
    if not (model_dir / "tokenizer.json").is_file():
        vocab = build_vocab(args.shards, args.types_per_lang, args.min_count)
        (model_dir / "types.json").write_text(json.dumps(vocab, ensure_ascii=False))
        rng = random.Random(0)
        texts = []
        for lang in LANGS:
            recs = list(read_split(args.shards, lang, "train"))
            rng.shuffle(recs)
            for r in recs[: args.tokenizer_sample // 2]:
                s = slice_from_dict(r)
                texts.append(site_text(s))
                texts.extend(e.name for e in s.scope[:20])
        train_tokenizer(texts, args.tokenizer_size, model_dir / "tokenizer.json")
        ModelConfig.create(model_dir)
        print(f"vocabulary and tokenizer: {time.monotonic() - t0:.0f}s", file=sys.stderr)
    projects = project_index(args.shards)
    for split in args.splits.split(","):
        p = args.drop_imports if split == "train" else 0.0
        n = encode_split(args.shards, split, model_dir, projects, out, args.jobs, p)
        print(f"{split}: {n:,} sites", file=sys.stderr)
    print(f"dataset done in {time.monotonic() - t0:.0f}s -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
