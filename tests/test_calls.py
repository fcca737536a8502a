"""Evidence across functions (typeinf.inference.calls, issue #20 item 6): a parameter joined to the
arguments its function's call sites pass, with real parsers, and their types through the engine
with a real checker (pyrefly, the TypeScript compiler)."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT, checked_engine, need_tool, python_project, python_sites

from typeinf.inference.calls import AcrossMemo, Argument, CallTable, FileCalls, Param, across, scan_calls
from typeinf.inference.project import ProjectIndex
from typeinf.slices import extract
from typeinf.slices.data import Expr
from typeinf.slices.source import parse

PY = b"""class Store:
    def __init__(self, name, size=3, *, strict=False):
        self.name = name

    def put(self, key, value=None):
        return key

    @staticmethod
    def make(path):
        return Store(path)


def run(a, b=None, *rest, c, **kw):
    s = Store("main", size=b)
    s.put(3.5, value=True)
    return Store.make(a)


run("x", 2, c=Store("n"))
run(*args, c=1)
"""

TS = b"""export function load(path, retries) { return path }
class Client { constructor(private url, timeout) {} get(key) { return key } }
const parse = (text) => text
load("a.json", 3)
new Client(base, 10).get(new Key())
parse(`x${1}`)
load(...xs)
"""


def _table(data: bytes, language: str, path: Path) -> tuple[CallTable, dict[str, tuple[int, int]]]:
    fc = scan_calls(parse(data, language).root_node, language, data)
    positions = {
        f"{s.qualname}.{s.name}": (s.line, s.column)
        for s in extract(data, language, path.name)
        if s.kind == "param"
    }
    return CallTable.build([(path, fc)]), positions


def _passed(table: CallTable, path: Path, at: tuple[int, int]) -> list[str | None]:
    return [a.static if a.static is not None else "?" for _, a in table.arguments(path, *at)]


def test_python_parameters_meet_the_arguments_of_their_calls() -> None:
    path = Path("/p/m.py")
    table, at = _table(PY, "python", path)
    # the constructor's parameters are met by `Store(...)` calls, `self` not counted
    assert _passed(table, path, at["Store.__init__.name"]) == ["?", "str", "str"]  # `Store(path)` first
    assert _passed(table, path, at["Store.__init__.size"]) == ["?"]  # by keyword: `size=b`
    assert _passed(table, path, at["Store.__init__.strict"]) == []
    assert _passed(table, path, at["Store.put.key"]) == ["float"]
    assert _passed(table, path, at["Store.put.value"]) == ["bool"]
    assert _passed(table, path, at["Store.make.path"]) == ["?"]  # a static method: no `self`
    assert _passed(table, path, at["run.a"]) == ["str"]  # `run(*args, ...)`: nothing positional after a splat
    assert _passed(table, path, at["run.b"]) == ["int"]
    assert _passed(table, path, at["run.c"]) == ["Store", "int"]  # keyword-only, a constructor's type
    assert _passed(table, path, at["run.kw"]) == []
    # a name passed is asked about where it is: `a` of `Store.make(a)`, line 16
    asked = [a.ask for _, a in table.arguments(path, *at["Store.make.path"])]
    assert asked == [(16, 22)]


def test_typescript_parameters_meet_the_arguments_of_their_calls() -> None:
    path = Path("/p/m.ts")
    table, at = _table(TS, "typescript", path)
    assert _passed(table, path, at["load.path"]) == ["string"]  # `load(...xs)` passes nothing known
    assert _passed(table, path, at["load.retries"]) == ["number"]
    assert _passed(table, path, at["Client.constructor.url"]) == ["?"]
    assert _passed(table, path, at["Client.constructor.timeout"]) == ["number"]
    assert _passed(table, path, at["Client.get.key"]) == ["Key"]
    assert _passed(table, path, at["parse.text"]) == ["string"]


def test_a_name_defined_twice_in_the_project_gives_no_evidence() -> None:
    """Two functions `get` in the project: a call `x.get(1)` could be either, so neither hears it."""
    one = b"class A:\n    def get(self, k):\n        return k\n"
    two = b"class B:\n    def get(self, k):\n        return k\n\nB().get(1)\n"
    fa = scan_calls(parse(one, "python").root_node, "python", one)
    fb = scan_calls(parse(two, "python").root_node, "python", two)
    table = CallTable.build([(Path("/p/a.py"), fa), (Path("/p/b.py"), fb)])
    assert table.arguments(Path("/p/b.py"), 2, 18) == []
    alone = CallTable.build([(Path("/p/b.py"), fb)])
    assert alone.param(Path("/p/b.py"), 2, 18) == Param("get", 0, "k", True, name="k", owner="B")
    assert alone.arguments(Path("/p/b.py"), 2, 18) == [
        (Path("/p/b.py"), Argument(0, None, "int", None, "1", "literal"))
    ]


def test_the_index_keeps_the_calls_up_to_date_after_an_edit(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    (tmp_path / "lib.py").write_text("def area(width, height):\n    return width * height\n")
    (tmp_path / "main.py").write_text("from lib import area\n\narea(2, 3)\n")
    index = ProjectIndex.build(tmp_path)
    lib = (tmp_path / "lib.py").resolve()
    assert [a.static for _, a in index.calls_for("python").arguments(lib, 1, 9)] == ["int"]
    edited = b"from lib import area\n\narea(2.5, 3)\n\ndef other(x):\n    area(x, 1)\n"
    index.add(tmp_path / "main.py", "python", data=edited)
    table = index.calls_for("python")
    assert [a.static for _, a in table.arguments(lib, 1, 9)] == ["float", None]
    # the edited table (one file's calls replaced) is the one a fresh scan of the project builds
    (tmp_path / "main.py").write_bytes(edited)
    assert table == ProjectIndex.build(tmp_path).calls_for("python")


def test_the_engine_asks_pyrefly_the_types_of_the_names_callers_pass(tmp_path: Path) -> None:
    """A real checker: `render(page)` in another module, where `page` is an annotated `Page`; the
    parameter of `render` hears `Page` (and the literal passed by the other call, `str`), only types
    that can be named where the parameter is."""
    from typeinf.inference.engine import FileSites

    root = python_project(
        tmp_path,
        {
            "view.py": "from model import Page\n\ndef render(page, title):\n    return page.body + title\n",
            "model.py": "class Page:\n    body: str = ''\n",
            "app.py": (
                "from model import Page\nfrom view import render\n\n"
                "def main(page: Page) -> str:\n    return render(page, 'Home')\n"
            ),
        },
    )
    sites = python_sites(root, "view.py", "param")
    with checked_engine(root) as engine:
        ev = engine.evidence(FileSites(root / "view.py", "python", sites))
        written_only = engine.evidence(FileSites(root / "view.py", "python", sites), checker=False)
    by_name = {s.name: e for s, e in zip(sites, ev, strict=True)}
    assert by_name["page"].calls is not None and by_name["page"].calls.counts == (("Page", 1),)
    assert by_name["title"].calls is not None and by_name["title"].calls.counts == (("str", 1),)
    assert {s.name: e.calls for s, e in zip(sites, written_only, strict=True)}["page"] is None


def test_the_engine_asks_the_typescript_compiler_the_types_of_the_names_callers_pass(tmp_path: Path) -> None:
    from typeinf.annotate.dts import typescript_from_env
    from typeinf.checker.typescript import find_node, find_typescript
    from typeinf.inference.engine import Engine, FileSites, default_checkers
    from typeinf.inference.predict import Predictor

    need_tool(find_node(), "node")
    need_tool(
        find_typescript(tmp_path, typescript_from_env()), "the TypeScript compiler (TYPEINF_TYPESCRIPT)"
    )

    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "tsconfig.json").write_text('{"compilerOptions": {"strict": true}, "include": ["*.ts"]}')
    (tmp_path / "view.ts").write_text("export function render(page) { return page.body }\n")
    (tmp_path / "app.ts").write_text(
        "import { render } from './view'\nexport class Page { body = '' }\n"
        "export function main(p: Page) { return render(p) }\n"
    )
    sites = [
        s for s in extract((tmp_path / "view.ts").read_text(), "typescript", "view.ts") if s.kind == "param"
    ]
    with Engine(
        Predictor(), ProjectIndex.build(tmp_path), default_checkers(tmp_path, typescript_from_env())
    ) as engine:
        ev = engine.evidence(FileSites(tmp_path / "view.ts", "typescript", sites))
    assert ev[0].calls is not None and ev[0].calls.counts == (("Page", 1),)


def test_an_edit_inside_a_function_rescans_only_its_calls() -> None:
    """On this package's own modules: a line with a call added to each module-level function's body
    (and the function's last line removed); the calls and parameters kept, moved or scanned again
    (`rescan`) are exactly those of a scan of the edited text from scratch."""

    from typeinf.inference.project import rescan, scan_file

    checked = 0
    for name in ("engine.py", "calls.py", "project.py"):
        data = (ROOT / "typeinf" / "inference" / name).read_bytes()
        root = parse(data, "python").root_node
        functions = [n for n in root.named_children if n.type == "function_definition"]
        for fn in functions[:8]:
            body = fn.child_by_field_name("body")
            assert body is not None
            at = body.named_children[-1].start_byte
            indent = at - data.rfind(b"\n", 0, at) - 1
            added = data[:at] + b"helper(1, name='x', value=other)\n" + b" " * indent + data[at:]
            last = body.named_children[-1]
            removed = data[: last.start_byte] + b"pass" + data[last.end_byte :]
            for edited in (added, removed):
                scan = rescan(data, scan_file(data, "python"), edited, "python")
                assert scan.calls == scan_file(edited, "python").calls
                checked += 1
    assert checked > 20


def test_a_value_hears_the_annotation_of_the_parameter_it_is_passed_to(tmp_path: Path) -> None:
    """Partially typed code: `save(u)` where `save` declares `user: User` in another module; `u` hears
    `User`, as the project's types are named where `u` is; a method called as one, by keyword too."""
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.predict import Predictor

    root = python_project(
        tmp_path,
        {
            "store.py": (
                "class User:\n    pass\n\n\ndef save(user: User, *, retries: int = 3) -> None:\n    pass\n\n\n"
                "class Cache:\n    def put(self, key: str, value) -> None:\n        pass\n"
            ),
            "app.py": "from store import save\n\n\ndef handle(u, n, c, k):\n    save(u, retries=n)\n    c.put(k, u)\n",
        },
    )
    sites = [s for s in extract((root / "app.py").read_text(), "python", "app.py") if s.kind == "param"]
    with Engine(Predictor(), ProjectIndex.build(root), None) as engine:
        ev = {
            s.name: e.callees
            for s, e in zip(sites, engine.evidence(FileSites(root / "app.py", "python", sites)), strict=True)
        }
    assert ev["u"] is not None and ev["u"].counts == (("User", 1),)  # `value` of `put` is not annotated
    assert ev["n"] is not None and ev["n"].counts == (("int", 1),)
    assert ev["k"] is not None and ev["k"].counts == (("str", 1),)
    assert ev["c"] is None


def test_a_parameter_stored_into_a_declared_attribute_hears_its_annotation(tmp_path: Path) -> None:
    """`self.guards = guards` where the class declares `guards: Sequence[Guard] | None` (a class-body
    declaration: kept by the strip protocol, as a dataclass needs it) or `self.size: int = ...` in
    another method: the parameter hears that annotation; a value transformed on the way
    (`self.name = name.strip()`), an attribute of something else than `self`, a store in a nested
    function and an undeclared attribute say nothing."""
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.predict import Predictor

    code = (
        "from typing import Sequence\n\n\nclass Guard:\n    pass\n\n\nclass Route:\n"
        "    guards: Sequence[Guard] | None\n    name: str\n\n"
        "    def __init__(self, guards, name, size, other, inner, peer):\n"
        "        if guards:\n            self.guards = guards\n        self.name = name.strip()\n"
        "        self.size = size\n        self.other = other\n        peer.name = peer\n"
        "        def later():\n            self.name = inner\n\n"
        "    def reset(self):\n        self.size: int = 0\n"
    )
    root = python_project(tmp_path, {"route.py": code})
    params = {
        p.name: p.stored
        for p in scan_calls(parse(code.encode(), "python").root_node, "python", code.encode()).params.values()
    }
    assert params == {
        "guards": "Sequence[Guard] | None",
        "name": None,
        "size": "int",
        "other": None,
        "inner": None,
        "peer": None,
    }
    sites = python_sites(root, "route.py", "param")
    with Engine(Predictor(), ProjectIndex.build(root), None) as engine:
        ev = {
            s.name: e.callees
            for s, e in zip(
                sites, engine.evidence(FileSites(root / "route.py", "python", sites)), strict=True
            )
        }
    assert ev["guards"] is not None and ev["guards"].counts == (("Sequence[Guard] | None", 1),)
    assert ev["size"] is not None and ev["size"].counts == (("int", 1),)
    assert all(ev[n] is None for n in ("name", "other", "inner", "peer"))


def test_a_typescript_parameter_stored_into_a_declared_field_hears_its_type() -> None:
    """`this.url = url` where the class declares `private url: string;` (a field without an
    initialiser: kept by the strip protocol); a store inside an arrow function, into an undeclared
    field or of a transformed value says nothing."""
    code = (
        b"class Client {\n  private url: string;\n  timeout?: number;\n"
        b"  constructor(url, t, later, other, raw) {\n    this.url = url;\n    if (t) { this.timeout = t; }\n"
        b"    const f = () => { this.url = later; };\n    this.other = other;\n    this.url = raw.trim();\n  }\n"
        b"  retry(kind, n) {\n    switch (kind) {\n      case 1: this.timeout = n; break;\n      default: break;\n    }\n  }\n}\n"
    )
    params = scan_calls(parse(code, "typescript").root_node, "typescript", code).params.values()
    assert {p.name: p.stored for p in params} == {
        "url": "string",
        "t": "number",
        "later": None,
        "other": None,
        "raw": None,
        "kind": None,
        "n": "number",  # a store inside a `switch`'s case
    }


def test_the_next_round_predicts_the_files_whose_evidence_a_round_changed(tmp_path: Path) -> None:
    """After a round wrote `session` and the signature of `save` in store.py: a file with a site
    named `session`, a file calling `save`, a file defining a function store.py or that caller calls
    are predicted again; a file with none of these is not."""
    from types import SimpleNamespace

    from typeinf.annotate.run import FileResult, dependents
    from typeinf.files import SourceFile

    root = python_project(
        tmp_path,
        {
            "store.py": "from util import clean\n\ndef save(session, row):\n    return clean(row)\n",
            "votes.py": "def open_db(session):\n    pass\n",
            "caller.py": "from store import save\nfrom fmt import show\n\ndef run(r):\n    show(save(None, r))\n",
            "fmt.py": "def show(x):\n    print(x)\n",
            "util.py": "def clean(row):\n    return row\n",
            "other.py": "def unrelated(x):\n    return x\n",
        },
    )
    index = ProjectIndex.build(root)
    files = {
        name: FileResult(SourceFile(root / name, "python"), name, name, (root / name).read_bytes())
        for name in ("store.py", "votes.py", "caller.py", "fmt.py", "util.py", "other.py")
    }
    for f in files.values():
        f.open = frozenset(s.name for s in extract(f.data, "python", f.rel) if s.annotation is None)
    files["store.py"].wrote = frozenset({"session", "save"})
    got = dependents([files["store.py"]], list(files.values()), SimpleNamespace(index=index))  # type: ignore[arg-type]
    # fmt.py: `show` is called by a caller of store.py, with the value `save` returns
    assert [f.rel for f in got] == ["store.py", "votes.py", "caller.py", "fmt.py", "util.py"]


def test_callers_passing_none_make_the_optional_type_a_candidate() -> None:
    """An argument's type is a lower bound of the parameter's: callers passing `str` three times and
    `None` once make `str | None` a candidate, and each candidate says which share of the
    arguments its union covers (`None` is no candidate of its own)."""
    from typeinf.inference.names import Votes
    from typeinf.inference.rerank import FEATURES, Evidence, Site, call_candidates, candidates

    ev = Evidence(calls=Votes((("str", 3), ("None", 1)), 4))
    made, _ = call_candidates(ev, "python")
    assert made is not None and made.counts == (("str", 3), ("str | None", 4))
    site = Site("str", 0.6, "model", [("str", 0.6), ("bytes", 0.2)], "param", "python")
    cover = {c.type: c.features[FEATURES.index("call_cover")] for c in candidates(site, ev)}
    assert cover == {"str": 0.75, "bytes": 0.0, "str | None": 1.0}
    assert call_candidates(Evidence(calls=Votes((("None", 2),), 2)), "python")[0] is None


def test_the_model_reads_what_the_projects_calls_say(tmp_path: Path) -> None:
    """Item 6 as model input (`across`, through the engine's index): a parameter's arguments from
    another module, what callers do with a return, the parameter names a value is passed to; a
    function literal shown by its category; and the text the encoder reads carries them."""
    from typeinf.inference.engine import Engine, FileSites
    from typeinf.inference.features import site_text
    from typeinf.inference.predict import Predictor

    root = python_project(
        tmp_path,
        {
            "geo.py": "def area(width, height):\n    return width * height\n\n\ndef render(doc, n=0):\n    pass\n",
            "app.py": (
                "from geo import area, render\n\n\ndef main(size, page):\n"
                "    total = area(2, size)\n    if area(3, lambda: 1) > 9:\n        render(page)\n"
                "    render(page, n=area(1, 1))\n    return area(size, size).real\n"
            ),
        },
    )
    geo = extract((root / "geo.py").read_text(), "python", "geo.py")
    app = extract((root / "app.py").read_text(), "python", "app.py")
    with Engine(Predictor(), ProjectIndex.build(root), None) as engine:
        got = {
            (s.kind, s.name): s.evidence
            for f in (FileSites(root / "geo.py", "python", geo), FileSites(root / "app.py", "python", app))
            for s in engine.across(f).slices
        }
    assert got[("param", "width")].arguments == [
        Expr("2", "literal"),
        Expr("3", "literal"),
        Expr("1", "literal"),
        Expr("size", "name"),
    ]
    assert got[("param", "height")].arguments == [
        Expr("size", "name"),
        Expr("function", "function"),
        Expr("1", "literal"),
    ]
    assert got[("return", "area")].result_uses == ["assigned total", "compared >", "passed render", ".real"]
    assert got[("param", "page")].callee_params == ["doc"]
    assert got[("param", "size")].callee_params == ["height", "width"]
    assert got[("return", "main")].result_uses == []  # nothing calls it
    width = next(
        s for s in engine.across(FileSites(root / "geo.py", "python", geo)).slices if s.name == "width"
    )
    assert "given literal 2 ; literal 3 ; literal 1 ; name size" in site_text(width)
    assert all(not s.evidence.arguments for s in geo)  # a file sliced alone: the fields stay empty


def test_typescript_callers_results_and_methods_reach_the_model_input() -> None:
    data = (
        b"class Repo { find(id) { return id } }\n"
        b"export function load(path) { return fetch(path) }\n"
        b"const r = new Repo();\nfor (const x of r.find(7)) {}\n"
        b"const body = await load(`/u/${1}`).then((res: Response) => res.json());\n"
    )
    path = Path("/p/a.ts")
    fc = scan_calls(parse(data, "typescript").root_node, "typescript", data)
    got = {
        (s.kind, s.name): s.evidence
        for s in across(extract(data, "typescript", "a.ts"), CallTable.build([(path, fc)]), path)
    }
    assert got[("param", "id")].arguments == [Expr("7", "literal")]
    assert got[("return", "find")].result_uses == ["iterated"]
    assert got[("return", "load")].result_uses == [".then"]
    assert got[("param", "path")].arguments == [Expr("`/u/${1}`", "template")]


def test_the_same_calls_evidence_is_the_same_object_again() -> None:
    """`across` with a memo (the engine's): a slice whose evidence gets what it got before gets the
    evidence object made then (what is remembered by that object, the model's keys, holds); when
    the calls say something else, a new one."""
    data = b"function f(a, b) { return a }\nf(1, 'x');\nconst y = f(2, 'z').length;\n"
    path = Path("/p/a.ts")
    slices = extract(data, "typescript", "a.ts")
    table = CallTable.build([(path, scan_calls(parse(data, "typescript").root_node, "typescript", data))])
    memo: AcrossMemo = {}
    first = across(slices, table, path, memo)
    again = across(slices, table, path, memo)
    assert [s.evidence for s in first] == [s.evidence for s in across(slices, table, path)]
    changed = [i for i, s in enumerate(first) if s.evidence is not slices[i].evidence]
    assert changed and all(again[i].evidence is first[i].evidence for i in changed)
    other = data.replace(b"f(1, 'x')", b"f(3.5, 'x')")
    table2 = CallTable.build([(path, scan_calls(parse(other, "typescript").root_node, "typescript", other))])
    moved = across(slices, table2, path, memo)
    a = next(i for i, s in enumerate(slices) if (s.kind, s.name) == ("param", "a"))
    assert moved[a].evidence is not first[a].evidence
    assert moved[a].evidence.arguments == [Expr("3.5", "literal"), Expr("2", "literal")]


def test_a_value_passed_to_a_constructor_hears_its_parameters_name_and_annotation() -> None:
    """`new Page(doc)`: the constructor's parameter, for the model's input (`callee_params`) and for
    the re-ranker's evidence (`Engine.declared_types`) alike (`CallTable.passed`)."""
    data = (
        b"class Page { constructor(title: string, size) {} }\nfunction open(t, n) { return new Page(t, n) }\n"
    )
    path = Path("/p/a.ts")
    table = CallTable.build([(path, scan_calls(parse(data, "typescript").root_node, "typescript", data))])
    slices = {(s.kind, s.name): s for s in extract(data, "typescript", "a.ts")}
    got = {(s.kind, s.name): s.evidence for s in across(list(slices.values()), table, path)}
    assert got[("param", "t")].callee_params == ["title"]
    assert got[("param", "n")].callee_params == ["size"]
    (passed,) = slices[("param", "t")].evidence.passed_to
    assert passed.callee.startswith("new ")
    p = table.passed(passed)
    assert p is not None and p.annotation == "string"


def test_an_edited_files_calls_replace_its_own_among_the_projects_in_path_order() -> None:
    """`CallTable.replaced` (what an edit does to the table) gives the table `build` makes of the
    files as they are now, for a file whose path sorts between the others, whose callees gain and
    lose calls, and a callee only it calls."""

    def scan(src: bytes) -> FileCalls:
        return scan_calls(parse(src, "python").root_node, "python", src)

    files = {
        Path("/p/a.py"): b"f(1)\ng(2)\n",
        Path("/p/m.py"): b"f('x')\nf(2.5)\nonly(1)\ng(b'y')\n",
        Path("/p/z.py"): b"f(None)\ng(3)\n",
    }
    table = CallTable.build([(p, scan(src)) for p, src in files.items()])
    edited = b"g(1.5)\nf([1])\nnew(2)\n\nf(True)\n"
    got = table.replaced(Path("/p/m.py"), scan(files[Path("/p/m.py")]), scan(edited))
    files[Path("/p/m.py")] = edited
    assert got == CallTable.build([(p, scan(src)) for p, src in files.items()])
    assert "only" not in got.calls and [p.name for p, _ in got.calls["f"]] == ["a.py", "m.py", "m.py", "z.py"]


def _py_table(files: dict[str, bytes]) -> CallTable:
    return CallTable.build(
        (Path("/p") / name, scan_calls(parse(src, "python").root_node, "python", src))
        for name, src in files.items()
    )


_OVERRIDES = {
    "base.py": b"class Base:\n    def handle(self, item: Item, name: str) -> bool:\n        return True\n\n"
    b"    def size(self, n) -> int:\n        return n\n",
    "mid.py": b"import base\n\n\nclass Empty(base.Base):\n    pass\n\n\n"
    b"class Mid(Empty):\n    def size(self, n: float) -> float:\n        return n\n",
    "leaf.py": b"import logging\n\n\nclass Leaf(Mid):\n    def handle(self, item, name):\n        return False\n\n"
    b"    def size(self, n):\n        return 1\n\n    @staticmethod\n    def handle_static(item):\n        pass\n\n\n"
    b"class H(logging.Handler):\n    def emit(self, record):\n        pass\n",
}


def test_a_method_hears_the_annotations_of_the_method_it_overrides() -> None:
    """`Leaf.handle(self, item, name)` under `Base.handle(self, item: Item, name: str) -> bool`,
    through a class that defines no method and a module-qualified base; the nearest base's method
    wins (`Mid.size`); a base the project does not define (`logging.Handler`), a class defined
    twice and a static method say nothing; a base's method hears its overrides."""
    table = _py_table(_OVERRIDES)
    leaf = Path("/p/leaf.py")
    params = {(p.callee, p.name): p for p in table.params[leaf].values()}
    assert params[("handle", "item")].owner == "Leaf" and params[("handle_static", "item")].owner is None
    assert table.override_params(params[("handle", "item")]) == ["Item"]
    assert table.override_params(params[("handle", "name")]) == ["str"]
    assert table.override_params(params[("size", "n")]) == ["float"]  # Mid's, not Base's (unannotated)
    assert table.override_params(params[("emit", "record")]) == []
    assert table.override_params(params[("handle_static", "item")]) == []
    assert table.override_returns(leaf, 5, 8) == ["bool"]
    assert table.override_returns(leaf, 8, 8) == ["float"]
    assert table.override_returns(leaf, 17, 8) == []  # emit
    twice = _py_table(
        {**_OVERRIDES, "other.py": b"class Base:\n    def handle(self, item: int, name) -> None: ...\n"}
    )
    assert twice.override_returns(leaf, 5, 8) == []
    # the other way round: a base's method hears the methods that override it (the nearest in each
    # line of subclasses: Mid's `size`, not Leaf's)
    base = {(p.callee, p.name): p for p in table.params[Path("/p/base.py")].values()}
    assert table.override_params(base[("size", "n")]) == ["float"]
    assert table.override_returns(Path("/p/base.py"), 5, 8) == ["float"]
    assert table.override_returns(Path("/p/base.py"), 2, 8) == []  # Leaf.handle: no annotation


def test_an_edited_files_classes_and_methods_replace_its_own() -> None:
    """`CallTable.replaced` keeps the classes' bases and the methods' return annotations as `build`
    makes them of the files as they are now (a base and an annotation changed, a class added)."""
    table = _py_table(_OVERRIDES)
    edited = (
        _OVERRIDES["mid.py"].replace(b"-> float", b"-> complex").replace(b"Empty(base.Base)", b"Empty(Other)")
    )
    edited += b"\n\nclass Other:\n    def size(self, n: int) -> str:\n        return ''\n"
    src = _OVERRIDES["mid.py"]
    got = table.replaced(
        Path("/p/mid.py"),
        scan_calls(parse(src, "python").root_node, "python", src),
        scan_calls(parse(edited, "python").root_node, "python", edited),
    )
    assert got == _py_table({**_OVERRIDES, "mid.py": edited})
    assert got.override_returns(Path("/p/leaf.py"), 8, 8) == ["complex"]
    assert got.override_returns(Path("/p/leaf.py"), 5, 8) == []  # Base is no longer above Leaf


def test_the_engine_gives_an_overriding_methods_sites_the_annotations_they_override(tmp_path: Path) -> None:
    from typeinf.inference.engine import Engine, FileSites

    root = python_project(
        tmp_path,
        {
            "base.py": "class Item:\n    pass\n\n\nclass Base:\n"
            "    def handle(self, item: Item, name: str) -> bool:\n        return True\n",
            "leaf.py": "from base import Base\n\n\nclass Leaf(Base):\n    def handle(self, item, name):\n"
            "        return False\n",
        },
    )
    sites = extract((root / "leaf.py").read_text(), "python", "leaf.py")
    engine = Engine(None, ProjectIndex.build(root))  # type: ignore[arg-type]
    got = engine.declared_types(FileSites(root / "leaf.py", "python", sites))
    assert {(s.kind, s.name): d for s, d in zip(sites, got, strict=True)} == {
        ("return", "handle"): ["bool"],
        ("param", "item"): ["Item"],
        ("param", "name"): ["str"],
    }
