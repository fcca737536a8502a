"""`typeinf lsp`: a pygls language server that shows and inserts predicted types.

Handlers are thin: they read the document from pygls's Workspace, call pure helpers
(typeinf.lsp.hints, the annotate engine) and convert positions at the edge (pygls position
codecs: UTF-16 unless the client negotiated otherwise).  The model runs on a dedicated
single-thread executor, never on the event loop nor pygls's shared pool; slices and
predictions are cached by content (an edit re-predicts only what it changed); analyses are
debounced per document, stale versions are never answered with old positions, and a
`workspace/inlayHint/refresh` is sent when late predictions arrive.

Hostile input (typeinf.lsp.wire, typeinf.lsp.protocol): frames are read by typeinf's own
parser, which resynchronises after a broken frame; malformed messages and params are answered
with their JSON-RPC error codes.  Only open `file:` documents use the project (its index and
settings); a document over the project's `max-bytes` is not analysed (the user is told once);
an analysis is done in chunks on the model thread, so a newer version of the document stops it
and another document's analysis is not held up behind it for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcContentModified
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from .. import __version__
from ..annotate import NotParsable, Options, apply, plan
from ..annotate.run import project_relative
from ..config import DEFAULT_MAX_BYTES, ConfigError, Settings, load_settings
from ..inference.engine import Engine, FileSites, default_checkers
from ..inference.predict import Prediction, Predictor
from ..inference.project import ProjectIndex, find_root
from ..lang import DEFAULT_PYTHON_TARGET
from ..slices import language_for_path
from ..slices.incremental import Sliced, slice_document
from ..slices.source import SourceError, TextEdit, parse
from ..text import line_starts, offset_at, position
from .changes import DocumentText, document_bytes
from .hints import Insertion, changed_lines, insertions, map_insertions, tooltip
from .options import ServerOptions, parse_options
from .protocol import TypeinfProtocol, serve, stream_chunks
from .schedule import Scheduler
from .wire import MAX_MESSAGE_BYTES

log = logging.getLogger("typeinf.lsp")
DEBOUNCE_S = 0.15
CHECKER_DEBOUNCE_S = 0.3  # a version's checker pass starts once it has stayed this long
LANGUAGE_IDS = {"python": "python", "typescript": "typescript", "typescriptreact": "tsx"}
CHUNK = 64  # sites predicted per job on the model thread (between jobs: superseded? others' turn)
COLLECT_IDLE = 0.25  # the model thread idle this long (seconds): its garbage is collected
COLLECT_AFTER = 64  # or after this many jobs without such a pause


class Superseded(Exception):
    """A newer version of the document (or its closing) made an analysis useless."""


class Stopping(Exception):
    """The server is exiting: background work stops."""


def _freeze() -> None:
    """Moves what is alive now out of the collector's reach (`gc.freeze`): what the server keeps
    for its lifetime (the model, a project's index) is otherwise gone over by each full pass of
    the collector, tens of milliseconds in the middle of an edit's analysis."""
    gc.collect()
    gc.freeze()


def local_path(uri: str) -> Path | None:
    """The file of a `file:` URI on this machine; None for other schemes (untitled:, https:) and
    for files on another host: those documents are analysed without a project."""
    u = urlparse(uri)
    if u.scheme != "file" or u.netloc not in ("", "localhost") or not u.path:
        return None
    return Path(unquote(u.path))


@dataclass
class Analysis:
    version: int | None
    data: bytes
    language: str
    with_model: bool = False
    indexed: bool = False  # made with the complete project index
    preds: list[Prediction] = field(default_factory=list)
    hints: list[tuple[Prediction, Insertion]] = field(default_factory=list)
    checked: bool = False  # the checker's types are in (they arrive after the first hints)
    # what the checker's second pass needs: the sites, the project's types and evidence for them
    sites: list[Any] = field(default_factory=list, repr=False)
    types: Any = field(default=None, repr=False)
    evidence: list[Any] | None = field(default=None, repr=False)
    _starts: list[int] | None = field(default=None, repr=False)

    def line_starts(self) -> list[int]:
        """Where each line of `data` starts (computed once: every request of this version asks)."""
        if self._starts is None:
            self._starts = line_starts(self.data)
        return self._starts


class Signal:
    """(event loop) A notification its waiters cannot miss: a waiter's future is registered before
    it yields (an `asyncio.Event` set and cleared again between a task's creation and its first
    step is missed by it)."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def waiter(self) -> asyncio.Future[None]:
        """A future done at the next `fire` (cancel it when no longer waiting)."""
        f: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(f)
        return f

    def fire(self) -> None:
        waiters, self._waiters = self._waiters, []
        for f in waiters:
            if not f.done():
                f.set_result(None)


@dataclass
class Progress:
    """The part of a version's analysis done so far: its hints, and the sites not predicted yet."""

    version: int | None
    data: bytes
    language: str
    hints: list[tuple[Prediction, Insertion]] = field(default_factory=list)
    pending: list[tuple[int, int]] = field(default_factory=list)  # spans of the sites still to predict
    moved: Signal = field(default_factory=Signal)  # fired after each job and at the end

    def covers(self, start: int, end: int) -> bool:
        """Whether every site between the two offsets is predicted."""
        return not any(a <= end and b >= start for a, b in self.pending)


def next_chunk(
    spans: list[tuple[int, int]], remaining: list[int], wanted: tuple[int, int] | None
) -> list[int]:
    """The next CHUNK of the remaining sites (indices into `spans`): those in the range the client
    asked for first, then in the document's order."""
    if wanted is not None:
        start, end = wanted
        first = [i for i in remaining if spans[i][0] <= end and spans[i][1] >= start]
        if first:
            return first[:CHUNK]
    return remaining[:CHUNK]


class TypeinfServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("typeinf", __version__, protocol_cls=TypeinfProtocol)
        self.max_message_bytes = MAX_MESSAGE_BYTES
        self.too_big: set[str] = set()  # documents the user was told are over max-bytes
        self.settings: dict[Path, Settings] = {}
        self.stopping = False
        self.options = ServerOptions()
        self.model_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="typeinf-model")
        # the project index (types of the other files) is scanned in its own thread; analyses use
        # what is indexed so far and are redone once it is complete
        self.index_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="typeinf-index")
        # the type checker (one long-lived process per project and language, typeinf.inference.engine)
        # answers in its own thread: the model's hints are served first, refreshed when its types arrive
        self.checker_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="typeinf-checker")
        self.engines: dict[Path, Engine] = {}
        self.engines_lock = threading.Lock()  # the model and checker threads both ask for engines
        # set while no document is being analysed: the index scan waits on it between files, so
        # an edit's analysis does not share the interpreter with the scan
        self.model_idle = threading.Event()
        self.model_idle.set()
        # the collector is off while the model thread works and until it has been idle a moment
        # (`_run`, `_collect_when_idle`): the analyses done since the last collection
        self.uncollected = 0
        self.collect_timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.predictor: Predictor | None = None
        self.model_error: str | None = None
        self.analyses: dict[str, Analysis] = {}
        # the text of each document last parsed (by version): an edit's parse starts from its tree
        self.parsed: dict[str, tuple[int | None, bytes]] = {}
        # each document's last slicing (any earlier one is a valid start too: it is compared)
        self.sliced: dict[str, Sliced] = {}
        self.tasks: Scheduler[Analysis | None] = Scheduler()  # the analysis task of each document
        self.projects: dict[Path, ProjectIndex] = {}
        self.model_ready: asyncio.Event | None = None
        # an analysis under way: the sites predicted so far (a hint request for a range they cover
        # is answered before the whole document is done: the first hints of a large file), the
        # range of the document the client asked for last (its sites are predicted first), and a
        # signal fired after each of the analysis's jobs
        self.underway: dict[str, Progress] = {}
        self.underway_started = Signal()  # fired when an analysis's `Progress` is in `underway`
        self.wanted: dict[str, tuple[int | None, int, int]] = {}  # uri -> (version, start, end) offsets
        # each file's project root (find_root stats the folders up to it: half a millisecond, asked
        # several times per edit), looked up again when the file is opened again
        self.roots: dict[Path, Path] = {}

    @property
    def rpc(self) -> TypeinfProtocol:
        assert isinstance(self.protocol, TypeinfProtocol)
        return self.protocol

    @property
    def exit_code(self) -> int | None:
        return self.rpc.exit_code

    # ------------------------------------------------------------------ transport
    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve stdio with typeinf's frame reader (pygls's cannot resynchronise)."""
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def run() -> None:
            await serve(self.rpc, stream_chunks(stdin or sys.stdin.buffer), self.max_message_bytes)

        try:
            asyncio.run(run())
        except BrokenPipeError:
            log.error("the client closed the connection")
        finally:
            self.stop()

    def start_tcp(self, host: str, port: int) -> None:
        async def run() -> None:
            done = asyncio.Event()

            async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                self.protocol.set_writer(writer)  # type: ignore[arg-type]
                await serve(self.rpc, lambda: reader.read(65536), self.max_message_bytes)
                done.set()

            async with await asyncio.start_server(connection, host, port):
                await done.wait()

        try:
            asyncio.run(run())
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the background threads' work: the process can end without waiting for them."""
        self.stopping = True
        self.model_idle.set()
        for ex in (self.model_executor, self.index_executor, self.checker_executor):
            ex.shutdown(wait=False, cancel_futures=True)
        for engine in self.engines.values():
            engine.close()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors out of band (a notification's handler): logged, no pop-up the user cannot act on."""
        log.error("%s: %s", getattr(source, "__name__", source), error)

    # ------------------------------------------------------------------ settings
    def root_of(self, path: Path) -> Path:
        """The file's project root (typeinf.inference.project.find_root), remembered."""
        root = self.roots.get(path)
        if root is None:
            root = self.roots[path] = find_root(path)
        return root

    def settings_for(self, path: Path | None) -> Settings:
        """The project's settings (pyproject.toml [tool.typeinf]); defaults off a project or when invalid."""
        if path is None:
            return Settings()
        root = self.root_of(path)
        got = self.settings.get(root)
        if got is None:
            try:
                got = load_settings(root)
            except ConfigError as e:
                log.warning("%s (defaults used)", e)
                got = Settings()
            self.settings[root] = got
        return got

    def max_bytes(self, uri: str) -> int:
        return self.settings_for(local_path(uri)).max_bytes if local_path(uri) else DEFAULT_MAX_BYTES

    def ready_event(self) -> asyncio.Event:
        if self.model_ready is None:
            self.model_ready = asyncio.Event()
        return self.model_ready

    # ------------------------------------------------------------------ model work (executor)
    def _load_model(self) -> None:
        try:
            predictor = Predictor()
            predictor.session  # noqa: B018 - load the ONNX session and the tokenizer now, not on the first edit
            predictor.cfg.tokenizer()
            self.predictor = predictor
            # what is loaded now lives as long as the server: keep it out of the collector's full
            # passes, which otherwise cost tens of milliseconds in the middle of an edit's analysis
            _freeze()
        except Exception as e:  # noqa: BLE001 - reported to the user, the server keeps running
            self.model_error = str(e)

    def _project_for(self, path: Path) -> ProjectIndex:
        """The project's index, scanned in the background the first time its root is seen."""
        root = self.root_of(path)
        index = self.projects.get(root)
        if index is None:
            index = self.projects[root] = ProjectIndex(root.resolve())
            future = self.index_executor.submit(
                index.populate, self.settings_for(path).max_bytes, between=self._wait_model_idle
            )
            future.add_done_callback(lambda _f: self._project_indexed(index))
        return index

    def _project_indexed(self, index: ProjectIndex) -> None:
        """(index thread) Redo the analyses of the project's open documents with all its types."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        # the index lives as long as the server, as the model does: out of the collector's full
        # passes too (after the collection that the analyses' own garbage gets anyway)
        self.model_executor.submit(_freeze)

        def redo() -> None:
            for uri in list(self.workspace.text_documents):
                if self._project_complete(uri):  # analyses made before are stale now
                    asyncio.ensure_future(_analyze_then_refresh(self, uri, 0.0))

        loop.call_soon_threadsafe(redo)

    def _wait_model_idle(self) -> None:
        self.model_idle.wait(timeout=5.0)  # (bounded: a long analysis never stalls the scan for good)
        if self.stopping:
            raise Stopping

    def _run(self, fn: Any, *args: Any) -> Any:
        """(model thread) One job; the index scan waits while it runs."""
        self.model_idle.clear()
        # no collection in the middle of an edit's analysis (a full pass over the server's objects,
        # the project index and the caches, cost 100-200 ms each few edits: zod's types.ts p90 278
        # -> 184 ms), nor right after it, before its result is sent: the first collection after an
        # analysis goes over all it allocated, 40-70 ms on effect's internal/effect.ts
        # (benchmarks/lsp_latency.py); the collection waits for the thread to be idle a moment
        gc.disable()
        try:
            return fn(*args)
        finally:
            self.uncollected += 1
            if self.uncollected >= COLLECT_AFTER:  # (typing without a pause: collected now and then)
                self._collect()
            elif self.loop is not None and not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self._collect_when_idle)
            self.model_idle.set()

    def _collect_when_idle(self) -> None:
        """(event loop) Collect once the model thread has had no job for COLLECT_IDLE seconds and
        no document's analysis is waiting."""
        if self.collect_timer is not None:
            self.collect_timer.cancel()

        def submit() -> None:
            self.collect_timer = None
            if self.stopping:
                return
            if self.tasks.busy():  # (an edit's analysis goes first)
                self._collect_when_idle()
                return
            with contextlib.suppress(RuntimeError):  # (an executor shut down)
                self.model_executor.submit(self._collect)

        assert self.loop is not None
        self.collect_timer = self.loop.call_later(COLLECT_IDLE, submit)

    def _collect(self) -> None:
        """(model thread) The garbage of the analyses since the last collection."""
        if self.uncollected:
            self.uncollected = 0
            gc.enable()
            gc.collect(1)

    def _prepare(
        self,
        uri: str,
        version: int | None,
        data: bytes,
        language: str,
        previous: tuple[bytes, list[TextEdit] | None] | None = None,
    ) -> tuple[Analysis, list[Any], Any, bool]:
        """(model thread) Slices of the document, the project's types for it, and whether it is a
        file of a project (whose evidence `_predict_chunk` gathers).  `previous`: the text last
        parsed and the edits since, for an incremental parse (the slicer then finds the tree among
        the shared parses)."""
        result = Analysis(version, data, language, self.predictor is not None)
        if self.predictor is None:
            return result, [], [], False
        if previous is not None and not data.startswith(b"\xef\xbb\xbf"):  # (a BOM is not sliced)
            parse(data, language, previous=previous[0], edits=previous[1])
        path = local_path(uri)
        # an edit inside one function re-slices that function (typeinf.slices.incremental)
        sliced = slice_document(
            data, language, str(path or urlparse(uri).path or uri), previous=self.sliced.get(uri)
        )
        self.sliced[uri] = sliced
        todo = [s for s in sliced.slices if s.annotation is None]
        if path is None:  # not a file of a project: no project types
            return result, todo, [], False
        project = self._project_for(path)
        result.indexed = project.complete
        project.add(path, language, data=data, previous=previous[0] if previous is not None else None)
        return result, todo, project.types_for(path, language), True

    def _predict_chunk(
        self, uri: str, data: bytes, language: str, sites: list[Any], types: Any, in_project: bool
    ) -> tuple[list[Any], list[Any] | None, list[Prediction], list[tuple[Prediction, Insertion]]]:
        """(model thread) One chunk of a document's sites: each given the evidence of the project's
        calls (a model that reads them), their project evidence (its annotations now, the checker's
        types in a second pass), their predictions and hints.  Per chunk, not per document: the
        first chunk (the range the client asked for) waits for its own sites' evidence only."""
        assert self.predictor is not None
        path = local_path(uri)
        evidence = None
        if in_project and path is not None:
            engine = self.engine_for(path)
            if self.predictor.reads_calls:
                sites = list(engine.across(FileSites(path, language, sites)).slices)
            evidence = engine.evidence(FileSites(path, language, sites), checker=False)
        preds = self._with_modules(uri, language, self.predictor.predict(sites, types, evidence=evidence))
        return sites, evidence, preds, insertions(data, language, preds)

    def engine_for(self, path: Path) -> Engine:
        """The project's engine, made once per project root, with its checkers where a re-ranker
        reads their types and the settings allow them (`checker = false` turns them off)."""
        assert self.predictor is not None, "the model is loaded before any analysis"
        root = self.root_of(path)
        with self.engines_lock:
            engine = self.engines.get(root)
            if engine is None:
                from ..annotate.dts import typescript_from_env

                checkers = (
                    default_checkers(root, typescript_from_env())
                    if self.predictor.reranker is not None and self.settings_for(path).checker
                    else None
                )
                engine = self.engines[root] = Engine(self.predictor, self._project_for(path), checkers)
            return engine

    def current(self, uri: str, version: int | None) -> bool:
        """Whether `version` is still the document's (an analysis of an older one is superseded)."""
        doc = self.workspace.text_documents.get(uri)
        return doc is not None and doc.version == version and not self.stopping

    def _checked_evidence(self, uri: str, result: Analysis) -> list[Any] | None:
        """(checker thread) The analysed sites' evidence with the checker's types, asked about the
        analysed text; None without a checker, or when the document moved on while this waited
        for the checker's thread (the checker is not asked about a superseded text)."""
        path = local_path(uri)
        if path is None or self.predictor is None or self.stopping or not self.options.checker:
            return None
        if not self.current(uri, result.version):
            raise Superseded
        engine = self.engine_for(path)
        if engine.checkers is None:
            return None
        text = result.data.decode("utf-8", "replace")
        return engine.evidence(FileSites(path, result.language, result.sites, text))

    async def _with_checker(self, uri: str, result: Analysis) -> Analysis | None:
        """The analysis again with the checker's types as evidence (the model's rankings are cached:
        only the re-ranking runs); None when there is nothing to add or the document moved on."""
        if self.predictor is None or result.evidence is None or not result.sites:
            return None
        # while the user types, each version is soon replaced: the checker is asked about the
        # versions that stay a moment (its answer for the others would be dropped anyway)
        await asyncio.sleep(CHECKER_DEBOUNCE_S)
        if not self.current(uri, result.version):
            raise Superseded
        loop = asyncio.get_running_loop()
        evidence = await loop.run_in_executor(self.checker_executor, self._checked_evidence, uri, result)
        if evidence is None:
            return None
        if not self.current(uri, result.version):
            raise Superseded
        # only the sites whose evidence the checker changed are predicted again (its type at the
        # site, or the types of the names callers pass): a few, where an edit's first hints had them all
        todo = [i for i, (e, first) in enumerate(zip(evidence, result.evidence, strict=True)) if e != first]
        if not todo:
            return None
        checked = replace(result, preds=list(result.preds), hints=[], checked=True, evidence=evidence)
        for k in range(0, len(todo), CHUNK):
            if not self.current(uri, result.version):  # a newer version's analysis goes first
                raise Superseded
            idx = todo[k : k + CHUNK]
            got = await self.run_model(
                partial(self.predictor.predict, evidence=[evidence[i] for i in idx]),
                [checked.sites[i] for i in idx],
                checked.types,
            )
            for i, p in zip(idx, got, strict=True):
                checked.preds[i] = p
        if not self.current(uri, result.version):
            raise Superseded
        checked.preds = await self.run_model(self._with_modules, uri, checked.language, checked.preds)
        checked.hints = await self.run_model(insertions, checked.data, checked.language, checked.preds)
        return checked

    async def _analyze(self, uri: str, version: int | None, data: bytes, language: str) -> Analysis:
        """The analysis of one version, in jobs of CHUNK sites on the model thread; Superseded when
        the document changed or closed in between (another document's jobs run between ours)."""

        def check() -> None:
            if not self.current(uri, version):
                raise Superseded

        last = self.parsed.get(uri)
        previous = (last[1], self.rpc.changes.between(uri, last[0], version)) if last is not None else None
        result, todo, types, in_project = await self.run_model(
            self._prepare, uri, version, data, language, previous
        )
        if self.workspace.text_documents.get(uri) is not None:
            self.parsed[uri] = (version, result.data)
            self.rpc.changes.forget(uri, before=version)
        if self.predictor is None:
            return result
        # (each chunk's sites given their evidence as the chunks are done: complete once all are)
        evidence: list[Any] | None = [None] * len(todo) if in_project else None
        result.sites, result.types, result.evidence = todo, types, evidence
        spans = [s.span for s in todo]
        preds: list[Prediction | None] = [None] * len(todo)
        remaining = list(range(len(todo)))
        progress = self.underway[uri] = Progress(version, result.data, language, pending=list(spans))
        self.underway_started.fire()
        try:
            while remaining:
                check()
                wanted = self.wanted.get(uri)
                idx = next_chunk(spans, remaining, wanted[1:] if wanted and wanted[0] == version else None)
                sites, ev, got, hints = await self.run_model(
                    self._predict_chunk, uri, result.data, language, [todo[i] for i in idx], types, in_project
                )
                for j, (i, p) in enumerate(zip(idx, got, strict=True)):
                    preds[i], todo[i] = p, sites[j]
                    if evidence is not None and ev is not None:
                        evidence[i] = ev[j]
                done = set(idx)
                remaining = [i for i in remaining if i not in done]
                if remaining:  # what is done so far answers the requests for its range
                    progress.hints += hints
                    progress.pending = [spans[i] for i in remaining]
                    progress.moved.fire()
        finally:
            if self.underway.get(uri) is progress:
                del self.underway[uri]
            progress.moved.fire()
        check()
        result.preds = await self.run_model(
            self._with_modules, uri, language, [p for p in preds if p is not None]
        )
        result.hints = await self.run_model(insertions, result.data, language, result.preds)
        return result

    def _with_modules(self, uri: str, language: str, preds: list[Prediction]) -> list[Prediction]:
        """(model thread) Where a type the project's evidence chose is imported from."""
        path = local_path(uri)
        if path is None or self.predictor is None:
            return preds
        return self.engine_for(path).with_modules(FileSites(path, language, [p.slice for p in preds]), preds)

    def _project_complete(self, uri: str) -> bool:
        path = local_path(uri)
        if path is None:
            return False
        index = self.projects.get(self.root_of(path))
        return index is not None and index.complete

    async def run_model(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.model_executor, self._run, fn, *args)

    # ------------------------------------------------------------------ documents
    def text_of(self, doc: TextDocument) -> DocumentText:
        """(event loop) The document's current text, as bytes and lines."""
        return self.rpc.texts.of(doc)

    def language_of(self, doc: TextDocument) -> str | None:
        lang = LANGUAGE_IDS.get(doc.language_id or "")
        return lang or language_for_path(doc.uri)

    def too_large(self, doc: TextDocument) -> bool:
        """Over the project's max-bytes (the CLI's limit): not analysed; the user is told once."""
        limit = self.max_bytes(doc.uri)
        text = doc.source
        if (
            len(text) <= limit // 4
            or len(text) <= limit
            and len(text.encode("utf-8", "surrogatepass")) <= limit
        ):
            return False
        if doc.uri not in self.too_big:
            self.too_big.add(doc.uri)
            name = PurePosixPath(urlparse(doc.uri).path).name or doc.uri
            self.window_show_message(
                lsp.ShowMessageParams(
                    lsp.MessageType.Info,
                    (
                        f"typeinf: {name} is larger than {limit} bytes: no types are predicted for it "
                        "(the limit is max-bytes in [tool.typeinf] of pyproject.toml)"
                    ),
                )
            )
        return True

    async def analysis(self, uri: str, debounce: float = 0.0) -> Analysis | None:
        """The analysis of the document's current version (computed or awaited); None for a
        document that is not open, not ours, or too large."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        lang = self.language_of(doc)
        if lang is None or self.too_large(doc):
            return None
        if not self.ready_event().is_set():  # the model is loading: answer once it is there
            try:
                await asyncio.wait_for(self.ready_event().wait(), timeout=60)
            except asyncio.TimeoutError:
                return None
            doc = self.workspace.text_documents.get(uri)
            if doc is None:
                return None
        indexed = self._project_complete(uri)
        cached = self.analyses.get(uri)
        if (
            cached is not None
            and cached.version == doc.version
            and cached.indexed == indexed
            and cached.with_model == (self.predictor is not None)
        ):
            return cached
        version = doc.version
        task = self.tasks.schedule(
            uri, version, indexed, debounce, lambda: self._compute(uri, version, debounce)
        )
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return None

    async def _compute(self, uri: str, version: int | None, debounce: float) -> Analysis | None:
        if debounce:
            await asyncio.sleep(debounce)
            self.tasks.debounce_over(uri)
        doc = self.workspace.text_documents.get(uri)
        if doc is None or doc.version != version:
            return None
        lang = self.language_of(doc)
        if lang is None:
            return None
        try:
            result = await self._analyze(uri, version, self.text_of(doc).data, lang)
        except Superseded:
            return None
        except SourceError as e:  # a binary file (NUL bytes): nothing to predict, as in the CLI
            log.info("%s: %s", uri, e)
            result = Analysis(version, document_bytes(doc.source), lang, self.predictor is not None)
        doc = self.workspace.text_documents.get(uri)
        if doc is not None and doc.version == version:
            self.analyses[uri] = result
            asyncio.ensure_future(self._check_then_refresh(uri, result))
        return result

    async def _check_then_refresh(self, uri: str, result: Analysis) -> None:
        try:
            checked = await self._with_checker(uri, result)
        except (Superseded, Stopping, RuntimeError) as e:  # a shut-down executor, a stopped server
            log.info("%s: the checker's pass was dropped (%s)", uri, e)
            return
        if checked is not None and self.analyses.get(uri) is result:
            self.analyses[uri] = checked
            _refresh(self)

    def confident(self, p: Prediction) -> bool:
        """At or above the model's calibrated threshold (the one `typeinf annotate` writes at):
        only such a prediction may be the preferred quick fix."""
        return self.predictor is not None and p.confidence >= self.predictor.threshold(p.slice.language)

    def visible(self, p: Prediction) -> bool:
        o = self.options
        allowed = {
            "param": o.inlay_hints.parameters,
            "return": o.inlay_hints.returns,
            "var": o.inlay_hints.variables,
        }
        threshold = (
            o.min_confidence
            if o.min_confidence is not None
            else (self.predictor.threshold(p.slice.language) if self.predictor else 1.0)
        )
        return allowed.get(p.slice.kind, False) and p.confidence >= threshold


SERVER = TypeinfServer()


class _Positions:
    """Byte offsets in an analysed document <-> positions in the client's units (pygls codec),
    with the document's lines computed once per request (its line starts once per version)."""

    def __init__(self, doc: TextDocument, result: Analysis, text: DocumentText | None = None) -> None:
        self.doc, self.data = doc, result.data
        self.lines: Sequence[str]
        if text is not None and text.data == result.data:  # (the document's current text)
            self.lines, self.starts = text.lines, text.starts
        else:
            self.lines, self.starts = doc.lines, result.line_starts()

    def client(self, offset: int) -> lsp.Position:
        line, col = position(self.data, self.starts, offset)
        return self.doc.position_codec.position_to_client_units(self.lines, lsp.Position(line, col))

    def offset(self, pos: lsp.Position) -> int:
        server = self.doc.position_codec.position_from_client_units(self.lines, pos)
        return offset_at(self.data, self.starts, server.line, server.character)


# ---------------------------------------------------------------------- lifecycle
@SERVER.feature(lsp.INITIALIZE)
def initialize(ls: TypeinfServer, params: lsp.InitializeParams) -> None:
    ls.options, problem = parse_options(params.initialization_options)
    if problem:
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, problem))


