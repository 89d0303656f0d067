#!/usr/bin/env bash
# Builds baton and starts a local cluster on loopback: a router (OpenAI and Ollama HTTP APIs,
# baton.v1.Inference over gRPC) in front of one decode worker and one prefill worker, KV handed
# over with UCX. Serves ../shared/models/stories260K.gguf when present, else a small random Q4_0
# model written by //engine/tools:make_model under /tmp. Prints the endpoints, a ready-to-paste
# curl line and client settings, sends one OpenAI-style demo request, and keeps serving until
# Ctrl-C.
#
# Environment overrides: MODEL (GGUF path), HTTP_PORT (default 8000), GRPC_PORT (default 8001),
# DECODE_PORT / PREFILL_PORT (workers' gRPC, 0 = pick), THREADS, UCX_TLS (default: all),
# UCX_NET_DEVICES (default lo).
set -euo pipefail
cd "$(dirname "$0")/.."

bazel build //decode_worker //prefill_worker //router //engine/tools:make_model
BIN=bazel-bin

MODEL=${MODEL:-}
if [[ -z "$MODEL" ]]; then
  if [[ -f ../shared/models/stories260K.gguf ]]; then
    MODEL=$(realpath ../shared/models/stories260K.gguf)
  else
    MODEL=/tmp/baton-random-q4_0.gguf
    echo "run_local: ../shared/models/stories260K.gguf not found; writing a random Q4_0 model to $MODEL"
    "$BIN/engine/tools/make_model" --type=q4_0 --out="$MODEL"
  fi
fi

# UCX picks its transports (UCX_TLS unset: all). The workers ask for peer-failure detection, so
# their messages go over tcp loopback (a crashing peer can wedge a shared-memory queue:
# kvtransfer/README.md) while the prefill worker copies the KV straight into the decode worker's
# pool, which it maps.
export UCX_NET_DEVICES=${UCX_NET_DEVICES:-lo}
export UCX_WARN_UNUSED_ENV_VARS=n
THREADS=${THREADS:-1}
LOGS=$(mktemp -d /tmp/baton-local.XXXXXX)
PIDS=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "run_local: stopped (logs in $LOGS)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME BINARY ARGS...: runs the worker in the background and waits for its READY line.
start() {
  local name=$1
  shift
  "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    if grep -q '^READY ' "$LOGS/$name.out"; then return 0; fi
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
      echo "run_local: $name exited; its log:" >&2
      cat "$LOGS/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "run_local: $name did not become ready; see $LOGS/$name.log" >&2
  exit 1
}
port_of() { sed -n "s/^READY .*$2=\([0-9]*\).*/\1/p" "$LOGS/$1.out"; }

start decode "$BIN/decode_worker/decode_worker" --model="$MODEL" --threads="$THREADS" \
  --grpc_port="${DECODE_PORT:-0}" --transport=ucx
start prefill "$BIN/prefill_worker/prefill_worker" --model="$MODEL" --threads="$THREADS" \
  --grpc_port="${PREFILL_PORT:-0}" --transport=ucx

DECODE=127.0.0.1:$(port_of decode grpc_port)
PREFILL=127.0.0.1:$(port_of prefill grpc_port)
start router "$BIN/router/router" --model="$MODEL" --model_name=baton --decode="$DECODE" \
  --prefill="$PREFILL" --http_port="${HTTP_PORT:-8000}" --grpc_port="${GRPC_PORT:-8001}"
HTTP=http://127.0.0.1:$(port_of router http_port)
GRPC=127.0.0.1:$(port_of router grpc_port)
cat <<INFO

baton local cluster serving $MODEL as model "baton"
  router        : OpenAI API $HTTP/v1   Ollama API $HTTP   gRPC baton.v1.Inference $GRPC
                  metrics $HTTP/metrics
  decode worker : gRPC $DECODE   metrics http://127.0.0.1:$(port_of decode http_port)/metrics
  prefill worker: gRPC $PREFILL   metrics http://127.0.0.1:$(port_of prefill http_port)/metrics
  logs          : $LOGS

Try it:
  curl -s $HTTP/v1/completions -H 'Content-Type: application/json' \
      -d '{"model": "baton", "prompt": "Once upon a time", "max_tokens": 64}'
OpenAI clients: base_url=$HTTP/v1  api_key=any  model=baton
Ollama clients: OLLAMA_HOST=$HTTP  (ollama run / Open WebUI), model baton

Demo request (OpenAI completions):
INFO
curl -sN "$HTTP/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model": "baton", "prompt": "Once upon a time", "max_tokens": 64, "temperature": 0}'
echo
echo
echo "Serving until Ctrl-C."
wait
