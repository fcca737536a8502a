"""The language server's scheduling of analyses: one task per document, debounced, never stale.

    Scheduler.schedule(uri, version, indexed, debounce, start) -> the task to await
    Scheduler.debounce_over(uri)    the document's task has waited out its debounce
    Scheduler.cancel(uri)           the document was closed
    Scheduler.busy()                some document's task is not done

A document's task is reused while it analyses the current version with the current state of the
project index; otherwise a new one starts.  A task for an older version is cancelled (its
answer would be for text the client no longer has), as is one still waiting out the debounce of
an edit when a request comes (a request does not wait: the analysis starts now).  A task made
before the index was complete is not cancelled: it still answers its waiters.

`decide` is the rule alone, without tasks (jedi-language-server keeps its debouncing the same
way, as a helper apart from the server).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    start: bool  # start a new task
    cancel: bool  # cancel the current one first


def decide(
    current: tuple[int | None, bool, bool, bool] | None, version: int | None, indexed: bool, debounce: float
) -> Decision:
    """The rule: `current` is the document's task as (version, indexed, waiting, done), if any."""
    if current is None:
        return Decision(start=True, cancel=False)
    task_version, task_indexed, waiting, done = current
    old_version = task_version != version
    stale = done or old_version or task_indexed != indexed
    hurry = not stale and debounce == 0 and waiting
    if not (stale or hurry):
        return Decision(start=False, cancel=False)
    return Decision(start=True, cancel=not done and (old_version or hurry))


@dataclass
class _Job(Generic[T]):
    task: asyncio.Task[T]
    version: int | None
    indexed: bool
    waiting: bool  # still waiting out its debounce


class Scheduler(Generic[T]):
    """The current analysis task of each open document (see the module docstring)."""

    def __init__(self) -> None:
        self._jobs: dict[str, _Job[T]] = {}

    def schedule(
        self,
        uri: str,
        version: int | None,
        indexed: bool,
        debounce: float,
        start: Callable[[], Coroutine[Any, Any, T]],
    ) -> asyncio.Task[T]:
        """The task that answers for this version of the document: the current one, or one
        `start()` makes now.  Call from the event loop."""
        job = self._jobs.get(uri)
        current = None if job is None else (job.version, job.indexed, job.waiting, job.task.done())
        d = decide(current, version, indexed, debounce)
        if job is not None and not d.start:
            return job.task
        if job is not None and d.cancel:
            job.task.cancel()
        task = asyncio.ensure_future(start())
        self._jobs[uri] = _Job(task, version, indexed, debounce > 0)
        return task

    def debounce_over(self, uri: str) -> None:
        job = self._jobs.get(uri)
        if job is not None:
            job.waiting = False

    def cancel(self, uri: str) -> None:
        job = self._jobs.pop(uri, None)
        if job is not None:
            job.task.cancel()

    def task(self, uri: str) -> asyncio.Task[T] | None:
        job = self._jobs.get(uri)
        return None if job is None else job.task

    def busy(self) -> bool:
        """Whether some document's analysis is waiting or under way."""
        return any(not job.task.done() for job in self._jobs.values())
