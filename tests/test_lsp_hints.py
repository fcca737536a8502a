"""typeinf.lsp.hints: where an inline hint goes, what it says, moving hints across an edit, and
changed line ranges.  Pure functions: no server."""

from dataclasses import replace

from typeinf.inference.finalize import Prediction
from typeinf.lsp.hints import Insertion, annotated_default, changed_lines, insertions, map_insertions, tooltip
from typeinf.slices import extract

PY = "def f(a, b=1):\n    x = 2\n    return a\n"
TS = "async function f(a, b = 1) {\n  let x = 2;\n  return a;\n}\nconst g = y => y;\nconst h = (z) => z;\n"


def preds(src: str, language: str, types: dict[tuple[str, str], str]) -> list[Prediction]:
    path = "m.py" if language == "python" else "m.ts"
    return [
        Prediction(s, types[(s.kind, s.name)], 0.9, "model")
        for s in extract(src, language, path)
        if (s.kind, s.name) in types
    ]


def applied(data: bytes, ins: Insertion) -> str:
    return (data[: ins.offset] + ins.new_text.encode() + data[ins.stop :]).decode()


def test_python_insertions():
    data = PY.encode()
    got = {
        (p.slice.kind, p.slice.name): ins
        for p, ins in insertions(
            data,
            "python",
            preds(
                PY,
                "python",
                {("param", "a"): "int", ("param", "b"): "int", ("var", "x"): "int", ("return", "f"): "int"},
            ),
        )
    }
    assert got[("param", "a")] == Insertion(data.index(b"a,") + 1, ": int")
    assert applied(data, got[("param", "b")]).startswith("def f(a, b: int = 1):")  # PEP 8 with a default
    assert got[("param", "b")].text == ": int"  # what the hint shows
    assert applied(data, got[("var", "x")]).splitlines()[1] == "    x: int = 2"
    assert applied(data, got[("return", "f")]).startswith("def f(a, b=1) -> int:")


def test_typescript_insertions_async_return_wrapped():
    data = TS.encode()
    got = {
        (p.slice.kind, p.slice.name): ins
        for p, ins in insertions(
            data,
            "typescript",
            preds(
                TS,
                "typescript",
                {
                    ("param", "a"): "string",
                    ("return", "f"): "string",
                    ("var", "x"): "number",
                    ("param", "y"): "number",
                    ("param", "z"): "number",
                },
            ),
        )
    }
    assert applied(data, got[("param", "a")]).startswith("async function f(a: string, b = 1)")
    assert applied(data, got[("return", "f")]).startswith("async function f(a, b = 1): Promise<string> {")
    assert applied(data, got[("var", "x")]).splitlines()[1] == "  let x: number = 2;"
    assert ("param", "y") not in got  # a lone arrow parameter needs parentheses: not inline
    assert applied(data, got[("param", "z")]).endswith("const h = (z: number) => z;\n")


def test_no_hint_for_annotated_unannotatable_or_empty():
    src = "def f(a: int, b):\n    return b\n"
    ps = preds(src, "python", {("param", "a"): "int", ("param", "b"): "", ("return", "f"): "int"})
    # a: annotated already; b: no type; f: a site that cannot take an annotation
    ps = [
        replace(p, slice=replace(p.slice, annotatable=False)) if p.slice.kind == "return" else p for p in ps
    ]
    assert insertions(src.encode(), "python", ps) == []


def test_annotated_default_and_tooltip():
    assert annotated_default("int") == ": int = "
    (p,) = preds(PY, "python", {("param", "a"): "int"})
    assert tooltip(p) == "**typeinf** `a` (param)\n\n1. `int` — 90% (model)"
    p = replace(p, source="static", alternatives=[("int", 0.9), ("str", 0.05)])
    assert tooltip(p).splitlines()[2:] == ["1. `int` — 90% (static)", "2. `str` — 5% (model)"]


def test_map_insertions_keeps_hints_on_unchanged_lines():
    old = b"a = 1\nb = 2\nc = 3\nd = 4\n"
    new = b"a = 1\nbb = 22\nc = 3\nd = 4\n"
    (p,) = preds("a = 1\n", "python", {("var", "a"): "int"})
    before = Insertion(1, ": int")  # line 0: unchanged, before the edit
    inside = Insertion(old.index(b"b") + 1, ": int")  # the edited line: dropped
    after = Insertion(old.index(b"d") + 1, ": int", old.index(b"d") + 2, ": int ")  # shifted by +2
    got = map_insertions(old, new, [(p, before), (p, inside), (p, after)])
    assert [ins for _p, ins in got] == [
        before,
        Insertion(new.index(b"d") + 1, ": int", new.index(b"d") + 2, ": int "),
    ]
    assert map_insertions(old, old, [(p, inside)]) == [(p, inside)]  # no change: all kept


def test_map_insertions_a_hint_spanning_into_the_edit_is_dropped():
    old = b"x = 1\ny = 2\n"
    new = b"x = 1\ny = 3\n"
    (p,) = preds("x = 1\n", "python", {("var", "x"): "int"})
    spanning = Insertion(1, ": int", old.index(b"y"), "")  # replaces up to the changed line
    assert map_insertions(old, new, [(p, spanning)]) == []


def test_changed_lines():
    assert changed_lines("a\nb\nc\n", "a\nb\nc\n") == []
    assert changed_lines("a\nb\nc\n", "a\nB\nc\n") == [(1, 2, "B\n")]
    assert changed_lines("a\nc\n", "a\nb\nc\n") == [(1, 1, "b\n")]  # an insertion: an empty range
    assert changed_lines("a\nb\nc\n", "a\nc\n") == [(1, 2, "")]
