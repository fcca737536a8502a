"""Model-ready arrays from the corpus shards: `python -m models.dataset`.

    vocabulary   the most frequent normalised labels of the train split, per language
    tokenizer    byte-level BPE (the `tokenizers` library) trained on train-split site texts
    arrays       per split: token ids, local candidates (name tokens + features), targets

Uses typeinf.inference.features (the same code as prediction time) for the site text and candidates.
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

from typeinf.inference.encoding import CAND_TOKENS, MAX_TOKENS, ModelConfig, encode_names
from typeinf.inference.features import N_FEATURES, ProjectType, site_text
from typeinf.inference.project import module_name
from typeinf.inference.scorer import features
from typeinf.inference.static import static_fact
from typeinf.slices import slice_from_dict

LANGS = ("python", "typescript")
ECO_OF = {"python": "python", "typescript": "npm"}


def cache_dir() -> Path:
    return Path(os.environ.get("TYPEINF_CACHE", Path.home() / ".cache" / "typeinf"))


def read_split(shards: Path, lang: str, split: str) -> Iterator[dict[str, Any]]:
    for p in sorted((shards / ECO_OF[lang]).glob(f"{split}-*.jsonl")):
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


def _scan_shard(path: str, lang: str) -> tuple[dict[str, dict[str, tuple[str, str]]], Counter[str]]:
    """Per package, the types its files define; and the label counts of the shard."""
    index: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    labels: Counter[str] = Counter()
    seen_files: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            labels[r["label"]] += 1
            if r["file_hash"] in seen_files:
                continue
            seen_files.add(r["file_hash"])
            mod = module_name(Path(r["file"]), Path("."), lang)
            for e in r["scope"]:
                if e["kind"] in ("class", "alias", "interface", "enum"):
                    index[r["package"]].setdefault(e["name"], (e["kind"], mod))
    return dict(index), labels


def scan_corpus(shards: Path, jobs: int = 2) -> tuple[dict[str, list[ProjectType]], dict[str, Counter[str]]]:
    """Project index (per package: the classes, aliases, interfaces and enums its files define)
    and the train-split label counts per language, scanning the shards in parallel."""
    index: dict[str, dict[str, ProjectType]] = defaultdict(dict)
    labels: dict[str, Counter[str]] = {lang: Counter() for lang in LANGS}
    tasks = [(str(p), lang) for lang in LANGS for p in sorted((shards / ECO_OF[lang]).glob("*.jsonl"))]
    with ProcessPoolExecutor(jobs) as pool:
        for (path, lang), (idx, counts) in zip(
            tasks, pool.map(_scan_shard, *zip(*tasks, strict=True)), strict=True
        ):
            if Path(path).name.startswith("train-"):
                labels[lang].update(counts)
            for pkg, types in idx.items():
                for name, (kind, mod) in types.items():
                    index[pkg].setdefault(name, ProjectType(name, kind, mod))
    return {k: list(v.values()) for k, v in index.items()}, labels


def project_index(shards: Path) -> dict[str, list[ProjectType]]:
    return scan_corpus(shards, jobs=1)[0]


def build_vocab(labels: dict[str, Counter[str]], per_lang: int, min_count: int) -> dict[str, list[str]]:
    return {
        lang: [t for t, n in labels[lang].most_common(per_lang) if n >= min_count and t] for lang in LANGS
    }


def train_tokenizer(texts: list[str], size: int, out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=size,
        min_frequency=3,
        special_tokens=["<pad>", "<cls>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    tok.save(str(out))


# ---------------------------------------------------------------------------- encoding
_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: str, projects: dict[str, list[ProjectType]]) -> None:
    cfg = ModelConfig.load(Path(model_dir))
    _WORKER.update(cfg=cfg, projects=projects)


def encode_records(
    recs: list[dict[str, Any]], drop_imports_p: float = 0.0, seed: int = 0, calls: bool = True
) -> dict[str, Any]:
    """Arrays for a chunk of records (runs in a worker process).  `calls=False`: without the
    evidence of the package's calls (Evidence.arguments, callee_params, result_uses), as a model
    before them read its sites (an ablation)."""
    cfg: ModelConfig = _WORKER["cfg"]
    projects: dict[str, list[ProjectType]] = _WORKER["projects"]
    rng = random.Random(seed)
    texts, cand_counts, cand_names, feats, targets, lang_ids, meta = [], [], [], [], [], [], []
    for r in recs:
        s = slice_from_dict(r)
        if not calls:
            s.evidence.arguments, s.evidence.callee_params, s.evidence.result_uses = [], [], []
        lang = "python" if s.language == "python" else "typescript"
        if drop_imports_p and rng.random() < drop_imports_p:
            # unannotated code imports fewer types: hide imports the window does not use
            s.scope = [e for e in s.scope if e.kind != "import" or e.name in s.evidence.window]
        text, cands = features(s, projects.get(r["package"], []))
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
        meta.append(
            {
                "language": lang,
                "kind": s.kind,
                "label": label,
                "category": r["category"],
                "generic": r["generic"],
                "package": r["package"],
                "name": s.name,
                "file": r["file"],
                "line": s.line,
                "column": s.column,
                "static": [fact.type, fact.rule] if fact else None,
                "inferred": bool(r.get("inferred")),
                "cands": [c.type for c in cands],
            }
        )
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


def _chunk_offsets(path: Path, size: int) -> list[tuple[int, int]]:
    """(byte offset, line count) of consecutive chunks of `size` lines."""
    out = []
    with open(path, "rb") as fh:
        while True:
            start = fh.tell()
            n = 0
            while n < size and fh.readline():
                n += 1
            if n == 0:
                return out
            out.append((start, n))


def encode_chunk(
    path: str, offset: int, count: int, drop_imports_p: float, seed: int, calls: bool = True
) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        fh.seek(offset)
        recs = [json.loads(fh.readline()) for _ in range(count)]
    return encode_records(recs, drop_imports_p, seed, calls)


def shard_files(shards: Path, split: str, inferred: bool = False) -> list[Path]:
    """The split's shards per language; with `inferred`, also the compiler-inferred TypeScript labels."""
    files = [p for lang in LANGS for p in sorted((shards / ECO_OF[lang]).glob(f"{split}-*.jsonl"))]
    if inferred:
        files += sorted((shards / ECO_OF["typescript"] / "inferred").glob(f"{split}-*.jsonl"))
    return files