@SERVER.feature(lsp.INITIALIZED)
async def initialized(ls: TypeinfServer, params: lsp.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    root = ls.workspace.root_path
    if root:  # index the workspace while the model loads
        ls._project_for(Path(root))
    token = "typeinf-model-load"
    supports_progress = bool(
        ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress
    )
    if supports_progress:
        try:
            await ls.work_done_progress.create_async(token)
            ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title="typeinf: loading the model"))
        except Exception:  # noqa: BLE001 - progress is a courtesy
            supports_progress = False
    await ls.run_model(ls._load_model)
    ls.ready_event().set()
    if supports_progress:
        ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message="model loaded"))
    if ls.model_error:
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Error, f"typeinf: {ls.model_error}"))
        return
    ls.analyses.clear()
    _refresh(ls)


def _refresh(ls: TypeinfServer) -> None:
    caps = ls.client_capabilities.workspace
    if caps and caps.inlay_hint and caps.inlay_hint.refresh_support:
        ls.workspace_inlay_hint_refresh(None)


@SERVER.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: TypeinfServer, params: lsp.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if (
        isinstance(settings, dict)
        and "typeinf" in settings
        and not any(k.startswith("typeinf.") for k in settings)
    ):
        settings = settings["typeinf"]
    ls.options, problem = parse_options(settings)
    if problem:
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, problem))
    _refresh(ls)


