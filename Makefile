# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast system-deps bench clean-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Scaled-down vacancy study on the CPU: init, all operations, report with figures in report/.
demo: $(STAMP)
	CUBEMC_DEVICE=cpu $(PY) init.py vacancy --quick
	CUBEMC_DEVICE=cpu $(PY) project.py run --progress
	@echo "report: $(CURDIR)/report/report.md"

# SLURM and Chromium come from apt where we are root; their tests skip with a reason otherwise.
system-deps:
	-bash scripts/install-slurm.sh
	-bash scripts/install-chromium.sh

test: $(STAMP) system-deps
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py
