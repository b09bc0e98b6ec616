#!/usr/bin/env bash
# Generates the Python stubs of proto/usergateway/v1/user_profile.proto
# (user_profile_pb2.py, user_profile_pb2_grpc.py) with grpcio-tools' protoc,
# the one that matches the pinned protobuf runtime. Put OUT_DIR on
# PYTHONPATH next to client/python. The google.rpc messages come from
# googleapis-common-protos, not from here.
#
# Usage: client/python/generate.sh [OUT_DIR]   (default: client/python/gen)
#   PYTHON=/path/to/python overrides the interpreter (default: the venv that
#   scripts/setup.sh makes, ~/.cache/usergateway/tools/client-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/gen}"
python="${PYTHON:-${HOME:-/root}/.cache/usergateway/tools/client-venv/bin/python}"
if [ ! -x "$python" ]; then
  echo "generate.sh: no Python at $python; run scripts/setup.sh" >&2
  exit 1
fi
mkdir -p "$out"
"$python" -m grpc_tools.protoc -I "$root/proto" \
  --python_out="$out" --grpc_python_out="$out" \
  "$root/proto/usergateway/v1/user_profile.proto"
