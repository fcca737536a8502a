"""The TypeScript compiler's part in annotate: `.d.ts` stubs (`typeinf annotate --stubs DIR`) and the
check that an annotated file has no syntax error its original had not (`syntax_regressions`).

Declaration emit is the compiler's job: the annotated sources are handed to `dts_emit.js`
in memory (the project itself is not touched) and the compiler writes their declarations, with
imports resolved from the project's own node_modules.  Needs `node` and the `typescript`
package: `$TYPEINF_TYPESCRIPT` (read once at the edge, by `typescript_from_env`, and passed
down), else the project's own (node_modules/typescript), else the one of a `tsc` on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

SCRIPT = Path(__file__).resolve().with_name("dts_emit.js")
SYNTAX_SCRIPT = Path(__file__).resolve().with_name("ts_syntax.js")


class NoCompiler(RuntimeError):
    pass


def typescript_from_env(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The `typescript` package the environment names (TYPEINF_TYPESCRIPT), if any."""
    env = environ.get("TYPEINF_TYPESCRIPT")
    return Path(env) if env else None


def find_typescript(root: Path, configured: Path | None = None) -> Path:
    """The `typescript` package directory to run: the configured one, else the project's, else
    the one of a `tsc` on PATH."""
    candidates = []
    if configured is not None:
        candidates.append(configured)
    for d in [root, *root.parents]:
        candidates.append(d / "node_modules" / "typescript")
    tsc = shutil.which("tsc")
    if tsc:
        candidates.append(Path(os.path.realpath(tsc)).parent.parent)  # .../typescript/bin/tsc
    for c in candidates:
        if (c / "package.json").is_file() and (c / "lib" / "typescript.js").is_file():
            return c
    raise NoCompiler("--stubs for TypeScript needs the TypeScript compiler (npm install typescript)")


def declarations(
    root: Path, sources: dict[Path, bytes], timeout: float = 600, configured: Path | None = None
) -> tuple[dict[Path, str], list[str]]:
    """`.d.ts` text for each annotated source (absolute paths), and the compiler's complaints."""
    if shutil.which("node") is None:
        raise NoCompiler("--stubs for TypeScript needs node")
    typescript = find_typescript(root, configured)
    payload = json.dumps(
        {
            "root": str(root.resolve()),
            "files": {str(p.resolve()): d.decode("utf-8") for p, d in sources.items()},
        }
    )
    proc = subprocess.run(
        ["node", str(SCRIPT), str(typescript)], input=payload, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"declaration emit failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout)
    errors = out.pop("__errors__", [])
    return {Path(k): v for k, v in out.items()}, errors


def syntax_regressions(
    root: Path, pairs: dict[Path, tuple[bytes, bytes]], timeout: float = 600, configured: Path | None = None
) -> dict[Path, str] | None:
    """The files whose annotated text has more syntax diagnostics than the original, by the
    compiler's own parser (one node process for all), with the first new message; None when no
    compiler is installed (the caller's tree-sitter check still applies)."""
    if not pairs or shutil.which("node") is None:
        return None
    try:
        typescript = find_typescript(root, configured)
    except NoCompiler:
        return None
    payload = json.dumps(
        {str(p): [a.decode("utf-8", "replace"), b.decode("utf-8", "replace")] for p, (a, b) in pairs.items()}
    )
    proc = subprocess.run(
        ["node", str(SYNTAX_SCRIPT), str(typescript)],
        input=payload,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the TypeScript syntax check failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout)
    return {Path(k): v[2] or "syntax error" for k, v in out.items() if v[1] > v[0]}