@SERVER.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: TypeinfServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.parsed.pop(params.text_document.uri, None)  # (opened again: its edits start anew)
    path = local_path(params.text_document.uri)
    if path is not None:  # (and its project's root looked up again)
        ls.roots.pop(path, None)
    ls.sliced.pop(params.text_document.uri, None)
    ls.rpc.changes.forget(params.text_document.uri)
    asyncio.ensure_future(_analyze_then_refresh(ls, params.text_document.uri, 0.0))


@SERVER.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: TypeinfServer, params: lsp.DidChangeTextDocumentParams) -> None:
    asyncio.ensure_future(_analyze_then_refresh(ls, params.text_document.uri, DEBOUNCE_S))


@SERVER.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: TypeinfServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)
    ls.wanted.pop(params.text_document.uri, None)
    ls.parsed.pop(params.text_document.uri, None)
    ls.sliced.pop(params.text_document.uri, None)
    path = local_path(params.text_document.uri)
    engine = ls.engines.get(ls.root_of(path)) if path is not None else None
    if engine is not None and path is not None:  # the disk's text counts again for the checker
        language = language_for_path(params.text_document.uri) or "python"
        ls.checker_executor.submit(engine.release, path, language)
    ls.too_big.discard(params.text_document.uri)
    ls.tasks.cancel(params.text_document.uri)


