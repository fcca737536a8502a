"""Read source files straight out of downloaded package archives.

:func:`iter_sources` yields :class:`SourceFile` records (relative path, bytes)
for the ``.py`` files of a wheel / sdist, or the TypeScript files
(``.ts``/``.tsx``/``.mts``/``.cts``) of an npm tarball, without extracting
anything to disk.  For npm it also recovers TypeScript sources embedded in
source maps (``*.map`` files whose ``sourcesContent`` holds the original
``.ts`` text), under the path given by the map's ``sources`` entry resolved
against the map's directory.

Excluded (see :func:`excluded_reason`):

* tests: directories ``test``, ``tests``, ``__tests__``, ``__mocks__``; files
  ``test_*.py``, ``*_test.py``, ``conftest.py``, ``*.spec.ts``, ``*.test.ts``
  (and their ``tsx``/``mts``/``cts`` variants);
* vendored copies: ``_vendor``, ``vendor``, ``vendored``, ``third_party``,
  ``node_modules`` directories;
* generated code: ``*_pb2.py``/``*_pb2_grpc.py``, and files whose first
  600 bytes mention ``@generated``, ``DO NOT EDIT`` or ``auto-generated``
  (case-insensitive);
* declaration files ``.d.ts``/``.d.mts``/``.d.cts`` unless ``include_dts`` is
  set, in which case they are yielded with ``dts=True``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PY_EXTS = (".py",)
TS_EXTS = (".ts", ".tsx", ".mts", ".cts")
DTS_SUFFIXES = (".d.ts", ".d.mts", ".d.cts", ".d.tsx")

TEST_DIRS = frozenset({"test", "tests", "__tests__", "__mocks__"})
VENDOR_DIRS = frozenset({"_vendor", "vendor", "vendored", "third_party", "node_modules"})
GENERATED_MARKERS = (b"@generated", b"do not edit", b"auto-generated")
GENERATED_HEAD = 600
DEFAULT_MAX_BYTES = 2_000_000

_TS_TEST_FILE = re.compile(r"\.(spec|test)\.(ts|tsx|mts|cts)$")
_URL_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://+[^/]*/?")


@dataclass(frozen=True)
class SourceFile:
    """One source file read from an archive."""

    path: str
    data: bytes
    dts: bool = False
    from_map: bool = False

    @property
    def is_tsx(self) -> bool:
        return self.path.endswith(".tsx")


_Accept = Callable[[str, bytes, bool], SourceFile | None]


def is_dts(path: str) -> bool:
    return path.endswith(DTS_SUFFIXES)


def language_of(path: str) -> str | None:
    """``"python"``, ``"ts"`` or ``None`` for a path (by extension)."""
    if path.endswith(PY_EXTS):
        return "python"
    if path.endswith(TS_EXTS):
        return "ts"
    return None


def excluded_reason(path: str, head: bytes = b"") -> str | None:
    """Why ``path`` (with first bytes ``head``) is left out of the corpus, or ``None``."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "empty"
    dirs, base = parts[:-1], parts[-1]
    lowered = [d.lower() for d in dirs]
    if any(d in TEST_DIRS for d in lowered):
        return "test"
    if any(d in VENDOR_DIRS for d in lowered):
        return "vendored"
    if base.endswith(".py"):
        if base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
            return "test"
        if base.endswith(("_pb2.py", "_pb2_grpc.py")):
            return "generated"
    elif _TS_TEST_FILE.search(base):
        return "test"
    if head:
        low = head[:GENERATED_HEAD].lower()
        if any(m in low for m in GENERATED_MARKERS):
            return "generated"
    return None


def _strip_root(name: str, strip: bool) -> str:
    name = name.replace("\\", "/").lstrip("/")
    if strip:
        _, _, rest = name.partition("/")
        return rest
    return name


def _wanted(path: str, lang: str) -> bool:
    return language_of(path) == lang


