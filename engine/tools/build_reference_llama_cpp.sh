#!/bin/bash
# Builds llama.cpp for this CPU as the side-by-side reference of the engine benchmarks
# (docs/BENCHMARKS.md, engine section), for machines where ../shared/bench/llama.cpp's build does
# not run (it is compiled for AVX-512 and stops with SIGILL elsewhere). llama.cpp is a measuring
# instrument here, never part of baton: it is built outside the repository and nothing links it.
#
# The source comes from npm, the registry this project already reaches: the node-llama-cpp
# package ships the llama.cpp release it binds to as a git bundle (llama/gitRelease.bundle).
#   engine/tools/build_reference_llama_cpp.sh [OUT_DIR]      # default /tmp/llama-ref
# leaves OUT_DIR/bin/{llama-bench,llama-batched-bench,llama-quantize} built with -march=native.
set -euo pipefail
NODE_LLAMA_CPP_VERSION=${NODE_LLAMA_CPP_VERSION:-3.22.1}  # llama.cpp v0.5.0, 2026-09-28
OUT=${1:-/tmp/llama-ref}
mkdir -p "$OUT"
cd "$OUT"
if [ ! -d src ]; then
  npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" > pack.txt
  tar xzf "$(tail -n1 pack.txt)" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
  git -c advice.detachedHead=false clone --quiet package/llama/gitRelease.bundle src
fi
cmake -S src -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_EXAMPLES=OFF > cmake.log
cmake --build build -j"$(nproc)" --target llama-bench llama-batched-bench llama-quantize > build.log
ln -sfn build/bin bin
echo "llama.cpp $(cat package/llama/llama.cpp.info.json | tr -d '\n ' ) $(git -C src rev-parse --short HEAD)"
echo "built: $OUT/bin/llama-bench $OUT/bin/llama-batched-bench $OUT/bin/llama-quantize"
