"""The interface of a type-checker backend (issue #20, item 1).

A :class:`Checker` is one long-lived checker process for one project root:

    ck = python_checker(root)            # or typescript_checker(root); raises CheckerUnavailable
    ck.open(root)                        # start the process on the project (done by the factories)
    ck.set_text(path, text)              # the file's text in memory (the disk is not touched)
    ck.types_at(path, [Query(12, 4, "var"), Query(3, 4, "return")])   # -> ["int", None]
    ck.diagnostics(path)                 # -> [Diagnostic(line, col, code, message), ...]
    ck.close()

Positions are typeinf's: 1-based lines, 0-based code-point columns, at the *name* of the site (the
parameter, the assigned variable, the function name for a ``return`` site); backends convert to
their own encoding.  ``types_at`` is batched: one answer per query, ``None`` where the checker
knows no type that can be written (unknown, ``Any``, anything containing ``Unknown``).  The text
returned is normalised with :func:`typeinf.types.normalize`, literal types widened to their base
type (``Literal[1]`` -> ``int``), as an annotation would be written.

Incremental: ``set_text`` sends only the new text of one file; the checker keeps its state for the
rest of the project, so a language server reuses one instance for a whole session.

Without a checker (not installed, crashed, timed out): the factories raise
:class:`CheckerUnavailable`; a caller that prefers to go on without the checker uses
:func:`checker_or_none`: a :class:`NoChecker` (``None`` for every type, no diagnostics) and one
warning when the checker cannot start, else the checker wrapped in a :class:`FallbackChecker`,
which becomes a NoChecker (one warning) the first time the checker crashes or times out.  :class:`CheckerCrashed` and :class:`CheckerTimeout` (both
``CheckerUnavailable``) are raised by a running checker that dies or stops answering; callers treat
them the same way (go on without the checker for the rest of the run, with a warning).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger("typeinf.checker")


class CheckerUnavailable(RuntimeError):
    """The checker cannot be used: not installed, failed to start, crashed or timed out."""


class CheckerCrashed(CheckerUnavailable):
    """The checker process exited or closed its pipes while in use."""


class CheckerTimeout(CheckerUnavailable):
    """The checker did not answer within its time limit."""


class CheckerError(CheckerUnavailable):
    """The checker answered a request with an error of its own: a failure inside it (the
    TypeScript compiler's stack overflows on deeply nested code, or on router-core's types
    without its tsconfig.json)."""


class Query(NamedTuple):
    """A site to ask about: 1-based line, 0-based code-point column of the name, and the kind
    (``param``, ``return`` or ``var``; for ``return`` the position is the function's name, and
    the type is what an ``async def``'s coroutine gives; ``awaited``, Python: what awaiting a call
    of the function named there gives, None unless it returns a coroutine)."""

    line: int
    column: int
    kind: str = "var"


class Diagnostic(NamedTuple):
    line: int  # 1-based
    column: int  # 0-based code points
    code: str
    message: str
    severity: str = "error"  # error | warning | information | hint


QueryLike = Query | tuple[int, int] | tuple[int, int, str]


def as_query(q: QueryLike) -> Query:
    return q if isinstance(q, Query) else Query(*q)


class Checker(abc.ABC):
    """One checker process for one project root; see the module docstring."""

    name: str = "checker"
    version: str = ""

    @abc.abstractmethod
    def open(self, root: str | Path) -> None:
        """Start the checker on the project ``root`` (its configuration honoured)."""

    @abc.abstractmethod
    def set_text(self, path: str | Path, text: str) -> None:
        """Make ``text`` the content of ``path`` for the checker, in memory only."""

    @abc.abstractmethod
    def types_at(self, path: str | Path, positions: Sequence[QueryLike]) -> list[str | None]:
        """The inferred type at each position of ``path`` (normalised), ``None`` where unknown."""

    def types_at_many(self, asks: Sequence[tuple[str | Path, Sequence[QueryLike]]]) -> list[list[str | None]]:
        """`types_at` of several files, in order (a backend may have them all in flight at once)."""
        return [self.types_at(path, positions) for path, positions in asks]

    @abc.abstractmethod
    def diagnostics(self, path: str | Path) -> list[Diagnostic]:
        """The checker's diagnostics for ``path`` in its current (in-memory) text."""

    def release(self, path: str | Path) -> None:
        """Forget the in-memory text of ``path`` (the editor closed it): the disk's text counts again.
        A backend that keeps no text of its own has nothing to do."""
        return None

    def sync(self) -> None:
        """Make every text set so far count for the whole project's answers, not only for its own
        file's (annotate calls this between its rounds, so a type written in one file reaches the
        files that use it).  A backend whose other files read open documents' texts has nothing
        to do."""
        return None

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the checker process."""

    @property
    def available(self) -> bool:
        return True

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NoChecker(Checker):
    """Stands in for a checker that is not there: every type unknown, no diagnostics."""

    name = "none"

    def __init__(self, reason: str = "no checker") -> None:
        self.reason = reason

    @property
    def available(self) -> bool:
        return False

    def open(self, root: str | Path) -> None:
        pass

    def set_text(self, path: str | Path, text: str) -> None:
        pass

    def types_at(self, path: str | Path, positions: Sequence[QueryLike]) -> list[str | None]:
        return [None] * len(positions)

    def diagnostics(self, path: str | Path) -> list[Diagnostic]:
        return []

    def close(self) -> None:
        pass


class FallbackChecker(Checker):
    """A checker that turns into a :class:`NoChecker` (one warning) the first time it crashes or
    times out, so a run goes on without it in the same output format."""

    def __init__(self, inner: Checker) -> None:
        self.inner: Checker = inner
        self.name = inner.name

    @property
    def available(self) -> bool:
        return self.inner.available

    def _fail(self, exc: CheckerUnavailable) -> None:
        log.warning("type checker %s failed, results without the checker from here on: %s", self.name, exc)
        try:
            self.inner.close()
        except Exception:  # noqa: BLE001 - it is already broken
            pass
        self.inner = NoChecker(str(exc))

    def open(self, root: str | Path) -> None:
        try:
            self.inner.open(root)
        except CheckerUnavailable as exc:
            self._fail(exc)

    def set_text(self, path: str | Path, text: str) -> None:
        try:
            self.inner.set_text(path, text)
        except CheckerUnavailable as exc:
            self._fail(exc)

    def release(self, path: str | Path) -> None:
        try:
            self.inner.release(path)
        except CheckerUnavailable as exc:
            self._fail(exc)

    def sync(self) -> None:
        try:
            self.inner.sync()
        except CheckerUnavailable as exc:
            self._fail(exc)

    def types_at(self, path: str | Path, positions: Sequence[QueryLike]) -> list[str | None]:
        try:
            return self.inner.types_at(path, positions)
        except CheckerUnavailable as exc:
            self._fail(exc)
            return [None] * len(positions)

    def types_at_many(self, asks: Sequence[tuple[str | Path, Sequence[QueryLike]]]) -> list[list[str | None]]:
        try:
            return self.inner.types_at_many(asks)
        except CheckerUnavailable as exc:
            self._fail(exc)
            return [[None] * len(positions) for _, positions in asks]

    def diagnostics(self, path: str | Path) -> list[Diagnostic]:
        try:
            return self.inner.diagnostics(path)
        except CheckerUnavailable as exc:
            self._fail(exc)
            return []

    def close(self) -> None:
        self.inner.close()


def checker_or_none(factory: Callable[[], Checker]) -> Checker:
    """``factory()`` wrapped in a :class:`FallbackChecker`, or a :class:`NoChecker` and one warning
    when the checker is unavailable: the caller goes on without the checker in the same output
    format, also when the checker crashes or times out later in the run."""
    try:
        return FallbackChecker(factory())
    except CheckerUnavailable as exc:
        log.warning("type checker unavailable, results without the checker: %s", exc)
        return NoChecker(str(exc))


def absolute(root: Path | None, path: str | Path) -> Path:
    """A path as the checker knows it: relative ones are taken from the project's root."""
    p = Path(path)
    if not p.is_absolute():
        assert root is not None, "the checker is not open"
        p = root / p
    return p.resolve()
