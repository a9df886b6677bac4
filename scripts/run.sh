#!/usr/bin/env bash
# The main job: build Veil (release) and batch-score the bundled sample images with the
# embedded default model. Extra arguments go to `veil score`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-packages.sh
swift build -c release --product veil >&2
exec .build/release/veil score Samples/images "$@"
