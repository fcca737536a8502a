"""The JSON-RPC side of `typeinf lsp`: pygls's LanguageServerProtocol, fed by `serve` (frames
from typeinf.lsp.wire instead of pygls's reader), with what a broken or hostile client needs:

- unparsable JSON is answered -32700 with `id: null`; a message that is not a JSON-RPC 2.0
  request, notification or response -32600 (with its id when it has a usable one); a request
  whose params do not fit its method -32602 (the message says which field);
- a request before `initialize` is answered -32002, one after `shutdown` -32600; notifications
  then are dropped (except `exit`), as the LSP specification asks;
- `exit` ends the read loop with code 0 after `shutdown`, 1 without;
- `didChange` / `didClose` of a document that is not open is ignored with a log line;
- each `didChange` content change is kept as a byte edit (typeinf.lsp.changes), for the
  incremental parse of the next analysis;
- an unexpected exception in a handler is answered -32603 with its one-line message; the
  traceback goes to the log (stderr), not to the client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import Future
from typing import IO, Any

import cattrs
from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from ..slices.source import TextEdit
from .changes import ChangeLog, Texts, content_edit
from .wire import MAX_MESSAGE_BYTES, Body, FrameParser

log = logging.getLogger("typeinf.lsp")
_Id = int | str


def envelope_problem(raw: Any) -> tuple[str | None, _Id | None, bool]:
    """(what is wrong with a message's JSON-RPC envelope or None, its id, whether to answer)."""
    if not isinstance(raw, dict):
        return "a message must be a JSON object", None, True
    has_id = "id" in raw
    rid = raw.get("id")
    id_ok = isinstance(rid, (int, str)) and not isinstance(rid, bool)
    if has_id and not id_ok and not (rid is None and "error" in raw):
        return "id must be a number or a string", None, "method" in raw or "result" in raw
    usable: _Id | None = rid if id_ok else None
    if raw.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"', usable, has_id or "method" not in raw
    if "method" in raw:
        if not isinstance(raw["method"], str):
            return "method must be a string", usable, has_id
        return None, usable, has_id
    if has_id and ("result" in raw or "error" in raw):
        return None, usable, False  # a response to one of our requests
    return "neither a request, a notification nor a response", usable, True


def _params_problem(exc: BaseException) -> str:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, cattrs.ClassValidationError):
        details = [d.replace("$.", "", 1) for d in cattrs.transform_error(cause)]
        return "; ".join(details[:3])
    return str(cause) or type(cause).__name__


