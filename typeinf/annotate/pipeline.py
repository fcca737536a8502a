"""`typeinf annotate` as one pipeline of explicit stages over the files read:

    plan -> apply        typeinf.annotate.run: rounds of slice, predict, plan, apply (each Edit
                         carries the Prediction it writes)
    syntax check        TypeScript: the compiler's parser must find no new syntax error
    verify              --verify: the type checker's verdict; the edits it keeps re-applied
    write back          in place, diff, check or stubs (`WriteBack`), counted in a `Report`

    annotate(sources, engine, request, report, warn) -> Report   (report.return_code)

The command line parses its flags once into a `Request`; nothing below it sees argparse.  Messages
go to `warn` (stderr, in order), the diff, the JSON report and a file read from stdin to stdout.
"""

from __future__ import annotations

import difflib
import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..exit_codes import EXIT_FAILED, EXIT_USAGE
from ..filecache import FileMemo
from ..files import Read, SourceFile, display_path
from ..inference.engine import Engine
from ..lang import lang_family
from . import Options, apply, write_atomic
from .edits import Edit
from .report import Report, Warn, WriteBack
from .run import MAX_ROUNDS, FileResult, annotate_files, project_relative
from .verify import NoChecker, Target, Verdict, verify_all


@dataclass(frozen=True)
class Request:
    """What to annotate and how to write it back, parsed once from the command line."""

    options: Options
    root: Path  # the project: its types can be predicted and imported; stubs mirror its layout
    write_back: WriteBack = WriteBack.YES
    stubs_dir: Path | None = None  # with WriteBack.STUBS
    verify: bool = False
    json_report: bool = False  # print what was (or would be) inserted
    stdin: bool = False  # the one source was read from stdin: written back to stdout
    typescript: Path | None = None  # the `typescript` package configured ($TYPEINF_TYPESCRIPT)
    cache_dir: Path | None = None  # each file's slices and applied edits kept there (None: not kept)

    @property
    def rounds(self) -> int:
        # --verify re-applies a subset of the edits to the original text: one round only
        return 1 if self.verify else MAX_ROUNDS


def annotate(
    sources: list[tuple[SourceFile, Read]],
    engine: Engine,
    request: Request,
    report: Report,
    warn: Warn,
    stdin_echo: bytes | None = None,
) -> Report:
    """Run the stages over the files read; `report` may already hold the files that could not be
    read.  `stdin_echo`: with stdin in place, what is printed when no annotation is written."""
    return finish(sources, plan_files(sources, engine, request, warn), request, report, warn, stdin_echo)


def plan_files(
    sources: list[tuple[SourceFile, Read]], engine: Engine, request: Request, warn: Warn
) -> list[FileResult]:
    """The rounds and the syntax check: each file's annotated text, nothing written yet (what a
    kept run stores: typeinf.runcache)."""
    memo = FileMemo.open(request.cache_dir) if request.cache_dir is not None else None
    try:
        results = annotate_files(
            [
                (src, read.data, display_path(src.path), project_relative(src.path, request.root))
                for src, read in sources
            ],
            engine,
            request.options,
            rounds=request.rounds,
            memo=memo,
        )
    finally:
        if memo is not None:
            memo.close()
    refuse_syntax_regressions(results, request.root, warn, request.typescript)
    return results


def finish(
    sources: list[tuple[SourceFile, Read]],
    results: list[FileResult],
    request: Request,
    report: Report,
    warn: Warn,
    stdin_echo: bytes | None = None,
) -> Report:
    """--verify's verdicts, then the write back of the planned results."""
    reads = {src.path: read for src, read in sources}
    try:
        verdicts = verified(results, request) if request.verify else {}
    except NoChecker as e:
        warn(str(e))
        return report.abort(EXIT_USAGE)
    families = sorted({lang_family(src.language) for src, _ in sources})
    return write_back(results, reads, verdicts, request, report, warn, stdin_echo, families)


