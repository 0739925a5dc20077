#!/usr/bin/env bash
# Checks the PrometheusRule in config/prometheus/rules.yaml with promtool and
# runs its unit tests (config/prometheus/tests/*.yaml). promtool is built
# once by hack/promtool.sh (about eight minutes the first time).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROMTOOL=${PROMTOOL:-$("$ROOT/hack/promtool.sh")}
TESTS="$ROOT/config/prometheus/tests"
GENERATED="$TESTS/rules.generated.yaml"
trap 'rm -f "$GENERATED"' EXIT

# The rule groups are the PrometheusRule's spec: everything after "spec:",
# one level of indentation less.
sed -n '/^spec:/,$p' "$ROOT/config/prometheus/rules.yaml" | tail -n +2 | sed 's/^  //' >"$GENERATED"
"$PROMTOOL" check rules "$GENERATED"
"$PROMTOOL" test rules "$TESTS"/*_test.yaml
