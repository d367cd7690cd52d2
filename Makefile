# The two commands of the README:
#   make demo   set everything up, then run the main job on the embedded default
#   make test   set everything up, then run the test suite
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast bench clean

setup:
	bash scripts/setup.sh

demo: setup
	$(BIN)/agnostics demo

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
