#!/usr/bin/env bash
# Renders every overlay with `kubectl kustomize` and checks the result offline
# (tests/clients/k8s_manifests.mjs: API schemas through npm kubernetes-models, selectors, HPA
# targets and metrics, probe ports, every flag against the binaries' --helpfull, drain vs.
# termination grace, headless Services); checks the alert rules with `promtool check rules` and
# `promtool test rules`.
set -euo pipefail
if ! command -v kubectl >/dev/null; then
  echo "SKIPPED: kubectl (with its built-in kustomize) is not installed"
  exit 0
fi
root="$TEST_SRCDIR/baton"
work="$TEST_TMPDIR/k8s"
mkdir -p "$work"
# kustomize refuses files whose real path is outside the kustomization root; runfiles are links.
cp -rL "$root/deploy/k8s" "$work/tree"

rendered=()
for overlay in "$work"/tree/overlays/*/; do
  name=$(basename "$overlay")
  kubectl kustomize "$overlay" >"$work/$name.yaml"
  rendered+=("$work/$name.yaml")
done
[[ ${#rendered[@]} -ge 2 ]] || { echo "expected the cpu and gpu overlays" >&2; exit 1; }

help=()
for binary in router/router prefill_worker/prefill_worker decode_worker/decode_worker \
  deploy/probe/baton_health; do
  name=$(basename "$binary")
  # absl's --helpfull exits 1 after printing.
  "$root/$binary" --helpfull >"$work/$name.help" 2>&1 || true
  help+=("$name:$work/$name.help")
done

monitoring="$work/tree/base/monitoring"
promtool check rules "$monitoring/alerts.yaml"
(cd "$monitoring" && promtool test rules alerts_test.yaml)

join() { local IFS=,; echo "$*"; }
node "$root/tests/clients/k8s_manifests.mjs" \
  --rendered="$(join "${rendered[@]}")" \
  --help="$(join "${help[@]}")" \
  --metrics="$(join "$root/router/router_metrics.cc" "$root/prefill_worker/prefill_metrics.cc" \
    "$root/decode_worker/decode_metrics.cc")" \
  --external_secrets=baton-tls \
  --adapter="$monitoring/adapter.yaml" \
  --alerts="$monitoring/alerts.yaml"
