"""The annotate pipeline over many files: slice in worker processes, predict in one batched
model pass, plan and apply the edits in worker processes, then report.  I/O (reading, writing,
printing) stays with the caller; this module returns results."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from ..checker.base import Diagnostic
from ..filecache import FileMemo, canonical, pickled
from ..files import SourceFile
from ..inference.engine import Engine, FileSites
from ..inference.predict import Prediction
from ..slices import TOO_DEEP, Slice, extract_with_diagnostics
from . import NotParsable, Options, apply, plan
from .edits import Edit
from .judge import Case, judge_all

PARALLEL_MIN_FILES = 8


@dataclass
class FileResult:
    source: SourceFile
    rel: str  # path shown to the user
    proj_rel: str  # path relative to the project root
    data: bytes
    new: bytes | None = None
    applied: list[Edit] = field(default_factory=list)  # each with its prediction, positioned as read
    runtime: list[Edit] = field(default_factory=list)
    unimportable: int = 0  # the first round's predictions needing an import that cannot be written
    # site (kind, qualified name, name, which of the sites so named) -> line, column read
    origin: dict[tuple[str, str, str, int], tuple[int, int]] = field(default_factory=dict)
    error: str | None = None  # why the file could not be processed
    open: frozenset[str] = frozenset()  # the names of its sites annotate may still write (`self.` dropped)
    sliced: tuple[bytes, list[Slice]] | None = None  # its text when last sliced in a round, and the slices
    wrote: frozenset[str] = frozenset()  # the names of the sites the last round wrote in it


class Progress:
    """A one-line progress display on stderr, only when it is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.n = label, total, 0
        self.on = sys.stderr.isatty() and total > 1
        self.t0 = time.monotonic()

    def step(self, k: int = 1) -> None:
        self.n += k
        if self.on:
            sys.stderr.write(
                f"\rtypeinf: {self.label} {self.n}/{self.total} ({time.monotonic() - self.t0:.0f}s)"
            )
            sys.stderr.flush()

    def done(self) -> None:
        if self.on:
            sys.stderr.write("\r" + " " * 60 + "\r")


def _apply_inputs(args: tuple[bytes, str, list[Edit], Options, str]) -> bytes:
    """What decides `_apply_one`: the text, the edits and what the report shows of their
    predictions (a prediction's slice is the text's, where the text and its place decide it), the
    options.  As text: a pickle of equal objects differs with what they share."""
    data, language, edits, options, proj_rel = args
    shown = [
        (e, None)
        if (p := e.prediction) is None
        else (
            e,
            p.slice.file,
            p.slice.span,
            p.slice.kind,
            p.type,
            p.confidence,
            p.source,
            p.alternatives,
            p.module,
            p.rule,
        )
        for e in edits
    ]
    return (
        data + b"\0" + repr((language, shown, canonical(options), proj_rel)).encode("utf-8", "surrogatepass")
    )


def _slice_one(args: tuple[bytes, str, str]) -> tuple[list[Slice], str | None] | str:
    """The file's slices and, if it does not parse, why it is skipped."""
    data, language, rel = args
    try:
        slices, diags = extract_with_diagnostics(data, language, rel)
    except Exception as e:  # noqa: BLE001 - reported per file
        return f"internal error while slicing ({type(e).__name__}: {e})"
    if not diags:
        return slices, None
    d = diags[0]
    what = d.message if d.message == TOO_DEEP else "syntax error"
    return slices, f"{rel}:{d.line}: {what}; file skipped (annotate writes only files that parse)"


def _apply_one(
    args: tuple[bytes, str, list[Edit], Options, str],
) -> tuple[bytes, list[Edit], list[Edit]] | str:
    data, language, edits, options, proj_rel = args
    try:
        return apply(data, language, edits, options, proj_rel)
    except NotParsable as e:
        return str(e)
    except Exception as e:  # noqa: BLE001
        return f"internal error ({type(e).__name__}: {e})"


