"""The persistent cache of the model's rankings, across runs (ruff's model: the user cache folder).

    cache = RankingCache.open(directory, namespace)      # None when it cannot be opened
    cache.get(key) -> tuple[(type, probability), ...] | None
    cache.put_many([(key, ranking), ...])

A key is the hash of everything the model reads for a site (its input text, candidates and their
features: typeinf.inference.scorer); the namespace is a digest of the model files and the decoding
temperature plus the typeinf version, so another model or release never reads this one's entries.
Stored in one SQLite file per namespace under `$XDG_CACHE_HOME/typeinf` (default
`~/.cache/typeinf`), through typeinf.store: safe under concurrent runs, bounded (least recently
used entries beyond `max_entries` dropped), and a cache that cannot be used is a miss, never an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from .. import __version__
from ..store import Store, default_directory

__all__ = ["MAX_ENTRIES", "RankingCache", "default_directory", "namespace"]

MAX_ENTRIES = 200_000
Ranked = tuple[tuple[str, float], ...]


def namespace(model_files: Iterable[Path], temperature: float) -> str:
    """A digest of what decides a ranking: the model's files, the temperature, the release."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{__version__}\0{temperature!r}\0".encode())
    for p in sorted(model_files):
        h.update(p.name.encode() + b"\0")
        h.update(hashlib.blake2b(p.read_bytes(), digest_size=16).digest())
    return h.hexdigest()


class RankingCache:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.max_entries = store.max_entries
        self.hits = 0

    @classmethod
    def open(cls, directory: Path, space: str, max_entries: int = MAX_ENTRIES) -> RankingCache | None:
        store = Store.open(directory / f"rankings-{space}.sqlite", "rankings", max_entries)
        return None if store is None else cls(store)

    def get(self, key: str) -> Ranked | None:
        value = self._store.get_json(key)
        if value is None:
            return None
        try:
            ranked = tuple((str(t), float(p)) for t, p in value)
        except (TypeError, ValueError):
            return None
        self.hits += 1
        return ranked

    def put_many(self, items: Iterable[tuple[str, Ranked]], used_keys: Iterable[str] = ()) -> None:
        """Store new rankings and mark read ones as used now, in one transaction."""
        self._store.put_json_many(items, used_keys)

    def close(self) -> None:
        self._store.close()
