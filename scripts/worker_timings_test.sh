#!/usr/bin/env bash
# Runs the unit tests of scripts/worker_timings.py and scripts/byte_prompts.py with the system
# python3 (the repository registers no Python toolchain, and Debian has no `python`).
set -euo pipefail
cd "$(dirname "$0")"
exec python3 -B -m unittest -v worker_timings_test byte_prompts_test
