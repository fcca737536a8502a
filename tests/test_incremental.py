"""Incremental analysis in the editor must give what an analysis from scratch gives.

An edited document is parsed with tree-sitter's `Tree.edit` and the old tree (typeinf.slices.source
`parse(data, previous=..., edits=...)`); the editor's changes are turned into byte edits by
typeinf.lsp.changes; an edited file's annotations update the project's name table in place
(`NameTable.replaced`); predictions are remembered by what the model reads.  Each is checked here
against the same thing done from scratch, on random edit sequences over real files (typeinf's own
source, the standard library, the modern-syntax fixtures, npm packages' TypeScript): typing in
names, new parameters and statements, lines added and removed (functions and classes appear and
vanish), module-level imports and classes, broken syntax and its repair, non-ASCII text.  The
server's side is in tests/test_lsp.py (a real client's incremental changes).
"""

from __future__ import annotations

import os
import random
import re
import sysconfig
import zlib
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, need_tool
from lsprotocol import types as lsp
from pygls.workspace import TextDocument

from typeinf.inference.names import NameTable, annotated_names
from typeinf.inference.project import rescan, scan_file
from typeinf.lsp.changes import ChangeLog, Texts, content_edit, document_bytes
from typeinf.slices import extract_with_diagnostics, incremental
from typeinf.slices import source as src
from typeinf.slices.incremental import slice_document
from typeinf.slices.source import TextEdit, apply_edits, bridge_grammar_gaps, diff_edit, parse, parser

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PYTHON_FILES = [
    ROOT / "typeinf" / "slices" / "python.py",
    ROOT / "tests" / "fixtures" / "modern" / "py312_pep695_701.py",
    STDLIB / "textwrap.py",
    STDLIB / "fractions.py",
]
TYPESCRIPT_FILES = [
    ROOT / "tests" / "fixtures" / "modern" / "modern.ts",
    ROOT / "tests" / "fixtures" / "modern" / "ts59.ts",
    ROOT / "tests" / "fixtures" / "modern" / "modern.tsx",
]
NPM_FILES = ["rxjs/src/internal/ajax/ajax.ts", "rxjs/src/internal/Observable.ts", "zod/src/v4/core/api.ts"]

PY_SNIPPETS = [
    "x",
    "_é",
    "(",
    ")",
    ":",
    '"""',
    "'",
    "\n",
    "#",
    " 😀 ",
    "import os.path as osp\n",
    "class Added:\n    def m(self, v=1):\n        self.v = v\n        return v\n\n",
    "def added(a, b=None):\n    c = [a, b]\n    return c\n\n",
    "global counter\n",
]
TS_SNIPPETS = [
    "x",
    "é",
    "(",
    ")",
    "{",
    "}",
    "<T>",
    "=>",
    "`",
    "/*",
    " 😀 ",
    "\n",
    'import { added } from "./added";\n',
    "export class Added {\n  v = 1;\n  m(a: number, b?) {\n    return this.v + a;\n  }\n}\n",
    "function added(a, b = 2) {\n  const c = [a, b];\n  return c;\n}\n",
    "const z: string = 'ü';\n",
]


def fresh_tree(data: bytes, language: str):
    """The tree a parse from scratch gives (no kept trees, no old tree)."""
    raw = parser(language).parse(data)
    bridged = bridge_grammar_gaps(data, language, raw)
    return raw if bridged is None else bridged[0]


def shape(tree) -> list[tuple[str, int, int, bool]]:
    out, stack = [], [tree.root_node]
    while stack:
        n = stack.pop()
        out.append((n.type, n.start_byte, n.end_byte, n.is_missing))
        stack.extend(reversed(n.children))
    return out


def from_scratch(data: bytes, language: str, path: str) -> tuple[list[dict], list]:
    with src._TREES_LOCK:
        src._TREES.clear()
    slices, diagnostics = extract_with_diagnostics(data, language, path)
    return [s.to_dict() for s in slices], diagnostics


