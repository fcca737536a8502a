"""Recent syntax that the compilers accept slices without diagnostics (issue #18.8).

The fixtures in tests/fixtures/modern are checked against the real front ends here:
TypeScript's parser (the `typescript` npm package of the test set-up) for the .ts/.tsx files,
this interpreter's `compile` for py311.py, and libcst -- the parser annotate writes Python
with -- for the 3.12 (PEP 695/701) and 3.13 (PEP 696) files, which Python 3.11 cannot compile.
ts59.ts (`import defer`, TypeScript 5.9) is newer than the test set-up's compiler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import libcst
import pytest
from conftest import ROOT

from typeinf.annotate import Options, apply, parses
from typeinf.annotate.edits import Edit
from typeinf.slices import extract_with_diagnostics, language_for_path
from typeinf.slices.source import error_nodes, parse

MODERN = ROOT / "tests" / "fixtures" / "modern"
FIXTURES = sorted(p.name for p in MODERN.iterdir())
TS_CHECK = """
const ts = require(process.argv[1]);
const fs = require("fs");
const out = {};
for (const f of process.argv.slice(2)) {
  const kind = f.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(f, fs.readFileSync(f, "utf8"), ts.ScriptTarget.Latest, true, kind);
  out[f] = sf.parseDiagnostics.map((d) => `${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
}
console.log(JSON.stringify(out));
"""


def slices_of(name: str):
    path = MODERN / name
    return extract_with_diagnostics(path.read_bytes(), language_for_path(path) or "python", name)


def by(slices, kind, qualname, name):
    found = [s for s in slices if (s.kind, s.qualname, s.name) == (kind, qualname, name)]
    assert len(found) == 1, (kind, qualname, name, [(s.kind, s.qualname, s.name) for s in slices])
    return found[0]


def test_fixtures_are_all_there():
    assert FIXTURES == [
        "modern.ts",
        "modern.tsx",
        "py311.py",
        "py312_pep695_701.py",
        "py313_pep696.py",
        "ts59.ts",
    ]


@pytest.mark.parametrize("name", FIXTURES)
def test_recent_syntax_slices_without_diagnostics(name):
    sl, diags = slices_of(name)
    assert diags == []
    assert len(sl) >= 4
    path = MODERN / name
    assert error_nodes(parse(path.read_bytes(), language_for_path(path) or "python").root_node) == []


def npm_root() -> Path:
    npm = (
        Path(os.environ.get("TYPEINF_TEST_NPM", str(Path.home() / ".cache/typeinf/test-npm")))
        / "node_modules"
    )
    assert (npm / "typescript").is_dir(), f"npm test packages missing at {npm}: run scripts/test.sh"
    return npm


def test_typescript_fixtures_are_accepted_by_the_typescript_parser():
    npm = npm_root()
    files = [str(MODERN / n) for n in ("modern.ts", "modern.tsx")]
    out = subprocess.run(
        ["node", "-e", TS_CHECK, str(npm / "typescript"), *files],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout) == {f: [] for f in files}


def test_python_fixtures_are_accepted_by_python_and_libcst():
    compile((MODERN / "py311.py").read_text(), "py311.py", "exec")
    for name, version in (("py312_pep695_701.py", (3, 12)), ("py313_pep696.py", (3, 13))):
        text = (MODERN / name).read_text()
        libcst.parse_module(text)
        if sys.version_info >= version:
            compile(text, name, "exec")
        else:  # really newer syntax: this interpreter rejects it
            with pytest.raises(SyntaxError):
                compile(text, name, "exec")


@pytest.mark.parametrize("name", ["classic", "core", "mini"])
def test_zod_v4_variance_annotations(name):
    """zod 4 declares its schema types `interface ZodType<out Output = unknown, ...>`."""
    path = npm_root() / "zod" / "src" / "v4" / name / "schemas.ts"
    data = path.read_bytes()
    assert b"<\n  out " in data or b"<out " in data
    sl, diags = extract_with_diagnostics(data, "typescript", str(path))
    assert diags == [] and len(sl) > 100


@pytest.mark.parametrize(
    "path",
    [
        "mobx/src/mobx.ts",
        "mobx/src/api/action.ts",
        "mobx/src/api/observable.ts",
        "mobx/src/api/computed.ts",
        "zod/src/v4/core/checks.ts",
    ],
)
def test_npm_sources_with_call_signatures_and_keyword_named_parameters(path):
    """`<T>(v: T): T` after a member without `;`, `(any) => void`, `<in T>` in real packages."""
    full = npm_root() / path
    assert extract_with_diagnostics(full.read_bytes(), "typescript", str(full))[1] == []


def test_tagged_template_with_type_arguments_is_a_call_with_its_original_text():
    sl, _ = slices_of("modern.ts")
    rows = by(sl, "var", "query", "rows")
    assert (
        rows.evidence.definition.text
        == "await prisma.$queryRaw<{ id: number }[]>`SELECT * FROM t WHERE id = ${id}`"
    )
    assert rows.evidence.definition.category == "await"
    assert [o.op for o in by(sl, "param", "query", "id").evidence.operators] == ["format"]
    style = by(slices_of("modern.tsx")[0], "var", "Styled", "style")
    assert style.evidence.definition.category == "call"


def test_using_declarations_are_declarations():
    """`using r = getRes()` was read as an assignment to `r` (no site, no diagnostic)."""
    sl, _ = slices_of("modern.ts")
    r = by(sl, "var", "useRes", "r")
    assert r.annotatable and r.evidence.definition.text == "getRes()"
    assert by(sl, "var", "useRes", "a").evidence.definition.text == "aRes()"
    each = by(sl, "var", "useRes", "each")
    assert each.evidence.definition.category == "iteration"
    assert [c.method for c in by(sl, "var", "useRes", "item").evidence.calls_on] == ["close"]


def test_accessor_fields_after_other_modifiers_are_sites():
    sl, _ = slices_of("modern.ts")
    total = by(sl, "var", "Service", "total")
    assert total.annotation == "number" and total.evidence.definition.text == "1"


def test_format_spec_starting_with_equals_is_not_a_walrus():
    """f"{score:=10}" pads with '=': it neither assigns `score` nor binds a new name."""
    sl, _ = slices_of("py311.py")
    for name in ("x", "score"):
        p = by(sl, "param", "fstrings", name)
        assert p.evidence.assignments == []
        assert [o.op for o in p.evidence.operators] == ["format"]
    assert not [s for s in sl if s.kind == "var" and s.qualname == "fstrings" and s.name in ("x", "score")]


def test_type_parameter_defaults_keep_the_sites():
    sl, _ = slices_of("py313_pep696.py")
    assert {(s.kind, s.qualname, s.name) for s in sl} >= {
        ("param", "pick", "xs"),
        ("param", "pick", "i"),
        ("return", "pick", "pick"),
        ("param", "Holder.put", "value"),
        ("var", "Holder.put", "self.value"),
    }


@pytest.mark.parametrize(
    "language,source",
    [
        ("typescript", "interface X<in T {\n  a: T;\n"),
        ("typescript", "const r = tag<>`x`;\n"),
        ("typescript", "class C { static accessor = ; }\n"),
        ("typescript", "const f = (any) => ;\n"),
        ("typescript", "interface A {\n  x: number\n  <T>(v: T): \n}\n"),
        ("python", "def f[T = ](x):\n    return x\n"),
        ("python", 'x = f"{y:=}" +\n'),
    ],
)
def test_real_syntax_errors_are_still_reported(language, source):
    assert extract_with_diagnostics(source, language, "bad")[1]


def test_annotate_writes_a_file_with_recent_syntax():
    """annotate used to skip these files; the written file parses and keeps the new syntax."""
    data = (MODERN / "modern.ts").read_bytes()
    sl, _ = slices_of("modern.ts")
    site = by(sl, "var", "query", "rows")  # beside the type arguments the grammar lacks
    new, applied, _ = apply(
        data, "typescript", [Edit("var", site.span[0], "unknown[]")], Options(0.0), "m.ts"
    )
    assert len(applied) == 1
    assert b"const rows: unknown[] = await prisma.$queryRaw<{ id: number }[]>`SELECT" in new
    assert b"interface Both<in out T>" in new and b"$queryRaw<{ id: number }[]>`SELECT" in new
    assert parses(new, "typescript")
    data = (MODERN / "py311.py").read_bytes()
    site = by(slices_of("py311.py")[0], "param", "fstrings", "width")
    new, applied, _ = apply(data, "python", [Edit("param", site.span[0], "int")], Options(0.0), "m.py")
    assert len(applied) == 1 and b"def fstrings(x, score, width: int):" in new and b'f"{score:=06.2f}"' in new
