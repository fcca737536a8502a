"""A type checker's answers kept across runs (issue #22: after an edit of one file, only the files
that import it, directly or not, are asked about again).

    kept = KeptAnswers.open(directory, context)       # None when it cannot be opened
    key = kept.key(file, closure, queries)            # the file, its import closure's digest
    kept.get(key) -> [type or None, ...] | None ; kept.put_many([(key, types), ...])

A file's answers are the checker's `types_at` for its queries; what decides them is in the key:
the file's path and the digest of its text and of every project file it imports, directly or not
(typeinf.inference.project.ProjectIndex.closure_digest), the queries, and the `context` (the
checkers' versions, the Python and PATH that find them, the configuration files:
typeinf.runcache.checker_context) with the release.  One SQLite file under the cache folder
(typeinf.store): safe under concurrent runs, bounded, and a store that cannot be used is a miss.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import __version__
from ..store import Store
from .base import QueryLike, as_query

FORMAT = 1
MAX_ENTRIES = 100_000  # files' answers kept (least recently used dropped)


class KeptAnswers:
    def __init__(self, store: Store, context: str) -> None:
        self._store = store
        self.context = context
        self.hits = 0

    @classmethod
    def open(cls, directory: Path, context: str, max_entries: int = MAX_ENTRIES) -> KeptAnswers | None:
        store = Store.open(directory / "checker-answers.sqlite", "answers", max_entries)
        return None if store is None else cls(store, context)

    def key(self, file: str, closure: str, queries: Sequence[QueryLike]) -> str:
        """`file`: the path as the project names it; `closure`: the digest of its import closure."""
        h = hashlib.blake2b(digest_size=20)
        h.update(f"{__version__}\0{FORMAT}\0{self.context}\0{file}\0{closure}\0".encode())
        h.update(repr([tuple(as_query(q)) for q in queries]).encode())
        return h.hexdigest()

    def get(self, key: str) -> list[str | None] | None:
        value = self._store.get_json(key)
        if not isinstance(value, list) or not all(t is None or isinstance(t, str) for t in value):
            return None
        self.hits += 1
        return value

    def put_many(
        self, items: Iterable[tuple[str, Sequence[str | None]]], used_keys: Iterable[str] = ()
    ) -> None:
        """Store new answers and mark read ones as used now, in one transaction."""
        self._store.put_json_many(((k, list(v)) for k, v in items), used_keys)

    def close(self) -> None:
        self._store.close()
