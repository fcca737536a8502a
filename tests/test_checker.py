"""The type-checker backends (typeinf.checker, issue #20 item 1): real checker processes, no mocks.

The default Python checker is a dependency of the test extra (pyproject.toml), so it runs in CI;
the other backends are tested where their executables are installed beside this Python or on PATH.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import need_tool

from typeinf.checker import (
    PYTHON_BACKENDS,
    CheckerError,
    CheckerTimeout,
    CheckerUnavailable,
    Diagnostic,
    NoChecker,
    Query,
    checker_or_none,
    python_checker,
)
from typeinf.checker.lsp_client import codepoint_col, utf16_col
from typeinf.checker.python import (
    DEFAULT,
    find_executable,
    returns_from_hints,
    type_from_hover,
    writable_type,
)

SOURCE = 'x = 1\n\n\ndef f():\n    return "a"\n\n\nclass C:\n    def m(self):\n        self.k = [1]\n        return self.k\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "m.py").write_text(SOURCE)
    return tmp_path


def _backend(name: str) -> str:
    exe = find_executable(PYTHON_BACKENDS[name].executable)
    need_tool(exe, f"the Python checker {name} (pip install -e '.[test]')")
    return name


def test_default_checker_infers_var_and_return(project: Path) -> None:
    _backend(DEFAULT)
    with python_checker(project) as ck:
        assert ck.name == DEFAULT
        assert ck.types_at("pkg/m.py", [Query(1, 0, "var"), Query(4, 4, "return")]) == ["int", "str"]
        # a dotted target is asked on its attribute, not on self
        assert ck.types_at(project / "pkg" / "m.py", [(10, 8, "var"), (9, 8, "return")]) == [
            "list[int]",
            "list[int]",
        ]


@pytest.mark.parametrize("name", sorted(PYTHON_BACKENDS))
def test_each_backend_var_and_set_text(project: Path, name: str) -> None:
    _backend(name)
    path = project / "pkg" / "m.py"
    with python_checker(project, name) as ck:
        assert ck.types_at("pkg/m.py", [(1, 0)]) == ["int"]
        ck.set_text(path, SOURCE.replace("x = 1", 'x = "s"'))
        assert ck.types_at("pkg/m.py", [(1, 0)]) == ["str"]
        # in memory only: the file on disk is untouched
        assert path.read_text() == SOURCE
        # and again: incremental changes of one document
        ck.set_text(path, SOURCE.replace("x = 1", "x = 1.5"))
        assert ck.types_at("pkg/m.py", [(1, 0)]) == ["float"]
        # released: the disk's text again
        ck.release(path)
        assert ck.types_at("pkg/m.py", [(1, 0)]) == ["int"]


@pytest.mark.parametrize("name", sorted(PYTHON_BACKENDS))
def test_a_text_set_in_one_file_reaches_its_importers_after_sync(project: Path, name: str) -> None:
    """What annotate's rounds need: a return type written in one module is the type of a value in
    the module importing it.  pyrefly and basedpyright show an unsaved text to its own file only
    (pyrefly's issue #5005): `sync` runs them on a shadow copy of the project instead; the
    project's files are never written."""
    _backend(name)
    (project / "pkg" / "lib.py").write_text("def f() -> str:\n    return g()\n")
    (project / "pkg" / "use.py").write_text("from pkg.lib import f\n\ny = f()\n")
    path = project / "pkg" / "lib.py"
    with python_checker(project, name) as ck:
        assert ck.types_at("pkg/use.py", [(3, 0)]) == ["str"]
        ck.set_text(path, "def f() -> float:\n    return g()\n")
        ck.sync()
        assert ck.types_at("pkg/use.py", [(3, 0)]) == ["float"]
        assert path.read_text() == "def f() -> str:\n    return g()\n"
        ck.set_text(path, "def f() -> bytes:\n    return g()\n")
        ck.sync()
        assert ck.types_at("pkg/use.py", [(3, 0)]) == ["bytes"]
        ck.release(path)
        ck.sync()
        assert ck.types_at("pkg/use.py", [(3, 0)]) == ["str"]
    assert path.read_text() == "def f() -> str:\n    return g()\n"
    assert sorted(p.name for p in (project / "pkg").iterdir()) == ["__init__.py", "lib.py", "m.py", "use.py"]


@pytest.mark.parametrize("name", sorted(PYTHON_BACKENDS))
def test_diagnostics_for_a_type_error(project: Path, name: str) -> None:
    _backend(name)
    with python_checker(project, name) as ck:
        assert not [d for d in ck.diagnostics("pkg/m.py") if d.severity == "error"]
        bad = SOURCE + '\n\ny: int = "no"  # é\n'
        ck.set_text("pkg/m.py", bad)
        errors = [d for d in ck.diagnostics("pkg/m.py") if d.severity == "error"]
        assert errors, "a str assigned to an int must be reported"
        d = errors[0]
        assert isinstance(d, Diagnostic)
        assert (d.line, d.column) == (14, 9) and d.code and d.message
        # fixed in memory: the error goes
        ck.set_text("pkg/m.py", SOURCE)
        assert not [d for d in ck.diagnostics("pkg/m.py") if d.severity == "error"]


def test_many_files_asked_at_once_answer_as_one_at_a_time(project: Path) -> None:
    """`types_at_many` has every file's hovers in flight before the first file's replies are read
    (the engine asks a project's files so): the answers are each file's own, in order, and a
    checker that dies mid-batch leaves a run without it (the requests not waited for forgotten)."""
    _backend(DEFAULT)
    (project / "pkg" / "use.py").write_text("from pkg.m import f, C\n\ny = f()\nz = C().m()\nw = 2.5\n")
    asks = [
        ("pkg/use.py", [(3, 0), (4, 0), (5, 0)]),
        ("pkg/m.py", [Query(1, 0, "var"), Query(4, 4, "return"), (10, 8, "var")]),
        ("pkg/__init__.py", []),
        ("pkg/use.py", [(5, 0)]),
    ]
    with python_checker(project) as ck:
        together = ck.types_at_many(asks)
        assert ck.client is not None
        sent = ck.client._next_id
        # asked again while no text changed: the same answers, no new request
        assert together == [ck.types_at(path, qs) for path, qs in asks] and ck.client._next_id == sent
        ck.set_text("pkg/use.py", "from pkg.m import f, C\n\ny = f()\nz = C().m()\nw = 2\n")
        assert ck.types_at("pkg/use.py", [(5, 0)]) == ["int"] and ck.types_at("pkg/m.py", [(1, 0)]) == ["int"]
        ck.set_text("pkg/use.py", "from pkg.m import f, C\n\ny = f()\nz = C().m()\nw = 2.5\n")
        assert together == [["str", "list[int]", "float"], ["int", "str", "list[int]"], [], ["float"]]
        assert ck.client is not None and not ck.client._waiting and not ck.client._replies
    ck = checker_or_none(lambda: python_checker(project))
    try:
        ck.inner.client.proc.kill()  # type: ignore[attr-defined]
        ck.inner.client.proc.wait()  # type: ignore[attr-defined]
        assert ck.types_at_many(asks) == [[None] * 3, [None] * 3, [], [None]] and not ck.available
    finally:
        ck.close()


def test_unavailable_checker_raises_the_documented_error(project: Path) -> None:
    with pytest.raises(CheckerUnavailable, match="cannot start"):
        python_checker(project, DEFAULT, executable=str(project / "no-such-checker"))
    with pytest.raises(CheckerUnavailable, match="unknown Python checker"):
        python_checker(project, "no-such-checker")


def test_without_a_checker_model_only(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> NoChecker:
        raise CheckerUnavailable("not installed")

    with caplog.at_level(logging.WARNING, logger="typeinf.checker"):
        ck = checker_or_none(broken)
    assert isinstance(ck, NoChecker) and not ck.available
    assert "without the checker" in caplog.text
    assert ck.types_at("pkg/m.py", [(1, 0), (4, 4, "return")]) == [None, None]
    assert ck.diagnostics("pkg/m.py") == []


def test_checker_that_does_not_answer_times_out(project: Path) -> None:
    mute = project / "mute-checker"
    mute.write_text("#!/bin/sh\nexec sleep 60\n")
    mute.chmod(0o755)
    with pytest.raises(CheckerTimeout):
        python_checker(project, DEFAULT, executable=str(mute), timeout=1, open_timeout=1)


def test_checker_that_crashes_mid_run_falls_back_to_model_only(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _backend(DEFAULT)
    ck = checker_or_none(lambda: python_checker(project))
    try:
        assert ck.available and ck.types_at("pkg/m.py", [(1, 0)]) == ["int"]
        inner = ck.inner  # type: ignore[attr-defined]
        inner.client.proc.kill()
        inner.client.proc.wait()
        with caplog.at_level(logging.WARNING, logger="typeinf.checker"):
            assert ck.types_at("pkg/m.py", [(1, 0), (4, 4, "return")]) == [None, None]
        assert "without the checker" in caplog.text and not ck.available
        assert ck.diagnostics("pkg/m.py") == []
    finally:
        ck.close()


def test_crashed_checker_raises_unavailable(project: Path) -> None:
    _backend(DEFAULT)
    ck = python_checker(project)
    try:
        assert ck.client is not None
        ck.client.proc.kill()
        ck.client.proc.wait()
        with pytest.raises(CheckerUnavailable):
            ck.types_at("pkg/m.py", [(1, 0)])
    finally:
        ck.close()


def test_hover_text_to_type() -> None:
    md = {"kind": "markdown", "value": "```python\n(variable) x: Literal[1]\n```"}
    assert type_from_hover(md, "var") == "int"
    sig = {
        "kind": "markdown",
        "value": "```python\n(function) def g(\n    a: int,\n) -> Optional[List[str]]\n```",
    }
    assert type_from_hover(sig, "return") == "list[str] | None"
    assert (
        type_from_hover(
            {"value": "```python\n(function) f: def f() -> Literal['a', 'b']: ...\n```"}, "return"
        )
        == "str"
    )
    assert type_from_hover({"value": "```python\nUnknown | Literal[2]\n```"}, "param") is None
    assert type_from_hover({"value": "```python\nUnknown | Literal[2]\n```"}, "param", partial=True) == "int"
    assert writable_type("list[Unknown]") is None
    assert writable_type("Any") is None
    assert writable_type("None", "var") is None and writable_type("None", "return") == "None"
    assert writable_type("Literal[Color.RED] | None") == "Color | None"
    assert writable_type("dict[str, Literal[-1, 2]]") == "dict[str, int]"


DECORATED = """from typing import Callable


def validator(message: str) -> Callable[[Callable], Callable[..., None]]:
    def wrap(func: Callable) -> Callable[..., None]:
        def checked(*args, **kwargs):
            if not func(*args, **kwargs):
                raise ValueError(message)

        return checked

    return wrap


def untyped(func):
    return func


class Block:
    options = None

    @validator("too many options")
    def _validate_length(self):
        return self.options is None or len(self.options) <= 100

    @untyped
    def label(self):
        return "block"

    async def fetch(self):
        return 1
"""


def test_a_decorated_function_has_its_own_return_type_not_the_decorated_one(tmp_path: Path) -> None:
    """The hover on a decorated function's name shows what the decorator made of it (`None` for
    every validator here, `Unknown` under an untyped decorator); the return site is the function's
    own, which the server's inlay hint after its parameters shows."""
    _backend(DEFAULT)
    (tmp_path / "blocks.py").write_text(DECORATED)
    lines = DECORATED.split("\n")
    at = {
        n: (i + 1, line.index(n))
        for i, line in enumerate(lines)
        for n in ("_validate_length", "label", "fetch")
        if f"def {n}(" in line
    }
    with python_checker(tmp_path) as ck:
        got = ck.types_at(
            "blocks.py", [Query(*at[n], "return") for n in ("_validate_length", "label", "fetch")]
        )
        assert got == ["bool", "str", "int"]


def test_inlay_hints_belong_to_the_def_before_them() -> None:
    lines = ["def f(a,", "      b):", "    def g(): pass", "async def h(x): ..."]
    hints = [
        {"label": [{"value": " -> "}, {"value": "int"}], "position": {"line": 1, "character": 8}},
        {"label": " -> None", "position": {"line": 2, "character": 11}},
        {"label": ": str", "position": {"line": 3, "character": 14}},  # not a return hint
    ]
    assert returns_from_hints(hints, lines) == {(0, 4): "int", (2, 8): "None"}
    assert returns_from_hints(None, lines) == {}


def test_utf16_columns() -> None:
    line = "s = '😀'; y = 1"
    assert utf16_col(line, 10) == 11
    assert codepoint_col(line, 11) == 10


# ------------------------------------------------------------------------------------ TypeScript
TS_SOURCE = 'export const x = 1;\nexport function f() {\n    return "a";\n}\nexport class C {\n    m(n = 2) {\n        return [n];\n    }\n}\n'


@pytest.fixture
def ts_project(tmp_path: Path) -> Path:
    from typeinf.annotate.dts import typescript_from_env
    from typeinf.checker.typescript import find_node, find_typescript

    need_tool(find_node(), "node")
    need_tool(
        find_typescript(tmp_path, typescript_from_env()), "the TypeScript compiler (TYPEINF_TYPESCRIPT)"
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.ts").write_text(TS_SOURCE)
    (tmp_path / "tsconfig.json").write_text(
        '{"compilerOptions": {"strict": true, "target": "ES2022"}, "include": ["src"]}'
    )
    return tmp_path


def test_typescript_checker(ts_project: Path) -> None:
    from typeinf.annotate.dts import typescript_from_env
    from typeinf.checker.typescript import typescript_checker

    path = ts_project / "src" / "a.ts"
    with typescript_checker(ts_project, typescript=typescript_from_env()) as ck:
        assert ck.types_at(
            "src/a.ts", [(1, 13, "var"), (2, 16, "return"), (6, 6, "param"), (6, 4, "return")]
        ) == ["number", "string", "number", "number[]"]
        assert ck.diagnostics("src/a.ts") == []
        ck.set_text(path, TS_SOURCE.replace("x = 1", 'x = "s"') + 'export const y: number = "no";\n')
        assert ck.types_at("src/a.ts", [(1, 13)]) == ["string"]
        assert path.read_text() == TS_SOURCE
        errors = ck.diagnostics("src/a.ts")
        assert [(d.line, d.column, d.code) for d in errors] == [(10, 13, "TS2322")]
        ck.release(path)
        assert ck.types_at("src/a.ts", [(1, 13)]) == ["number"] and ck.diagnostics("src/a.ts") == []


def test_a_typescript_variable_that_starts_empty_has_the_type_its_uses_give_it(ts_project: Path) -> None:
    """`const out = []` is `any[]` at its declaration and `let found = null` is `null`: the compiler
    evolves them by what the code puts in them, so the type is read at their last use."""
    from typeinf.annotate.dts import typescript_from_env
    from typeinf.checker.typescript import typescript_checker

    (ts_project / "src" / "e.ts").write_text(
        "interface Item { id: number }\n"
        "export function ids(items: Item[]) {\n"
        "  const out = [];\n  for (const it of items) out.push(it.id);\n  return out;\n}\n"
        "export function first(items: Item[]) {\n"
        "  let found = null;\n  for (const it of items) if (it.id > 0) found = it;\n  return found;\n}\n"
        "export function none() {\n  const xs = [];\n  return xs.length;\n}\n"
    )
    with typescript_checker(ts_project, typescript=typescript_from_env()) as ck:
        got = ck.types_at("src/e.ts", [(3, 8, "var"), (8, 6, "var"), (13, 8, "var")])
    assert got[:2] == ["number[]", "Item | null"]
    assert got[2] in (None, "never[]")  # nothing put in it: nothing more to say


def test_an_error_inside_the_typescript_compiler_leaves_a_run_without_the_checker(
    ts_project: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The compiler's stack overflows on deeply nested code (and, measured, on router-core's types
    without its tsconfig.json): the bridge answers with an error, which is the checker failing
    (CheckerError): the run goes on without it, with one warning, not a traceback."""
    from typeinf.annotate.dts import typescript_from_env
    from typeinf.checker.typescript import typescript_checker
    from typeinf.cli import main

    deep = ts_project / "src" / "deep.ts"
    deep.write_text("export const x = " + "[" * 3000 + "1" + "]" * 3000 + ";\n")
    with typescript_checker(ts_project, typescript=typescript_from_env()) as ck:
        with pytest.raises(CheckerError, match="Maximum call stack"):
            ck.diagnostics(deep)
    ck2 = checker_or_none(lambda: typescript_checker(ts_project, typescript=typescript_from_env()))
    try:
        with caplog.at_level(logging.WARNING, logger="typeinf.checker"):
            assert ck2.diagnostics(deep) == []
        assert "without the checker" in caplog.text and not ck2.available
    finally:
        ck2.close()
    (ts_project / "src" / "b.ts").write_text("export function g(a, b = 2) { return [a, b] }\n")
    assert main(["annotate", "--check", str(ts_project)]) in (0, 1)  # (1: b.ts would be annotated)
    err = capsys.readouterr().err
    assert "results without the checker" in err and "Traceback" not in err


def test_typescript_checker_unavailable(tmp_path: Path) -> None:
    from typeinf.checker.typescript import typescript_checker

    with pytest.raises(CheckerUnavailable, match="cannot start node"):
        typescript_checker(tmp_path, node=str(tmp_path / "no-node"), typescript=tmp_path)
