"""The annotate pipeline over many files: slice in worker processes, predict in one batched
model pass, plan and apply the edits in worker processes, then report.  I/O (reading, writing,
printing) stays with the caller; this module returns results."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import SourceFile
from ..predict import Prediction, Predictor
from ..project import ProjectIndex
from ..slices import Slice, extract_with_diagnostics
from . import NotParsable, Options, Planned, apply, plan
from .python import Edit

PARALLEL_MIN_FILES = 8


@dataclass
class FileResult:
    source: SourceFile
    rel: str  # path shown to the user
    proj_rel: str  # path relative to the project root
    data: bytes
    new: bytes | None = None
    applied: list[Edit] = field(default_factory=list)
    runtime: list[Edit] = field(default_factory=list)
    planned: Planned | None = None
    error: str | None = None  # why the file could not be processed


class Progress:
    """A one-line progress display on stderr, only when it is a terminal."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.n = label, total, 0
        self.on = sys.stderr.isatty() and total > 1
        self.t0 = time.monotonic()

    def step(self, k: int = 1) -> None:
        self.n += k
        if self.on:
            sys.stderr.write(f"\rtypeinf: {self.label} {self.n}/{self.total} ({time.monotonic() - self.t0:.0f}s)")
            sys.stderr.flush()

    def done(self) -> None:
        if self.on:
            sys.stderr.write("\r" + " " * 60 + "\r")


def _slice_one(args: tuple[bytes, str, str]) -> tuple[list[Slice], int | None] | str:
    data, language, rel = args
    try:
        slices, diags = extract_with_diagnostics(data, language, rel)
    except Exception as e:  # noqa: BLE001 - reported per file
        return f"internal error while slicing ({type(e).__name__}: {e})"
    return slices, (diags[0].line if diags else None)


def _apply_one(args: tuple[bytes, str, list[Edit], Options, str]) -> tuple[bytes, list[Edit], list[Edit]] | str:
    data, language, edits, options, proj_rel = args
    try:
        return apply(data, language, edits, options, proj_rel)
    except NotParsable as e:
        return str(e)
    except Exception as e:  # noqa: BLE001
        return f"internal error ({type(e).__name__}: {e})"


def _map(fn: Callable[[Any], Any], items: list[Any], jobs: int, progress: Progress) -> list[Any]:
    if jobs <= 1 or len(items) < PARALLEL_MIN_FILES:
        out = []
        for it in items:
            out.append(fn(it))
            progress.step()
        return out
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        out = []
        for r in pool.map(fn, items, chunksize=4):
            out.append(r)
            progress.step()
        return out


def annotate_files(sources: Iterable[tuple[SourceFile, bytes, str, str]], predictor: Predictor, index: ProjectIndex,
                   options: Options, jobs: int | None = None) -> list[FileResult]:  # fmt: skip
    """Plan and apply annotations for (source, data, display path, project-relative path)."""
    jobs = jobs if jobs is not None else min(2, os.cpu_count() or 1)
    files = [FileResult(src, rel, proj_rel, data) for src, data, rel, proj_rel in sources]
    prog = Progress("slicing", len(files))
    sliced = _map(_slice_one, [(f.data, f.source.language, f.rel) for f in files], jobs, prog)
    prog.done()
    groups: list[tuple[list[Slice], list[Any]]] = []
    owners: list[FileResult] = []
    for f, got in zip(files, sliced, strict=True):
        if isinstance(got, str):
            f.error = got
            continue
        slices, error_line = got
        if error_line is not None:
            f.error = f"{f.rel}:{error_line}: syntax error; file skipped (annotate writes only files that parse)"
            continue
        groups.append(([s for s in slices if s.annotation is None], index.types_for(f.source.path, f.source.language)))
        owners.append(f)
    preds: list[list[Prediction]] = predictor.predict_groups(groups) if groups else []
    for f, p in zip(owners, preds, strict=True):
        f.planned = plan(p, options, f.source.language)
    todo = [f for f in owners if f.planned is not None and f.planned.edits]
    prog = Progress("annotating", len(todo))
    applied = _map(_apply_one, [(f.data, f.source.language, f.planned.edits, options, f.proj_rel)  # type: ignore[union-attr]
                                for f in todo], jobs, prog)  # fmt: skip
    prog.done()
    for f, got in zip(todo, applied, strict=True):
        if isinstance(got, str):
            f.error = got
        else:
            f.new, f.applied, f.runtime = got
    return files


def project_relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
