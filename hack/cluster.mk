# Local Kubernetes control plane for the live tests (see docs/control-plane.md).
# Included by the main Makefile with `-include hack/cluster.mk`. The harness is the
# package hack/controlplane, run from the repository root with the virtualenv's
# Python (it uses cryptography and PyYAML from the dev install).

CONTROLPLANE := $(BIN)/python -m hack.controlplane

.PHONY: cluster-build cluster-up cluster-down cluster-status bench-live

## Build (once) and cache etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
cluster-build: install
	$(CONTROLPLANE) build

## Start the control plane; writes .kaudit/cluster/kubeconfig
cluster-up: install
	$(CONTROLPLANE) up

## Stop every control-plane process
cluster-down: install
	$(CONTROLPLANE) down

cluster-status: install
	$(CONTROLPLANE) status

## Live collection vs raw list transfer on ~5,000 pods (starts the control plane if needed)
bench-live: install
	$(BIN)/python bench/bench_live.py
