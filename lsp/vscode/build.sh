#!/usr/bin/env bash
# Builds the extension into lsp/vscode/typeinf.vsix (npm ci, type check, compile, vsce package).
set -euo pipefail
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
npm run --silent typecheck
npm run --silent package >/dev/null
ls -l typeinf.vsix