def worker_context() -> Any:
    """How the worker processes start: forked from a small server process that has imported only
    what they run (`forkserver`), where the platform has it, not from this process.  A worker
    forked from the process that holds the model, the project index and the predictions copies
    each page it touches (a reference count is a write): `benchmarks/project_speed.py`'s peak of
    the process tree on certbot, predict cold, 727-737 MB forked, 625-640 MB from the server, in
    the same wall time (forked after `gc.freeze`, so that the workers' collections leave the
    parent's pages alone: 630-633 MB).  Nor does it fork a process that runs threads (the
    checker's reader threads).  Python 3.14 starts processes this way by default; as there and on
    macOS and Windows, a script that runs typeinf's API in worker processes guards its own code
    with `if __name__ == "__main__":` (the workers import the main module)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


class Workers:
    """The worker processes of a run, started on first need and shared by all its rounds (a pool
    started per stage cost more than small rounds' work); few items run in this process."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def kept_map(
        self,
        memo: FileMemo | None,
        kind: str,
        fn: Callable[[Any], Any],
        inputs: Callable[[Any], bytes],
        items: list[Any],
        progress: Progress,
    ) -> list[Any]:
        """`map`, with the results kept across runs in `memo` (by `inputs`) read back."""
        if memo is None:
            return self.map(fn, items, progress)
        return memo.map(kind, items, inputs, lambda missing: self.map(fn, missing, progress))

    def map(self, fn: Callable[[Any], Any], items: list[Any], progress: Progress) -> list[Any]:
        if self.jobs <= 1 or len(items) < PARALLEL_MIN_FILES:
            out = []
            for it in items:
                out.append(fn(it))
                progress.step()
            return out
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=worker_context())
        out = []
        for r in self._pool.map(fn, items, chunksize=4):
            out.append(r)
            progress.step()
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# Rounds of predict-and-apply on the files that changed and their dependents: an annotation written
# in one round is evidence for its neighbours (a parameter's siblings, a callee's return, its
# callers' and callees' parameters, the same names elsewhere) in the next, so a single round left
# sites that a second `typeinf annotate` run would then annotate.  Running the rounds here, until
# one changes nothing, makes the second run a no-op; the bound is a guard.  A parameter's type
# reaches the functions its value is passed to one call level per round (the checker infers the
# argument from the caller's annotation written the round before): certbot (29k lines, unannotated)
# changes 74, 56, 34, 21, 17, 8, 3, 3, 2, 2 and then 0 files, where a bound of 8 left 4 parameters
# to a second run.
MAX_ROUNDS = 32


def annotate_files(
    sources: Iterable[tuple[SourceFile, bytes, str, str]],
    engine: Engine,
    options: Options,
    jobs: int | None = None,
    rounds: int = MAX_ROUNDS,
    sliced: Mapping[Path, list[Slice]] | None = None,
    memo: FileMemo | None = None,
) -> list[FileResult]:
    """Plan and apply annotations for (source, data, display path, project-relative path).
    With `rounds=1` every applied edit is positioned in the original text (what `--verify` needs).
    `sliced`: files the caller has already sliced (as read, without syntax errors), not sliced again.
    `memo`: each file's slices and applied edits kept across runs (typeinf.filecache)."""
    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    files = [FileResult(src, rel, proj_rel, data) for src, data, rel, proj_rel in sources]
    if any(f.source.language == "python" for f in files):
        from . import python  # noqa: F401 - libcst, imported once here rather than in each worker
    todo = files
    workers = Workers(jobs)
    try:
        for first in [True] + [False] * (rounds - 1):
            changed = _round(todo, engine, options, workers, first, sliced if first else None, memo)
            if not changed:
                break
            # what the round wrote reaches the checker's answers in the files using it (pyrefly
            # reads imported files from the disk only: typeinf.checker.python.LspChecker.sync)
            engine.publish([(f.source.path, f.source.language, _current(f)) for f in changed])
            todo = dependents(changed, files, engine)
            engine.warm([(f.source.path, f.source.language, _current(f)) for f in todo])
    finally:
        workers.close()
    return files


