"""What annotate writes still compiles and imports: `global`/`nonlocal` names are not sites, names an
evaluated annotation uses are bound there or the annotation is quoted, the last check before a
write compiles the file and looks for new unbound names, and text too deep for libcst's parser is
refused instead of crashing the process.  Codemod-level tests use fixed edits (no model); the
end-to-end ones run the CLI with the shipped model at --min-confidence 0 (every site written)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from typeinf.annotate import Options, apply
from typeinf.annotate.bound import evaluation_envs, unbound_annotation_names
from typeinf.annotate.check import python_problem
from typeinf.annotate.edits import Edit, NotParsable
from typeinf.annotate.python import annotate_python
from typeinf.slices import extract


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "typeinf", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def site(src: str, kind: str, name: str, nth: int = 0) -> int:
    return [s.span[0] for s in extract(src, "python", "m.py") if s.kind == kind and s.name == name][nth]


def offset(src: str, needle: str, nth: int = 0) -> int:
    at = -1
    for _ in range(nth + 1):
        at = src.index(needle, at + 1)
    return len(src[:at].encode("utf-8"))


# ------------------------------------------------------------------ 1. global / nonlocal
GLOBALS = """atexit_done = None


def _wipe():
    global atexit_done
    atexit_done = False


def _first():
    global first_seen
    first_seen = 1


def outer():
    n = 1

    def inner():
        nonlocal n
        n = 5

    inner()
    return n
"""


def test_global_and_nonlocal_names_are_not_annotation_sites_where_declared():
    by_line = {(s.name, s.line): s for s in extract(GLOBALS, "python", "m.py") if s.kind == "var"}
    assert by_line[("atexit_done", 1)].annotatable  # the module's own binding
    assert not any(name == "atexit_done" and line != 1 for name, line in by_line)
    assert not by_line[("first_seen", 11)].annotatable  # first bound under `global`: no site there
    assert by_line[("n", 15)].annotatable and not any(name == "n" and line == 19 for name, line in by_line)


def test_annotating_every_site_of_global_and_nonlocal_code_still_compiles(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "g"\nrequires-python = ">=3.10"\n')
    (tmp_path / "g.py").write_text(GLOBALS)
    r = run(["annotate", "--min-confidence", "0", "g.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "g.py").read_text()
    assert out != GLOBALS
    compile(out, "g.py", "exec")
    assert "    atexit_done = False" in out and "        n = 5" in out
    assert run(["annotate", "--check", "--min-confidence", "0", "g.py"], tmp_path).returncode == 0


# ------------------------------------------------------------------ 2. names bound at run time
SHOP = """from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shop.models import Order


def send_receipt(order, outdir):
    return outdir + str(order.total)


def make_order():
    from shop.models import Order
    return Order(5)


def later():
    return Thing()


class Thing:
    def copy(self):
        return Thing()

    def same(self, other):
        return other


def after():
    return Thing()
