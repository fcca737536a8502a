"""The worked examples in slices/examples: output checked by hand once, compared exactly."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, validate

from typeinf.slices import extract, language_for_path

EXAMPLES = ROOT / "slices" / "examples"


@pytest.mark.parametrize("source", ["python_example.py", "typescript_example.ts", "tsx_example.tsx"])
def test_golden_example(source):
    path = EXAMPLES / source
    lang = language_for_path(path)
    assert lang is not None
    got = [s.to_dict() for s in extract(path.read_bytes(), lang, source)]
    want = json.loads(path.with_suffix(".json").read_text())
    assert got == want
    validate(got)
    assert {d["kind"] for d in got} == {"param", "return", "var"}
