"""Per-file results kept across runs (issue #22: after an edit, a file's own work is done again only
for that file): the slicing of a text and the text annotate writes for a set of edits are pure
functions of one file's inputs, read back from the user cache folder instead of computed again.

    memo = FileMemo.open(directory)   # None: no cache (--no-cache, or it cannot be opened)
    out = memo.map(kind, items, inputs, compute)   # compute(items), the kept results read back

The key of an item: this format's version and a digest of typeinf's own code (the release, every
source file of the package: a changed checkout or release is a miss), the kind, and the bytes
`inputs(item)` gives of what decides its result (`pickled`, or a caller's own text where a pickle
would differ between equal objects; `canonical` sorts sets first: their order changes from process
to process).  Values are pickled and compressed; one that cannot be read is a miss.  Whole runs are kept apart
(typeinf.runcache); this is what a run that is not kept whole still shares with the last one.
"""

from __future__ import annotations

import hashlib
import pickle
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from . import __version__
from .store import Store

FORMAT = 1
MAX_ENTRIES = 20_000
T = TypeVar("T")
R = TypeVar("R")


def code_digest(package: Path) -> str:
    """A digest of the release and of the package's source files (what computes the results)."""
    h = hashlib.blake2b(f"{FORMAT}\0{__version__}\0".encode(), digest_size=16)
    for p in sorted(package.rglob("*")):
        if p.suffix in (".py", ".js") and p.is_file():
            h.update(str(p.relative_to(package)).encode() + b"\0")
            h.update(hashlib.blake2b(p.read_bytes(), digest_size=16).digest())
    return h.hexdigest()


def pickled(item: object) -> bytes:
    """The inputs of an item made of plain values (bytes, strings, numbers, tuples of them)."""
    return pickle.dumps(item, protocol=5)


def canonical(value: object) -> object:
    """`value` with its sets sorted and its mappings' items in key order, for a key that does not
    depend on the process (a dataclass of such values is taken field by field)."""
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(canonical(v) for v in value)))  # type: ignore[type-var]
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((k, canonical(v)) for k, v in value.items())))
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple(canonical(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    return value


class FileMemo:
    def __init__(self, store: Store, salt: str) -> None:
        self.store = store
        self.salt = salt

    @classmethod
    def open(cls, directory: Path, max_entries: int = MAX_ENTRIES) -> FileMemo | None:
        store = Store.open(directory / "files.sqlite", "files", max_entries)
        if store is None:
            return None
        return cls(store, code_digest(Path(__file__).resolve().parent))

    def key(self, kind: str, inputs: bytes) -> str:
        h = hashlib.blake2b(f"{self.salt}\0{kind}\0".encode(), digest_size=20)
        h.update(inputs)
        return h.hexdigest()

    def map(
        self,
        kind: str,
        items: Sequence[T],
        inputs: Callable[[T], bytes],
        compute: Callable[[list[T]], list[R]],
    ) -> list[R]:
        """`compute(items)`, with the items whose result is kept (by `inputs(item)`, the bytes that
        decide it) read back and only the others computed; what is computed is kept."""
        keys = [self.key(kind, inputs(it)) for it in items]
        out: list[Any] = [None] * len(items)
        missing: list[int] = []
        used: list[str] = []
        for i, k in enumerate(keys):
            got = self._read(k)
            if got is None:
                missing.append(i)
            else:
                out[i] = got[0]
                used.append(k)
        fresh = compute([items[i] for i in missing]) if missing else []
        for i, value in zip(missing, fresh, strict=True):
            out[i] = value
        blobs = []
        for i, value in zip(missing, fresh, strict=True):
            try:
                blobs.append((keys[i], zlib.compress(pickle.dumps((value,), protocol=5), 1)))
            except (pickle.PicklingError, TypeError, AttributeError):
                continue
        self.store.put_many(blobs, used)
        return out

    def _read(self, key: str) -> tuple[Any] | None:
        blob = self.store.get(key)
        if blob is None:
            return None
        try:
            value = pickle.loads(zlib.decompress(blob))
        except Exception:  # noqa: BLE001 - a value that cannot be read is a miss
            return None
        return value if isinstance(value, tuple) and len(value) == 1 else None

    def close(self) -> None:
        self.store.close()
