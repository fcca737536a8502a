"""End-to-end language-server tests with pytest-lsp (a real LSP client over stdio, Neovim's
capabilities), against `typeinf lsp` with the shipped model."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SOURCE = """def scale(value, factor=2, label="x"):
    print(label)
    return value * factor


def report(rows, verbose=False):
    for row in rows:
        print(row)
"""


SHAPES = """class Widget:
    def draw(self) -> None:
        pass

    def resize(self, width: int) -> None:
        pass
"""


USER_TS = "export interface User {\n  name: string;\n  email: string;\n  greet(): string;\n}\n"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "typeinf", "lsp"]))
async def client(lsp_client: LanguageClient, tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    (root / "pyproject.toml").write_text('[project]\nname = "ws"\nrequires-python = ">=3.10"\n')
    (root / "shapes.py").write_text(SHAPES)  # another module: the server indexes the workspace's types
    (root / "src" / "models").mkdir(parents=True)
    (root / "src" / "models" / "user.ts").write_text(USER_TS)

    @lsp_client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
    def refresh(params: None) -> None:  # the server asks for a refresh when late predictions arrive
        lsp_client.refreshes = getattr(lsp_client, "refreshes", 0) + 1  # type: ignore[attr-defined]

    # minConfidence 0: every prediction becomes a hint, so positions can be checked exactly
    params = lsp.InitializeParams(
        capabilities=client_capabilities("neovim"),
        root_uri=root.as_uri(),
        initialization_options={"typeinf": {"maxHints": 100, "minConfidence": 0.0}},
    )
    result = await lsp_client.initialize_session(params)
    lsp_client.root = root  # type: ignore[attr-defined]
    lsp_client.encoding = result.capabilities.position_encoding or "utf-16"  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, name: str, text: str, language: str = "python") -> str:
    path = Path(client.root) / name  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, language, 1, text)))
    return uri


def whole(text: str) -> lsp.Range:
    return lsp.Range(lsp.Position(0, 0), lsp.Position(len(text.splitlines()) + 1, 0))


async def hints(client: LanguageClient, uri: str, text: str) -> list[lsp.InlayHint]:
    got = await client.text_document_inlay_hint_async(
        lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), whole(text))
    )
    return got or []


async def test_inlay_hints_insert_on_accept(client: LanguageClient):
    uri = open_doc(client, "m.py", SOURCE)
    got = await hints(client, uri, SOURCE)
    labels = {(h.position.line, h.position.character): h.label for h in got}
    assert labels[(5, 24)] == ": bool"  # verbose=False
    assert labels[(5, 31)] == "-> None"  # after the parameter list of report
    h = next(h for h in got if h.label == "-> None")
    assert h.text_edits and h.text_edits[0].new_text == " -> None"
    resolved = await client.inlay_hint_resolve_async(h)
    assert resolved.tooltip is not None and "None" in resolved.tooltip.value  # type: ignore[union-attr]


async def test_hover_shows_ranked_alternatives(client: LanguageClient):
    uri = open_doc(client, "h.py", SOURCE)
    got = await client.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(0, 19))
    )  # factor
    assert got is not None
    text = got.contents.value  # type: ignore[union-attr]
    assert "`int`" in text and "%" in text and ("static" in text or "model" in text)


async def test_code_actions_annotate_site_function_and_file(client: LanguageClient):
    uri = open_doc(client, "c.py", SOURCE)
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri),
            lsp.Range(lsp.Position(5, 20), lsp.Position(5, 20)),
            lsp.CodeActionContext(diagnostics=[]),
        )
    )
    titles = [a.title for a in actions or []]
    assert any(t.startswith("Annotate `verbose: bool`") for t in titles), titles
    assert "Annotate this file (typeinf)" in titles
    site = next(a for a in actions if a.title.startswith("Annotate `verbose"))  # type: ignore[union-attr]
    edits = site.edit.changes[uri]  # type: ignore[union-attr,index]
    assert any("verbose: bool = False" in e.new_text for e in edits)


async def test_edit_then_hints_follow_the_new_version(client: LanguageClient):
    uri = open_doc(client, "e.py", SOURCE)
    await hints(client, uri, SOURCE)
    new = SOURCE.replace("verbose=False", "verbose=False, limit=10")
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [lsp.TextDocumentContentChangeWholeDocument(new)],
        )
    )
    got = await hints(client, uri, new)
    assert any(h.label == ": int" and h.position.line == 5 for h in got)


async def test_half_typed_buffer_still_gets_hints(client: LanguageClient):
    text = SOURCE + "\ndef broken(x:\n"
    uri = open_doc(client, "b.py", text)
    got = await hints(client, uri, text)
    assert any(h.label == "-> None" for h in got)


async def test_typescript_hints_in_the_negotiated_position_encoding(client: LanguageClient):
    text = 'const s = "é😀"; export function log(message = "") {\n  console.log(message, s);\n}\n'
    uri = open_doc(client, "t.ts", text, "typescript")
    got = await hints(client, uri, text)
    ret = next(h for h in got if h.label == ": void")
    before = text[: text.index(") {") + 1]  # the hint goes right after `(message = "")`
    units = {
        "utf-8": len(before.encode("utf-8")),
        "utf-16": len(before.encode("utf-16-le")) // 2,
        "utf-32": len(before),
    }[client.encoding]  # type: ignore[attr-defined]
    assert ret.position == lsp.Position(0, units)


async def test_settings_change_and_invalid_settings(client: LanguageClient):
    uri = open_doc(client, "s.py", SOURCE)
    client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(
            settings={"typeinf": {"inlayHints": {"returns": False}, "maxHints": "lots", "minConfidence": 0.0}}
        )
    )
    msg = await client.wait_for_notification(lsp.WINDOW_SHOW_MESSAGE)
    assert "maxHints" in msg.message
    got = await hints(client, uri, SOURCE)
    assert got and not any(h.label.startswith("->") for h in got)


async def test_types_of_other_project_modules_are_predicted_and_imported(client: LanguageClient):
    text = "def render(widget, width):\n    widget.resize(width)\n    widget.draw()\n    return widget\n"
    uri = open_doc(client, "app.py", text)
    # the project index is scanned in its own thread: until it is complete, hints are made with what
    # is indexed so far and refreshed later (workspace/inlayHint/refresh), so ask until they are
    for _ in range(60):
        got = await hints(client, uri, text)
        if any(h.label == ": Widget" for h in got):
            break
        await asyncio.sleep(0.5)
    assert any(h.label == ": Widget" and h.position == lsp.Position(0, 17) for h in got), [
        h.label for h in got
    ]
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri),
            lsp.Range(lsp.Position(0, 12), lsp.Position(0, 12)),
            lsp.CodeActionContext(diagnostics=[]),
        )
    )
    site = next(a for a in actions or [] if a.title.startswith("Annotate `widget: Widget`"))
    new_text = "".join(e.new_text for e in site.edit.changes[uri])  # type: ignore[union-attr,index]
    # a project module is imported for type checking only (no import cycle at run time), so quoted
    assert "if TYPE_CHECKING:\n    from shapes import Widget" in new_text and 'widget: "Widget"' in new_text


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """The text with edits (in UTF-16 units = characters here: ASCII) applied, last first."""
    lines = text.splitlines(keepends=True)
    offset = lambda p: sum(len(x) for x in lines[: p.line]) + p.character  # noqa: E731
    for e in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


async def code_actions_at(client: LanguageClient, uri: str, line: int, col: int) -> list[lsp.CodeAction]:
    got = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri),
            lsp.Range(lsp.Position(line, col), lsp.Position(line, col)),
            lsp.CodeActionContext(diagnostics=[]),
        )
    )
    return [a for a in got or [] if isinstance(a, lsp.CodeAction)]


async def test_inlay_hint_edit_writes_what_the_code_action_writes(client: LanguageClient):
    """One format for both (PEP 8: `verbose: bool = False`, not `verbose: bool=False`)."""
    uri = open_doc(client, "pep8.py", SOURCE)
    hint = next(h for h in await hints(client, uri, SOURCE) if h.position == lsp.Position(5, 24))
    by_hint = apply_edits(SOURCE, hint.text_edits or []).splitlines()[5]
    site = next(
        a for a in await code_actions_at(client, uri, 5, 20) if a.title.startswith("Annotate `verbose")
    )
    by_action = apply_edits(SOURCE, site.edit.changes[uri]).splitlines()[5]  # type: ignore[union-attr,index]
    assert by_hint == by_action == "def report(rows, verbose: bool = False):"


async def test_only_a_confident_prediction_is_the_preferred_quick_fix(client: LanguageClient):
    uri = open_doc(client, "pref.py", SOURCE)
    rows = next(a for a in await code_actions_at(client, uri, 5, 12) if a.title.startswith("Annotate `rows"))
    verbose = next(
        a for a in await code_actions_at(client, uri, 5, 20) if a.title.startswith("Annotate `verbose")
    )
    hover = await client.text_document_hover_async(
        lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(5, 12))
    )
    assert hover is not None and "(model)" in hover.contents.value  # type: ignore[union-attr]
    assert not rows.is_preferred  # a model guess far below the >= 95%-precision threshold
    assert verbose.is_preferred  # `bool` from the default: at the threshold annotate writes at


async def test_typescript_code_action_imports_project_types_relative_to_the_document(client: LanguageClient):
    text = "export function welcome(user) {\n  console.log(user.greet());\n  return user.email;\n}\n"
    uri = open_doc(client, "src/app/main.ts", text, "typescript")
    await hints(client, uri, text)
    site = next(a for a in await code_actions_at(client, uri, 0, 25) if a.title == "Annotate `user: User`")
    new_text = "".join(e.new_text for e in site.edit.changes[uri])  # type: ignore[union-attr,index]
    assert "import type { User } from '../models/user';" in new_text  # as `typeinf annotate` writes it


async def test_the_checkers_types_arrive_after_the_first_hints_and_refresh_them(client: LanguageClient):
    """The server answers with the model's hints first; the type checker (pyrefly, a real process
    kept for the session) infers `list[int]` for the return and, after a refresh, the hint says so.
    The checker is fed the editor's text, not the disk's."""
    on_disk = "def pairs():\n    return 0\n"
    uri = open_doc(client, "checked.py", on_disk)
    text = "def pairs():\n    return [1, 2]\n"
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(2, uri), [lsp.TextDocumentContentChangeWholeDocument(text)]
        )
    )
    labels: list[str] = []
    for _ in range(60):
        labels = [h.label for h in await hints(client, uri, text) if isinstance(h.label, str)]
        if "-> list[int]" in labels:
            break
        await asyncio.sleep(0.5)
    assert "-> list[int]" in labels, labels


def utf16(text: str, offset: int) -> lsp.Position:
    """The LSP position (UTF-16 units) of a character offset."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    return lsp.Position(line, len(text[start:offset].encode("utf-16-le")) // 2)


def as_seen(got: list[lsp.InlayHint]) -> list[tuple[int, int, str, str]]:
    return sorted(
        (h.position.line, h.position.character, str(h.label), (h.text_edits or [lsp.TextEdit(lsp.Range(
            h.position, h.position), "")])[0].new_text)
        for h in got
    )  # fmt: skip


async def test_incremental_changes_give_the_hints_of_the_same_text_opened_anew(client: LanguageClient):
    """A client's incremental changes (ranges in UTF-16 units, several in one notification, broken
    and repaired syntax, non-ASCII text, a function added, a module-level import) are parsed
    incrementally; after each, the hints are those of the same text opened as a new document."""
    text = SOURCE + '\n\ndef greet(name, punctuation="!"):\n    return "héllo 😀 " + name + punctuation\n'
    uri = open_doc(client, "inc.py", text)
    await hints(client, uri, text)
    steps = [
        [("def report(rows, verbose=False", "def report(rows, verbose=False, limit=10")],
        [("print(row)", "print(row[:limit])"), ('label="x"', 'label="é😀"')],
        [("def greet(name", "def greet(name, times=3")],
        [("    return value * factor", "    return value * (factor")],  # broken
        [("    return value * (factor", "    return value * factor")],  # repaired
        [("", "import os.path\n")],  # module-level: every site's scope changes
        [("\n\ndef greet", "\n\ndef added(a, b=None):\n    c = [a, b]\n    return c\n\n\ndef greet")],
    ]
    for version, step in enumerate(steps, start=2):
        changes = []
        for old, new in step:
            at = text.index(old) if old else 0
            changes.append(
                lsp.TextDocumentContentChangePartial(
                    lsp.Range(utf16(text, at), utf16(text, at + len(old))), new
                )
            )
            text = text[:at] + new + text[at + len(old) :]
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(lsp.VersionedTextDocumentIdentifier(version, uri), changes)
        )
        edited = await hints(client, uri, text)
        fresh_uri = open_doc(client, f"inc_fresh_{version}.py", text)
        fresh = await hints(client, fresh_uri, text)
        for _ in range(20):  # (the project's index, scanned meanwhile, may complete between the two)
            if as_seen(edited) == as_seen(fresh):
                break
            await asyncio.sleep(0.5)
            edited, fresh = await hints(client, uri, text), await hints(client, fresh_uri, text)
        assert as_seen(edited) == as_seen(fresh), f"after step {version - 1}"
    assert any(h.label == ": int" for h in edited)  # times=3, limit=10