def random_edit(rng: random.Random, data: bytes, language: str) -> TextEdit:
    """One edit of the kinds an editor makes (a position never splits a UTF-8 character)."""
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode()))
    kind = rng.choice([0, 0, 1, 2, 2, 3, 3, 4, 5, 6, 7])  # mostly edits that keep the syntax whole
    if kind == 0:  # type into a name
        names = [m for m in re.finditer(rb"[A-Za-z_]\w*", data)]
        m = rng.choice(names)
        at = rng.randrange(m.start(), m.end() + 1)
        return TextEdit(at, at, rng.choice([b"q", b"_", "é".encode()]))
    if kind == 1:  # delete from a name
        names = [m for m in re.finditer(rb"[A-Za-z_]\w{2,}", data)]
        m = rng.choice(names)
        at = rng.randrange(m.start() + 1, m.end())
        return TextEdit(at, at + 1, b"")
    if kind == 2:  # a new parameter
        opens = [m.end() for m in re.finditer(rb"(?:def|function) \w+\(", data)]
        at = rng.choice(opens) if opens else 0
        return TextEdit(at, at, b"p_new=0, " if language == "python" else b"p_new?: number, ")
    if kind == 3:  # a new statement before a line, with its indentation
        k = rng.randrange(len(lines))
        indent = re.match(r"[ \t]*", lines[k]).group(0)  # type: ignore[union-attr]
        stmt = "v_new = len([1])\n" if language == "python" else "const v_new = [1].length;\n"
        return TextEdit(starts[k], starts[k], (indent + stmt).encode())
    if kind == 4:  # delete or duplicate lines (whole functions and classes come and go)
        k = rng.randrange(len(lines))
        n = rng.choice([1, 1, 3, 12])
        end = starts[min(len(lines), k + n)]
        return TextEdit(starts[k], end, b"" if rng.random() < 0.5 else data[starts[k] : end] * 2)
    if kind == 5:  # something new at the top (module-level names change for every site)
        snippets = PY_SNIPPETS if language == "python" else TS_SNIPPETS
        return TextEdit(0, 0, rng.choice(snippets[10:]).encode())
    snippets = PY_SNIPPETS if language == "python" else TS_SNIPPETS
    k = rng.randrange(len(lines))  # a snippet anywhere (replacing two characters, for kind 7)
    col = rng.randrange(len(lines[k]) + 1)
    at = starts[k] + len(lines[k][:col].encode())
    end = at + (len(lines[k][col : col + 2].encode()) if kind == 7 else 0)
    return TextEdit(at, end, rng.choice(snippets).encode())


def edit_session(path: Path, language: str, steps: int, seed: int, monkeypatch) -> int:
    """Random edits of the file; after each, the incremental parse and slicing against slicing from
    scratch.  Returns how many edits were sliced again function by function."""
    reused = []
    real = src.reparse

    def counting(p, data, old):  # type: ignore[no-untyped-def]
        tree = real(p, data, old)
        reused.append(old is not None and not tree.root_node.has_error)
        return tree

    monkeypatch.setattr(src, "reparse", counting)
    local = function_only_edits(monkeypatch)
    rng = random.Random(seed)
    data = path.read_bytes()
    parse(data, language)
    sliced = slice_document(data, language, str(path))
    clean = data  # the last version without a syntax error: broken code is repaired (undone) later
    for step in range(steps):
        edits = [random_edit(rng, data, language)]
        if rng.random() < 0.3:  # several changes in one notification
            edits.append(random_edit(rng, apply_edits(data, edits), language))
        new = apply_edits(data, edits)
        if rng.random() < 0.25:
            new, edits = clean, [diff_edit(data, clean)]
        tree = parse(new, language, previous=data, edits=edits if step % 3 else None)
        expected = fresh_tree(new, language)
        assert shape(tree) == shape(expected), f"{path.name} step {step}: {edits}"
        if not expected.root_node.has_error:
            clean = new
        got, _ = extract_with_diagnostics(new, language, str(path))
        sliced = slice_document(new, language, str(path), previous=sliced)
        expected, diagnostics = from_scratch(new, language, str(path))
        assert [s.to_dict() for s in got] == expected, f"{path.name} step {step}: {edits}"
        assert [s.to_dict() for s in sliced.slices] == expected, f"{path.name} step {step}: {edits}"
        assert sliced.diagnostics == diagnostics
        assert rescan(data, scan_file(data, language), new, language) == scan_file(new, language)
        parse(new, language)  # (kept again, as the server's next edit finds it)
        data = new
    assert sum(reused) >= 2, f"{path.name}: the old tree was reused {sum(reused)} times"
    return sum(local)