def encode_split(
    shards: Path,
    split: str,
    model_dir: Path,
    projects: dict[str, list[ProjectType]],
    out: Path,
    jobs: int,
    drop_imports_p: float,
    share: float = 1.0,
    inferred: bool = False,
    calls: bool = True,
) -> int:
    ids: list[np.ndarray] = []
    cand_tok, feats, cand_counts, targets, langs = [], [], [], [], []
    n = 0
    start = time.monotonic()
    tasks = [
        (str(p), off, cnt)
        for p in shard_files(shards, split, inferred)
        for off, cnt in _chunk_offsets(p, 2000)
    ]
    if share < 1.0:  # a fixed, evenly spread subset of the chunks
        tasks = [t for i, t in enumerate(tasks) if (i * 37) % 100 < share * 100]
    with (
        ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(str(model_dir), projects)) as pool,
        open(out / f"{split}.meta.jsonl", "w", encoding="utf-8") as meta_fh,
    ):
        futs = [
            pool.submit(encode_chunk, p, off, cnt, drop_imports_p, i, calls)
            for i, (p, off, cnt) in enumerate(tasks)
        ]
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


def refresh_static(shards: Path, out: Path, split: str, inferred: bool) -> int:
    """Recompute the meta's static facts (typeinf.inference.static) after a rule changed, without
    re-encoding: the facts are not model inputs, only evaluation and calibration read them."""
    path = out / f"{split}.meta.jsonl"
    tmp = path.with_suffix(".tmp")
    changed = 0
    with open(path, encoding="utf-8") as old, open(tmp, "w", encoding="utf-8") as new:
        for p in shard_files(shards, split, inferred):
            with open(p, encoding="utf-8") as fh:
                for line in fh:
                    s = slice_from_dict(json.loads(line))
                    m = json.loads(old.readline() or "null")
                    if m is None or (m["name"], m["line"], m["kind"]) != (s.name, s.line, s.kind):
                        tmp.unlink()
                        raise SystemExit(
                            f"{path}: does not follow the shards at {p.name} ({s.name}:{s.line}); "
                            "rebuild the split instead"
                        )
                    fact = static_fact(s)
                    static = [fact.type, fact.rule] if fact else None
                    changed += static != m["static"]
                    m["static"] = static
                    new.write(json.dumps(m, ensure_ascii=False) + "\n")
        if old.readline():
            tmp.unlink()
            raise SystemExit(f"{path}: has more sites than the shards; rebuild the split instead")
    tmp.replace(path)
    return changed


