# negsim: two commands on a fresh clone (see README "Quickstart").
#   make demo   set up .venv, run the bundled scenarios and the backstop heatmap sweep; tables and plots under runs/
#   make test   set up .venv, lint, run the test suite (warnings are errors)
# Another interpreter: make test PYTHON=/path/to/python3.12 VENV=.venv-3.12

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.negsim-installed
SCENARIOS := scenarios/nato_entry.yaml scenarios/reassurance_backstop.yaml scenarios/reassurance_only.yaml scenarios/aid_only.yaml

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

demo: setup
	$(BIN)/negsim list
	$(BIN)/negsim run scenarios/baseline.yaml
	$(BIN)/negsim compare $(SCENARIOS)
	$(BIN)/negsim sweep scenarios/sweeps/backstop_heatmap.yaml

lint: setup
	$(BIN)/ruff check sim tests benchmarks tools
	$(BIN)/ruff format --check sim tests benchmarks tools
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -W error

bench: setup
	$(BIN)/python benchmarks/bench_ensemble.py

clean:
	rm -rf .venv .venv-* runs .pytest_cache .ruff_cache .hypothesis
