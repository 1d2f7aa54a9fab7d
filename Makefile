# The two commands: `make run` starts a working server; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-tamper venv assets native wheel lock deps lint bench faults bench-floor bench-sealing bench-recording bench-livestream fuzz fuzz-atheris clean

run: venv assets native
	$(BIN)/ecourt serve --demo

test: deps venv assets native
	bash tools/run-tests

# a recorded hearing altered TAMPER_MUTATIONS times at random (every class of
# tests/tamper_mutations.py): the strong verify must call each invalid and export must refuse
# each; prints the tally, fails on any that slips through or raises
TAMPER_MUTATIONS ?= 1000
test-tamper: venv
	$(BIN)/python tools/tamper.py --mutations $(TAMPER_MUTATIONS)

# optional: the forwarding path's SRTP sender in C (needs cc, python3-dev, libssl-dev)
native: venv
	bash tools/build-native $(BIN)/python

# the locked versions, with their hashes (tools/lock re-resolves them), then ecourt itself,
# editable, on the locked setuptools
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py requirements-dev.lock
	bash tools/bootstrap
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

assets: web/static/vendor/.installed

web/static/vendor/.installed: package.json package-lock.json
	bash tools/bootstrap
	bash tools/build-assets
	touch $@

# dist/ecourt-*.whl: every package, the page assets and (if it builds) the C module
wheel: venv assets
	bash tools/build-wheel $(BIN)/python

lock: venv
	bash tools/lock

deps:
	bash tools/install-test-deps

lint: venv assets
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	node_modules/.bin/eslint --max-warnings 0 web/static

bench: venv
	bash tools/in-netns $(BIN)/python bench/forwarding.py

# every fault x every order x every profile (make test runs a chosen part of it)
faults: deps venv assets native
	bash tools/in-netns env ECOURT_IN_NETNS=1 ECOURT_FAULTS=full $(BIN)/pytest -m media tests/faults

bench-floor: venv
	bash tools/in-netns $(BIN)/python bench/udp_floor.py --ks 1,4,16

bench-sealing: venv
	$(BIN)/python bench/sealing.py

bench-recording: venv
	$(BIN)/python bench/recording.py

bench-livestream: venv deps
	$(BIN)/python bench/livestream.py

# every parser on the path into a hearing, FUZZ_INPUTS inputs each; a crash is saved to
# tests/fuzz_corpus/<parser>/ (replayed by tests/test_fuzz.py) and fails the run
FUZZ_INPUTS ?= 1000000
fuzz: venv
	$(BIN)/python tools/fuzz.py --inputs $(FUZZ_INPUTS)

# coverage-guided (atheris, libFuzzer), optional: it needs a wheel for this platform
ATHERIS_INPUTS ?= 20000
fuzz-atheris: venv
	$(BIN)/pip install -q -e '.[fuzz]'
	for target in stun rtp rtcp sdp signaling token; do \
	  $(BIN)/python tools/fuzz.py --atheris --targets $$target --inputs $(ATHERIS_INPUTS) || exit 1; \
	done

clean:
	rm -rf $(VENV) node_modules web/static/vendor build dist .mypy_cache .ruff_cache .pytest_cache
