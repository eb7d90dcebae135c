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

.PHONY: venv demo test lab sync lock clean

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
test: venv
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

## lab: open JupyterLab on the notebooks
lab: venv
	$(VENV)/bin/jupyter lab notebooks/

## sync: re-pair notebooks/*.ipynb with their py:percent twins after editing either side
sync: venv
	$(VENV)/bin/jupytext --sync notebooks/[0-9]*.ipynb

## lock: rebuild constraints.txt from a fresh environment (after changing pyproject.toml)
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet "pip==26.3"
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) build .pytest_cache
