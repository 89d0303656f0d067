#!/usr/bin/env bash
# What can be checked of the container images without a container engine: both Dockerfiles are
# multi-stage on Debian 12 with a non-root runtime user; every binary they copy out of bazel-bin
# is built by a target; the build runs scripts/setup.sh and takes UCX's .debs from where
# scripts/setup_ucx.sh leaves them; the launcher's --bin_dir tree holds the names it runs; every
# flag in ENTRYPOINT/CMD is one baton_local accepts; every /opt/baton/bin binary the Kubernetes
# manifests run is in the images; the CPU runtime installs the package of every shared library
# the binaries link (ldd).
set -euo pipefail
root="$TEST_SRCDIR/baton"
docker="$root/deploy/docker"
fail=0
problem() { echo "FAIL: $*" >&2; fail=1; }

help=$("$root/deploy/local/baton_local" --helpfull 2>&1 || true)
for file in "$docker/Dockerfile" "$docker/Dockerfile.cuda"; do
  name=$(basename "$file")
  grep -q '^FROM debian:12 AS build$' "$file" || problem "$name: no 'FROM debian:12 AS build' stage"
  [[ $(grep '^FROM ' "$file" | tail -1) == "FROM debian:12-slim" ]] ||
    problem "$name: the runtime stage is not debian:12-slim"
  user=$(grep '^USER ' "$file" | tail -1 | awk '{print $2}')
  [[ -n "$user" && "$user" != 0 && "$user" != root ]] || problem "$name: runtime user is root"
  grep -q 'RUN scripts/setup.sh' "$file" || problem "$name: does not run scripts/setup.sh"
  [[ -x "$root/scripts/setup.sh" ]] || problem "scripts/setup.sh is missing"
  grep -q '/var/cache/baton/ucx' "$root/scripts/setup_ucx.sh" ||
    problem "scripts/setup_ucx.sh no longer keeps its .debs in /var/cache/baton/ucx"
  # Binaries copied out of bazel-bin exist as built targets.
  copied=()
  for path in $(grep -o 'bazel-bin/[a-z_/]*' "$file" | sort -u); do
    rel=${path#bazel-bin/}
    [[ -x "$root/$rel" ]] || problem "$name: $path is not built by any target"
    copied+=("$(basename "$rel")")
  done
  for binary in router prefill_worker decode_worker baton_local baton_health; do
    [[ " ${copied[*]} " == *" $binary "* ]] || problem "$name: does not ship $binary"
  done
  # The launcher's tree: <bin_dir>/router/router, <bin_dir>/<role>_worker/<role>_worker.
  for link in router/router prefill_worker/prefill_worker decode_worker/decode_worker; do
    grep -q "/opt/baton/tree/$link\b" "$file" || problem "$name: no /opt/baton/tree/$link"
  done
  # ENTRYPOINT and CMD flags.
  flags=$(grep -E '^(ENTRYPOINT|CMD) ' "$file" | grep -o '"--[a-z_]*' | tr -d '"' | sort -u)
  for flag in $flags; do
    grep -q -- "^ *$flag " <<<"$help" || problem "$name: baton_local has no flag $flag"
  done
  grep -q '"/opt/baton/bin/baton_local"' "$file" || problem "$name: ENTRYPOINT is not baton_local"
  # What the Kubernetes manifests run.
  for used in $(grep -rhoE '/opt/baton/bin/[a-z_]+' "$root/deploy/k8s" | sort -u); do
    [[ " ${copied[*]} " == *" $(basename "$used") "* ]] || problem "$name: lacks $used (deploy/k8s)"
  done
done

# Runtime libraries of the CPU image: the owner of every library the binaries link must be
# installed, apart from what debian:12-slim already has.
base="libc6 libgcc-s1 libstdc++6 zlib1g"
runtime=$(sed -n '/^FROM debian:12-slim/,$p' "$docker/Dockerfile")
libs=$(for binary in router/router prefill_worker/prefill_worker decode_worker/decode_worker \
  deploy/local/baton_local deploy/probe/baton_health; do
  ldd "$root/$binary" | awk '/=>/ {print $3}'
done | xargs -r realpath | sort -u)
for real in $libs; do
  owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || true)
  owner=${owner%%:*}
  [[ -n "$owner" ]] || { problem "no Debian package owns $real"; continue; }
  [[ " $base " == *" $owner "* ]] && continue
  pattern=$(printf '%s' "$owner" | sed 's/[+.]/\\&/g')
  grep -qE "(^|[ /])${pattern}([ _]|$)" <<<"$runtime" ||
    problem "Dockerfile: runtime stage does not install $owner (for $real)"
done
[[ $fail -eq 0 ]] && echo "PASS: both Dockerfiles check out"
exit $fail
