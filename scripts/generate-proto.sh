#!/usr/bin/env bash
# Regenerates the protobuf-c code of the ArfProto target from proto/arf/v1/*.proto.
#
# The generated code is checked in because SwiftPM build plugins cannot feed generated C
# sources into a C target. Run this after editing a .proto file, then commit the result;
# a test fails while the checked-in code is stale.
#
# Usage: scripts/generate-proto.sh [OUTPUT_DIR]
#   OUTPUT_DIR defaults to Sources/ArfProto. Sources go to OUTPUT_DIR/arf/v1 and headers to
#   OUTPUT_DIR/include/arf/v1; SwiftPM treats the include folder as an umbrella directory,
#   so a new .proto file needs no other change to be visible from Swift.
set -euo pipefail
export LC_ALL=C

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/Sources/ArfProto}"

if ! command -v protoc-c >/dev/null 2>&1; then
    echo "generate-proto: protoc-c not found (Debian package protobuf-c-compiler)" >&2
    exit 2
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Paths relative to proto/ keep the "arf/v1/..." include paths in the generated code.
cd "$root/proto"
protos=(arf/v1/*.proto)
protoc-c --proto_path=. --c_out="$scratch" "${protos[@]}"

# Replace the previous output wholesale so that a deleted .proto leaves nothing behind.
mkdir -p "$out/arf/v1" "$out/include/arf/v1"
rm -f "$out"/arf/v1/*.pb-c.c "$out"/include/arf/v1/*.pb-c.h
cp "$scratch"/arf/v1/*.pb-c.c "$out/arf/v1/"
cp "$scratch"/arf/v1/*.pb-c.h "$out/include/arf/v1/"

echo "generate-proto: generated code for ${#protos[@]} .proto files in $out"
