"""The type checker as judge of what annotate is about to write (issue #20, item 4).

    results = judge_all(diagnose, [Case(language, old, new, edits, reapply), ...])   # a round's files
    # each: (the text with only the edits the checker accepts, those edits, the rejected ones)

Before a round's edits are accepted, the file's annotated text is given to the engine's long-lived
checker in memory (pyrefly for Python, the TypeScript compiler's LanguageService; nothing is written
to disk) and its diagnostics compared with those of the text before: a diagnostic the annotations
brought is traced to the annotation it comes from with `--verify`'s rules
(typeinf.annotate.verify.attribute: the annotation on the error's line, the parameter an argument
error names, the return a return error is in, the annotated name used where the error is), and that
annotation is not written; the rest are checked again, a few passes at most.  A diagnostic traced to
no annotation, or to a static fact (certain), removes nothing.  The rejected (site, type) pairs go
back to the engine, which marks them: such a prediction keeps its type (`predict` shows it, with the
source `rejected`) but is never written (typeinf.inference.engine.Engine.reject).

Unlike `--verify` (the user's own checker over the project, before and after, on copies), this runs
in every round at the cost of a re-check of one file (milliseconds with pyrefly), so it is on by
default wherever the engine has a checker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..checker.base import Diagnostic
from .edits import Edit
from .verify import attribute, new_errors

MAX_PASSES = 3

# Only errors at a *use* of the annotated value judge it: an attribute it lacks, an operator or a
# subscript it does not support, calling or iterating what is not callable or iterable, a returned
# value its return type does not hold.  Errors between declarations (an override inconsistent with
# its parent, an argument the caller's own unannotated value may make wrong) are left out: on
# half-typed held-out applications (portalocker, blacksheep, hatch, beautifulsoup4, arq) they rejected
# 70 annotations that were the authors' own for every 17 wrong ones.
JUDGING_CODES = frozenset(
    {
        # pyrefly
        "missing-attribute",
        "unsupported-operation",
        "not-iterable",
        "not-callable",
        "bad-index",
        "bad-return",
        # the TypeScript compiler: property missing, not callable, not iterable, operator, return type
        "TS2339",
        "TS2349",
        "TS2488",
        "TS2365",
        "TS2355",
        "TS2366",
    }
)


def _errors(diags: Sequence[Diagnostic]) -> list[tuple[int, str]]:
    """The judging errors as `verify.attribute` reads them: (line, "code message")."""
    return [
        (d.line, f"{d.code} {d.message}") for d in diags if d.severity == "error" and d.code in JUDGING_CODES
    ]


@dataclass
class Case:
    """One file's round before the judge: its text before and after the edits."""

    language: str
    old: bytes
    new: bytes
    edits: list[Edit]
    reapply: Callable[[list[Edit]], tuple[bytes, list[Edit]]]  # the old text with these edits


# texts of several files -> each one's diagnostics, all the texts in the checker before any is asked
DiagnoseMany = Callable[[Sequence[tuple[int, bytes]]], Sequence[Sequence[Diagnostic]]]


def judge_all(diagnose: DiagnoseMany, cases: Sequence[Case]) -> list[tuple[bytes, list[Edit], list[Edit]]]:
    """For each file of a round: the text with only the edits the checker accepts, those edits, and
    the rejected ones.  `diagnose([(i, text), ...])`: the checker's diagnostics of each file with
    that text (the engine's, cached by content), every text given to the checker before any file's
    diagnostics are asked, so the TypeScript compiler builds one program per pass rather than one
    per file (and the files are judged as they will be written: together); `Case.reapply(edits)`:
    the old text with those edits applied, and the edits it applied."""
    out: list[tuple[bytes, list[Edit], list[Edit]]] = [(c.new, c.edits, []) for c in cases]
    todo = [i for i, c in enumerate(cases) if c.edits]
    if not todo:
        return out
    before = {i: _errors(d) for i, d in zip(todo, diagnose([(i, cases[i].old) for i in todo]), strict=True)}
    for _ in range(MAX_PASSES):
        if not todo:
            break
        again = []
        for i, diags in zip(todo, diagnose([(i, out[i][0]) for i in todo]), strict=True):
            c, (new, kept, rejected) = cases[i], out[i]
            found = new_errors(before[i], _errors(diags))
            if not found:
                continue
            blamed, _unexplained = attribute(found, new, c.old, c.language, kept)
            # a static fact (a literal, a default, a constructor call) states the type for certain: an
            # error traced to it is the attribution's mistake (the operand beside it is the culprit)
            blamed = {e for e in blamed if e.prediction is None or e.prediction.source != "static"}
            if not blamed:
                continue
            rejected = rejected + [e for e in kept if e in blamed]
            kept = [e for e in kept if e not in blamed]
            if not kept:
                out[i] = (c.old, [], rejected)
                continue
            new, kept = c.reapply(kept)
            out[i] = (new, kept, rejected)
            again.append(i)
        todo = again
    return out