def test_the_range_asked_for_is_predicted_first_and_answered_once_covered():
    from typeinf.lsp.server import CHUNK, Progress, next_chunk

    spans = [(i * 10, i * 10 + 5) for i in range(3 * CHUNK)]
    remaining = list(range(len(spans)))
    assert next_chunk(spans, remaining, None) == list(range(CHUNK))  # the document's order
    late = (spans[-3][0], spans[-1][1])  # the last three sites' range
    assert next_chunk(spans, remaining, late) == [len(spans) - 3, len(spans) - 2, len(spans) - 1]
    assert next_chunk(spans, remaining, (10**9, 10**9 + 1)) == list(range(CHUNK))  # nothing there
    p = Progress(1, b"", "python", pending=spans[CHUNK:])
    assert p.covers(0, spans[CHUNK - 1][1]) and not p.covers(0, spans[CHUNK][0])


async def test_a_signal_wakes_the_waiters_registered_before_it_fires_and_only_those() -> None:
    """The server's progress notification: a waiter registered before its task yields is not missed
    (an asyncio.Event set and cleared meanwhile would be), and a fire wakes each waiter once."""
    from typeinf.lsp.server import Signal

    s = Signal()
    early = s.waiter()
    s.fire()  # (before anything awaited the waiter)
    assert early.done()
    late = s.waiter()
    assert not late.done()
    late.cancel()
    s.fire()  # (a cancelled waiter is left alone)
    assert late.cancelled()


async def test_hints_of_a_range_answered_while_the_rest_of_a_large_file_is_analysed(client: LanguageClient):
    """A file of several analysis jobs: a request for the range of its last functions, sent as the
    document opens, is answered with exactly the hints the whole analysis gives there."""
    text = "".join(
        f"def handler_{i}(request, user_id, limit=10, name='x', verbose=False):\n"
        f"    items = [user_id] * limit\n    print(name, verbose)\n    return request.get(items)\n\n\n"
        for i in range(40)
    )
    uri = open_doc(client, "big.py", text)
    last = len(text.splitlines())
    tail = lsp.Range(lsp.Position(last - 18, 0), lsp.Position(last, 0))
    asked = lsp.InlayHintParams(lsp.TextDocumentIdentifier(uri), tail)
    early = await client.text_document_inlay_hint_async(asked)
    await hints(client, uri, text)  # the whole analysis is done (40 functions, 240 sites: 4 jobs)
    done = await client.text_document_inlay_hint_async(asked)
    key = lambda h: (h.position.line, h.position.character, h.label)  # noqa: E731
    assert early and done and sorted(map(key, early)) == sorted(map(key, done))
