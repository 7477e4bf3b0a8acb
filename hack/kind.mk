# kind clusters for testing kaudit against a real CNI (see docs/kind.md).
# Included by the main Makefile with `-include hack/kind.mk`; needs kind (v0.32.0 or
# newer), Docker (or Podman) and kubectl, none of which `make test` needs.
#
#   make kind-up CNI=default|calico|cilium   create the cluster (kind-configs/$(CNI).yaml)
#   make kind-demo                           apply the insecure demo
#   make kind-audit                          audit it from outside (reports under reports/)
#   make kind-incluster                      build the image, deploy the CronJob, run it once
#   make kind-down                           delete the cluster
#   make e2e-kind KAUDIT_KIND_CONTEXT=kind-kaudit-default   the live tests against it

KIND ?= kind
KUBECTL ?= kubectl
DOCKER ?= docker
CILIUM ?= cilium
CNI ?= default
KIND_CONFIG ?= kind-configs/$(CNI).yaml
KIND_CLUSTER ?= kaudit-$(CNI)
KIND_CONTEXT := kind-$(KIND_CLUSTER)
KIND_KUBECTL = $(KUBECTL) --context $(KIND_CONTEXT)
# CNI versions that support Kubernetes 1.36; override to try others.
CALICO_VERSION ?= v3.32.1
CILIUM_VERSION ?= 1.19.6
KAUDIT_IMAGE ?= kaudit:dev
# The demo without kube-system.yaml: a kind cluster has its own CoreDNS, and the
# demo's kindnet DaemonSet must not land on a Calico or Cilium cluster. Nor without
# gateway.yaml, which needs the Gateway API CRDs a kind cluster does not have.
KIND_DEMO_FILES = $(filter-out %/kube-system.yaml %/gateway.yaml,$(wildcard $(DEMO)/*.yaml))
KIND_DEMO_NAMESPACES := shop data payments monitoring
KIND_KUBECONFIG_DIR := .kaudit/kind

.PHONY: kind-up kind-demo kind-audit kind-incluster kind-down e2e-kind kind-check-cni kind-check-tools

kind-check-cni:
	@case "$(CNI)" in \
		default|calico|cilium) ;; \
		*) echo "kind: CNI must be default, calico or cilium (got '$(CNI)')" >&2; exit 2;; \
	esac
	@test -f "$(KIND_CONFIG)" || { echo "kind: no config $(KIND_CONFIG)" >&2; exit 2; }

kind-check-tools:
	@for tool in $(KIND) $(KUBECTL); do \
		command -v $$tool >/dev/null 2>&1 || { \
			echo "kind: '$$tool' not found; see docs/kind.md for what to install" >&2; exit 127; }; \
	done

## Create a kind cluster with the chosen CNI and wait until its nodes are Ready
kind-up: kind-check-cni kind-check-tools
	$(KIND) create cluster --name $(KIND_CLUSTER) --config $(KIND_CONFIG)
ifeq ($(CNI),calico)
	$(KIND_KUBECTL) apply --server-side -f \
		https://raw.githubusercontent.com/projectcalico/calico/$(CALICO_VERSION)/manifests/calico.yaml
	$(KIND_KUBECTL) -n kube-system rollout status daemonset/calico-node --timeout=300s
endif
ifeq ($(CNI),cilium)
	@command -v $(CILIUM) >/dev/null 2>&1 || { \
		echo "kind: the cilium CLI is needed for CNI=cilium (docs/kind.md)" >&2; exit 127; }
	$(CILIUM) install --context $(KIND_CONTEXT) --version $(CILIUM_VERSION)
	$(CILIUM) status --context $(KIND_CONTEXT) --wait
endif
	$(KIND_KUBECTL) wait --for=condition=Ready nodes --all --timeout=300s
	@echo "kind: cluster $(KIND_CLUSTER) is up; context $(KIND_CONTEXT)"

## Apply the insecure demo to the kind cluster and wait for its workloads
kind-demo: kind-check-tools
	$(KIND_KUBECTL) apply $(addprefix -f ,$(KIND_DEMO_FILES))
	@for ns in $(KIND_DEMO_NAMESPACES); do \
		$(KIND_KUBECTL) -n $$ns wait --for=condition=Available deployment --all --timeout=300s \
			|| echo "kind-demo: some Deployments in $$ns are not Available yet (still pulling images?)"; \
	done

## Audit the kind cluster from outside: a table here, HTML and JSON under reports/
kind-audit: install
	$(BIN)/kaudit audit --context $(KIND_CONTEXT) --fail-on never --format table \
		--format html=$(REPORTS)/$(KIND_CLUSTER).html --format json=$(REPORTS)/$(KIND_CLUSTER).json
	@echo "Reports written to $(REPORTS)/$(KIND_CLUSTER).html and .json"

## Build the image, load it into kind, deploy the CronJob (ConfigMap sink) and run it once
kind-incluster: install kind-check-tools
	$(DOCKER) build -t $(KAUDIT_IMAGE) .
	$(KIND) load docker-image $(KAUDIT_IMAGE) --name $(KIND_CLUSTER)
	@api=$$($(KIND_KUBECTL) get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
		-o jsonpath='{.items[0].endpoints[0].addresses[0]}'); \
	port=$$($(KIND_KUBECTL) get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
		-o jsonpath='{.items[0].ports[0].port}'); \
	echo "kind: API server endpoint $$api:$$port"; \
	$(BIN)/kaudit deploy --image $(KAUDIT_IMAGE) --image-pull-policy Never --sink configmap \
		--api-server $$api --api-server-port $$port --fail-on never \
		| $(KIND_KUBECTL) apply --server-side -f -
	$(KIND_KUBECTL) -n kaudit delete job kaudit-now --ignore-not-found
	$(KIND_KUBECTL) -n kaudit create job kaudit-now --from=cronjob/kaudit
	$(KIND_KUBECTL) -n kaudit wait --for=condition=Complete job/kaudit-now --timeout=300s
	$(KIND_KUBECTL) -n kaudit logs job/kaudit-now
	$(KIND_KUBECTL) -n kaudit get configmap kaudit-report -o jsonpath='{.data.report\.json}' \
		| $(BIN)/kaudit report - --format table

## Delete the kind cluster
kind-down: kind-check-tools
	$(KIND) delete cluster --name $(KIND_CLUSTER)

## The live test suite against a kind context; skips (exit 0) without KAUDIT_KIND_CONTEXT
e2e-kind:
	@if [ -z "$(KAUDIT_KIND_CONTEXT)" ]; then \
		echo "e2e-kind: skipped: KAUDIT_KIND_CONTEXT is not set (e.g. make kind-up CNI=default," \
			"then make e2e-kind KAUDIT_KIND_CONTEXT=kind-kaudit-default)"; \
		exit 0; \
	fi; \
	set -e; \
	$(MAKE) --no-print-directory install; \
	mkdir -p $(KIND_KUBECONFIG_DIR); \
	kubeconfig=$(KIND_KUBECONFIG_DIR)/$(KAUDIT_KIND_CONTEXT).kubeconfig; \
	$(KUBECTL) config view --minify --flatten --context "$(KAUDIT_KIND_CONTEXT)" > $$kubeconfig; \
	$(KUBECTL) --kubeconfig $$kubeconfig config use-context "$(KAUDIT_KIND_CONTEXT)" >/dev/null; \
	echo "e2e-kind: live tests against $(KAUDIT_KIND_CONTEXT)"; \
	KAUDIT_TEST_KUBECONFIG=$$kubeconfig $(BIN)/python -m pytest -m cluster \
		tests/cluster tests/deploy $(PYTEST_ARGS)
