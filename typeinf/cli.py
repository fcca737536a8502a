"""The `typeinf` command line: subcommands share file discovery, settings and exit codes.

Exit codes (every command): 0 success (warnings on stderr), 1 `--check` found something to
change, 2 usage or configuration error, 123 some files could not be processed (the rest were).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import __version__
from .config import ConfigError, Settings, load_settings
from .exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .filecache import FileMemo, pickled
from .files import Read, Skipped, SourceFile, display_path, read_file, to_internal, walk
from .heap import limit_arenas
from .lang import KINDS
from .slices import Diagnostic, Slice, extract_with_diagnostics, language_for_path
from .slices.source import SourceError


def warn(message: str) -> None:
    print(f"typeinf: {message}", file=sys.stderr)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"kinds must be among param, return, var (got {text!r})")
    return kinds


def _host_port(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port from 1 to 65535 (got {text!r})")
    return text


def _add_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="files or directories; - reads one file from stdin (see --stdin-filename)",
    )
    p.add_argument(
        "--lang",
        choices=["python", "typescript"],
        default=None,
        help="only this language (typescript includes .tsx) (default: both)",
    )
    p.add_argument(
        "--max-bytes",
        type=_positive_int,
        default=None,
        metavar="N",
        help="skip files larger than this (default: 1000000, or [tool.typeinf] max-bytes)",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=None,
        metavar="GLOB",
        help="gitignore-style pattern of paths to skip, also when they are named on the command "
        "line (repeatable; adds to [tool.typeinf] exclude) (default: none)",
    )
    p.add_argument(
        "--stdin-filename",
        default=None,
        metavar="PATH",
        help="with - as PATH: the file's name, for its language, the messages and exclude "
        "(default: - , read as Python)",
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--project",
        type=Path,
        default=None,
        metavar="DIR",
        help="project root whose types can be predicted and imported (default: the nearest "
        "directory above the first PATH with pyproject.toml, package.json, setup.py or .git)",
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="threads the model runs on (default: 2, or fewer CPUs)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or keep the model's rankings across runs (default: kept in "
        "$XDG_CACHE_HOME/typeinf, or [tool.typeinf] cache-dir, or $TYPEINF_CACHE_DIR)",
    )
    p.add_argument(
        "--no-checker",
        dest="checker",
        action="store_false",
        default=None,
        help="do not ask the type checker (pyrefly for Python, the TypeScript compiler) for its "
        "inferred types (default: asked where installed; [tool.typeinf] checker = false)",
    )


SUBPARSERS: dict[str, argparse.ArgumentParser] = {}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="typeinf", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--version", action="version", version=f"typeinf {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("slices", help="print the usage slice of every parameter, return and variable")
    _add_file_options(p)
    p.add_argument(
        "--format",
        choices=["json", "jsonl"],
        default="json",
        help="json: one array; jsonl: one slice per line (default: json)",
    )
    p.set_defaults(func=cmd_slices)
    SUBPARSERS["slices"] = p

    p = sub.add_parser("predict", help="predict the type of every unannotated parameter, return and variable")
    _add_file_options(p)
    p.add_argument(
        "--format",
        choices=["json", "text"],
        default="text",
        help="text: one line per site; json: one array with the alternatives (default: text)",
    )
    p.add_argument(
        "--min-confidence",
        type=_probability,
        default=0.0,
        metavar="X",
        help="only predictions at least this confident (default: 0, all)",
    )
    p.add_argument(
        "--top-k", type=_positive_int, default=5, metavar="K", help="alternatives to list (default: 5)"
    )
    _add_model_options(p)
    p.set_defaults(func=cmd_predict)
    SUBPARSERS["predict"] = p

    p = sub.add_parser("annotate", help="write predicted annotations into the files (in place by default)")
    _add_file_options(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--diff", action="store_true", help="print a unified diff, write nothing (default: write the files)"
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the files that would change and exit 1 if there are any "
        "(default: write the files)",
    )
    p.add_argument(
        "--min-confidence",
        type=_probability,
        default=None,
        metavar="X",
        dest="threshold",
        help="write only predictions at least this confident (default: the model's threshold "
        "for >= 95%% precision)",
    )
    p.add_argument(
        "--kinds",
        type=_kinds,
        default=None,
        metavar="KINDS",
        help="comma-separated site kinds to annotate: param,return,var (default: all, or "
        "[tool.typeinf] kinds)",
    )
    p.add_argument(
        "--aggressive",
        action="store_true",
        default=None,
        help="also annotate sites whose annotations are read at run time (dataclass fields, "
        "web routes, CLI commands, validators) (default: off, or [tool.typeinf] aggressive)",
    )
    p.add_argument(
        "--inferrable-types",
        action="store_true",
        default=None,
        help="TypeScript: also annotate variables and parameters whose type the compiler infers from a "
        "literal initializer or default, and variables bound to a function (default: off, as "
        "@typescript-eslint/no-inferrable-types; or [tool.typeinf] inferrable-types)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: print what was (or would be) inserted; not with --diff (default: text, a "
        "summary on stderr)",
    )
    mode.add_argument(
        "--stubs",
        type=Path,
        default=None,
        metavar="DIR",
        help="write stubs with the predicted annotations into DIR instead of editing sources: .pyi for "
        "Python, .d.ts for TypeScript (emitted by the TypeScript compiler) (default: edit the sources)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="run the type checker (pyright or mypy; tsc) and drop annotations it rejects (default: off)",
    )
    _add_model_options(p)
    p.set_defaults(func=cmd_annotate)
    SUBPARSERS["annotate"] = p

    p = sub.add_parser("lsp", help="run the language server (stdio; --tcp HOST:PORT for debugging)")
    p.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        default=None,
        type=_host_port,
        help="listen on this TCP address instead of stdio, e.g. 127.0.0.1:2087 (default: stdio)",
    )
    p.set_defaults(func=cmd_lsp)
    SUBPARSERS["lsp"] = p
    return ap


STDIN = Path("-")


def _settings(args: argparse.Namespace) -> Settings:
    base = load_settings(Path.cwd(), warn=warn)
    exclude = base.exclude + (args.exclude or [])
    return base.merged(max_bytes=args.max_bytes, exclude=exclude, checker=getattr(args, "checker", None))


def _engine(
    predictor: Any, index: Any, settings: Settings, typescript: Path | None, cache_dir: Path | None
) -> Any:  # -> Engine
    """The engine over the project, with the type checkers where the settings allow them, and their
    answers kept across runs in `cache_dir` (None: not kept; the index must read imports)."""
    from .checker.kept import KeptAnswers
    from .inference.engine import Engine, default_checkers
    from .runcache import checker_context

    if not settings.checker:
        return Engine(predictor, index, None)
    kept = None
    if cache_dir is not None and index.imports:
        context = checker_context(index.root, list(index.by_file), typescript, os.environ)
        kept = KeptAnswers.open(cache_dir, context)
    return Engine(predictor, index, default_checkers(index.root, typescript), kept)


def _languages(args: argparse.Namespace) -> set[str] | None:
    if args.lang is None:
        return None
    return {"python"} if args.lang == "python" else {"typescript", "tsx"}


def _path_problem(args: argparse.Namespace) -> str | None:
    """Why the PATH arguments are a usage error (exit 2): a path that does not exist (a symbolic
    link that cannot be followed does exist: it is skipped, exit 123), - beside other paths."""
    if STDIN in args.paths:
        if len(args.paths) > 1:
            return "- (stdin) must be the only PATH"
        if args.stdin_filename is not None and language_for_path(args.stdin_filename) is None:
            return f"--stdin-filename {args.stdin_filename}: not a Python or TypeScript file name (.py, .ts, .tsx)"
        return None
    if args.stdin_filename is not None:
        return "--stdin-filename needs - (stdin) as PATH"
    for p in args.paths:
        if not os.path.lexists(p):
            return f"{p}: no such file or directory"
    return None


def iter_sources(
    args: argparse.Namespace, settings: Settings, failures: list[Skipped], stdin: bytes | None = None
) -> Iterator[tuple[SourceFile, Read]]:
    """(SourceFile, Read) for each readable source; skips are reported on stderr.  With - as PATH,
    `stdin` is what was read from it (read here when not given)."""
    if args.paths == [STDIN]:
        yield from _stdin_source(
            args, settings, failures, sys.stdin.buffer.read() if stdin is None else stdin
        )
        return
    base = settings.source.parent if settings.source is not None else None
    found = 0
    for item in walk(args.paths, _languages(args), settings.exclude, base=base):
        found += 1
        if isinstance(item, Skipped):
            warn(f"{display_path(item.path)}: skipped: {item.reason}")
            if item.error:
                failures.append(item)
            continue
        read = read_file(item.path, settings.max_bytes)
        if isinstance(read, Skipped):
            warn(f"{display_path(item.path)}: skipped: {read.reason}")
            if read.error:
                failures.append(read)
            continue
        yield item, read
    if not found:
        warn("no Python or TypeScript files found")


def _stdin_source(
    args: argparse.Namespace, settings: Settings, failures: list[Skipped], raw: bytes
) -> Iterator[tuple[SourceFile, Read]]:
    """The one file read from stdin (`-`), named by --stdin-filename (Python when unnamed)."""
    import pathspec

    from .files import excluded_named

    name = args.stdin_filename
    path = Path(name) if name is not None else STDIN
    lang = language_for_path(path) if name is not None else "python"
    assert lang is not None  # checked by _path_problem
    langs = _languages(args)
    spec = pathspec.PathSpec.from_lines("gitwildmatch", settings.exclude)
    base = settings.source.parent if settings.source is not None else None
    if langs is not None and lang not in langs:
        return
    if name is not None and settings.exclude and excluded_named(path, spec, base):
        warn(f"{display_path(path)}: skipped: excluded (exclude setting or --exclude)")
        return
    try:
        data, encoding = to_internal(raw, lang)
    except SourceError as e:
        warn(f"{display_path(path)}: skipped: {e}")
        failures.append(Skipped(path, str(e), True))
        return
    yield SourceFile(path, lang), Read(data, raw, encoding)


def _slice(
    src: SourceFile,
    data: bytes,
    failures: list[Skipped],
    say: Callable[[str], None] = warn,
    memo: FileMemo | None = None,
) -> tuple[list[Slice], list[Diagnostic]] | None:
    """Slices of one file with its syntax warnings reported; None (and a failure) on a slicer bug.
    `memo`: slices kept across runs (typeinf.filecache), read back for a text sliced before."""
    rel = display_path(src.path)
    item = (data, src.language, rel)
    try:
        if memo is None:
            slices, diags = extract_with_diagnostics(*item)
        else:
            (slices, diags), *_ = memo.map(
                "extract", [item], pickled, lambda items: [extract_with_diagnostics(*it) for it in items]
            )
    except Exception as e:  # a slicer bug must not stop the other files
        say(f"{rel}: internal error while slicing ({type(e).__name__}: {e}); please report it")
        failures.append(Skipped(src.path, "internal error", True))
        return None
    for d in diags:
        say(f"{rel}:{d.line}: {d.message}")
    return slices, diags


def _file_memo(args: argparse.Namespace, settings: Settings) -> FileMemo | None:
    """Each file's slices and applied edits kept across runs, unless the cache is off."""
    cache_dir = _predictor_settings(args, settings).cache_dir
    return FileMemo.open(cache_dir) if cache_dir is not None else None


