"""The `typeinf` command line: subcommands share file discovery, settings and exit codes.

Exit codes (every command): 0 success (warnings on stderr), 1 `--check` found something to
change, 2 usage or configuration error, 123 some files could not be processed (the rest were).
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import ConfigError, Settings, load_settings
from .files import Skipped, SourceFile, display_path, read_source, walk
from .slices import Diagnostic, Slice, extract_with_diagnostics

EXIT_OK, EXIT_CHANGES, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 123


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
    bad = [k for k in kinds if k not in ("param", "return", "var")]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(f"kinds must be among param, return, var (got {text!r})")
    return kinds


def _add_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or directories")
    p.add_argument("--lang", choices=["python", "typescript"],
                   help="only this language (typescript includes .tsx)")  # fmt: skip
    p.add_argument("--max-bytes", type=_positive_int, default=None,
                   help="skip files larger than this (default 1000000, or [tool.typeinf] max-bytes)")  # fmt: skip
    p.add_argument("--exclude", action="append", default=None, metavar="GLOB",
                   help="gitignore-style pattern to skip (repeatable; adds to [tool.typeinf] exclude)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="typeinf", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--version", action="version", version=f"typeinf {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("slices", help="print the usage slice of every parameter, return and variable")
    _add_file_options(p)
    p.add_argument("--format", choices=["json", "jsonl"], default="json",
                   help="json: one array; jsonl: one slice per line")  # fmt: skip
    p.set_defaults(func=cmd_slices)

    p = sub.add_parser("predict", help="predict the type of every unannotated parameter, return and variable")
    _add_file_options(p)
    p.add_argument("--format", choices=["json", "text"], default="text")
    p.add_argument("--min-confidence", type=_probability, default=0.0, metavar="X",
                   help="only predictions at least this confident (default: all)")  # fmt: skip
    p.add_argument("--top-k", type=_positive_int, default=5, metavar="K", help="alternatives to list (default 5)")
    p.add_argument("--project", type=Path, default=None, metavar="DIR",
                   help="project root whose types can be predicted (default: nearest pyproject.toml, "
                        "package.json or .git)")  # fmt: skip
    p.add_argument("--threads", type=_positive_int, default=None, help="model threads (default 2)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("annotate", help="write predicted annotations into the files (in place by default)")
    _add_file_options(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff, write nothing")
    mode.add_argument("--check", action="store_true", help="write nothing; exit 1 if something would be annotated")
    p.add_argument("--min-confidence", type=_probability, default=None, metavar="X",
                   help="write only predictions at least this confident (default: the model's threshold "
                        "for >= 95%% precision)")  # fmt: skip
    p.add_argument("--kinds", type=_kinds, default=None, metavar="KINDS",
                   help="comma-separated site kinds to annotate: param,return,var (default all)")  # fmt: skip
    p.add_argument("--aggressive", action="store_true", default=None,
                   help="also annotate sites whose annotations are read at run time (dataclass fields, "
                        "web routes, CLI commands, validators)")  # fmt: skip
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: print what was (or would be) inserted")  # fmt: skip
    mode.add_argument("--stubs", type=Path, default=None, metavar="DIR",
                      help="write stubs with the predicted annotations into DIR instead of editing sources: .pyi for "
                           "Python, .d.ts for TypeScript (emitted by the TypeScript compiler)")  # fmt: skip
    p.add_argument("--verify", action="store_true",
                   help="run the type checker (pyright or mypy; tsc) and drop annotations it rejects")  # fmt: skip
    p.add_argument("--project", type=Path, default=None, metavar="DIR")
    p.add_argument("--threads", type=_positive_int, default=None)
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("lsp", help="run the language server (stdio; --tcp HOST:PORT for debugging)")
    p.add_argument("--tcp", metavar="HOST:PORT", default=None)
    p.set_defaults(func=cmd_lsp)
    return ap


def _settings(args: argparse.Namespace) -> Settings:
    base = load_settings(Path.cwd(), warn=warn)
    exclude = base.exclude + (args.exclude or [])
    return base.merged(max_bytes=args.max_bytes, exclude=exclude)


def _languages(args: argparse.Namespace) -> set[str] | None:
    if args.lang is None:
        return None
    return {"python"} if args.lang == "python" else {"typescript", "tsx"}


def iter_sources(args: argparse.Namespace, settings: Settings, failures: list[Skipped]):
    """(SourceFile, bytes) for each readable source; skips are reported on stderr."""
    for item in walk(args.paths, _languages(args), settings.exclude):
        if isinstance(item, Skipped):
            warn(f"{display_path(item.path)}: skipped: {item.reason}")
            if item.error:
                failures.append(item)
            continue
        data = read_source(item.path, settings.max_bytes)
        if isinstance(data, Skipped):
            warn(f"{display_path(item.path)}: skipped: {data.reason}")
            if data.error:
                failures.append(data)
            continue
        yield item, data


def _slice(src: SourceFile, data: bytes, failures: list[Skipped]) -> tuple[list[Slice], list[Diagnostic]] | None:
    """Slices of one file with its syntax warnings reported; None (and a failure) on a slicer bug."""
    rel = display_path(src.path)
    try:
        slices, diags = extract_with_diagnostics(data, src.language, rel)
    except Exception as e:  # a slicer bug must not stop the other files
        warn(f"{rel}: internal error while slicing ({type(e).__name__}: {e}); please report it")
        failures.append(Skipped(src.path, "internal error", True))
        return None
    for d in diags:
        warn(f"{rel}:{d.line}: {d.message}")
    return slices, diags


def cmd_slices(args: argparse.Namespace) -> int:
    settings = _settings(args)
    failures: list[Skipped] = []
    out = sys.stdout
    first = True
    if args.format == "json":
        out.write("[")
    for src, data in iter_sources(args, settings, failures):
        got = _slice(src, data, failures)
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


def cmd_predict(args: argparse.Namespace) -> int:
    from .predict import Prediction
    from .project import ProjectIndex, find_root

    settings = _settings(args)
    predictor = _load_predictor(args)
    if predictor is None:
        return EXIT_USAGE
    root = args.project if args.project is not None else find_root(args.paths[0])
    if args.project is not None and not root.is_dir():
        warn(f"--project {root}: not a directory")
        return EXIT_USAGE
    index = ProjectIndex.build(root, settings.max_bytes)
    failures: list[Skipped] = []
    groups = []  # every file's unannotated sites, for one batched model pass over all of them
    for src, data in iter_sources(args, settings, failures):
        got = _slice(src, data, failures)
        if got is None:
            continue
        todo = [s for s in got[0] if s.annotation is None]
        groups.append((todo, index.types_for(src.path, src.language)))
    results: list[Prediction] = [
        p for preds in predictor.predict_groups(groups, top_k=args.top_k) for p in preds
        if p.confidence >= args.min_confidence and p.type
    ]  # fmt: skip
    if args.format == "json":
        json.dump([p.to_dict(args.top_k) for p in results], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for p in results:
            s = p.slice
            sep = "->" if s.kind == "return" else ":"
            print(f"{s.file}:{s.line}:{s.column}: {s.kind} {s.name} {sep} {p.type}  "
                  f"({p.confidence:.2f}, {p.source})")  # fmt: skip
    return EXIT_FAILED if failures else EXIT_OK


def _load_predictor(args: argparse.Namespace):  # noqa: ANN202 - Predictor | None
    from .predict import ModelMissing, Predictor

    try:
        return Predictor(threads=args.threads)
    except (ModelMissing, ValueError) as e:
        warn(f"cannot load the model: {e}")
        return None


def _thresholds_text(options: Any, families: list[str]) -> str:
    """`0.88`, or `python 0.88, typescript 0.71` when the model's per-language thresholds differ."""
    values = {fam: options.threshold(fam) for fam in families}
    if len(set(values.values())) <= 1:
        return f"{next(iter(values.values()), options.min_confidence):.2f}"
    return ", ".join(f"{fam} {v:.2f}" for fam, v in values.items())