async def _analyze_then_refresh(ls: TypeinfServer, uri: str, debounce: float) -> None:
    result = await ls.analysis(uri, debounce)
    if result is not None:
        _refresh(ls)


# ---------------------------------------------------------------------- features
@SERVER.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=True))
async def inlay_hint(ls: TypeinfServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint] | None:
    uri = params.text_document.uri
    current = await _current(ls, uri, stale_hints=True, wanted=params.range)
    if current is None:
        return None
    result, doc = current
    at = _Positions(doc, result, ls.text_of(doc))
    start = at.offset(params.range.start)
    end = at.offset(params.range.end)
    hints = []
    for p, ins in result.hints:
        if not (start <= ins.offset <= end) or not ls.visible(p):
            continue
        pos = at.client(ins.offset)
        rng = lsp.Range(pos, pos if ins.end is None else at.client(ins.end))
        hints.append(
            lsp.InlayHint(
                position=pos,
                label=ins.text.strip() if ins.text.startswith(" ->") else ins.text,
                kind=lsp.InlayHintKind.Type,
                padding_left=ins.text.startswith(" "),
                text_edits=[lsp.TextEdit(rng, ins.new_text)],
                data={"uri": uri, "version": doc.version, "offset": ins.offset},
            )
        )
        if len(hints) >= ls.options.max_hints:
            break
    return hints


