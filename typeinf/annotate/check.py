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


def _compiled(text: str) -> ast.Module | SyntaxError:
    """The module's `ast` if it compiles (parsed once, then compiled from the tree: the symbol
    table and code generation run as for the text), else why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning (invalid escapes ...) is not our business
            tree = ast.parse(text)
            compile(tree, "<typeinf>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return e
    except (ValueError, RecursionError, MemoryError) as e:  # NUL bytes, too deep for CPython
        return SyntaxError(f"{type(e).__name__}: {e}")
    return tree


def _tree(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def python_problem(old: str, new: str) -> str | None:
    """Why the annotated text `new` must not be written over `old`, or None."""
    old_tree = _compiled(old)
    if isinstance(old_tree, SyntaxError):
        return None
    new_tree = _compiled(new)
    if isinstance(new_tree, SyntaxError):
        where = f" (line {new_tree.lineno})" if new_tree.lineno else ""
        return f"the annotated file would not compile: {new_tree.msg}{where}; nothing written"
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
