"""Command line: ``python -m models.corpus {fetch,select,files,split}``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .fetch import DEFAULT_JOBS, FetchRequest, cache_root, fetch_all, find_cached, human_size, summarize
from .manifest import read_manifest
from .select import DEFAULT_THRESHOLD, run_select
from .split import ECOSYSTEMS, split_of


def _langs(value: str) -> list[str]:
    return list(ECOSYSTEMS) if value == "all" else [value]


def cmd_fetch(args: argparse.Namespace) -> int:
    root = cache_root(args.cache)
    start = time.monotonic()
    failed = 0
    for eco in _langs(args.lang):
        wanted = set(args.names)
        reqs = [
            FetchRequest(eco, p.name, p.version) for p in read_manifest(eco) if not wanted or p.name in wanted
        ]
        print(f"{eco}: {len(reqs)} packages -> {root / eco}", file=sys.stderr)
        results = fetch_all(root, reqs, jobs=args.jobs, label=f"fetch {eco}")
        summarize(results)
        failed += sum(1 for r in results if r.status == "failed")
    print(f"done in {time.monotonic() - start:.0f}s", file=sys.stderr)
    return 1 if failed and args.strict else 0


def cmd_select(args: argparse.Namespace) -> int:
    root = cache_root(args.cache)
    start = time.monotonic()
    run_select(_langs(args.lang), root, args.jobs, threshold=args.threshold, write=not args.dry_run)
    print(f"select done in {time.monotonic() - start:.0f}s", file=sys.stderr)
    return 0


def cmd_files(args: argparse.Namespace) -> int:
    """List the corpus files of cached manifest packages (for inspection)."""
    from .archive import iter_sources

    root = cache_root(args.cache)
    wanted = set(args.names)
    total_size = 0
    for eco in _langs(args.lang):
        for p in read_manifest(eco):
            if wanted and p.name not in wanted:
                continue
            hit = find_cached(root, FetchRequest(eco, p.name, p.version))
            if hit is None:
                print(f"{eco} {p.name}=={p.version}: not in cache", file=sys.stderr)
                continue
            vdir, meta = hit
            archive = vdir / str(meta["file"])
            total_size += archive.stat().st_size
            if not wanted:
                print(f"{eco}\t{p.name}\t{p.version}\t{p.split}\t{archive}")
                continue
            lang = "python" if eco == "python" else "ts"
            for sf in iter_sources(archive, lang, include_dts=args.dts):
                flags = ("d.ts " if sf.dts else "") + ("map " if sf.from_map else "")
                print(f"{p.name}\t{sf.path}\t{len(sf.data)}\t{flags.strip()}")
    if not wanted:
        print(f"{human_size(total_size)} of archives", file=sys.stderr)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    for name in args.names:
        print(f"{name}\t{split_of(name, args.ecosystem)}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .build import default_build_dir, run_build

    root = cache_root(args.cache)
    out = Path(args.out) if args.out else default_build_dir()
    start = time.monotonic()
    run_build(_langs(args.lang), root, out, args.jobs, infer=not args.no_infer)
    print(f"build done in {time.monotonic() - start:.0f}s", file=sys.stderr)
    return 0


def cmd_unpack(args: argparse.Namespace) -> int:
    """Write the corpus files of cached packages to DEST/<name>/ (for strip-and-restore runs)."""
    from .archive import iter_sources

    root = cache_root(args.cache)
    eco = args.ecosystem
    versions = {p.name: p.version for p in read_manifest(eco)}
    for name in args.names:
        hit = find_cached(root, FetchRequest(eco, name, versions.get(name, ""), allow_fallback=True))
        if hit is None:
            print(f"{name}: not in the cache (run fetch)", file=sys.stderr)
            continue
        vdir, meta = hit
        dest = Path(args.dest) / name.replace("/", "__").lstrip("@")
        n = 0
        for f in iter_sources(vdir / str(meta["file"]), "python" if eco == "python" else "ts"):
            out = (dest / f.path).resolve()
            if not out.is_relative_to(dest.resolve()):
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(f.data)
            n += 1
        print(f"{name}: {n} files -> {dest}", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .build import default_build_dir, verify_digests

    out = Path(args.out) if args.out else default_build_dir()
    bad = verify_digests(out / "shards")
    for line in bad:
        print(line, file=sys.stderr)
    print("all shards match DIGESTS.json" if not bad else f"{len(bad)} shards differ", file=sys.stderr)
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m models.corpus", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lang", choices=["python", "npm", "all"], default="all")
        p.add_argument(
            "--cache",
            help="corpus cache directory (default: $TYPEINF_CACHE/corpus or ~/.cache/typeinf/corpus)",
        )

    p = sub.add_parser("fetch", help="download the pinned manifest packages into the cache")
    common(p)
    p.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="parallel downloads (max 8)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any package failed")
    p.add_argument("names", nargs="*", help="only these manifest packages (default: all)")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("select", help="fetch the candidates, count annotated sites, write manifests")
    common(p)
    p.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="parallel downloads (max 8)")
    p.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    p.add_argument("--dry-run", action="store_true", help="count and report, write nothing")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("files", help="list cached packages, or the corpus files of NAMES")
    common(p)
    p.add_argument("names", nargs="*")
    p.add_argument("--dts", action="store_true", help="also list .d.ts files")
    p.set_defaults(func=cmd_files)

    p = sub.add_parser("build", help="slice the cached packages into labelled, deduplicated, capped shards")
    common(p)
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--out", help="build directory (default: $TYPEINF_CACHE/corpus-build)")
    p.add_argument("--no-infer", action="store_true", help="skip the TypeScript compiler's inferred labels")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("unpack", help="write the corpus files of cached packages to a directory")
    p.add_argument("--ecosystem", choices=list(ECOSYSTEMS), default="python")
    p.add_argument("--cache", help="corpus cache directory")
    p.add_argument("--dest", required=True)
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_unpack)

    p = sub.add_parser("verify", help="check the built shards against the committed DIGESTS.json")
    p.add_argument("--out", help="build directory (default: $TYPEINF_CACHE/corpus-build)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("split", help="print the split of package names")
    p.add_argument("--ecosystem", choices=list(ECOSYSTEMS), default="python")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_split)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `files ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
