# Local Kubernetes control plane for the live tests (see docs/control-plane.md).
# Included by the main Makefile with `-include hack/cluster.mk`.

CLUSTER_PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
CONTROLPLANE := $(CLUSTER_PYTHON) hack/controlplane.py

.PHONY: cluster-build cluster-up cluster-down cluster-status bench-live

## Build (once) and cache etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
cluster-build:
	$(CONTROLPLANE) build

## Start the control plane; writes .kaudit/cluster/kubeconfig
cluster-up:
	$(CONTROLPLANE) up

## Stop every control-plane process
cluster-down:
	$(CONTROLPLANE) down

cluster-status:
	$(CONTROLPLANE) status

## Live collection vs raw list transfer on ~5,000 pods (starts the control plane if needed)
bench-live:
	$(CLUSTER_PYTHON) bench/bench_live.py
