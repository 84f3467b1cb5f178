# kafkalab — two commands on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# JupyterLab refuses to run as root without --allow-root (CI and course machines run as root).
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)

.PHONY: lab test bench exercises browser-deps clean

$(VENV)/.course: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[course]'
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.course
	$(PIP) install -e '.[course,test,bench]'
	touch $@

lab: $(VENV)/.course
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=$(CURDIR) notebooks/00-start-here.ipynb

# Debian's Chromium drives the real-browser test (Playwright never downloads its own browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

test: $(VENV)/.test browser-deps
	$(PY) -m pytest

bench: $(VENV)/.test
	$(PY) benchmarks/bench.py

exercises: $(VENV)/.course
	$(VENV)/bin/kafkalab make-exercises

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
