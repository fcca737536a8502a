"""Real code, not snippets: CPython's standard library and npm packages that ship .ts sources.

The npm packages are installed by scripts/test.sh (TYPEINF_TEST_NPM); the whole standard
library and larger packages are in benchmarks/slice_speed.py instead."""

from __future__ import annotations

import os
import re
import sysconfig
from pathlib import Path

import pytest
from conftest import need_tool, validate

from typeinf.slices import extract_with_diagnostics, language_for_path

STDLIB = Path(sysconfig.get_paths()["stdlib"])
HAS_CODE = re.compile(rb"^\s*(def|async def)\s|^(?!__)[A-Za-z_]\w*\s*=(?!=)", re.M)
TS_SITE_NODES = {
    "function_declaration",
    "arrow_function",
    "method_definition",
    "function_expression",
    "variable_declarator",
    "public_field_definition",
}


def has_ts_sites(data: bytes, language: str) -> bool:
    """Whether the file has a function or a declaration outside `declare` blocks (tree-sitter)."""
    from typeinf.slices.source import parser

    stack = [parser(language).parse(data).root_node]
    while stack:
        n = stack.pop()
        if n.type in TS_SITE_NODES:
            return True
        if n.type != "ambient_declaration":
            stack.extend(n.children)
    return False


def stdlib_sample(n: int = 300) -> list[Path]:
    files = sorted(
        p
        for p in STDLIB.rglob("*.py")
        if not {"test", "tests", "idlelib", "site-packages", "lib2to3"} & set(p.relative_to(STDLIB).parts)
    )
    step = max(1, len(files) // n)
    return files[::step][:n]


def npm_root() -> Path:
    root = os.environ.get("TYPEINF_TEST_NPM", str(Path.home() / ".cache/typeinf/test-npm"))
    nm = Path(root) / "node_modules"
    need_tool(nm.is_dir(), f"the npm test packages (npm; expected at {nm})")
    return nm


def test_standard_library_sample():
    files = stdlib_sample()
    assert len(files) >= 250
    total = 0
    for f in files:
        data = f.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        slices, _ = extract_with_diagnostics(data, "python", str(f))
        validate(slices)
        if HAS_CODE.search(data):
            assert slices, f"no slices for {f}"
        total += len(slices)
    assert total > 20_000


@pytest.mark.parametrize("package", ["zod", "rxjs", "mobx"])
def test_typescript_packages(package):
    root = npm_root() / package
    files = sorted(
        p
        for p in root.rglob("*.ts")
        if language_for_path(p) and "node_modules" not in p.relative_to(root).parts
    )
    assert len(files) >= 40, f"{package}: expected shipped .ts sources, found {len(files)}"
    total = 0
    for f in files:
        data = f.read_bytes()
        language = language_for_path(f) or "typescript"
        slices, _ = extract_with_diagnostics(data, language, str(f))
        validate(slices)
        if has_ts_sites(data, language):
            assert slices, f"no slices for {f}"
        total += len(slices)
    assert total > 1000