def dependents(changed: list[FileResult], files: list[FileResult], engine: Engine) -> list[FileResult]:
    """The files the next round predicts again: those a round changed, and those whose evidence what
    it wrote may change: a site of the same name (the project's votes), a call of a function of a
    changed file (the returns the checker infers there, the callees' parameter types), and a
    function that a changed file or such a caller calls (the callers' argument types).  Without
    these, a second run would read the new evidence from the disk and write more."""
    written = frozenset().union(*(f.wrote for f in changed))
    touched = {f.source.path for f in changed}
    scans = {f.source.path: engine.index.calls_of(f.source.path) for f in files}
    defined = {name for p in touched if (c := scans.get(p)) is not None for _, name in c.defined}
    # the callers of a changed file's functions: what the checker infers there (a value a changed
    # return flows into) is passed on to the functions they call, whose parameters hear it
    callers = {p for p, c in scans.items() if c is not None and any(x.callee in defined for x in c.calls)}
    again = touched | callers
    called = {x.callee for p in again if (c := scans.get(p)) is not None for x in c.calls}
    out = []
    for f in files:
        if f.error is not None or not f.open:
            continue
        c = scans.get(f.source.path)
        if (
            f.source.path in again
            or f.open & written
            or c is not None
            and any(name in called for _, name in c.defined)
        ):
            out.append(f)
    return out


def _round(
    files: list[FileResult],
    engine: Engine,
    options: Options,
    workers: Workers,
    first: bool,
    known: Mapping[Path, list[Slice]] | None = None,
    memo: FileMemo | None = None,
) -> list[FileResult]:
    """One round of slice -> predict -> plan -> apply; returns the files it changed.  In later rounds
    (on the text the earlier ones wrote) a file that fails keeps what the earlier rounds wrote."""
    known = dict(known or {})
    for f in files:  # a file the last round did not change (predicted again for its evidence)
        if f.sliced is not None and f.sliced[0] == _current(f):
            known.setdefault(f.source.path, f.sliced[1])
    rest = [f for f in files if f.source.path not in known]
    prog = Progress("slicing" if first else "checking", len(rest))
    fresh = iter(
        workers.kept_map(
            memo,
            "slices",
            _slice_one,
            pickled,
            [(_current(f), f.source.language, f.rel) for f in rest],
            prog,
        )
    )
    prog.done()
    sliced = [(known[f.source.path], None) if f.source.path in known else next(fresh) for f in files]
    groups: list[FileSites] = []
    owners: list[FileResult] = []
    for f, got in zip(files, sliced, strict=True):
        if isinstance(got, str) or got[1] is not None:
            if first:
                f.error = got if isinstance(got, str) else got[1]
            continue
        f.sliced = (_current(f), got[0])
        if first:
            for s, n in zip(got[0], occurrences(got[0]), strict=True):
                f.origin[(s.kind, s.qualname, s.name, n)] = (s.line, s.column)
        # only the sites annotate may write: the model is not run for the others
        wanted = [s for s in got[0] if s.annotation is None and s.annotatable and s.kind in options.kinds]
        f.open = frozenset(s.name.removeprefix("self.") for s in wanted)
        # the checker reads the text as it is now: what earlier rounds wrote is evidence for the rest
        groups.append(
            FileSites(f.source.path, f.source.language, wanted, _current(f).decode("utf-8", "replace"))
        )
        owners.append(f)
    preds: list[list[Prediction]] = engine.predict_files(groups) if groups else []
    planned = [(f, plan(p, options, f.source.language)) for f, p in zip(owners, preds, strict=True)]
    if first:
        for f, pl in planned:
            f.unimportable = pl.unimportable
    todo = [(f, pl) for f, pl in planned if pl.edits]
    prog = Progress("annotating", len(todo))
    applied = workers.kept_map(
        memo,
        "applied",
        _apply_one,
        _apply_inputs,
        [(_current(f), f.source.language, pl.edits, options, f.proj_rel) for f, pl in todo],
        prog,
    )
    prog.done()
    ready: list[tuple[FileResult, bytes, list[Edit]]] = []
    for (f, _), got in zip(todo, applied, strict=True):
        if isinstance(got, str):
            if first:
                f.error = got
            continue
        new, done, runtime = got
        if first:
            f.runtime = runtime
        ready.append((f, new, done))
    changed = []
    for f, (new, done) in zip([f for f, _, _ in ready], _judged(engine, ready, options), strict=True):
        if not done or new == _current(f):
            continue
        f.new = new
        f.wrote = frozenset(
            e.prediction.slice.name.removeprefix("self.") for e in done if e.prediction is not None
        )
        if first:
            f.applied += done
        else:
            sites = f.sliced[1] if f.sliced else []
            which = dict(zip([(x.kind, x.line, x.column) for x in sites], occurrences(sites), strict=True))
            f.applied += [replace(e, prediction=_as_read(f, e.prediction, which)) for e in done]
        changed.append(f)
        # what this round wrote is the project's own annotation for the next (as a second run would
        # read it from the disk): the index's name table sees it, so the rounds reach the fixed point
        engine.index.add(f.source.path, f.source.language, data=new)
    return changed


