"""`typeinf annotate` with the shipped model: each safety and behaviour rule on files where the
model really predicts above its threshold (static facts it is sure of: boolean defaults and
boolean returns), so every rule is exercised by real predictions."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, need_tool

from typeinf.annotate import write_atomic
from typeinf.annotate.dts import NoCompiler, find_typescript, typescript_from_env
from typeinf.annotate.python import Edit, annotate_python, for_target
from typeinf.slices import extract

PY = """def is_enabled(config, strict=False):
    if strict:
        return False
    return True


def report(rows, verbose=False):
    for row in rows:
        print(row)
"""
# what the shipped model writes into PY at its default threshold
PY_ANNOTATED = PY.replace("strict=False):", "strict: bool = False) -> bool:").replace(
    "verbose=False):", "verbose: bool = False) -> None:"
)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "typeinf", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def project(tmp_path: Path, files: dict[str, str], requires: str = ">=3.10") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "demo"\nrequires-python = "{requires}"\n')
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


def test_in_place_then_idempotent(tmp_path):
    root = project(tmp_path, {"m.py": PY})
    r = run(["annotate", "m.py"], root)
    assert r.returncode == 0, r.stderr
    out = (root / "m.py").read_text()
    assert out == PY_ANNOTATED  # nothing but annotations changed
    compile(out, "m.py", "exec")
    again = run(["annotate", "m.py"], root)
    assert again.returncode == 0 and (root / "m.py").read_text() == out
    assert run(["annotate", "--check", "m.py"], root).returncode == 0


def test_idempotent_where_written_annotations_feed_later_predictions(tmp_path):
    """On hatch's application.py one predict-and-apply round writes `code: int = 1`, and a second
    run then finds `abort(...) -> None` above the threshold: annotate runs its rounds itself."""
    src = (ROOT / "tests" / "fixtures" / "annotate" / "hatch_application.py").read_text()
    root = project(tmp_path, {"hatch/cli/application.py": src})
    r = run(["annotate", "--format", "json", "hatch/cli/application.py"], root)
    assert r.returncode == 0, r.stderr
    out = (root / "hatch" / "cli" / "application.py").read_text()
    assert 'def abort(self, text="", code: int = 1, **kwargs) -> None:' in out
    report = json.loads(r.stdout)  # later rounds' edits are reported too, where the site is on disk
    (abort,) = [e for e in report if e["name"] == "abort" and e["kind"] == "return"]
    line = next(i for i, text in enumerate(src.splitlines(), 1) if "def abort(" in text)
    assert (abort["line"], abort["column"], abort["type"]) == (
        line,
        src.splitlines()[line - 1].index("abort"),
        "None",
    )
    check = run(["annotate", "--check", "hatch/cli/application.py"], root)
    assert check.returncode == 0, check.stderr


def test_check_and_diff_write_nothing(tmp_path):
    root = project(tmp_path, {"m.py": PY})
    r = run(["annotate", "--check", "m.py"], root)
    assert r.returncode == 1 and (root / "m.py").read_text() == PY
    r = run(["annotate", "--diff", "m.py"], root)
    assert r.returncode == 0 and (root / "m.py").read_text() == PY
    assert "+def report(rows, verbose: bool = False) -> None:" in r.stdout
    r = run(["annotate", "--check", "--format", "json", "m.py"], root)
    import json

    rows = json.loads(r.stdout)
    assert {
        "file",
        "line",
        "column",
        "kind",
        "qualname",
        "name",
        "type",
        "confidence",
        "alternatives",
        "source",
    } <= set(rows[0])


def test_kinds_and_threshold_flags(tmp_path):
    root = project(tmp_path, {"m.py": PY})
    assert run(["annotate", "--kinds", "return", "m.py"], root).returncode == 0
    out = (root / "m.py").read_text()
    assert "def is_enabled(config, strict=False) -> bool:" in out and "verbose: bool" not in out
    root2 = project(tmp_path / "b", {"m.py": PY})
    assert run(["annotate", "--min-confidence", "1.0", "m.py"], root2).returncode == 0
    assert (root2 / "m.py").read_text() == PY
    assert run(["annotate", "--kinds", "params", "m.py"], root2).returncode == 2


def test_runtime_read_annotations_are_left_alone(tmp_path):
    src = """from dataclasses import dataclass


@dataclass
class Config:
    enabled = False


