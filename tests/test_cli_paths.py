"""Which files the CLI processes and how it answers odd paths and arguments (real files, the real
CLI in a subprocess, the shipped model): symbolic link loops, exclude on named files, missing
paths, empty directories, stdin, --check listings, usage errors and help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_annotate import PY, PY_ANNOTATED, project, run

ROOT = Path(__file__).resolve().parents[1]


def run_stdin(args: list[str], cwd: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "typeinf", *args], cwd=cwd, input=data, capture_output=True, timeout=300
    )


def test_symlink_loops_are_skipped_and_the_rest_processed(tmp_path):
    root = project(tmp_path, {"ok.py": PY})
    (root / "self.py").symlink_to("self.py")
    (root / "a.py").symlink_to("b.py")
    (root / "b.py").symlink_to("a.py")
    r = run(["annotate", "."], root)
    assert r.returncode == 123, r.stderr
    assert "Traceback" not in r.stderr
    for name in ("self.py", "a.py", "b.py"):
        assert f"{name}: skipped: symbolic link loop" in r.stderr
    assert (root / "ok.py").read_text() == PY_ANNOTATED
    # named on the command line, first (the project root is looked for from it), beside a good file
    (root / "ok2.py").write_text(PY)
    r = run(["annotate", "self.py", "ok2.py"], root)
    assert r.returncode == 123 and "self.py: skipped: symbolic link loop" in r.stderr, r.stderr
    assert (root / "ok2.py").read_text() == PY_ANNOTATED
    r = run(["slices", "a.py"], root)
    assert r.returncode == 123 and json.loads(r.stdout) == [] and "Traceback" not in r.stderr


def test_exclude_applies_to_files_named_on_the_command_line(tmp_path):
    """pre-commit names every file: `exclude` must hold for named files too (ruff's force-exclude)."""
    root = project(tmp_path, {"app/models.py": PY, "app/migrations/0001_initial.py": PY, "legacy_old.py": PY})
    with open(root / "pyproject.toml", "a") as fh:
        fh.write('\n[tool.typeinf]\nexclude = ["migrations/"]\n')
    r = run(
        [
            "annotate",
            "app/models.py",
            "app/migrations/0001_initial.py",
            "legacy_old.py",
            "--exclude",
            "*_old.py",
        ],
        root,
    )
    assert r.returncode == 0, r.stderr
    assert (root / "app" / "models.py").read_text() == PY_ANNOTATED
    assert (root / "app" / "migrations" / "0001_initial.py").read_text() == PY
    assert (root / "legacy_old.py").read_text() == PY
    assert "app/migrations/0001_initial.py: skipped: excluded" in r.stderr
    # the same from a subdirectory: patterns are relative to the pyproject.toml that sets them
    r = run(["annotate", "--check", "migrations/0001_initial.py"], root / "app")
    assert r.returncode == 0 and "skipped: excluded" in r.stderr, r.stderr
    # a named directory that is excluded is not walked
    r = run(["slices", "app/migrations"], root)
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_check_lists_the_files_that_would_change(tmp_path):
    root = project(tmp_path, {"a.py": PY, "pkg/b.py": PY, "done.py": PY_ANNOTATED})
    r = run(["annotate", "--check", "."], root)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert "typeinf: would annotate a.py" in lines and "typeinf: would annotate pkg/b.py" in lines
    assert not [x for x in lines if "would annotate done.py" in x]
    assert lines[-1].startswith("typeinf: 2 file(s) would be annotated")  # the count comes last
    assert (root / "a.py").read_text() == PY


def test_empty_directory_and_missing_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    for cmd in (["slices"], ["annotate", "--check"]):
        r = run([*cmd, "empty"], tmp_path)
        assert r.returncode == 0, r.stderr
        assert "no Python or TypeScript files found" in r.stderr
    r = run(["slices", "no_such_dir"], tmp_path)
    assert r.returncode == 2 and "no_such_dir: no such file or directory" in r.stderr
    (tmp_path / "a.py").write_text(PY)
    r = run(["annotate", "a.py", "typo.py"], tmp_path)
    assert r.returncode == 2 and (tmp_path / "a.py").read_text() == PY  # nothing done on a usage error


def test_stdin_to_stdout(tmp_path):
    root = project(tmp_path, {})
    r = run_stdin(["annotate", "-"], root, PY.encode())
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == PY_ANNOTATED
    assert list(root.iterdir()) == [root / "pyproject.toml"]  # nothing written to disk
    r = run_stdin(["annotate", "--check", "-", "--stdin-filename", "src/m.py"], root, PY.encode())
    assert r.returncode == 1 and b"would annotate src/m.py" in r.stderr and r.stdout == b""
    r = run_stdin(["annotate", "-"], root, PY_ANNOTATED.encode())  # nothing to add: the input unchanged
    assert r.returncode == 0 and r.stdout.decode() == PY_ANNOTATED
    ts = "export function isEmpty(items) {\n  return items.length === 0;\n}\n"
    r = run_stdin(["annotate", "--min-confidence", "0.5", "-", "--stdin-filename", "a.ts"], root, ts.encode())
    assert r.returncode == 0 and b"isEmpty(items): boolean {" in r.stdout, r.stderr
    r = run_stdin(["slices", "-", "--stdin-filename", "m.py"], root, PY.encode())
    assert r.returncode == 0 and {s["file"] for s in json.loads(r.stdout)} == {"m.py"}
    # an excluded file comes back as it was (editors run the formatter on every file)
    with open(root / "pyproject.toml", "a") as fh:
        fh.write('\n[tool.typeinf]\nexclude = ["migrations/"]\n')
    r = run_stdin(["annotate", "-", "--stdin-filename", "migrations/m.py"], root, PY.encode())
    assert r.returncode == 0 and r.stdout.decode() == PY
    # a syntax error: nothing on stdout (the editor keeps its buffer), exit 123
    r = run_stdin(["annotate", "-"], root, b"def f(x=1):\n    return (\n")
    assert r.returncode == 123 and r.stdout == b""
    assert run_stdin(["annotate", "-", "a.py"], root, b"").returncode == 2
    assert run_stdin(["annotate", "-", "--stdin-filename", "a.txt"], root, b"").returncode == 2


def test_usage_errors(tmp_path):
    (tmp_path / "a.py").write_text(PY)
    r = run(["lsp", "--tcp", "nonsense"], tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "HOST:PORT" in r.stderr and "usage: typeinf lsp" in r.stderr
    r = run(["annotate", "--no-such-flag", "a.py"], tmp_path)
    assert r.returncode == 2
    assert "usage: typeinf annotate" in r.stderr and "unrecognized arguments: --no-such-flag" in r.stderr
    r = run(["annotate", "--diff", "--format", "json", "a.py"], tmp_path)
    assert r.returncode == 2 and "--diff" in r.stderr and r.stdout == ""
    assert (tmp_path / "a.py").read_text() == PY


def test_every_flag_has_help_with_its_default():
    from typeinf.cli import SUBPARSERS, build_parser

    build_parser()
    for name, parser in SUBPARSERS.items():
        for action in parser._actions:
            if not action.option_strings or action.option_strings == ["-h", "--help"]:
                continue
            flag = action.option_strings[-1]
            assert action.help, f"typeinf {name} {flag}: no help"
            assert "default" in action.help, f"typeinf {name} {flag}: default not shown"
    r = subprocess.run(
        [sys.executable, "-m", "typeinf", "annotate", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert r.returncode == 0
    for text in ("--project DIR", "project root", "--threads N", "threads the model runs on"):
        assert text in r.stdout
