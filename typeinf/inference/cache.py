"""The persistent cache of the model's rankings, across runs (ruff's model: the user cache folder).

    cache = RankingCache.open(directory, namespace)      # None when it cannot be opened
    cache.get(key) -> tuple[(type, probability), ...] | None
    cache.put_many([(key, ranking), ...])

A key is the hash of everything the model reads for a site (its input text, candidates and their
features: typeinf.inference.scorer); the namespace is a digest of the model files and the decoding
temperature plus the typeinf version, so another model or release never reads this one's entries.
Stored in one SQLite file per namespace under `$XDG_CACHE_HOME/typeinf` (default
`~/.cache/typeinf`): safe under concurrent runs (SQLite's locking, WAL, each write one
transaction), bounded (the least recently used entries beyond `max_entries` are dropped), and
a cache that cannot be read or written is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from .. import __version__

MAX_ENTRIES = 200_000
Ranked = tuple[tuple[str, float], ...]


def default_directory(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "typeinf"


def namespace(model_files: Iterable[Path], temperature: float) -> str:
    """A digest of what decides a ranking: the model's files, the temperature, the release."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{__version__}\0{temperature!r}\0".encode())
    for p in sorted(model_files):
        h.update(p.name.encode() + b"\0")
        h.update(hashlib.blake2b(p.read_bytes(), digest_size=16).digest())
    return h.hexdigest()


class RankingCache:
    def __init__(self, db: sqlite3.Connection, max_entries: int) -> None:
        self._db = db
        self._lock = threading.Lock()  # one connection, used from the scorer's threads in turn
        self.max_entries = max_entries
        self.hits = 0

    @classmethod
    def open(cls, directory: Path, space: str, max_entries: int = MAX_ENTRIES) -> RankingCache | None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                directory / f"rankings-{space}.sqlite",
                timeout=10,
                check_same_thread=False,
                isolation_level=None,
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS rankings (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                "used INTEGER NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS rankings_used ON rankings (used)")
        except (OSError, sqlite3.Error):
            return None
        return cls(db, max_entries)

    def get(self, key: str) -> Ranked | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT value FROM rankings WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            value = json.loads(zlib.decompress(row[0]))
        except (zlib.error, ValueError):
            return None
        self.hits += 1
        return tuple((str(t), float(p)) for t, p in value)

    def put_many(self, items: Iterable[tuple[str, Ranked]], used_keys: Iterable[str] = ()) -> None:
        """Store new rankings and mark read ones as used now, in one transaction; then drop the
        least recently used beyond the bound."""
        now = int(time.time())
        rows = [(k, zlib.compress(json.dumps(v, separators=(",", ":")).encode(), 6), now) for k, v in items]
        touched = [(now, k) for k in used_keys]
        if not rows and not touched:
            return
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO rankings (key, value, used) VALUES (?, ?, ?)", rows
                    )
                    self._db.executemany("UPDATE rankings SET used = ? WHERE key = ?", touched)
                    (count,) = self._db.execute("SELECT COUNT(*) FROM rankings").fetchone()
                    if count > self.max_entries:
                        self._db.execute(
                            "DELETE FROM rankings WHERE key IN (SELECT key FROM rankings ORDER BY used "
                            "LIMIT ?)",
                            (count - self.max_entries,),
                        )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error:
            return

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass
