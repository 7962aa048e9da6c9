# The course kit's commands. `make run` executes the course; `make test` checks everything (CI runs this).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUBMISSIONS ?= submissions

# Quiet TensorFlow before it is imported anywhere, and make sure kernels started by nbval, nbclient and
# nbgrader are this environment's Python (the venv's kernelspec is found first on JUPYTER_PATH).
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export PYDEVD_DISABLE_FILE_VALIDATION := 1

NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
               --nbval-cell-timeout 600 --nbval-kernel-startup-timeout 120

.PHONY: setup run test unit notebooks lab bench assignments grade lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $(STAMP)

run: setup
	$(BIN)/python -m course_lib.notebooks

# Unit tests and every notebook under nbval, in one pytest run over two workers (one per core).
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadscope tests notebooks $(NBVAL_FLAGS) --ignore=notebooks/assignments

unit: setup
	$(BIN)/python -m pytest -n 2 --dist loadscope tests

notebooks: setup
	$(BIN)/python -m pytest -n 2 --dist loadscope notebooks $(NBVAL_FLAGS) --ignore=notebooks/assignments

lab: setup
	$(BIN)/jupyter lab notebooks

bench: setup
	$(BIN)/python benchmarks/bench_conv.py
	$(BIN)/python benchmarks/bench_notebooks.py

assignments: setup
	$(BIN)/python scripts/assignments.py release

grade: setup
	$(BIN)/python scripts/assignments.py grade --submissions "$(SUBMISSIONS)"

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf build