def _annotated(data: bytes, language: str, options: Any, rel: str, edits: list[Any]) -> bytes:
    from .annotate import apply

    return apply(data, language, edits, options, rel)[0]


def cmd_annotate(args: argparse.Namespace) -> int:
    from collections import Counter

    from .annotate import Options, apply
    from .annotate.run import MAX_ROUNDS, annotate_files, project_relative
    from .annotate.verify import NoChecker, verify
    from .features import lang_family
    from .project import ProjectIndex, find_root

    settings = _settings(args)
    predictor = _load_predictor(args)
    if predictor is None:
        return EXIT_USAGE
    threshold = args.min_confidence if args.min_confidence is not None else settings.min_confidence
    by_language = predictor.thresholds if threshold is None else {}  # the model's own, per language
    if threshold is None:
        threshold = predictor.default_threshold
    aggressive = bool(args.aggressive if args.aggressive is not None else settings.aggressive)
    if args.stubs is not None:
        aggressive = True  # a stub changes nothing at run time
    elif aggressive:
        warn("--aggressive: annotations read at run time (dataclass fields, routes, commands) are written too")
    options = Options(threshold, frozenset(args.kinds or settings.kinds), aggressive, settings.python_target(),
                      by_language)  # fmt: skip
    root = args.project if args.project is not None else find_root(args.paths[0])
    index = ProjectIndex.build(root, settings.max_bytes)
    failures: list[Skipped] = []
    sources = [(src, data, display_path(src.path), project_relative(src.path, root))
               for src, data in iter_sources(args, settings, failures)]  # fmt: skip
    # --verify re-applies a subset of the edits to the original text: one round only
    results = annotate_files(sources, predictor, index, options, rounds=1 if args.verify else MAX_ROUNDS)
    changed_files, rejected, runtime_skipped, unimportable, stubbed = 0, 0, 0, 0, 0
    ts_stubs: dict[Path, tuple[str, bytes]] = {}
    added: Counter[str] = Counter()
    report = []
    for r in results:
        if r.error is not None:
            warn(r.error if r.error.startswith(r.rel) else f"{r.rel}: {r.error}")
            failures.append(Skipped(r.source.path, r.error, True))
            continue
        runtime_skipped += len(r.runtime)
        unimportable += r.planned.unimportable if r.planned is not None else 0
        new, applied = r.new, r.applied
        if args.verify and applied and new is not None:
            try:
                kept, dropped = verify(r.source.path, r.source.language, r.data, applied,
                                       functools.partial(_annotated, r.data, r.source.language, options, r.proj_rel),
                                       root)  # fmt: skip
            except NoChecker as e:
                warn(str(e))
                return EXIT_USAGE
            rejected += len(dropped)
            if dropped:
                new, applied, _ = apply(r.data, r.source.language, kept, options, r.proj_rel)
        unchanged = not applied or new is None or new == r.data
        if args.stubs is not None:  # every file gets a stub: a checker reading the set finds every module
            content = r.data if unchanged or new is None else new
            if r.source.language != "python":
                ts_stubs[r.source.path] = (r.rel, content)  # declarations are emitted for all of them at once
            elif _emit(args, r.rel, r.proj_rel, r.source, r.data, content, failures):
                stubbed += 1
        if unchanged or new is None:
            continue
        changed_files += 1
        reported = {(e.kind, e.start, e.type): p for e, p in zip(r.applied, r.reported, strict=True)}
        for edit in applied:
            added[edit.kind] += 1
            report.append(reported[(edit.kind, edit.start, edit.type)].to_dict())
        if args.stubs is None and not _emit(args, r.rel, r.proj_rel, r.source, r.data, new, failures):
            changed_files -= 1
    if ts_stubs:
        before = len(failures)
        status = _emit_declarations(args.stubs, root, ts_stubs, failures)
        if status is not None:
            return status
        stubbed += len(ts_stubs) - (len(failures) - before)
    if args.format == "json":
        json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    langs_seen = sorted({lang_family(src.language) for src, _, _, _ in sources})
    verb = "would be annotated" if (args.check or args.diff) else "stubbed" if args.stubs else "annotated"
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(added.items())) or "nothing"
    warn(f"{changed_files} file(s) {verb}: {kinds} (threshold {_thresholds_text(options, langs_seen)}); "
         f"{runtime_skipped} skipped as read at run time, {unimportable} needing an unknown import, "
         + (f"{rejected} rejected by the type checker, " if args.verify else "")
         + (f"{stubbed} stub file(s) written, " if args.stubs is not None else "") +
         f"{len(failures)} file(s) not processed")  # fmt: skip
    if failures:
        return EXIT_FAILED
    return EXIT_CHANGES if args.check and changed_files else EXIT_OK


