# ser-notebooks: the two commands a fresh machine needs are `make demo` and `make test`.
# Both create .venv on first use (pip, exact versions from constraints.txt) and reuse it after.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ser-notebooks-installed

# Where corpora, feature caches and run outputs go (see README "Where data goes").
export SER_DATA_DIR  ?= $(CURDIR)/data
export SER_CACHE_DIR ?= $(CURDIR)/cache
export SER_RUNS_DIR  ?= $(CURDIR)/runs
export TF_CPP_MIN_LOG_LEVEL ?= 2

# pytest workers; CI machines have 2 cores.
TEST_WORKERS ?= 2

.PHONY: venv demo test browser lab html student sync lock clean results-table reproduce

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

## demo: run every notebook on the synthetic corpus (quick settings); executed copies go to runs/demo/
demo: venv
	$(PY) -m ser_common.demo

## test: unit tests, real-data tests (when ../shared/data is present) and nbval runs of the notebooks
test: venv browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

## browser: Debian's Chromium for tests/test_lab_browser.py, installed with apt-get only when it is
## missing and this machine allows it (root + apt-get); otherwise say why and go on (the test skips)
browser:
	@if [ -x /usr/bin/chromium ]; then \
	    echo "browser: /usr/bin/chromium is there"; \
	elif [ "$$(id -u)" != 0 ]; then \
	    echo "browser: no /usr/bin/chromium and not root, so not installing it; tests/test_lab_browser.py will skip"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	    echo "browser: no /usr/bin/chromium and no apt-get here; tests/test_lab_browser.py will skip"; \
	else \
	    echo "browser: installing Debian's chromium with apt-get (for tests/test_lab_browser.py)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	        || echo "browser: apt-get could not install chromium; tests/test_lab_browser.py will skip"; \
	fi

## lab: JupyterLab on the repository (notebooks/ and the executed runs in results/), opening at
## notebooks/; the project's settings (.jupyter/) open the paired .py files as notebooks
lab: venv
	$(VENV)/bin/jupyter lab --config=$(CURDIR)/.jupyter/jupyter_lab_config.py

## html: the executed runs in results/ as static HTML (nbconvert, nothing re-run): build/html/index.html
html: venv
	$(PY) tools/make_gallery.py results build/html

## student: the student version of the lesson notebooks in build/student/: every worked solution
## (### BEGIN SOLUTION ... ### END SOLUTION) replaced by a stub; OVERWRITE=1 replaces an earlier build
student: venv
	$(PY) tools/make_student.py notebooks build/student $(if $(OVERWRITE),--overwrite)

## sync: re-pair notebooks/*.ipynb with their py:percent twins after editing either side
sync: venv
	$(VENV)/bin/jupytext --sync notebooks/[0-9]*.ipynb

## reproduce: the committed EMO-DB grid (results/emodb/grid.yaml) through the batch runner: resumes every
## committed results file, trains only missing folds, re-renders the executed notebooks. Hours on 2 cores;
## SCHEDULER=tcp://host:8786 runs it on a Dask cluster, WORKERS=N sets the parallel jobs.
WORKERS ?= 2
reproduce: venv
	$(PY) -m ser_common.batch results/emodb/grid.yaml --workers $(WORKERS) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

## results-table: regenerate the README's results table from the committed results/*/*.json
## (python -m ser_common.report; tests/test_leaderboard.py fails while the README's table is stale)
results-table: venv
	$(PY) -m ser_common.report --readme README.md results/*/*.json

## lock: rebuild constraints.txt from a fresh environment (after changing pyproject.toml)
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet "pip==26.3"
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) build .pytest_cache
