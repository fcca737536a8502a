"""From predictions to edits to files: what `typeinf annotate` writes, and how safely.

    plan(predictions, options, language) -> Planned          which predictions become edits (each
                                                              Edit carries its Prediction)
    apply(data, language, edits, ...) -> bytes, applied       the new file content (pure)
    write_atomic(path, data, expected)                        temp file + rename, never clobbering

Over many files, `typeinf.annotate.pipeline` runs the stages (plan and apply in rounds, the
compiler's syntax check, verify, write back) and returns a `Report`.

Only predictions at or above the confidence threshold, of the requested kinds, for sites that
have no annotation and can take one inline, are written; every name a type uses must be
builtin, already in scope, importable from `typing`, or a project type (imported for type
checking only).  The result must parse, or nothing is written.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..inference.predict import Prediction
from ..lang import (
    DEFAULT_PYTHON_TARGET,
    KINDS,
    lang_family,
    standard_import,
)
from ..slices.data import Slice
from ..slices.source import parse
from ..types import names_in
from .edits import Edit, NotParsable
from .typescript import annotate_typescript


@dataclass
class Options:
    min_confidence: float
    kinds: frozenset[str] = frozenset(KINDS)
    aggressive: bool = False
    # TypeScript: also variables and parameters whose type the compiler infers from a literal
    # initializer or default, or a variable bound to a function (@typescript-eslint/no-inferrable-types)
    inferrable_types: bool = False
    python_target: tuple[int, int] = DEFAULT_PYTHON_TARGET
    by_language: Mapping[str, float] = field(
        default_factory=dict
    )  # the model's own, when no threshold is set

    def threshold(self, language: str) -> float:
        return self.by_language.get(lang_family(language), self.min_confidence)


@dataclass
class Planned:
    edits: list[Edit] = field(default_factory=list)  # each with the prediction it writes
    unimportable: int = 0


def _imports_for(
    p: Prediction, language: str
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] | None:
    """(run-time imports, type-checking imports) a predicted type needs; None if a name cannot
    be imported safely."""
    fam = lang_family(language)
    scope = {e.name for e in p.slice.scope}
    runtime: list[tuple[str, str]] = []
    type_only: list[tuple[str, str]] = []
    for name in names_in(p.type, fam):
        root = name.split(".")[0]
        if name in scope or root in scope:
            continue
        standard = standard_import(name, fam)
        if standard is not None:
            if standard[0]:
                runtime.append(standard)
            continue
        if p.module is not None:  # a project type: the only name not visible in the file
            type_only.append((p.module, name))
            continue
        return None
    return tuple(runtime), tuple(type_only)


def inferrable(s: Slice) -> bool:
    """A TypeScript site whose type the compiler infers from the code: a variable or parameter
    with a literal initializer or default (`let i = 0`, `b = false`), a variable bound to a
    function (its parameters and return carry the types)."""
    if s.kind == "param":
        return s.evidence.default is not None and s.evidence.default.category == "literal"
    d = s.evidence.definition
    return s.kind == "var" and d is not None and d.category in ("literal", "lambda")


def plan(predictions: list[Prediction], options: Options, language: str) -> Planned:
    out = Planned()
    for p in predictions:
        s = p.slice
        if (
            s.annotation is not None
            or not s.annotatable
            or s.kind not in options.kinds
            or p.confidence < options.threshold(language)
            or not p.type
            or p.source == "rejected"  # the checker judged it wrong (typeinf.annotate.judge)
        ):
            continue
        if language != "python" and not options.inferrable_types and inferrable(s):
            continue
        imports = _imports_for(p, language)
        if imports is None:
            out.unimportable += 1
            continue
        out.edits.append(Edit(s.kind, s.span[0], p.type, imports[0], imports[1], prediction=p))
    return out


def parses(data: bytes, language: str) -> bool:
    return not parse(data, language).root_node.has_error


def apply(
    data: bytes, language: str, edits: list[Edit], options: Options, rel_path: str
) -> tuple[bytes, list[Edit], list[Edit]]:
    """New content, edits applied, edits skipped because annotations are read at run time.
    `rel_path`: the file's path relative to the project root (TypeScript imports project types
    relative to it), required: a default would write imports relative to nothing."""
    if not edits:
        return data, [], []
    if language == "python":
        from .check import python_problem
        from .python import annotate_python  # libcst: imported on first use

        old = data.decode("utf-8")
        text, applied, runtime = annotate_python(old, edits, options.python_target, options.aggressive)
        new = text.encode("utf-8")
        problem = python_problem(old, text) if applied else None
        if problem is not None:
            raise NotParsable(problem)
    else:
        new, applied = annotate_typescript(data, language, edits, rel_path)
        runtime = []
    if applied and not parses(new, language):
        raise NotParsable("the annotated file would not parse; nothing written")
    return new, applied, runtime


def write_atomic(path: Path, data: bytes, expected: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory and a rename.

    A symlink is written through to its target; the permissions are kept; a file whose content
    is no longer `expected` (changed on disk since it was read), or that its owner may not write
    (mode bits: the rename would replace it for root, or anyone owning the directory), is left
    alone (RuntimeError)."""
    target = path.resolve()
    current = target.read_bytes()
    if current != expected:
        raise RuntimeError("changed on disk since it was read; not overwritten")
    mode = stat.S_IMODE(target.stat().st_mode)
    if not mode & stat.S_IWUSR:
        raise RuntimeError("read-only file (no write permission for its owner); not modified")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".typeinf", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if target.read_bytes() != expected:
            raise RuntimeError("changed on disk while annotating; not overwritten")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
