#!/usr/bin/env bash
# Fails when the committed generated code in Sources/FleetProtocol/Generated/ differs from what
# scripts/gen-proto.sh makes from proto/ now (edit the .proto, run scripts/gen-proto.sh, commit).
# Cost: building the two protoc plugins (~1 min after the package's dependencies are built).
set -euo pipefail
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
scripts/gen-proto.sh "$TMP" >/dev/null
if ! diff -ru Sources/FleetProtocol/Generated "$TMP"; then
  echo "proto-drift: generated code is stale; run scripts/gen-proto.sh and commit the result" >&2
  exit 1
fi
echo "proto-drift: generated code matches proto/"
