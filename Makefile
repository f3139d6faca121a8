# answerkey: verified answer keys.
#
#   make pdf            build every assignment of the default term, every format
#   make test           lint, type-check and run the tests (everything, as CI runs it)
#   make check          the inner loop: lint, types and the tests with no full build, no TeX
#   make docs           build the documentation site into build/site (strict)
#
# Each target does its own set-up on a fresh machine: it creates .venv/ if
# missing, installs the package into it (again only when pyproject.toml
# changes), and makes sure TeX Live with the LaTeX packages the keys need is
# installed (scripts/ensure-tex); `make test` also installs Debian's chromium for
# the HTML layout test (scripts/ensure-chromium). Python packages come at the
# versions pinned in constraints.txt.
#
# Variables:
#   KEYTERM=NAME        term to build (default: default); not TERM, the terminal's
#   VARIANTS=N          also build N variants of the term
#   ASSIGNMENTS="a b"   build only these assignments (default: all)
#   ARGS=...            extra arguments for `answerkey build`, e.g. ARGS=--verbose
#   PYTHON=python3.11   the Python (>= 3.11) that creates .venv

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := pdf
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

ifeq ($(origin TERM),command line)
$(error TERM is the terminal's variable: use KEYTERM=$(TERM) to choose the term)
endif

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ANSWERKEY := $(VENV)/bin/answerkey
INSTALL_STAMP := $(VENV)/.answerkey-installed
TEX_STAMP := $(VENV)/.answerkey-tex-ok
CHROMIUM_STAMP := $(VENV)/.answerkey-chromium-ok

KEYTERM ?= default
VARIANTS ?=
ASSIGNMENTS ?=
ARGS ?=
# What the user typed reaches `answerkey` as arguments, never as shell or make
# code: each word is single-quoted for the shell ($(call q,...)), taken with
# $(value ...) so make does not expand a `$(...)` in it, and not exported (make
# would expand it to build the environment). answerkey validates the values.
unexport KEYTERM VARIANTS ASSIGNMENTS ARGS
q = '$(subst ','\'',$(1))'
quoted = $(foreach w,$(value $1),'$(subst ','\'',$(w))')
BUILD = $(ANSWERKEY) build $(call quoted,ASSIGNMENTS) --term $(call q,$(value KEYTERM)) \
	$(if $(value VARIANTS),--variants $(call quoted,VARIANTS)) $(call quoted,ARGS)

# Tool caches live under build/ with the rest of the generated state.
CACHE := build/.cache
export MYPY_CACHE_DIR := $(CACHE)/mypy
export RUFF_CACHE_DIR := $(CACHE)/ruff

.PHONY: pdf tex md html test check lint typecheck pytest bench docs clean setup help

pdf: setup
	$(BUILD)

tex: setup
	$(BUILD) --format tex

md: setup
	$(BUILD) --format md

html: setup
	$(BUILD) --format html

# the tests on every core, a test module per worker (its module-scoped fixtures built once),
# in the order tests/conftest.py gives (the modules with builds first); XDIST= runs them in
# one process
XDIST ?= -n auto --dist loadfile --no-loadscope-reorder

test: lint typecheck pytest

check: lint typecheck
	$(PY) -m pytest -o cache_dir=$(CACHE)/pytest -q -m 'not build and not tex' $(XDIST)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

pytest: setup
	@bash scripts/ensure-chromium $(CHROMIUM_STAMP)
	$(PY) -m pytest -o cache_dir=$(CACHE)/pytest --durations=15 $(XDIST)

bench: setup
	$(PY) -m answerkey.bench

# Strict: a broken link, a missing page or an unresolved API reference fails.
docs: $(INSTALL_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir build/site

# `answerkey clean` takes the build lock: it refuses while a build runs (it would
# remove directories that build is about to report); without .venv no build can run.
clean:
	@if [ -x $(ANSWERKEY) ]; then $(ANSWERKEY) clean; else rm -rf build; fi

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- set-up ------------------------------------------------------------------

setup: $(INSTALL_STAMP)
	@bash scripts/ensure-tex $(TEX_STAMP)
	@# hash-checked bytecode (answerkey/sources.py), even with PYTHONDONTWRITEBYTECODE
	@$(PY) -c 'from answerkey import sources; sources.precompile(["answerkey", "solutions"])'

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: '$(PYTHON)' is missing or older than Python 3.11;" \
	       "run make with PYTHON=/path/to/python3.11 (or newer)" >&2; exit 1; }
	@echo "creating $(VENV)/ with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
	  exit 1; }

# Every package at the version pinned in constraints.txt (an upgrade is a commit
# there; the keys record its digest, so it rebuilds them).
$(INSTALL_STAMP): pyproject.toml constraints.txt | $(PY)
	@echo "installing answerkey[dev] into $(VENV)/ (versions from constraints.txt)"
	$(PY) -m pip install --quiet --disable-pip-version-check --progress-bar off \
	  -c constraints.txt -e '.[dev]'
	@touch $@
