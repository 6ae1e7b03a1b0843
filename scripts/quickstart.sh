#!/usr/bin/env bash
# Quick start command 1: installs whatever is missing (Debian packages),
# builds the flagship demo in Release and runs it.
#
#   bash scripts/quickstart.sh [file_checksum options]
#
# The demo, example/file_checksum, sums every byte of a page-cached file read
# in 32 KiB blocks, once through asio_uring and once with the Boost.Asio
# thread-pool pattern it replaces, and prints both throughputs. With no
# options it generates a 256 MiB file under ${TMPDIR:-/tmp} on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cmake --preset release
cmake --build --preset release --target file_checksum

echo
echo "quickstart: running out/build/release/example/file_checksum $*"
exec out/build/release/example/file_checksum "$@"
