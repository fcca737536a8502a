"""`python -m models.corpus build`: labelled usage slices from the cached packages.

    1. slice   every package in a worker process (typeinf.slices over every corpus file of
               its archive); results go to one gzip file per package under the build
               directory, so an interrupted build resumes where it stopped;
    2. dedup   a file whose content appears in several packages is kept once, in the package
               with the smallest normalised name (independent of manifest order), so it is
               never in two splits;
    3. infer   (npm) the TypeScript compiler's types of unannotated variables and returns,
               extra labels marked `inferred` (infer.py; resumable; `--no-infer` skips it);
    4. cap     no package contributes more than 2% of a language's declared sites (the sites
               kept are chosen by a hash of their position, so the choice is stable; inferred
               sites are capped alike, apart);
    5. write   sharded JSONL per language and split (inferred ones under `inferred/`), a sha256
               digest per shard, and the statistics (STATS.json / STATS.md).

Each record is a slice (`typeinf slices` format, builtin scope entries left out: they are the
same for every site) plus `package`, `split`, `file_hash`, `label_raw` (the annotation as
written), `label` (typeinf.types.normalize), `category`, `generic`, `visible`, `inferred`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typeinf.categories import label_category
from typeinf.types import normalize

from .archive import iter_sources
from .count import count_typescript
from .fetch import FetchRequest, find_cached
from .manifest import read_manifest
from .slicing import language_of, package_slices
from .split import SPLITS, normalize_name

BUILD_VERSION = 3  # 2: the evidence of the package's calls (Evidence.arguments, ...); 3: a Python module's
# `X = Union[...]` aliases in its sites' scope (typeinf.slices.type_expressions)
CAP_SHARE = 0.02
SHARD_SIZE = 25_000
CORPUS_DIR = Path(__file__).resolve().parent
LANG_OF_ECO = {"python": "python", "npm": "typescript"}


@dataclass(frozen=True)
class Job:
    ecosystem: str
    name: str
    version: str
    split: str
    archive: str
    out: str


def _own_modules(paths: list[str], ecosystem: str, name: str) -> set[str]:
    """The package's own top-level modules (imports from them are user-defined)."""
    if ecosystem == "npm":
        return {name}
    own = set()
    for p in paths:
        parts = p.split("/")
        if parts[0] in ("src", "lib") and len(parts) > 1:
            parts = parts[1:]
        top = parts[0]
        own.add(top[:-3] if top.endswith(".py") else top)
    return own


def slice_package(job: Job) -> dict[str, Any]:
    """Slice one package's archive into its per-package result file; returns its summary."""
    start = time.monotonic()
    lang = "python" if job.ecosystem == "python" else "ts"
    files = list(iter_sources(job.archive, lang, include_dts=job.ecosystem == "npm"))
    own = _own_modules([f.path for f in files if not f.dts], job.ecosystem, job.name)
    key = normalize_name(job.name, job.ecosystem)
    summary: dict[str, Any] = {
        "package": key,
        "files": 0,
        "sites": 0,
        "unlabelled": 0,
        "dts_sites": sum(count_typescript(f.data, f.is_tsx).sites for f in files if f.dts),
        "errors": 0,
        "index": [],
    }
    tmp = job.out + ".tmp"
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as fh:
        for f, slices in package_slices(files, lang):
            language = language_of(f, lang)
            if isinstance(slices, Exception):
                summary["errors"] += 1
                print(f"build: {key}:{f.path}: {type(slices).__name__}: {slices}", file=sys.stderr)
                continue
            file_hash = hashlib.sha256(f.data).hexdigest()
            records = []
            for s in slices:
                if not s.annotation:
                    summary["unlabelled"] += 1
                    continue
                label = normalize(s.annotation, "python" if language == "python" else "typescript")
                cat, generic, visible = label_category(label, language, s.scope, own)
                d = s.to_dict()
                del d["schema"]
                d["scope"] = [x for x in d["scope"] if x["kind"] != "builtin"]
                d.update(
                    package=key,
                    split=job.split,
                    file_hash=file_hash,
                    label_raw=s.annotation,
                    label=label,
                    category=cat,
                    generic=generic,
                    visible=visible,
                    inferred=False,
                )
                records.append(d)
            summary["files"] += 1
            summary["sites"] += len(records)
            summary["index"].append([file_hash, f.path, len(records)])
            fh.write(
                json.dumps({"file_hash": file_hash, "path": f.path, "sites": records}, ensure_ascii=False)
                + "\n"
            )
    os.replace(tmp, job.out)
    summary["seconds"] = round(time.monotonic() - start, 1)
    Path(job.out + ".json").write_text(json.dumps(summary))
    return summary


