#!/usr/bin/env bash
# Lints the Helm chart in dist/chart and renders it: with its default values,
# with each optional part on (certManager.enabled=false among them: internal
# certificate management), and with values it must refuse (a misspelt key).
# helm is built once by hack/helm.sh (about three minutes the first time, more
# on a busy machine).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELM=${HELM:-$("$ROOT/hack/helm.sh")}
CHART="$ROOT/dist/chart"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

say() { echo "chart-test: $*" >&2; }

# render NAME [helm template flags...]: renders into $OUT/NAME.yaml.
render() {
  local name=$1; shift
  "$HELM" template license-operator "$CHART" --namespace license-operator-system "$@" >"$OUT/$name.yaml"
}

# expect KIND NAME FILE: FILE holds an object of that kind and name.
expect() {
  grep -q "^kind: $1\$" "$3" && grep -q "^  name: $2\$" "$3" ||
    { say "$3 lacks $1 $2"; exit 1; }
}

# refuse WHY PATTERN [helm template flags...]: rendering must fail with an
# error that matches PATTERN.
refuse() {
  local why=$1 pattern=$2; shift 2
  if "$HELM" template license-operator "$CHART" "$@" >"$OUT/refused.yaml" 2>"$OUT/refused.err"; then
    say "rendered although $why"; exit 1
  fi
  grep -q -- "$pattern" "$OUT/refused.err" ||
    { say "refused $why, but not with \"$pattern\":"; cat "$OUT/refused.err" >&2; exit 1; }
  say "refused, as it must, $why: $(grep -m 1 -- "$pattern" "$OUT/refused.err")"
}

"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" --set certManager.enabled=false

render default
for kind in CustomResourceDefinition Deployment PodDisruptionBudget ClusterRole Role ServiceAccount \
  ValidatingWebhookConfiguration MutatingWebhookConfiguration Service ValidatingAdmissionPolicy Certificate Issuer; do
  grep -q "^kind: $kind\$" "$OUT/default.yaml" || { say "the default install lacks a $kind"; exit 1; }
done
grep -q '^  replicas: 2$' "$OUT/default.yaml" || { say "the default Deployment does not run 2 replicas"; exit 1; }
for kind in ServiceMonitor PrometheusRule; do
  if grep -q "^kind: $kind\$" "$OUT/default.yaml"; then say "$kind is on by default"; exit 1; fi
done
grep -q 'cert-manager.io/inject-ca-from:' "$OUT/default.yaml" || { say "cert-manager does not inject the CA by default"; exit 1; }
for absent in '^        - --internal-cert-management$' '^  name: webhook-server-cert$' '^  name: license-operator-webhook-cert$'; do
  if grep -q -- "$absent" "$OUT/default.yaml"; then say "the default (cert-manager) install has $absent"; exit 1; fi
done

# certManager.enabled=false: the manager makes and rotates the certificate.
render internalcert --set certManager.enabled=false
expect Secret webhook-server-cert "$OUT/internalcert.yaml"
expect Role license-operator-webhook-cert "$OUT/internalcert.yaml"
expect RoleBinding license-operator-webhook-cert "$OUT/internalcert.yaml"
for arg in '--internal-cert-management' \
  '--webhook-cert-secret=license-operator-system/webhook-server-cert' \
  '--webhook-cert-dns-names=license-operator-webhook-service.license-operator-system.svc' \
  '--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs'; do
  grep -q -- "^        - $arg\$" "$OUT/internalcert.yaml" || { say "the manager lacks $arg with certManager.enabled=false"; exit 1; }
done
for absent in '^kind: Certificate$' '^kind: Issuer$' 'cert-manager.io/inject-ca-from' 'caBundle'; do
  if grep -q -- "$absent" "$OUT/internalcert.yaml"; then say "certManager.enabled=false renders $absent"; exit 1; fi
done

render monitor --set metrics.serviceMonitor.enabled=true
expect ServiceMonitor license-operator-controller-manager-metrics-monitor "$OUT/monitor.yaml"
render rules --set prometheusRule.enabled=true
expect PrometheusRule license-operator-controller-manager-alerts "$OUT/rules.yaml"
grep -q '{{ $labels.name }}' "$OUT/rules.yaml" || { say "the alerts lost their {{ \$labels }} templates"; exit 1; }
render dashboard --set grafanaDashboard.enabled=true
expect ConfigMap license-operator-dashboard "$OUT/dashboard.yaml"
grep -q 'grafana_dashboard: "1"' "$OUT/dashboard.yaml" || { say "the dashboard ConfigMap lacks its label"; exit 1; }
render values --set replicas=3 --set image.repository=example.com/lo --set image.tag=v1 --set resources.requests.cpu=50m
grep -q '^  replicas: 3$' "$OUT/values.yaml" && grep -q 'image: "example.com/lo:v1"' "$OUT/values.yaml" &&
  grep -q 'cpu: 50m' "$OUT/values.yaml" || { say "replicas, image or resources did not reach the Deployment"; exit 1; }

refuse "a key is misspelt (replica)" "'replica' not allowed" --set replica=3
refuse "a nested key is misspelt (metrics.serviceMonitor.enable)" "'enable' not allowed" --set metrics.serviceMonitor.enable=true
say "dist/chart lints and renders"
