#!/bin/bash
# Decode at batch 1 against the memory-read bound, measured in pairs: for each round and file,
# read_bandwidth (2 threads, best of 5 passes over 1 GiB) and then bench's tg128 on the file,
# so that both see the same moment of a machine whose memory bandwidth drifts (a shared VM).
# Prints one line per pair: the bound, the bytes a decode step reads x tokens/s, and the ratio.
#   bazel build -c opt //engine/tools:bench //engine/tools:read_bandwidth
#   engine/tools/bench_bound.sh bazel-bin/engine/tools /work/models-ref 3
set -eu
BIN=$1 DIR=$2 ROUNDS=${3:-3}
FILES=${FILES:-"llama1b-q4_0 llama1b-q4_0-q6k-embd llama1b-q8_0 llama1b-f16"}
for ((r = 1; r <= ROUNDS; r++)); do
  for f in $FILES; do
    # read_bandwidth's last line: | threads | GiB | GB/s |
    bound=$("$BIN/read_bandwidth" --threads 2 | tail -1 | awk -F'|' '{print $4 + 0}')
    out=$("$BIN/bench" --model "$DIR/$f.gguf" --p 16 --n 128 --r 1 --threads 2 2>&1)
    tg=$(echo "$out" | awk -F'|' '$4 ~ /tg128/ {print $5 + 0}')
    mb=$(echo "$out" | awk '/decode weight traffic/ {print $4}')
    awk -v r="$r" -v f="$f" -v b="$bound" -v t="$tg" -v m="$mb" 'BEGIN {
      printf "%s %s bound %.1f GB/s, tg128 %.2f t/s x %.1f MB = %.1f GB/s = %.0f%%\n",
             r, f, b, t, m, t * m / 1000, 100 * t * m / 1000 / b }'
  done
done
