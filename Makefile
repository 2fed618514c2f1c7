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
# StandardEnvironment: run here even where SLURM client tools are installed.
DEMO_ENV := CUBEMC_DEVICE=cpu SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment
demo: $(STAMP)
	$(DEMO_ENV) $(PY) init.py vacancy --quick
	$(DEMO_ENV) $(PY) project.py run
	$(DEMO_ENV) $(PY) project.py status -d
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
