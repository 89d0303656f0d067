# Sourced by the benchmark scripts that start local worker processes (bench_goodput.sh,
# bench_worker_timings.sh): start a process and wait for its READY line, read its ports, stop
# everything it started. The caller sets OUT (where each process's stdout and log go) and may set
# LAUNCH (a command prefix such as "taskset -c 0,1"); it should `trap stop_all EXIT`.
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# start NAME BINARY ARGS...: runs it (under $LAUNCH) and waits for its READY line.
start() {
  local name=$1
  shift
  ${LAUNCH:-} "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" &
  PIDS+=($!)
  for _ in $(seq 1 1200); do
    if grep -q '^READY ' "$OUT/$name.out"; then return 0; fi
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
      echo "$(basename "$0"): $name exited; its log:" >&2
      cat "$OUT/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$(basename "$0"): $name did not become ready" >&2
  exit 1
}

# port_of NAME grpc_port|http_port: the port from NAME's READY line.
port_of() { sed -n "s/^READY .*$2=\([0-9]*\).*/\1/p" "$OUT/$1.out"; }
