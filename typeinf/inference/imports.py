"""Which project files a Python file's checker answers can depend on: its import closure.

    imported = python_imports(data, package)      # module names the text may import
    modules = module_files(paths, root)           # module name -> the project files it may be
    graph = ImportGraph(root); graph.add(path, text_digest, imported); graph.digest(path)

A type checker infers a file's types from its text and the modules it imports, transitively; the
project's other files cannot change them.  This errs on the side of more files, never fewer:
- every `import` and `from ... import` anywhere in the text counts (inside functions, `try`, `if
  TYPE_CHECKING`, even in a string): read with a pattern, not a parser, so a file with a syntax
  error has its imports too;
- `import a.b.c` imports `a`, `a.b` and `a.b.c`; `from a import b` imports `a` and `a.b` (`b` may
  be a submodule); relative imports are taken from the file's package;
- a project file is every module name its path can be read as, from any folder down (`src/pkg/m.py`
  is `src.pkg.m`, `pkg.m` and `m`; `foo-stubs/m.pyi` is also `foo.m`), so search paths, `src`
  layouts and stub packages need no configuration.
Modules that are no project file (the standard library, installed packages) are the environment's.
The functions are pure; `ImportGraph` keeps each file's closure while no file's imports change
(annotate's rounds add annotations, rarely project imports).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

_CONTINUATION = re.compile(r"\\\r?\n")
_FROM = re.compile(r"\bfrom\s+(\.*)([\w.]*)\s+import\s+(\([^)]*\)|[^\n;#]*)")
_IMPORT = re.compile(r"\bimport\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)")
_NAME = re.compile(r"[A-Za-z_]\w*")


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts)) if parts[k]]


def python_imports(data: bytes, package: tuple[str, ...]) -> frozenset[str]:
    """The absolute module names `data` may import; `package`: the parts of the package the file is
    in (`("pkg", "sub")` for `pkg/sub/m.py` and for `pkg/sub/__init__.py`), for relative imports."""
    text = _CONTINUATION.sub(" ", data.decode("utf-8", "replace"))
    out: set[str] = set()
    for m in _FROM.finditer(text):
        dots, module, names = m.group(1), m.group(2), m.group(3)
        if dots:
            up = len(dots) - 1
            if up > len(package):
                continue
            base = ".".join([*package[: len(package) - up], *([module] if module else [])])
        else:
            base = module
        if base:
            out.update(_with_parents(base))
        for name in _NAME.findall(names.strip("()")):
            if name != "as":
                out.add(f"{base}.{name}" if base else name)
    for m in _IMPORT.finditer(_FROM.sub(" ", text)):  # (the names a `from` imports are not modules)
        for item in m.group(1).split(","):
            out.update(_with_parents(item.split()[0]))
    return frozenset(out)


def package_of(path: Path, root: Path) -> tuple[str, ...]:
    """The package a file is in, as its folders from the root (a file outside the root: none)."""
    try:
        return path.relative_to(root).parent.parts
    except ValueError:
        return ()


def module_files(paths: Iterable[Path], root: Path) -> dict[str, list[Path]]:
    """Every module name each Python file (`.py`, `.pyi`) under `root` may be imported by."""
    out: dict[str, list[Path]] = {}
    for p in paths:
        if p.suffix not in (".py", ".pyi"):
            continue
        try:
            parts = list(p.relative_to(root).with_suffix("").parts)
        except ValueError:
            continue
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        for k in range(len(parts)):
            out.setdefault(".".join(parts[k:]), []).append(p)
            if parts[k].endswith("-stubs"):  # a stub package: `foo-stubs/` is `foo` (PEP 561)
                out.setdefault(".".join([parts[k].removesuffix("-stubs"), *parts[k + 1 :]]), []).append(p)
    return out


def closure(path: Path, edges: Callable[[Path], Iterable[Path]]) -> set[Path]:
    """The files reached from `path` by `edges` (the project files a file imports), and `path`."""
    seen = {path}
    todo = [path]
    while todo:
        for p in edges(todo.pop()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


class ImportGraph:
    """The project's Python files, their texts' digests and the project files each imports, with each
    file's closure digest (`digest`) kept while no file's imports change.  Not thread-safe (its
    owner, the project index, locks)."""

    _MASK = (1 << 128) - 1

    def __init__(self, root: Path) -> None:
        self.root = root
        self._imports: dict[Path, frozenset[str]] = {}  # the module names each file may import
        self._element: dict[Path, int] = {}  # a hash of each file's path and text
        self._modules: dict[str, list[Path]] | None = None  # module name -> project files
        self._edges: dict[Path, frozenset[Path]] = {}  # the project files each file imports
        self._closures: dict[Path, frozenset[Path]] = {}

    def add(self, path: Path, digest: str, imported: frozenset[str]) -> None:
        """A file's text (its digest) and the modules it may import (`python_imports`)."""
        if path not in self._imports:
            self._modules = None  # a new file: names may resolve to it
            self._edges.clear()
            self._closures.clear()
        elif self._imports[path] != imported:
            self._edges.pop(path, None)
            self._closures.clear()
        self._imports[path] = imported
        rel = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        self._element[path] = int.from_bytes(
            hashlib.blake2b(f"{rel}\0{digest}".encode(), digest_size=16).digest(), "big"
        )

    def discard(self, path: Path) -> None:
        if self._imports.pop(path, None) is not None:
            self._element.pop(path, None)
            self._modules = None
            self._edges.clear()
            self._closures.clear()

    def __contains__(self, path: Path) -> bool:
        return path in self._imports

    def _edges_of(self, path: Path) -> frozenset[Path]:
        got = self._edges.get(path)
        if got is None:
            if self._modules is None:
                self._modules = module_files(self._imports, self.root)
            modules = self._modules
            got = frozenset(p for name in self._imports.get(path, ()) for p in modules.get(name, ()))
            self._edges[path] = got
        return got

    def digest(self, path: Path) -> str:
        """A digest of the texts of `path` and of every project file it imports, directly or not
        (an order-free sum of each file's hash of its path and text)."""
        files = self._closures.get(path)
        if files is None:
            files = frozenset(closure(path, self._edges_of))
            self._closures[path] = files
        element = self._element
        return f"{sum(element[p] for p in files) & self._MASK:032x}"
