#!/usr/bin/env bash
# Builds and runs every test of baton. Extra arguments go to `bazel test`.
# Tests that use ../shared (models, golden outputs, tokenizer vectors) skip when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=""
if [[ -d ../shared ]]; then shared=$(cd ../shared && pwd); fi
exec bazel test //... --test_env=BATON_SHARED_DIR="$shared" "$@"
