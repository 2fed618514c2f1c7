# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint system-deps bench clean-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo: the vacancy study scaled to a laptop (999 cubes, beta*eps = 0, -0.5, -1, -3, three
# replicas each, 18000 / 14000 / 20000 / 6000 sweeps (studies.py, VACANCY_QUICK); the replicas'
# scatter is part of every error) on the CPU: init, all operations (one job per core: --parallel),
# then the one-minute summary.
# The full report with a figure per claim is report/report.md (docs/analysis.md explains it).
# StandardEnvironment: run here even where SLURM client tools are installed.
DEMO_ENV := CUBEMC_DEVICE=cpu SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment
DEMO_REPORT := report/report.md
demo: $(STAMP)
	$(DEMO_ENV) $(PY) init.py vacancy --quick
	$(DEMO_ENV) $(PY) project.py run --parallel
	$(DEMO_ENV) $(PY) project.py status -d
	@sed -n '/^## In one minute/,/^## Seed claims/p' $(DEMO_REPORT) | sed '$$d'
	@echo "report: $(CURDIR)/$(DEMO_REPORT)"

# Remove the demo's project (jobs, report, signac files) so that `make demo` runs it again; the
# compiled kernels stay cached in ~/.cache/cubemc.
clean-demo:
	rm -rf workspace report .signac signac_project_document.json .cubemc-report.lock

# SLURM and Chromium come from apt where we are root; their tests skip with a reason otherwise.
system-deps:
	-bash scripts/install-slurm.sh
	-bash scripts/install-chromium.sh

# lint first (seconds): formatting and the pinned rule set of pyproject.toml
lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

# -n auto: one pytest worker per core (most tests compile kernels or run on one thread, so the
# workers share the cores well); worksteal balances the few long tests.
test: $(STAMP) system-deps lint
	$(PY) -m pytest -n auto --dist worksteal

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py
