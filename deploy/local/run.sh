#!/usr/bin/env bash
# Builds baton and runs the local cluster: deploy/local/baton_local (launcher_main.cc) starts a
# router in front of prefill and decode workers on this machine, waits until every process is
# healthy, prints the endpoints, a curl line and client settings, and stops everything on Ctrl-C.
#
# Serves MODEL (a GGUF path) when set, else ../shared/models/stories260K.gguf when that exists,
# else the launcher's built-in random model (it says how to get a real one). Arguments go to
# the launcher, e.g.:
#   deploy/local/run.sh --prefill_workers=2 --decode_workers=2 --threads=2 --ucx_tls=tcp
#   deploy/local/run.sh --colocated          # decode workers prefill themselves
# (deploy/local/run.sh --help lists every flag.)
set -euo pipefail
cd "$(dirname "$0")/../.."

bazel build //deploy/local:baton_local //router //prefill_worker //decode_worker

model_flag=()
if [[ -n "${MODEL:-}" ]]; then
  model_flag=("--model=$(realpath "$MODEL")")
elif [[ -f ../shared/models/stories260K.gguf ]]; then
  model_flag=("--model=$(realpath ../shared/models/stories260K.gguf)")
fi
# exec: Ctrl-C and SIGTERM reach the launcher itself, which stops its processes in order.
exec bazel-bin/deploy/local/baton_local --bin_dir="$PWD/bazel-bin" "${model_flag[@]}" "$@"
