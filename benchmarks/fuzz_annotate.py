"""Hunt for broken writes: `typeinf annotate --min-confidence 0` (every site written) over real
packages never used in training (the corpus's test split) and over generated adversarial files,
then, for every file it changed:

  compiles       Python: `compile()` succeeds wherever the original did; TypeScript: the compiler's
                 parser reports no syntax diagnostic the original did not have
  imports        every added import resolves: `typing` names exist in `typing`, project modules
                 (TYPE_CHECKING / `import type`) are files of the project; and no evaluated
                 annotation uses a name unbound where it is evaluated (beyond the original's)
  only types     Python: the `ast` with annotations and imports removed is unchanged; TypeScript:
                 the JavaScript the compiler emits (types erased) is unchanged
  idempotent     a second run changes nothing

    python benchmarks/fuzz_annotate.py python --packages /tmp/fz/py --min-files 2000 --out F.json
    python benchmarks/fuzz_annotate.py typescript --packages /tmp/fz/ts --min-files 2000
    python benchmarks/fuzz_annotate.py generated      # the adversarial files only (both languages)

Packages come from `python -m models.corpus fetch NAMES` + `unpack --dest DIR NAMES` with the test
split's names (models/corpus/*.toml).  Exit 1 when any file is broken.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from typeinf.annotate.bound import unbound_annotation_names  # noqa: E402
from typeinf.annotate.dts import find_typescript, typescript_from_env  # noqa: E402

# ------------------------------------------------------------------ generated adversarial files
GENERATED_PY = {
    "globals.py": "counter = 0\n\n\ndef bump():\n    global counter\n    counter = counter + 1\n    return counter\n\n\n"
    "def first():\n    global seen\n    seen = True\n\n\ndef outer():\n    n = 1\n\n    def inner():\n"
    "        nonlocal n\n        n = 5\n        return n\n\n    return inner()\n",
    "walrus.py": "def f(items):\n    if (n := len(items)) > 3:\n        return n\n    return 0\n\n\n"
    "data = [y for x in range(3) if (y := x * 2)]\n",
    "match_stmt.py": "def kind(cmd):\n    match cmd:\n        case [x, y]:\n            return x\n"
    "        case {'k': v}:\n            return v\n        case str() as s:\n            return s\n"
    "        case _:\n            return None\n",
    "async_comp.py": "async def gather(source):\n    out = [x async for x in source]\n    total = 0\n"
    "    async with source as s:\n        total = len(out)\n    return total\n",
    "decorators.py": "import functools\n\n\ndef deco(fn):\n    @functools.wraps(fn)\n    def wrapper(*args, **kwargs):\n"
    "        return fn(*args, **kwargs)\n    return wrapper\n\n\n@deco\ndef hello(name='x'):\n"
    "    return 'hi ' + name\n\n\nclass A:\n    @property\n    def size(self):\n        return 3\n\n"
    "    @staticmethod\n    def make(flag=False):\n        return A()\n\n    @classmethod\n"
    "    def build(cls, n=1):\n        return cls()\n",
    "lambdas.py": "key = lambda item, default=0: item or default\nfns = [lambda x=i: x for i in range(3)]\n",
    "star_targets.py": "def split(seq):\n    first, *rest = seq\n    a = b = 0\n    (c, d) = 1, 2\n    [e] = [3]\n"
    "    return first, rest, a, b, c, d, e\n",
    "dels.py": "def clean(d):\n    tmp = dict(d)\n    del tmp['x']\n    count = 0\n    del count\n    return tmp\n",
    "forward.py": "def make():\n    return Later()\n\n\nclass Later:\n    def copy(self):\n        return Later()\n\n"
    "    def same(self, other=None):\n        return other\n\n\nx = Later()\n",
    "tc_only.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from collections import OrderedDict\n\n\n"
    "def build(d):\n    from collections import OrderedDict\n    return OrderedDict(d)\n",
    "nested.py": "def outer(flag=True):\n    class Local:\n        def m(self, k=1):\n            return k\n\n"
    "    def helper(v=''):\n        return v.upper()\n    return Local, helper(flag and 'x')\n",
    "fstrings.py": "name = 'x'\nscore = 1.5\nq = f\"{name!r:>{10}} {score:=06.2f} {'a' + \\\"b\\\"}\"\n"
    'def fmt(v, w=8):\n    return f"{v:{w}}"\n',
    "tabs.py": "def f(a, b=1):\n\tif a:\n\t\treturn b\n\treturn 0\n\n\nclass C:\n\tdef g(self, c=''):\n\t\treturn c\n",
    "crlf.py": "def f(a, b=1):\r\n    x = 2\r\n    return a + b + x\r\n\r\n\r\nVALUE = 3\r\n",
    "bom.py": "\ufeffdef f(flag=False):\n    return not flag\n",
    "unicode_names.py": "def größe(wert=1.0):\n    länge = wert * 2\n    return länge\n\n\nπ = 3.14159\n",
    "semicolons.py": "def f(a=1): x = a; return x\n\n\ndef g(b=''): return b\n",
    "continuation.py": "def f(a,\n      b=2,\n      *args,\n      c=None,\n      **kw):\n    total = a + \\\n        b\n"
    "    return total\n",
    "try_star.py": "def run(jobs):\n    try:\n        results = [j() for j in jobs]\n    except* ValueError as eg:\n"
    "        return len(eg.exceptions)\n    return len(results)\n",
    "pep695.py": "type Pair = tuple[int, int]\n\n\ndef first[T](items, default=None):\n    return items[0] if items else default\n\n\n"
    "class Box[T]:\n    def __init__(self, value):\n        self.value = value\n\n    def get(self):\n"
    "        return self.value\n",
    "dataclass_fields.py": "from dataclasses import dataclass\n\n\n@dataclass\nclass P:\n    x = 0\n\n\nclass Plain:\n"
    "    limit = 10\n    names = []\n",
    "future.py": "from __future__ import annotations\n\n\ndef make():\n    return Later()\n\n\nclass Later:\n    pass\n",
    "conditional_defs.py": "import sys\n\nif sys.version_info >= (3, 11):\n    def f(x=1):\n        return x\nelse:\n"
    "    def f(x=1):\n        return x + 0\n\ntry:\n    import json as j\nexcept ImportError:\n"
    "    j = None\n",
    "class_attrs.py": "class Config:\n    debug = False\n    retries = 3\n\n    def __init__(self, name='n'):\n"
    "        self.name = name\n        self.items = []\n\n    def add(self, item):\n"
    "        self.items.append(item)\n        return self\n",
    "generators.py": "def gen(n=3):\n    for i in range(n):\n        yield i\n\n\nasync def agen(n=3):\n    for i in range(n):\n"
    "        yield i\n",
    "overloads.py": "from typing import overload\n\n\n@overload\ndef f(x: int) -> int: ...\n@overload\ndef f(x: str) -> str: ...\n"
    "def f(x):\n    return x\n",
    "falls_off.py": "def enable(fd):\n    if fd:\n        return True\n\n\ndef pick(x):\n    if x:\n        return 1\n    return\n",
    "comments_in_sig.py": "def f(  # leading\n    a=1,  # one\n    # between\n    b='',  # two\n):  # end\n    return a\n",
}

GENERATED_TS = {
    "overloads.ts": "export function f(x: number): number;\nexport function f(x: string): string;\n"
    "export function f(x: any) { return x; }\n",
    "merging.ts": "interface Box { a: number }\ninterface Box { b: string }\nnamespace NS { export const v = 1; "
    "export function g(x = 2) { return x * v; } }\nenum Color { Red, Green }\n"
    "namespace Color { export function parse(s = 'red') { return Color.Red; } }\n",
    "namespaces.ts": "module Outer.Inner { export let count = 0; export function inc(by = 1) { count += by; "
    "return count; } }\ndeclare namespace Ambient { function f(x: number): void; }\n",
    "decorators.ts": "function log(target: any, key: string) {}\nclass Svc {\n  @log\n  run(times = 1) { return times; }\n"
    "  @log name = 'svc';\n}\n",
    "abstract.ts": "abstract class Shape {\n  abstract area(): number;\n  describe(prefix = '') { return prefix + this.area(); }\n}\n"
    "class Sq extends Shape { constructor(private side = 1) { super(); } area() { return this.side ** 2; } }\n",
    "index_sig.ts": "interface Dict { [key: string]: number }\nconst d: Dict = {};\nfunction get(key, fallback = 0) { "
    "return d[key] ?? fallback; }\n",
    "declare.ts": "declare const VERSION: string;\ndeclare function ext(x: number): void;\n"
    "export function version(prefix = 'v') { return prefix + VERSION; }\n",
    "arrows.ts": "export const add = (a, b = 1) => a + b;\nexport const id = x => x;\nconst obj = { m(x = 'a') { return x; }, "
    "n: function (y = 2) { return y; } };\n",
    "destructure.ts": "export function f({ a, b } = { a: 1, b: 2 }, [c, d] = [3, 4]) { return a + b + c + d; }\n",
    "generics.ts": "export function first<T>(items: T[], fallback = undefined) { return items[0] ?? fallback; }\n"
    "export class Box<T> { constructor(public value: T) {} get(def = null) { return this.value ?? def; } }\n",
    "async.ts": "export async function load(url = '/') { const r = await fetch(url); return r.ok; }\n"
    "export async function nothing() { await Promise.resolve(); }\n",
    "falls_off.ts": "export function enable(fd) { if (fd) { return true; } }\n",
    "crlf.ts": "export function f(a, b = 1) {\r\n  const x = 2;\r\n  return a + b + x;\r\n}\r\n",
    "satisfies.ts": "type Cfg = { port: number };\nexport const cfg = { port: 1 } satisfies Cfg;\n"
    "export function port(c = cfg) { return c.port; }\n",
    "accessors.ts": "export class Temp { private c = 0; get f() { return this.c * 9 / 5 + 32; } set f(v) { this.c = (v - 32) * 5 / 9; } }\n",
    "unicode.ts": "export function größe(wert = 1.5) { const länge = wert * 2; return länge; }\n",
    "comments.ts": "export function f(/* a */ a = 1, // b\n b = '') { return a; }\n",
    "component.tsx": "export function Hello({ name = 'x' }) { const n = name.length; return <div title={name}>{n}</div>; }\n"
    "export const Btn = (props) => <button onClick={props.onClick}>{props.label}</button>;\n",
}


# ------------------------------------------------------------------ checks
def _strip_py(tree: ast.AST) -> str:
    """The module with annotations, imports and TYPE_CHECKING blocks removed."""

    class Strip(ast.NodeTransformer):
        def visit_arg(self, node: ast.arg) -> ast.arg:
            node.annotation = None
            return node

        def visit_FunctionDef(self, node):  # noqa: ANN001, ANN202
            node.returns = None
            self.generic_visit(node)
            return node

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_AnnAssign(self, node):  # noqa: ANN001, ANN202
            if node.value is None:
                return None
            return ast.Assign(targets=[node.target], value=node.value)

        def visit_Import(self, node):  # noqa: ANN001, ANN202
            return None

        visit_ImportFrom = visit_Import

        def visit_If(self, node):  # noqa: ANN001, ANN202
            t = node.test
            if (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
                isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
            ):
                return None
            self.generic_visit(node)
            return node

    return ast.dump(Strip().visit(tree), annotate_fields=False, include_attributes=False)


def _compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<fuzz>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _added_imports_resolve(old: str, new: str, project: Path) -> list[str]:
    problems = []
    try:
        old_imports = {
            ast.dump(n) for n in ast.walk(ast.parse(old)) if isinstance(n, (ast.Import, ast.ImportFrom))
        }
        new_tree = ast.parse(new)
    except SyntaxError:
        return problems
    for n in ast.walk(new_tree):
        if not isinstance(n, ast.ImportFrom) or ast.dump(n) in old_imports:
            continue
        if n.module in ("typing", "typing_extensions", "collections.abc", "__future__"):
            mod = importlib.import_module(n.module) if n.module != "typing_extensions" else None
            for a in n.names:
                if mod is not None and not hasattr(mod, a.name) and a.name != "annotations":
                    problems.append(f"{n.module} has no {a.name}")
            continue
        if n.level:  # relative: resolved by the package layout, checked by the slicer's index
            continue
        parts = (n.module or "").split(".")
        if not any(
            (d / Path(*parts)).with_suffix(".py").exists() or (d / Path(*parts) / "__init__.py").exists()
            for d in [project, *[p for p in project.rglob("*") if p.is_dir() and p.name in ("src", "lib")]]
        ):
            problems.append(f"added import of {n.module} does not resolve in the project")
    return problems


def _unbound_grew(old: str, new: str) -> bool:
    try:
        a, b = ast.parse(old), ast.parse(new)
    except SyntaxError:
        return False
    return len(unbound_annotation_names(b, new.encode())) > len(unbound_annotation_names(a, old.encode()))


TS_CHECK_JS = r"""
const ts = require(process.argv[2]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
const opts = {compilerOptions: {target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext, jsx: ts.JsxEmit.Preserve,
  experimentalDecorators: true, useDefineForClassFields: false, verbatimModuleSyntax: false, removeComments: true,
  isolatedModules: false}, reportDiagnostics: false};
for (const [name, pair] of Object.entries(input)) {
  const kind = name.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const diags = t => ts.createSourceFile(name, t, ts.ScriptTarget.Latest, true, kind).parseDiagnostics.length;
  // `x => x` annotated becomes `(x: T) => x`: the parentheses are not a change of the program
  const js = t => ts.transpileModule(t, {...opts, fileName: name}).outputText.replace(/\(([\w$]+)\) =>/g, '$1 =>');
  out[name] = {old: diags(pair[0]), new: diags(pair[1]), same_js: js(pair[0]) === js(pair[1])};
}
process.stdout.write(JSON.stringify(out));
"""


def _ts_checks(pairs: dict[str, tuple[str, str]]) -> dict[str, dict]:
    typescript = find_typescript(ROOT, typescript_from_env())
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as fh:
        fh.write(TS_CHECK_JS)
    try:
        proc = subprocess.run(
            ["node", fh.name, str(typescript)],
            input=json.dumps(pairs),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-800:])
        return json.loads(proc.stdout)
    finally:
        os.unlink(fh.name)


def _ts_imports_resolve(old: str, new: str, file: Path) -> list[str]:
    import re

    problems = []
    for m in re.finditer(r"import type \{[^}]*\} from '([^']+)'", new):
        if m.group(0) in old or not m.group(1).startswith("."):
            continue
        base = (file.parent / m.group(1)).resolve()
        cands = [base.with_name(base.name + s) for s in (".ts", ".tsx", ".d.ts")] + [
            base / "index.ts",
            base / "index.tsx",
        ]
        if not any(c.exists() for c in cands) and not base.exists():
            problems.append(f"import type from {m.group(1)} does not resolve")
    return problems


# ------------------------------------------------------------------ the run
def annotate(
    project: Path, files: list[Path] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    args = [
        sys.executable,
        "-m",
        "typeinf",
        "annotate",
        "--min-confidence",
        "0",
        "--format",
        "json",
        *([str(f.relative_to(project)) for f in files] if files else ["."]),
    ]
    proc = subprocess.run(args, cwd=project, capture_output=True, text=True, timeout=7200)
    return proc, time.monotonic() - t0


def snapshot(project: Path, suffixes: tuple[str, ...]) -> dict[Path, bytes]:
    return {
        p: p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file() and p.suffix in suffixes and not p.name.endswith(".d.ts")
    }


def fuzz_project(project: Path, lang: str) -> dict:
    suffixes = (".py",) if lang == "python" else (".ts", ".tsx")
    if not (project / "pyproject.toml").exists() and not (project / "package.json").exists():
        (project / ("pyproject.toml" if lang == "python" else "package.json")).write_text(
            '[project]\nname = "fuzz"\nrequires-python = ">=3.10"\n'
            if lang == "python"
            else '{"name": "fuzz"}\n'
        )
    before = snapshot(project, suffixes)
    first, t1 = annotate(project)
    after = snapshot(project, suffixes)
    second, t2 = annotate(project)
    again = snapshot(project, suffixes)
    try:
        written = json.loads(first.stdout) if first.stdout.strip() else []
    except ValueError:
        written = []
    changed = [p for p in before if after.get(p) != before[p]]
    failures: list[str] = []
    if first.returncode not in (0, 123) or "Traceback" in first.stderr:
        failures.append(f"{project.name}: first run exit {first.returncode}: {first.stderr[-600:]}")
    if second.returncode not in (0, 123) or "Traceback" in second.stderr:
        failures.append(f"{project.name}: second run exit {second.returncode}: {second.stderr[-600:]}")
    failures += [
        f"{p.relative_to(project)}: changed by a second run" for p in after if again.get(p) != after[p]
    ]
    if lang == "python":
        for p in changed:
            old, new = before[p].decode("utf-8", "replace"), after[p].decode("utf-8", "replace")
            rel = p.relative_to(project)
            if _compiles(old) and not _compiles(new):
                failures.append(f"{rel}: no longer compiles")
                continue
            try:
                if _strip_py(ast.parse(old)) != _strip_py(ast.parse(new)):
                    failures.append(f"{rel}: more than annotations and imports changed")
            except SyntaxError:
                pass
            if _unbound_grew(old, new):
                failures.append(f"{rel}: an annotation uses a name unbound where it is evaluated")
            failures += [f"{rel}: {m}" for m in _added_imports_resolve(old, new, project)]
    else:
        pairs = {
            str(p.relative_to(project)): (
                before[p].decode("utf-8", "replace"),
                after[p].decode("utf-8", "replace"),
            )
            for p in changed
        }
        for name, r in (_ts_checks(pairs) if pairs else {}).items():
            if r["new"] > r["old"]:
                failures.append(f"{name}: {r['new'] - r['old']} new syntax diagnostic(s)")
            if not r["same_js"]:
                failures.append(f"{name}: the emitted JavaScript changed (more than types)")
        for p in changed:
            failures += [
                f"{p.relative_to(project)}: {m}"
                for m in _ts_imports_resolve(
                    before[p].decode("utf-8", "replace"), after[p].decode("utf-8", "replace"), p
                )
            ]
    skipped = sum(
        1
        for line in first.stderr.splitlines()
        if ": skipped" in line or "syntax error" in line or "nothing written" in line
    )
    return {
        "project": project.name,
        "files": len(before),
        "changed": len(changed),
        "sites_written": len(written),
        "not_processed_messages": skipped,
        "seconds": round(t1 + t2, 1),
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["python", "typescript", "generated"])
    ap.add_argument("--packages", type=Path, help="a directory of unpacked packages, one per subdirectory")
    ap.add_argument("--min-files", type=int, default=2000, help="stop adding packages past this many files")
    ap.add_argument("--out", type=Path, help="write the results as JSON")
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.what == "generated":
            for lang, files in (("python", GENERATED_PY), ("typescript", GENERATED_TS)):
                d = work / f"generated-{lang}"
                d.mkdir()
                for name, text in files.items():
                    (d / name).write_bytes(text.encode("utf-8"))
                results.append(fuzz_project(d, lang))
        else:
            total = 0
            for pkg in sorted(p for p in args.packages.iterdir() if p.is_dir()):
                if total >= args.min_files:
                    break
                dest = work / pkg.name
                shutil.copytree(pkg, dest)
                r = fuzz_project(dest, args.what)
                total += r["files"]
                results.append(r)
                print(
                    f"{pkg.name}: {r['files']} files, {r['changed']} changed, {r['sites_written']} sites written, "
                    f"{len(r['failures'])} failures ({r['seconds']} s)",
                    file=sys.stderr,
                    flush=True,
                )
                shutil.rmtree(dest)
    summary = {
        "what": args.what,
        "projects": len(results),
        "files": sum(r["files"] for r in results),
        "files_changed": sum(r["changed"] for r in results),
        "sites_written": sum(r["sites_written"] for r in results),
        "failures": sum(len(r["failures"]) for r in results),
        "results": results,
    }
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}))
    for r in results:
        for f in r["failures"]:
            print("FAIL", r["project"], f)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
