#!/usr/bin/env bash
# Refreshes proto/third_party from registry packages (npm and the Go module proxy).
# The files are committed; run this only to move to newer versions.
set -euo pipefail
cd "$(dirname "$0")/.."
GOOGLE_PROTO_FILES=6.0.1   # npm google-proto-files: google/api, google/rpc
PROTOVALIDATE=v1.2.2       # Go module github.com/bufbuild/protovalidate: buf/validate

dest=proto/third_party
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "google-proto-files@${GOOGLE_PROTO_FILES}" >/dev/null && tar xzf google-proto-files-*.tgz)
mkdir -p "$dest/google/api" "$dest/google/rpc" "$dest/buf/validate"
for f in annotations http field_behavior httpbody; do
  cp "$tmp/package/google/api/$f.proto" "$dest/google/api/"
done
cp "$tmp/package/google/rpc/status.proto" "$dest/google/rpc/"

dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/bufbuild/protovalidate@${PROTOVALIDATE}" \
  | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp "$dir/proto/protovalidate/buf/validate/validate.proto" "$dest/buf/validate/"
chmod 0644 "$dest"/*/*.proto "$dest"/*/*/*.proto 2>/dev/null || true
echo "third-party protos refreshed in $dest"
