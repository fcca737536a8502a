"""A real editor: Debian's Neovim (headless) starts `typeinf lsp` with its built-in LSP client,
requests inlay hints and a code action for a real file, applies the returned edits with its own
`vim.lsp.util.apply_text_edits` / `apply_workspace_edit`, and writes the buffer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import need_tool

ROOT = Path(__file__).resolve().parents[1]

APP = """def load(path, store=None):
    return store.find(path)


def report(rows, verbose=False):
    for row in rows:
        print(row)
"""
REPO = """class Store:
    def find(self, path):
        return [path]
"""


def test_neovim_applies_a_hint_and_a_code_action_with_an_import(tmp_path):
    nvim = shutil.which("nvim")
    need_tool(nvim, "Neovim (nvim; apt-get install neovim)")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nrequires-python = ">=3.10"\n')
    (tmp_path / "store.py").write_text(REPO)
    app = tmp_path / "app.py"
    app.write_text(APP)
    log = tmp_path / "nvim.log"
    env = dict(
        os.environ,
        TYPEINF_CMD=json.dumps([sys.executable, "-m", "typeinf", "lsp"]),
        TYPEINF_FILE=str(app),
        TYPEINF_LOG=str(log),
    )
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {ROOT / 'tests' / 'nvim_e2e.lua'}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = log.read_text() if log.exists() else ""
    assert proc.returncode == 0 and "FAIL" not in report, report + proc.stderr[-2000:]
    out = app.read_text()
    compile(out, "app.py", "exec")
    assert "def report(rows, verbose=False) -> None:" in out, out  # the accepted inlay hint
    line = next(x for x in out.splitlines() if x.startswith("def load("))
    # the code action: the model's `Store | None`, a project type, imported for type checking
    assert "store: " in line and "Store" in line, out
    assert "from store import Store" in out and "if TYPE_CHECKING:" in out, out
