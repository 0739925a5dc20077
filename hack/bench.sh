#!/usr/bin/env bash
# make bench: the scale benchmarks of docs/benchmarks.md ("Goals"), each
# printing its figure against a reference measured in the same run, then
# hack/benchcheck comparing the figures with the ones the document records
# (a warning for any more than 20 % worse; a missed goal is printed, not an
# error).
#
#   make bench                    default sizes, about 5 minutes on two cores
#   BENCH=full make bench         the goal sizes (100,000 objects; see the doc)
#   BENCH_RUN=Regexp make bench   other benchmarks of test/bench (e.g. . for all)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The benchmarks of the goals table; the others of test/bench (Dequeue,
# LeaderHandover, PodMemory, LifecycleReconcileCost) run with BENCH_RUN.
default_run='^(BenchmarkAdmission|BenchmarkLedger|BenchmarkConverge|BenchmarkExpiry|BenchmarkScaleMemoryRestart)$'
run="${BENCH_RUN:-$default_run}"

export KUBEBUILDER_ASSETS="${KUBEBUILDER_ASSETS:-$(hack/envtest-assets.sh)}"

log="$(mktemp "${TMPDIR:-/tmp}/bench.XXXXXX.log")"
trap 'rm -f "$log"' EXIT

echo "::: go test -bench '$run' (BENCH=${BENCH:-default})"
status=0
go test ./test/bench/ -run '^$' -bench "$run" -benchtime=1x -timeout 120m -v 2>&1 | tee "$log" || status=$?

echo
echo "::: benchcheck"
go run ./hack/benchcheck -doc docs/benchmarks.md "$log"
exit "$status"
