"""`annotate --stubs`: stubs a checker can use in place of the sources (stubgen's quality at least):
no `X = ...`, namedtuples as classes, type variables and aliases kept, imports re-exported; a
checker reading the stubs reports no more errors than on the sources; TypeScript files the grammar
cannot parse still get the compiler's declarations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import need_tool
from test_annotate import project, run

from typeinf.annotate.dts import NoCompiler, find_typescript, typescript_from_env
from typeinf.annotate.stubs import python_stub

PKG_INIT = '''"""A package like tabulate."""
from collections import namedtuple
from typing import TypeVar

try:
    from .version import version as __version__
except ImportError:
    __version__ = "unknown"
from .core import render

__all__ = ["render", "Line"]
T = TypeVar("T")
Line = namedtuple("Line", ["begin", "sep", "end"])
Row = namedtuple("Row", "begin end")
Table = dict[str, int]
LIMIT = 50
_formats = {"plain": Line("", " ", "")}


class Format:
    """Only a docstring."""


def pick(items, default=None):
    return items[0] if items else default


if __name__ == "__main__":
    print(render([]))
'''
CORE = "def render(rows, sep=' '):\n    return sep.join(map(str, rows))\n"
CLIENT = """from pkg import render, Line, Row, Format, LIMIT, T, Table, pick, __version__

line = Line("", "-", "")
row = Row(begin="a", end="b")
print(render([1]), line.sep, row.end, Format(), LIMIT + 1, __version__.upper(), pick([1]))
t: Table = {"a": 1}
"""


def test_a_stub_keeps_what_a_checker_needs():
    stub = python_stub(PKG_INIT)
    assert "= ..." not in stub
    assert (
        "from .version import version as _typeinf___version__" in stub
        and "__version__ = _typeinf___version__" in stub
    )
    assert "from .core import render as render" in stub
    assert 'T = TypeVar("T")' in stub and "Table = dict[str, int]" in stub and "LIMIT: int" in stub
    assert "class Line(NamedTuple):" in stub and "class Row(NamedTuple):" in stub
    assert "_formats: Incomplete" in stub and "from _typeshed import Incomplete" in stub
    assert "class Format: ..." in stub and "def pick(items, default=...): ..." in stub
    assert "__main__" not in stub
    compile(stub, "pkg.pyi", "exec")


def test_conditional_definitions_keep_their_first_branch():
    stub = python_stub(
        "if a:\n    x = 1\nelif b:\n    x = 2\nelse:\n    z = 4\n"
        "class C:\n    if a:\n        def f(self): pass\n    elif b:\n        def f(self): return 1\n"
    )
    assert stub == "x: int\nclass C:\n    def f(self): ...\n"


def test_mypy_reports_no_more_errors_on_the_stubs_than_on_the_sources(tmp_path):
    root = project(
        tmp_path / "proj",
        {"pkg/__init__.py": PKG_INIT, "pkg/core.py": CORE, "pkg/version.py": "version = '1.0'\n"},
    )
    r = run(["annotate", "--stubs", str(tmp_path / "stubs"), "pkg"], root)
    assert r.returncode == 0, r.stderr
    (tmp_path / "client.py").write_text(CLIENT)

    def errors(path: Path) -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--no-incremental", "--no-error-summary", "client.py"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env=dict(os.environ, MYPYPATH=str(path)),
        )
        return [line for line in proc.stdout.splitlines() if ": error:" in line]

    on_sources = errors(root)
    on_stubs = errors(tmp_path / "stubs")
    assert len(on_stubs) <= len(on_sources), (on_stubs, on_sources)


def test_a_typescript_file_the_grammar_rejects_still_gets_declarations(tmp_path):
    try:
        find_typescript(tmp_path, typescript_from_env())
    except NoCompiler:
        need_tool(None, "the TypeScript compiler (npm install typescript; TYPEINF_TYPESCRIPT)")
    root = project(
        tmp_path,
        {
            "src/ok.ts": "export function twice(n: number): number {\n  return n * 2;\n}\n",
            "src/odd.ts": "export function f(x: number) {\n  return x +;\n}\n",
            "package.json": '{"name": "p"}',
        },
    )
    r = run(["annotate", "--stubs", "types", "src"], root)
    assert r.returncode == 123  # odd.ts was not annotated: reported
    assert "odd.ts" in r.stderr
    assert "export declare function f(x: number): any;" in (root / "types" / "src" / "odd.d.ts").read_text()
    assert (root / "types" / "src" / "ok.d.ts").exists()