def _result_path(build_dir: Path, ecosystem: str, name: str, version: str) -> Path:
    safe = normalize_name(name, ecosystem).replace("/", "__").replace("@", "")
    return build_dir / ecosystem / "packages" / f"{safe}-{version}.v{BUILD_VERSION}.jsonl.gz"


def run_slicing(ecosystem: str, root: Path, build_dir: Path, jobs: int) -> list[tuple[Any, Path]]:
    """Slice every manifest package that is cached (resuming); returns (package, result path)."""
    (build_dir / ecosystem / "packages").mkdir(parents=True, exist_ok=True)
    todo: list[Job] = []
    done: list[tuple[Any, Path]] = []
    missing = []
    for p in read_manifest(ecosystem):
        hit = find_cached(root, FetchRequest(ecosystem, p.name, p.version, allow_fallback=True))
        if hit is None:
            missing.append(p.spec)
            continue
        vdir, meta = hit
        out = _result_path(build_dir, ecosystem, p.name, str(meta.get("version", p.version)))
        done.append((p, out))
        if not Path(str(out) + ".json").is_file():
            todo.append(Job(ecosystem, p.name, p.version, p.split, str(vdir / str(meta["file"])), str(out)))
    if missing:
        print(
            f"build {ecosystem}: {len(missing)} packages not in the cache (run fetch): "
            f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}",
            file=sys.stderr,
        )
    print(
        f"build {ecosystem}: {len(done) - len(todo)} packages already sliced, {len(todo)} to go",
        file=sys.stderr,
    )
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(slice_package, j): j for j in todo}
        for i, fut in enumerate(as_completed(futures), 1):
            j = futures[fut]
            try:
                s = fut.result()
                msg = f"{s['sites']} sites, {s['files']} files, {s['seconds']}s"
            except Exception as e:  # noqa: BLE001
                msg = f"FAILED {type(e).__name__}: {e}"
            el = time.monotonic() - start
            print(f"\r[{i}/{len(todo)} {el:.0f}s] {j.name}: {msg}".ljust(100), file=sys.stderr)
    return [(p, out) for p, out in done if Path(str(out) + ".json").is_file()]


def run_inference(root: Path, build_dir: Path, jobs: int) -> None:
    """Inferred TypeScript labels for every sliced npm package (resuming; see infer.py)."""
    from .infer import infer_package, inferred_path, typescript_dir

    typescript = typescript_dir()
    if typescript is None:
        print("build npm: no TypeScript compiler (node/npm missing): no inferred labels", file=sys.stderr)
        return
    todo = []
    for p in read_manifest("npm"):
        hit = find_cached(root, FetchRequest("npm", p.name, p.version, allow_fallback=True))
        if hit is None:
            continue
        vdir, meta = hit
        out = inferred_path(_result_path(build_dir, "npm", p.name, str(meta.get("version", p.version))))
        if not Path(str(out) + ".json").is_file():
            todo.append((str(vdir / str(meta["file"])), str(out), normalize_name(p.name, "npm"), p.split))
    print(f"build npm: inferring types in {len(todo)} packages", file=sys.stderr)
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(infer_package, *job, str(typescript)): job for job in todo}
        for i, fut in enumerate(as_completed(futures), 1):
            name = futures[fut][2]
            try:
                r = fut.result()
                msg = f"{r['sites']} of {r['candidates']} sites, {r['seconds']}s" + (
                    f" ({r['error'][:80]})" if r["error"] else ""
                )
            except Exception as e:  # noqa: BLE001 - one package never stops the build
                msg = f"FAILED {type(e).__name__}: {e}"
            print(
                f"\r[{i}/{len(todo)} {time.monotonic() - start:.0f}s] {name}: {msg}".ljust(100),
                file=sys.stderr,
            )