@SERVER.feature(lsp.INLAY_HINT_RESOLVE)
def inlay_hint_resolve(ls: TypeinfServer, hint: lsp.InlayHint) -> lsp.InlayHint:
    data = hint.data if isinstance(hint.data, dict) else {}
    result = ls.analyses.get(str(data.get("uri", "")))
    if result is not None and result.version == data.get("version"):
        for p, ins in result.hints:
            if ins.offset == data.get("offset"):
                hint.tooltip = lsp.MarkupContent(lsp.MarkupKind.Markdown, tooltip(p))
                break
    return hint


async def _current(
    ls: TypeinfServer, uri: str, stale_hints: bool = False, wanted: lsp.Range | None = None
) -> tuple[Analysis, TextDocument] | None:
    """The analysis of the document's current version; None when the document is not ours.

    `wanted`: the range an inlay-hint request is for.  Its sites are predicted first, and the
    request is answered as soon as they are (the part of the analysis done so far, `Progress`);
    the client is asked to refresh once the whole document is done.

    When the document changed while the request waited, the request is superseded: with
    `stale_hints`, the hints of the latest analysis that are on unchanged lines are moved to the
    current version (so hints do not vanish while typing); otherwise, or with no analysis at
    all, ContentModified (-32801), after which the client asks again."""
    doc = ls.workspace.text_documents.get(uri)
    version = doc.version if doc is not None else None
    if wanted is not None and doc is not None:
        early = await _early(ls, uri, doc, wanted)
        if early is not None:
            return early, doc
    result = await ls.analysis(uri)
    doc = ls.workspace.text_documents.get(uri)
    if doc is None:
        return None
    if result is not None and result.version == doc.version:
        return result, doc
    if result is None and doc.version == version:
        return None  # not ours (language, size) or no model
    last = result if result is not None else ls.analyses.get(uri)
    if not stale_hints or last is None:
        raise JsonRpcContentModified(f"{uri} changed (version {doc.version}) while the request waited")
    data = ls.text_of(doc).data
    moved = Analysis(
        doc.version,
        data,
        last.language,
        last.with_model,
        last.indexed,
        [],
        map_insertions(last.data, data, last.hints),
    )
    return moved, doc


