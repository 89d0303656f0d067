#!/usr/bin/env bash
# Installs every build, test and run dependency of baton from Debian's archive.
# Idempotent: packages already present are left as they are. Works as root or through sudo.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java bazel-platforms bazel-skylib pkg-config
  # RPC and base libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # KV transport
  libucx-dev ucx-utils
  # HTTP, JSON, regular expressions (tokenizer pre-tokenizers)
  libboost1.74-dev nlohmann-json3-dev libpcre2-dev
  # TLS: HTTPS on the router's HTTP port (Boost.Asio over OpenSSL)
  libssl-dev
  # prefix-cache block hashes (router and workers hash token blocks the same way)
  libxxhash-dev
  # metrics
  prometheus-cpp-dev prometheus
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3-grpcio python3-protobuf curl
  # portable x86 intrinsics: the kernel tests run the AVX-512 kernels on any CPU
  libsimde-dev
  # the router's end-to-end tests: Node (>= 20) runs the npm clients of tests/clients
  nodejs
  # load-test plots (loadgen); test certificates (TLS); network namespaces (two-host UCX test)
  gnuplot-nox openssl iproute2
  # XML parser (loadgen's plot test parses the SVG it wrote)
  libexpat1-dev
)

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "setup.sh: must run as root or with sudo available" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup.sh: all ${#PACKAGES[@]} Debian packages already installed"
else
  echo "setup.sh: installing from Debian: ${missing[*]}"
  "${SUDO[@]}" apt-get update -q
  if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "setup.sh: FAILED to install one of: ${missing[*]}" >&2
    exit 1
  fi
  for p in "${missing[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "setup.sh: package $p is still missing after apt-get install" >&2
      exit 1
    fi
  done
fi
# UCX rebuilt from Debian's source with upstream's release setting (no assertions): a worker must
# not abort because a peer died (why: setup_ucx.sh).
bash "$(dirname "$0")/setup_ucx.sh"
# The third-party clients the router's end-to-end tests drive (OpenAI's and Ollama's SDKs, a gRPC
# reflection client), at the exact versions tests/clients/package-lock.json pins.
if ! command -v npm >/dev/null; then
  # Debian's nodejs comes without npm (NodeSource's includes it).
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends npm
fi
(cd "$(dirname "$0")/../tests/clients" && npm ci --no-audit --no-fund --loglevel=error)
command -v bazel >/dev/null || { echo "setup.sh: bazel not on PATH after install" >&2; exit 1; }
echo "setup.sh: done"