def function_only_edits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each edit the editor's slicer is given: whether it took the function-only path."""
    local: list[bool] = []
    real_edit = incremental._python_edit

    def counting_edit(prev, data):  # type: ignore[no-untyped-def]
        got = real_edit(prev, data)
        local.append(got is not None)
        return got

    monkeypatch.setattr(incremental, "_python_edit", counting_edit)
    return local


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: p.name)
def test_python_edit_sessions_slice_as_from_scratch(path, monkeypatch):
    local = edit_session(path, "python", 24, zlib.crc32(path.name.encode()), monkeypatch)
    print(path.name, "sliced function by function:", local)


@pytest.mark.parametrize("path", TYPESCRIPT_FILES, ids=lambda p: p.name)
def test_typescript_edit_sessions_slice_as_from_scratch(path, monkeypatch):
    language = "tsx" if path.suffix == ".tsx" else "typescript"
    edit_session(path, language, 24, zlib.crc32(path.name.encode()), monkeypatch)


@pytest.mark.parametrize("name", NPM_FILES)
def test_npm_packages_edit_sessions_slice_as_from_scratch(name, monkeypatch):
    root = Path(os.environ.get("TYPEINF_TEST_NPM", str(Path.home() / ".cache/typeinf/test-npm")))
    path = root / "node_modules" / name
    need_tool(path.is_file(), f"the npm test packages (npm; expected {path})")
    edit_session(path, "typescript", 16, 7, monkeypatch)


def test_edits_that_do_not_lead_to_the_text_are_not_trusted():
    data = b"def f(a):\n    return a\n"
    new = b"def f(a, b):\n    return a\n"
    parse(data, "python")
    wrong = [TextEdit(0, 0, b"#")]  # does not turn `data` into `new`
    assert shape(parse(new, "python", previous=data, edits=wrong)) == shape(fresh_tree(new, "python"))


def test_diff_edit_is_the_change_between_common_ends():
    assert diff_edit(b"abcdef", b"abXYef") == TextEdit(2, 4, b"XY")
    assert diff_edit(b"aaa", b"aaaa") == TextEdit(3, 3, b"a")
    assert diff_edit(b"", b"x") == TextEdit(0, 0, b"x")
    for old, new in [(b"abab", b"ab"), (b"xyz", b"xyz"), (b"\xc3\xa9t\xc3\xa9", b"\xc3\xa9")]:
        e = diff_edit(old, new)
        assert apply_edits(old, [e]) == new


# ---------------------------------------------------------------------- the editor's changes
def test_content_changes_become_byte_edits_in_utf16_and_non_ascii():
    """Positions in UTF-16 units (the default), after characters of 2, 3 and 4 UTF-8 bytes."""
    text = "a = 'é€😀'\nb = 2\n"
    doc = TextDocument("file:///m.py", text, version=1)
    # after the emoji (2 UTF-16 units), before the closing quote
    change = lsp.TextDocumentContentChangePartial(lsp.Range(lsp.Position(0, 9), lsp.Position(0, 9)), "ü")
    edit = content_edit(doc, change)
    doc.apply_change(change)
    assert edit is not None and apply_edits(document_bytes(text), [edit]) == document_bytes(doc.source)
    assert doc.source == "a = 'é€😀ü'\nb = 2\n"
    # a range over two lines, replaced
    change = lsp.TextDocumentContentChangePartial(lsp.Range(lsp.Position(0, 4), lsp.Position(1, 3)), "[")
    before = document_bytes(doc.source)
    edit = content_edit(doc, change)
    doc.apply_change(change)
    assert edit is not None and apply_edits(before, [edit]) == document_bytes(doc.source) == b"a = [ 2\n"
    # at the very end, and a whole text (no range: the texts are compared instead)
    change = lsp.TextDocumentContentChangePartial(lsp.Range(lsp.Position(1, 0), lsp.Position(1, 0)), "c")
    before = document_bytes(doc.source)
    edit = content_edit(doc, change)
    doc.apply_change(change)
    assert edit is not None and apply_edits(before, [edit]) == document_bytes(doc.source)
    assert content_edit(doc, lsp.TextDocumentContentChangeWholeDocument("x")) is None