def _read_records(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _site_rank(rec: dict[str, Any]) -> str:
    return hashlib.sha256(
        f"{rec['file_hash']}:{rec['line']}:{rec['column']}:{rec['kind']}".encode()
    ).hexdigest()


def _cap(counts: dict[str, int], share: float) -> int:
    """The largest per-package cap c with c <= share * sum(min(n, c))."""
    lo, hi = 0, max(counts.values(), default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid <= share * sum(min(n, mid) for n in counts.values()):
            lo = mid
        else:
            hi = mid - 1
    return lo


def merge(ecosystem: str, packages: list[tuple[Any, Path]], out_dir: Path) -> dict[str, Any]:
    """Dedup, cap and write the shards of one language; returns its statistics."""
    summaries = {p.name: json.loads(Path(str(path) + ".json").read_text()) for p, path in packages}
    owner: dict[str, str] = {}
    for p, _ in packages:
        key = normalize_name(p.name, ecosystem)
        for file_hash, _path, _n in summaries[p.name]["index"]:
            if file_hash not in owner or key < owner[file_hash]:
                owner[file_hash] = key
    counts: dict[str, int] = {}
    kept_files: dict[str, int] = {}
    for p, _ in packages:
        key = normalize_name(p.name, ecosystem)
        seen: set[str] = set()
        n = 0
        for file_hash, _path, nsites in summaries[p.name]["index"]:
            if owner[file_hash] == key and file_hash not in seen:
                seen.add(file_hash)
                n += nsites
        counts[key] = n
        kept_files[key] = len(seen)
    cap = _cap(counts, CAP_SHARE)
    write_file_index(ecosystem, {normalize_name(p.name, ecosystem): p.split for p, _ in packages}, owner)
    lang_dir = out_dir / ecosystem
    lang_dir.mkdir(parents=True, exist_ok=True)
    for old in lang_dir.glob("*.jsonl"):
        old.unlink()
    writers: dict[str, _ShardWriter] = {s: _ShardWriter(lang_dir, s) for s in SPLITS}
    (lang_dir / "inferred").mkdir(exist_ok=True)
    for old in (lang_dir / "inferred").glob("*.jsonl"):
        old.unlink()
    inferred_writers = {s: _ShardWriter(lang_dir / "inferred", s, "inferred/") for s in SPLITS}
    stats = _Stats(ecosystem)
    for p, path in sorted(packages, key=lambda x: normalize_name(x[0].name, ecosystem)):
        key = normalize_name(p.name, ecosystem)
        recs: list[dict[str, Any]] = []
        seen = set()
        for line in _read_records(path):
            fh = line["file_hash"]
            if owner.get(fh) != key or fh in seen:
                continue
            seen.add(fh)
            recs.extend(line["sites"])
        _renormalize(recs, LANG_OF_ECO[ecosystem])
        if len(recs) > cap:
            chosen = {id(r) for r in sorted(recs, key=_site_rank)[:cap]}
            recs = [r for r in recs if id(r) in chosen]
        stats.add_package(p.split, kept_files[key], recs, summaries[p.name])
        for r in recs:
            writers[p.split].write(r)
        inferred = _inferred_records(path, owner, key)
        _renormalize(inferred, "typescript")
        if len(inferred) > cap:
            chosen = {id(r) for r in sorted(inferred, key=_site_rank)[:cap]}
            inferred = [r for r in inferred if id(r) in chosen]
        stats.add_inferred(p.split, inferred)
        for r in inferred:
            inferred_writers[p.split].write(r)
    digests = {}
    for w in [*writers.values(), *inferred_writers.values()]:
        w.close()
        digests.update(w.digests)
    result = stats.finish()
    result["cap_per_package"] = cap
    result["digests"] = digests
    return result


def _renormalize(recs: list[dict[str, Any]], language: str) -> None:
    """Labels with the current normaliser (package results keep the one they were sliced with)."""
    for r in recs:
        r["label"] = normalize(r["label_raw"], language)


def _inferred_records(path: Path, owner: dict[str, str], key: str) -> list[dict[str, Any]]:
    """A package's inferred records (infer.py) for the files it owns, once per file."""
    from .infer import inferred_path

    ipath = inferred_path(path)
    if not ipath.is_file():
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in _read_records(ipath):
        fh = line["file_hash"]
        if owner.get(fh) == key and fh not in seen:
            seen.add(fh)
            out.extend(line["sites"])
    return out


def write_file_index(ecosystem: str, splits: dict[str, str], owner: dict[str, str]) -> None:
    """models/corpus/files-<ecosystem>.tsv: each kept file's hash (first 16 hex digits), its package
    and split, sorted; what the split-disjointness test reads."""
    rows = sorted(f"{h[:16]}\t{pkg}\t{splits[pkg]}" for h, pkg in owner.items())
    (CORPUS_DIR / f"files-{ecosystem}.tsv").write_text("hash\tpackage\tsplit\n" + "\n".join(rows) + "\n")


class _ShardWriter:
    def __init__(self, directory: Path, split: str, prefix: str = "") -> None:
        self.dir, self.split, self.prefix = directory, split, prefix
        self.n = 0
        self.shard = -1
        self.fh: Any = None
        self.hash: Any = None
        self.digests: dict[str, str] = {}

    def _open(self) -> None:
        self.close()
        self.shard += 1
        self.fh = open(self.dir / f"{self.split}-{self.shard:04d}.jsonl", "wb")
        self.hash = hashlib.sha256()

    def write(self, rec: dict[str, Any]) -> None:
        if self.fh is None or self.n % SHARD_SIZE == 0:
            self._open()
        data = (json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        self.fh.write(data)
        self.hash.update(data)
        self.n += 1

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.digests[f"{self.prefix}{self.split}-{self.shard:04d}.jsonl"] = self.hash.hexdigest()
            self.fh = None


class _Stats:
    def __init__(self, ecosystem: str) -> None:
        self.eco = ecosystem
        self.splits: dict[str, dict[str, Any]] = {}
        self.all_labels: Counter[str] = Counter()

    def add_package(
        self, split: str, files: int, recs: list[dict[str, Any]], summary: dict[str, Any]
    ) -> None:
        s = self.splits.setdefault(
            split,
            {
                "packages": 0,
                "files": 0,
                "sites": 0,
                "by_kind": Counter(),
                "labels": Counter(),
                "category": Counter(),
                "generic": 0,
                "user_defined_visible": 0,
                "dts_sites": 0,
                "inferred": Counter(),
            },
        )
        s["packages"] += 1 if recs else 0
        s["files"] += files
        s["sites"] += len(recs)
        s["dts_sites"] += summary.get("dts_sites", 0)
        for r in recs:
            s["by_kind"][r["kind"]] += 1
            s["labels"][r["label"]] += 1
            s["category"][r["category"]] += 1
            s["generic"] += r["generic"]
            if r["category"] == "user-defined" and r["visible"]:
                s["user_defined_visible"] += 1
            self.all_labels[r["label"]] += 1

    def add_inferred(self, split: str, recs: list[dict[str, Any]]) -> None:
        """Compiler-inferred labels: counted apart, by kind, never as declared sites."""
        s = self.splits[split]
        for r in recs:
            s["inferred"][r["kind"]] += 1

    @staticmethod
    def _summ(s: dict[str, Any]) -> dict[str, Any]:
        n = max(1, s["sites"])
        top = [c for _, c in s["labels"].most_common(1000)]
        ud = s["category"].get("user-defined", 0)
        return {
            "packages": s["packages"],
            "files": s["files"],
            "sites": s["sites"],
            "by_kind": dict(sorted(s["by_kind"].items())),
            "inferred_sites": sum(s["inferred"].values()),
            "inferred_by_kind": dict(sorted(s["inferred"].items())),
            "dts_sites": s["dts_sites"],
            "distinct_types": len(s["labels"]),
            "top10_share": round(sum(top[:10]) / n, 4),
            "top100_share": round(sum(top[:100]) / n, 4),
            "top1000_share": round(sum(top[:1000]) / n, 4),
            "category_share": {
                k: round(s["category"].get(k, 0) / n, 4) for k in ("builtin", "third-party", "user-defined")
            },
            "generic_share": round(s["generic"] / n, 4),
            "user_defined_visible_share": round(s["user_defined_visible"] / max(1, ud), 4),
        }

    def finish(self) -> dict[str, Any]:
        total: dict[str, Any] = {
            "packages": 0,
            "files": 0,
            "sites": 0,
            "by_kind": Counter(),
            "labels": self.all_labels,
            "category": Counter(),
            "generic": 0,
            "user_defined_visible": 0,
            "dts_sites": 0,
            "inferred": Counter(),
        }
        for s in self.splits.values():
            total["inferred"].update(s["inferred"])
            for k in ("packages", "files", "sites", "generic", "user_defined_visible", "dts_sites"):
                total[k] += s[k]
            total["by_kind"].update(s["by_kind"])
            total["category"].update(s["category"])
        out = self._summ(total)
        out["splits"] = {k: self._summ(v) for k, v in sorted(self.splits.items())}
        out["top_types"] = self.all_labels.most_common(30)
        return out


def default_build_dir() -> Path:
    base = Path(os.environ.get("TYPEINF_CACHE", Path.home() / ".cache" / "typeinf"))
    return base / "corpus-build"


def write_stats(results: dict[str, dict[str, Any]]) -> None:
    """STATS.json, STATS.md and DIGESTS.json beside the manifests (merging languages built before)."""
    stats_path = CORPUS_DIR / "STATS.json"
    dig_path = CORPUS_DIR / "DIGESTS.json"
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    digests = json.loads(dig_path.read_text()) if dig_path.is_file() else {}
    for eco, res in results.items():
        lang = LANG_OF_ECO[eco]
        digests[lang] = res.pop("digests")
        stats[lang] = res
    stats_path.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
    dig_path.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    (CORPUS_DIR / "STATS.md").write_text(render_stats_md(stats))


def render_stats_md(stats: dict[str, Any]) -> str:
    lines = [
        "# Corpus statistics",
        "",
        "Generated by `python -m models.corpus build` (declared labels after dedup and the per-package cap;",
        "`.d.ts` sites are counted apart and not used; *inferred sites* are TypeScript variables and returns",
        "without an annotation, labelled with the compiler's inferred type (models/corpus/infer.py): extra",
        "labels, never counted in *sites*). Categories as in `typeinf/categories.py`.",
        "",
    ]
    head = (
        "| language | split | packages | files | sites | param | return | var | inferred sites | .d.ts sites "
        "| distinct types | top-10 | top-100 | top-1000 | builtin | third-party | user-defined | generic "
        "| user-defined in scope |"
    )
    lines += [head, "|" + "---|" * 19]
    for lang, st in sorted(stats.items()):
        rows = [("all", st)] + sorted(st.get("splits", {}).items())
        for split, s in rows:
            k = s["by_kind"]
            c = s["category_share"]
            lines.append(
                f"| {lang} | {split} | {s['packages']} | {s['files']} | {s['sites']:,} | {k.get('param', 0):,} "
                f"| {k.get('return', 0):,} | {k.get('var', 0):,} | {s.get('inferred_sites', 0):,} "
                f"| {s['dts_sites']:,} | {s['distinct_types']:,} "
                f"| {s['top10_share']:.1%} | {s['top100_share']:.1%} | {s['top1000_share']:.1%} "
                f"| {c['builtin']:.1%} | {c['third-party']:.1%} | {c['user-defined']:.1%} "
                f"| {s['generic_share']:.1%} | {s['user_defined_visible_share']:.1%} |"
            )
    for lang, st in sorted(stats.items()):
        lines += [
            "",
            f"Most frequent {lang} types: " + ", ".join(f"`{t}` ({n:,})" for t, n in st["top_types"][:20]),
        ]
    return "\n".join(lines) + "\n"


def verify_digests(shards: Path) -> list[str]:
    """Shards whose sha256 differs from DIGESTS.json (or that are missing); empty when all match."""
    digests = json.loads((CORPUS_DIR / "DIGESTS.json").read_text())
    bad = []
    for lang, files in digests.items():
        eco = "python" if lang == "python" else "npm"
        for name, want in sorted(files.items()):
            path = shards / eco / name
            if not path.is_file():
                bad.append(f"{eco}/{name}: missing")
                continue
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            if h.hexdigest() != want:
                bad.append(f"{eco}/{name}: sha256 differs")
    return bad


def run_build(
    ecosystems: list[str], root: Path, build_dir: Path, jobs: int, infer: bool = True
) -> dict[str, Any]:
    results = {}
    for eco in ecosystems:
        packages = run_slicing(eco, root, build_dir, jobs)
        if eco == "npm" and infer:
            run_inference(root, build_dir, jobs)
        start = time.monotonic()
        results[eco] = merge(eco, packages, build_dir / "shards")
        print(
            f"build {eco}: merged in {time.monotonic() - start:.0f}s: {results[eco]['sites']:,} sites "
            f"-> {build_dir / 'shards' / eco}",
            file=sys.stderr,
        )
    write_stats(results)
    return results
