#!/usr/bin/env bash
# Builds the API documentation of the Veil product with DocC (part of the Swift toolchain),
# from the doc comments and the catalog in Sources/Veil/Veil.docc, which holds the
# getting-started article for a vendor's server. Output: .build/docs/Veil.doccarchive, a
# static site (open it with `docc preview`, or serve the folder; see docs/api.md).
#   bash scripts/docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Symbol graphs are written when a module compiles; a cached build keeps the last ones,
# which match the sources, so only the archive and the Veil subset are made afresh.
graphs=.build/symbol-graphs
rm -rf .build/docs "$graphs/Veil" && mkdir -p .build/docs "$graphs/all" "$graphs/Veil"
swift build --target Veil -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs/all"
cp "$graphs"/all/Veil.symbols.json "$graphs/Veil/"
cp "$graphs"/all/Veil@*.symbols.json "$graphs/Veil/" 2>/dev/null || true
docc convert Sources/Veil/Veil.docc --additional-symbol-graph-dir "$graphs/Veil" \
    --output-dir .build/docs/Veil.doccarchive --transform-for-static-hosting \
    --fallback-display-name Veil --fallback-bundle-identifier org.veil.Veil --warnings-as-errors "$@"
echo "documentation: .build/docs/Veil.doccarchive"
