#!/usr/bin/env bash
# Builds and runs the whole test suite through ctest: Quick start command 2,
# and the first thing .ci/run does.
#
#   bash scripts/test.sh          # workflow preset "test": Debug, -Werror
#   bash scripts/test.sh asan     # same tests under ASan + UBSan
#   bash scripts/test.sh tsan     # same tests under ThreadSanitizer
#
# Parallelism follows CMAKE_BUILD_PARALLEL_LEVEL and CTEST_PARALLEL_LEVEL
# (default: every core). Build trees go to out/build/<preset>.
set -euo pipefail
cd "$(dirname "$0")/.."

workflow=${1:-test}

bash scripts/install-deps.sh

export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}
exec cmake --workflow --preset "$workflow"
