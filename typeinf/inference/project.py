"""The project index: types defined anywhere in the project, so a prediction can name a class
of another module (and write-back can import it).

    find_root(path)                    nearest directory with pyproject.toml, package.json or .git
    ProjectIndex.build(root)           classes, aliases (Python: `X = Union[...]`, `X: TypeAlias = ...`),
                                       interfaces and enums of every source file
    index.types_for(path, language)    ProjectType entries visible from a file (its own excluded)
    index.names_for(language)          how the project annotates its names (typeinf.inference.names)
    index.calls_for(language)          its calls of named functions (typeinf.inference.calls)

Files are scanned with tree-sitter (top-level definitions only) and cached by content hash.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

from tree_sitter import Node

from ..config import DEFAULT_MAX_BYTES
from ..files import SourceFile, read_source, walk
from ..lang import lang_family
from ..memo import BoundedCache
from ..slices.incremental import edited_unit
from ..slices.incremental_typescript import edited_unit as edited_typescript_unit
from ..slices.source import parse
from ..slices.type_expressions import alias_admits_none, module_alias
from .calls import CallTable, FileCalls, rescan_calls, scan_calls
from .features import ProjectType
from .imports import ImportGraph, package_of, python_imports
from .members import ClassDef, class_defs, resolve, top_level
from .names import Annotated, NameTable, annotated_names

T = TypeVar("T")
ROOT_MARKERS = ("pyproject.toml", "package.json", "setup.py", ".git")
_PY_DEFS = {"class_definition": "class"}
_TS_DEFS = {
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "type_alias_declaration": "alias",
    "enum_declaration": "enum",
}


def find_root(path: Path) -> Path:
    try:
        p = path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop: its directory
        p = Path(os.path.abspath(path)).parent.resolve()
    start = p if p.is_dir() else p.parent
    for d in [start, *start.parents]:
        if any((d / m).exists() for m in ROOT_MARKERS):
            return d
    return start


def module_name(path: Path, root: Path, language: str) -> str:
    rel = path.resolve().relative_to(root.resolve()) if path.is_absolute() else path
    parts = list(rel.with_suffix("").parts)
    if language == "python":
        if parts and parts[0] in ("src", "lib"):
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)
    return "/".join(parts)


class FileScan(NamedTuple):
    """What the index keeps of a file."""

    types: list[tuple[str, str]]  # (name, kind) of the types it defines at its top level (or exports)
    classes: list[ClassDef]  # its classes' members
    annotated: list[Annotated]  # its annotated sites: (kind, name, annotation)
    calls: FileCalls  # its calls of named functions, and its parameters' places in theirs
    annotated_at: tuple[int, ...]  # where each annotated site is (a byte offset): an edit's rescan
    nullable: frozenset[str] = frozenset()  # its aliases whose type holds `None` (Python)


def scan_types(data: bytes, language: str) -> list[tuple[str, str]]:
    """(name, kind) of the types a file defines at its top level (or exports)."""
    return scan_file(data, language).types


def scan_file(data: bytes, language: str, keep: bool = True) -> FileScan:
    """The types a file defines at its top level (or exports), its classes' members and its
    annotated sites.  `keep=False`: its tree is not kept among the shared parses (a file read
    from disk by the index's scan, which would push the open documents' trees out)."""
    root = parse(data, language, keep=keep).root_node
    at: list[int] = []
    annotated = annotated_names(root, language, at)
    types, nullable = _scan_names(root, language)
    return FileScan(
        types, class_defs(root, language), annotated, scan_calls(root, language, data), tuple(at), nullable
    )


def rescan(previous: bytes, scan: FileScan, data: bytes, language: str) -> FileScan:
    """`scan_file(data, language)` for a text edited from `previous`, whose scan is `scan`: when the
    edit is inside one function of the module or of a module-level class (Python; TypeScript: one
    statement of the module or method of a module-level class; no syntax error), the file's
    annotated sites are the previous ones but the unit's (`_spliced`: their query over the whole
    tree is most of a scan) and its calls the previous ones but the unit's (`rescan_calls`); the
    rest is scanned again."""
    root = parse(data, language).root_node
    if not root.has_error:
        find = edited_unit if language == "python" else edited_typescript_unit
        units = find(previous, parse(previous, language).root_node, data, root)
        if units is not None:
            annotated, at = _spliced(scan, units[0], units[1], language, len(data) - len(previous))
            types, nullable = _scan_names(root, language)
            return FileScan(
                types,
                class_defs(root, language),
                annotated,
                rescan_calls(scan.calls, units[0], units[1], language, data),
                at,
                nullable,
            )
    return scan_file(data, language)


def _spliced(
    scan: FileScan, old_unit: Node, new_unit: Node, language: str, delta: int
) -> tuple[list[Annotated], tuple[int, ...]]:
    """The annotated sites (in the text's order) of a text edited inside one unit, and their places,
    from the previous text's: those before the unit, the unit's own now, those after it (moved by
    the edit's `delta` bytes).  No node around the unit (the module, its class) is a site, so each
    site is wholly before, in or after it (the whole tree's query is what this saves)."""
    old_at: list[int] = []
    new_at: list[int] = []
    old_own = annotated_names(old_unit, language, old_at)
    own = annotated_names(new_unit, language, new_at)
    if own == old_own and new_at == old_at and not delta:
        return scan.annotated, scan.annotated_at
    # (the sites before the unit come first: bisection finds where the unit's begin)
    k = bisect.bisect_left(scan.annotated_at, old_unit.start_byte)
    rest = scan.annotated_at[k + len(old_own) :]
    annotated = (
        scan.annotated if own == old_own else scan.annotated[:k] + own + scan.annotated[k + len(old_own) :]
    )
    return annotated, (*scan.annotated_at[:k], *new_at, *(p + delta for p in rest))


def _scan_names(root: Node, language: str) -> tuple[list[tuple[str, str]], frozenset[str]]:
    """(name, kind) of the types a file defines at its top level, and its aliases that hold `None`."""
    defs = _PY_DEFS if language == "python" else _TS_DEFS
    out = []
    nullable = []
    for n in top_level(root):
        if language == "python" and (alias := module_alias(n)) is not None:
            out.append((alias, "alias"))
            if alias_admits_none(n):
                nullable.append(alias)
            continue
        kind = defs.get(n.type)
        if kind is not None:
            name = n.child_by_field_name("name")
            if name is not None and name.text:
                out.append((name.text.decode("utf-8", "replace"), kind))
    return out, frozenset(nullable)


def _nullable_everywhere(files: list[tuple[Path, FileScan]]) -> frozenset[str]:
    """The names of which every type the project defines is an alias that holds `None`."""
    defined: Counter[str] = Counter()
    nullable: Counter[str] = Counter()
    for _, scan in files:
        defined.update(name for name, _ in scan.types)
        nullable.update(scan.nullable)
    return frozenset(name for name, n in nullable.items() if n == defined[name])


# A file's scan by its content: an edited file's other versions, and the same file met by two indexes
# (the server rebuilds its index), are scanned once.  Bounded: a long session sees many versions.
_SCAN_CACHE: BoundedCache[tuple[str, str], FileScan] = BoundedCache(50_000)


@dataclass
class ProjectIndex:
    root: Path
    by_file: dict[Path, tuple[str, FileScan]] = field(default_factory=dict)
    _lists: dict[str, list[ProjectType]] = field(default_factory=dict, repr=False)
    _names: dict[str, NameTable] = field(default_factory=dict, repr=False)
    _calls: dict[str, CallTable] = field(default_factory=dict, repr=False)
    _nullable: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    complete: bool = False
    # whether each Python file's imports are read (`closure_digest`: whole-project runs)
    imports: bool = False
    # each file's text as last added (a digest); with `imports`, the Python files' import graph
    _digests: dict[Path, str] = field(default_factory=dict, repr=False)
    _graph: ImportGraph | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def build(
        cls, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, max_files: int = 20_000, imports: bool = False
    ) -> ProjectIndex:
        index = cls(root.resolve(), imports=imports)
        index.populate(max_bytes, max_files)
        return index

    def populate(
        self,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = 20_000,
        between: Callable[[], object] | None = None,
    ) -> None:
        """Scan every source file under the root (the language server runs this in a background
        thread while it already answers from what is indexed so far; `between` is called before
        each file, where the server waits while a document is being analysed)."""
        for item in walk([self.root]):
            if len(self.by_file) >= max_files:
                break
            if isinstance(item, SourceFile):
                if between is not None:
                    between()
                self.add(item.path, item.language, max_bytes)
        with self._lock:
            self._lists.clear()  # lists built during the scan may miss files: rebuilt on demand
            self._nullable.clear()
            self._names.clear()
            self._calls.clear()
            self.complete = True

    def add(
        self,
        path: Path,
        language: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        data: bytes | None = None,
        previous: bytes | None = None,
    ) -> None:
        """Scan a file (from disk, or its text `data`; `previous`: the text it was edited from, whose
        scan may be reused in part: `rescan`)."""
        from_disk = data is None
        if data is None:
            got = read_source(path, max_bytes)
            if not isinstance(got, bytes):
                return
            data = got
        key = (hashlib.sha1(data).hexdigest(), language)
        before_key = (hashlib.sha1(previous).hexdigest(), language) if previous is not None else None
        types = _SCAN_CACHE.get(key)
        if types is None:
            before_scan = _SCAN_CACHE.get(before_key) if before_key is not None else None
            if previous is not None and before_scan is not None:
                types = rescan(previous, before_scan, data, language)
            else:
                types = scan_file(data, language, keep=not from_disk)
            _SCAN_CACHE.put(key, types)
        if before_key is not None and before_key != key:
            # an editor's version replaces the one it was edited from: the cache does not keep
            # every version typed (a 7,000-line file's scan is 0.15-0.3 MB: a long session's
            # versions grew the server by that much per edit)
            _SCAN_CACHE.discard(before_key)
        lang = lang_family(language)
        key_path = path.resolve()
        imported = (
            python_imports(data, package_of(key_path, self.root))
            if self.imports and lang == "python"
            else None
        )
        with self._lock:
            self._digests[key_path] = key[0]
            if self.imports:
                if self._graph is None:
                    self._graph = ImportGraph(self.root)
                if imported is not None:
                    self._graph.add(key_path, key[0], imported)
                else:
                    self._graph.discard(key_path)
            before = self.by_file.get(key_path)
            if before != (lang, types):
                self.by_file[key_path] = (lang, types)
                old = before[1] if before is not None and before[0] == lang else None
                # while the index is being populated, the last list is served until the scan is
                # complete (the server then redoes its analyses): rebuilding it on every edit
                # would cost more the further the scan went; an edit that leaves the file's types
                # and classes as they were keeps the list (an edit inside a function)
                if self.complete and (
                    old is None or (old.types, old.classes) != (types.types, types.classes)
                ):
                    self._lists.pop(lang, None)
                if old is None or (old.types, old.nullable) != (types.types, types.nullable):
                    self._nullable.pop(lang, None)
                if before is not None and before[0] != lang:
                    self._names.pop(before[0], None)
                    self._calls.pop(before[0], None)
                calls = self._calls.get(lang)
                if calls is not None and old is not None:  # an edit's calls count at once
                    if old.calls != types.calls:
                        self._calls[lang] = calls.replaced(key_path, old.calls, types.calls)
                else:
                    self._calls.pop(lang, None)
                table = self._names.get(lang)
                if table is not None and old is not None:  # an edit's annotations count at once
                    if old.annotated != types.annotated:
                        self._names[lang] = table.replaced(old.annotated, types.annotated, lang)
                else:
                    self._names.pop(lang, None)

    def types_for(self, path: Path, language: str) -> list[ProjectType]:
        """The project's types for a file of this language.  One shared list per language (the
        file's own types are in its scope already, and candidates skip names in scope)."""
        lang = lang_family(language)
        with self._lock:
            cached = self._lists.get(lang)
            if cached is not None:
                return cached
            files = sorted(self.by_file.items())
        out: dict[str, ProjectType] = {}
        members = resolve(d for _p, (plang, scan) in files if plang == lang for d in scan.classes)
        for p, (plang, scan) in files:
            if plang != lang:
                continue
            mod = module_name(p, self.root, lang)
            for name, kind in scan.types:
                out.setdefault(name, ProjectType(name, kind, mod, members.get(name)))
        result = list(out.values())
        with self._lock:
            if all(self.by_file.get(p) == v for p, v in files) and len(files) == len(self.by_file):
                self._lists[lang] = result  # unchanged meanwhile: the shared list may be kept
        return result

    def nullable_aliases(self, path: Path, language: str) -> frozenset[str]:
        """The names of the project's type aliases that hold `None` (`CookiesType = None | dict[str,
        str]`), as a file sees them: the file's own definitions, else a name every definition of
        which holds `None` (two modules may define the same name)."""
        lang = lang_family(language)
        everywhere = self._per_family(self._nullable, lang, _nullable_everywhere)
        with self._lock:
            own = self.by_file.get(path.resolve())
        if own is None or own[0] != lang:
            return everywhere
        scan = own[1]
        if not scan.types:
            return everywhere
        return (everywhere - {name for name, _ in scan.types}) | scan.nullable

    def names_for(self, language: str) -> NameTable:
        """How the project's files of this language family annotate each (kind, name)."""
        lang = lang_family(language)
        return self._per_family(
            self._names, lang, lambda files: NameTable.build((s.annotated for _, s in files), lang)
        )

    def closure_digest(self, path: Path) -> str | None:
        """A digest of the texts of a Python file and of every project file it imports, directly
        or not (typeinf.inference.imports): a type checker's answers about the file are the same
        while it is.  None: not a Python file of the index (or the index does not read imports)."""
        p = path.resolve()
        with self._lock:
            if self._graph is None or p not in self._graph:
                return None
            return self._graph.digest(p)

    def has_text(self, path: Path, text: str) -> bool:
        """Whether the file's text as last added is `text`."""
        with self._lock:
            digest = self._digests.get(path.resolve())
        return (
            digest is not None and digest == hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        )

    def calls_of(self, path: Path) -> FileCalls | None:
        """One file's calls and parameters as last scanned (None: not in the index)."""
        with self._lock:
            got = self.by_file.get(path.resolve())
        return got[1].calls if got is not None else None

    def calls_for(self, language: str) -> CallTable:
        """The project's calls of named functions in files of this language family
        (typeinf.inference.calls), and where each parameter sits in its function's calls."""
        return self._per_family(
            self._calls, lang_family(language), lambda files: CallTable.build((p, s.calls) for p, s in files)
        )

    def _per_family(
        self, cache: dict[str, T], lang: str, build: Callable[[list[tuple[Path, FileScan]]], T]
    ) -> T:
        """A table of the files of one language family, built from their scans on first need and kept
        in `cache` until a change drops it (`add`, `populate`)."""
        with self._lock:
            table = cache.get(lang)
            if table is not None:
                return table
            files = [(p, scan) for p, (plang, scan) in self.by_file.items() if plang == lang]
        table = build(files)
        with self._lock:
            cache.setdefault(lang, table)
        return table
