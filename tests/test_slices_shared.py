"""The parts of the front end both slicers share: scopes (`scopes.py`) and recovery (`recover.py`)."""

from __future__ import annotations

from typeinf.slices import extract_with_diagnostics
from typeinf.slices.recover import broken_regions
from typeinf.slices.scopes import Binding, Scope, lookup
from typeinf.slices.source import parse


def test_lookup_skips_the_class_scopes_around_a_scope_but_not_its_own():
    module = Scope(None, "module")
    cls = Scope(module, "class")
    method = Scope(cls, "function")
    module.bindings["x"] = outer = Binding("x")
    cls.bindings["x"] = member = Binding("x")
    assert lookup(method, "x") is outer  # a class body does not enclose its methods
    assert lookup(cls, "x") is member
    assert lookup(method, "y") is None


def test_python_blocks_with_errors_are_blanked_and_the_rest_still_sliced():
    src = b"def broken(a):\n    x = (1,\n\ndef fine(b):\n    return b + 1\n"
    assert broken_regions(src, "python", parse(src, "python").root_node)
    slices, diags = extract_with_diagnostics(src, "python", "t.py")
    assert diags
    assert ("param", "b") in {(s.kind, s.name) for s in slices}


def test_typescript_relies_on_the_grammar_s_own_recovery():
    src = b"function broken(a: number) {\n  const x = (1,;\n}\nfunction fine(b: string) {\n  return b;\n}\n"
    assert broken_regions(src, "typescript", parse(src, "typescript").root_node) == []
    slices, diags = extract_with_diagnostics(src, "typescript", "t.ts")
    assert diags
    assert ("param", "b") in {(s.kind, s.name) for s in slices}
