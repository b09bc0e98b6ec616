#!/usr/bin/env bash
# Generates the Go stubs of proto/usergateway/v1/user_profile.proto into
# client/go/usergatewayv1/ (package usergatewayv1, import path
# usergateway/client/go/usergatewayv1) with Debian's protoc and the
# protoc-gen-go and protoc-gen-go-grpc that scripts/setup.sh installs at
# pinned versions. The proto's own go_package is left alone: `M` flags map
# the file to this module's package. The google.rpc messages come from
# google.golang.org/genproto (go.mod), not from here.
#
# Usage: client/go/generate.sh
#   TOOLS=DIR overrides where the plugins are (default: the directory
#   scripts/setup.sh prints, ~/.cache/usergateway/tools/bin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="${TOOLS:-${HOME:-/root}/.cache/usergateway/tools/bin}"
for plugin in protoc-gen-go protoc-gen-go-grpc; do
  if [ ! -x "$tools/$plugin" ]; then
    echo "generate.sh: no $tools/$plugin; run scripts/setup.sh" >&2
    exit 1
  fi
done
command -v protoc >/dev/null || {
  echo "generate.sh: no protoc (Debian's protobuf-compiler); run scripts/setup.sh" >&2
  exit 1
}
module=usergateway/client/go
map="Musergateway/v1/user_profile.proto=$module/usergatewayv1"
rm -rf "$here/usergatewayv1"
protoc -I "$root/proto" \
  --plugin=protoc-gen-go="$tools/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$tools/protoc-gen-go-grpc" \
  --go_out="$here" --go_opt="module=$module" --go_opt="$map" \
  --go-grpc_out="$here" --go-grpc_opt="module=$module" --go-grpc_opt="$map" \
  "$root/proto/usergateway/v1/user_profile.proto"
