#!/usr/bin/env bash
# The Kubernetes manifests (deploy/kubernetes: base and the dev and prod
# overlays), checked three ways:
#   - kustomize renders each overlay, and the renders say what README.md
#     promises (namespace, image, upstream, NetworkPolicy ports);
#   - kubeconform validates every object against Kubernetes 1.37's JSON
#     schemas (strict: unknown fields refused) and kube-score lints them
#     (the checks skipped are listed below, each with its reason);
#   - a real kube-apiserver (1.37.2, on etcd, both on loopback ports chosen
#     at run time) accepts each overlay with `kubectl apply
#     --dry-run=server`, which runs the API's own validation and defaulting.
# Each check is also shown to bite: a Deployment whose selector does not
# match its pod labels, a PodDisruptionBudget with both minAvailable and
# maxUnavailable and a misspelt field must each be refused.
#
# Usage: tests/deploy/manifests_test.sh   (scripts/test.sh runs it)
# Environment: TOOLS, the directory scripts/setup.sh prints on its last line
# (kustomize, kubeconform, kube-score, kube-apiserver, kubectl); default:
# runs scripts/setup.sh. Also needs /usr/bin/etcd and openssl.
# Ends with `N passed, N failed`; exits non-zero when a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/deploy/lib.sh

readonly KUBE_ROOT=deploy/kubernetes
readonly OVERLAYS=(dev prod)
declare -A NAMESPACE_OF=([dev]=usergateway-dev [prod]=usergateway)
# Objects each overlay renders, as kind/name.
declare -A OBJECTS_OF=(
  [dev]="Deployment/upstream-emulator Deployment/usergateway HorizontalPodAutoscaler/usergateway NetworkPolicy/upstream-emulator NetworkPolicy/usergateway PodDisruptionBudget/usergateway Service/upstream-emulator Service/usergateway"
  [prod]="Deployment/usergateway HorizontalPodAutoscaler/usergateway NetworkPolicy/usergateway PodDisruptionBudget/usergateway Service/usergateway"
)
readonly SCHEMA_VERSION=v1.37.0-local-strict

# kube-score checks not applied, and why:
KUBE_SCORE_FLAGS=(
  --exit-one-on-warning
  # No CPU limit, deliberately: CFS quota throttling stalls a latency-bound
  # gRPC server for the rest of a 100 ms period at every burst; the CPU
  # request (which the HPA scales on) reserves its share. Memory is
  # limited.
  --ignore-container-cpu-limit
  # imagePullPolicy IfNotPresent: the image is named by an immutable
  # version tag, so Always would only make every pod start depend on the
  # registry being reachable (and break images loaded into dev nodes).
  --ignore-test container-image-pull-policy
)
# Only for dev: the emulator keeps the users it updates in memory, so it
# runs as one replica (a second would answer from other data).
KUBE_SCORE_DEV_FLAGS=(--ignore-test deployment-replicas)

work="$(mktemp -d)"
pids=()
# Stops the servers in reverse order (kube-apiserver before the etcd it
# needs to shut down), each within 20 s or by SIGKILL.
stop_servers() {
  local i
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
    stop_pid "${pids[$i]}"
  done
  pids=()
}
cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tools="$(tools_dir)"
require_tools "$tools/kustomize" "$tools/kubeconform" "$tools/kube-score" \
  "$tools/kube-apiserver" "$tools/kubectl" /usr/bin/etcd /usr/bin/openssl \
  /usr/bin/python3
schemas="$tools/../share/kubernetes-json-schema/$SCHEMA_VERSION"
if [ ! -f "$schemas/_definitions.json" ]; then
  fail "no Kubernetes JSON schemas at $schemas (scripts/setup.sh installs" \
    "kubernetes-validate, which ships them)"
  finish
fi
echo "kustomize $("$tools/kustomize" version), kubectl" \
  "$("$tools/kubectl" version --client -o json |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')," \
  "$("$tools/kube-apiserver" --version), $(/usr/bin/etcd --version | head -n 1)"

# --- Render ----------------------------------------------------------------

# render_with_patch NAME OVERLAY PATCH: renders OVERLAY with one more JSON
# patch (YAML list of operations) on TARGET kind=name, into $work/NAME.yaml.
render_with_patch() {
  local name="$1" overlay="$2" kind="$3" object="$4" patch="$5" dir
  dir="$work/$name"
  mkdir -p "$dir"
  cat >"$dir/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(/usr/bin/python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
    "$PWD/$KUBE_ROOT/overlays/$overlay" "$dir")