def cmd_slices(args: argparse.Namespace) -> int:
    settings = _settings(args)
    failures: list[Skipped] = []
    out = sys.stdout
    first = True
    if args.format == "json":
        out.write("[")
    for src, read in iter_sources(args, settings, failures):
        got = _slice(src, read.data, failures)
        if got is None:
            continue
        slices, _ = got
        for s in slices:
            text = json.dumps(s.to_dict(), ensure_ascii=False)
            if args.format == "json":
                out.write(("\n" if first else ",\n") + text)
            else:
                out.write(text + "\n")
            first = False
    if args.format == "json":
        out.write("\n]\n" if not first else "]\n")
    out.flush()
    return EXIT_FAILED if failures else EXIT_OK


def _predict_rest(
    engine: Any,
    groups: list[Any],
    annotated: dict[Path, bytes],
    top_k: int,
    resliced: dict[Path, list[Any]] | None = None,
    sliced: dict[Path, list[Any]] | None = None,
) -> list[list[Any]]:
    """Every site's prediction; in a file annotate's rounds changed, predicted on the changed text
    (the annotations written are evidence for the model and the checker: propagation), each
    prediction carried back to its site as read (by kind, qualified name, name and which of the
    sites of that name it is: a file may define `_` or an overloaded function many times; an
    annotation adds no site).  `resliced`: the slices of a changed text, where the rounds have
    them (not sliced again); `sliced`: every slice of each file as read, annotated or not."""
    from .inference.engine import FileSites
    from .inference.predict import Prediction
    from .slices import extract

    final = []
    every: dict[Path, list[Any]] = {}  # each changed text's slices, annotated or not
    for g in groups:
        new = annotated.get(g.path)
        if new is None:
            final.append(g)
            continue
        got = (resliced or {}).get(g.path)
        if got is None:
            got = extract(new, g.language, g.slices[0].file if g.slices else "")
        every[g.path] = got
        sites = [s for s in got if s.annotation is None]
        final.append(FileSites(g.path, g.language, sites, new.decode("utf-8", "replace")))
    out = []
    for g, f, preds in zip(groups, final, engine.predict_files(final, top_k=top_k), strict=True):
        if f is g:
            out.append(preds)
            continue
        by_site = _by_occurrence(preds, every[g.path], (sliced or {}).get(g.path) or list(g.slices))
        mine = []
        for s in g.slices:
            p = by_site.get(id(s))
            # a site annotate wrote is no longer a site of the changed text: its written prediction
            # replaces this one in the caller
            mine.append(replace(p, slice=s) if p is not None else Prediction(s, "", 0.0, "model"))
        out.append(mine)
    return out


