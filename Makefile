# firesight — two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output

.PHONY: demo test setup system-deps unit integration e2e bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	# torch first, from this machine's disk as a CPU build; then the project (torch==2.13.0 is then satisfied)
	$(BIN)/pip install 'torch==2.13.0'
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) system-deps

# Services the tests start themselves (Mosquitto) and Java for Spark; installed when missing.
system-deps:
	@command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null)
	@command -v java >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null)

demo: $(STAMP)
	$(BIN)/firesight demo --out $(DEMO_DIR)

test: setup
	$(BIN)/python -m pytest -q tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/firesight bench generate

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