def _judged(
    engine: Engine, ready: list[tuple[FileResult, bytes, list[Edit]]], options: Options
) -> list[tuple[bytes, list[Edit]]]:
    """Each file's text and edits once the engine's checker has judged the round's edits of all the
    files together (typeinf.annotate.judge); the rejected ones are reported to the engine, which
    marks them so that no later round writes them."""
    out = [(new, done) for _, new, done in ready]
    judged = [
        i
        for i, (f, new, done) in enumerate(ready)
        if done and new != _current(f) and engine.checker(f.source.language) is not None
    ]
    if not judged:
        return out

    def reapply(f: FileResult, edits: list[Edit]) -> tuple[bytes, list[Edit]]:
        text, applied, _ = apply(_current(f), f.source.language, edits, options, f.proj_rel)
        return text, applied

    def diagnose(texts: Sequence[tuple[int, bytes]]) -> Sequence[Sequence[Diagnostic]]:
        files = [ready[judged[k]][0] for k, _ in texts]
        return engine.diagnostics_many(
            [(f.source.path, f.source.language, text) for f, (_, text) in zip(files, texts, strict=True)]
        )

    cases = [
        Case(
            ready[i][0].source.language,
            _current(ready[i][0]),
            ready[i][1],
            ready[i][2],
            partial(reapply, ready[i][0]),
        )
        for i in judged
    ]
    for i, (new, kept, rejected) in zip(judged, judge_all(diagnose, cases), strict=True):
        f = ready[i][0]
        engine.reject(f.source.path, [e.prediction for e in rejected if e.prediction is not None])
        out[i] = (new, kept)
    return out


def occurrences(slices: Sequence[Slice]) -> list[int]:
    """For each site, how many sites of the same kind, qualified name and name come before it in
    the text: a module may define a function twice (`if os.name == "nt": def lock(file, flags)`,
    else another), and annotations written in between move the sites but not their order."""
    order = sorted(range(len(slices)), key=lambda i: (slices[i].line, slices[i].column))
    seen: Counter[tuple[str, str, str]] = Counter()
    out = [0] * len(slices)
    for i in order:
        s = slices[i]
        k = (s.kind, s.qualname, s.name)
        out[i] = seen[k]
        seen[k] += 1
    return out


def _as_read(
    f: FileResult, p: Prediction | None, which: Mapping[tuple[str, int, int], int]
) -> Prediction | None:
    """A later round's prediction positioned where its site is in the file as read (earlier rounds'
    imports and annotations moved it), so reports match the file on disk.  `which`: the occurrence
    of each site of the round's slicing (`occurrences`) by its kind and place in that text."""
    if p is None:
        return p
    n = which.get((p.slice.kind, p.slice.line, p.slice.column))
    at = f.origin.get((p.slice.kind, p.slice.qualname, p.slice.name, n)) if n is not None else None
    if at is None:
        return p
    return replace(p, slice=replace(p.slice, line=at[0], column=at[1]))


def _current(f: FileResult) -> bytes:
    return f.new if f.new is not None else f.data


def project_relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
