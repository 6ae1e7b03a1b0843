#!/usr/bin/env bash
# Installs, from Debian packages, whatever asio_uring needs to build and test
# that is not installed yet. Idempotent and non-interactive: when everything is
# present it changes nothing and needs neither root nor the network.
#
#   bash scripts/install-deps.sh            # build + test dependencies
#   bash scripts/install-deps.sh wrk fio    # ... plus extra packages (benchmarks)
set -euo pipefail

packages=(
  g++                # C++20 compiler (g++ 12 on Debian 12)
  cmake              # >= 3.25 for the workflow presets
  ninja-build        # the presets' generator
  liburing-dev       # the ring
  libboost1.81-dev   # Asio, Beast, header-only Boost.Test (libboost-dev is 1.74: too old)
  libboost-context1.81-dev  # Boost.Context, for stackful coroutines (asio_uring/spawn.hpp) and their test
  libbenchmark-dev   # Google Benchmark, for benchmark/
  "$@"
)

is_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all present (${packages[*]})"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: need root to install ${missing[*]} (run as root or install sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600)
"${as_root[@]}" apt-get "${apt_opts[@]}" update </dev/null
"${as_root[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends \
  "${missing[@]}" </dev/null

for p in "${missing[@]}"; do
  if ! is_installed "$p"; then
    echo "install-deps: $p is still not installed" >&2
    exit 1
  fi
done
echo "install-deps: done"