def test_content_changes_read_with_the_texts_line_starts_give_the_same_edits():
    """`content_edit` with the document's `DocumentText` (its byte line starts, no encoding of the
    lines before the change) gives the edit it gives without, for random changes of texts with
    non-ASCII characters and with line breaks pygls splits at but b"\\n" does not mark (a lone
    b"\\r", a form feed): there it falls back to pygls's lines."""
    rng = random.Random(7)
    alphabet = ["a", "b", " ", "\n", "\n", "é", "😀", "\r\n", "\r", "\x0c", "\u2028"]
    texts = Texts()
    for trial in range(300):
        text = "".join(
            rng.choice(alphabet[: 6 if trial % 2 else len(alphabet)]) for _ in range(rng.randrange(60))
        )
        doc = TextDocument("file:///m.py", text, version=1)
        lines = doc.lines or [""]
        a = rng.randrange(len(lines))
        b = rng.randrange(a, len(lines))
        units = lambda line: len(line.encode("utf-16-le")) // 2  # noqa: E731
        start = lsp.Position(a, rng.randrange(units(lines[a]) + 1))
        end = lsp.Position(b, rng.randrange(units(lines[b]) + 1))
        if (end.line, end.character) < (start.line, start.character):
            start, end = end, start
        change = lsp.TextDocumentContentChangePartial(lsp.Range(start, end), rng.choice(["", "x", "é\n"]))
        fast = content_edit(doc, change, texts.of(doc))
        assert fast == content_edit(doc, change), repr(text)
        before = document_bytes(doc.source)
        doc.apply_change(change)
        assert fast is not None and apply_edits(before, [fast]) == document_bytes(doc.source), repr(text)


def test_change_log_chains_versions():
    log = ChangeLog()
    e1, e2, e3 = TextEdit(0, 0, b"a"), TextEdit(1, 1, b"b"), TextEdit(0, 1, b"")
    log.record("u", 1, 2, [e1])
    log.record("u", 2, 3, [e2, e3])
    log.record("v", 1, 2, None)  # a whole text
    assert log.between("u", 1, 3) == [e1, e2, e3]
    assert log.between("u", 2, 3) == [e2, e3]
    assert log.between("u", 1, 1) == []
    assert log.between("u", 0, 3) is None  # not from a version it has
    assert log.between("v", 1, 2) is None
    log.forget("u", before=2)
    assert log.between("u", 1, 3) is None and log.between("u", 2, 3) == [e2, e3]
    log.forget("u")
    assert log.between("u", 2, 3) is None


# ---------------------------------------------------------------------- the project's names
def test_name_table_of_an_edited_file_is_the_table_built_again():
    files = {
        "a.py": b"def f(x: int, y: str = '') -> list[int]:\n    z: float = 1.0\n    return [x]\n",
        "b.py": b"def g(x: int) -> None:\n    name: str = ''\n",
    }
    rng = random.Random(3)
    scans = {k: annotated_names(parse(v, "python").root_node, "python") for k, v in files.items()}
    table = NameTable.build(scans.values(), "python")
    variants = [
        b"def f(x: str, w: bytes) -> int:\n    return 1\n",
        b"def f(x: int) -> list[int]:\n    return [x]\n",
        b"",
        b"class C:\n    name: str\n    def m(self, x: int) -> None: ...\n",
    ]
    for _ in range(12):
        name = rng.choice(sorted(files))
        new = annotated_names(parse(rng.choice(variants), "python").root_node, "python")
        table = table.replaced(scans[name], new, "python")
        scans[name] = new
        again = NameTable.build(scans.values(), "python")
        assert {k: Counter(v) for k, v in table.counts.items()} == {
            k: Counter(v) for k, v in again.counts.items()
        }
        for key in again.counts:
            assert table.votes(*key) == again.votes(*key)
            assert table.other_votes(*key) == again.other_votes(*key)


