# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv and install the package on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench screenshot clean mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## everything on this machine: simulators, worker(s), producers, Flower
	$(BIN)/toky-ghl run

test: $(STAMP)  ## lint, type check, then every test (needs a Redis; scripts/ensure-redis starts one)
	scripts/ensure-redis
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff and mypy --strict ([tool.mypy] in pyproject.toml), no tests
	$(BIN)/ruff check .
	$(BIN)/mypy

screenshot: $(STAMP)  ## docs/flower.png: Flower's tasks page in headless Chromium (Debian's)
	scripts/ensure-redis
	TOKY_GHL_SCREENSHOT=docs/flower.png $(BIN)/python -m pytest -q \
		tests/integration/test_flower_browser.py -k dashboard

mutation: $(STAMP)  ## mutation score of the guarantee modules (mutmut; minutes, CPU-heavy)
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	nice -n 10 $(BIN)/python scripts/mutation.py $(MODULES)

bench: $(STAMP)
	$(BIN)/python bench/ratelimit.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache mutants