"""


def test_annotations_naming_unbound_names_are_quoted():
    edits = [
        Edit("param", site(SHOP, "param", "order"), "Order"),
        Edit("return", site(SHOP, "return", "make_order"), "Order"),
        Edit("return", site(SHOP, "return", "later"), "Thing | None"),
        Edit("return", site(SHOP, "return", "copy"), "Thing"),
        Edit("param", site(SHOP, "param", "other"), "list[Thing]"),
        Edit("return", site(SHOP, "return", "after"), "Thing"),
        Edit("param", site(SHOP, "param", "outdir"), "str"),
    ]
    out, applied, _ = annotate_python(SHOP, edits, (3, 10))
    assert len(applied) == len(edits)
    assert 'def send_receipt(order: "Order", outdir: str):' in out  # TYPE_CHECKING-only import
    assert 'def make_order() -> "Order":' in out  # imported only inside the function
    assert 'def later() -> "Thing | None":' in out  # defined further down
    assert 'def copy(self) -> "Thing":' in out and 'other: "list[Thing]"' in out  # being defined
    assert "def after() -> Thing:" in out  # bound by then: not quoted
    assert unbound_annotation_names(ast.parse(out), out.encode()) == []
    assert python_problem(SHOP, out) is None


def test_future_annotations_and_local_variables_need_no_quotes():
    src = "from __future__ import annotations\n\n\ndef f():\n    return Later()\n\n\nclass Later:\n    pass\n"
    out, _, _ = annotate_python(src, [Edit("return", site(src, "return", "f"), "Later")])
    assert "def f() -> Later:" in out
    local = "def f():\n    x = make()\n    return x\n"
    envs = evaluation_envs(ast.parse(local), local.encode())
    assert envs[("var", offset(local, "x ="))] is None  # a local's annotation is never evaluated


def test_names_bound_by_walrus_and_nested_blocks_count_where_annotations_run():
    """`:=` in a condition binds at module level (the walk searches expressions only in a text
    holding `:=`), and a name bound three blocks deep counts after its statement, asked once."""
    src = (
        "if (Alias := int):\n    pass\n\n\ndef f(x: Alias) -> Deep: ...\n\n\n"
        "for i in range(1):\n    if i:\n        try:\n            class Deep: ...\n        except E:\n            pass\n\n\n"
        "def g(y: Deep) -> Alias: ...\n"
    )
    missing = unbound_annotation_names(ast.parse(src), src.encode())
    assert missing == [(5, "Deep")]  # f's return runs before the loop binds Deep; Alias is bound
    plain = src.replace("(Alias := int)", "True")
    assert unbound_annotation_names(ast.parse(plain), plain.encode()) == [
        (5, "Alias"),
        (5, "Deep"),
        (16, "Alias"),
    ]


def test_module_and_class_variable_annotations_are_evaluated_where_they_run():
    src = "X = build()\n\n\nclass A:\n    y = 1\n    z = A2()\n\n\nclass A2:\n    pass\n"
    edits = [
        Edit("var", offset(src, "X"), "A2"),
        Edit("var", offset(src, "z"), "A2"),
        Edit("var", offset(src, "y"), "int"),
    ]
    out, applied, _ = annotate_python(src, edits, aggressive=True)
    assert len(applied) == 3
    assert 'X: "A2" = build()' in out and 'z: "A2" = A2()' in out and "y: int = 1" in out


def test_the_second_round_quotes_a_type_checking_import_written_by_the_first(tmp_path):
    """The issue's case: round 1 adds `if TYPE_CHECKING: from shop.models import Order` for the
    parameter; the return of another function written later must be quoted too."""
    first = SHOP.replace(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from shop.models import Order\n\n\n", ""
    )
    out, _, _ = annotate_python(
        first, [Edit("param", site(first, "param", "order"), "Order", (), (("shop.models", "Order"),))]
    )
    out2, _, _ = annotate_python(out, [Edit("return", site(out, "return", "make_order"), "Order")])
    assert 'order: "Order"' in out2 and 'def make_order() -> "Order":' in out2


# ------------------------------------------------------------------ 3. the write check
def test_the_write_check_rejects_what_does_not_compile_or_import():
    broken = GLOBALS.replace("    atexit_done = False", "    atexit_done: bool = False")
    assert "would not compile" in (python_problem(GLOBALS, broken) or "")
    unbound = "def f() -> Later:\n    pass\n\n\nclass Later:\n    pass\n"
    assert "NameError" in (python_problem(unbound.replace(" -> Later", ""), unbound) or "")
    # an unbound name that was there before is not the annotation's doing
    assert python_problem(unbound, unbound.replace("pass\n\n\nclass", "return 1\n\n\nclass")) is None


def test_apply_leaves_a_file_it_would_break_unchanged():
    """An edit that reaches the codemod anyway (here: a `global` name given directly) is refused by
    the check, not written."""
    data = GLOBALS.encode()
    edit = Edit("var", offset(GLOBALS, "atexit_done = False"), "bool")
    with pytest.raises(NotParsable, match="would not compile"):
        apply(data, "python", [edit], Options(min_confidence=0.0), "g.py")


# ------------------------------------------------------------------ #19.1 deep nesting
def test_nesting_too_deep_for_libcst_is_refused_not_a_crash():
    deep = "X = " + "(" * 1500 + "1" + ")" * 1500 + "\n"
    with pytest.raises(NotParsable, match="too deep"):
        annotate_python(deep, [Edit("var", 0, "int")])


def test_a_deep_file_is_reported_and_the_others_annotated(tmp_path):
    """Nine files (the worker pool's path): the deep one is skipped with a message, exit 123, and
    the others are written."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "d"\nrequires-python = ">=3.10"\n')
    (tmp_path / "deep.py").write_text(
        "def is_on(strict=False):\n    return " + "(" * 1500 + "1" + ")" * 1500 + "\n"
    )
    for i in range(8):
        (tmp_path / f"ok{i}.py").write_text("def is_on(strict=False):\n    return True\n")
    r = run(["annotate", "--min-confidence", "0", "."], tmp_path)
    assert r.returncode == 123, r.stderr
    assert "deep.py" in r.stderr and "too deep" in r.stderr
    for i in range(8):
        assert "strict: bool = False" in (tmp_path / f"ok{i}.py").read_text()


# ------------------------------------------------------------------ #18.9 inferrable TypeScript types
def test_typescript_sites_the_compiler_infers_from_a_literal_are_left_alone(tmp_path):
    (tmp_path / "package.json").write_text('{"name": "t"}\n')
    src = (
        "export function count(items, start = 0) {\n  let i = 0;\n  const label = 'n';\n"
        "  const double = (x) => x * 2;\n  for (const it of items) { i += double(it); }\n  return i + start;\n}\n"
    )
    (tmp_path / "a.ts").write_text(src)
    r = run(["annotate", "--min-confidence", "0", "a.ts"], tmp_path)
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "a.ts").read_text()
    assert (
        "start = 0" in out
        and "let i = 0;" in out
        and "const label = 'n';" in out
        and "const double = (" in out
    )
    assert "items:" in out  # the others are still written
    (tmp_path / "a.ts").write_text(src)
    r = run(["annotate", "--min-confidence", "0", "--inferrable-types", "a.ts"], tmp_path)
    out = (tmp_path / "a.ts").read_text()
    assert r.returncode == 0 and "start: number = 0" in out and "let i: number = 0" in out