def refuse_syntax_regressions(
    results: list[FileResult], root: Path, warn: Warn, typescript: Path | None = None
) -> None:
    """A TypeScript file whose annotated text the compiler's parser finds a new syntax error in is
    not written (its result becomes an error), where the compiler is installed."""
    from .dts import syntax_regressions

    pairs = {
        r.source.path: (r.data, r.new)
        for r in results
        if r.error is None and r.new is not None and r.source.language != "python"
    }
    try:
        broken = syntax_regressions(root, pairs, configured=typescript) or {}
    except (RuntimeError, OSError, ValueError) as e:
        warn(f"the TypeScript compiler's syntax check could not run ({e}); tree-sitter's check applies")
        return
    for r in results:
        if r.source.path in broken:
            r.error = (
                f"the annotated file would have a syntax error ({broken[r.source.path]}); nothing written"
            )


def _annotated(data: bytes, language: str, options: Options, rel: str, edits: list[Edit]) -> bytes:
    return apply(data, language, edits, options, rel)[0]


def verified(results: list[FileResult], request: Request) -> dict[Path, Verdict]:
    """The type checker's verdict on each annotated file; NoChecker when there is none."""
    targets = [
        Target(
            r.source.path,
            r.source.language,
            r.data,
            r.applied,
            functools.partial(_annotated, r.data, r.source.language, request.options, r.proj_rel),
        )
        for r in results
        if r.error is None and r.applied and r.new is not None
    ]
    return {t.path: v for t, v in zip(targets, verify_all(targets, request.root), strict=True)}


def _after_verdict(
    r: FileResult, verdict: Verdict | None, options: Options, report: Report, warn: Warn
) -> tuple[bytes | None, list[Edit]]:
    """The file's annotated text and edits once the type checker's rejections are taken out."""
    if verdict is None:
        return r.new, r.applied
    report.rejected += len(verdict.removed)
    for line, msg in verdict.unattributed:
        report.unexplained += 1
        warn(
            f"{r.rel}:{line}: the type checker reports a new error no annotation could be blamed for "
            f"(kept): {msg}"
        )
    if not verdict.removed:
        return r.new, r.applied
    new, applied, _ = apply(r.data, r.source.language, verdict.kept, options, r.proj_rel)
    return new, applied


