"""`typeinf annotate --verify`: keep only annotations the project's type checker accepts.

    verify_all(targets, root) -> list[Verdict]        (kept, removed, unattributed) per file

The checker (pyright or mypy for Python, `tsc --noEmit` for TypeScript, as installed by the
user) runs once over every file before annotation and once per round after it, all files in one
run (TypeScript: one copy of the project, checked with `--incremental`).  An error the annotated
file has and the original had not is *attributed* to the annotations it can be traced to:

  on the line of an annotation          that annotation (the one whose name the message quotes, if
                                        several share the line)
  quoting a function that was annotated `Argument ... to "f"`: f's annotated parameters (the one
                                        quoted, if any); otherwise f's return
  at a use of an annotated name         the nearest annotated binding of a name on that line

Attributed annotations are removed and the rest checked again (a few rounds at most); an error
that cannot be attributed removes nothing and is reported.  Checks run on copies (next to the
original for Python, in a temporary copy of the project for TypeScript), never on the user's files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..lang import lang_family
from ..slices import extract
from .edits import Edit

MAX_ROUNDS = 4
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_QUOTED = re.compile(r'"([^"]+)"|\'([^\']+)\'|`([^`]+)`')  # pyright/mypy, tsc, pyrefly


class NoChecker(RuntimeError):
    pass


@dataclass
class Target:
    path: Path
    language: str
    original: bytes
    edits: list[Edit]
    annotate: Callable[[list[Edit]], bytes]  # the original with these edits applied


@dataclass
class Verdict:
    kept: list[Edit]
    removed: list[Edit] = field(default_factory=list)
    unattributed: list[tuple[int, str]] = field(default_factory=list)  # new errors no annotation explains


Errors = list[tuple[int, str]]  # (line, message)


def find_checker(language: str, root: Path | None = None) -> list[str]:
    if language == "python":
        for exe in ("pyright", "mypy", "basedpyright"):  # the plain checkers first: basedpyright is stricter
            path = shutil.which(exe)
            if path:
                return [path]
        raise NoChecker("--verify needs pyright or mypy on PATH")
    path = shutil.which("tsc")
    if path:
        return [path]
    for d in [root or Path.cwd(), *(root or Path.cwd()).parents]:
        local = d / "node_modules" / ".bin" / "tsc"
        if local.exists():
            return [str(local)]
    raise NoChecker("--verify needs tsc (npm install typescript)")


def _python_errors(checker: list[str], texts: dict[Path, bytes]) -> dict[Path, Errors]:
    """The errors of each text checked as if it were its path, in one checker run."""
    copies: dict[str, Path] = {}
    try:
        for path, data in texts.items():
            fd, tmp = tempfile.mkstemp(prefix=f"_typeinf_verify_{path.stem}_", suffix=".py", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            copies[os.path.realpath(tmp)] = path
        out: dict[Path, Errors] = {p: [] for p in texts}
        if Path(checker[0]).name.startswith(("pyright", "basedpyright")):
            proc = subprocess.run(
                [*checker, "--outputjson", *copies], capture_output=True, text=True, timeout=900
            )
            try:
                diags = json.loads(proc.stdout).get("generalDiagnostics", [])
            except ValueError:
                return out
            for d in diags:
                owner = copies.get(os.path.realpath(d.get("file", "")))
                if owner is not None and d.get("severity") == "error":
                    out[owner].append((d["range"]["start"]["line"] + 1, d["message"]))
            return out
        proc = subprocess.run(
            [
                *checker,
                "--no-error-summary",
                "--show-column-numbers",
                "--follow-imports=silent",
                "--ignore-missing-imports",
                "--no-incremental",
                "--check-untyped-defs",
                *copies,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        for line in proc.stdout.splitlines():
            m = re.match(r"(.*?):(\d+):(?:\d+:)? error: (.*?)(?:  \[[\w-]+\])?$", line)
            if m:
                owner = copies.get(os.path.realpath(m.group(1)))
                if owner is not None:
                    out[owner].append((int(m.group(2)), m.group(3)))
        return out
    finally:
        for tmp in copies:
            if os.path.exists(tmp):
                os.unlink(tmp)


class _TsProject:
    """A copy of the project (node_modules linked) in which tsc checks the annotated files; kept
    for all rounds, so `--incremental` re-checks only what changed."""

    def __init__(self, checker: list[str], root: Path) -> None:
        self.checker, self.root = checker, root.resolve()
        self.tmp = tempfile.TemporaryDirectory()
        self.copy = Path(self.tmp.name) / "p"
        shutil.copytree(
            self.root, self.copy, symlinks=True, ignore=shutil.ignore_patterns("node_modules", ".git")
        )
        if (self.root / "node_modules").exists():
            (self.copy / "node_modules").symlink_to(self.root / "node_modules")

    def errors(self, texts: dict[Path, bytes]) -> dict[Path, Errors]:
        rel = {p: p.resolve().relative_to(self.root).as_posix() for p in texts}
        for p, data in texts.items():
            (self.copy / rel[p]).write_bytes(data)
        build = ["--incremental", "--tsBuildInfoFile", str(Path(self.tmp.name) / "verify.tsbuildinfo")]
        if (self.copy / "tsconfig.json").exists():
            args = ["--noEmit", "-p", str(self.copy), *build]
        else:
            args = ["--noEmit", *build, *(str(self.copy / r) for r in rel.values())]
        proc = subprocess.run(
            [*self.checker, *args, "--pretty", "false"],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=self.copy,
        )
        by_rel = {r: p for p, r in rel.items()}
        out: dict[Path, Errors] = {p: [] for p in texts}
        for line in proc.stdout.splitlines():
            m = re.match(r"(.*?)\((\d+),\d+\): error (TS\d+: .*)", line)
            if m is None:
                continue
            name = Path(m.group(1))
            try:
                key = (
                    (name if name.is_absolute() else self.copy / name)
                    .resolve()
                    .relative_to(self.copy.resolve())
                    .as_posix()
                )
            except ValueError:
                continue
            if key in by_rel:
                out[by_rel[key]].append((int(m.group(2)), m.group(3)))
        return out

    def close(self) -> None:
        self.tmp.cleanup()


def verify_all(targets: Sequence[Target], root: Path) -> list[Verdict]:
    """Each target's annotations split into those the checker accepts and those it rejects."""
    verdicts = [Verdict(kept=list(t.edits)) for t in targets]
    by_lang: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        by_lang.setdefault(lang_family(t.language), []).append(i)
    for fam, idx in by_lang.items():
        checker = find_checker(fam, root)
        ts = _TsProject(checker, root) if fam == "typescript" else None
        try:

            def check(
                texts: dict[Path, bytes], ts: _TsProject | None = ts, checker: list[str] = checker
            ) -> dict[Path, Errors]:
                return ts.errors(texts) if ts is not None else _python_errors(checker, texts)

            _verify_group([targets[i] for i in idx], [verdicts[i] for i in idx], check)
        finally:
            if ts is not None:
                ts.close()
    return verdicts


