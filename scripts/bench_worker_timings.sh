#!/usr/bin/env bash
# Worker-level engine timings next to engine/tools:bench's (docs/BENCHMARKS.md, "Worker-level
# timings"): shows that a prefill worker's batch and a decode worker's batch run as fast as the
# bench's steps of the same shape. Starts a local cluster (router + one prefill worker + one decode
# worker, THREADS engine threads each, KV in f16 like the bench), warms it up, then for each
# workload scrapes both workers' /metrics before and after a //loadgen run and prints the workers'
# own step figures (scripts/worker_timings.py). Then it stops the cluster and runs the bench on the
# same file with the matching shapes, so both sets of figures come from the same window.
#
# Workloads: "batched": CONCURRENCY requests in flight (closed loop) of 128-token prompts and
# 64 output tokens, greedy, ignore_eos; "long": 512-token prompts one at a time (4 output tokens,
# so the decode worker stays nearly idle).
#
# The prompts: the random-weight 1B files carry make_model's vocabulary, whose word tokens the
# encoder never produces, so loadgen's synthetic prompts cannot be built; scripts/byte_prompts.py
# writes distinct random-letter prompts that encode to the exact token count instead (one byte
# token per letter), sent as a JSONL dataset.
#
# Environment: MODEL (required: a GGUF with make_model's vocabulary, e.g. the 1B-shape Q4_0 file of
# docs/BENCHMARKS.md's engine section), THREADS
# (default 2), CONCURRENCY (default 16), BATCHED_REQUESTS (default 16), LONG_REQUESTS (default 4),
# BENCH_REPS (bench --r, default 1), OUT (output folder, default /tmp/baton-worker-timings).
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -n "${MODEL:-}" ]] || { echo "bench_worker_timings: set MODEL to a GGUF file" >&2; exit 2; }
bazel build -c opt //decode_worker //prefill_worker //router //loadgen //engine/tools:bench
BIN=$PWD/bazel-bin
MODEL=$(realpath "$MODEL")
THREADS=${THREADS:-2}
CONCURRENCY=${CONCURRENCY:-16}
BATCHED_REQUESTS=${BATCHED_REQUESTS:-16}
LONG_REQUESTS=${LONG_REQUESTS:-4}
BENCH_REPS=${BENCH_REPS:-1}
OUT=${OUT:-/tmp/baton-worker-timings}
mkdir -p "$OUT"
export UCX_NET_DEVICES=${UCX_NET_DEVICES:-lo}
export UCX_WARN_UNUSED_ENV_VARS=n
source scripts/local_cluster.sh
trap stop_all EXIT
TIMINGS=scripts/worker_timings.py
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine serving prefill_worker decode_worker || echo ' (+ local changes)'), model $MODEL, $THREADS threads per worker"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(load) (shared machine)"

WORKER_FLAGS=(--model="$MODEL" --threads="$THREADS" --kv_dtype=f16 --transport=ucx)
# The decode worker keeps its default lease: the router renews it while a prompt waits in the
# prefill queue (DecodeService.RenewLease).
start decode "$BIN/decode_worker/decode_worker" "${WORKER_FLAGS[@]}"
# A prefill step may hold every batched prompt (CONCURRENCY x 128 tokens), as the bench's does.
start prefill "$BIN/prefill_worker/prefill_worker" "${WORKER_FLAGS[@]}" \
  --max_batch_tokens=$((CONCURRENCY * 128)) --max_batch="$CONCURRENCY"
# The prefill timeout far above the default: one attempt includes the prompt's wait in the queue,
# and 16 prompts queued on one prefill worker of a 1B model can take longer than its 60 s.
start router "$BIN/router/router" --model="$MODEL" --model_name=model --grpc_port=0 --http_port=0 \
  --prefill_timeout_s=600 \
  --decode="127.0.0.1:$(port_of decode grpc_port)" --prefill="127.0.0.1:$(port_of prefill grpc_port)"
GRPC=127.0.0.1:$(port_of router grpc_port)
PREFILL_METRICS=http://127.0.0.1:$(port_of prefill http_port)/metrics
DECODE_METRICS=http://127.0.0.1:$(port_of decode http_port)/metrics

scrape() {  # scrape LABEL: both workers' metrics to $OUT/LABEL-{prefill,decode}.txt
  python3 "$TIMINGS" scrape "$PREFILL_METRICS" "$OUT/$1-prefill.txt"
  python3 "$TIMINGS" scrape "$DECODE_METRICS" "$OUT/$1-decode.txt"
}
report() {  # report LABEL FROM TO: the figures between two scrapes
  python3 "$TIMINGS" report "$1" "$OUT/$2-prefill.txt" "$OUT/$3-prefill.txt" \
    "$OUT/$2-decode.txt" "$OUT/$3-decode.txt" | tee -a "$OUT/workers.txt"
}

# drive LABEL COUNT PROMPT_TOKENS OUTPUT_TOKENS LOADGEN_FLAGS...: one loadgen run of COUNT
# prompts between two scrapes of each worker. A third scrape, taken as soon as the prefill worker
# has computed every prompt, starts LABEL-decode-only: decode steps with no prefill beside them.
drive() {
  local label=$1 count=$2 prompt_tokens=$3
  python3 scripts/byte_prompts.py "$count" "$prompt_tokens" "$4" "$RANDOM" "$OUT/$label.jsonl"
  shift 4
  scrape "$label-before"
  echo "== $label (load $(load))"
  "$BIN/loadgen/loadgen" --backend=grpc --target="$GRPC" --model_name=model --seed=1 \
    --dataset=jsonl --dataset_path="$OUT/$label.jsonl" --num_requests="$count" --ignore_eos \
    --temperature=0 --label="$label" --result_json="$OUT/$label.json" "$@" \
    >"$OUT/$label-loadgen.txt" &
  local loadgen=$!
  PIDS+=("$loadgen")
  python3 "$TIMINGS" wait "$PREFILL_METRICS" "$OUT/$label-before-prefill.txt" \
    baton_prefill_prompt_tokens_total $((count * prompt_tokens)) 1800
  scrape "$label-prefilled"
  wait "$loadgen"
  scrape "$label-after"
  report "$label" "$label-before" "$label-after"
  report "$label-decode-only" "$label-prefilled" "$label-after"
}

: >"$OUT/workers.txt"
# Warm-up (page faults, first allocations); its window is reported but not meant to be quoted.
drive warmup 2 128 8 --arrivals=closed --concurrency=2
drive batched "$BATCHED_REQUESTS" 128 64 --arrivals=closed --concurrency="$CONCURRENCY"
drive long "$LONG_REQUESTS" 512 4 --arrivals=closed --concurrency=1
stop_all

echo "== bench, same file (load $(load))"
"$BIN/engine/tools/bench" --model="$MODEL" --threads="$THREADS" --r="$BENCH_REPS" \
  --batch="$CONCURRENCY" --p=128 --n=64 | tee "$OUT/bench-batched.txt"
"$BIN/engine/tools/bench" --model="$MODEL" --threads="$THREADS" --r="$BENCH_REPS" --p=512 --n=0 |
  tee "$OUT/bench-long.txt"
echo "bench_worker_timings: worker figures in $OUT/workers.txt, load ends at $(load)"
