"""`typeinf annotate --verify`: keep only annotations the project's type checker accepts.

The checker (pyright or mypy for Python, `tsc --noEmit` for TypeScript, as installed by the
user) runs on the file before and after annotation; while the annotated file has errors the
original did not, the inserted annotation on the line an error points at is removed (one at a
time) and the checker runs again.  The check runs on a copy next to the original (Python) or a
copy of the project (TypeScript), never on the user's file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..slices import extract
from .edits import Edit

MAX_ROUNDS = 12


class NoChecker(RuntimeError):
    pass


def find_checker(language: str) -> list[str]:
    if language == "python":
        for exe in ("pyright", "mypy"):
            path = shutil.which(exe)
            if path:
                return [path]
        raise NoChecker("--verify needs pyright or mypy on PATH")
    path = shutil.which("tsc")
    if path:
        return [path]
    local = Path.cwd() / "node_modules" / ".bin" / "tsc"
    if local.exists():
        return [str(local)]
    raise NoChecker("--verify needs tsc (npm install typescript)")


def _python_errors(checker: list[str], path: Path, data: bytes) -> list[tuple[int, str]]:
    """(line, message) of the errors in `data` checked as if it were `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f"_typeinf_verify_{path.stem}_", suffix=".py", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if Path(checker[0]).name.startswith("pyright"):
            proc = subprocess.run([*checker, "--outputjson", tmp], capture_output=True, text=True, timeout=600)
            try:
                diags = json.loads(proc.stdout).get("generalDiagnostics", [])
            except ValueError:
                return []
            return [(d["range"]["start"]["line"] + 1, d["message"]) for d in diags if d.get("severity") == "error"]
        proc = subprocess.run([*checker, "--no-error-summary", "--show-column-numbers", "--follow-imports=silent",
                               "--ignore-missing-imports", tmp], capture_output=True, text=True, timeout=600)  # fmt: skip
        out = []
        for line in proc.stdout.splitlines():
            m = re.match(r".*?:(\d+):(?:\d+:)? error: (.*)", line)
            if m:
                out.append((int(m.group(1)), m.group(2)))
        return out
    finally:
        os.unlink(tmp)


def _ts_errors(checker: list[str], root: Path, path: Path, data: bytes) -> list[tuple[int, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "p"
        shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("node_modules", ".git"))
        if (root / "node_modules").exists():
            (copy / "node_modules").symlink_to(root / "node_modules")
        target = copy / path.resolve().relative_to(root.resolve())
        target.write_bytes(data)
        args = ["--noEmit", "-p", str(copy)] if (copy / "tsconfig.json").exists() else ["--noEmit", str(target)]
        proc = subprocess.run([*checker, *args, "--pretty", "false"], capture_output=True, text=True, timeout=900)
        out = []
        rel = target.relative_to(copy).as_posix()
        for line in proc.stdout.splitlines():
            m = re.match(r"(.*?)\((\d+),\d+\): error (TS\d+: .*)", line)
            if m and Path(m.group(1)).as_posix().endswith(rel):
                out.append((int(m.group(2)), m.group(3)))
        return out


def verify(path: Path, language: str, original: bytes, edits: list[Edit],
           annotate: Callable[[list[Edit]], bytes], root: Path | None = None) -> tuple[list[Edit], list[Edit]]:  # fmt: skip
    """(kept, removed): the edits whose annotated file has no error the original lacked."""
    checker = find_checker(language)

    def errors(data: bytes) -> list[tuple[int, str]]:
        if language == "python":
            return _python_errors(checker, path, data)
        return _ts_errors(checker, root or path.parent, path, data)

    before = Counter(msg for _, msg in errors(original))
    kept = list(edits)
    removed: list[Edit] = []
    for _ in range(MAX_ROUNDS):
        if not kept:
            break
        new = annotate(kept)
        now = errors(new)
        extra = Counter(msg for _, msg in now) - before
        if not extra:
            break
        bad = [(line, msg) for line, msg in now if msg in extra]
        sites = _edit_sites(new, language, kept, original)
        culprit = next((e for e in kept if e in sites and sites[e][0] in {ln for ln, _ in bad}), None)
        if culprit is None:  # an error at a use (a call, a return): the edit whose function it names
            quoted = {q for _, msg in bad for q in re.findall(r'"([^"]+)"', msg)}
            culprit = next((e for e in kept if e in sites and sites[e][1] in quoted), None)
        if culprit is None:  # nothing points anywhere: drop the last one and retry
            culprit = kept[-1]
        kept.remove(culprit)
        removed.append(culprit)
    return kept, removed


def _edit_sites(new: bytes, language: str, edits: list[Edit], original: bytes) -> dict[Edit, tuple[int, str]]:
    """Each edit's line in the annotated file and the name of its function (or variable)."""
    before = {(s.kind, s.span[0]): (s.kind, s.qualname, s.name) for s in extract(original, language)}
    after = {(s.kind, s.qualname, s.name): s.line for s in extract(new, language)}
    out = {}
    for e in edits:
        key = before.get((e.kind, e.start))
        if key is not None and key in after:
            owner = key[1].rsplit(".", 1)[-1] if key[0] != "var" else key[2]
            out[e] = (after[key], owner)
    return out