async def _early(ls: TypeinfServer, uri: str, doc: TextDocument, wanted: lsp.Range) -> Analysis | None:
    """The hints of the range, from the analysis of the current version while it is under way,
    once the range's sites are predicted; None when the whole analysis is there first (or the
    document is not being analysed)."""
    text = ls.text_of(doc)
    at = _Positions(doc, Analysis(doc.version, text.data, ""), text)
    start, end = at.offset(wanted.start), at.offset(wanted.end)
    ls.wanted[uri] = (doc.version, start, end)
    whole = asyncio.ensure_future(ls.analysis(uri))
    try:
        while not whole.done():
            progress = ls.underway.get(uri)
            if progress is not None and progress.version == doc.version and progress.covers(start, end):
                return Analysis(
                    doc.version, progress.data, progress.language, True, False, [], list(progress.hints)
                )
            # woken when the analysis of this version has predicted more, or (none under way yet:
            # its slicing runs) when one starts; no polling, which cost up to its period (50 ms)
            # after each edit, where the answer waited for a poll or for the whole analysis
            signal = progress.moved if progress is not None else ls.underway_started
            woken = signal.waiter()
            waits: list[asyncio.Future[Any]] = [whole, woken]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
        return None
    finally:
        if not whole.done():
            whole.cancel()


