"""`.d.ts` stubs of annotated TypeScript (`typeinf annotate --stubs DIR`), by the TypeScript compiler.

Declaration emit is the compiler's job: the annotated sources are handed to `dts_emit.js`
in memory (the project itself is not touched) and the compiler writes their declarations, with
imports resolved from the project's own node_modules.  Needs `node` and the `typescript`
package: the project's own (node_modules/typescript), else the one of a `tsc` on PATH, else
`$TYPEINF_TYPESCRIPT`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().with_name("dts_emit.js")


class NoCompiler(RuntimeError):
    pass


def find_typescript(root: Path) -> Path:
    """The `typescript` package directory to emit declarations with."""
    candidates = []
    env = os.environ.get("TYPEINF_TYPESCRIPT")
    if env:
        candidates.append(Path(env))
    for d in [root, *root.parents]:
        candidates.append(d / "node_modules" / "typescript")
    tsc = shutil.which("tsc")
    if tsc:
        candidates.append(Path(os.path.realpath(tsc)).parent.parent)  # .../typescript/bin/tsc
    for c in candidates:
        if (c / "package.json").is_file() and (c / "lib" / "typescript.js").is_file():
            return c
    raise NoCompiler("--stubs for TypeScript needs the TypeScript compiler (npm install typescript)")


def declarations(root: Path, sources: dict[Path, bytes], timeout: float = 600) -> tuple[dict[Path, str], list[str]]:
    """`.d.ts` text for each annotated source (absolute paths), and the compiler's complaints."""
    if shutil.which("node") is None:
        raise NoCompiler("--stubs for TypeScript needs node")
    typescript = find_typescript(root)
    payload = json.dumps({"root": str(root.resolve()),
                          "files": {str(p.resolve()): d.decode("utf-8") for p, d in sources.items()}})  # fmt: skip
    proc = subprocess.run(["node", str(SCRIPT), str(typescript)], input=payload, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"declaration emit failed: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout)
    errors = out.pop("__errors__", [])
    return {Path(k): v for k, v in out.items()}, errors
