#!/bin/bash
# Alternates a reference and baton's `bench` on the same model files, round by round, so that
# both see the same machine state (docs/BENCHMARKS.md, engine section). Every line of output is
# prefixed "<round> <side> <file> <mode>" (side: ref or new) for bench_summary.py.
#
# Reference = llama.cpp (a directory holding llama-bench and llama-batched-bench, such as the
# one build_reference_llama_cpp.sh leaves):
#   engine/tools/bench_alternate.sh llama.cpp /tmp/llama-ref/bin bazel-bin/engine/tools/bench \
#       /work/models-bench 3 > /tmp/engine-ab.log
# Reference = an earlier baton `bench` binary (one that has --batch):
#   engine/tools/bench_alternate.sh baton /tmp/bench-base bazel-bin/engine/tools/bench ...
set -u
KIND=$1 REF=$2 NEW=$3 DIR=$4 ROUNDS=${5:-3}
FILES=${FILES:-"llama1b-q4_0 llama1b-q4_0-q6k-embd llama1b-q8_0 llama1b-q4_k_m llama1b-f16"}
BATCH_FILE=${BATCH_FILE:-llama1b-q4_0}
BOUND_GBPS=${BOUND_GBPS:-0}
P=${P:-512} N=${N:-128}

run() {  # round side file mode command args...
  local prefix="$1 $2 $3 $4"
  shift 4
  "$@" 2>&1 | sed "s|^|$prefix |"
}

single() {  # side file
  if [ "$1" = new ]; then
    "$NEW" --model "$DIR/$2.gguf" --p "$P" --n "$N" --r 1 --threads 2 --bound_gbps "$BOUND_GBPS"
  elif [ "$KIND" = llama.cpp ]; then  # its warm-up run is on by default
    "$REF/llama-bench" -m "$DIR/$2.gguf" -t 2 -p "$P" -n "$N" -r 1
  else
    "$REF" --model "$DIR/$2.gguf" --p "$P" --n "$N" --r 1 --threads 2
  fi
}

batched() {  # side batch
  if [ "$1" = new ]; then
    "$NEW" --model "$DIR/$BATCH_FILE.gguf" --p 128 --n 64 --batch "$2" --r 1 --threads 2 \
        --bound_gbps "$BOUND_GBPS"
  elif [ "$KIND" = llama.cpp ]; then
    "$REF/llama-batched-bench" -m "$DIR/$BATCH_FILE.gguf" -c 4096 -b 2048 -ub 512 -npp 128 \
        -ntg 64 -npl "$2" -t 2
  else
    "$REF" --model "$DIR/$BATCH_FILE.gguf" --p 128 --n 64 --batch "$2" --r 1 --threads 2
  fi
}

for ((r = 1; r <= ROUNDS; r++)); do
  echo "# round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  for f in $FILES; do
    for side in ref new; do run $r $side $f single single $side $f; done
  done
  for b in ${BATCHES:-16 4}; do
    for side in ref new; do run $r $side $BATCH_FILE batch$b batched $side $b; done
  done
done
# The other core busy (a spin loop pinned to CPU 1): two threads against one, baton's binary.
if [ "${BUSY_CHECK:-1}" = 1 ]; then
  taskset -c 1 sh -c 'while :; do :; done' &
  spinner=$!
  for ((r = 1; r <= 2; r++)); do
    for t in 1 2; do
      run $r threads$t $BATCH_FILE busy "$NEW" --model "$DIR/$BATCH_FILE.gguf" --p 128 --n 64 \
          --r 1 --threads $t
    done
  done
  kill $spinner
fi
echo "# done $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