@app.get("/items")
def items(verbose=False):
    return []
"""
    root = project(tmp_path, {"m.py": src})
    # the model predicts `bool` for both at 0.94 and 0.96: above this threshold
    r = run(["annotate", "--min-confidence", "0.9", "m.py"], root)
    assert r.returncode == 0
    assert (root / "m.py").read_text() == src, "a dataclass field or a route parameter was annotated"
    assert "2 skipped as read at run time" in r.stderr
    r = run(["annotate", "--min-confidence", "0.9", "--aggressive", "m.py"], root)
    out = (root / "m.py").read_text()
    assert "enabled: bool = False" in out and "verbose: bool = False" in out


def test_existing_annotations_are_never_overwritten(tmp_path):
    src = "def f(count: str = False, flag=False):\n    print(flag)\n"
    root = project(tmp_path, {"m.py": src})
    assert run(["annotate", "m.py"], root).returncode == 0
    out = (root / "m.py").read_text()
    assert "count: str = False" in out and "flag: bool = False" in out


def test_bad_files_are_skipped_and_the_rest_annotated(tmp_path):
    root = project(tmp_path, {"ok.py": PY, "broken.py": "def f(x=1):\n    return (\n"})
    (root / "latin1.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    r = run(["annotate", "."], root)
    assert r.returncode == 123
    assert (root / "broken.py").read_text() == "def f(x=1):\n    return (\n"
    assert (root / "ok.py").read_text() == PY_ANNOTATED
    assert "broken.py:1: syntax error" in r.stderr and "latin1.py: skipped: not valid UTF-8" in r.stderr


def test_old_python_gets_typing_spelling():
    assert for_target("int | None", (3, 8)) == ("Optional[int]", {"Optional"})
    assert for_target("list[str] | dict[str, int]", (3, 8))[0] == "Union[List[str], Dict[str, int]]"
    assert for_target("list[int] | None", (3, 12)) == ("list[int] | None", set())
    src = "def f(x=None):\n    return x\n"
    start = next(s.span[0] for s in extract(src, "python", "m.py") if s.kind == "param")
    out, applied, _ = annotate_python(src, [Edit("param", start, "int | None")], (3, 8))
    assert out.startswith("from typing import Optional\n") and "x: Optional[int] = None" in out
    assert "import Optional\n\n\ndef f(" in out  # PEP 8: two blank lines between new imports and a def


def test_blank_lines_kept_where_imports_already_were():
    src = "import os\n# the entry point\ndef f(x=None):\n    return os.sep\n"
    start = next(s.span[0] for s in extract(src, "python", "m.py") if s.kind == "param")
    out, _, _ = annotate_python(src, [Edit("param", start, "int | None")], (3, 8))
    assert "# the entry point\ndef f(x: Optional[int] = None):" in out  # the user's layout is theirs


def test_imports_added_only_where_not_bound_unconditionally_at_module_level():
    def run(header: str) -> str:
        src = header + "def f(x=None):\n    return x\n"
        start = next(s.span[0] for s in extract(src, "python", "m.py") if s.kind == "param")
        out, applied, _ = annotate_python(
            src, [Edit("param", start, "Path | None", (("pathlib", "Path"),))], (3, 10)
        )
        assert len(applied) == 1
        compile(out, "m.py", "exec")
        return out

    bound = "from pathlib import Path\n\n\n"
    assert run(bound) == bound + "def f(x: Path | None = None):\n    return x\n"
    for header in (
        "from pathlib import Path as P\n\n\n",
        "try:\n    from pathlib import Path\nexcept ImportError:\n    pass\n\n\n",
        "import pathlib\n\n\n",
    ):
        out = run(header)
        assert "def f(x: Path | None = None):" in out
        ns: dict[str, object] = {}
        exec(compile(out, "m.py", "exec", dont_inherit=True), ns)  # evaluated at def time: Path must be bound
        assert ns["f"].__annotations__["x"] == (pathlib.Path | None)  # type: ignore[attr-defined]


UNITS_PY = """import dataclasses
x = 1; y = 2
é = "éé"


@dataclasses.dataclass
class Config:
    a = 0


class Point:
    class Inner:
        def g(self, k=None):  # a comment
            return k

    @staticmethod
    def doc(v,
  w):
        s = \"\"\"
text at column 0, é
  \"\"\"
        return v


def top(q=1):
    return q
