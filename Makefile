# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: run test test-fast lint format bench package install-desktop uninstall-desktop clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

$(STAMP_BENCH): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@ $(STAMP_TEST) $(STAMP_RUN)

run: $(STAMP_RUN)
	$(VENV)/bin/kquant-gui

# The whole suite with branch coverage (the worker's QThread traced too): the total and the
# modules not fully covered, weakest first. test-fast skips the tests marked slow.
test: $(STAMP_TEST)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --cov --cov-report=term

test-fast: $(STAMP_TEST)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow"

lint: $(STAMP_TEST)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP_TEST)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP_BENCH)
	$(PY) -m benchmarks

# One-folder app in dist/kquant-gui/ plus a .tar.gz, then the built app's smoke test run with no
# Python reachable (also the CI step). See packaging/README.md.
package: $(STAMP_RUN)
	PYTHON=$(abspath $(PY)) packaging/build.sh --smoke

# Menu entry, "Open with" for images and icons for the current user, under $XDG_DATA_HOME
# (default ~/.local/share). EXEC=/abs/path points it at another kquant-gui, e.g. the packaged
# dist/kquant-gui/kquant-gui; by default it runs this checkout's venv.
install-desktop: $(if $(EXEC),,$(STAMP_RUN))
	$(PYTHON) packaging/desktop_integration.py install --exec "$(or $(EXEC),$(CURDIR)/$(VENV)/bin/kquant-gui)"

# Removes exactly the files install-desktop recorded in its manifest.
uninstall-desktop:
	$(PYTHON) packaging/desktop_integration.py uninstall

clean:
	rm -rf build dist *.egg-info .pytest_cache
