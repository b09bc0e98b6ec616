#!/usr/bin/env bash
# Builds the usergateway runtime image with podman, without pulling anything:
# deploy/Dockerfile is FROM scratch, and this script prepares its build
# context from this machine. The context holds a root file system with only
# what the binary needs: the binary, the shared libraries ldd lists for it
# (copied as regular files at the paths the dynamic loader searches), the
# dynamic loader itself, the CA bundle libcurl trusts for the upstream's
# certificate, and passwd/group entries for the non-root user 65532.
#
# With --emulator, the same for the upstream emulator
# (//tests/emulator:upstream_emulator, deploy/emulator/Dockerfile), which
# the dev overlay (deploy/kubernetes/overlays/dev) runs as the upstream.
#
# Usage: deploy/build_image.sh [--emulator] [TAG]
#   (default TAG: usergateway:0.1.0, with --emulator usergateway-emulator:0.1.0)
# Environment:
#   USERGATEWAY_BIN  the gateway binary (default: bazel-bin/gateway/usergateway;
#                    build it first with `bazel build --config=opt
#                    //gateway:usergateway`)
#   EMULATOR_BIN     with --emulator, the emulator binary (default:
#                    bazel-bin/tests/emulator/upstream_emulator)
#   PODMAN           the podman command (default: podman)
# Prints the image id on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--emulator" ]; then
  shift
  tag="${1:-usergateway-emulator:0.1.0}"
  binary="${EMULATOR_BIN:-bazel-bin/tests/emulator/upstream_emulator}"
  target=//tests/emulator:upstream_emulator
  installed=/usr/local/bin/upstream_emulator
  dockerfile=deploy/emulator/Dockerfile
else
  tag="${1:-usergateway:0.1.0}"
  binary="${USERGATEWAY_BIN:-bazel-bin/gateway/usergateway}"
  target=//gateway:usergateway
  installed=/usr/local/bin/usergateway
  dockerfile=deploy/Dockerfile
fi
podman="${PODMAN:-podman}"
# Debian's bundle of the Mozilla CA list (package ca-certificates), which
# libcurl reads by default on Debian.
ca_bundle=/etc/ssl/certs/ca-certificates.crt

log() { echo "build_image: $*" >&2; }

if [ ! -x "$binary" ]; then
  log "no executable binary at $binary;"
  log "run: bazel build --config=opt $target"
  exit 1
fi
if [ ! -r "$ca_bundle" ]; then
  log "no CA bundle at $ca_bundle (Debian package ca-certificates)"
  exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs"

# The binary and every library the loader resolves for it, the loader
# included (ldd prints it as an absolute path without "=>"). Each goes to
# the path ldd printed, dereferenced: the image has no symlinks to follow.
cp -L "$binary" "$root$installed"
libraries="$(ldd "$binary" | awk '
  $2 == "=>" && $3 ~ /^\// { print $3 }
  $1 ~ /^\// { print $1 }
  $2 == "=>" && $3 == "not" { print "MISSING " $1 }')"
if grep -q '^MISSING' <<<"$libraries"; then
  log "libraries not found for $binary: $(grep '^MISSING' <<<"$libraries")"
  exit 1
fi
while read -r library; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done <<<"$libraries"
cp -L "$ca_bundle" "$root$ca_bundle"

# A name for uid/gid 65532 (the conventional "nonroot" of distroless
# images), so that tools inside and outside the container can print it.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# Files readable by all, writable by none but root; the process never
# writes to its root file system (Kubernetes mounts it read-only).
chmod -R a+rX,go-w "$root"

log "context: $(find "$root" -type f | wc -l) files," \
  "$(du -sh "$root" | cut -f1) (binary, $(wc -l <<<"$libraries") libraries" \
  "with the loader, CA bundle, passwd, group)"
"$podman" build --isolation chroot --pull=never -f "$dockerfile" -t "$tag" \
  --iidfile "$context/iid" "$context" >&2
cat "$context/iid"
echo
