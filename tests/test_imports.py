"""The import closure that keeps a type checker's answers across runs (typeinf.inference.imports,
typeinf.checker.kept; issue #22): more files rather than fewer, and answers asked again exactly
when a file the checker reads for them changed."""

from __future__ import annotations

from pathlib import Path

from conftest import python_project

from typeinf.checker.base import Query
from typeinf.inference.imports import ImportGraph, module_files, python_imports
from typeinf.inference.project import ProjectIndex

SOURCE = b"""import os, a.b.c as d
from . import sibling
from ..up import (x,
   y as z)
from .mod import *
def f():
    from pkg.lazy import thing
x = 1; import late
from a \\
   import cont
s = "from quoted import name"
"""


def test_every_import_counts_and_names_a_from_imports_are_not_modules() -> None:
    got = python_imports(SOURCE, ("pkg", "sub"))
    assert {"os", "a", "a.b", "a.b.c", "late"} <= got  # plain imports, with their parents
    assert {"pkg.sub", "pkg.sub.sibling", "pkg.up", "pkg.up.x", "pkg.up.y", "pkg.sub.mod"} <= got  # relative
    assert {"pkg.lazy", "pkg.lazy.thing", "a.cont", "quoted", "quoted.name"} <= got  # in a function, a string
    assert not {"sibling", "x", "thing", "cont", "name"} & got  # a name `from` imports is no module
    assert python_imports(b"from .... import deep\n", ("pkg",)) == frozenset()  # above the root: none


def test_module_names_of_project_files(tmp_path: Path) -> None:
    files = [tmp_path / p for p in ("src/pkg/__init__.py", "src/pkg/m.py", "foo-stubs/core.pyi", "README.md")]
    mods = module_files(files, tmp_path)
    assert mods["pkg.m"] == mods["src.pkg.m"] == mods["m"] == [tmp_path / "src/pkg/m.py"]
    assert mods["pkg"] == [tmp_path / "src/pkg/__init__.py"]
    assert mods["foo.core"] == mods["foo-stubs.core"] == [tmp_path / "foo-stubs/core.pyi"]
    graph = ImportGraph(tmp_path)
    graph.add(files[1], "m1", frozenset({"pkg", "os"}))
    graph.add(files[0], "init1", frozenset())
    graph.add(files[2], "core1", frozenset())
    before = graph.digest(files[1])
    graph.add(files[2], "core2", frozenset())  # not imported: the same
    assert graph.digest(files[1]) == before
    graph.add(files[0], "init2", frozenset())  # imported: another
    assert graph.digest(files[1]) != before
    graph.add(files[0], "init1", frozenset({"foo.core"}))  # now importing the stubs: another
    assert graph.digest(files[1]) != before
    graph.add(files[2], "core3", frozenset())
    assert graph.digest(files[1]) != graph.digest(files[0]) and files[1] in graph


def test_a_files_closure_digest_changes_with_the_files_it_imports_only(tmp_path: Path) -> None:
    root = python_project(
        tmp_path,
        {
            "lib.py": "def f():\n    return 1\n",
            "use.py": "from lib import f\n\ny = f()\n",
            "other.py": "z = 2\n",
        },
    )
    index = ProjectIndex.build(root, imports=True)
    use, lib, other = root / "use.py", root / "lib.py", root / "other.py"
    before = index.closure_digest(use)
    assert before is not None and index.has_text(use, use.read_text())
    index.add(other, "python", data=b"z = 3\n")
    assert index.closure_digest(use) == before
    index.add(lib, "python", data=b"def f():\n    return 's'\n")
    assert index.closure_digest(use) != before
    assert ProjectIndex.build(root).closure_digest(use) is None  # an index that does not read imports


