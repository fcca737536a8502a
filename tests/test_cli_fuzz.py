"""A bounded fuzzer for the CLI's file-system cases (#19): random trees of good files mixed with
symlink loops, broken links, read-only files, undecodable and binary files, NUL bytes, deep nesting,
syntax errors and empty files; `typeinf annotate` (real model, real files) must never crash, must
exit 0 / 123, must leave every file it could not process byte for byte as it was (read-only files
keep their inode), must write the good ones so that they compile, and a second run must change
nothing."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = "def is_on(config, strict=False):\n    if strict:\n        return False\n    return True\n"
BAD: dict[str, bytes] = {
    "syntax": b"def f(x=1):\n    return (\n",
    "binary": bytes(range(256)) * 4,
    "nul": b"x = 1\x00\n",
    "latin1_undeclared": "x = 'caf\xe9'\n".encode("latin-1"),
    "deep": ("def is_on(strict=False):\n    return " + "(" * 1500 + "1" + ")" * 1500 + "\n").encode(),
    "empty": b"",
}


def _tree(root: Path, rng: random.Random) -> tuple[dict[Path, bytes], set[Path]]:
    """Files written (path -> content) and the paths that must stay as they are."""
    files: dict[Path, bytes] = {}
    frozen: set[Path] = set()
    (root / "pyproject.toml").write_text('[project]\nname = "fz"\nrequires-python = ">=3.10"\n')
    for i in range(rng.randint(3, 7)):
        d = root / rng.choice(["", "pkg", "pkg/sub", "other"])
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"good{i}.py"
        p.write_text(GOOD)
        files[p] = GOOD.encode()
    for name in rng.sample(sorted(BAD), rng.randint(2, len(BAD))):
        p = root / f"bad_{name}.py"
        p.write_bytes(BAD[name])
        files[p] = BAD[name]
        if name != "empty":
            frozen.add(p)
    kind = rng.choice(["self", "pair", "broken", "dir"])
    if kind == "self":
        os.symlink("loop.py", root / "loop.py")
    elif kind == "pair":
        os.symlink("b_link.py", root / "a_link.py")
        os.symlink("a_link.py", root / "b_link.py")
    elif kind == "broken":
        os.symlink("missing.py", root / "dangling.py")
    else:
        (root / "pkg").mkdir(exist_ok=True)
        os.symlink("..", root / "pkg" / "up")  # a directory loop
    ro = root / "readonly.py"
    ro.write_text(GOOD)
    os.chmod(ro, 0o444)
    files[ro] = GOOD.encode()
    frozen.add(ro)
    return files, frozen


def _annotate(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "typeinf", "annotate", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("seed", range(4))
def test_random_trees_never_crash_nor_touch_what_cannot_be_processed(tmp_path, seed):
    rng = random.Random(seed)
    files, frozen = _tree(tmp_path, rng)
    inodes = {p: p.stat().st_ino for p in frozen}
    r = _annotate(tmp_path)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 123), r.stderr
    assert r.returncode == 123  # every tree holds something that cannot be processed
    for p in frozen:
        assert p.read_bytes() == files[p], p
        assert p.stat().st_ino == inodes[p]
    assert stat.S_IMODE((tmp_path / "readonly.py").stat().st_mode) == 0o444
    for p, data in files.items():
        if p.name.startswith("good"):
            text = p.read_text()
            assert text != data.decode() and "strict: bool = False" in text, p
            compile(text, str(p), "exec")
    written = {p: p.read_bytes() for p in files}
    again = _annotate(tmp_path)
    assert "Traceback" not in again.stderr and again.returncode in (0, 123)
    assert {p: p.read_bytes() for p in files} == written  # a second run changes nothing
    assert not [p for p in tmp_path.rglob("*.typeinf")]  # no temporary file left behind
