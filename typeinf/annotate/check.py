"""The last check before an annotated file is written: it must still compile and import.

    python_problem(old, new) -> str | None        why `new` must not replace `old` (None: fine)
    too_deep(source) -> int | None                 nesting too deep for libcst's parser to survive

Parsing is not enough: `global x` followed by `x: int = 0` parses but does not compile (the symbol
table rejects it), and `def f() -> Later:` before `class Later` compiles but raises NameError at
import.  So the new text must `compile()` wherever the old one did, and no annotation that Python
evaluates may use a name that is unbound where it is evaluated, beyond those the old text already
had (typeinf.annotate.bound).  A file the running Python cannot compile to begin with (syntax newer
than the interpreter) is held to parsing alone (the caller's tree-sitter check).
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter

from ..slices.source import parse
from .bound import unbound_annotation_names

# libcst's native parser overflows the C stack around 1,300 nested brackets (SIGSEGV, no
# exception).  CPython accepts at most 200 nested brackets and a few thousand levels of other
# nesting, and libcst parses all of that; only text CPython rejects is measured against this.
MAX_DEPTH = 500


def _compiles(text: str) -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning (invalid escapes ...) is not our business
            compile(text, "<typeinf>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return e
    except (ValueError, RecursionError, MemoryError) as e:  # NUL bytes, too deep for CPython
        return SyntaxError(f"{type(e).__name__}: {e}")
    return None


def _tree(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def python_problem(old: str, new: str) -> str | None:
    """Why the annotated text `new` must not be written over `old`, or None."""
    if _compiles(old) is not None:
        return None
    err = _compiles(new)
    if err is not None:
        where = f" (line {err.lineno})" if err.lineno else ""
        return f"the annotated file would not compile: {err.msg}{where}; nothing written"
    old_tree, new_tree = _tree(old), _tree(new)
    if old_tree is None or new_tree is None:
        return None
    before = Counter(name for _, name in unbound_annotation_names(old_tree, old.encode("utf-8")))
    for line, name in unbound_annotation_names(new_tree, new.encode("utf-8")):
        if before[name] > 0:
            before[name] -= 1
            continue
        return (
            f"the annotated file would raise NameError at import: '{name}' is not bound where "
            f"the annotation on line {line} is evaluated; nothing written"
        )
    return None


def too_deep(source: str) -> int | None:
    """The nesting depth of the syntax tree if it is over MAX_DEPTH (None otherwise).  Only text
    that CPython rejects is walked: what CPython accepts is within libcst's reach."""
    if _tree(source) is not None:
        return None
    cursor = parse(source.encode("utf-8"), "python").walk()
    depth = best = 0
    while True:
        if cursor.goto_first_child():
            depth += 1
            if depth > best:
                best = depth
                if best > MAX_DEPTH:
                    return best
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return None
            depth -= 1