def _site_at(result: Analysis, offset: int) -> Prediction | None:
    for p in result.preds:
        a, b = p.slice.span
        if a <= offset <= b:
            return p
    return None


@SERVER.feature(lsp.TEXT_DOCUMENT_HOVER)
async def hover(ls: TypeinfServer, params: lsp.HoverParams) -> lsp.Hover | None:
    current = await _current(ls, params.text_document.uri)
    if current is None:
        return None
    result, doc = current
    at = _Positions(doc, result, ls.text_of(doc))
    p = _site_at(result, at.offset(params.position))
    if p is None or not p.type:
        return None
    rng = lsp.Range(at.client(p.slice.span[0]), at.client(p.slice.span[1]))
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, tooltip(p)), rng)


def _edit_for(
    ls: TypeinfServer, doc: TextDocument, result: Analysis, preds: list[Prediction]
) -> lsp.WorkspaceEdit | None:
    """A WorkspaceEdit that writes the given predictions through the annotate engine."""
    path = local_path(doc.uri)
    try:
        target = ls.settings_for(path).python_target()
    except ConfigError:
        target = DEFAULT_PYTHON_TARGET
    options = Options(min_confidence=0.0, python_target=target)
    planned = plan(preds, options, result.language)
    # the path relative to the project root: TypeScript imports of project types are relative to it
    rel_path = (
        project_relative(path, ls.root_of(path))
        if path is not None
        else PurePosixPath(urlparse(doc.uri).path).name
    )
    try:
        new, applied, _ = apply(result.data, result.language, planned.edits, options, rel_path=rel_path)
    except NotParsable:
        return None
    if not applied:
        return None
    old_text = result.data.decode("utf-8")
    at = _Positions(doc, result, ls.text_of(doc))
    edits = []
    for a, b, text in changed_lines(old_text, new.decode("utf-8")):
        rng = lsp.Range(
            doc.position_codec.position_to_client_units(at.lines, lsp.Position(a, 0)),
            doc.position_codec.position_to_client_units(at.lines, lsp.Position(b, 0))
            if b < len(at.lines)
            else at.client(len(result.data)),
        )
        edits.append(lsp.TextEdit(rng, text))
    return lsp.WorkspaceEdit(changes={doc.uri: edits})


