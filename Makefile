# Image URL to use all building/pushing image targets
IMG ?= controller:latest

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# CONTAINER_TOOL defines the container tool to be used for building images.
# Be aware that the target commands are only tested with Docker which is
# scaffolded by default. However, you might want to replace it to use other
# tools. (i.e. podman)
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

# hack/envtest-assets.sh prints the directory holding kube-apiserver, etcd and
# kubectl: $KUBEBUILDER_ASSETS, the setup-envtest cache, a setup-envtest
# download, or a build from the Go module proxy (once), in that order.
ENVTEST_ASSETS ?= hack/envtest-assets.sh

.PHONY: all
all: build

##@ General

# The help target prints out all targets with their descriptions organized
# beneath their categories. The categories are represented by '##@' and the
# target descriptions by '##'. The awk command is responsible for reading the
# entire set of makefiles included in this invocation, looking for lines of the
# file as xyz: ## something, and then pretty-format the target and help. Then,
# if there's a line with ##@ something, that gets pretty-printed as a category.
# More info on the usage of ANSI control characters for terminal formatting:
# https://en.wikipedia.org/wiki/ANSI_escape_code#SGR_parameters
# More info on the awk command:
# http://linuxcommand.org/lc3_adv_awk.php

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate WebhookConfiguration, ClusterRole and CustomResourceDefinition objects.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

# The end-to-end suites (test/e2e/...) build only with the tag e2e.
E2E_TAGS ?= -tags e2e

.PHONY: vet
vet: ## Run go vet against code (the e2e suites included).
	go vet $(E2E_TAGS) ./...

.PHONY: test
test: manifests generate fmt vet envtest kueue promtool-test chart-test ## Run every test: unit, envtest suites, e2e (on a local control plane, Kueue's suite included) and the alerts' promtool tests.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_ASSETS))" go test $(E2E_TAGS) ./... -count=1 -timeout 40m -coverprofile cover.out

# promtool is built once from the Go module proxy (hack/tools/promtool), about
# eight minutes on two cores, into the cache beside the envtest binaries.
.PHONY: promtool-test
promtool-test: ## Check the PrometheusRule in config/prometheus and run its promtool unit tests.
	hack/promtool-test.sh

.PHONY: test-e2e
test-e2e: envtest kueue ## Run the e2e suites: the built manager on a local control plane (no Kind, no Docker), one of them beside Kueue.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_ASSETS))" go test $(E2E_TAGS) ./test/e2e/... -count=1 -timeout 20m -v -ginkgo.v

.PHONY: bench
bench: envtest ## Run the scale benchmarks (docs/benchmarks.md, "Goals"), about 5 min; BENCH=full for the goal sizes. Warns on a regression over 20 %.
	hack/bench.sh

.PHONY: bench-all
bench-all: envtest ## Run every benchmark in test/bench once (Dequeue and LeaderHandover build the local cluster).
	BENCH_RUN=. hack/bench.sh

.PHONY: chart
chart: manifests ## Generate the Helm chart in dist/chart from config/ (hack/gen-chart).
	go run ./hack/gen-chart -config config -out dist/chart

# helm is built once from the Go module proxy (hack/tools/helm, see
# hack/helm.sh), about three minutes on an idle two-core machine.
.PHONY: chart-test
chart-test: ## Lint dist/chart and render it with its default values and each option on; a misspelt value must fail.
	hack/chart-test.sh

.PHONY: verify
verify: manifests generate fmt chart ## Regenerate everything and fail when the tree differs from what is committed.
	@if ! git diff --exit-code --stat; then \
		echo "verify: generated or formatted files differ from the commit; run 'make manifests generate fmt' and commit the result" >&2; \
		git --no-pager diff >&2; \
		exit 1; \
	fi
	@untracked="$$(git status --porcelain --untracked-files=all)"; \
	if [ -n "$$untracked" ]; then \
		echo "verify: files are not committed (new generated files must be committed too):" >&2; \
		echo "$$untracked" >&2; \
		exit 1; \
	fi

.PHONY: lint
lint: golangci-lint ## Run golangci-lint linter.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint linter and perform fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: lint-config
lint-config: golangci-lint ## Verify golangci-lint linter configuration.
	$(GOLANGCI_LINT) config verify

##@ Build

.PHONY: build
build: manifests generate fmt vet build-plugin ## Build the manager binary and the kubectl plugin.
	go build -o bin/manager ./cmd

.PHONY: build-plugin
build-plugin: ## Build the kubectl plugin into bin/kubectl-license, with bin/kubectl_complete-license for kubectl's completion.
	go build -o bin/kubectl-license ./cmd/kubectl-license
	install -m 0755 cmd/kubectl-license/kubectl_complete-license bin/kubectl_complete-license

