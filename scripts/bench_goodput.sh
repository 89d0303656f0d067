#!/usr/bin/env bash
# Goodput of disaggregated vs colocated serving, on the same cores and the same workload
# (docs/BENCHMARKS.md). For each rate in RATES it starts the disaggregated setup (router + prefill
# worker + decode worker, one engine thread each) and measures it with //loadgen, stops it, then
# does the same for the colocated setup (router + one decode worker with two engine threads that
# prefills locally: the router's --prefill is empty), so the two alternate point by point and see
# the same machine. Every process is pinned to the same CPUs (taskset -c $CPUS). At the end,
# loadgen's compare mode writes the side-by-side table and plots.
#
# Environment: MODEL (GGUF, default ../shared/models/stories260K.gguf), RATES (req/s, default
# "2 4 8 12"), NUM_REQUESTS per point (default 120), CPUS (default 0,1), SLO_TTFT_MS (default
# 500), SLO_TPOT_MS (default 25), INPUT_TOKENS (default uniform:32:320), OUTPUT_TOKENS (default
# uniform:16:128), OUT (output folder, default /tmp/baton-goodput).
set -euo pipefail
cd "$(dirname "$0")/.."

bazel build //decode_worker //prefill_worker //router //loadgen
BIN=$PWD/bazel-bin
MODEL=$(realpath "${MODEL:-../shared/models/stories260K.gguf}")
RATES=${RATES:-"2 4 8 12"}
NUM_REQUESTS=${NUM_REQUESTS:-120}
CPUS=${CPUS:-0,1}
SLO_TTFT_MS=${SLO_TTFT_MS:-500}
SLO_TPOT_MS=${SLO_TPOT_MS:-25}
INPUT_TOKENS=${INPUT_TOKENS:-uniform:32:320}
OUTPUT_TOKENS=${OUTPUT_TOKENS:-uniform:16:128}
OUT=${OUT:-/tmp/baton-goodput}
mkdir -p "$OUT"
export UCX_NET_DEVICES=${UCX_NET_DEVICES:-lo}
export UCX_WARN_UNUSED_ENV_VARS=n
LAUNCH="taskset -c $CPUS"
source scripts/local_cluster.sh
trap stop_all EXIT

# setup NAME: starts the cluster of that setup and sets GRPC to its router's gRPC address.
setup() {
  if [[ $1 == disaggregated ]]; then
    start decode "$BIN/decode_worker/decode_worker" --model="$MODEL" --threads=1 --transport=ucx
    start prefill "$BIN/prefill_worker/prefill_worker" --model="$MODEL" --threads=1 --transport=ucx
    start router "$BIN/router/router" --model="$MODEL" --grpc_port=0 --http_port=0 \
      --decode="127.0.0.1:$(port_of decode grpc_port)" --prefill="127.0.0.1:$(port_of prefill grpc_port)"
  else
    start decode "$BIN/decode_worker/decode_worker" --model="$MODEL" --threads=2 --transport=ucx
    start router "$BIN/router/router" --model="$MODEL" --grpc_port=0 --http_port=0 \
      --decode="127.0.0.1:$(port_of decode grpc_port)"
  fi
  GRPC=127.0.0.1:$(port_of router grpc_port)
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt"
FILES=()
LABELS=()
for rate in $RATES; do
  for kind in disaggregated colocated; do
    setup "$kind"
    echo "== $kind at $rate req/s (load $(cut -d' ' -f1-3 /proc/loadavg))"
    taskset -c "$CPUS" "$BIN/loadgen/loadgen" --backend=grpc --target="$GRPC" --model="$MODEL" \
      --arrivals=poisson --rate="$rate" --num_requests="$NUM_REQUESTS" --seed=1 \
      --input_tokens="$INPUT_TOKENS" --output_tokens="$OUTPUT_TOKENS" --warmup_requests=4 \
      --slo_ttft_ms="$SLO_TTFT_MS" --slo_tpot_ms="$SLO_TPOT_MS" --label="$kind" \
      --result_json="$OUT/$kind-$rate.json"
    stop_all
  done
done
# Group the points by setup (each setup's points in rate order) for the comparison.
for kind in disaggregated colocated; do
  for rate in $RATES; do FILES+=("$OUT/$kind-$rate.json"); LABELS+=("$kind"); done
done
"$BIN/loadgen/loadgen" --compare="$(IFS=,; echo "${FILES[*]}")" \
  --compare_labels="$(IFS=,; echo "${LABELS[*]}")" --report_prefix="$OUT/compare"
echo "bench_goodput: table $OUT/compare.md, plots $OUT/compare_{goodput,ttft,tpot}.{svg,png}"
