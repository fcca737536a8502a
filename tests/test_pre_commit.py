"""The pre-commit hooks, run by the real `pre-commit` tool on a temporary git repository
(pre-commit installs this repository, model included, into its own environment)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = "def report(rows, verbose=False):\n    for row in rows:\n        print(row)\n"


def git(args: list[str], cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def pre_commit(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    env = dict(os.environ, PRE_COMMIT_COLOR="never")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=900, env=env)


def test_hooks_annotate_and_check(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(["init", "-q"], repo)
    git(["config", "user.email", "t@example.com"], repo)
    git(["config", "user.name", "t"], repo)
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\nrequires-python = ">=3.10"\n')
    (repo / "m.py").write_text(SRC)
    (repo / "n.py").write_text(SRC)
    git(["add", "."], repo)
    check = pre_commit(["try-repo", str(ROOT), "typeinf-check", "--files", "n.py"], repo)
    assert check.returncode == 1, check.stdout + check.stderr
    assert (repo / "n.py").read_text() == SRC  # the check variant writes nothing
    fix = pre_commit(["try-repo", str(ROOT), "typeinf", "--files", "m.py"], repo)
    assert fix.returncode == 1, fix.stdout + fix.stderr  # files were modified: the hook reports it
    assert "def report(rows, verbose: bool = False) -> None:" in (repo / "m.py").read_text()
    again = pre_commit(["try-repo", str(ROOT), "typeinf", "--files", "m.py"], repo)
    assert again.returncode == 0, again.stdout + again.stderr
