#!/usr/bin/env bash
# The UCX the workers load must be the one scripts/setup_ucx.sh builds: Debian's 1.13.1 source with
# assertions off. Debian's own build aborts a live process when a peer dies during connection
# setup (see setup_ucx.sh); ucx_peer_death_test catches that only as a race, this catches it always.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$(dpkg-query -W -f='${Version}' libucx0 2>/dev/null) || fail "libucx0 is not installed"
[[ $version == *+baton* ]] ||
  fail "libucx0 $version is Debian's build (assertions on); run scripts/setup.sh"
config=$(ucx_info -b) || fail "ucx_info -b failed"
if grep -q 'ENABLE_ASSERT' <<<"$config"; then
  fail "the installed UCX was built with assertions: $(grep ENABLE_ASSERT <<<"$config")"
fi
grep -q -- '--disable-assertions' <<<"$config" || fail "UCX configure flags lack --disable-assertions"
echo "PASS: libucx0 $version, assertions off"
