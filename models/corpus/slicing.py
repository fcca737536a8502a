"""A package's files sliced as the runtime slices a project: each file's slices, with the evidence
the rest of the package's calls give (typeinf.inference.calls.across: the arguments its
parameters receive, the parameters its values are passed to, what callers do with its results).
Shared by the declared build (build.py) and the compiler-inferred labels (infer.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from typeinf.inference.calls import CallTable, across, scan_calls
from typeinf.slices import extract_with_diagnostics
from typeinf.slices.data import Slice
from typeinf.slices.source import parse

from .archive import SourceFile


def language_of(f: SourceFile, lang: str) -> str:
    """The slicer's language of a corpus file (`lang`: the archive's, python or ts)."""
    return "python" if lang == "python" else ("tsx" if f.is_tsx else "typescript")


def package_slices(
    files: Sequence[SourceFile], lang: str
) -> Iterator[tuple[SourceFile, list[Slice] | Exception]]:
    """Each source file (declaration files left out) with its slices, or the error that stopped
    its slicing (one bad file never stops a package)."""
    sources = [f for f in files if not f.dts]
    scans = []
    for f in sources:
        try:
            language = language_of(f, lang)
            scans.append(
                (Path(f.path), scan_calls(parse(f.data, language, keep=False).root_node, language, f.data))
            )
        except Exception:  # noqa: BLE001, S112 - its slicing reports the error below
            continue
    table = CallTable.build(scans)
    for f in sources:
        try:
            slices, _ = extract_with_diagnostics(f.data, language_of(f, lang), f.path)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            yield f, e
            continue
        yield f, across(slices, table, Path(f.path))
