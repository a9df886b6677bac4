#!/usr/bin/env bash
# The whole test suite, after installing any missing system packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh
swift build --build-tests
swift test --skip-build
