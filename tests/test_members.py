"""Class members (typeinf/inference/members.py) and the check that rules out candidates lacking a used member."""

from __future__ import annotations

from typeinf.inference.members import BUILTIN_MEMBERS, class_defs, class_of, resolve, used_members
from typeinf.inference.predict import rule_out_by_members
from typeinf.inference.project import ProjectIndex
from typeinf.slices.source import parse

PY = b"""
from lib import Base

class Shape:
    sides = 0
    def __init__(self, n):
        self.n = n
        self.a, self.b = 1, 2
    @property
    def area(self):
        return 1
    def draw(self):
        pass

class Square(Shape):
    def corners(self):
        pass

class Remote(Base):
    def ping(self):
        pass

class Dynamic:
    def __getattr__(self, name):
        return 1

class Record:
    id: int
    name: str = ""
"""

TS = b"""
import { Lib } from "lib";
export class Shape { sides = 0; constructor(private readonly n: number, m: string) {} draw(): void {} get area() { return 1; } }
class Square extends Shape { corners() {} }
class Remote extends Lib { ping() {} }
interface Named { name: string; rename(to: string): void }
interface Tagged extends Named { tag: string }
interface Bag { [key: string]: unknown }
"""


def _resolved(src: bytes, language: str) -> dict:
    return resolve(class_defs(parse(src, language).root_node, language))


def test_python_members_own_inherited_and_open():
    m = _resolved(PY, "python")
    assert {"sides", "__init__", "n", "a", "b", "area", "draw"} <= m["Shape"]
    assert {"corners", "draw", "area", "n"} <= m["Square"]  # inherited from a class of the file
    assert m["Remote"] is None  # a base we cannot see: anything may be inherited
    assert m["Dynamic"] is None  # __getattr__
    assert m["Record"] == frozenset({"id", "name"})


def test_typescript_members_own_inherited_and_open():
    m = _resolved(TS, "typescript")
    assert {"sides", "n", "draw", "area", "constructor"} <= m["Shape"] and "m" not in m["Shape"]
    assert {"corners", "draw"} <= m["Square"]
    assert m["Remote"] is None and m["Bag"] is None
    assert m["Tagged"] == frozenset({"tag", "name", "rename"})


def test_class_of_and_used_members():
    assert class_of("Shape | None") == "Shape" and class_of("list[int]") == "list"
    assert class_of("int | str") is None and class_of("mod.Shape") is None
    assert (
        class_of("string[]", "typescript") == "Array" and class_of("Promise<void>", "typescript") == "Promise"
    )
    assert used_members(["append", "__len__"], ["size"]) == {"append", "size"}


def test_a_candidate_lacking_a_used_member_is_ruled_out():
    table = {
        **BUILTIN_MEMBERS["python"],
        **{k: v for k, v in _resolved(PY, "python").items() if v is not None},
    }
    alts = [("str", 0.5), ("Shape", 0.3), ("Remote", 0.1)]
    got = dict(rule_out_by_members(alts, {"draw", "area"}, table))
    assert got["str"] <= 0.1 + 1e-9 and got["Shape"] > 0.5  # str has no .draw: its share goes to the others
    assert abs(sum(got.values()) - 0.9) < 1e-9  # the total stays
    assert got["Remote"] > 0.1  # open: never ruled out
    assert rule_out_by_members(alts, {"upper"}, table)[0][0] == "str"


def test_project_index_carries_members(tmp_path):
    (tmp_path / "shapes.py").write_bytes(PY)
    index = ProjectIndex.build(tmp_path)
    by = {p.name: p for p in index.types_for(tmp_path / "app.py", "python")}
    assert by["Square"].members is not None and "corners" in by["Square"].members
    assert by["Remote"].members is None


def test_method_attributes_follow_an_edit_of_the_method():
    """Members are cached by each method's text: editing one method changes what it contributes."""
    edited = PY.replace(b"self.n = n", b"self.n = n\n        self.extra = 3")
    before = {d[0]: d[2] for d in class_defs(parse(PY, "python").root_node, "python")}
    after = {d[0]: d[2] for d in class_defs(parse(edited, "python").root_node, "python")}
    assert "extra" not in (before["Shape"] or ()) and "extra" in (after["Shape"] or ())
    assert {d[0]: d[2] for d in class_defs(parse(PY, "python").root_node, "python")} == before


def test_index_serves_its_last_list_while_scanning_then_the_full_one(tmp_path):
    """While the background scan runs, types_for keeps the list it built (the server redoes its
    analyses when the scan ends); once complete, every file's types are there."""
    (tmp_path / "a.py").write_text("class Alpha:\n    pass\n")
    (tmp_path / "b.py").write_text("class Beta:\n    pass\n")
    index = ProjectIndex(tmp_path)
    index.add(tmp_path / "a.py", "python")
    first = index.types_for(tmp_path / "app.py", "python")
    assert [p.name for p in first] == ["Alpha"]
    seen: list[list[str]] = []
    index.populate(
        between=lambda: seen.append([p.name for p in index.types_for(tmp_path / "x.py", "python")])
    )
    assert seen and all(names == ["Alpha"] for names in seen)  # the scan never rebuilt it midway
    assert index.complete
    assert sorted(p.name for p in index.types_for(tmp_path / "app.py", "python")) == ["Alpha", "Beta"]