def test_the_typescript_compilers_parser_judges_the_annotated_text(tmp_path):
    from conftest import need_tool

    from typeinf.annotate.dts import NoCompiler, find_typescript, syntax_regressions, typescript_from_env

    try:
        find_typescript(tmp_path, typescript_from_env())
    except NoCompiler:
        need_tool(None, "the TypeScript compiler (npm install typescript; TYPEINF_TYPESCRIPT)")
    good = b"export function f(x) {\n  return x;\n}\n"
    pairs = {
        tmp_path / "a.ts": (good, good.replace(b"f(x)", b"f(x: number)")),
        tmp_path / "b.ts": (good, good.replace(b"f(x)", b"f(x: )")),
        tmp_path / "c.tsx": (b"const a = <div/>;\n", b"const a: JSX.Element = <div/>;\n"),
    }
    broken = syntax_regressions(tmp_path, pairs, configured=typescript_from_env())
    assert (
        broken is not None and set(broken) == {tmp_path / "b.ts"} and "expected" in broken[tmp_path / "b.ts"]
    )


def test_collections_types_are_imported_not_assumed_builtin():
    from typeinf.annotate import plan
    from typeinf.inference.finalize import Prediction

    src = "def f(q=None):\n    q.append(1)\n    return q\n"
    sl = next(s for s in extract(src, "python", "m.py") if s.kind == "param")
    planned = plan([Prediction(sl, "deque[int]", 0.99, "model")], Options(min_confidence=0.5), "python")
    (edit,) = planned.edits
    assert edit.imports == (("collections", "deque"),)
    out, applied, _ = annotate_python(src, planned.edits)
    assert "from collections import deque" in out and "q: deque[int] = None" in out
    compile(out, "m.py", "exec")