def _tokenizer_texts(shards: Path, n: int) -> list[str]:
    """Site texts (and scope names) of a sample of train records: a chunk from each shard."""
    texts: list[str] = []
    files = [p for lang in LANGS for p in sorted((shards / ECO_OF[lang]).glob("train-*.jsonl"))]
    per_file = max(1, n // max(1, len(files)))
    for p in files:
        with open(p, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= per_file:
                    break
                s = slice_from_dict(json.loads(line))
                texts.append(site_text(s))
                texts.extend(e.name for e in s.scope[:20])
    return texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--shards", type=Path, default=cache_dir() / "corpus-build" / "shards")
    ap.add_argument("--out", type=Path, default=cache_dir() / "dataset")
    ap.add_argument("--types-per-lang", type=int, default=2000)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--tokenizer-size", type=int, default=8192)
    ap.add_argument("--tokenizer-sample", type=int, default=300_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--drop-imports",
        type=float,
        default=0.3,
        help="share of train sites whose imports are thinned as in unannotated code",
    )
    ap.add_argument("--splits", default="train,valid,test")
    ap.add_argument(
        "--inferred",
        default="valid,test",
        help="splits that also encode compiler-inferred TypeScript labels (meta `inferred`; "
        "evaluation reports them apart); '' for none",
    )
    ap.add_argument(
        "--train-share",
        type=float,
        default=1.0,
        help="encode only this share of the train split (chunks chosen evenly)",
    )
    ap.add_argument(
        "--without-calls",
        dest="calls",
        action="store_false",
        help="leave out the evidence of the package's calls (the ablation of a model that never read it)",
    )
    ap.add_argument(
        "--refresh-static",
        action="store_true",
        help="only recompute the static facts in the splits' meta (after a rule in typeinf.inference.static changed)",
    )
    args = ap.parse_args(argv)
    out: Path = args.out
    if args.refresh_static:
        for split in args.splits.split(","):
            n = refresh_static(args.shards, out, split, split in args.inferred.split(","))
            print(f"{split}: {n:,} static facts changed", file=sys.stderr)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    model_dir = out / "model"
    model_dir.mkdir(exist_ok=True)
    t0 = time.monotonic()
    projects, labels = scan_corpus(args.shards, args.jobs)
    print(f"scanned the corpus: {time.monotonic() - t0:.0f}s", file=sys.stderr)
    if not (model_dir / "tokenizer.json").is_file():
        vocab = build_vocab(labels, args.types_per_lang, args.min_count)
        (model_dir / "types.json").write_text(json.dumps(vocab, ensure_ascii=False))
        train_tokenizer(
            _tokenizer_texts(args.shards, args.tokenizer_sample),
            args.tokenizer_size,
            model_dir / "tokenizer.json",
        )
        ModelConfig.create(model_dir)
        print(f"vocabulary and tokenizer: {time.monotonic() - t0:.0f}s", file=sys.stderr)
    for split in args.splits.split(","):
        p = args.drop_imports if split == "train" else 0.0
        n = encode_split(
            args.shards,
            split,
            model_dir,
            projects,
            out,
            args.jobs,
            p,
            args.train_share if split == "train" else 1.0,
            inferred=split in args.inferred.split(","),
            calls=args.calls,
        )
        print(f"{split}: {n:,} sites", file=sys.stderr)
    print(f"dataset done in {time.monotonic() - t0:.0f}s -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
