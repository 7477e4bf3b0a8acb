# kaudit developer targets. Every target works from a fresh clone on a fresh machine:
# it installs what it needs (a virtualenv, Debian packages, the Go-built control plane).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS := reports
DEMO := kaudit/demo/insecure
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install demo demo-hardened test test-unit lint format bench bench-engine bench-rules bench-report bench-scale docs debian-deps clean

help:
	@echo "make demo     install kaudit and audit the bundled insecure demo cluster"
	@echo "make test     install everything, start the local control plane, run all tests"
	@echo "make lint     ruff check, ruff format --check, mypy"
	@echo "make bench    engine, rules, report, live-collection and scale benchmarks"
	@echo "make bench-scale   audit and reach at 10k and 50k pods against the YAML parse floor"
	@echo "make cluster-up / cluster-down   the local control plane (kubeconfig: .kaudit/cluster/kubeconfig)"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

## A virtualenv in .venv with kaudit (editable) and the development tools
install: $(STAMP)

## Audit the insecure demo: the table on stdout, HTML/Markdown/JSON/SARIF under reports/
demo: install
	$(BIN)/kaudit audit --manifests $(DEMO) --fail-on never \
		--format table \
		--format html=$(REPORTS)/demo.html \
		--format md=$(REPORTS)/demo.md \
		--format json=$(REPORTS)/demo.json \
		--format sarif=$(REPORTS)/demo.sarif
	@echo "Reports written to $(REPORTS)/ (open $(REPORTS)/demo.html in a browser)."

## The hardened variant of the demo, which should come out clean of high and critical findings
demo-hardened: install
	$(BIN)/kaudit audit --manifests kaudit/demo/hardened --fail-on high

## Debian packages the tests use: Chromium for the HTML report test
debian-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing chromium (for the HTML report browser test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

## Everything: install, Debian packages, control-plane binaries (built once, cached), all tests
test: install debian-deps cluster-build dataplane-deps dataplane-build
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Only the tests that need no control plane
test-unit: install
	$(BIN)/python -m pytest -m "not cluster" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check kaudit tests bench hack
	$(BIN)/ruff format --check kaudit tests bench hack
	$(BIN)/mypy

format: install
	$(BIN)/ruff format kaudit tests bench hack
	$(BIN)/ruff check --fix kaudit tests bench hack

## Benchmarks: policy engine, rules, report rendering, live collection (prints figures)
bench: install bench-engine bench-rules bench-report bench-live bench-scale

bench-engine: install
	$(BIN)/python bench/bench_engine.py

bench-rules: install
	$(BIN)/python bench/bench_rules.py 1000 10000 50000

bench-report: install
	$(BIN)/python bench/bench_report.py

# Audit and reach at 10k and 50k pods against the parse floor, the engine to 200k pods
# (about ten minutes on two cores; `bench/bench_scale.py --quick` takes seconds).
bench-scale: install
	$(BIN)/python bench/bench_scale.py

## Regenerate docs/rules.md from the rule metadata
docs: install
	$(BIN)/python -m kaudit.rules.docs > docs/rules.md

clean:
	rm -rf $(VENV) $(REPORTS) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info

-include hack/cluster.mk
-include hack/kind.mk
-include hack/dataplane.mk
