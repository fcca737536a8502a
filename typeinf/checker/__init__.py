"""Type-checker backends: one interface (typeinf.checker.base.Checker) per language.

    from typeinf.checker import python_checker, checker_or_none
    with python_checker(root) as ck:          # raises CheckerUnavailable without a checker
        ck.types_at("pkg/mod.py", [(12, 4, "var")])

The interface and the unavailable path: typeinf.checker.base; the Python backends and the measured
choice among them: typeinf.checker.python; TypeScript: typeinf.checker.typescript.
"""

from .base import (
    Checker,
    CheckerCrashed,
    CheckerError,
    CheckerTimeout,
    CheckerUnavailable,
    Diagnostic,
    FallbackChecker,
    NoChecker,
    Query,
    checker_or_none,
)
from .python import BACKENDS as PYTHON_BACKENDS
from .python import python_checker
from .typescript import typescript_checker

__all__ = [
    "Checker",
    "CheckerCrashed",
    "CheckerError",
    "CheckerTimeout",
    "CheckerUnavailable",
    "Diagnostic",
    "FallbackChecker",
    "NoChecker",
    "Query",
    "checker_or_none",
    "python_checker",
    "PYTHON_BACKENDS",
    "typescript_checker",
]