def _verify_group(
    targets: list[Target], verdicts: list[Verdict], check: Callable[[dict[Path, bytes]], dict[Path, Errors]]
) -> None:
    before = check({t.path: t.original for t in targets})
    active = [i for i, v in enumerate(verdicts) if v.kept]
    for _ in range(MAX_ROUNDS):
        if not active:
            return
        texts = {targets[i].path: targets[i].annotate(verdicts[i].kept) for i in active}
        now = check(texts)
        still = []
        for i in active:
            t, v = targets[i], verdicts[i]
            new = new_errors(before.get(t.path, []), now.get(t.path, []))
            if not new:
                v.unattributed = []
                continue
            blamed, unexplained = attribute(new, texts[t.path], t.original, t.language, v.kept)
            v.unattributed = unexplained
            if blamed:
                v.kept = [e for e in v.kept if e not in blamed]
                v.removed += [e for e in t.edits if e in blamed]
                still.append(i)
        active = [i for i in still if verdicts[i].kept]
        if not still:
            return


def new_errors(before: Errors, now: Errors) -> Errors:
    """The errors of `now` beyond those of `before` (compared by message: lines move)."""
    extra = Counter(msg for _, msg in now) - Counter(msg for _, msg in before)
    out = []
    for line, msg in now:
        if extra[msg] > 0:
            extra[msg] -= 1
            out.append((line, msg))
    return out


@dataclass(frozen=True)
class _Site:
    line: int  # in the annotated text
    owner: str  # the function's name (params, return) or the variable's
    name: str
    kind: str
    type: str
    index: int = -1  # a parameter's position among its function's parameters (`self` not counted)


