"""A function that returns only what calls of the project's functions return
(typeinf.inference.returned; the engine asks the checker at the called function's name)."""

from __future__ import annotations

from pathlib import Path

from conftest import checked_engine, python_project, python_sites

from typeinf.inference.calls import CallTable, scan_calls
from typeinf.inference.returned import Returned, returned_calls
from typeinf.slices import extract
from typeinf.slices.source import parse

SOURCE = """\
def delegate(visitor, node):
    return visitor.visit_import(node)


async def fetch(client, url):
    if url:
        return await client.get(url)
    return await client.head(url)


def mixed(x):
    if x:
        return make(x)
    return None


def falls_off(x):
    if x:
        return make(x)


def nested(x):
    def inner():
        return 1

    return make(inner)


def generator(x):
    yield x
    return make(x)
"""


def _returned() -> dict[str, tuple[Returned, ...] | None]:
    slices = [s for s in extract(SOURCE, "python", "m.py") if s.kind == "return"]
    return {s.name: r for s, r in zip(slices, returned_calls(SOURCE.encode(), slices), strict=True)}


def test_the_calls_a_function_returns_are_found() -> None:
    got = _returned()
    assert got["delegate"] == (Returned("visit_import", True, False, (2, 19)),)
    assert got["fetch"] == (Returned("get", True, True, (7, 28)), Returned("head", True, True, (8, 24)))
    assert got["nested"] == (
        Returned("make", False, False, (26, 11)),
    )  # the nested function's return is its own


def test_a_function_that_returns_anything_else_has_no_calls() -> None:
    got = _returned()
    assert got["mixed"] is None  # `return None` beside the call
    assert got["falls_off"] is None  # the end of the body is reachable: an implicit None
    assert got["generator"] is None


def test_the_call_table_knows_where_the_functions_of_a_name_are() -> None:
    a = b"class V:\n    def visit(self, o):\n        pass\n\n\ndef run(v):\n    return v.visit(1)\n"
    b = b"class W:\n    def visit(self, o):\n        return 1\n"
    files = [(Path("/p/a.py"), scan_calls(parse(a, "python").root_node, "python", a))]
    table = CallTable.build(files)
    assert table.definitions("visit", True) == [(Path("/p/a.py"), 2, 8)]
    assert table.definitions("visit", False) == []  # a method is called as an attribute
    assert table.definitions("run", False) == [(Path("/p/a.py"), 6, 4)]
    both = table.replaced(
        Path("/p/b.py"),
        scan_calls(parse(b"", "python").root_node, "python", b""),
        scan_calls(parse(b, "python").root_node, "python", b),
    )
    assert both.definitions("visit", True) == [(Path("/p/a.py"), 2, 8), (Path("/p/b.py"), 2, 8)]
    assert both.definitions("run", False) == [(Path("/p/a.py"), 6, 4)]
    built = CallTable.build(
        [*files, (Path("/p/b.py"), scan_calls(parse(b, "python").root_node, "python", b))]
    )
    assert built.where == both.where


def test_the_engine_gives_what_the_called_function_returns_with_pyrefly(tmp_path: Path) -> None:
    """A real checker: pyrefly infers nothing for a function that returns a call on an unannotated
    parameter; the engine asks it at the one function of that name.  An awaited coroutine gives
    what the coroutine returns; a coroutine returned without `await` gives no type; the checker's
    `None` for an abstract method's placeholder body is not evidence."""
    from typeinf.inference.engine import FileSites

    root = python_project(
        tmp_path,
        {
            "visit.py": (
                "import abc\n\n\nclass Conn:\n    pass\n\n\n"
                "class Visitor:\n"
                "    def visit_import(self, o):\n        print(o)\n\n"
                "    async def fetch_conn(self, url):\n        return Conn()\n\n\n"
                "def accept(node, visitor):\n    return visitor.visit_import(node)\n\n\n"
                "async def get(visitor, url):\n    return await visitor.fetch_conn(url)\n\n\n"
                "def coroutine(visitor, url):\n    return visitor.fetch_conn(url)\n\n\n"
                "def dotted(parts):\n    return '.'.join(reversed(parts))\n\n\n"
                "class Url:\n    def join(self, other):\n        return Url()\n\n\n"
                "class Other:\n    def visit_import(self, o):\n        return None\n\n"
                "    def size(self):\n        return 1\n\n\n"
                "class Sized:\n    def size(self):\n        return 'big'\n\n\n"
                "def size_of(thing):\n    return thing.size()\n\n\n"
                "class Base(abc.ABC):\n    @abc.abstractmethod\n"
                '    async def respond(self, request):\n        """Makes the response."""\n'
            )
        },
    )
    sites = python_sites(root, "visit.py", "return")
    with checked_engine(root) as engine:
        f = FileSites(root / "visit.py", "python", sites)
        own = dict(zip([s.name for s in sites], engine.checker_types(f), strict=True))
        ev = engine.evidence(f)
    by_name = {s.name: e.checker for s, e in zip(sites, ev, strict=True)}
    assert own["accept"] is None and own["get"] is None  # what pyrefly says alone
    assert own["fetch_conn"] == "Conn"  # an `async def`: what its coroutine gives
    assert by_name["accept"] == "None"  # both methods of that name return None
    assert by_name["size_of"] is None  # one `size` returns int, the other str
    assert by_name["get"] == "Conn"
    assert by_name["coroutine"] is None
    # the checker knows `str.join`: the project's one `join` is not what is called
    assert by_name["dotted"] == "str"
    # a placeholder's body says nothing of what the implementations return
    assert own["respond"] == "None" and by_name["respond"] is None
