#!/usr/bin/env bash
# Runs the concurrent parts of Veil under ThreadSanitizer: the runtime's scoped thread counts
# and its compute pool, the parallel kernels, the batch pipeline of `veil score` (decoding
# workers beside inference, resumable runs, shards) and the library's Scorer against the
# CLI. A debug build of its own (.build-tsan), a few minutes on two cores; it must finish
# with no report.
#   bash scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh
swift build --sanitize=thread --build-tests --build-path .build-tsan
# halt_on_error: the first race fails the run instead of scrolling past.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" OPENBLAS_NUM_THREADS=1 \
    swift test --sanitize=thread --skip-build --build-path .build-tsan \
    --filter 'RuntimeTests|ParallelForTests|ConvolutionTests|ConvolutionThenMaxPoolTests|BatchRunTests|LibraryParityTests|ModelParityTests'
