#!/usr/bin/env bash
# Installs everything the test suite needs (into the active Python environment), then runs
# lint, type check and the tests.  Used verbatim by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install -q --upgrade pip
# torch from the CPU wheel on disk (an unpinned torch would pull a multi-GB CUDA build), then the
# training extra, which the pipeline tests use.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,train]"

# A real LSP client for the editor test: Debian's Neovim.
if ! command -v nvim >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >/dev/null
    fi
fi

# Real TypeScript code for the slicing tests: npm packages that ship their .ts sources.
NPM_DIR="${TYPEINF_TEST_NPM:-$HOME/.cache/typeinf/test-npm}"
# The TypeScript compiler: the corpus's inferred labels (models/corpus/infer.py).
if [ ! -f "$NPM_DIR/.installed-v2" ]; then
    mkdir -p "$NPM_DIR"
    (cd "$NPM_DIR" && ([ -f package.json ] || npm init -y >/dev/null) && \
        npm install --no-audit --no-fund --ignore-scripts rxjs@7.8.2 zod@3.25.76 mobx@6.13.7 \
            typescript@5.7.2 >/dev/null)
    touch "$NPM_DIR/.installed-v2"
fi
export TYPEINF_TEST_NPM="$NPM_DIR"
export TYPEINF_TYPESCRIPT="$NPM_DIR/node_modules/typescript"

ruff check typeinf models tests benchmarks
mypy typeinf
python -m pytest -q "$@"
