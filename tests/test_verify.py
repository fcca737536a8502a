"""`annotate --verify`: only annotations a new checker error is traced to are removed; errors traced
to none are reported, and remove nothing.  `attribute` is tested with fixed errors; the end-to-end
test runs the real mypy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typeinf.annotate.edits import Edit
from typeinf.annotate.python import annotate_python
from typeinf.annotate.verify import attribute
from typeinf.slices import extract

SRC = """def fmt(rows, numparses=True, sep=" "):
    return sep.join(str(numparses[i]) for i in range(len(rows)))


def width(col, pad=2):
    return len(col) + pad


total = width("abc")
"""


def _edits(src: str, types: dict[tuple[str, str], str]) -> list[Edit]:
    return [
        Edit(s.kind, s.span[0], types[(s.kind, s.name)])
        for s in extract(src, "python", "m.py")
        if (s.kind, s.name) in types
    ]


def test_errors_are_traced_to_the_annotations_that_cause_them():
    types = {
        ("param", "numparses"): "bool",
        ("param", "sep"): "str",
        ("param", "col"): "str",
        ("param", "pad"): "int",
        ("return", "width"): "int",
        ("var", "total"): "int",
    }
    edits = _edits(SRC, types)
    new, applied, _ = annotate_python(SRC, edits, (3, 10))
    assert len(applied) == len(edits)
    by_name = {s.name: e for e in edits for s in extract(SRC, "python", "m.py") if s.span[0] == e.start}
    errors = [
        (2, 'Value of type "bool" is not indexable'),  # at a use of numparses
        (5, 'Incompatible default for argument "pad" (default has type "int", argument has type "str")'),
        (9, 'Argument 1 to "width" has incompatible type "int"; expected "str"'),  # names width: its params
        (40, "Something unrelated happened"),  # points at nothing
    ]
    blamed, unexplained = attribute(errors, new.encode(), SRC.encode(), "python", edits)
    assert by_name["numparses"] in blamed and by_name["pad"] in blamed and by_name["col"] in blamed
    assert by_name["sep"] not in blamed and by_name["total"] not in blamed and by_name["width"] not in blamed
    assert unexplained == [(40, "Something unrelated happened")]


def test_verify_removes_only_what_a_new_error_is_traced_to(tmp_path):
    """Real mypy on a file where one written annotation is wrong: it alone is removed; the
    others stay, whatever their order."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "v"\nrequires-python = ">=3.10"\n')
    src = (
        "def show(flag=False, strict=False, verbose=False):\n"
        "    print(flag, verbose)\n"
        "    return strict.upper()\n"
        '\n\nshow(True, "s", False)\n'
    )
    (tmp_path / "m.py").write_text(src)
    env_path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    r = subprocess.run(
        [sys.executable, "-m", "typeinf", "annotate", "--verify", "--kinds", "param", "m.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PATH=env_path),
    )
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "m.py").read_text()
    assert "def show(flag: bool = False, strict=False, verbose: bool = False):" in out, out
    assert "1 rejected by the type checker" in r.stderr
