# Two commands do all the set-up: `make demo` runs JSORC managing real actions,
# `make test` runs the test suite. Both build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jaseci 1.4 (old FastAPI, pydantic 1) in its own venv, for the wire-protocol tests.
JASECI_VENV := .venv-jaseci

.PHONY: install demo up test bench jaseci-venv clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,postgres]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/jsorc demo

up: $(STAMP)
	$(BIN)/jsorc up

test: $(STAMP)
	$(BIN)/python -m pytest

$(JASECI_VENV)/.installed: constraints-jaseci.txt
	$(PYTHON) -m venv $(JASECI_VENV)
	$(JASECI_VENV)/bin/python -m pip install --quiet -c constraints-jaseci.txt jaseci==1.4.2.6
	touch $@

jaseci-venv: $(JASECI_VENV)/.installed

bench: $(STAMP)
	$(BIN)/python benchmarks/router_overhead.py

clean:
	rm -rf $(VENV) $(JASECI_VENV) .jsorc build *.egg-info
