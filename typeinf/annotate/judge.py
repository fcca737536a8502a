"""The type checker as judge of what annotate is about to write (issue #20, item 4).

    kept, rejected = judge(checker, path, old_text, new_text, edits, reapply)

Before a round's edits are accepted, the file's annotated text is given to the engine's long-lived
checker in memory (pyrefly for Python, the TypeScript compiler's LanguageService; nothing is written
to disk) and its diagnostics compared with those of the text before: a diagnostic the annotations
brought is traced to the annotation it comes from with `--verify`'s rules
(typeinf.annotate.verify.attribute: the annotation on the error's line, the parameter an argument
error names, the return a return error is in, the annotated name used where the error is), and that
annotation is not written; the rest are checked again, a few passes at most.  A diagnostic traced to
no annotation removes nothing.  The rejected (site, type) pairs go back to the engine, which offers
the site's next candidate in the following round (typeinf.inference.engine.Engine.reject).

Unlike `--verify` (the user's own checker over the project, before and after, on copies), this runs
in every round at the cost of a re-check of one file (milliseconds with pyrefly), so it is on by
default wherever the engine has a checker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..checker.base import Checker, Diagnostic
from .edits import Edit
from .verify import attribute, new_errors

MAX_PASSES = 3


def _errors(diags: Sequence[Diagnostic]) -> list[tuple[int, str]]:
    """Errors as `verify.attribute` reads them: (line, "code message"); warnings and hints do not count."""
    return [(d.line, f"{d.code} {d.message}") for d in diags if d.severity == "error"]


def judge(
    checker: Checker,
    path: Path,
    language: str,
    old: bytes,
    new: bytes,
    edits: list[Edit],
    reapply: Callable[[list[Edit]], tuple[bytes, list[Edit]]],
) -> tuple[bytes, list[Edit], list[Edit]]:
    """The text with only the edits the checker accepts, those edits, and the rejected ones.
    `reapply(edits)` gives the old text with those edits applied (and the edits it applied).
    The checker is left holding `old`'s text for the file."""
    if not checker.available or not edits:
        return new, edits, []
    checker.set_text(path, old.decode("utf-8", "replace"))
    before = _errors(checker.diagnostics(path))
    kept, rejected = list(edits), []
    for _ in range(MAX_PASSES):
        checker.set_text(path, new.decode("utf-8", "replace"))
        found = new_errors(before, _errors(checker.diagnostics(path)))
        if not found:
            break
        blamed, _unexplained = attribute(found, new, old, language, kept)
        if not blamed:
            break
        rejected += [e for e in kept if e in blamed]
        kept = [e for e in kept if e not in blamed]
        if not kept:
            new = old
            break
        new, kept = reapply(kept)
    checker.set_text(path, old.decode("utf-8", "replace"))
    return new, kept, rejected