# ---------------------------------------------------------------------- remembered predictions
def test_remembered_predictions_are_the_predictions_made_anew():
    """The predictor remembers each site's prediction by what the model reads of it and the
    evidence: after edits, the sites it remembers get the prediction a new predictor makes."""
    from typeinf.inference.names import Votes
    from typeinf.inference.predict import Predictor, PredictorSettings
    from typeinf.inference.rerank import Evidence

    settings = PredictorSettings(cache_dir=None)
    warm = Predictor(settings=settings)
    text = (ROOT / "typeinf" / "slices" / "recover.py").read_bytes()
    rng = random.Random(5)
    votes = Evidence(Votes((("int", 3),), 3))
    for step in range(4):
        slices = [
            s for s in extract_with_diagnostics(text, "python", "recover.py")[0] if s.annotation is None
        ]
        evidence = [votes if (i + step) % 4 == 0 else Evidence() for i in range(len(slices))]
        got = warm.predict(slices, evidence=evidence)
        cold = Predictor(settings=settings).predict(slices, evidence=evidence)
        assert [(p.to_dict(), p.module, p.rule, p.alternatives) for p in got] == [
            (p.to_dict(), p.module, p.rule, p.alternatives) for p in cold
        ]
        assert all(p.slice is s for p, s in zip(got, slices, strict=True))
        text = apply_edits(text, [random_edit(rng, text, "python")])


_NAME = re.compile(rb"[A-Za-z_]\w*")


def in_function_edit(rng: random.Random, data: bytes) -> TextEdit:
    """An edit inside a random function's parameters or body (what re-slicing one function is for)."""
    root = parse(data, "python").root_node
    fns, stack = [], [root]
    while stack:
        n = stack.pop()
        if n.type == "function_definition":
            fns.append(n)
        stack.extend(n.children)
    fn = rng.choice(fns)
    params, body = fn.child_by_field_name("parameters"), fn.child_by_field_name("body")
    assert params is not None and body is not None
    kind = rng.randrange(5)
    if kind == 0:  # a new parameter
        return TextEdit(params.start_byte + 1, params.start_byte + 1, b"p_new=0, ")
    if kind == 1:  # a new statement before one of the body's
        stmt = rng.choice(body.named_children)
        indent = data[data.rfind(b"\n", 0, stmt.start_byte) + 1 : stmt.start_byte]
        line = rng.choice(
            [b"v_new = len([1])", b"self.cache_new = {}", b"return None", b"x = (", b"print('\xc3\xa9')"]
        )
        return TextEdit(stmt.start_byte, stmt.start_byte, line + b"\n" + indent)
    m, edit = _name_edit(rng, data, fn, body, kind)
    if edit is not None:
        return edit
    start = rng.choice(body.named_children)  # delete a statement
    return TextEdit(start.start_byte, start.end_byte, b"pass")


def _name_edit(
    rng: random.Random, data: bytes, fn, body, kind: int
) -> tuple[re.Match[bytes], TextEdit | None]:  # type: ignore[no-untyped-def]
    """A name of the function's body, and for kinds 2 and 3 an edit of it: typing into it, or
    renaming it to another name of the function."""
    names = list(_NAME.finditer(data, body.start_byte, body.end_byte)) or list(
        _NAME.finditer(data, fn.start_byte, fn.end_byte)
    )
    m = rng.choice(names)
    if kind == 2:
        at = rng.randrange(m.start(), m.end() + 1)
        return m, TextEdit(at, at, b"q")
    if kind == 3:
        other = rng.choice(names)
        return m, TextEdit(m.start(), m.end(), other.group(0))
    return m, None


@pytest.mark.parametrize(
    "path",
    [STDLIB / "calendar.py", STDLIB / "fractions.py", ROOT / "typeinf" / "lsp" / "server.py"],
    ids=lambda p: p.name,
)
def test_edits_inside_functions_are_sliced_function_by_function_as_from_scratch(path, monkeypatch):
    local = function_only_edits(monkeypatch)
    rng = random.Random(zlib.crc32(path.name.encode()))
    data = path.read_bytes()
    sliced = slice_document(data, "python", str(path))
    for step in range(30):
        edit = in_function_edit(rng, data)
        new = apply_edits(data, [edit])
        parse(new, "python", previous=data, edits=[edit])
        sliced = slice_document(new, "python", str(path), previous=sliced)
        expected, diagnostics = from_scratch(new, "python", str(path))
        assert [s.to_dict() for s in sliced.slices] == expected, f"{path.name} step {step}: {edit}"
        assert sliced.diagnostics == diagnostics
        assert rescan(data, scan_file(data, "python"), new, "python") == scan_file(new, "python")
        parse(new, "python")
        if not diagnostics:
            data = new  # (a broken edit is not kept: the next one starts from the text before it)
        else:
            sliced = slice_document(data, "python", str(path), previous=sliced)
    assert sum(local) >= 3, f"{path.name}: {sum(local)} of {len(local)} edits sliced function by function"
    print(path.name, sum(local), "of", len(local), "edits sliced function by function")


