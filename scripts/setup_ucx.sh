#!/usr/bin/env bash
# Installs UCX 1.13.1 rebuilt from Debian 12's own source package with one change to its build
# configuration: --disable-assertions, as in upstream's release configuration
# (contrib/configure-release). Called by scripts/setup.sh; idempotent (does nothing when the
# rebuilt packages are installed). Runs as root or through sudo.
#
# Why: Debian builds UCX with assertions on, and UCX 1.13.1 asserts on a state a dead peer can
# leave behind. When a peer dies while UCX is still setting up the connection to it, UCX fails the
# endpoint and purges its queued wireup reply; an assertion that does not expect a reply in that
# queue then aborts the process that is still alive (ucp_request.c: "got REP message"). Upstream
# removed the assertion in UCX 1.14 (the purge frees the message, which is what the code after the
# assertion does); Debian 12's 1.13.1 still has it. A worker must not die because a peer did, so
# the workers run on a UCX built the way upstream releases it. The code is Debian's, unpatched.
#
# The packages get version 1.13.1-1+baton1, newer than the archive's 1.13.1-1, so apt keeps them.
set -euo pipefail

readonly UCX_SOURCE_VERSION="1.13.1-1"
readonly UCX_LOCAL_VERSION="${UCX_SOURCE_VERSION}+baton1"
readonly UCX_PACKAGES=(libucx0 libucx-dev ucx-utils)
readonly BUILD_TOOLS=(dpkg-dev debhelper dh-autoreconf build-essential fakeroot
                      libibverbs-dev librdmacm-dev libnuma-dev)

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
else
  SUDO=(sudo)
fi

installed_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

all_installed=1
for p in "${UCX_PACKAGES[@]}"; do
  if [[ $(installed_version "$p") != "$UCX_LOCAL_VERSION" ]]; then all_installed=0; fi
done
if [[ $all_installed -eq 1 ]]; then
  echo "setup_ucx.sh: UCX $UCX_LOCAL_VERSION (assertions off) already installed"
  exit 0
fi

# The built packages are kept here, so putting them back (say, after apt reinstalled Debian's
# build) needs no rebuild.
readonly CACHE=/var/cache/baton/ucx
arch=$(dpkg --print-architecture)
debs=()
for p in "${UCX_PACKAGES[@]}"; do debs+=("$CACHE/${p}_${UCX_LOCAL_VERSION}_${arch}.deb"); done

install_debs() {
  "${SUDO[@]}" dpkg -i "${debs[@]}"
  for p in "${UCX_PACKAGES[@]}"; do
    if [[ $(installed_version "$p") != "$UCX_LOCAL_VERSION" ]]; then
      echo "setup_ucx.sh: $p $UCX_LOCAL_VERSION did not install" >&2
      exit 1
    fi
  done
  echo "setup_ucx.sh: UCX $UCX_LOCAL_VERSION installed"
}

cached=1
for d in "${debs[@]}"; do [[ -f $d ]] || cached=0; done
if [[ $cached -eq 1 ]]; then
  install_debs
  exit 0
fi

echo "setup_ucx.sh: rebuilding Debian's UCX $UCX_SOURCE_VERSION with --disable-assertions"
# Debian's source archive for bookworm (the deb lines of a default install carry no deb-src).
src_list=/etc/apt/sources.list.d/baton-debian-src.sources
if [[ ! -f $src_list ]]; then
  "${SUDO[@]}" tee "$src_list" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
  "${BUILD_TOOLS[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -q --download-only "ucx=$UCX_SOURCE_VERSION"
dpkg-source -x "ucx_${UCX_SOURCE_VERSION}.dsc" src >/dev/null
cd src

# The one change: upstream's release setting for assertions, added to Debian's configure flags.
# The others keep configure from picking up what this machine has and Debian's build machines do
# not (a JDK and Maven, the CUDA toolkit), so the libraries are those of Debian's packages.
readonly EXTRA_FLAGS="--disable-assertions --without-java --without-go --without-cuda --without-rocm"
grep -q -- '--enable-cma' debian/rules
sed -i "s/--enable-cma/--enable-cma $EXTRA_FLAGS/" debian/rules
{
  printf 'ucx (%s) bookworm; urgency=medium\n\n' "$UCX_LOCAL_VERSION"
  printf '  * Rebuilt by baton scripts/setup_ucx.sh with --disable-assertions.\n\n'
  printf ' -- baton <baton@localhost>  %s\n\n' "$(date -R)"
  cat debian/changelog
} >debian/changelog.new
mv debian/changelog.new debian/changelog

# -d: documentation and Java build dependencies (doxygen, texlive, a JDK) are not needed for the
# libraries and tools; nocheck/nodoc skip the rest.
DEB_BUILD_OPTIONS="nocheck nodoc parallel=$(nproc)" DEB_BUILD_PROFILES="stage1 nodoc" \
  dpkg-buildpackage -b -uc -us -d >"$work/build.log" 2>&1 || {
  tail -50 "$work/build.log" >&2
  echo "setup_ucx.sh: building UCX failed" >&2
  exit 1
}
"${SUDO[@]}" mkdir -p "$CACHE"
for p in "${UCX_PACKAGES[@]}"; do
  "${SUDO[@]}" cp "$work/${p}_${UCX_LOCAL_VERSION}_${arch}.deb" "$CACHE/"
done
install_debs
