#!/usr/bin/env bash
# The whole test suite, after installing any missing system packages.
# Built in release mode (with testability, for @testable imports): the model-parity and CLI
# tests run full forward passes, which take seconds optimised and minutes unoptimised.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh --test
swift build -c release -Xswiftc -enable-testing --build-tests
# The benchmark package must keep building (it is never run here: speed is not a test).
(cd Benchmarks && swift build --build-path ../.build-benchmarks)
# The embedding example builds against the public API alone and scores a JPEG and a DICOM
# object: the astronaut's face goes to review, and the DICOM object's attributes restrict it.
(cd Examples/PhotoScreening && swift build --build-path ../../.build-examples)
example=$(.build-examples/debug/PhotoScreening Samples/images/astronaut.jpg Tests/VeilDICOMTests/Fixtures/evidence.dcm)
echo "$example"
grep -q '^Samples/images/astronaut.jpg: review pending; face ' <<<"$example"
grep -q '^Tests/VeilDICOMTests/Fixtures/evidence.dcm frame 1 of 1: review restricted;' <<<"$example"
# The API documentation builds, with DocC warnings (broken links) as errors.
bash scripts/docs.sh
# One OpenBLAS thread under the tests' own Runtime threads, so that the two never oversubscribe;
# the veil binaries the tests start set this up themselves (ProcessTuningTests checks it).
OPENBLAS_NUM_THREADS=1 swift test -c release -Xswiftc -enable-testing --skip-build
# Once more on the portable kernels, which this CPU would otherwise never run: the kernels,
# the models' parity with their references, batch independence, and a command's scores.
VEIL_KERNELS=portable OPENBLAS_NUM_THREADS=1 swift test -c release -Xswiftc -enable-testing --skip-build \
    --filter 'VeilTensorTests|VeilEngineTests|VeilImportTests|ModelParityTests|FaceDetectorTests|BatchIndependenceTests|ScoreCommandTests'
