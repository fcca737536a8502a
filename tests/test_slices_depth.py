"""Deeply nested code: the slicers stay linear and never raise RecursionError.

No test here measures time: they count operations (parent look-ups, characters rendered)
and check structural properties (no climbing through tree-sitter's `Node.parent`, which
searches down from the root and so costs O(depth) per call)."""

from __future__ import annotations

import ast
import sys

import pytest
from conftest import ROOT

import typeinf.slices.python as py_slicer
from typeinf.slices import extract, extract_with_diagnostics
from typeinf.slices.source import Parents, Source, parse
from typeinf.slices.typescript import _EvidenceBuilder, _Walker

SLICES = ROOT / "typeinf" / "slices"
# tree-sitter Node members that walk down from the root of the tree on every call
SLOW_NODE_MEMBERS = {"parent", "prev_sibling", "next_sibling", "prev_named_sibling", "next_named_sibling"}
# `.parent` of these names is a scope's parent (Scope / _Scope) or the Parents table (self, walker)
SCOPE_NAMES = {
    "self",
    "walker",
    "scope",
    "s",
    "fs",
    "fscope",
    "root",
    "target_scope",
    "outer",
}  # Scope objects, not tree-sitter nodes


def nested(language: str, form: str, n: int) -> str:
    """A function whose single statement nests one construct n times around its parameter."""
    body = {
        "call": "f(" * n + "x" + ")" * n,
        "paren": "(" * n + "x" + ")" * n,
        "list": "[" * n + "x" + "]" * n,
        "binop": "x + (" * n + "x" + ")" * n,
        "chain": "x" + ".a" * n,
        "index": "x[" * n + "0" + "]" * n,
        "lambda": ("lambda: " if language == "python" else "() => ") * n + "x",
    }[form]
    if language == "python":
        return f"def f(x):\n    y = {body}\n    return y\n"
    return f"function f(x) {{\n  const y = {body};\n  return y;\n}}\n"


FORMS = ["call", "paren", "list", "binop", "chain", "index", "lambda"]


def slice_counting(language: str, src: str) -> Parents:
    """Slice `src` and return the parent table the slicer used."""
    data = src.encode()
    if language == "python":
        s = py_slicer._PythonSlicer(data, "x.py")
        s.build()
        s.resolve()
        s.slices()
        return s.parent
    source = Source(data)
    walker = _Walker(source)
    walker.walk(parse(data, language).root_node)
    source.finish()
    _EvidenceBuilder(source, walker, "x.ts", language).build()
    return walker.parent


@pytest.mark.parametrize("module", ["python.py", "typescript.py"])
def test_slicers_never_climb_with_node_parent(module):
    """`node.parent` / `node.prev_sibling` made f(f(f(...))) quadratic: the slicers climb through
    the parent table their walk records (typeinf.slices.source.Parents)."""
    tree = ast.parse((SLICES / module).read_text())
    bad = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr in SLOW_NODE_MEMBERS:
            base = n.value
            if not (isinstance(base, ast.Name) and base.id in SCOPE_NAMES):
                bad.append(f"{module}:{n.lineno}: {ast.unparse(n)}")
    assert not bad, "tree-sitter Node members that cost O(depth) (use Parents):\n" + "\n".join(bad)


@pytest.mark.parametrize("language", ["python", "typescript"])
@pytest.mark.parametrize("form", FORMS)
def test_deep_nesting_climbs_only_through_the_table(language, form):
    parents = slice_counting(language, nested(language, form, 3000))
    assert parents.fallbacks == 0


@pytest.mark.parametrize("source", ["python_example.py", "typescript_example.ts", "tsx_example.tsx"])
def test_golden_examples_climb_only_through_the_table(source):
    path = ROOT / "slices" / "examples" / source
    language = {"py": "python", "ts": "typescript", "tsx": "tsx"}[path.suffix[1:]]
    assert slice_counting(language, path.read_text()).fallbacks == 0


@pytest.mark.parametrize("language", ["python", "typescript"])
@pytest.mark.parametrize("form", FORMS)
def test_work_grows_linearly_with_depth(language, form, monkeypatch):
    """Parent look-ups and characters rendered for 2n levels are about twice those for n
    (they were quadratic: a climb per reference, the whole text of every nested expression)."""
    counts = {"lookups": 0, "chars": 0}
    lookup, strip = Parents.__call__, Source.strip_annotations

    def counting_lookup(self, node):
        counts["lookups"] += 1
        return lookup(self, node)

    def counting_strip(self, start, end):
        text = strip(self, start, end)
        counts["chars"] += len(text)
        return text

    monkeypatch.setattr(Parents, "__call__", counting_lookup)
    monkeypatch.setattr(Source, "strip_annotations", counting_strip)
    got = []
    for n in (1000, 2000):
        counts.update(lookups=0, chars=0)
        extract(nested(language, form, n), language, "x")
        got.append(dict(counts))
    for key in ("lookups", "chars"):
        assert got[1][key] <= 2.2 * got[0][key] + 100, (key, got)


def test_deep_assignment_targets_do_not_recurse():
    depth = sys.getrecursionlimit() + 500
    src = "(" * depth + "x" + ")" * depth + " = 1\n" + "[" * depth + "y" + "]" * depth + " = [2]\n"
    sl, diags = extract_with_diagnostics(src, "python", "t.py")
    assert not diags
    assert {(s.kind, s.name) for s in sl} == {("var", "x"), ("var", "y")}


def test_recursion_error_is_a_diagnostic_not_an_exception(monkeypatch):
    def too_deep(data, path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(py_slicer, "extract_python", too_deep)
    sl, diags = extract_with_diagnostics("x = 1\n", "python", "t.py")
    assert sl == [] and len(diags) == 1 and "too deep" in diags[0].message