# The krew archives and manifest of a release; plugins/license.yaml holds
# placeholder sha256 values until then (see its comment).
.PHONY: plugin-release
plugin-release: ## Build the kubectl plugin's krew archives (linux, darwin; amd64, arm64) into dist/plugin with their manifest; VERSION=vX.Y.Z.
	@test -n "$(VERSION)" || { echo "plugin-release: set VERSION, for example make plugin-release VERSION=v0.1.0" >&2; exit 1; }
	hack/plugin-release.sh $(VERSION)

.PHONY: run
run: manifests generate fmt vet ## Run a controller from your host against the cluster of your kubeconfig.
	go run ./cmd/main.go

.PHONY: run-local
# Built, then run, rather than `go run`: go run exits 1 when it sees the
# Ctrl-C that run-local handles, and run-local's own exit status (0 after a
# clean stop) is what make should report.
# NODES=0 starts only etcd and kube-apiserver (Pods are admitted or denied, never run).
NODES ?= 1
run-local: manifests envtest | $(LOCALBIN) ## Run the operator on a local cluster (etcd, kube-apiserver, controller-manager, scheduler, NODES hollow nodes), apply config/samples; Ctrl-C stops everything.
	go build -o $(LOCALBIN)/run-local ./hack/run-local
	$(LOCALBIN)/run-local --nodes=$(NODES)

# If you wish to build the manager image targeting other platforms you can use the --platform flag.
# (i.e. docker build --platform linux/arm64). However, you must enable docker buildKit for it.
# More info: https://docs.docker.com/develop/develop-images/build_enhancements/
.PHONY: docker-build
docker-build: ## Build docker image with the manager.
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push docker image with the manager.
	$(CONTAINER_TOOL) push $(IMG)

# PLATFORMS defines the target platforms for the manager image be built to provide support to multiple
# architectures. (i.e. make docker-buildx IMG=myregistry/mypoperator:0.0.1). To use this option you need to:
# - be able to use docker buildx. More info: https://docs.docker.com/build/buildx/
# - have enabled BuildKit. More info: https://docs.docker.com/develop/develop-images/build_enhancements/
# - be able to push the image to your registry (i.e. if you do not set a valid value via IMG=<myregistry/image:<tag>> then the export will fail)
# To adequately provide solutions that are compatible with multiple platforms, you should consider using this option.
PLATFORMS ?= linux/arm64,linux/amd64,linux/s390x,linux/ppc64le
.PHONY: docker-buildx
docker-buildx: ## Build and push docker image for the manager for cross-platform support
	# copy existing Dockerfile and insert --platform=${BUILDPLATFORM} into Dockerfile.cross, and preserve the original Dockerfile
	sed -e '1 s/\(^FROM\)/FROM --platform=\$$\{BUILDPLATFORM\}/; t' -e ' 1,// s//FROM --platform=\$$\{BUILDPLATFORM\}/' Dockerfile > Dockerfile.cross
	- $(CONTAINER_TOOL) buildx create --name license-operator-builder
	$(CONTAINER_TOOL) buildx use license-operator-builder
	- $(CONTAINER_TOOL) buildx build --push --platform=$(PLATFORMS) --tag $(IMG) -f Dockerfile.cross .
	- $(CONTAINER_TOOL) buildx rm license-operator-builder
	rm Dockerfile.cross

.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default > dist/install.yaml

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy controller to the K8s cluster specified in ~/.kube/config.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: kustomize ## Undeploy controller from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Tool Versions
KUSTOMIZE_VERSION ?= v5.8.1
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0

## Tool Binaries: one file per version, so that changing a version above
## installs it on the next run; bin/<tool> is a symlink to the current one.
KUBECTL ?= kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Download kustomize locally if necessary.
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),kustomize,sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Download controller-gen locally if necessary.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),controller-gen,sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Download golangci-lint locally if necessary.
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),golangci-lint,github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: envtest
envtest: ## Provide kube-apiserver, etcd and kubectl for the tests (cache, download or build; see hack/envtest-assets.sh).
	@$(ENVTEST_ASSETS) >/dev/null

# Kueue's manager is built once from the Go module proxy (hack/tools/kueue, see
# hack/kueue.sh), about seven to eight minutes on two cores, into the cache
# beside the envtest binaries. Only the e2e suite of test/e2e/kueue runs it.
.PHONY: kueue
kueue: ## Provide Kueue's manager for the e2e suite of test/e2e/kueue (built once; see hack/kueue.sh).
	@hack/kueue.sh >/dev/null

# go-install-tool will 'go install' any package with a custom target and name of binary.
# $1 - target path with version suffix
# $2 - name of the binary go install writes
# $3 - package url which can be installed
# $4 - specific version of package
define go-install-tool
@set -e; \
echo "Installing $(3)@$(4) into $(LOCALBIN)"; \
rm -f "$(LOCALBIN)/$(2)"; \
GOBIN="$(LOCALBIN)" go install $(3)@$(4); \
mv -f "$(LOCALBIN)/$(2)" "$(1)"; \
ln -sfn "$$(basename "$(1)")" "$(LOCALBIN)/$(2)"
endef
