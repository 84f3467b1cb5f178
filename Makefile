# kafkalab — two commands on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# JupyterLab refuses to run as root without --allow-root (CI and course machines run as root).
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)

.PHONY: lab test bench exercises browser-deps client-deps kafka-cli-deps clean

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

# Debian's kcat (on librdkafka) for tests/server/test_client_kcat.py (which skip without it).
client-deps:
	@command -v kcat >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq kcat >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq kcat >/dev/null; fi; } \
	  || echo "kcat not installed (needs root or sudo, and apt): its tests will skip"

# Apache Kafka's own Java CLI (kafka-topics, kafka-configs, ...) for
# tests/server/test_kafka_java_cli.py: Maven copies its classpath into .cache/kafka-cli/lib once
# (again when tests/kafka_cli/pom.xml changes); the folder git-ignores itself, as .pytest_cache
# does. Without java, mvn or Maven Central those tests skip.
KAFKA_CLI := .cache/kafka-cli
kafka-cli-deps:
	@if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
	  echo "java or mvn missing: Kafka's Java CLI tests will skip"; \
	elif [ ! -d $(KAFKA_CLI)/lib ] || [ tests/kafka_cli/pom.xml -nt $(KAFKA_CLI)/lib ]; then \
	  mkdir -p $(KAFKA_CLI) && echo '*' >$(KAFKA_CLI)/.gitignore && \
	  rm -rf $(KAFKA_CLI)/lib $(KAFKA_CLI)/lib.part && \
	  if mvn -q -B -f tests/kafka_cli/pom.xml dependency:copy-dependencies \
	       -DoutputDirectory=$(CURDIR)/$(KAFKA_CLI)/lib.part >$(KAFKA_CLI)/mvn.log 2>&1; then \
	    mv $(KAFKA_CLI)/lib.part $(KAFKA_CLI)/lib; \
	  else rm -rf $(KAFKA_CLI)/lib.part; \
	    echo "Maven could not fetch Kafka's CLI (see $(KAFKA_CLI)/mvn.log): its tests will skip"; fi; \
	fi

test: $(VENV)/.test browser-deps client-deps kafka-cli-deps
	$(PY) -m pytest

bench: $(VENV)/.test
	$(PY) benchmarks/bench.py

exercises: $(VENV)/.course
	$(VENV)/bin/kafkalab make-exercises

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
