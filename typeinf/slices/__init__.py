"""Usage slices: everything the code says about each parameter, return and variable.

    extract(source, language, path=...) -> list[Slice]        pure, no I/O
    extract_with_diagnostics(...) -> (list[Slice], list[Diagnostic])
    language_for_path(path) -> "python" | "typescript" | "tsx" | None

The JSON format is specified by the schema in the repository's `slices/` folder.
"""

from __future__ import annotations

from pathlib import PurePath

from ..lang import KINDS, LANGUAGES
from .data import SCHEMA_VERSION, Evidence, Expr, ScopeName, Slice, slice_from_dict
from .source import Diagnostic, SourceError, decode

__all__ = [
    "KINDS",
    "LANGUAGES",
    "SCHEMA_VERSION",
    "Diagnostic",
    "Evidence",
    "Expr",
    "ScopeName",
    "Slice",
    "SourceError",
    "extract",
    "extract_with_diagnostics",
    "language_for_path",
    "slice_from_dict",
]

_SUFFIXES = {
    ".py": "python",
    ".pyi": None,
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
}


def language_for_path(path: str | PurePath) -> str | None:
    """The slicing language of a file name; None for files typeinf does not slice (.d.ts, .js)."""
    name = PurePath(path).name
    if name.endswith((".d.ts", ".d.mts", ".d.cts")) or ".d." in name and name.endswith(".ts"):
        return None
    return _SUFFIXES.get(PurePath(name).suffix)


def extract_with_diagnostics(
    source: str | bytes, language: str, path: str = "<string>"
) -> tuple[list[Slice], list[Diagnostic]]:
    """Slices of one source text plus syntax diagnostics (slices are still recovered).

    `source` may be text or UTF-8 bytes; bytes that are not UTF-8 raise SourceError."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    if isinstance(source, str):
        data = source.encode("utf-8", "surrogatepass")
    else:
        decode(source)  # validates
        data = source[3:] if source.startswith(b"\xef\xbb\xbf") else source
    try:
        if language == "python":
            from .python import extract_python

            return extract_python(data, path)
        from .typescript import extract_typescript

        return extract_typescript(data, language, path)
    except RecursionError:  # the slicers walk with explicit stacks; this is a last resort
        return [], [Diagnostic(1, TOO_DEEP)]


TOO_DEEP = "nesting too deep to slice; no slices for this file"


def extract(source: str | bytes, language: str, path: str = "<string>") -> list[Slice]:
    """Slices of one source text, ordered by position."""
    return extract_with_diagnostics(source, language, path)[0]
