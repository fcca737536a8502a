"""A shadow copy of a project for a checker that reads imported files from the disk only.

    shadow = Shadow.of(root)        # the project's Python files copied, the rest linked
    shadow.write(path, text)        # a file's new text (a path of the project or of the copy)
    shadow.restore(path)            # the file's text on the project's disk again
    shadow.remove()

Python sources (`.py`, `.pyi`) are copied, so that writing one never touches the project; every
other file, and the directories that hold no project code (`.git`, virtual environments,
`node_modules`, caches), are symbolic links to the project's, so the checker finds the same
configuration, interpreter and installed packages as on the project itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

# directories linked whole: no project source to write in them
LINKED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
    }
)
SOURCES = (".py", ".pyi")


@dataclass(frozen=True)
class Shadow:
    project: Path  # the project's root (resolved)
    root: Path  # the copy's root

    @classmethod
    def of(cls, project: Path) -> Shadow:
        project = project.resolve()
        root = Path(tempfile.mkdtemp(prefix="typeinf-checker-")) / project.name
        root.mkdir()
        for here, dirs, files in os.walk(project):
            rel = Path(here).relative_to(project)
            into = root / rel
            for d in list(dirs):
                if d in LINKED_DIRS or (Path(here) / d).is_symlink():
                    (into / d).symlink_to(Path(here) / d)
                    dirs.remove(d)
                else:
                    (into / d).mkdir()
            for f in files:
                src = Path(here) / f
                if f.endswith(SOURCES) and not src.is_symlink():
                    shutil.copyfile(src, into / f)
                else:
                    (into / f).symlink_to(src)
        return cls(project, root)

    def mirror(self, path: Path) -> Path:
        """Where a project file is in the copy (any other path: itself)."""
        try:
            return self.root / path.relative_to(self.project)
        except ValueError:
            return path

    def original(self, path: Path) -> Path:
        """Where a file of the copy is in the project (any other path: itself)."""
        try:
            return self.project / path.relative_to(self.root)
        except ValueError:
            return path

    def write(self, path: Path, text: str) -> bool:
        """Make `text` the file's content in the copy; whether it changed (a path outside the
        project is not written)."""
        return self._put(path, text.encode("utf-8", "surrogatepass"))

    def _put(self, path: Path, data: bytes) -> bool:
        at = self.mirror(self.original(path))
        if not at.is_relative_to(self.root):
            return False
        if at.is_file() and not at.is_symlink() and at.read_bytes() == data:
            return False
        at.parent.mkdir(parents=True, exist_ok=True)
        if at.is_symlink():
            at.unlink()
        tmp = at.with_name(at.name + ".typeinf-tmp")
        tmp.write_bytes(data)
        tmp.replace(at)
        return True

    def restore(self, path: Path) -> bool:
        """The project's text of the file in the copy again; whether it changed."""
        src = self.original(path)
        if not src.is_file():
            return False
        return self._put(src, src.read_bytes())

    def remove(self) -> None:
        shutil.rmtree(self.root.parent, ignore_errors=True)