patches:
  - target:
      kind: $kind
      name: $object
    patch: |-
$(sed 's/^/      /' <<<"$patch")
EOF
  "$tools/kustomize" build "$dir" >"$work/$name.yaml"
}

for overlay in "${OVERLAYS[@]}"; do
  if "$tools/kustomize" build "$KUBE_ROOT/overlays/$overlay" \
    >"$work/$overlay.yaml" 2>"$work/$overlay.err"; then
    pass "kustomize build overlays/$overlay"
  else
    cat "$work/$overlay.err"
    fail "kustomize build overlays/$overlay"
  fi
done
check "kustomize build base" \
  "$tools/kustomize" build "$KUBE_ROOT/base" -o "$work/base.yaml"

# --- Schemas (kubeconform) and lint (kube-score) --------------------------------

# kubernetes-validate's schemas point at "/api/_definitions.json"; kubeconform
# reads local files, so each $ref is rewritten to a file: URL of a copy here,
# and the $schema line (a remote meta-schema) is dropped.
/usr/bin/python3 - "$schemas" "$work/schemas" <<'PYTHON'
import glob, json, os, sys
source, target = sys.argv[1], sys.argv[2]
os.makedirs(target)
definitions = "file://" + os.path.abspath(target) + "/_definitions.json"
def rewrite(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if (key == "$ref" and isinstance(value, str) and
                    value.startswith("/api/_definitions.json")):
                node[key] = definitions + value[len("/api/_definitions.json"):]
            else:
                rewrite(value)
    elif isinstance(node, list):
        for value in node:
            rewrite(value)
for path in glob.glob(os.path.join(source, "*.json")):
    with open(path) as handle:
        schema = json.load(handle)
    schema.pop("$schema", None)
    rewrite(schema)
    with open(os.path.join(target, os.path.basename(path)), "w") as handle:
        json.dump(schema, handle)
PYTHON
kubeconform() {
  "$tools/kubeconform" -strict -summary -output text \
    -schema-location "$work/schemas/{{.ResourceKind}}{{.KindSuffix}}.json" "$@"
}
for overlay in "${OVERLAYS[@]}"; do
  if kubeconform "$work/$overlay.yaml" >"$work/kc.out" 2>&1 &&
    grep -q ' Invalid: 0, Errors: 0, Skipped: 0' "$work/kc.out"; then
    pass "kubeconform -strict overlays/$overlay: $(tail -n 1 "$work/kc.out")"
  else
    cat "$work/kc.out"
    fail "kubeconform -strict overlays/$overlay"
  fi
  flags=("${KUBE_SCORE_FLAGS[@]}")
  [ "$overlay" = dev ] && flags+=("${KUBE_SCORE_DEV_FLAGS[@]}")
  if "$tools/kube-score" score "${flags[@]}" "$work/$overlay.yaml" \
    >"$work/ks.out" 2>&1; then
    pass "kube-score overlays/$overlay"
  else
    cat "$work/ks.out"
    fail "kube-score overlays/$overlay"
  fi
done

# The schema check bites: a misspelt field is refused.
misspelt_patch='- op: add
  path: /spec/template/spec/containers/0/imagePulPolicy
  value: Always'
render_with_patch misspelt prod Deployment usergateway "$misspelt_patch"
if ! kubeconform "$work/misspelt.yaml" >"$work/kc.out" 2>&1 &&
  grep -q "additional properties 'imagePulPolicy' not allowed" "$work/kc.out"; then
  pass "kubeconform refuses a misspelt field (imagePulPolicy)"
else
  cat "$work/kc.out"
  fail "kubeconform accepted a misspelt field"
fi

# --- A real API server -----------------------------------------------------------

# etcd and kube-apiserver on 127.0.0.1, ports free a moment ago; a token
# for kubectl; a service-account signing key pair; everyone may do
# everything (this server holds nothing).
start_api_server() {
  local etcd_client etcd_peer api token
  read -r etcd_client etcd_peer api < <(free_ports 3 | tr '\n' ' ')
  /usr/bin/etcd --name deploy-test --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_client" \
    --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "deploy-test=http://127.0.0.1:$etcd_peer" \
    >"$work/etcd.log" 2>&1 &
  pids+=("$!")
  openssl genrsa -out "$work/sa.key" 2048 2>/dev/null &&
    openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null ||
    { stop_servers; return 1; }
  token="$(openssl rand -hex 24)"
  printf '%s,deploy-test,deploy-test,"system:masters"\n' "$token" \
    >"$work/tokens.csv"
  mkdir -p "$work/pki"
  "$tools/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_client" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$api" --cert-dir="$work/pki" \
    --token-auth-file="$work/tokens.csv" \
    --authorization-mode=AlwaysAllow \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$work/sa.pub" \
    --service-account-signing-key-file="$work/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none \
    >"$work/kube-apiserver.log" 2>&1 &
  pids+=("$!")
  # A kubeconfig file keeps the token off command lines.
  cat >"$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: https://127.0.0.1:$api
      insecure-skip-tls-verify: true
users:
  - name: test
    user:
      token: $token
contexts:
  - name: test
    context: {cluster: test, user: test}
current-context: test
EOF
  export KUBECONFIG="$work/kubeconfig"
  # Ready when /readyz says ok (etcd reached, every post-start hook done).
  local deadline=$(( $(now_ms) + 180000 ))
  until [ "$("$tools/kubectl" get --raw /readyz 2>/dev/null)" = ok ]; do
    if (( $(now_ms) >= deadline )) || ! kill -0 "${pids[0]}" 2>/dev/null ||
      ! kill -0 "${pids[1]}" 2>/dev/null; then
      tail -n 30 "$work/etcd.log" "$work/kube-apiserver.log"
      stop_servers
      return 1
    fi
    sleep 0.5
  done
}

kubectl() { "$tools/kubectl" --request-timeout=60s "$@"; }

# Up to three tries: a port free a moment ago may have been taken since.
started_ms="$(now_ms)"
for attempt in 1 2 3; do
  start_api_server && break
  if [ "$attempt" = 3 ]; then
    fail "etcd and kube-apiserver did not become ready (3 tries)"
    finish
  fi
  echo "etcd or kube-apiserver did not start (try $attempt); again on new ports"
  rm -rf "$work/etcd" "$work/pki"
done
pass "kube-apiserver ready on loopback after $(( $(now_ms) - started_ms )) ms" \
  "($(kubectl version -o json | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'))"

for overlay in "${OVERLAYS[@]}"; do
  kubectl create namespace "${NAMESPACE_OF[$overlay]}" >/dev/null ||
    fail "create namespace ${NAMESPACE_OF[$overlay]}"
  if kubectl apply --dry-run=server -f "$work/$overlay.yaml" \
    >"$work/apply.out" 2>&1; then
    cat "$work/apply.out"
    count="$(grep -c '(server dry run)$' "$work/apply.out")"
    want="$(wc -w <<<"${OBJECTS_OF[$overlay]}")"
    check "kube-apiserver accepts overlays/$overlay ($count of $want objects, dry run)" \
      [ "$count" = "$want" ]
  else
    cat "$work/apply.out"
    fail "kube-apiserver refused overlays/$overlay"
  fi
  # The objects as written (a client dry run: no server defaults such as
  # replicas: 1), for the checks below.
  kubectl create --dry-run=client -o json -f "$work/$overlay.yaml" \
    >"$work/$overlay.json" 2>"$work/apply.err" || cat "$work/apply.err"
done

# What each overlay holds: the namespace, image, upstream, replicas and
# NetworkPolicy README.md describes.
for overlay in "${OVERLAYS[@]}"; do
  if /usr/bin/python3 - "$work/$overlay.json" "$overlay" \
    "${NAMESPACE_OF[$overlay]}" "${OBJECTS_OF[$overlay]}" <<'PYTHON'
import json, sys
path, overlay, namespace, want_objects = sys.argv[1:5]
# kubectl prints one JSON object after another.
items, text, decoder, at = [], "", json.JSONDecoder(), 0
try:
    text = open(path).read()
    while text[at:].strip():
        item, end = decoder.raw_decode(text[at:].lstrip())
        at = len(text) - len(text[at:].lstrip()) + end
        items.append(item)
    if not items:
        raise ValueError("empty")
except (OSError, ValueError) as error:
    print(f"  {overlay}: no objects from kubectl: {error}")
    sys.exit(1)
problems = []
def expect(what, got, want):
    if got != want:
        problems.append(f"{what}: got {got!r}, want {want!r}")
objects = {f"{o['kind']}/{o['metadata']['name']}": o for o in items}
expect("objects", sorted(objects), sorted(want_objects.split()))
for key, o in objects.items():
    expect(f"{key} namespace", o["metadata"].get("namespace"), namespace)
gateway = objects.get("Deployment/usergateway", {"spec": {"template": {
    "metadata": {}, "spec": {"containers": [{}]}}}})
pod = gateway["spec"]["template"]
container = pod["spec"]["containers"][0]
env = {e["name"]: e.get("value") for e in container.get("env", [])}
if overlay == "dev":
    expect("image", container.get("image"), "usergateway:0.1.0")
    expect("upstream", env.get("GATEWAY_UPSTREAM_BASE_URL"),
           "http://upstream-emulator:8080/api")
    expect("insecure http allowed", env.get("GATEWAY_ALLOW_INSECURE_HTTP"),
           "true")
else:
    expect("image", container.get("image"),
           "registry.example.com/usergateway:0.1.0")
    expect("upstream scheme",
           env.get("GATEWAY_UPSTREAM_BASE_URL", "")[:8], "https://")
    expect("insecure http allowed", env.get("GATEWAY_ALLOW_INSECURE_HTTP"),
           None)
    expect("HPA minReplicas",
           objects["HorizontalPodAutoscaler/usergateway"]["spec"]["minReplicas"], 3)
expect("Deployment replicas (the HPA owns them)",
       gateway["spec"].get("replicas"), None)
expect("runAsNonRoot", pod["spec"].get("securityContext", {}).get("runAsNonRoot"), True)
volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
expect("API key Secret", volumes.get("api-key", {}).get("secret", {}).get("secretName"),
       "usergateway-api-key")
# The NetworkPolicy: in, callers to gRPC and monitoring to gRPC and admin;
# out, DNS and HTTPS (dev: and the emulator's port).
policy = objects.get("NetworkPolicy/usergateway", {}).get("spec", {})
expect("policy selects", policy.get("podSelector"),
       {"matchLabels": {"app.kubernetes.io/name": "usergateway"}})
expect("policy types", policy.get("policyTypes"), ["Ingress", "Egress"])
ingress = [(rule["from"], sorted(str(p["port"]) for p in rule["ports"]))
           for rule in policy.get("ingress", [])]
expect("ingress", ingress, [
    ([{"namespaceSelector": {},
       "podSelector": {"matchLabels": {"usergateway.io/caller": "true"}}}],
     ["grpc"]),
    ([{"namespaceSelector": {"matchLabels":
        {"kubernetes.io/metadata.name": "monitoring"}}}],
     ["grpc", "metrics"])])
egress = [sorted(f"{p['protocol']}/{p['port']}" for p in rule["ports"])
          for rule in policy.get("egress", [])]
want_egress = [["TCP/53", "UDP/53"], ["TCP/443"]]
if overlay == "dev":
    want_egress.append(["TCP/8080"])
expect("egress ports", egress, want_egress)
for problem in problems:
    print(f"  {overlay}: {problem}")
sys.exit(1 if problems else 0)
PYTHON
  then
    pass "overlays/$overlay renders the objects, namespace, image, upstream and NetworkPolicy it should"
  else
    fail "overlays/$overlay render content"
  fi
done


# The server check bites where schemas cannot: each of these is valid
# against the schemas (kubeconform passes) and refused by the API server.
# expect_refused NAME MESSAGE: the dry run of $work/NAME.yaml fails with
# MESSAGE.
expect_refused() {
  local name="$1" message="$2"
  kubeconform "$work/$name.yaml" >/dev/null 2>&1 ||
    echo "  (kubeconform refuses it too)"
  if kubectl apply --dry-run=server -f "$work/$name.yaml" \
    >"$work/apply.out" 2>&1; then
    cat "$work/apply.out"
    fail "kube-apiserver accepted $name"
  elif grep -q -F -- "$message" "$work/apply.out"; then
    grep -F -- "$message" "$work/apply.out" | head -n 1 | cut -c1-300
    pass "kube-apiserver refuses $name"
  else
    cat "$work/apply.out"
    fail "kube-apiserver refused $name, but not with: $message"
  fi
}
render_with_patch selector-mismatch prod Deployment usergateway '- op: replace
  path: /spec/selector/matchLabels
  value:
    app.kubernetes.io/name: usergateway-other'
expect_refused selector-mismatch '`selector` does not match template `labels`'
render_with_patch pdb-both prod PodDisruptionBudget usergateway '- op: add
  path: /spec/maxUnavailable
  value: 1'
expect_refused pdb-both 'minAvailable and maxUnavailable cannot be both set'
expect_refused misspelt 'unknown field "spec.template.spec.containers[0].imagePulPolicy"'

finish
