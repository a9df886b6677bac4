#!/usr/bin/env bash
# Runs the concurrent parts of Veil under ThreadSanitizer: the runtime's scoped thread counts
# and its compute pool, the parallel kernels, the batch pipeline of `veil score` (decoding
# workers beside inference, resumable runs, shards) and the library's Scorer against the
# CLI. An instrumented release build of its own (.build-tsan); it must finish with no report.
#   bash scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh
# Optimised: a debug build runs the engine's generic SIMD kernels unspecialised, a call per
# vector operation, and the suites that score photos did not finish in 20 minutes.
swift build -c release -Xswiftc -enable-testing --sanitize=thread --build-tests --build-path .build-tsan
# halt_on_error: the first race fails the run instead of scrolling past.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" OPENBLAS_NUM_THREADS=1 \
    swift test -c release -Xswiftc -enable-testing --sanitize=thread --skip-build --build-path .build-tsan \
    --filter 'RuntimeTests|ParallelForTests|ConvolutionTests|ConvolutionThenMaxPoolTests|BatchRunTests|LibraryParityTests|ModelParityTests'
