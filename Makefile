# The course kit's commands. `make lab` and `make test` are the README's two commands; each sets
# up .venv on first use and again only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUBMISSIONS ?= submissions
RESULTS ?= grading-results
PORT ?= 8000
# Extra JupyterLab options, e.g. make lab LAB_ARGS=--port=9999
LAB_ARGS ?=
# Containers and CI machines often run as root, which JupyterLab refuses without this flag.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# Headless machines (no display) get --no-browser; JupyterLab still prints the URL to open.
LAB_BROWSER := $(if $(or $(DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser)

.PHONY: help setup lab author test student solutions bench site site-build grade release clean

help:
	@echo "make lab      open the course in JupyterLab (sets up .venv on first use)"
	@echo "make author   the same, with the solution sources (notebooks/solutions/) visible"
	@echo "make test     run every check: unit, doctests, notebooks, site, grading"
	@echo "make student  regenerate the student notebooks from notebooks/solutions/"
	@echo "make solutions  re-execute the source notebooks, then regenerate the student ones"
	@echo "make site     build the JupyterLite site and serve it on 127.0.0.1:$(PORT)"
	@echo "make grade    grade SUBMISSIONS=dir into RESULTS=dir"
	@echo "make bench    time course_lib against its peers"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,observability]"
	@touch $(STAMP)

# Students see the lessons only: the solution sources are hidden from the file browser (course
# authors use `make author`, which shows them).
HIDE_SOLUTIONS := --ContentsManager.hide_globs='["__pycache__", "*.pyc", ".ipynb_checkpoints", "solutions", "AUTHORING.md"]'

lab: $(STAMP)
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(HIDE_SOLUTIONS) $(LAB_BROWSER) $(LAB_ROOT) $(LAB_ARGS)

author: $(STAMP)
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(LAB_BROWSER) $(LAB_ROOT) $(LAB_ARGS)

test: $(STAMP)
	$(PY) -m pytest

student: $(STAMP)
	$(PY) -m course_lib.grading student

solutions: $(STAMP)
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.record_timing=False notebooks/solutions/[0-9][0-9]_*.ipynb
	$(PY) -c 'from course_lib.grading.notebooks import compact_notebook_figures as c; c("notebooks/solutions")'
	$(PY) -m course_lib.grading student

# make bench PEERS=1 also times the drift libraries a user would otherwise pick, each in its own
# git-ignored environment .venv-peers-NAME/ built from benchmarks/peers/requirements-NAME.txt
# (they cannot share .venv: Evidently 0.7 needs pandas < 3, alibi-detect numpy < 2).
PEERS ?=
PEER_LIBRARIES := evidently alibi-detect nannyml

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done
	@if [ -n "$(PEERS)" ]; then \
	  for name in $(PEER_LIBRARIES); do \
	    env=.venv-peers-$$name; requirements=benchmarks/peers/requirements-$$name.txt; \
	    if [ ! -f $$env/.installed ] || [ $$requirements -nt $$env/.installed ]; then \
	      echo "== building $$env/ from $$requirements"; \
	      { test -x $$env/bin/python || $(PYTHON) -m venv $$env; } && \
	      NML_DISABLE_USAGE_LOGGING=1 $$env/bin/python -m pip install --quiet -r $$requirements && \
	      touch $$env/.installed || exit 1; \
	    fi; \
	  done; \
	  echo "== benchmarks/peers/bench_peers.py"; \
	  NML_DISABLE_USAGE_LOGGING=1 $(PY) benchmarks/peers/bench_peers.py || exit 1; \
	fi

site-build: $(STAMP)
	$(PY) jupyter-lite/build.py

site: site-build
	$(PY) jupyter-lite/build.py --serve --port $(PORT)

# The hand-out in release/students/ (notebooks, README, course_lib wheel) and the grading manifest in
# release/instructor/. make release ASSIGNMENTS=my-course releases an instructor's own assignments
# (docs/instructor-assignments.md); SITE=https://... puts the course site's address in the README.
ASSIGNMENTS ?=
SITE ?=

release: $(STAMP)
	$(PY) -m course_lib.grading release --out release $(if $(ASSIGNMENTS),--assignments $(ASSIGNMENTS)) $(if $(SITE),--site $(SITE))

grade: $(STAMP)
	$(PY) -m course_lib.grading grade $(SUBMISSIONS) --out $(RESULTS)

clean:
	rm -rf $(VENV) .venv-peers-* _site build dist *.egg-info .pytest_cache .hypothesis grading-results release
