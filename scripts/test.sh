#!/usr/bin/env bash
# Installs everything the test suite needs (into the active Python environment), then runs
# lint, type check and the tests.  Used verbatim by the README and by .ci/run.
#
# Runs in any clone.  The end-to-end tests need tools beside Python: Neovim (tests/test_neovim.py)
# and npm, for the TypeScript compiler and real TypeScript packages (tests/test_real_code.py,
# tests/test_corpus_infer.py, the TypeScript --stubs test).  They are installed when possible; on a
# developer's machine where they cannot be (no root, no npm) this script says so and the tests that
# need them are skipped, naming the missing tool.  In CI (TYPEINF_CI=1, set by .ci/run) a missing
# tool is a failure: a test skipped in CI did not run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing() {  # tool, what needs it
    if [ "${TYPEINF_CI:-}" = 1 ]; then
        echo "scripts/test.sh: $1 could not be installed and CI needs it ($2)" >&2
        exit 1
    fi
    echo "scripts/test.sh: $1 is not available: $2 will be skipped" >&2
}

python -m pip install -q --upgrade pip
# torch from the CPU wheel on disk (an unpinned torch would pull a multi-GB CUDA build), then the
# training extra, which the pipeline tests use.
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,train]"

# A real LSP client for the editor test: Debian's Neovim, installed only with root (or sudo
# without a password prompt).
if ! command -v nvim >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) >/dev/null || true
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
        (sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) \
            >/dev/null || true
    fi
    command -v nvim >/dev/null || missing "Neovim (nvim; apt-get install neovim)" "tests/test_neovim.py"
fi

# Real TypeScript code for the slicing tests: npm packages that ship their .ts sources.
NPM_DIR="${TYPEINF_TEST_NPM:-$HOME/.cache/typeinf/test-npm}"
# The TypeScript compiler: the corpus's inferred labels (models/corpus/infer.py).
if [ ! -f "$NPM_DIR/.installed-v2" ]; then
    if command -v npm >/dev/null; then
        mkdir -p "$NPM_DIR"
        (cd "$NPM_DIR" && ([ -f package.json ] || npm init -y >/dev/null) && \
            npm install --no-audit --no-fund --ignore-scripts rxjs@7.8.2 zod@3.25.76 mobx@6.13.7 \
                typescript@5.7.2 >/dev/null) && touch "$NPM_DIR/.installed-v2"
    fi
    [ -f "$NPM_DIR/.installed-v2" ] || missing "npm (for the TypeScript compiler and packages)" \
        "tests/test_real_code.py (TypeScript), tests/test_corpus_infer.py, the TypeScript --stubs test"
fi
if [ -f "$NPM_DIR/.installed-v2" ]; then
    export TYPEINF_TEST_NPM="$NPM_DIR"
    export TYPEINF_TYPESCRIPT="$NPM_DIR/node_modules/typescript"
fi

ruff check typeinf models tests benchmarks
ruff format --check typeinf models tests benchmarks
mypy typeinf
python -m pytest -q "$@"
