# Every target installs into .venv on first use (and again when the dependency
# files change), then runs. Nothing else needs to be installed by hand.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
DEMO_HOME ?= .demo-home
PYTEST_ARGS ?=

.PHONY: install sysdeps demo run screenshots test test-all bench lint typecheck package \
	package-check clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt requirements/nodeps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -c requirements/constraints.txt 'torch==2.13.0'
	$(PIP) install -c requirements/constraints.txt -e '.[dev]'
	$(PIP) install -c requirements/constraints.txt --no-deps -r requirements/nodeps.txt
	@touch $@

# Qt's system libraries (apt-get when run as root; otherwise it names what is missing).
sysdeps:
	@bash .ci/system-deps.sh

# The headless main job on the bundled demo library, in its own app home.
demo: $(STAMP)
	$(VENV)/bin/idfsr --home $(DEMO_HOME) demo

# The desktop app on the bundled demo library.
run: $(STAMP) sysdeps
	$(VENV)/bin/idfsr-desktop --home $(DEMO_HOME) --demo

# PNGs of every page under Xvfb, light and dark, at 100 % and 200 % (needs xvfb-run).
# The demo library is indexed once, in its own home; each page is saved once it is idle.
SHOTS ?= screenshots
SHOT_HOME ?= .screenshot-home
screenshots: $(STAMP) sysdeps
	@mkdir -p $(SHOTS)
	@for scale in 1 2; do for theme in light dark; do for page in library people person unassigned restore jobs; do \
	  QT_SCALE_FACTOR=$$scale xvfb-run -a -s "-screen 0 $$((1400 * scale))x$$((900 * scale))x24" \
	    $(PY) -m idfsr_desktop --home $(SHOT_HOME) --demo --page $$page --theme $$theme \
	    --screenshot $(SHOTS)/$$page-$$theme-$${scale}00.png || exit 1; \
	done; done; done

test: $(STAMP) sysdeps
	$(PY) -m pytest $(PYTEST_ARGS)

# Includes tests marked slow.
test-all: $(STAMP) sysdeps
	IDFSR_SLOW=1 $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b" >&2; $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check core idfsr_desktop tests bench packaging
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The app as one folder for this platform that runs without Python (PyInstaller), into
# dist/; see packaging/README.md. VARIANT=cuda: from a venv holding CUDA builds of torch
# and onnxruntime, into dist/idfsr-desktop-cuda/.
VARIANT ?= cpu
package: $(STAMP)
	IDFSR_PACKAGE_VARIANT=$(VARIANT) $(PY) packaging/build.py

# The built app's own checks: its headless self-test, then its window under Xvfb (the
# start-up time, cold and warm).
package-check: $(STAMP)
	IDFSR_PACKAGE_VARIANT=$(VARIANT) $(PY) packaging/check.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) $(SHOT_HOME) build dist *.egg-info .pytest_cache
