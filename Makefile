# Two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv on first use and install chainrule into it from this folder.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test bench install clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

# The benchmarks' peers (HIPS autograd, tinygrad): pip install '.[test,bench]'.
$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PIP) install --quiet -e '.[test,bench]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m chainrule train

test: $(VENV)/.installed-test
	$(PY) -m pytest

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
