#!/usr/bin/env bash
# Fuzzes Veil's DICOM parser and frame decoders with libFuzzer and AddressSanitizer.
#   bash Tools/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
# Every module is instrumented (-Xswiftc applies to the path dependency too; SwiftPM's own
# --sanitize flag only reaches the root package). The seed corpus is the DICOM test
# fixtures; findings are written to Tools/fuzz/findings/ (crash-*, leak-*, timeout-*).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"; shift || true
build=.build-fuzz
swift build -c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --build-path "$build"
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp ../../Tests/VeilDICOMTests/Fixtures/*.dcm "$corpus/"
mkdir -p findings
"$build/debug/DICOMFuzz" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix=findings/ -print_final_stats=1 "$@"
