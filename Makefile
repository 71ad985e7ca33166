# lawcast — the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test serve worker bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,services]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lawcast demo --out var/demo

test: $(STAMP)
	$(PY) -m pytest

serve: $(STAMP)
	$(VENV)/bin/lawcast serve --host 127.0.0.1 --port 8000

worker: $(STAMP)
	$(VENV)/bin/lawcast worker

bench: $(STAMP)
	@$(PY) -m pip install --quiet -e '.[test,services,bench]'
	@$(PY) -m bench

clean:
	rm -rf var .pytest_cache
