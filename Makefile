# Flotilla: one entry point for every chore. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTEST_ARGS ?=

.PHONY: help bootstrap up test lint bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

bootstrap: ## install what is missing (apt packages, uv, the Python environment)
	@bash scripts/bootstrap.sh

up: bootstrap ## run the whole fleet locally on embedded defaults (gateway on http://localhost:8080/)
	@uv run --frozen flotilla up

test: bootstrap ## run every test of every package (real servers on loopback)
	@uv run --frozen pytest $(PYTEST_ARGS)

lint: bootstrap ## ruff (lint + format check) and mypy
	@uv run --frozen ruff check .
	@uv run --frozen ruff format --check .
	@uv run --frozen mypy packages/servicekit/src packages/fleet/src services/dot2archimate/src

bench: bootstrap ## run every package's benchmarks (not part of `make test`)
	@for dir in packages/*/benchmarks services/*/benchmarks; do \
		[ -f $$dir/run.py ] && { echo "== $$dir"; uv run --frozen python $$dir/run.py || exit 1; }; \
	done; true