def _by_occurrence(preds: list[Any], now: list[Any], before: list[Any]) -> dict[int, Any]:
    """The predictions of a changed text's sites by the id of the site as read (`before`, every
    slice of the text as read) they are: the n-th site of a (kind, qualified name, name) in the
    text as read is the n-th in the changed text (`now`, every slice of it, annotated or not;
    typeinf.annotate.run's occurrences), where both have as many; else the last prediction of
    that key stands for each."""
    from .annotate.run import occurrences

    def key(s: Any) -> tuple[str, str, str]:
        return (s.kind, s.qualname, s.name)

    counts_now, counts_before = Counter(key(s) for s in now), Counter(key(s) for s in before)
    nth_now = {id(s): n for s, n in zip(now, occurrences(now), strict=True)}
    by_key = {key(p.slice): p for p in preds}
    by_nth = {(key(p.slice), nth_now.get(id(p.slice))): p for p in preds}
    out: dict[int, Any] = {}
    for s, n in zip(before, occurrences(before), strict=True):
        p = by_nth.get((key(s), n)) if counts_now[key(s)] == counts_before[key(s)] else None
        out[id(s)] = p if p is not None else by_key.get(key(s))
    return out


def cmd_predict(args: argparse.Namespace) -> int:
    """Every unannotated site's prediction; where `annotate` would write one (its rounds run here,
    nothing is written), the prediction it writes, marked.  A run on an unchanged project is read
    from the kept runs (typeinf.runcache)."""
    from .annotate.dts import typescript_from_env
    from .inference.project import find_root

    settings = _settings(args)
    root = args.project if args.project is not None else find_root(_first_path(args))
    if args.project is not None and not root.is_dir():
        warn(f"--project {root}: not a directory")
        return EXIT_USAGE
    failures: list[Skipped] = []
    sources = list(iter_sources(args, settings, failures))
    typescript = typescript_from_env()
    kept = _kept_runs(args, settings, "predict", root, sources, typescript)
    got = kept[0].get(kept[1]) if kept is not None else None
    if got is None:
        predictor = _load_predictor(args, settings)
        if predictor is None:
            return EXIT_USAGE
        said: list[str] = []
        with _recording(said) as say:
            results, failed = _predict_run(args, settings, predictor, root, sources, typescript, say)
        shown = _shown(results, args.format, args.top_k)
        if kept is not None:  # what is printed is kept: a kept run prints it as it is
            kept[0].put(kept[1], (shown, failed, said))
    else:
        shown, failed, said = got  # type: ignore[misc]
        for line in said:
            print(line, file=sys.stderr)
    failures += failed
    sys.stdout.write(shown)
    return EXIT_FAILED if failures else EXIT_OK


