#!/bin/bash
# Alternates a baseline and a new `bench` binary on the same model files, round by round, so
# that both see the same machine state (docs/BENCHMARKS.md, engine section). Every line of
# output is prefixed "<round> <binary label> <file> <mode>" for bench_summary.py.
#   engine/tools/bench_alternate.sh /tmp/bench-base /tmp/bench-base-batch bazel-bin/engine/tools/bench \
#       /work/models-bench 3 > /tmp/engine-ab.log
# BASE_BATCH is a baseline-kernel build that has --batch (the baseline tool lacks it).
set -u
BASE=$1 BASE_BATCH=$2 NEW=$3 DIR=$4 ROUNDS=${5:-3}
FILES=${FILES:-"llama1b-q4_0 llama1b-q4_0-q6k-embd llama1b-q8_0 llama1b-q4_k_m llama1b-f16"}
BATCH_FILE=${BATCH_FILE:-llama1b-q4_0}
BOUND_GBPS=${BOUND_GBPS:-0}

run() {  # round label file mode binary args...
  local prefix="$1 $2 $3 $4"
  shift 4
  "$@" 2>&1 | sed "s|^|$prefix |"
}

for ((r = 1; r <= ROUNDS; r++)); do
  echo "# round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  for f in $FILES; do
    for side in base new; do
      bin=$BASE; [ $side = new ] && bin=$NEW
      run $r $side $f single $bin --model "$DIR/$f.gguf" --p 512 --n 128 --r 1 --threads 2 \
          $([ $side = new ] && echo --bound_gbps "$BOUND_GBPS")
    done
  done
  for b in ${BATCHES:-16 4}; do
    for side in base new; do
      bin=$BASE_BATCH; [ $side = new ] && bin=$NEW
      run $r $side $BATCH_FILE batch$b $bin --model "$DIR/$BATCH_FILE.gguf" --p 128 --n 64 \
          --batch $b --r 1 --threads 2 --bound_gbps "$BOUND_GBPS"
    done
  done
done
# The other core busy (a spin loop pinned to CPU 1): two threads against one, new binary.
if [ "${BUSY_CHECK:-1}" = 1 ]; then
  taskset -c 1 sh -c 'while :; do :; done' &
  spinner=$!
  for ((r = 1; r <= 2; r++)); do
    for t in 1 2; do
      run $r threads$t $BATCH_FILE busy $NEW --model "$DIR/$BATCH_FILE.gguf" --p 128 --n 64 \
          --r 1 --threads $t
    done
  done
  kill $spinner
fi
echo "# done $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
