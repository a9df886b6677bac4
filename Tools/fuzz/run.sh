#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with libFuzzer and AddressSanitizer.
#   bash Tools/fuzz/run.sh [SECONDS] [TARGET...]      (default: 600 s each, every target)
# Targets: DICOMFuzz CodecFuzz ImageFuzz ModelFuzz MultipartFuzz PolicyFuzz TextFuzz. Every module is instrumented
# (-Xswiftc applies to the path dependency too; SwiftPM's own --sanitize flag only reaches
# the root package). Each target is seeded from the test fixtures; findings go to
# Tools/fuzz/findings/TARGET/ (crash-*, leak-*, timeout-*), and each run's last lines
# (executions, coverage) to Tools/fuzz/findings/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(DICOMFuzz CodecFuzz ImageFuzz ModelFuzz MultipartFuzz PolicyFuzz TextFuzz)
build=.build-fuzz
swift build -c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address --build-path "$build"
root=../..
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seed() {  # seed TARGET FOLDER: the fixtures that start each target's corpus
  case "$1" in
    DICOMFuzz) cp $root/Tests/VeilDICOMTests/Fixtures/*.dcm "$2/" ;;
    # Codestreams cut out of the JPEG 2000 and JPEG-LS fixtures (after the DICOM header).
    CodecFuzz) for f in $root/Tests/VeilDICOMTests/Fixtures/j2k-rgb-*.dcm $root/Tests/VeilDICOMTests/Fixtures/j2k-mono2-12.dcm \
                        $root/Tests/VeilDICOMTests/Fixtures/jpegls-*.dcm; do
                 python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=max(d.find(b"\xff\x4f\xff\x51"), d.find(b"\xff\xd8\xff\xf7")); sys.stdout.buffer.write(d[i:] if i >= 0 else d)' "$f" > "$2/$(basename "$f" .dcm)"
               done
               cp regressions/*.j2k "$2/" ;;   # and what it found before
    MultipartFuzz) printf 'multipart/related; type="application/dicom"; boundary=B\n--B\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--B--\r\n' > "$2/one"
                   printf 'multipart/related; boundary="a b"\npre\r\n--a b\r\n\r\nx\r\n--a b\r\nX: y\r\n\r\n\r\n--a b--' > "$2/two" ;;
    ImageFuzz) cp $root/Tests/VeilImageTests/Fixtures/*.jpg $root/Tests/VeilImageTests/Fixtures/*.png "$2/" ;;
    ModelFuzz) VEIL_FUZZ_WRITE_SEEDS="$2" "$build/debug/ModelFuzz" ;;
    PolicyFuzz) cp $root/Samples/policy.yaml "$2/"
                printf 'policy: {name: x, version: "1"}\nflags:\n  nudity: {review_threshold: 0.3}\nminors: review-all\n' > "$2/small.yaml" ;;
    TextFuzz) printf '\0\0path,nudity,face\r\n"a,b.jpg",1,0\r\nc.jpg,0,\n' > "$2/truth.csv"
              printf '\1\3# photos\r\n/archive/a.jpg\n\n  b.png  \n# end' > "$2/manifest" ;;
  esac
}

for target in "${targets[@]}"; do
  corpus="$work/$target"; mkdir -p "$corpus" "findings/$target"
  seed "$target" "$corpus"
  echo "== $target: $seconds s" >&2
  "$build/debug/$target" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
      -timeout=10 -artifact_prefix="findings/$target/" -print_final_stats=1 2>&1 | tee "findings/$target.full.log" \
      | grep -E "^#[0-9]+[[:space:]]+(DONE|INITED)|^stat::|ERROR|SUMMARY|^artifact" | tail -20 > "findings/$target.log" || true
  cat "findings/$target.log" >&2
done
