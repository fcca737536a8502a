"""Inferred TypeScript labels: the compiler's types of unannotated variables and returns.

Part of `python -m models.corpus build` for npm (skip with `--no-infer`).  For each package,
in a worker process:

    1. slice its `.ts`/`.tsx` files (typeinf.slices) and keep the unannotated, annotatable
       `var` and `return` sites;
    2. run `tsc_types.js` (TypeScript compiler API, `getTypeAtLocation` /
       `getReturnTypeOfSignature`) over the package's sources and shipped `.d.ts` files, held
       in memory, with the compiler's default library; no other dependency is available offline,
       so names imported from other packages come out as `any`;
    3. keep a type when it says something: not `any`/`unknown` (nor containing `any`), no
       `import("...")` paths, at most MAX_LABEL characters; normalise it like a declared label.

The records (same format as declared ones, `inferred: true`) go to one gzip file per package
beside the declared results; the merge writes them to their own shards
(`shards/npm/inferred/<split>-NNNN.jsonl`), with the same file ownership (dedup) as the declared
sites. They never count as declared sites: STATS reports them as `inferred_sites`, the dataset
leaves them out unless asked (`--inferred`), and evaluation reports them apart.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from typeinf.categories import label_category
from typeinf.types import normalize

from .archive import iter_sources
from .slicing import package_slices

SCRIPT = Path(__file__).resolve().with_name("tsc_types.js")
TYPESCRIPT_VERSION = "5.7.2"
MAX_LABEL = 120
NODE_TIMEOUT = 900
_ANY = re.compile(r"\bany\b")


def tools_dir() -> Path:
    base = Path(os.environ.get("TYPEINF_CACHE", Path.home() / ".cache" / "typeinf"))
    return base / "node-tools"


def typescript_dir(install: bool = True) -> Path | None:
    """The `typescript` npm package used for inferred labels (installed under the cache once)."""
    env = os.environ.get("TYPEINF_TYPESCRIPT")
    if env:
        return Path(env)
    d = tools_dir() / "node_modules" / "typescript"
    if (d / "package.json").is_file():
        return d
    if not install or shutil.which("npm") is None or shutil.which("node") is None:
        return None
    tools_dir().mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(tools_dir()),
            f"typescript@{TYPESCRIPT_VERSION}",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"infer: npm install typescript failed: {proc.stderr[-500:]}", file=sys.stderr)
        return None
    return d


def usable(label: str) -> bool:
    """Whether a compiler-inferred type is worth a label."""
    if not label or len(label) > MAX_LABEL or "import(" in label:
        return False
    if label in ("unknown", "never[]", "{}") or _ANY.search(label):
        return False
    return True


def run_tsc(typescript: Path, files: dict[str, str], sites: list[dict[str, Any]]) -> list[str | None]:
    """The compiler's type (or None) for each site, over the given in-memory files."""
    payload = json.dumps({"files": files, "sites": sites})
    proc = subprocess.run(
        ["node", "--max-old-space-size=4096", str(SCRIPT), str(typescript)],
        input=payload,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-800:] or f"node exited with {proc.returncode}")
    out = json.loads(proc.stdout)
    if len(out) != len(sites):
        raise RuntimeError(f"tsc_types.js answered {len(out)} sites of {len(sites)}")
    return out


def inferred_path(result_path: Path) -> Path:
    """Where a package's inferred records go, beside its declared results."""
    return result_path.with_name(result_path.name.replace(".jsonl.gz", ".inferred.jsonl.gz"))


def infer_package(archive: str, out: str, package: str, split: str, typescript: str) -> dict[str, Any]:
    """Inferred records of one npm package, written to `out` (gzip JSONL, one line per file)."""
    start = time.monotonic()
    files = list(iter_sources(archive, "ts", include_dts=True))
    sources = {f.path: f.data.decode("utf-8", "replace") for f in files}
    own = {package}
    per_file: list[tuple[str, str, list[Any]]] = []
    sites: list[dict[str, Any]] = []
    for f, slices in package_slices(files, "ts"):
        if isinstance(slices, Exception):  # the declared build reports these
            continue
        todo = [s for s in slices if s.annotation is None and s.annotatable and s.kind in ("var", "return")]
        if todo:
            per_file.append((f.path, hashlib.sha256(f.data).hexdigest(), todo))
            sites.extend({"file": f.path, "line": s.line, "column": s.column, "kind": s.kind} for s in todo)
    summary: dict[str, Any] = {"package": package, "candidates": len(sites), "sites": 0, "error": None}
    types: list[str | None] = []
    if sites:
        try:
            types = run_tsc(Path(typescript), sources, sites)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            summary["error"] = f"{type(e).__name__}: {e}"[:500]
            types = [None] * len(sites)
    tmp = out + ".tmp"
    k = 0
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=3) as fh:
        for path, file_hash, todo in per_file:
            records = []
            for s in todo:
                raw = types[k]
                k += 1
                if raw is None:
                    continue
                label = normalize(raw, "typescript")
                if not usable(label):
                    continue
                cat, generic, visible = label_category(label, s.language, s.scope, own)
                d = s.to_dict()
                del d["schema"]
                d["scope"] = [x for x in d["scope"] if x["kind"] != "builtin"]
                d.update(
                    package=package,
                    split=split,
                    file_hash=file_hash,
                    label_raw=raw,
                    label=label,
                    category=cat,
                    generic=generic,
                    visible=visible,
                    inferred=True,
                )
                records.append(d)
            summary["sites"] += len(records)
            if records:
                fh.write(
                    json.dumps({"file_hash": file_hash, "path": path, "sites": records}, ensure_ascii=False)
                    + "\n"
                )
    os.replace(tmp, out)
    summary["seconds"] = round(time.monotonic() - start, 1)
    Path(out + ".json").write_text(json.dumps(summary))
    return summary