class TypeinfProtocol(LanguageServerProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initialize_seen = False
        self.exit_code: int | None = None  # set by `exit`: the read loop ends
        self.changes = ChangeLog()  # the open documents' edits in bytes, by version
        self.texts = Texts()  # the open documents' current texts in bytes

    # ------------------------------------------------------------------ incoming
    def receive(self, body: bytes) -> None:
        """One frame's body: parsed, checked, then handled by pygls or answered with an error."""
        try:
            raw = json.loads(body)
        except ValueError as e:  # (invalid UTF-8 included)
            log.warning("unparsable message (%s): %r", e, body[:200])
            self.reply_error(None, JsonRpcParseError(f"Parse error: {e}"))
            return
        problem, rid, answer = envelope_problem(raw)
        if problem is not None:
            log.warning("invalid message (%s): %r", problem, body[:200])
            if answer:
                self.reply_error(rid, JsonRpcInvalidRequest(f"Invalid request: {problem}"))
            return
        method = raw.get("method")
        is_request = method is not None and "id" in raw
        if method is not None and not self._admit(method, rid if is_request else None):
            return
        try:
            message = self.structure_message(raw)
        except Exception as e:  # noqa: BLE001 - whatever cattrs raises, the params do not fit
            problem = _params_problem(e)
            if is_request:
                assert rid is not None
                self.reply_error(rid, JsonRpcInvalidParams(f"Invalid params for {method}: {problem}"))
            else:
                log.warning(
                    "dropped %s: invalid %s (%s)",
                    method or "a response",
                    "params" if method else "body",
                    problem,
                )
            return
        self.handle_message(message)

    def _admit(self, method: str, rid: _Id | None) -> bool:
        """Whether the lifecycle lets this request (rid set) or notification through now."""
        if method == lsp.EXIT:
            return True
        if method == lsp.INITIALIZE and not self.initialize_seen:
            self.initialize_seen = True
            return True
        if not self.initialize_seen:
            if rid is not None:
                self.reply_error(
                    rid, JsonRpcServerNotInitialized(f"{method}: the server is not initialized yet")
                )
            else:
                log.info("dropped %s: before initialize", method)
            return False
        if self._shutdown or method == lsp.INITIALIZE:
            why = "the server is shut down" if self._shutdown else "initialize was already received"
            if rid is not None:
                self.reply_error(rid, JsonRpcInvalidRequest(f"{method}: {why}"))
            else:
                log.info("dropped %s: %s", method, why)
            return False
        return True

    def reply_error(self, rid: _Id | None, error: JsonRpcException) -> None:
        self._send_data(
            {"jsonrpc": "2.0", "id": rid, "error": {"code": error.code, "message": error.message}}
        )

    # ------------------------------------------------------------------ outgoing
    def _send_handler_result(self, future: Future[Any], *, msg_id: _Id) -> None:
        exc = None if future.cancelled() else future.exception()
        if exc is None or isinstance(exc, JsonRpcException):
            super()._send_handler_result(future, msg_id=msg_id)
            return
        self._request_futures.pop(msg_id, None)
        log.error("request %s failed", msg_id, exc_info=exc)
        self.reply_error(
            msg_id,
            JsonRpcException(
                f"typeinf: internal error: {type(exc).__name__}: {exc} (the traceback is in the server log)"
            ),
        )

    # ------------------------------------------------------------------ builtin features
    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        self.exit_code = 0 if self._shutdown else 1  # the read loop ends after this message
        log.info("exit (code %d)", self.exit_code)
        yield from ()

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: lsp.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        uri = params.text_document.uri
        if uri not in self.workspace.text_documents:
            log.info("didChange of a document that is not open, ignored: %s", uri)
            return
        # each change in bytes, against the text before it (for the incremental parse), then applied
        old = self.workspace.get_text_document(uri).version
        edits: list[TextEdit] | None = []
        for change in params.content_changes:
            doc = self.workspace.get_text_document(uri)
            edit = content_edit(doc, change, self.texts.of(doc))
            edits = None if edit is None or edits is None else [*edits, edit]
            self.workspace.update_text_document(params.text_document, change)
        self.changes.record(uri, old, params.text_document.version, edits)
        if (user_handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: lsp.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if params.text_document.uri not in self.workspace.text_documents:
            log.info("didClose of a document that is not open, ignored: %s", params.text_document.uri)
            return
        self.changes.forget(params.text_document.uri)
        self.texts.forget(params.text_document.uri)
        yield from super().lsp_text_document__did_close(params)


# ---------------------------------------------------------------------- the read loop
async def serve(
    protocol: TypeinfProtocol, read: Callable[[], Awaitable[bytes]], max_bytes: int = MAX_MESSAGE_BYTES
) -> None:
    """Read frames until end of input or `exit`; each body goes to `protocol.receive`."""
    parser = FrameParser(max_bytes)
    while protocol.exit_code is None:
        data = await read()
        if not data:
            log.info("end of input")
            return
        for event in parser.feed(data):
            if isinstance(event, Body):
                protocol.receive(event.data)
            else:
                log.warning("rejected a frame: %s (%d header bytes skipped)", event.reason, event.skipped)
                if event.request_id is not None:
                    protocol.reply_error(
                        event.request_id, JsonRpcInvalidRequest(f"Invalid request: {event.reason}")
                    )
            if protocol.exit_code is not None:
                return


def stream_chunks(stream: IO[bytes]) -> Callable[[], Awaitable[bytes]]:
    """Chunks of a blocking binary stream (stdin), read by a daemon thread: `exit` does not wait
    for a read that may never return.  The file descriptor is read directly: a daemon thread
    blocked inside a buffered reader's lock aborts the interpreter at exit."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    try:
        fd = stream.fileno()
        read: Callable[[int], bytes] = lambda n: os.read(fd, n)  # noqa: E731
    except (OSError, ValueError, AttributeError):
        read = getattr(stream, "read1", None) or stream.read

    def pump() -> None:
        while True:
            try:
                data = read(65536)
            except (OSError, ValueError):
                data = b""
            loop.call_soon_threadsafe(chunks.put_nowait, data)
            if not data:
                return

    threading.Thread(target=pump, name="typeinf-stdin", daemon=True).start()
    return chunks.get