"""


def _unit_edits(raw: bytes) -> list[Edit]:
    def at(text: str) -> int:
        return raw.index(text.encode())

    return [
        Edit("var", at("y = 2"), "int"),
        Edit("var", at("a = 0"), "int"),
        Edit("param", at("k=None"), "int | None"),
        Edit("return", at("g(self"), "int | None"),
        Edit("param", at("v,"), "str"),
        Edit("param", at("w)"), "int"),
        Edit("return", at("doc("), "str"),
        Edit("param", at("q=1"), "int"),
        Edit("return", at("top("), "int"),
    ]


def test_only_the_statements_holding_edits_go_through_libcst_with_the_same_result():
    from typeinf.annotate import python as annotate_py

    for text in (UNITS_PY, UNITS_PY.replace("\n", "\r\n")):
        edits = _unit_edits(text.encode())
        units = annotate_py._annotate_units(text, *annotate_py.analysed(text), edits, (3, 10), False)
        assert units is not None and units == annotate_py._annotate_module(
            text, annotate_py.analysed(text)[1], edits, (3, 10), False
        )
        out, applied, runtime = units
        assert runtime == [edits[1]]  # a dataclass field is read at run time
        assert len(applied) == 8 and "x = 1; y: int = 2" in out and "def top(q: int = 1) -> int:" in out
        assert "def g(self, k: int | None = None) -> int | None:  # a comment" in out
        assert "    def doc(v: str,\n  w: int) -> str:\n" in out.replace("\r\n", "\n")
        assert "text at column 0, é\n  " in out.replace("\r\n", "\n")
    # where units cannot be cut exactly the whole module is edited
    assert annotate_py.analysed("x = 1\r y = 2\n") == (None, None)  # lone CR: the whole-module path


# Module heads that adding imports reads or changes in different ways: the imports are added to
# the head alone (the lines up to the statement after the last import block or TYPE_CHECKING block).
HEADS = [
    '"""Doc."""\nimport os\n\nX = 1\n',  # docstring, imports, code
    "",  # no imports at all
    '"""Doc."""\nX = 1\nimport os\n\nY = 2\n',  # code before the first import
    "import os\nX = 1\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sys\nZ = 3\n",
    "import os\n\n\nclass A:\n\tb = 1\n",  # tabs: a new TYPE_CHECKING block is indented with them
    "import os\nif os.name: X = 1\nelse:\n  X = 2\n",  # the first indented block comes after a one-liner
    "import os; X = 1\nimport sys\n",  # statements sharing a line
    "# comment\nfrom pathlib import PurePath\n# before the code\nX = 1\n",
]
FUNCS = """

def top(q=1, *, flag=False):
    class Local:
        field = 1
    total = q
    return total


def one(x): return x


def two(
        x): return x
"""


def test_imports_are_added_to_the_module_head_alone_with_the_same_result():
    from typeinf.annotate import python as annotate_py

    fast = 0
    for head in HEADS:
        tabs = head + FUNCS.replace("    ", "\t")  # a new TYPE_CHECKING block is indented with a tab
        for text in (head + FUNCS, (head + FUNCS).replace("\n", "\r\n"), tabs):
            raw = text.encode()
            edits = [
                Edit("param", raw.index(b"q=1"), "Path", (("pathlib", "Path"),)),
                Edit("param", raw.index(b"flag="), "bool"),
                Edit("var", raw.index(b"field ="), "int"),
                Edit("var", raw.index(b"total ="), "int"),
                Edit("return", raw.index(b"top("), "Repo", (), (("app.repo", "Repo"),)),
                Edit("param", raw.index(b"x): return"), "int"),
                Edit("return", raw.index(b"one("), "int"),
                Edit("param", raw.index(b"x): return", raw.index(b"two(")), "str"),
            ]
            units = annotate_py._annotate_units(text, *annotate_py.analysed(text), edits, (3, 10), False)
            whole = annotate_py._annotate_module(text, annotate_py.analysed(text)[1], edits, (3, 10), False)
            assert units is None or units == whole, head
            fast += units is not None
            out = whole[0]
            assert (
                "from pathlib import Path" in out
                and "from app.repo import Repo" in out
                and len(whole[1]) == 8
            )
            assert 'def top(q: Path = 1, *, flag: bool = False) -> "Repo":' in out
            compile(out, "m.py", "exec")
    assert fast == 3 * (len(HEADS) - 2)  # all but the `if ...: X = 1` / `else:` and `import os; X = 1` heads


def test_project_types_imported_for_type_checking_only():
    src = "def load(repo=None):\n    return repo.items()\n"
    start = next(s.span[0] for s in extract(src, "python", "m.py") if s.kind == "param")
    out, _, _ = annotate_python(
        src, [Edit("param", start, "Repo | None", (), (("app.repo", "Repo"),))], (3, 10)
    )
    assert "if TYPE_CHECKING:\n    from app.repo import Repo\n\n\ndef load(" in out
    assert 'repo: "Repo | None" = None' in out
    compile(out, "m.py", "exec")


def test_atomic_write_keeps_mode_and_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.py"
    real.write_bytes(b"a\n")
    os.chmod(real, 0o640)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_atomic(link, b"b\n", b"a\n")
    assert link.is_symlink() and real.read_bytes() == b"b\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    with pytest.raises(RuntimeError, match="changed on disk"):
        write_atomic(real, b"c\n", b"a\n")
    assert real.read_bytes() == b"b\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".typeinf")] == []


TS = """export async function flush(queue) {
  await queue.drain();
}

