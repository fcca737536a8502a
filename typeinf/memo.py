"""Memoising: a function of one object by the object's identity, and a bounded cache by key.

`by_identity` is for values computed once per shared, unhashable object: a file's scope list
(shared by all its slices), a project's type list, the tokenizer.  The object is kept alive while
cached, so its id cannot be reused by another object meanwhile.

`BoundedCache` holds at most `maxsize` values by key, the least recently used dropped first, and
may be shared between threads (the language server indexes the project in one while it analyses
documents in another).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most `maxsize` values by key, least recently used dropped first; thread-safe."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def discard(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


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