_TS_FUNCTIONS = frozenset(
    {"function_declaration", "method_definition", "arrow_function", "function_expression"}
)


def in_typescript_function_edit(rng: random.Random, data: bytes, language: str) -> TextEdit:
    """An edit inside a random TypeScript function's parameters or body."""
    root = parse(data, language).root_node
    fns, stack = [], [root]
    while stack:
        n = stack.pop()
        body = n.child_by_field_name("body") if n.type in _TS_FUNCTIONS else None
        if body is not None and body.type == "statement_block" and body.named_children:
            fns.append((n, body))
        stack.extend(n.children)
    fn, body = rng.choice(fns)
    kind = rng.randrange(6)
    params = fn.child_by_field_name("parameters")
    if kind == 0 and params is not None:  # a new parameter
        return TextEdit(params.start_byte + 1, params.start_byte + 1, b"p_new?: number, ")
    if kind <= 1:  # a new statement before one of the body's
        stmt = rng.choice(body.named_children)
        indent = data[data.rfind(b"\n", 0, stmt.start_byte) + 1 : stmt.start_byte]
        line = rng.choice(
            [
                b"const v_new = [1].length;",
                b"this.cacheNew = {};",
                b"return undefined;",
                b"x = (",
                b"log('\xc3\xa9');",
            ]
        )
        return TextEdit(stmt.start_byte, stmt.start_byte, line + b"\n" + indent)
    m, edit = _name_edit(rng, data, fn, body, kind)
    if edit is not None:
        return edit
    if kind == 4:  # use a name of the function (a module-level one, often) in a new statement
        stmt = rng.choice(body.named_children)
        return TextEdit(stmt.start_byte, stmt.start_byte, b"use_new(" + m.group(0) + b".size);\n")
    stmt = rng.choice(body.named_children)  # delete a statement
    return TextEdit(stmt.start_byte, stmt.end_byte, b";")