def _shown(results: list[tuple[Any, bool]], format: str, top_k: int) -> str:
    """What `predict` prints of its results."""
    if format == "json":
        rows = [{**p.to_dict(top_k), "annotate": marked} for p, marked in results]
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    lines = []
    for p, marked in results:
        s = p.slice
        sep = "->" if s.kind == "return" else ":"
        others = ", ".join(f"{t} {c:.2f}" for t, c in p.alternatives[1:top_k] if t != p.type)
        lines.append(
            f"{s.file}:{s.line}:{s.column}: {s.kind} {s.name} {sep} {p.type}  ({p.confidence:.2f}, {p.source})"
            + ("  [annotate]" if marked else "")
            # the first figure is the calibrated confidence; the alternatives' are the model's scores
            + (f"  | model: {others}" if others else "")
            + "\n"
        )
    return "".join(lines)


def _predict_run(
    args: argparse.Namespace,
    settings: Settings,
    predictor: Any,
    root: Path,
    sources: list[tuple[SourceFile, Read]],
    typescript: Path | None,
    say: Callable[[str], None],
) -> tuple[list[tuple[Any, bool]], list[Skipped]]:
    """(prediction, whether annotate writes it) of every site shown, and the files not processed."""
    from .annotate.run import annotate_files, project_relative
    from .inference.engine import FileSites
    from .inference.predict import Prediction
    from .inference.project import ProjectIndex

    cache_dir = _predictor_settings(args, settings).cache_dir
    index = ProjectIndex.build(root, settings.max_bytes, imports=cache_dir is not None)
    failures: list[Skipped] = []
    groups = []  # every file's unannotated sites, for one batched model pass over all of them
    readable = []
    sliced = {}  # annotate's first round reads these instead of slicing again
    memo = _file_memo(args, settings)
    for src, read in sources:
        got = _slice(src, read.data, failures, say, memo)
        if got is None:
            continue
        todo = [s for s in got[0] if s.annotation is None]
        groups.append(FileSites(src.path, src.language, todo, read.data.decode("utf-8", "replace")))
        if not got[1]:  # annotate writes only files that parse
            readable.append((src, read.data, display_path(src.path), project_relative(src.path, root)))
            sliced[src.path] = got[0]
    options = _annotate_options(settings, predictor)
    written: dict[tuple[str, int, int, str], Prediction] = {}
    with _engine(predictor, index, settings, typescript, cache_dir) as engine:
        annotated = {}  # what annotate's rounds wrote, in memory: evidence for the remaining sites
        resliced = {}  # the slices of those texts, where a round sliced them already
        for r in annotate_files(readable, engine, options, sliced=sliced, memo=memo) if readable else []:
            if r.error is None:
                for p in (e.prediction for e in r.applied if e.prediction is not None):
                    written[(p.slice.file, p.slice.line, p.slice.column, p.slice.kind)] = p
                if r.new is not None:
                    annotated[r.source.path] = r.new
                    if r.sliced is not None and r.sliced[0] == r.new:  # (its last round sliced it)
                        resliced[r.source.path] = r.sliced[1]
        every = _predict_rest(engine, groups, annotated, args.top_k, resliced, sliced)
    if memo is not None:
        memo.close()
    results: list[tuple[Prediction, bool]] = []
    for preds in every:
        for p in preds:
            w = written.get(p.slice.key)
            if w is not None:
                p = replace(w, slice=p.slice, alternatives=w.alternatives[: args.top_k])
            if p.confidence >= args.min_confidence and p.type:
                results.append((p, w is not None))
    return results, failures


# flags that do not change what a kept run holds (predict keeps what it prints, so its --format
# counts; annotate keeps the planned files, which --format, --check and --diff only show)
_NOT_RESULTS = {
    "predict": frozenset({"func", "threads", "no_cache"}),
    "annotate": frozenset({"func", "threads", "no_cache", "format", "check", "diff"}),
}


def _kept_runs(
    args: argparse.Namespace,
    settings: Settings,
    command: str,
    root: Path,
    sources: list[tuple[SourceFile, Read]],
    typescript: Path | None,
) -> tuple[Any, str] | None:  # (RunCache, key)
    """Where this run is kept (typeinf.runcache), unless the cache is off or cannot be used."""
    from .annotate.dts import NoCompiler, find_typescript
    from .runcache import RunCache, RunInputs, run_key

    ps = _predictor_settings(args, settings)
    if ps.cache_dir is None:
        return None
    options = {k: v for k, v in vars(args).items() if k not in _NOT_RESULTS[command]}
    options.update(cwd=os.getcwd(), settings=settings)
    if any(src.language != "python" for src, _ in sources):
        try:
            typescript = find_typescript(root, typescript)
        except NoCompiler:
            typescript = None
    try:
        model_files = [p for p in Path(ps.model_dir).iterdir() if p.is_file()]
        key = run_key(
            RunInputs(
                command,
                options,
                root,
                [(src.path, read.data) for src, read in sources],
                model_files,
                settings.max_bytes,
                os.environ,
                typescript,
            )
        )
    except OSError:
        return None
    runs = RunCache.open(ps.cache_dir)
    return None if runs is None else (runs, key)


