# municloud: the two commands a newcomer needs are `make demo` and `make test` (as root, Debian 12).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
MC := $(VENV)/bin/municloud

.PHONY: setup demo test unit-test lab-test bench lint clean

setup:
	@./setup/setup.sh

demo: setup
	@./setup/demo.sh

# The lab tests mostly wait (Prometheus' minutes, faults and recoveries): two pytest-xdist workers,
# each with its own labs (test slot $MUNICLOUD_TEST_LAB_SLOT + worker index), each test file whole on
# one worker (tests/lab/conftest.py: LAB_GROUPS). The lab tests run even when a unit test failed;
# the exit code is non-zero when any test failed.
LAB_PYTEST := $(PY) -m pytest -q -n 2 --dist loadgroup --durations=15 tests/lab

test: setup
	@rc=0; $(PY) -m pytest -q tests/unit tests/sla || rc=$$?; $(LAB_PYTEST) || rc=$$?; exit $$rc  # fast feedback first

unit-test: setup
	@$(PY) -m pytest -q tests/unit

lab-test: setup
	@$(LAB_PYTEST)

bench: setup
	@$(PY) -m bench

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