def _edit_sites(new: bytes, language: str, edits: list[Edit], original: bytes) -> dict[Edit, _Site]:
    """Each edit's line in the annotated text, its function's name and its own name."""
    slices = extract(original, language)
    before = {(s.kind, s.span[0]): (s.kind, s.qualname, s.name) for s in slices}
    position: dict[tuple[str, str], int] = {}
    seen: Counter[str] = Counter()
    for s in slices:
        if s.kind == "param":
            position[(s.qualname, s.name)] = seen[s.qualname]
            seen[s.qualname] += 1
    after = {(s.kind, s.qualname, s.name): s.line for s in extract(new, language)}
    out = {}
    for e in edits:
        key = before.get((e.kind, e.start))
        if key is not None and key in after:
            kind, qualname, name = key
            owner = qualname.rsplit(".", 1)[-1] if kind != "var" else name
            out[e] = _Site(after[key], owner, name, kind, e.type, position.get((qualname, name), -1))
    return out


def _named_by_type(found: set[Edit], quoted: set[str], sites: dict[Edit, _Site]) -> set[Edit]:
    """Of several suspects, those whose written type the message quotes (all, if none is)."""
    typed = {e for e in found if sites[e].type.strip('"') in quoted}
    return typed or found


def attribute(
    errors: Errors, new: bytes, original: bytes, language: str, edits: list[Edit]
) -> tuple[set[Edit], Errors]:
    """The edits the errors are traced to, and the errors traced to none."""
    sites = _edit_sites(new, language, edits, original)
    lines = new.decode("utf-8", "replace").splitlines()
    blamed: set[Edit] = set()
    unexplained: Errors = []
    for line, msg in errors:
        quoted = {a or b or c for a, b, c in _QUOTED.findall(msg)}
        # about a call: the callee's params (pyrefly's messages start with their code)
        call = (
            re.match(
                r"(bad-argument-type |bad-argument-count |no-matching-overload )?(Argument|No overload)", msg
            )
            is not None
        )
        found = (
            (call and _by_function(msg, quoted, sites))
            or _on_its_line(line, quoted, sites)
            or _by_function(msg, quoted, sites)
            or _returned(msg, line, new, language, sites)
            or _at_a_use(line, lines, sites)
        )
        if found:
            blamed |= _named_by_type(found, quoted, sites)
        else:
            unexplained.append((line, msg))
    return blamed, unexplained


def _on_its_line(line: int, quoted: set[str], sites: dict[Edit, _Site]) -> set[Edit]:
    here = {e for e, s in sites.items() if s.line == line}
    named = {e for e in here if sites[e].name in quoted}
    return named or here


def _returned(msg: str, line: int, new: bytes, language: str, sites: dict[Edit, _Site]) -> set[Edit]:
    """An error about a returned value (`Incompatible return value type`, tsc's TS2322 at a
    `return`): the written return type of the function the line is in."""
    if not re.search(r"return value|TS2322|TS2355|TS2366|bad-return", msg):
        return set()
    from ..slices.source import parse

    root = parse(new, language).root_node
    node = root.descendant_for_point_range((line - 1, 0), (line - 1, 0))
    while node is not None and "function" not in node.type and "method" not in node.type:
        node = node.parent
    if node is None:
        return set()
    name = node.child_by_field_name("name")
    at = (name or node).start_point[0] + 1
    return {e for e, s in sites.items() if s.kind == "return" and s.line == at}


def _by_function(msg: str, quoted: set[str], sites: dict[Edit, _Site]) -> set[Edit]:
    mentioned = quoted | set(_IDENT.findall(" ".join(quoted)))  # `"def _padleft(width: int) -> str"`
    owners = {s.owner for s in sites.values() if s.kind != "var"} & mentioned
    if not owners:
        return set()
    params = {e for e, s in sites.items() if s.owner in owners and s.kind == "param"}
    returns = {e for e, s in sites.items() if s.owner in owners and s.kind == "return"}
    if re.search(r"^(\S+ )?(Argument|No overload)", msg) and params:
        named = {e for e in params if sites[e].name in quoted}
        m = re.match(r"Argument (\d+) ", msg)
        if not named and m is not None:
            named = {e for e in params if sites[e].index == int(m.group(1)) - 1}
        return named or params
    return returns or params  # the function's type as a whole: its return first, then its parameters


def _at_a_use(line: int, lines: list[str], sites: dict[Edit, _Site]) -> set[Edit]:
    if not 0 < line <= len(lines):
        return set()
    names = set(_IDENT.findall(lines[line - 1]))
    best: dict[str, tuple[int, Edit]] = {}
    for e, s in sites.items():
        if s.kind != "return" and s.name.split(".")[-1] in names and s.line <= line:
            key = s.name
            if key not in best or best[key][0] < s.line:
                best[key] = (s.line, e)
    return {e for _, e in best.values()}
