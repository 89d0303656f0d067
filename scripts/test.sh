#!/usr/bin/env bash
# Builds and runs every test of baton. Extra arguments go to the main `bazel test`.
# Tests that use ../shared (models, golden outputs, tokenizer vectors) skip when it is absent.
# Then runs the parsers of untrusted files (GGUF reader, tokenizer vocabularies) again under
# AddressSanitizer, in a separate Bazel output base so the two builds do not evict each other.
set -uo pipefail
cd "$(dirname "$0")/.."
shared=""
if [[ -d ../shared ]]; then shared=$(cd ../shared && pwd); fi

bazel test //... --test_env=BATON_SHARED_DIR="$shared" "$@"
main_rc=$?

asan_base="${XDG_CACHE_HOME:-$HOME/.cache}/baton-asan/$(pwd | md5sum | cut -c1-12)"
# --symlink_prefix=/: no bazel-* links into this output base. Left in the workspace, they would
# point away from the main output base, which would then load them as packages at the next run.
bazel --output_base="$asan_base" test --config=asan --symlink_prefix=/ \
  --test_env=BATON_SHARED_DIR="$shared" //engine/gguf:gguf_file_test //engine/tokenizer:gguf_vocab_test
asan_rc=$?
bazel --output_base="$asan_base" shutdown >/dev/null 2>&1 || true

[[ $main_rc -eq 0 && $asan_rc -eq 0 ]]
