#!/usr/bin/env bash
# Builds baton and runs the main job on this machine.
# Until the workers land, this builds every target and runs a model through the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //...
