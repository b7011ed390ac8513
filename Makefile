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

test: setup
	@$(PY) -m pytest -q tests/unit tests/sla tests/lab  # fast feedback first

unit-test: setup
	@$(PY) -m pytest -q tests/unit

lab-test: setup
	@$(PY) -m pytest -q tests/lab

bench: setup
	@$(PY) -m bench

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