def write_back(
    results: list[FileResult],
    reads: dict[Path, Read],
    verdicts: dict[Path, Verdict],
    request: Request,
    report: Report,
    warn: Warn,
    stdin_echo: bytes | None,
    families: list[str],
) -> Report:
    """Write, diff, check or stub each file; then the declarations, stdout and the summary."""
    mode = request.write_back
    ts_stubs: dict[Path, tuple[str, bytes]] = {}
    for r in results:
        if r.error is not None:
            warn(r.error if r.error.startswith(r.rel) else f"{r.rel}: {r.error}")
            report.failed(r.source.path, r.error)
            if mode is WriteBack.STUBS and r.source.language != "python":
                ts_stubs[r.source.path] = (
                    r.rel,
                    r.data,
                )  # not annotated, but the compiler may still declare it
            continue
        report.runtime_skipped += len(r.runtime)
        report.unimportable += r.unimportable
        new, applied = _after_verdict(r, verdicts.get(r.source.path), request.options, report, warn)
        unchanged = not applied or new is None or new == r.data
        read = reads[r.source.path]
        if mode is WriteBack.STUBS:  # every file gets a stub: a checker reading the set finds every module
            content = r.data if unchanged or new is None else new
            if r.source.language != "python":
                ts_stubs[r.source.path] = (r.rel, content)  # declarations are emitted for all of them at once
            elif write_one(request, r, read, content, report, warn):
                report.stubbed += 1
        if unchanged or new is None:
            continue
        if request.stdin:
            if mode is WriteBack.YES:
                try:
                    stdin_echo = read.encoding.encode(new)
                except UnicodeEncodeError as e:
                    warn(
                        f"{r.rel}: the annotations cannot be written in {read.encoding.codec} ({e.reason}); "
                        "nothing written"
                    )
                    return report.abort(EXIT_FAILED)
            elif mode is WriteBack.DIFF:
                write_one(request, r, read, new, report, warn)
        elif mode is not WriteBack.STUBS and not write_one(request, r, read, new, report, warn):
            continue  # not written: neither counted nor reported
        if mode is WriteBack.CHECK:
            warn(f"would annotate {r.rel}")
        report.done(applied)
    if ts_stubs:
        assert request.stubs_dir is not None
        before = len(report.failures)
        if not emit_declarations(request.stubs_dir, request.root, ts_stubs, report, warn, request.typescript):
            return report.abort(EXIT_USAGE)
        report.stubbed += len(ts_stubs) - (len(report.failures) - before)
    if stdin_echo is not None and mode is WriteBack.YES and not report.failures:
        sys.stdout.buffer.write(stdin_echo)
        sys.stdout.flush()
    if request.json_report:
        json.dump(report.entries, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    warn(report.summary(thresholds_text(request.options, families)))
    return report


def thresholds_text(options: Options, families: list[str]) -> str:
    """`0.88`, or `python 0.88, typescript 0.71` when the model's per-language thresholds differ."""
    values = {fam: options.threshold(fam) for fam in families}
    if len(set(values.values())) <= 1:
        return f"{next(iter(values.values()), options.min_confidence):.2f}"
    return ", ".join(f"{fam} {v:.2f}" for fam, v in values.items())


def write_one(request: Request, r: FileResult, read: Read, new: bytes, report: Report, warn: Warn) -> bool:
    """Write, stub, diff or only count one annotated file; False if it could not be written.
    `new` is UTF-8: it is written back in the file's own encoding (and BOM)."""
    try:
        if request.write_back is WriteBack.STUBS:
            from .stubs import python_stub

            assert request.stubs_dir is not None
            target = request.stubs_dir / Path(r.proj_rel).with_suffix(".pyi")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read.encoding.encode(python_stub(new.decode("utf-8")).encode("utf-8")))
        elif request.write_back is WriteBack.DIFF:
            sys.stdout.writelines(
                difflib.unified_diff(
                    read.data.decode("utf-8").splitlines(keepends=True),
                    new.decode("utf-8").splitlines(keepends=True),
                    fromfile=f"a/{r.rel}",
                    tofile=f"b/{r.rel}",
                )
            )
        elif request.write_back is WriteBack.YES:
            write_atomic(r.source.path, read.encoding.encode(new), read.raw)
    except UnicodeEncodeError as e:
        warn(f"{r.rel}: not written: the annotations cannot be written in {read.encoding.codec} ({e.reason})")
        report.failed(r.source.path, "not encodable")
        return False
    except (OSError, RuntimeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        warn(f"{r.rel}: not written: {reason}")
        report.failed(r.source.path, reason)
        return False
    except Exception as e:  # noqa: BLE001 - one file's failure is reported; the others are written
        reason = f"internal error ({type(e).__name__}: {e})"
        warn(f"{r.rel}: not written: {reason}")
        report.failed(r.source.path, reason)
        return False
    return True


def emit_declarations(
    out_dir: Path,
    root: Path,
    sources: dict[Path, tuple[str, bytes]],
    report: Report,
    warn: Warn,
    typescript: Path | None = None,
) -> bool:
    """`.d.ts` stubs of the annotated TypeScript files, by the TypeScript compiler; False when it
    cannot run at all (a usage error)."""
    from .dts import NoCompiler, declarations

    try:
        emitted, errors = declarations(
            root, {p: data for p, (_rel, data) in sources.items()}, configured=typescript
        )
    except NoCompiler as e:
        warn(str(e))
        return False
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        warn(f"declarations not written: {e}")
        for p in sources:
            report.failed(p, str(e))
        return True
    for msg in errors[:10]:
        warn(f"tsc: {msg}")
    base = root.resolve()
    for path, (rel, _data) in sources.items():
        stem = path.resolve().with_suffix("")
        dts = next((p for p in emitted if p.with_suffix("").with_suffix("") == stem), None)
        if dts is None:
            warn(f"{rel}: the compiler emitted no declarations")
            report.failed(path, "no declarations emitted")
            continue
        target = out_dir / dts.relative_to(base) if dts.is_relative_to(base) else out_dir / dts.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(emitted[dts], encoding="utf-8")
    return True
