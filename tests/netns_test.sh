#!/usr/bin/env bash
# Two hosts on one machine: a prefill worker and a decode worker in two network namespaces joined
# by a veth pair, with UCX_TLS=tcp and nothing pinned to loopback. Each worker listens on 0.0.0.0
# and advertises its veth address (serving/advertise.h), so the decode worker's UCX address names
# that interface and the prefill worker's KV writes cross the veth link. A router in the prefill
# worker's namespace sends a request through both. Needs root and `ip netns`: skips otherwise.
# Every step is bounded in time; the namespaces are always removed.
set -euo pipefail
if [[ $(id -u) -ne 0 ]] || ! ip netns list >/dev/null 2>&1; then
  echo "SKIPPED: needs root and 'ip netns' (iproute2) to create network namespaces"
  exit 0
fi
root="$TEST_SRCDIR/baton"
work="$TEST_TMPDIR/netns"
mkdir -p "$work"
tag="bt$$"
ns_p="$tag-p"
ns_d="$tag-d"
subnet="10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns_p" 2>/dev/null || true
  ip netns del "$ns_d" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns_p"
ip netns add "$ns_d"
ip link add "$tag-vp" type veth peer name "$tag-vd"
ip link set "$tag-vp" netns "$ns_p"
ip link set "$tag-vd" netns "$ns_d"
ip -n "$ns_p" addr add "$subnet.1/24" dev "$tag-vp"
ip -n "$ns_d" addr add "$subnet.2/24" dev "$tag-vd"
for ns in "$ns_p" "$ns_d"; do ip -n "$ns" link set lo up; done
ip -n "$ns_p" link set "$tag-vp" up
ip -n "$ns_d" link set "$tag-vd" up

"$root/engine/tools/make_model" --type=q4_0 --out="$work/model.gguf" >/dev/null

# start NAME NAMESPACE BINARY ARGS...: runs it in the namespace, output in $work/NAME.log.
start() {
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" env UCX_TLS=tcp UCX_WARN_UNUSED_ENV_VARS=n "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  # Bounded wait for the READY line (or the process's end).
  if ! timeout 120 bash -c "until grep -q '^READY ' '$work/$name.log'; do
                              kill -0 $! 2>/dev/null || exit 1; sleep 0.2; done"; then
    echo "$name did not become ready; its log:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}
port_of() { sed -n "s/^READY .*$2=\([0-9]*\).*/\1/p" "$work/$1.log"; }

start decode "$ns_d" "$root/decode_worker/decode_worker" --model="$work/model.gguf" \
  --host=0.0.0.0 --transport=ucx
start prefill "$ns_p" "$root/prefill_worker/prefill_worker" --model="$work/model.gguf" \
  --host=0.0.0.0 --transport=ucx
decode="$subnet.2:$(port_of decode grpc_port)"
prefill="$subnet.1:$(port_of prefill grpc_port)"
# --local_prefill_max_tokens=0: the short prompt must not be prefilled on the decode worker, or no
# KV would cross the link.
start router "$ns_p" "$root/router/router" --model="$work/model.gguf" --model_name=baton \
  --decode="$decode" --prefill="$prefill" --grpc_port=0 --http_port=0 \
  --local_prefill_max_tokens=0
http="127.0.0.1:$(port_of router http_port)"

# The decode worker is reachable only over the veth link from the prefill namespace.
answer=$(ip netns exec "$ns_p" curl -sS --fail --max-time 120 "http://$http/v1/completions" \
  -H 'Content-Type: application/json' \
  -d '{"model": "baton", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}')
echo "$answer"
tokens=$(echo "$answer" | sed -n 's/.*"completion_tokens":\([0-9]*\).*/\1/p')
[[ -n "$tokens" && "$tokens" -gt 0 ]] || { echo "no tokens generated" >&2; exit 1; }

# The KV really crossed the link: the prefill worker sent bytes, the decode worker received them.
sent=$(ip netns exec "$ns_p" curl -sS --max-time 30 "http://127.0.0.1:$(port_of prefill http_port)/metrics" |
  sed -n 's/^baton_prefill_kv_transfer_sent_bytes_total \([0-9.e+]*\)$/\1/p')
received=$(ip netns exec "$ns_d" curl -sS --max-time 30 "http://127.0.0.1:$(port_of decode http_port)/metrics" |
  sed -n 's/^baton_decode_kv_transfer_received_bytes_total \([0-9.e+]*\)$/\1/p')
echo "KV bytes sent $sent, received $received"
awk -v s="$sent" -v r="$received" 'BEGIN { exit !(s > 0 && r > 0) }' ||
  { echo "no KV bytes moved between the namespaces" >&2; exit 1; }
echo "PASS: request through two namespaces over UCX tcp on $subnet.0/24"
