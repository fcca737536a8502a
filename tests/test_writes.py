"""A variable that starts empty (`None`, `[]`, `{}`) takes the type of what the code writes into it
(typeinf.inference.writes), and the engine gives that type to the re-ranker as the checker's."""

from __future__ import annotations

from pathlib import Path

from conftest import checked_engine, python_project, python_sites

from typeinf.inference.writes import Value, Writes, compose, written
from typeinf.slices import extract

SOURCE = """\
REGISTRY = {}
SEEN = []


def register(name):
    REGISTRY[name] = Handler()


def shadow(SEEN):
    SEEN.append(1)


class Pool:
    def __init__(self):
        self.reader = None
        self.items = []
        self.tags = set()
        self.extra = []

    def open(self, reader):
        self.reader = reader
        self.items.append(3)
        self.items.insert(0, 4.5)
        self.tags.add("a")
        self.extra.extend([1])


def local():
    out = {}
    out["k"] = b"v"
    other = []
    return out


def fetch():
    got = None
    got = lookup("k")
    return got
"""


def _writes() -> dict[str, Writes | None]:
    sites = [s for s in extract(SOURCE, "python", path="a.py") if s.kind == "var"]
    return {s.name: w for s, w in zip(sites, written(SOURCE.encode(), sites), strict=True)}


def test_the_values_written_into_a_variable_that_starts_empty_are_found() -> None:
    got = _writes()
    # a member written in another method: the name assigned is asked about where it is written
    assert got["self.reader"] == Writes("optional", (Value("value", None, (21, 22)),))
    assert got["self.items"] == Writes("list", (Value("item", "int", None), Value("item", "float", None)))
    assert got["self.tags"] == Writes("set", (Value("item", "str", None),))
    assert got["out"] == Writes("dict", (Value("key", "str", None), Value("entry", "bytes", None)))
    # a module's dict filled by a function: the constructor's name is its type
    assert got["REGISTRY"] == Writes("dict", (Value("key", None, (6, 13)), Value("entry", "Handler", None)))
    # a call's value: what the function called returns, asked where its name is
    assert got["got"] == Writes("optional", (Value("value", None, (37, 10), "return"),))


def test_a_variable_written_in_a_way_that_is_not_read_has_no_writes() -> None:
    got = _writes()
    assert got["self.extra"] is None  # `extend`: what it adds is not read
    assert got["SEEN"] is None  # the only function that appends to a `SEEN` has its own
    assert got["other"] is None  # nothing written: nothing known


def test_the_type_is_made_from_the_written_values_types() -> None:
    optional = Writes("optional", (Value("value", None, (1, 0)), Value("value", "str", None)))
    assert compose(optional, ["Reader", "str"]) == "Reader | str | None"
    assert compose(optional, ["Reader", None]) is None  # one unknown: nothing
    assert compose(optional, ["A | B", "C"]) is None  # more than two types
    items = Writes("list", (Value("item", "int", None), Value("value", None, (1, 0))))
    assert compose(items, ["int", "list[float]"]) == "list[int | float]"
    assert compose(items, ["int", "tuple[int]"]) is None  # a value that is not a list
    pairs = Writes("dict", (Value("key", None, (1, 0)), Value("entry", "Pool", None)))
    assert compose(pairs, ["tuple[bytes, int]", "Pool"]) == "dict[tuple[bytes, int], Pool]"
    assert compose(pairs, ["tuple[Never, int]", "Pool"]) is None  # what the checker could not infer


def test_the_engine_gives_the_written_type_as_the_checkers_with_pyrefly(tmp_path: Path) -> None:
    """A real checker: pyrefly says `None` where `self.conn = None` is written and nothing of
    `{}`; the engine gives the type of what the class writes into them, the names and the calls'
    results typed by pyrefly."""
    from typeinf.inference.engine import FileSites

    root = python_project(
        tmp_path,
        {
            "net.py": (
                "class Conn:\n    pass\n\n\n"
                "class Client:\n"
                "    def __init__(self):\n        self.conn = None\n        self.by_port = {}\n\n"
                "    def connect(self, port: int):\n"
                "        conn = Conn()\n        self.conn = conn\n        self.by_port[port] = conn\n\n"
                "    def last(self):\n        found = None\n        found = self.make()\n        return found\n\n"
                "    def make(self):\n        return Conn()\n"
            )
        },
    )
    sites = python_sites(root, "net.py", "var")
    with checked_engine(root) as engine:
        ev = engine.evidence(FileSites(root / "net.py", "python", sites))
        written_only = engine.evidence(FileSites(root / "net.py", "python", sites), checker=False)
    by_name = {s.name: e.checker for s, e in zip(sites, ev, strict=True)}
    assert by_name["self.conn"] == "Conn | None"
    assert by_name["self.by_port"] == "dict[int, Conn]"
    assert by_name["found"] == "Conn | None"  # what `make` returns, inferred by pyrefly
    # without the checker only values whose text says their type count: `port` is a name
    assert {s.name: e.checker for s, e in zip(sites, written_only, strict=True)}["self.by_port"] is None
