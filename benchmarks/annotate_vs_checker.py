"""Wall time of `typeinf annotate` on a whole project beside the type checker on the same project.

    python benchmarks/annotate_vs_checker.py python SRC [SRC ...] [--repeat 3] [--out F.json]
    python benchmarks/annotate_vs_checker.py typescript SRC [SRC ...]

For each project: strip its annotations with the shared protocol (../shared/eval) into a
temporary copy, then time, in one run and alternately (`--repeat` times, medians reported):
  annotate   `python -m typeinf annotate . --project .` on a fresh copy of the stripped project
             (a new process: Python start-up and model load included), writing the files;
  checker    `pyright --outputjson .` (Python) or `tsc --noEmit` over the project's files
             (TypeScript; files with syntax errors left out, as tsc checks no types when a
             file of the program fails to parse: `checker_left_out`) on the stripped copy, from the npm packages under
             ~/.cache/typeinf/bench-npm (pyright 1.1.407, typescript 5.7.2).
The ratio annotate / checker is what issue #5 asks to be below 1.

The first annotated copy is also checked for the write-back's safety rules on real code:
  still_parses   every file that parsed before annotate parses after it (Python: ast; TypeScript:
                 tree-sitter without error nodes)
  idempotent     a second `typeinf annotate` run changes no byte
  only_types     the annotated code, with its annotations stripped again by the shared protocol and
                 its imports (and `if TYPE_CHECKING:` blocks) left out, is the stripped code
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import load

NPM = Path.home() / ".cache" / "typeinf" / "bench-npm" / "node_modules"


def _timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode


# files with syntax errors as the TypeScript compiler's own parser finds them
_TS_SYNTAX_JS = """
const ts = require(process.argv[1]);
const files = JSON.parse(require("fs").readFileSync(0, "utf8"));
const program = ts.createProgram(files, {noEmit: true, allowJs: false});
console.log(JSON.stringify(files.filter(f => program.getSyntacticDiagnostics(program.getSourceFile(f)).length > 0)));
"""


def _checker(lang: str, root: Path) -> tuple[list[str], list[str]]:
    """The checker's command line, and the files left out of it: tsc reports the syntax errors of
    a program and checks no types when a file fails to parse, so such files are not given to it."""
    if lang == "python":
        return [str(NPM / ".bin" / "pyright"), "--outputjson", "."], []
    files = [
        str(p.relative_to(root))
        for p in sorted(root.rglob("*.ts*"))
        if p.suffix in (".ts", ".tsx") and not p.name.endswith(".d.ts") and "node_modules" not in p.parts
    ]
    proc = subprocess.run(
        ["node", "-e", _TS_SYNTAX_JS, str(NPM / "typescript")],
        input=json.dumps(files),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    left_out = json.loads(proc.stdout)
    files = [f for f in files if f not in set(left_out)]
    return [
        "node",
        str(NPM / "typescript" / "bin" / "tsc"),
        "--noEmit",
        "--skipLibCheck",
        "--target",
        "ES2022",
        "--module",
        "ESNext",
        "--moduleResolution",
        "bundler",
        "--jsx",
        "preserve",
        *files,
    ], left_out


def run(lang: str, src: Path, repeat: int, tmp: Path) -> dict:
    h = load(lang)
    stripped = tmp / f"{src.name}-stripped"
    argv = ["strip", str(src), str(stripped)] + ([] if lang == "python" else ["--skip-tests"])
    h.main(argv)
    lines = sum(
        len(p.read_bytes().splitlines())
        for p in stripped.rglob("*")
        if p.is_file() and p.suffix in (".py", ".ts", ".tsx")
    )
    annotate_argv = [sys.executable, "-m", "typeinf", "annotate", ".", "--project", ".", "--lang", lang]
    annotate, checker, safety = [], [], {}
    checker_argv, left_out = _checker(lang, stripped)
    for i in range(repeat):
        work = tmp / f"{src.name}-{i}"
        shutil.copytree(stripped, work)
        secs, rc = _timed(annotate_argv, work)
        if rc not in (0, 123):
            raise RuntimeError(f"typeinf annotate exited {rc}")
        annotate.append(secs)
        secs, _ = _timed(checker_argv, stripped)  # exit code: the stripped code has type errors
        checker.append(secs)
        if i == 0:
            safety = check_safety(h, lang, stripped, work, tmp, annotate_argv)
        shutil.rmtree(work)
    a, c = statistics.median(annotate), statistics.median(checker)
    return {
        "lines": lines,
        "annotate_s": round(a, 2),
        "checker": "pyright" if lang == "python" else "tsc",
        "checker_s": round(c, 2),
        "ratio": round(a / c, 3),
        "runs": repeat,
        "checker_left_out": left_out,
        **safety,
    }


def _sources(root: Path, lang: str) -> dict[str, bytes]:
    suffixes = (".py",) if lang == "python" else (".ts", ".tsx")
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in suffixes and not p.name.endswith(".d.ts")
    }


def _parses(lang: str, name: str, data: bytes) -> bool:
    if lang == "python":
        try:
            ast.parse(data)
        except (SyntaxError, ValueError):
            return False
        return True
    from typeinf.slices.source import parse

    return not parse(data, "tsx" if name.endswith(".tsx") else "typescript").root_node.has_error


class _NoTypes(ast.NodeTransformer):
    """Python code without annotations, imports and `if TYPE_CHECKING:` blocks."""

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.annotation = None
        return node

    def _fn(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.returns = None
        self.generic_visit(node)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _fn

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        return ast.Assign([node.target], node.value) if node.value is not None else None

    def visit_Import(self, node: ast.AST) -> None:
        return None

    visit_ImportFrom = visit_Import

    def visit_If(self, node: ast.If) -> ast.AST | None:
        t = node.test
        if (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
            isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
        ):
            return None
        self.generic_visit(node)
        return node


_TS_IMPORT = re.compile(rb"^import\b[^;]*?from\s*['\"][^'\"]*['\"];?[ \t]*$", re.M | re.S)


def _skeleton(lang: str, data: bytes) -> str:
    if lang == "python":
        return ast.dump(_NoTypes().visit(ast.parse(data)))
    return "\n".join(
        ln.strip() for ln in _TS_IMPORT.sub(b"", data).decode("utf-8", "replace").splitlines() if ln.strip()
    )


def check_safety(h, lang: str, stripped: Path, work: Path, tmp: Path, annotate_argv: list[str]) -> dict:
    before, after = _sources(stripped, lang), _sources(work, lang)
    parsed = [n for n, d in before.items() if _parses(lang, n, d)]
    broken = [n for n in parsed if n in after and not _parses(lang, n, after[n])]
    changed = [n for n in before if after.get(n) != before[n]]
    subprocess.run(annotate_argv, cwd=work, capture_output=True, check=False)
    again = _sources(work, lang)
    not_idempotent = [n for n in after if again.get(n) != after[n]]
    restripped = tmp / f"{work.name}-restripped"
    h.main(["strip", str(work), str(restripped)] + ([] if lang == "python" else ["--skip-tests"]))
    rs = _sources(restripped, lang)
    other = [
        n
        for n in changed
        if n in rs and _parses(lang, n, after[n]) and _skeleton(lang, rs[n]) != _skeleton(lang, before[n])
    ]
    shutil.rmtree(restripped)
    return {
        "files": len(before),
        "files_annotated": len(changed),
        "still_parses": not broken,
        "broken": broken[:5],
        "idempotent": not not_idempotent,
        "changed_on_second_run": not_idempotent[:5],
        "only_types": not other,
        "other_changes": other[:5],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("lang", choices=["python", "typescript"])
    ap.add_argument("src", type=Path, nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in args.src:
            results[src.name] = run(args.lang, src.resolve(), args.repeat, Path(tmp))
            print(f"{src.name}: {results[src.name]}", file=sys.stderr)
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
