# The NetworkPolicy dataplane: kube-router enforcing policies on real packets between
# network namespaces (see docs/dataplane.md). Included by the main Makefile with
# `-include hack/dataplane.mk`; needs root.

DATAPLANE_PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
DATAPLANE := $(DATAPLANE_PYTHON) -m hack.dataplane

.PHONY: dataplane-deps dataplane-build dataplane-up dataplane-down dataplane-status test-dataplane

## Debian packages the dataplane uses: iptables, ipset, iproute2 (installed when missing, as root)
dataplane-deps:
	@missing=""; \
	for pkg in iptables ipset iproute2; do \
		dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing$$missing (for the dataplane tests)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "dataplane: not root, not installing$$missing (the dataplane tests will skip)"; \
		fi; \
	fi

## Build (once) and cache kube-router
dataplane-build:
	$(DATAPLANE) build

## Start kube-router on the running control plane and wire every pod of kwok-node-0
dataplane-up: dataplane-deps dataplane-build
	$(DATAPLANE) up

## Remove every namespace, veth, bridge, chain, ipset and process the dataplane created
dataplane-down:
	$(DATAPLANE) down

dataplane-status:
	$(DATAPLANE) status

## The dataplane tier alone (starts the control plane if needed); ends with one summary line
test-dataplane: install dataplane-deps cluster-build dataplane-build
	$(BIN)/python -m pytest -m dataplane -p no:cacheprovider $(PYTEST_ARGS)
