"""Type-checker backends: one interface (typeinf.checker.base.Checker) per language.

    from typeinf.checker import python_checker, checker_or_none
    with python_checker(root) as ck:          # raises CheckerUnavailable without a checker
        ck.types_at("pkg/mod.py", [(12, 4, "var")])
"""

from .base import (
    Checker,
    CheckerCrashed,
    CheckerTimeout,
    CheckerUnavailable,
    Diagnostic,
    NoChecker,
    Query,
    checker_or_none,
)
from .python import BACKENDS as PYTHON_BACKENDS
from .python import python_checker

__all__ = [
    "Checker", "CheckerCrashed", "CheckerTimeout", "CheckerUnavailable", "Diagnostic", "NoChecker",
    "Query", "checker_or_none", "python_checker", "PYTHON_BACKENDS",
]
