"""Whole runs kept across runs: a `predict` or `annotate` whose every input is unchanged since a
run that is kept reads that run's results instead of loading the model, indexing the project and
asking the checker (issue #22: warm runs on an unchanged project).

    key = run_key(RunInputs(...))                # None: this run is not to be kept (stdin, --verify)
    cache = RunCache.open(directory)              # None when it cannot be opened
    cache.get(key) -> object | None ; cache.put(key, value)

What decides a run's results, all in the key:
- the release and this format's version, the command and every option that reaches it (the parsed
  flags with the project's settings merged, the working folder) and every TYPEINF_* variable but
  the cache's own;
- the model's files (their bytes);
- the project: every source file the project index reads under the root (path and bytes: its
  types, its annotations as evidence and the checker's inference depend on all of them), the
  files named on the command line, and the configuration files beside them up to the root
  (pyproject.toml, package.json, tsconfig.json, pyrefly.toml, ...), which the checkers read;
- the checkers: their versions (pyrefly's, the TypeScript compiler's `package.json`), PATH and
  the Python running typeinf (which decide the checkers found).

An edit anywhere in the project is a miss: the evidence crosses files (project types, name votes,
the checker's inference), so a run is reused only as a whole.  The files' own caches still make a
miss cheaper (the model's rankings: typeinf.inference.cache).  Values are pickled (the user's own
cache folder, as black's cache) and a value that cannot be read is a miss.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import __version__
from .files import SourceFile, read_source, walk
from .store import Store

FORMAT = 1
MAX_RUNS = 32  # whole runs kept (least recently used dropped)
CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "pyrefly.toml",
    "mypy.ini",
    "package.json",
    "tsconfig.json",
    "jsconfig.json",
    ".gitignore",
)
_NOT_INPUTS = frozenset({"TYPEINF_CACHE_DIR", "TYPEINF_NO_CACHE"})


@dataclass(frozen=True)
class RunInputs:
    command: str  # "predict", "annotate"
    options: Mapping[str, object]  # every option reaching the run (flags and settings), repr-able
    root: Path  # the project root (find_root)
    sources: Sequence[tuple[Path, bytes]]  # the files the command reads, as read
    model_files: Sequence[Path]
    max_bytes: int  # the project index's limit
    environ: Mapping[str, str]
    typescript: Path | None = None  # the TypeScript compiler the run would use, if any


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _tool_versions(typescript: Path | None) -> str:
    versions = []
    for package in ("pyrefly", "ty", "basedpyright"):  # (the Python checkers typeinf can start)
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=-")
    ts = "-"
    if typescript is not None:
        try:
            ts = _digest((typescript / "package.json").read_bytes()).hex()
        except OSError:
            pass
    return ";".join([*versions, f"typescript={ts}"])


def _configs(root: Path, files: Iterable[Path]) -> list[Path]:
    """The configuration files in the root and in every folder between it and a source file."""
    folders = {root}
    for f in files:
        d = f.parent
        while d not in folders and root in d.parents:
            folders.add(d)
            d = d.parent
    return [d / n for d in sorted(folders) for n in CONFIG_FILES if (d / n).is_file()]


def checker_context(
    root: Path, files: Iterable[Path], typescript: Path | None, environ: Mapping[str, str]
) -> str:
    """What a type checker's answers depend on besides the project's source texts: the checkers'
    versions, the PATH and the Python that find them, and the configuration files between the
    root and `files` (typeinf.checker.kept; the installed packages are taken as fixed, as by
    whole runs)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((environ.get("PATH"), sys.executable, _tool_versions(typescript))).encode())
    for c in _configs(root, files):
        h.update(f"{c}\0".encode() + _digest(c.read_bytes()))
    return h.hexdigest()


def run_key(inputs: RunInputs) -> str:
    h = hashlib.blake2b(digest_size=20)

    def feed(*parts: object) -> None:
        for part in parts:
            h.update(part if isinstance(part, bytes) else repr(part).encode())
            h.update(b"\0")

    feed(__version__, FORMAT, inputs.command, sorted((k, repr(v)) for k, v in inputs.options.items()))
    env = inputs.environ
    feed(sorted((k, v) for k, v in env.items() if k.startswith("TYPEINF_") and k not in _NOT_INPUTS))
    feed(env.get("PATH"), sys.executable)  # which checkers and compiler are found
    feed(_tool_versions(inputs.typescript))
    for p in sorted(inputs.model_files):
        feed(p.name, _digest(p.read_bytes()))
    root = inputs.root.resolve()
    seen = []
    for item in walk([root]):  # what the project index reads
        if isinstance(item, SourceFile):
            data = read_source(item.path, inputs.max_bytes)
            feed(str(item.path), item.language, _digest(data) if isinstance(data, bytes) else repr(data))
            seen.append(item.path)
    for path, data in inputs.sources:
        feed(str(path.resolve()), _digest(data))
    for c in _configs(root, [p.resolve() for p, _ in inputs.sources] + seen):
        feed(str(c), _digest(c.read_bytes()))
    return h.hexdigest()


class RunCache:
    def __init__(self, store: Store) -> None:
        self._store = store

    @classmethod
    def open(cls, directory: Path, max_runs: int = MAX_RUNS) -> RunCache | None:
        store = Store.open(directory / "runs.sqlite", "runs", max_runs)
        return None if store is None else cls(store)

    def get(self, key: str) -> object | None:
        raw = self._store.get(key)
        if raw is None:
            return None
        try:
            value = pickle.loads(zlib.decompress(raw))
        except Exception:  # noqa: BLE001 - an unreadable entry (another release's classes) is a miss
            return None
        self._store.put_many([], [key])
        return value

    def put(self, key: str, value: object) -> None:
        try:
            raw = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)
        except (pickle.PicklingError, TypeError, AttributeError):
            return
        self._store.put_many([(key, raw)])

    def close(self) -> None:
        self._store.close()