export function isEmpty(items) {
  if (items.length === 0) {
    return true;
  }
  return false;
}

let verbose = false;
"""


def test_typescript_byte_exact_and_idempotent(tmp_path):
    root = project(tmp_path, {"src/a.ts": TS})
    (root / "package.json").write_text('{"name": "demo"}')
    # a fixed threshold: the write-back is under test, not where the calibration puts its default
    # (the shipped model gives the three static facts 0.88-0.94 here, the parameters under 0.2)
    # (--inferrable-types: `let verbose = false` too, which the default leaves to the compiler)
    r = run(["annotate", "--min-confidence", "0.5", "--inferrable-types", "src/a.ts"], root)
    assert r.returncode == 0, r.stderr
    out = (root / "src" / "a.ts").read_text()
    want = (
        TS.replace("flush(queue) {", "flush(queue): Promise<void> {")  # an async function's return
        .replace("isEmpty(items) {", "isEmpty(items): boolean {")
        .replace("let verbose =", "let verbose: boolean =")
    )
    assert out == want  # only the annotations were inserted, byte for byte
    assert (
        run(["annotate", "--min-confidence", "0.5", "--inferrable-types", "src/a.ts"], root).returncode == 0
    )
    assert (root / "src" / "a.ts").read_text() == out


def test_the_models_threshold_is_per_language_and_a_flag_overrides_it(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(ROOT / "typeinf" / "model", model)
    cal = json.loads((model / "thresholds.json").read_text())
    cal["by_language"] = {"python": 1.0, "typescript": cal["default"]}  # nothing is that sure in Python
    (model / "thresholds.json").write_text(json.dumps(cal))
    env = {"TYPEINF_MODEL_DIR": str(model)}
    root = project(tmp_path / "p", {"m.py": PY, "src/a.ts": TS})
    r = run(["annotate", "m.py", "src/a.ts"], root, env)
    assert r.returncode == 0, r.stderr
    assert (root / "m.py").read_text() == PY
    assert "isEmpty(items): boolean {" in (root / "src" / "a.ts").read_text()
    assert f"threshold python 1.00, typescript {cal['default']:.2f}" in r.stderr
    assert run(["annotate", "--min-confidence", str(cal["default"]), "m.py"], root, env).returncode == 0
    assert (root / "m.py").read_text() == PY_ANNOTATED


def test_verify_drops_what_the_type_checker_rejects(tmp_path):
    src = "def f(a=False):\n    print(a)\n\n\ndef g(b=False):\n    print(b)\n\n\nf('s')\ng(True)\n"
    root = project(tmp_path, {"m.py": src})
    env_path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    r = subprocess.run(
        [sys.executable, "-m", "typeinf", "annotate", "--verify", "--kinds", "param", "m.py"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PATH=env_path),
    )
    assert r.returncode == 0, r.stderr
    out = (root / "m.py").read_text()
    assert "def g(b: bool = False):" in out  # accepted by the checker
    assert "def f(a=False):" in out  # `a: bool` would make f('s') an error: removed
    assert "1 rejected by the type checker" in r.stderr


def test_stubs_instead_of_edits(tmp_path):
    typed = "def double(x: int) -> int:\n    y: int = x * 2\n    return y\n"
    root = project(tmp_path, {"pkg/m.py": PY, "pkg/__init__.py": "", "pkg/typed.py": typed})
    r = run(["annotate", "--stubs", "stubs", "pkg"], root)
    assert r.returncode == 0, r.stderr
    assert (root / "pkg" / "m.py").read_text() == PY
    stub = (root / "stubs" / "pkg" / "m.pyi").read_text()
    assert "def report(rows, verbose: bool = ...) -> None: ..." in stub
    assert "def is_enabled(config, strict: bool = ...) -> bool: ..." in stub
    compile(stub, "m.pyi", "exec")
    # files with nothing to add get their stub too: a checker reading the directory finds every module
    assert "def double(x: int) -> int: ..." in (root / "stubs" / "pkg" / "typed.pyi").read_text()
    assert (root / "stubs" / "pkg" / "__init__.pyi").is_file()
    assert "3 stub file(s) written" in r.stderr


def test_typescript_stubs_are_declarations_from_the_compiler(tmp_path):
    src = (
        "export function toggle(enabled = false) {\n  console.log(enabled);\n}\n\n"
        "export class Box {\n  open(force = true) {\n    return force;\n  }\n}\n"
    )
    typed = "export function twice(n: number): number {\n  return n * 2;\n}\n"
    try:
        find_typescript(tmp_path, typescript_from_env())
    except NoCompiler:
        need_tool(None, "the TypeScript compiler (npm install typescript; TYPEINF_TYPESCRIPT)")
    root = project(tmp_path, {"src/a.ts": src, "src/typed.ts": typed, "package.json": '{"name": "p"}'})
    # the boolean defaults are static facts at 0.91 with the shipped model: a fixed threshold below them
    r = run(["annotate", "--stubs", "types", "--min-confidence", "0.9", "src"], root)
    assert r.returncode == 0, r.stderr
    assert (root / "src" / "a.ts").read_text() == src  # the source is not touched
    dts = (root / "types" / "src" / "a.d.ts").read_text()
    assert "export declare function toggle(enabled?: boolean): void;" in dts
    assert "open(force?: boolean): boolean;" in dts
    # a file with nothing to add is declared too
    assert (
        "export declare function twice(n: number): number;"
        in (root / "types" / "src" / "typed.d.ts").read_text()
    )
    assert "2 stub file(s) written" in r.stderr


def test_predict_reports_every_unannotated_site_of_every_file(tmp_path):
    """`typeinf predict` over a project: one JSON array with every unannotated site of every file
    (one batched model pass over all files), whatever its confidence; the same sites, positions and
    predictions as predicting each file on its own; unreadable files reported, the rest done."""
    root = project(
        tmp_path, {"m.py": PY, "src/a.ts": TS, "pkg/n.py": "def size(items):\n    return len(items)\n"}
    )
    (root / "package.json").write_text('{"name": "demo"}')
    (root / "pkg" / "latin1.py").write_bytes(b"x = '\xe9'\n")
    r = run(["predict", ".", "--format", "json"], root)
    assert r.returncode == 123 and "latin1.py" in r.stderr, (
        r.stderr
    )  # not UTF-8: reported, the rest predicted
    rows = json.loads(r.stdout)
    assert {row["file"] for row in rows} == {"m.py", "src/a.ts", "pkg/n.py"}
    for name in ("m.py", "src/a.ts", "pkg/n.py"):
        alone = json.loads(run(["predict", name, "--format", "json"], root).stdout)
        assert [row for row in rows if row["file"] == name] == alone
        sites = [s for s in json.loads(run(["slices", name], root).stdout) if s["annotation"] is None]
        assert [(row["line"], row["column"], row["kind"], row["name"]) for row in alone] == [
            (s["line"], s["column"], s["kind"], s["name"]) for s in sites
        ]
    by = {(row["file"], row["kind"], row["name"]): row for row in rows}
    assert (
        by[("m.py", "param", "strict")]["type"] == "bool"
        and by[("m.py", "param", "strict")]["source"] == "static"
    )
    assert by[("pkg/n.py", "return", "size")]["type"] == "int"
    sure = json.loads(run(["predict", ".", "--format", "json", "--min-confidence", "0.9"], root).stdout)
    assert sure and all(row["confidence"] >= 0.9 for row in sure) and len(sure) < len(rows)
