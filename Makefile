# govnet: the Karbala governorate e-governance network as code.  `make help` lists the targets.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
GOVNET := $(VENV)/bin/govnet
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup lab lab-fast lab-down test test-lab test-fast lint analyze impact bench golden clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml scripts/bootstrap
	scripts/bootstrap
	@touch $@

setup: $(VENV)/.installed ## install system packages (root) and the virtual environment at .venv/

lab: setup ## validate, plan, render, build the governorate and its Internet, deploy, provision the DC servers (Ansible), verify with the drills (root)
	$(GOVNET) validate
	$(GOVNET) plan >/dev/null
	$(GOVNET) render
	$(GOVNET) lab up
	$(GOVNET) deploy
	scripts/lab-servers
	$(GOVNET) verify --failover --json build/lab/verify.json --report build/lab/report.html --junit build/lab/verify.xml
	$(GOVNET) lab status
	@echo "report: build/lab/report.html (JSON: build/lab/verify.json)"
	@echo "the lab keeps running for you to explore; 'make lab-down' removes it (servers' containers included)"

lab-fast: setup ## development fast mode: the network with stand-in service listeners instead of the real servers
	$(GOVNET) validate
	$(GOVNET) render
	$(GOVNET) lab up
	$(GOVNET) deploy
	$(GOVNET) verify --start-services --json build/lab/verify.json --report build/lab/report.html
	@echo "fast mode: the DC servers are stand-in listeners (govnet.verify.listener), not the Ansible-provisioned servers"

lab-down: ## tear the emulated governorate down: server containers, namespaces, processes (also after a crash)
	$(GOVNET) lab down

test: setup ## run every test (the lab, Ansible/Molecule and Pulumi tests need root, as in CI)
	$(PY) -m pytest $(PYTEST_ARGS)

test-lab: setup ## the lab tests only (root): namespaces, SSH, driver live, deploy drills, verify, 80 routers
	$(PY) -m pytest -m lab tests/lab

test-fast: setup ## unit, golden and bad-input tests only (no root needed)
	$(PY) -m pytest tests/unit tests/golden tests/errors napalm-frr/tests tests/pulumi tests/ios

lint: setup ## ruff (check + format), mypy, yamllint, ansible-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@if [ -f .yamllint ]; then $(VENV)/bin/yamllint -s .; fi
	@if [ -d roles ]; then $(VENV)/bin/ansible-lint; fi

analyze: setup ## offline analysis of the rendered configs, both platforms: reports in build/analyze/ (JUnit, Markdown)
	$(GOVNET) --env lab analyze --junit build/analyze/lab.xml --markdown build/analyze/lab.md
	$(GOVNET) --env production analyze --junit build/analyze/production.xml --markdown build/analyze/production.md

BASE ?= origin/main
impact: setup ## what the working tree changes against BASE (default origin/main), both platforms
	$(GOVNET) --env lab impact --base $(BASE) --markdown build/analyze/impact-lab.md
	$(GOVNET) --env production impact --base $(BASE) --no-diff --markdown build/analyze/impact-production.md

bench: setup ## benchmarks: `govnet validate` start to exit, validate+plan+render and analyze at national scale, impact, lab up/down, deploy, verify, DC servers (provisioning, request round trip, primary-stop drill), the citizen through the edge (request p50/p99, ISP failover), a silent link cut with BFD vs OSPF alone, the FRR helper's first contact with a box that lacks it
	$(PY) bench/cli_bench.py
	$(PY) bench/pipeline_bench.py
	$(PY) bench/analyze_bench.py
	@for b in bench/lab_bench.py bench/deploy_bench.py bench/verify_bench.py bench/services_bench.py bench/sync_bench.py bench/citizen_bench.py bench/bfd_bench.py bench/ship_bench.py; do \
	  if [ -f $$b ]; then $(PY) $$b || exit 1; fi; done

golden: setup ## regenerate golden configs and bad-inventory messages (review the diff!)
	$(PY) scripts/golden

clean: ## remove build output (not the lab: use lab-down)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
