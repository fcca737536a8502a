"""Python slicing: golden example, protocol agreement, evidence, bad input."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, validate

from typeinf.slices import SourceError, extract, extract_with_diagnostics

EXAMPLES = ROOT / "slices" / "examples"


def by_name(slices, kind=None):
    return {s.name: s for s in slices if kind is None or s.kind == kind}


def test_sites_kinds_positions_and_qualnames():
    src = (EXAMPLES / "python_example.py").read_text()
    sl = extract(src, "python", "x.py")
    keys = {(s.kind, s.qualname, s.name, s.line, s.column) for s in sl}
    assert ("param", "Registry.__init__", "name", 15, 23) in keys
    assert ("return", "Registry.add", "add", 19, 8) in keys
    assert ("var", "Registry", "limit", 13, 4) in keys
    assert ("var", "Registry.__init__", "self.users", 17, 8) in keys
    assert ("var", "", "DEFAULT_LIMIT", 9, 0) in keys
    # self/cls are never sites; TypeVars are types, not variables
    assert not [s for s in sl if s.name in ("self", "cls", "T")]
    item = by_name(sl)["item"]
    assert item.kind == "var" and not item.annotatable  # a for target takes no inline annotation
    count = by_name(sl)["count"]
    assert not count.annotatable and count.evidence.definition.category == "unpack"


def test_labels_never_leak_into_evidence():
    src = """
from m import Zqx, Wvy

class K:
    field: Zqx = Zqx.make()

def f(a: Zqx, b: "Wvy" = None) -> list[Zqx]:
    c: dict[str, Wvy] = {}
    inner = lambda q: q
    return [a]
"""
    sl = extract(src, "python", "f.py")
    assert len(sl) >= 6
    for s in sl:
        ev = json.dumps(s.to_dict()["evidence"])
        assert "Wvy" not in ev, (s.name, ev)
        assert "list[Zqx]" not in ev and "dict[str" not in ev
    assert by_name(sl)["c"].annotation == "dict[str, Wvy]"
    # other sites' annotations travel apart
    b = by_name(sl, "param")["b"]
    assert {(n.kind, n.name, n.annotation) for n in b.neighbours} == {
        ("param", "a", "Zqx"),
        ("return", "f", "list[Zqx]"),
    }


def test_usage_evidence():
    src = """
import os

def handle(path, items, count, flag, cb, req):
    with open(path) as fh:
        text = fh.read()
    for it in items:
        print(it)
    if count > 10 and count is not None:
        count += 1
    if isinstance(flag, bool):
        pass
    cb(1)
    os.path.join(path, req.root)
    req.status = 200
    return items[0], text.strip().split(",")
"""
    sl = by_name(extract(src, "python", "h.py"), "param")
    ev = sl["path"].evidence
    assert {(p.callee, p.arg) for p in ev.passed_to} >= {("open", 0), ("os.path.join", 0)}
    assert sl["items"].evidence.iterated == 1 and "int" in sl["items"].evidence.subscripts
    ops = {(o.op, o.other) for o in sl["count"].evidence.operators}
    assert {(">", "int"), ("is not", "None"), ("+=", "int")} <= ops
    assert sl["flag"].evidence.type_checks == ["bool"]
    assert sl["cb"].evidence.called == 1
    assert sl["req"].evidence.attrs_read == ["root"] and sl["req"].evidence.attrs_written == ["status"]
    fh = by_name(extract(src, "python", "h.py"), "var")["fh"]
    assert fh.evidence.definition.category == "with" and fh.evidence.calls_on[0].method == "read"
    ret = by_name(extract(src, "python", "h.py"), "return")["handle"]
    assert ret.evidence.returns[0].text == 'items[0], text.strip().split(",")'


def test_scopes_globals_nested_functions_and_shadowing():
    src = """
counter = 0

def outer(x):
    global counter
    counter = x
    def inner(y):
        x = y * 2
        return x
    return inner

class A:
    x = 1
    def m(self):
        return x
"""
    sl = extract(src, "python", "s.py")
    names = [(s.kind, s.qualname, s.name) for s in sl]
    assert names.count(("var", "", "counter")) == 1  # the global is one module-level site
    assert ("param", "outer.inner", "y") in names
    assert ("var", "outer.inner", "x") in names  # shadows outer's parameter
    assert ("var", "A", "x") in names
    x_param = next(s for s in sl if s.kind == "param" and s.name == "x")
    # `counter = x` uses the parameter; inner's x is a different variable
    assert [o.other for o in x_param.evidence.operators] == ["name:counter"]


def test_return_usage_from_callers_and_async():
    src = """
async def fetch(url):
    return await get(url)

def name():
    return "n"

n = name().upper()
"""
    sl = by_name(extract(src, "python", "a.py"), "return")
    assert sl["fetch"].is_async and sl["fetch"].evidence.returns[0].category == "await"
    assert [c.method for c in sl["name"].evidence.calls_on] == ["upper"]


def test_code_point_columns_with_non_ascii():
    src = 'ä = "ö"; b = 1\ndef f(ü, x): pass\n'
    sl = extract(src, "python", "u.py")
    pos = {s.name: (s.line, s.column, s.span) for s in sl}
    assert pos["b"][:2] == (1, 9) and pos["b"][2] == (11, 12)  # bytes differ from code points
    assert pos["x"][:2] == (2, 9)


def test_half_typed_buffer_keeps_the_functions_that_parse():
    src = "def good(a, b=2):\n    return a + b\n\ndef bad(x:\n    return x.\n\ndef later(q):\n    return q\n"
    sl, diags = extract_with_diagnostics(src, "python", "b.py")
    names = {(s.kind, s.name) for s in sl}
    assert {("param", "a"), ("param", "b"), ("return", "good"), ("param", "q")} <= names
    assert diags and diags[0].line >= 4
    validate(sl)


def test_bad_bytes_raise_a_clear_error():
    with pytest.raises(SourceError, match="UTF-8"):
        extract(b"x = '\xff\xfe'\n", "python", "bin.py")
    with pytest.raises(SourceError, match="binary"):
        extract(b"\x00\x01\x02", "python", "bin.py")
    with pytest.raises(ValueError, match="unknown language"):
        extract("x = 1", "javascript")
