"""A persistent key-value store under the user cache folder (ruff's model), shared by the caches
that last across runs: the model's rankings (typeinf.inference.cache) and whole runs
(typeinf.runcache).

    store = Store.open(directory / "file.sqlite", "table", max_entries)   # None: cannot be opened
    store.get(key) -> bytes | None
    store.put_many([(key, value), ...], used_keys=())
    store.get_json(key) ; store.put_json_many(...)   # values as compressed JSON

One SQLite file: safe under concurrent runs (SQLite's locking, WAL, each write one transaction),
bounded (the least recently used entries beyond `max_entries` are dropped), and a store that
cannot be read or written is a miss, never an error.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def default_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_CACHE_HOME/typeinf`, default `~/.cache/typeinf`."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "typeinf"


class Store:
    def __init__(self, db: sqlite3.Connection, table: str, max_entries: int) -> None:
        self._db = db
        self._table = table
        self._lock = threading.Lock()  # one connection, used from several threads in turn
        self.max_entries = max_entries

    @classmethod
    def open(cls, path: Path, table: str, max_entries: int) -> Store | None:
        assert table.isidentifier(), table
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                "used INTEGER NOT NULL)"
            )
            db.execute(f"CREATE INDEX IF NOT EXISTS {table}_used ON {table} (used)")
        except (OSError, sqlite3.Error):
            return None
        return cls(db, table, max_entries)

    def get(self, key: str) -> bytes | None:
        try:
            with self._lock:
                row = self._db.execute(f"SELECT value FROM {self._table} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else bytes(row[0])

    def get_json(self, key: str) -> Any:
        """A value `put_json_many` stored (None: none, or not readable)."""
        raw = self.get(key)
        if raw is None:
            return None
        try:
            return json.loads(zlib.decompress(raw))
        except (zlib.error, ValueError):
            return None

    def put_json_many(self, items: Iterable[tuple[str, Any]], used_keys: Iterable[str] = ()) -> None:
        """`put_many` of values as compressed JSON."""
        rows = [(k, zlib.compress(json.dumps(v, separators=(",", ":")).encode(), 6)) for k, v in items]
        self.put_many(rows, used_keys)

    def put_many(self, items: Iterable[tuple[str, bytes]], used_keys: Iterable[str] = ()) -> None:
        """Store new values and mark read ones as used now, in one transaction; then drop the
        least recently used beyond the bound."""
        now = int(time.time())
        rows = [(k, v, now) for k, v in items]
        touched = [(now, k) for k in used_keys]
        if not rows and not touched:
            return
        t = self._table
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(
                        f"INSERT OR REPLACE INTO {t} (key, value, used) VALUES (?, ?, ?)", rows
                    )
                    self._db.executemany(f"UPDATE {t} SET used = ? WHERE key = ?", touched)
                    (count,) = self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()
                    if count > self.max_entries:
                        self._db.execute(
                            f"DELETE FROM {t} WHERE key IN (SELECT key FROM {t} ORDER BY used LIMIT ?)",
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