def _emit(args: argparse.Namespace, rel: str, proj_rel: str, src: SourceFile, old: bytes, new: bytes,
          failures: list[Skipped]) -> bool:  # fmt: skip
    """Write, stub, diff or only count one annotated file; False if it could not be written."""
    import difflib

    from .annotate import write_atomic

    if args.stubs is not None:
        from .annotate.stubs import python_stub

        target = args.stubs / Path(proj_rel).with_suffix(".pyi")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(python_stub(new.decode("utf-8")), encoding="utf-8")
    elif args.diff:
        sys.stdout.writelines(difflib.unified_diff(
            old.decode("utf-8").splitlines(keepends=True), new.decode("utf-8").splitlines(keepends=True),
            fromfile=f"a/{rel}", tofile=f"b/{rel}"))  # fmt: skip
    elif not args.check:
        try:
            write_atomic(src.path, new, old)
        except (OSError, RuntimeError) as e:
            warn(f"{rel}: not written: {e}")
            failures.append(Skipped(src.path, str(e), True))
            return False
    return True


def _emit_declarations(out_dir: Path, root: Path, sources: dict[Path, tuple[str, bytes]],
                       failures: list[Skipped]) -> int | None:  # fmt: skip
    """`.d.ts` stubs of the annotated TypeScript files, by the TypeScript compiler; an exit code
    when it cannot run at all."""
    from .annotate.dts import NoCompiler, declarations

    try:
        emitted, errors = declarations(root, {p: data for p, (_rel, data) in sources.items()})
    except NoCompiler as e:
        warn(str(e))
        return EXIT_USAGE
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        warn(f"declarations not written: {e}")
        failures.extend(Skipped(p, str(e), True) for p in sources)
        return None
    for msg in errors[:10]:
        warn(f"tsc: {msg}")
    base = root.resolve()
    for path, (rel, _data) in sources.items():
        stem = path.resolve().with_suffix("")
        dts = next((p for p in emitted if p.with_suffix("").with_suffix("") == stem), None)
        if dts is None:
            warn(f"{rel}: the compiler emitted no declarations")
            failures.append(Skipped(path, "no declarations emitted", True))
            continue
        target = out_dir / dts.relative_to(base) if dts.is_relative_to(base) else out_dir / dts.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(emitted[dts], encoding="utf-8")
    return None


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from .lsp.server import main as lsp_main
    except ImportError as e:
        warn(f"the language server needs pygls: {e}")
        return EXIT_USAGE
    return lsp_main(["--tcp", args.tcp] if args.tcp else [])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
