"""Candidate pruning: fetch the candidates, count annotated sites, write manifests.

Reproducible procedure (``python -m models.corpus select``):

1. read ``candidates_python.txt`` / ``candidates_npm.txt`` (committed; one
   ``name==version`` / ``name@version`` a line, picked by hand from the local
   package lists, see README.md);
2. fetch every candidate into the cache (a pinned version that cannot be
   downloaded falls back to the latest one, and the version actually obtained
   is recorded);
3. count annotated sites per package with :mod:`models.corpus.count` over the
   files :func:`models.corpus.archive.iter_sources` yields (tests, vendored and
   generated files excluded; for npm, ``.d.ts`` counted apart and not towards
   the threshold);
4. drop packages with fewer than ``--threshold`` (default 20) annotated sites,
   and packages whose source bytes are mostly (>= 50 %) identical files
   already in a bigger kept package (re-exports, "slim" twins, bundles);
5. write ``python.toml`` / ``npm.toml`` (split from :func:`split_of`) and
   ``selection.json`` with the per-package counts.

Per-package counts are cached next to the archive (``counts.json``), so a
re-run only costs the downloads that are missing.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .archive import iter_sources
from .count import COUNTER_VERSION, Counts, count_python, count_typescript
from .fetch import FetchRequest, FetchResult, fetch_all, human_size, summarize
from .manifest import CORPUS_DIR, Package, read_candidates, write_manifest
from .split import normalize_name, split_of

DEFAULT_THRESHOLD = 20
DUPLICATE_FRACTION = 0.5
SELECTION_FILE = CORPUS_DIR / "selection.json"


def package_counts(archive: Path, ecosystem: str, use_cache: bool = True) -> dict[str, Any]:
    """Counts of one downloaded archive (cached in ``counts.json`` beside it)."""
    cfile = archive.parent / "counts.json"
    if use_cache and cfile.is_file():
        try:
            cached = json.loads(cfile.read_text(encoding="utf-8"))
            if cached.get("counter_version") == COUNTER_VERSION and cached.get("file") == archive.name:
                return cached
        except (OSError, ValueError):
            pass
    body, dts = Counts(), Counts()
    map_files = 0
    hashes: list[list[Any]] = []
    lang = "python" if ecosystem == "python" else "ts"
    for sf in iter_sources(archive, lang, include_dts=(lang == "ts")):
        if lang == "python":
            c = count_python(sf.data)
        else:
            c = count_typescript(sf.data, tsx=sf.is_tsx)
        if sf.dts:
            dts.add(c)
            continue
        body.add(c)
        map_files += int(sf.from_map)
        hashes.append([hashlib.sha1(sf.data).hexdigest()[:16], len(sf.data)])
    data = {
        "counter_version": COUNTER_VERSION,
        "file": archive.name,
        "body": body.to_dict(),
        "dts": dts.to_dict(),
        "map_files": map_files,
        "hashes": hashes,
    }
    tmp = cfile.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(cfile)
    return data


def _record(res: FetchResult, ecosystem: str) -> dict[str, Any]:
    req = res.request
    rec: dict[str, Any] = {
        "name": req.name,
        "requested": req.version,
        "version": res.version,
        "split": split_of(req.name, ecosystem),
    }
    if not res.available:
        rec.update(status="failed", reason=res.reason)
        return rec
    assert res.archive is not None
    rec.update(archive=res.archive.name, kind=res.kind, size=res.size)
    if res.fallback:
        rec["fallback"] = True
    return rec


def _select_ecosystem(
    ecosystem: str,
    root: Path,
    jobs: int,
    threshold: int,
    candidates_file: Path | None = None,
) -> dict[str, Any]:
    cands = read_candidates(ecosystem, candidates_file)
    reqs = [FetchRequest(ecosystem, n, v, allow_fallback=True) for n, v in cands]
    records: dict[str, dict[str, Any]] = {}
    hashes: dict[str, list[list[Any]]] = {}

    def on_result(res: FetchResult) -> str | None:
        rec = _record(res, ecosystem)
        key = normalize_name(res.request.name, ecosystem)
        records[key] = rec
        if res.available:
            assert res.archive is not None
            try:
                counts = package_counts(res.archive, ecosystem)
            except Exception as exc:  # noqa: BLE001 - a bad archive is skipped
                rec.update(status="failed", reason=f"unreadable archive: {exc}")
                return rec["reason"]
            body, dts = counts["body"], counts["dts"]
            rec.update(
                sites=body["sites"],
                files=body["files"],
                unparsed=body["unparsed"],
                bytes=body["bytes"],
                params=body["params"],
                params_total=body["params_total"],
                returns=body["returns"],
                returns_total=body["returns_total"],
                variables=body["variables"],
                decls=body["decls"],
                fields=body["fields"],
            )
            if ecosystem == "npm":
                rec.update(
                    map_files=counts["map_files"],
                    dts_files=dts["files"],
                    dts_sites=dts["sites"] + dts["signatures"] + dts["fields"],
                )
            hashes[key] = counts["hashes"]
            return f"{body['sites']} sites in {body['files']} files"
        return None

    start = time.monotonic()
    results = fetch_all(root, reqs, jobs=jobs, label=f"select {ecosystem}", on_result=on_result)
    summarize(results)

    # threshold, then cross-package duplicates (biggest packages claim files first)
    eligible = []
    for key, rec in records.items():
        if rec.get("status") == "failed":
            continue
        if rec["sites"] < threshold:
            rec["status"] = "too_few_sites"
        else:
            eligible.append(key)
    eligible.sort(key=lambda k: (-records[k]["sites"], k))
    claimed: dict[str, str] = {}
    for key in eligible:
        rec = records[key]
        total = sum(b for _, b in hashes[key]) or 1
        owners: Counter[str] = Counter()
        dup = 0
        for h, b in hashes[key]:
            if h in claimed:
                dup += b
                owners[claimed[h]] += b
        if dup / total >= DUPLICATE_FRACTION:
            rec["status"] = "duplicate"
            rec["duplicate_of"] = records[owners.most_common(1)[0][0]]["name"]
            continue
        rec["status"] = "kept"
        if dup:
            rec["shared_fraction"] = round(dup / total, 3)
        for h, _ in hashes[key]:
            claimed.setdefault(h, key)

    kept = [r for r in records.values() if r["status"] == "kept"]
    status_counts = Counter(r["status"] for r in records.values())
    totals: dict[str, Any] = {
        "candidates": len(cands),
        "kept": len(kept),
        "by_status": dict(sorted(status_counts.items())),
        "sites": sum(r["sites"] for r in kept),
        "files": sum(r["files"] for r in kept),
        "source_bytes": sum(r["bytes"] for r in kept),
        "download_bytes_all": sum(r.get("size", 0) for r in records.values()),
        "download_bytes_kept": sum(r["size"] for r in kept),
        "splits": {s: sum(1 for r in kept if r["split"] == s) for s in ("train", "valid", "test")},
        "sites_by_split": {
            s: sum(r["sites"] for r in kept if r["split"] == s) for s in ("train", "valid", "test")
        },
    }
    if ecosystem == "npm":
        totals["dts_sites"] = sum(r["dts_sites"] for r in kept)
        totals["dts_files"] = sum(r["dts_files"] for r in kept)
        totals["map_files"] = sum(r["map_files"] for r in kept)
    elapsed = time.monotonic() - start
    print(
        f"{ecosystem}: kept {len(kept)}/{len(cands)} "
        f"({', '.join(f'{v} {k}' for k, v in totals['by_status'].items())}); "
        f"{totals['sites']} annotated sites in {totals['files']} files"
        + (f"; .d.ts apart: {totals['dts_sites']} sites" if ecosystem == "npm" else "")
        + f"; downloads {human_size(totals['download_bytes_all'])}; {elapsed:.0f}s",
        file=sys.stderr,
    )
    packages = sorted(records.values(), key=lambda r: normalize_name(r["name"], ecosystem))
    return {"totals": totals, "packages": packages}


def _dump_selection(data: dict[str, Any]) -> str:
    """JSON with one package per line (readable diffs, modest size)."""
    out = ["{"]
    top = list(data.items())
    for i, (key, value) in enumerate(top):
        comma = "," if i < len(top) - 1 else ""
        if isinstance(value, dict) and "packages" in value:
            out.append(f"  {json.dumps(key)}: {{")
            out.append(f'    "totals": {json.dumps(value["totals"], sort_keys=True)},')
            out.append('    "packages": [')
            pk = value["packages"]
            for j, rec in enumerate(pk):
                out.append(f"      {json.dumps(rec)}{',' if j < len(pk) - 1 else ''}")
            out.append("    ]")
            out.append(f"  }}{comma}")
        else:
            out.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    out.append("}")
    return "\n".join(out) + "\n"


def _load_selection(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def run_select(
    ecosystems: Sequence[str],
    root: Path,
    jobs: int,
    threshold: int = DEFAULT_THRESHOLD,
    write: bool = True,
    selection_file: Path = SELECTION_FILE,
) -> dict[str, Any]:
    """Run the selection for ``ecosystems``; write manifests and selection.json."""
    results: dict[str, Any] = {}
    for eco in ecosystems:
        result = _select_ecosystem(eco, root, jobs, threshold)
        results[eco] = result
        if write:
            kept = [
                Package(r["name"], r["version"], r["split"], eco)
                for r in result["packages"]
                if r["status"] == "kept"
            ]
            header = (
                "Pinned training-corpus packages. Generated by `python -m models.corpus select`\n"
                f"from candidates_{eco}.txt: packages with >= {threshold} annotated sites\n"
                "(see selection.json for the counts). Edit the candidate list, not this file."
            )
            path = write_manifest(eco, kept, header=header)
            print(f"wrote {path}", file=sys.stderr)
    # re-read just before writing: another ecosystem may have been selected meanwhile
    selection = _load_selection(selection_file)
    selection.update(results, threshold=threshold, counter_version=COUNTER_VERSION)
    ordered = {k: selection[k] for k in ("threshold", "counter_version", "python", "npm") if k in selection}
    if write:
        selection_file.write_text(_dump_selection(ordered), encoding="utf-8")
        print(f"wrote {selection_file}", file=sys.stderr)
    return ordered