def typescript_reassembled(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each edit: whether the editor's slicer kept the slices the edit cannot change."""
    kept: list[bool] = []
    real = incremental.ts.edited

    def counting(*args):  # type: ignore[no-untyped-def]
        got = real(*args)
        kept.append(got is not None)
        return got

    monkeypatch.setattr(incremental.ts, "edited", counting)
    return kept


@pytest.mark.parametrize(
    "name", ["rxjs/src/internal/Observable.ts", "zod/src/v4/core/api.ts", "rxjs/src/internal/Subscriber.ts"]
)
def test_typescript_edits_inside_functions_keep_the_other_slices_as_from_scratch(name, monkeypatch):
    root = Path(os.environ.get("TYPEINF_TEST_NPM", str(Path.home() / ".cache/typeinf/test-npm")))
    path = root / "node_modules" / name
    need_tool(path.is_file(), f"the npm test packages (npm; expected {path})")
    typescript_function_session(path, monkeypatch)


def test_edits_inside_a_class_s_arrow_function_fields_keep_the_other_slices_as_from_scratch(monkeypatch):
    """A class whose members are mostly fields holding functions (`find = (id) => {...};`): an
    edit inside one is an edit of that field alone, not of the whole class."""
    # (with the whole class as the edit's unit, 725 of 1,148 slices were kept: 63%)
    path = ROOT / "tests" / "fixtures" / "class_fields.ts"
    typescript_function_session(path, monkeypatch, share=0.75)


def typescript_function_session(path: Path, monkeypatch: pytest.MonkeyPatch, share: float = 0.5) -> None:
    """30 random edits inside the file's functions, each sliced from the last slicing and compared
    with slicing from scratch; more than `share` of the slices must be kept (those the edit
    cannot change)."""
    kept = typescript_reassembled(monkeypatch)
    rng = random.Random(zlib.crc32(path.name.encode()))
    data = path.read_bytes()
    sliced = slice_document(data, "typescript", str(path))
    reused = total = 0
    for step in range(30):
        edit = in_typescript_function_edit(rng, data, "typescript")
        new = apply_edits(data, [edit])
        if new == data:  # (a name renamed to itself)
            continue
        parse(new, "typescript", previous=data, edits=[edit])
        previous = sliced
        sliced = slice_document(new, "typescript", str(path), previous=previous)
        expected, diagnostics = from_scratch(new, "typescript", str(path))
        assert [s.to_dict() for s in sliced.slices] == expected, f"{path.name} step {step}: {edit}"
        assert sliced.diagnostics == diagnostics
        assert rescan(data, scan_file(data, "typescript"), new, "typescript") == scan_file(new, "typescript")
        if kept[-1]:  # the kept slices keep their evidence (the model's keys are remembered by it)
            evidence = {id(s.evidence) for s in previous.slices}
            reused += sum(id(s.evidence) in evidence for s in sliced.slices)
            total += len(sliced.slices)
        parse(new, "typescript")
        if not diagnostics:
            data = new
        else:
            sliced = slice_document(data, "typescript", str(path), previous=sliced)
    assert sum(kept) >= 10, f"{path.name}: {sum(kept)} of {len(kept)} edits kept the other slices"
    assert reused > total * share, f"{path.name}: {reused} of {total} slices kept"
    print(
        path.name, sum(kept), "of", len(kept), "edits kept the other slices,", reused, "of", total, "slices"
    )


def test_edits_of_a_bridged_typescript_text_carry_its_bridging(monkeypatch):
    """zod's v4 schemas.ts has call signatures the grammar misreads (its raw parse has an error over
    the whole file) and is parsed through the bridging; an edit inside a function carries the
    bridging over (the edited bridged text parsed from its tree) instead of parsing and bridging
    the raw text again: a chain of such edits gives the trees and slices of a parse from scratch."""
    root = Path(os.environ.get("TYPEINF_TEST_NPM", str(Path.home() / ".cache/typeinf/test-npm")))
    path = root / "node_modules" / "zod/src/v4/core/schemas.ts"
    need_tool(path.is_file(), f"the npm test packages (npm; expected {path})")
    carried: list[bool] = []
    real = src._carried

    def counting(*args):  # type: ignore[no-untyped-def]
        got = real(*args)
        carried.append(got is not None)
        return got

    monkeypatch.setattr(src, "_carried", counting)
    rng = random.Random(11)
    data = path.read_bytes()
    assert parser("typescript").parse(data).root_node.has_error  # (the grammar alone misreads it)
    parse(data, "typescript")
    for step in range(24):
        edit = in_typescript_function_edit(rng, data, "typescript")
        new = apply_edits(data, [edit])
        tree = parse(new, "typescript", previous=data, edits=[edit])
        expected = fresh_tree(new, "typescript")
        assert shape(tree) == shape(expected), f"step {step}: {edit}"
        if not expected.root_node.has_error:
            data = new
        else:
            parse(data, "typescript")  # (the next edit starts from the last text without an error)
    got, _ = extract_with_diagnostics(data, "typescript", str(path))
    assert [s.to_dict() for s in got] == from_scratch(data, "typescript", str(path))[0]
    assert sum(carried) >= 12, f"{sum(carried)} of {len(carried)} edits carried the bridging over"


@pytest.mark.parametrize(
    ("language", "text", "far", "brought"),
    [
        (
            "typescript",
            b"// open the file using a handle\nfunction a(p) {\n  return p;\n}\n"
            + b"const pad = 1;\n" * 200
            + b"function b(q) {\n  const r = q;\n  return r;\n}\n",
            (b"return p;", b"return p + 1;"),
            (b"const r = q;", b"using r = q;"),
        ),
        (
            "python",
            b"def a(p):\n    if (n := len(p)) > 1:\n        return n\n"
            + b"PAD = 1\n" * 300
            + b"def b(q):\n    return f'{q}'\n",
            (b"return n", b"return n + 1"),
            (b"f'{q}'", b"f'{q:=^10}'"),
        ),
    ],
    ids=["typescript-using", "python-format-spec"],
)
def test_an_edit_is_looked_at_for_misread_constructs_where_its_tree_changed(
    language, text, far, brought, monkeypatch
):
    """A text whose tree has no error and no construct the grammar reads as something else (a
    `using` declaration, a format spec opening with `=`), though the keyword is in it: an edit's
    tree is searched for such constructs only where it changed, and one the edit brings is
    bridged as a parse from scratch bridges it."""
    ranges: list[object] = []  # what each search of `parse`'s was given (not fresh_tree's)
    real = src.silent_rewrites
    parsing = [False]

    def spy(data, language, root, within=None):  # type: ignore[no-untyped-def]
        if parsing[0]:
            ranges.append(within)
        return real(data, language, root, within)

    monkeypatch.setattr(src, "silent_rewrites", spy)
    with src._TREES_LOCK:
        src._TREES.clear()
    parsing[0] = True
    parse(text, language)
    parsing[0] = False
    data = text
    for old, new_text in (far, brought, far[::-1]):  # (the third edit undoes the first)
        at = data.index(old)
        edit = TextEdit(at, at + len(old), new_text)
        new = apply_edits(data, [edit])
        parsing[0] = True
        tree = parse(new, language, previous=data, edits=[edit])
        parsing[0] = False
        assert shape(tree) == shape(fresh_tree(new, language)), f"{language}: {new_text!r}"
        data = new
    assert ranges[0] is None  # the first text: the whole tree
    assert ranges[1] is not None and all(b - a < len(text) // 2 for a, b in ranges[1])  # an edit far away
    # (the construct the second edit brings is found in its range, or makes an error: then the
    # whole tree is bridged), and after a text with a bridged construct the whole tree is searched
    assert ranges[-1] is None


def test_a_method_whose_first_parameter_changes_is_sliced_again_with_its_members():
    # `self.names` in get_tabs is the member while `self` is the receiver; after `p=0, ` it is a
    # parameter's attribute, and the member's slice (outside the method) loses the use
    data = (
        b"class Block:\n"
        b"    def parse(self):\n"
        b"        self.names = Sentence(self)\n\n"
        b"    def get_tabs(self):\n"
        b"        return self.names.get_tabs()\n"
    )
    sliced = slice_document(data, "python", "b.py")
    at = data.index(b"get_tabs(self)") + len(b"get_tabs(")
    new = apply_edits(data, [TextEdit(at, at, b"p=0, ")])
    again = slice_document(new, "python", "b.py", previous=sliced)
    expected, _ = from_scratch(new, "python", "b.py")
    assert [s.to_dict() for s in again.slices] == expected
    member = next(s for s in again.slices if s.name == "self.names")
    assert [c.method for c in member.evidence.calls_on] == []


def test_a_typescript_edit_of_the_same_length_that_joins_lines_moves_the_sites_after_it():
    data = (
        b"/** a\n * b\n */\nexport const f = (a) => {\n  // x\n  return a;\n};\n\nconst g = (b) => b + 1;\n"
    )
    sliced = slice_document(data, "typescript", "m.ts")
    at = data.index(b"// x\n") + 3
    new = apply_edits(data, [TextEdit(at, at + 2, b"/*")])  # `x\n` -> `/*`: a line fewer, no byte fewer
    assert len(new) == len(data)
    again = slice_document(new, "typescript", "m.ts", previous=sliced)
    expected, diagnostics = from_scratch(new, "typescript", "m.ts")
    assert [s.to_dict() for s in again.slices] == expected
    assert [s.line for s in sliced.slices if s.name == "b"] == [9]
    assert [s.line for s in again.slices if s.name == "b"] == [8]


@pytest.mark.parametrize(
    ("path", "language", "before", "after"),
    [
        (ROOT / "tests" / "fixtures" / "class_fields.ts", "typescript", b"return", b"return "),
        (ROOT / "typeinf" / "lsp" / "server.py", "python", b"return fn(*args)", b"return  fn(*args)"),
        (ROOT / "slices" / "examples" / "python_example.py", "python", b"\n", b"\nx = (\n"),  # recovered
    ],
)
def test_slicing_leaves_no_garbage_for_the_collector(
    path: Path, language: str, before: bytes, after: bytes
) -> None:
    """A walk's records (sites, bindings, scopes, functions, the walker's handlers) point at each
    other; once the slices are made their cycles are broken (`scopes.unlink`), so they are freed at
    once rather than by the collector, whose passes over them stalled the language server: whole,
    after an edit inside a function, and recovered from a syntax error."""
    import gc

    data = path.read_bytes()
    edited = data.replace(before, after, 1)
    assert edited != data
    first = slice_document(data, language, str(path))
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        slice_document(edited, language, str(path), previous=first)
        slice_document(data, language, str(path))
        extract_with_diagnostics(edited, language, str(path))
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()
