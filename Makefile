# benchgui — the commands a new user needs. Everything installs itself into .venv.
#   make run     the GUI on the simulated bench
#   make test    the whole test suite (installs apt packages when run as root)
#   make test-stress    the suite while stress-ng loads every core (a slow machine); STRESS_RUNS=3
#   make bench   speed and memory benchmarks, printed as a table
#   make fuzz    10^6 inputs into every codec (minutes), counts per target; FUZZ_ARGS="--inputs N"
#   make soak    24 simulated hours of the whole bench with faults injected (minutes), a report
#   make soak-gui    the real window under Xvfb at speed 10 for 2 hours, RSS and CPU a minute; SOAK_GUI_ARGS="--wall-s 1200"
#   make test-ansible   converge the Ansible roles twice in a debootstrap chroot (slow, needs root)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
CONSTRAINTS := constraints.txt
PYTEST_ARGS ?=
# the whole suite takes 7-10 min; a run that hangs is killed after this long (stacks are printed first)
PYTEST_WALL_S ?= 2400
# make test-stress: how many stress-ng CPU workers (default: one per core), how many runs in a row
STRESS_CPUS ?= $(shell nproc)
STRESS_RUNS ?= 1
FUZZ_ARGS ?=
SOAK_ARGS ?=
SOAK_GUI_ARGS ?=

.PHONY: help run test test-stress lint typecheck pytest bench fuzz soak soak-gui sysdeps-run sysdeps-test clean test-ansible

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PIP) install -q -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PIP) install -q -c $(CONSTRAINTS) -e '.[dev]'
	touch $@ $(VENV)/.app-installed

sysdeps-run:
	@scripts/system-deps.sh run

sysdeps-test:
	@scripts/system-deps.sh test

run: sysdeps-run $(VENV)/.app-installed
	$(VENV)/bin/benchgui --demo

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check benchgui tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.test-installed
	$(PY) -m mypy benchgui

pytest: sysdeps-test $(VENV)/.test-installed
	QT_QPA_PLATFORM=offscreen timeout -k 30 $(PYTEST_WALL_S) $(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The same suite on a machine made slow: stress-ng keeps every core busy for the whole run, which
# must still pass (no test may assume how long anything takes). Runs STRESS_RUNS times in a row and
# prints each run's wall time; stress-ng is stopped however the run ends.
test-stress: lint typecheck sysdeps-test $(VENV)/.test-installed
	@command -v stress-ng >/dev/null || { echo "test-stress: stress-ng is not installed (apt-get install stress-ng)" >&2; exit 2; }
	@stress-ng --cpu $(STRESS_CPUS) --timeout $$(( $(PYTEST_WALL_S) * $(STRESS_RUNS) + 60 ))s --quiet & spid=$$!; \
	trap 'kill $$spid 2>/dev/null; wait $$spid 2>/dev/null' EXIT; \
	for i in $$(seq 1 $(STRESS_RUNS)); do \
	  t0=$$(date +%s); \
	  QT_QPA_PLATFORM=offscreen timeout -k 30 $(PYTEST_WALL_S) $(PY) -m pytest $(PYTEST_ARGS) || exit $$?; \
	  echo "test-stress: run $$i of $(STRESS_RUNS) passed under stress-ng --cpu $(STRESS_CPUS) in $$(( $$(date +%s) - t0 )) s"; \
	done

# The full converge of ansible/ in a throwaway Debian root (debootstrap + chroot), twice; the second
# run must change nothing. Minutes, not seconds: not part of `make test` (which lints, syntax-checks
# and renders every role instead). The debootstrap base and downloads are cached in tests/.cache/.
test-ansible: sysdeps-test $(VENV)/.test-installed
	BENCHGUI_TEST_CONVERGE=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/ansible/test_converge.py

bench: sysdeps-test $(VENV)/.test-installed
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run.py

fuzz: $(VENV)/.test-installed
	$(PY) benchmarks/fuzz.py $(FUZZ_ARGS)

soak: $(VENV)/.test-installed
	$(PY) -m benchgui soak $(SOAK_ARGS)

soak-gui: sysdeps-test $(VENV)/.test-installed
	$(PY) benchmarks/soak_gui.py $(SOAK_GUI_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
