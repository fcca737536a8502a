"""Editor clients in lsp/: the VS Code extension type-checks and packages into a .vsix; the Helix
and Neovim configurations start `typeinf lsp` with the documented settings."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LSP = ROOT / "lsp"
SETTINGS = {
    "typeinf.inlayHints.parameters",
    "typeinf.inlayHints.returns",
    "typeinf.inlayHints.variables",
    "typeinf.minConfidence",
    "typeinf.maxHints",
}


def test_vscode_extension_builds_into_a_vsix():
    proc = subprocess.run(
        ["bash", str(LSP / "vscode" / "build.sh")], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    vsix = LSP / "vscode" / "typeinf.vsix"
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("extension/package.json"))
    assert "extension/out/extension.js" in names
    assert any(n.startswith("extension/node_modules/vscode-languageclient/") for n in names)
    assert SETTINGS <= set(manifest["contributes"]["configuration"]["properties"])
    assert {"onLanguage:python", "onLanguage:typescript", "onLanguage:typescriptreact"} <= set(
        manifest["activationEvents"]
    )


def test_helix_configuration():
    cfg = tomllib.loads((LSP / "helix" / "languages.toml").read_text())
    server = cfg["language-server"]["typeinf"]
    assert [server["command"], *server["args"]] == ["typeinf", "lsp"]
    langs = {lang["name"]: lang["language-servers"] for lang in cfg["language"]}
    assert all("typeinf" in langs[n] for n in ("python", "typescript", "tsx"))


def test_neovim_configurations_start_the_server_with_inlay_hints():
    for name in ("typeinf.lua", "typeinf-0.10.lua", "lspconfig.lua"):
        text = (LSP / "neovim" / name).read_text()
        assert '"typeinf", "lsp"' in text and "inlay_hint.enable" in text, name
        assert "typescriptreact" in text, name
