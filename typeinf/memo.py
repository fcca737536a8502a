"""Memoising a function of one object by the object's identity.

For values computed once per shared, unhashable object: a file's scope list (shared by all its
slices), a project's type list, the tokenizer.  The object is kept alive while cached, so its id
cannot be reused by another object meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

R = TypeVar("R")


def by_identity(maxsize: int) -> Callable[[Callable[[Any], R]], Callable[[Any], R]]:
    """Cache `fn(obj)` by `id(obj)`; the whole cache is dropped when it holds more than `maxsize`."""

    def decorate(fn: Callable[[Any], R]) -> Callable[[Any], R]:
        cache: dict[int, tuple[Any, R]] = {}

        @wraps(fn)
        def cached(obj: Any) -> R:
            hit = cache.get(id(obj))
            if hit is not None and hit[0] is obj:
                return hit[1]
            value = fn(obj)
            if len(cache) >= maxsize:
                cache.clear()
            cache[id(obj)] = (obj, value)
            return value

        return cached

    return decorate