@SERVER.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Source]),
)
async def code_action(ls: TypeinfServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
    current = await _current(ls, params.text_document.uri)
    if current is None:
        return None
    result, doc = current
    offset = _Positions(doc, result, ls.text_of(doc)).offset(params.range.start)
    actions = []
    p = _site_at(result, offset)
    if p is not None and p.type and p.slice.annotatable:
        label = f"{p.slice.name} -> {p.type}" if p.slice.kind == "return" else f"{p.slice.name}: {p.type}"
        edit = _edit_for(ls, doc, result, [p])
        if edit is not None:
            actions.append(
                lsp.CodeAction(
                    f"Annotate `{label}`",
                    kind=lsp.CodeActionKind.QuickFix,
                    edit=edit,
                    is_preferred=ls.confident(p),
                )
            )
        fn = [q for q in result.preds if ls.visible(q) and q.slice.qualname == p.slice.qualname]
        edit = _edit_for(ls, doc, result, fn) if len(fn) > 1 else None
        if edit is not None:
            actions.append(
                lsp.CodeAction(
                    f"Annotate all in `{p.slice.qualname or 'module'}`",
                    kind=lsp.CodeActionKind.QuickFix,
                    edit=edit,
                )
            )
    whole = [q for q in result.preds if ls.visible(q)]
    edit = _edit_for(ls, doc, result, whole) if whole else None
    if edit is not None:
        actions.append(
            lsp.CodeAction("Annotate this file (typeinf)", kind=lsp.CodeActionKind.Source, edit=edit)
        )
    return actions


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="typeinf lsp")
    ap.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP (for debugging) instead of stdio")
    args = ap.parse_args(argv)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        SERVER.start_tcp(host or "127.0.0.1", int(port))
    else:
        SERVER.start_io()
    # `exit` after `shutdown`: 0; `exit` without it: 1 (LSP); end of input: 0
    return SERVER.exit_code or 0
