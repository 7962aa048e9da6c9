# The course kit's commands. `make run` executes the course; `make test` checks everything (CI runs this).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SUBMISSIONS ?= submissions
BUILD  := $(abspath $(or $(COURSE_BUILD_DIR),build))

# Every command below runs in the environment that course_lib/config.py, its one home, defines: TensorFlow's log
# and oneDNN settings (TF_QUIET_ENV, in place before TensorFlow is imported anywhere) and a folder under
# $(BUILD)/home/ for each tool that would otherwise write under HOME (TOOL_DIRS: Keras, Matplotlib, IPython,
# Jupyter, fontconfig, Hypothesis, ruff; config sets the same defaults for kernels started by any Jupyter).
# `python -m course_lib env` prints them as NAME=VALUE lines and needs only the standard library (importing
# course_lib loads config and validation, nothing else), so the system Python runs it while this file is parsed,
# in a fresh clone too, before `make setup` has made .venv. tests/test_home_clean.py checks that recipes see
# config's values, that a Python without site-packages prints them, and that no list of them is written here.
COURSE_ENV := $(shell $(PYTHON) -m course_lib env --build "$(BUILD)" --format make)
ifeq ($(strip $(COURSE_ENV)),)
$(error `$(PYTHON) -m course_lib env` printed no environment: run make in the repository's root folder)
endif
$(foreach assignment,$(COURSE_ENV),$(eval export $(assignment)))

# Kernels started by nbval, nbclient and nbgrader are this environment's Python (the venv's kernelspec is found
# first on JUPYTER_PATH).
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export PYDEVD_DISABLE_FILE_VALIDATION := 1

NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
               --nbval-cell-timeout 600 --nbval-kernel-startup-timeout 120

.PHONY: setup run store data weights test test-compat unit notebooks lab bench assignments grade lint clean site headers \
        slides

setup: $(STAMP)

# pip and uv keep their download caches where they always do (installing is not running the course). uv installs
# the same packages from the same index about twice as fast as pip (25 s against 60 s for a clean clone with empty
# caches, which is what CI does); where uv cannot be installed, pip does the work as before. --compile-bytecode
# writes the .pyc files as pip does: without them, where PYTHONDONTWRITEBYTECODE is set (as on CI), every kernel
# and subprocess compiles TensorFlow's sources again (import keras: 9.7 s instead of 3.8 s).
# constraints.txt pins every package to the version CI tested (pyproject.toml only gives the ranges the kit
# supports), so a new release upstream cannot change what `make test` runs on.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	( env -u XDG_CACHE_HOME $(BIN)/python -m pip install --quiet -c constraints.txt uv && \
	  env -u XDG_CACHE_HOME $(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python \
	    -c constraints.txt -e ".[dev]" ) || \
	( env -u XDG_CACHE_HOME $(BIN)/python -m pip install --quiet --upgrade pip && \
	  env -u XDG_CACHE_HOME $(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]" )
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $(STAMP)

# Execute every notebook into build/ and print one table row per notebook (kernel output goes to build/logs/).
run: setup
	$(BIN)/python -m course_lib.notebooks

# Re-execute notebooks in quick mode and store them with their outputs (what nbval compares against):
# `make store` for all, `make store NB=07_lenet` for one. New outputs can move a slide boundary, so the stored
# notebooks' slide types are brought up to date too (scripts/slides.py --write; tests/test_slides.py checks them).
store: setup
	COURSE_MODE=quick $(BIN)/python -m course_lib.notebooks --store $(NB)
	$(BIN)/python scripts/slides.py --write $(NB)

# Download MNIST, Fashion-MNIST and CIFAR-10 into data/keras/ (checksums verified); quick mode then uses them.
data: setup
	$(BIN)/python -m course_lib.data fetch mnist fashion_mnist cifar10

# Download the ImageNet weights notebook 15 uses in full mode into data/keras/models/ (hashes verified);
# `$(BIN)/python -m course_lib.pretrained fetch --all` fetches all six networks (about 1.3 GB).
weights: setup
	$(BIN)/python -m course_lib.pretrained fetch

# Everything: unit tests, the grading suite and every notebook under nbval, in one pytest run over two
# workers (one per core). This is what CI runs. The notebooks (the longest scopes) are handed out first, so the
# many short test modules fill the gaps at the end instead of one worker waiting for a last notebook.
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadscope notebooks tests $(NBVAL_FLAGS) --ignore=notebooks/assignments

# The compatibility matrix (tests/compat/matrix.toml): the wheel on Python 3.10, 3.12 and 3.13, on a Colab-like
# kernel whose own TensorFlow 2.19 and Keras 3.10 pip must leave alone, and on the JAX and PyTorch backends.
# Each entry gets a virtual environment under build/compat/; `make test-compat ONLY=py310` runs one entry,
# `make test-compat PYTHONS=3.12` the entries on one Python.
test-compat: setup
	$(BIN)/python scripts/compat.py $(foreach e,$(ONLY),--only $(e)) $(foreach v,$(PYTHONS),--python $(v))

# The fast loop: unit tests without the slow grading suite and the wheel/website tests (`grading`, `site`).
unit: setup
	$(BIN)/python -m pytest -n 2 --dist loadscope -m "not grading and not site" tests

notebooks: setup
	$(BIN)/python -m pytest -n 2 --dist loadscope notebooks $(NBVAL_FLAGS) --ignore=notebooks/assignments

lab: setup
	$(BIN)/jupyter lab notebooks

bench: setup
	$(BIN)/python benchmarks/bench_conv.py
	$(BIN)/python benchmarks/bench_tracing.py
	$(BIN)/python benchmarks/bench_notebooks.py
	$(BIN)/python benchmarks/bench_grading.py

assignments: setup
	$(BIN)/python scripts/assignments.py release

# make grade SUBMISSIONS=dir [ASSIGNMENT="ps1 ps2"] [CELL_TIMEOUT=s] [SUBMISSION_TIMEOUT=s] [TOTAL_TIMEOUT=s]
# [GRADE_FLAGS=--unsafe-no-sandbox]; grade's own exit status (0 all graded, 1 some not, 2 usage or no
# sandbox) is printed by it; make reports any non-zero status as a failure
grade: setup
	$(BIN)/python scripts/assignments.py grade --submissions "$(SUBMISSIONS)" \
		$(if $(ASSIGNMENT),--only $(ASSIGNMENT)) $(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT)) \
		$(if $(SUBMISSION_TIMEOUT),--submission-timeout $(SUBMISSION_TIMEOUT)) \
		$(if $(TOTAL_TIMEOUT),--total-timeout $(TOTAL_TIMEOUT)) $(if $(JOBS),--jobs $(JOBS)) $(GRADE_FLAGS)

lint: setup
	$(BIN)/ruff check .

# The course website from the stored notebooks (nothing is re-run), the README and docs/ -> build/site/index.html.
site: setup
	$(BIN)/python website/build.py --out $(BUILD)/site

# Lecture slides: a reveal.js deck per notebook from its stored outputs (nothing is re-run), everything they load
# beside them (no CDN) -> build/slides/index.html; open a deck from disk or from any web server.
slides: setup
	$(BIN)/python scripts/slides.py build --out $(BUILD)/slides

# (Re)write each notebook's set-up block and launch badges from the repository URL in pyproject.toml, the
# README's notebook table from notebooks/notebooks.toml, and every cell's slide type from the rules of
# scripts/slides.py.
headers: setup
	$(BIN)/python scripts/notebook_header.py
	$(BIN)/python scripts/notebook_list.py --write
	$(BIN)/python scripts/slides.py --write

clean:
	rm -rf build
