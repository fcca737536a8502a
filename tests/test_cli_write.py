"""`typeinf annotate` writing files: read-only files, what is counted as written, encodings
(real files, the real CLI in a subprocess, the shipped model)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from test_annotate import PY, PY_ANNOTATED, project, run

LATIN1 = '''# -*- coding: latin-1 -*-
"""Caf\xe9 settings."""
NAME = "caf\xe9"


def is_enabled(config, strict=False):
    if strict:
        return False
    return "\xe9" in NAME
'''


def test_read_only_file_is_not_replaced_and_the_rest_is_written(tmp_path):
    """The rename of a temporary file over a 0444 file succeeds for root and for whoever owns the
    directory: typeinf must look at the mode bits itself (os.access says yes to root)."""
    root = project(tmp_path, {"ro.py": PY, "rw.py": PY})
    os.chmod(root / "ro.py", 0o444)
    before = (root / "ro.py").stat()
    r = run(["annotate", "--format", "json", "ro.py", "rw.py"], root)
    assert r.returncode == 123, r.stderr
    assert (root / "ro.py").read_text() == PY
    after = (root / "ro.py").stat()
    assert (after.st_ino, stat.S_IMODE(after.st_mode)) == (before.st_ino, 0o444)  # not replaced either
    assert "ro.py: not written: read-only file" in r.stderr
    assert (root / "rw.py").read_text() == PY_ANNOTATED
    # only what was written is counted and reported
    assert {row["file"] for row in json.loads(r.stdout)} == {"rw.py"}
    assert "1 file(s) annotated: 2 param, 2 return" in r.stderr and "1 file(s) not processed" in r.stderr
    assert not [p for p in root.iterdir() if p.name.endswith(".typeinf")]


def test_nothing_written_nothing_counted(tmp_path):
    """Every file fails to be written: the summary and the json report say nothing was annotated."""
    root = project(tmp_path, {"a.py": PY, "b.py": PY})
    for name in ("a.py", "b.py"):
        os.chmod(root / name, 0o400)
    r = run(["annotate", "--format", "json", "."], root)
    assert r.returncode == 123
    assert json.loads(r.stdout) == []
    assert "0 file(s) annotated: nothing" in r.stderr and "2 file(s) not processed" in r.stderr


def test_pep263_declared_encoding_is_read_and_written_back(tmp_path):
    root = project(tmp_path, {})
    (root / "lat.py").write_bytes(LATIN1.encode("latin-1"))
    r = run(["annotate", "--format", "json", "lat.py"], root)
    assert r.returncode == 0, r.stderr
    out = (root / "lat.py").read_bytes()
    want = LATIN1.replace("strict=False):", "strict: bool = False) -> bool:").encode("latin-1")
    assert out == want  # still latin-1, only the annotations inserted
    rows = json.loads(r.stdout)
    # positions are in code points of the decoded text: line 6, `strict` after `def is_enabled(config, `
    (strict,) = [row for row in rows if row["name"] == "strict"]
    assert (strict["line"], strict["column"]) == (6, LATIN1.splitlines()[5].index("strict"))
    assert run(["annotate", "--check", "lat.py"], root).returncode == 0
    # slices of the same file: the non-ASCII text before the site does not shift it
    r = run(["slices", "lat.py"], root)
    assert r.returncode == 0, r.stderr
    assert any(s["name"] == "NAME" and s["line"] == 3 for s in json.loads(r.stdout))
    # a file that is not in its declared encoding is still reported
    (root / "bad.py").write_bytes(b"# coding: ascii\nx = '\xe9'\n")
    r = run(["slices", "bad.py"], root)
    assert r.returncode == 123 and "bad.py: skipped: not valid ascii" in r.stderr


def test_utf8_bom_is_kept(tmp_path):
    root = project(tmp_path, {})
    (root / "bom.py").write_bytes(b"\xef\xbb\xbf" + PY.encode())
    ts = "export function isEmpty(items) {\n  if (items.length === 0) {\n    return true;\n  }\n  return false;\n}\n"
    (root / "bom.ts").write_bytes(b"\xef\xbb\xbf" + ts.encode())
    r = run(["annotate", "--min-confidence", "0.5", "bom.py", "bom.ts"], root)
    assert r.returncode == 0, r.stderr
    assert (root / "bom.py").read_bytes() == b"\xef\xbb\xbf" + PY_ANNOTATED.encode()
    want_ts = ts.replace("isEmpty(items) {", "isEmpty(items): boolean {")
    assert (root / "bom.ts").read_bytes() == b"\xef\xbb\xbf" + want_ts.encode()


def test_latin1_annotated_from_stdin(tmp_path):
    root = project(tmp_path, {})
    r = run_stdin(["annotate", "-", "--stdin-filename", "lat.py"], root, LATIN1.encode("latin-1"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == LATIN1.replace("strict=False):", "strict: bool = False) -> bool:").encode("latin-1")


def run_stdin(args: list[str], cwd: Path, data: bytes):  # noqa: ANN201
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "typeinf", *args], cwd=cwd, input=data, capture_output=True, timeout=300
    )


def test_a_file_deleted_during_the_run_is_not_counted(tmp_path):
    """The type checker of --verify (a stand-in for mypy on PATH) deletes a file while annotate
    runs: it is reported as not written, and neither counted nor in the json report."""
    root = project(tmp_path, {"a.py": PY, "gone.py": PY})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mypy").write_text(f'#!/bin/sh\nrm -f "{root / "gone.py"}"\n')
    os.chmod(bin_dir / "mypy", 0o755)
    path = os.pathsep.join(
        [
            str(bin_dir),
            *[p for p in os.environ.get("PATH", "").split(os.pathsep) if not (Path(p) / "pyright").exists()],
        ]
    )
    r = run(["annotate", "--verify", "--format", "json", "a.py", "gone.py"], root, {"PATH": path})
    assert r.returncode == 123, r.stderr
    assert "gone.py: not written:" in r.stderr and "No such file or directory" in r.stderr
    assert not (root / "gone.py").exists()
    assert (root / "a.py").read_text() == PY_ANNOTATED
    assert {row["file"] for row in json.loads(r.stdout)} == {"a.py"}
    assert "1 file(s) annotated: 2 param, 2 return" in r.stderr
