#!/usr/bin/env bash
# Regenerates Sources/FleetProtocol/Generated/ from proto/ with protoc + protoc-gen-swift
# (swift-protobuf) + protoc-gen-grpc-swift-2 (grpc-swift-protobuf), both built from the pinned
# package versions. Usage: scripts/gen-proto.sh [OUTPUT_DIR] (default: the committed folder).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-Sources/FleetProtocol/Generated}"
command -v protoc >/dev/null || { echo "gen-proto: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
swift build --product protoc-gen-swift >/dev/null
swift build --product protoc-gen-grpc-swift-2 >/dev/null
BIN=$(swift build --show-bin-path)
mkdir -p "$OUT"
rm -f "$OUT"/*.pb.swift "$OUT"/*.grpc.swift
PROTOS=(proto/edgevlm/fleet/v1/*.proto)
protoc -I proto \
  --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
  --swift_out="$OUT" --swift_opt=Visibility=Public,FileNaming=DropPath \
  --plugin=protoc-gen-grpc-swift-2="$BIN/protoc-gen-grpc-swift-2" \
  --grpc-swift-2_out="$OUT" --grpc-swift-2_opt=Visibility=Public,FileNaming=DropPath,Client=true,Server=true \
  "${PROTOS[@]}"
echo "gen-proto: wrote $(ls "$OUT" | wc -l) files to $OUT"