def test_kept_answers_are_asked_again_only_when_an_imported_file_changed(tmp_path: Path) -> None:
    """Two runs' engines over one cache folder: the second asks the checker about a file only when
    the file or one it imports changed (the answers then are the new text's), not when another did."""
    from typeinf.checker.kept import KeptAnswers
    from typeinf.inference.engine import Engine, FileSites, default_checkers
    from typeinf.inference.predict import Predictor
    from typeinf.slices import extract

    (tmp_path / "p").mkdir()
    root = python_project(
        tmp_path / "p",
        {
            "lib.py": "def f():\n    return 1\n",
            "use.py": "from lib import f\n\ny = f()\n",
            "other.py": "z = 2\n",
        },
    )
    use = root / "use.py"
    sites = [s for s in extract(use.read_text(), "python", "use.py") if s.kind == "var"]
    asked: list[str] = []

    def run() -> list[str | None]:
        index = ProjectIndex.build(root, imports=True)
        kept = KeptAnswers.open(tmp_path / "cache", "context")
        with Engine(Predictor(), index, default_checkers(root), kept) as engine:
            ck = engine.checker("python")
            assert ck is not None
            ask = ck.types_at_many
            ck.types_at_many = lambda asks: (asked.extend(str(p) for p, _ in asks), ask(asks))[1]  # type: ignore[method-assign]
            return engine.checker_types_many([FileSites(use, "python", sites, use.read_text())])[0]

    assert run() == ["int"] and asked == [str(use)]
    (root / "other.py").write_text("z = 3\n")
    assert run() == ["int"] and asked == [str(use)]  # kept: not asked
    (root / "lib.py").write_text("def f():\n    return 's'\n")
    assert run() == ["str"] and asked == [str(use), str(use)]
    assert [Query(s.line, s.column, s.kind) for s in sites] == [Query(3, 0, "var")]


def test_a_checker_that_failed_leaves_nothing_kept(tmp_path: Path) -> None:
    from typeinf.checker import checker_or_none, python_checker
    from typeinf.checker.kept import KeptAnswers
    from typeinf.inference.engine import Engine, FileSites, default_checkers
    from typeinf.inference.predict import Predictor
    from typeinf.slices import extract

    root = python_project(tmp_path, {"use.py": "y = 1\n"})
    use = root / "use.py"
    sites = extract(use.read_text(), "python", "use.py")

    def broken() -> object:
        ck = checker_or_none(lambda: python_checker(root))
        ck.inner.client.proc.kill()  # type: ignore[attr-defined]
        ck.inner.client.proc.wait()  # type: ignore[attr-defined]
        return ck

    for checkers, expected in (({"python": broken}, [None]), (default_checkers(root), ["int"])):
        kept = KeptAnswers.open(tmp_path / "cache", "context")
        with Engine(Predictor(), ProjectIndex.build(root, imports=True), checkers, kept) as engine:  # type: ignore[arg-type]
            assert (
                engine.checker_types_many([FileSites(use, "python", sites, use.read_text())])[0] == expected
            )


def test_an_edit_reaches_the_kept_answers_of_files_importing_it_through_others(tmp_path: Path) -> None:
    """`predict` twice with one cache folder, a module two imports away (relative ones) edited in
    between: the second run prints what a run on a cold cache prints."""
    import json
    import os
    import subprocess
    import sys

    project = tmp_path / "p"
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname='p'\n")
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "sub" / "__init__.py").write_text("")
    (project / "pkg" / "sub" / "base.py").write_text("def make(n=1):\n    return [n]\n")
    (project / "pkg" / "sub" / "user.py").write_text(
        "from .base import make\n\ndef use(n=3):\n    v = make(n)\n    return v\n"
    )
    (project / "pkg" / "main.py").write_text(
        "from pkg.sub import user\n\ndef go():\n    r = user.use()\n    return r\n"
    )

    def predict(cache: str) -> list[dict[str, object]]:
        env = {**os.environ, "TYPEINF_CACHE_DIR": str(tmp_path / cache)}
        out = subprocess.run(
            [sys.executable, "-m", "typeinf", "predict", ".", "--format", "json"],
            cwd=project, env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return json.loads(out)

    def types(got: list[dict[str, object]]) -> dict[str, object]:
        return {f"{str(p['file']).split('/')[-1]}:{p['name']}": p["type"] for p in got}

    first = types(predict("kept"))
    assert first["main.py:r"] == first["user.py:v"] == "list[int]"
    (project / "pkg" / "sub" / "base.py").write_text("def make(n=1):\n    return {n: n}\n")
    again = predict("kept")
    assert again == predict("cold")
    assert types(again)["main.py:r"] == types(again)["user.py:v"] == "dict[int, int]"
