#!/usr/bin/env bash
# The whole test suite, after installing any missing system packages.
# Built in release mode (with testability, for @testable imports): the model-parity and CLI
# tests run full forward passes, which take seconds optimised and minutes unoptimised.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh
swift build -c release -Xswiftc -enable-testing --build-tests
# The benchmark package must keep building (it is never run here: speed is not a test).
(cd Benchmarks && swift build --build-path ../.build-benchmarks)
swift test -c release -Xswiftc -enable-testing --skip-build