@contextmanager
def _recording(said: list[str]) -> Iterator[Callable[[str], None]]:
    """A warn() that also keeps each line it prints in `said`, and the library's logged warnings
    printed and kept likewise: a kept run shows them again."""
    import logging

    def say(message: str) -> None:
        line = f"typeinf: {message}"
        said.append(line)
        print(line, file=sys.stderr)

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            line = record.getMessage()
            said.append(line)
            print(line, file=sys.stderr)

    logger = logging.getLogger("typeinf")
    handler = Kept(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield say
    finally:
        logger.removeHandler(handler)


def _annotate_options(
    settings: Settings,
    predictor: Any,
    *,
    threshold: float | None = None,
    kinds: list[str] | None = None,
    aggressive: bool | None = None,
    inferrable_types: bool | None = None,
    stubs: bool = False,
) -> Any:
    """What `annotate` writes with these flags (None: not given) and settings: threshold (the model's
    own per language unless --min-confidence or [tool.typeinf] min-confidence set one), kinds,
    aggressive, target."""
    from .annotate import Options

    if threshold is None:
        threshold = settings.min_confidence
    by_language = predictor.thresholds if threshold is None else {}  # the model's own, per language
    if threshold is None:
        threshold = predictor.default_threshold
    aggressive = bool(aggressive if aggressive is not None else settings.aggressive)
    if stubs:
        aggressive = True  # a stub changes nothing at run time
    return Options(
        threshold,
        frozenset(kinds or settings.kinds),
        aggressive,
        inferrable_types if inferrable_types is not None else settings.inferrable_types,
        settings.python_target(),
        by_language,
    )


def _predictor_settings(args: argparse.Namespace, project: Settings):  # noqa: ANN202 - PredictorSettings
    """The environment (read once, here at the edge) with the flags and the project's settings."""
    from .inference.predict import PredictorSettings

    settings = PredictorSettings.from_env()
    configured = project.cache_dir
    if args.no_cache:
        settings = replace(settings, cache_dir=None)
    elif configured is not None and settings.cache_dir is not None and "TYPEINF_CACHE_DIR" not in os.environ:
        settings = replace(settings, cache_dir=configured)
    return settings


def _load_predictor(args: argparse.Namespace, project: Settings):  # noqa: ANN202 - Predictor | None
    from .inference.predict import ModelMissing, Predictor

    try:
        return Predictor(threads=args.threads, settings=_predictor_settings(args, project))
    except (ModelMissing, ValueError) as e:
        warn(f"cannot load the model: {e}")
        return None


def _first_path(args: argparse.Namespace) -> Path:
    """Where the project root is looked for: the first PATH (stdin: its --stdin-filename, or here)."""
    if args.paths == [STDIN]:
        return Path(args.stdin_filename) if args.stdin_filename is not None else Path.cwd()
    return Path(args.paths[0])


def _annotate_usage_problem(args: argparse.Namespace) -> str | None:
    if args.diff and args.format == "json":
        return "--format json cannot be combined with --diff (the diff is the output)"
    if args.paths == [STDIN]:
        if args.stubs is not None or args.verify:
            return "--stubs and --verify need files on disk, not - (stdin)"
        if args.format == "json" and not args.check:
            return "with - (stdin) the annotated file is the output: --format json only with --check"
    return None


def cmd_annotate(args: argparse.Namespace) -> int:
    """The flags parsed once into a Request; the files read; the pipeline does the rest."""
    from .annotate.dts import typescript_from_env
    from .annotate.pipeline import Request, finish, plan_files
    from .annotate.report import Report, WriteBack
    from .inference.project import ProjectIndex, find_root

    problem = _annotate_usage_problem(args)
    if problem is not None:
        warn(problem)
        return EXIT_USAGE
    settings = _settings(args)
    predictor = _load_predictor(args, settings)
    if predictor is None:
        return EXIT_USAGE
    write_back = WriteBack.from_flags(check=args.check, diff=args.diff, stubs=args.stubs is not None)
    options = _annotate_options(
        settings,
        predictor,
        threshold=args.threshold,
        kinds=args.kinds,
        aggressive=args.aggressive,
        inferrable_types=args.inferrable_types,
        stubs=write_back is WriteBack.STUBS,
    )
    if options.aggressive and write_back is not WriteBack.STUBS:
        warn(
            "--aggressive: annotations read at run time (dataclass fields, routes, commands) are written too"
        )
    request = Request(
        options,
        args.project if args.project is not None else find_root(_first_path(args)),
        write_back,
        args.stubs,
        args.verify,
        args.format == "json",
        args.paths == [STDIN],
        typescript_from_env(),  # the environment, read once, here at the edge
        _predictor_settings(args, settings).cache_dir,
    )
    report = Report(write_back, request.verify)
    # with - (stdin) in place the output is the file: as read unless annotations are written
    stdin = sys.stdin.buffer.read() if request.stdin else None
    sources = list(iter_sources(args, settings, report.failures, stdin))
    # a run on an unchanged project is read from the kept runs (not with stdin, nor --verify,
    # whose verdict is the checker's of the moment)
    kept = (
        None
        if request.stdin or request.verify
        else _kept_runs(args, settings, "annotate", request.root, sources, request.typescript)
    )
    got = kept[0].get(kept[1]) if kept is not None else None
    if got is None:
        said: list[str] = []
        with _recording(said) as say:
            index = ProjectIndex.build(
                request.root, settings.max_bytes, imports=request.cache_dir is not None
            )
            with _engine(predictor, index, settings, request.typescript, request.cache_dir) as engine:
                results = plan_files(sources, engine, request, say)
        if kept is not None:
            kept[0].put(kept[1], (results, said))
    else:
        results, said = got  # type: ignore[misc]
        for line in said:
            print(line, file=sys.stderr)
    return finish(sources, results, request, report, warn, stdin).return_code


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from .lsp.server import main as lsp_main
    except ImportError as e:
        warn(f"the language server needs pygls: {e}")
        return EXIT_USAGE
    return lsp_main(["--tcp", args.tcp] if args.tcp else [])


def main(argv: Sequence[str] | None = None) -> int:
    limit_arenas()  # (before any thread starts)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the subcommand's usage, not the top-level one (argparse reports them at the top)
        SUBPARSERS[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if hasattr(args, "paths"):
        problem = _path_problem(args)
        if problem is not None:
            warn(problem)
            return EXIT_USAGE
    try:
        return int(args.func(args))
    except ConfigError as e:
        warn(f"configuration error: {e}")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        warn("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