def _iter_members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(name inside archive, bytes) for every regular file whose name we may want."""
    name = archive.name.lower()
    if name.endswith((".whl", ".zip", ".egg")):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                fn = info.filename
                if fn.endswith(PY_EXTS + TS_EXTS) or fn.endswith(".map"):
                    yield fn, zf.read(info)
        return
    with tarfile.open(archive, "r:*") as tf:
        for member in tf:
            if not member.isfile():
                continue
            fn = member.name
            if fn.endswith(PY_EXTS + TS_EXTS) or fn.endswith(".map"):
                fh = tf.extractfile(member)
                if fh is not None:
                    yield fn, fh.read()


def _root_is_prefix(archive: Path) -> bool:
    """Whether member names carry a top-level directory to strip (sdists, npm)."""
    return not archive.name.lower().endswith((".whl", ".egg"))


def _normalise_map_source(map_path: str, source_root: str, source: str) -> str | None:
    """Archive-relative path of a source-map ``sources`` entry, or ``None``."""
    src = source.replace("\\", "/")
    if src.startswith(("webpack://", "file://")) or "://" in src[:16]:
        src = _URL_PREFIX.sub("", src)
        src = src.lstrip("/")
        if src.startswith("./"):
            src = src[2:]
        joined = src
    else:
        base = posixpath.dirname(map_path)
        root = (source_root or "").replace("\\", "/")
        if root and "://" in root:
            root = ""
        joined = posixpath.join(base, root, src) if not src.startswith("/") else src.lstrip("/")
    norm = posixpath.normpath(joined)
    # Paths pointing above the package root (e.g. ``../../src/x.ts`` from a
    # map that was generated inside a monorepo) keep their tail.
    parts = [p for p in norm.split("/") if p not in ("", ".", "..")]
    if not parts:
        return None
    return "/".join(parts)


def iter_sources(
    archive: Path | str,
    lang: str,
    *,
    include_dts: bool = False,
    source_maps: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[SourceFile]:
    """Yield the corpus-eligible source files of ``archive``.

    ``lang`` is ``"python"`` (``.py`` from a wheel or sdist) or ``"ts"``/``"npm"``
    (TypeScript from an npm tarball; ``source_maps`` also recovers TypeScript
    from ``*.map`` ``sourcesContent``).  Files larger than ``max_bytes`` are
    skipped.  Within one archive a content-identical file is yielded once
    (real files win over map-recovered copies).
    """
    archive = Path(archive)
    if lang == "npm":
        lang = "ts"
    if lang not in ("python", "ts"):
        raise ValueError(f"unknown language {lang!r}")
    strip = _root_is_prefix(archive)
    seen_hashes: set[bytes] = set()
    seen_paths: set[str] = set()
    maps: list[tuple[str, bytes]] = []

    def accept(path: str, data: bytes, from_map: bool) -> SourceFile | None:
        if not path or not _wanted(path, lang):
            return None
        if len(data) > max_bytes:
            return None
        dts = is_dts(path)
        if dts and not include_dts:
            return None
        if excluded_reason(path, data[:GENERATED_HEAD]):
            return None
        digest = hashlib.sha1(data).digest()
        if digest in seen_hashes or path in seen_paths:
            return None
        seen_hashes.add(digest)
        seen_paths.add(path)
        return SourceFile(path=path, data=data, dts=dts, from_map=from_map)

    for raw_name, data in _iter_members(archive):
        path = _strip_root(raw_name, strip)
        if path.endswith(".map"):
            if lang == "ts" and source_maps:
                maps.append((path, data))
            continue
        sf = accept(path, data, from_map=False)
        if sf is not None:
            yield sf

    for map_path, raw in maps:
        yield from _sources_from_map(map_path, raw, accept)


def _sources_from_map(map_path: str, raw: bytes, accept: _Accept) -> Iterator[SourceFile]:
    if excluded_reason(map_path) in ("test", "vendored"):
        return
    if b"sourcesContent" not in raw:
        return
    try:
        sm = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return
    if not isinstance(sm, dict):
        return
    sections = sm.get("sections")
    if isinstance(sections, list):  # indexed source map
        for section in sections:
            if isinstance(section, dict) and isinstance(section.get("map"), dict):
                yield from _sources_of_one_map(map_path, section["map"], accept)
        return
    yield from _sources_of_one_map(map_path, sm, accept)


def _sources_of_one_map(map_path: str, sm: dict[str, Any], accept: _Accept) -> Iterator[SourceFile]:
    sources = sm.get("sources")
    contents = sm.get("sourcesContent")
    if not isinstance(sources, list) or not isinstance(contents, list):
        return
    root = sm.get("sourceRoot") or ""
    if not isinstance(root, str):
        root = ""
    for src, text in zip(sources, contents, strict=False):
        if not isinstance(src, str) or not isinstance(text, str):
            continue
        if not src.endswith(TS_EXTS):
            continue
        path = _normalise_map_source(map_path, root, src)
        if path is None:
            continue
        sf = accept(path, text.encode("utf-8", "surrogatepass"), True)
        if sf is not None:
            yield sf
