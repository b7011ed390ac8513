# municloud: the two commands a newcomer needs are `make demo` and `make test` (as root, Debian 12).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
MC := $(VENV)/bin/municloud

.PHONY: setup demo test unit-test lab-test lab-test-serial bench lint clean

setup:
	@./setup/setup.sh

demo: setup
	@./setup/demo.sh

# The lab tests run on two pytest-xdist workers, each with its own labs (test slot
# $MUNICLOUD_TEST_LAB_SLOT + worker index; tests/lab/conftest.py's LAB_GROUPS says which files run
# where): the SLA test waits out about eleven calendar minutes on a quiet lab beside the other
# worker's drills, which keeps the whole suite within 30 minutes on 2 cores (one after another it
# took 36). `make lab-test-serial` runs them on one lab, one after another.
# The lab tests run even when a unit test failed; the exit code is non-zero when any test failed.
LAB_PYTEST := $(PY) -m pytest -q -n 2 --dist loadgroup --durations=15 tests/lab

# The import contracts (pyproject's [tool.importlinter]) first: a broken layer fails the build.
# import-linter's banner and report are shown only when a contract is broken.
LINT_IMPORTS := out=$$($(VENV)/bin/lint-imports --no-cache 2>&1) || { echo "$$out"; exit 1; }; \
	echo "import-linter: $$(echo "$$out" | grep '^Contracts:')"

test: setup
	@$(LINT_IMPORTS)
	@rc=0; $(PY) -m pytest -q tests/unit tests/sla || rc=$$?; $(LAB_PYTEST) || rc=$$?; exit $$rc  # fast feedback first

unit-test: setup
	@$(PY) -m pytest -q tests/unit

lab-test: setup
	@$(LAB_PYTEST)

lab-test-serial: setup
	@$(PY) -m pytest -q --durations=15 tests/lab

bench: setup
	@$(PY) -m bench

lint: setup
	@$(LINT_IMPORTS)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
