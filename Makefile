# lawcast — the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test serve worker bench install clean

# pip's warnings (this machine's package mirrors answer "Location ... is ignored" for every package they lack)
# go to a log that is shown only when the install fails, so `make demo` starts with its own output.
PIP_LOG := $(VENV)/pip-install.log
DEV_EXTRAS := .[test,services]
BENCH_EXTRAS := .[test,services,bench]
PIP_QUIET = $(PY) -m pip install --quiet --no-warn-script-location --progress-bar off
pip_install = $(PIP_QUIET) $(1) >>$(PIP_LOG) 2>&1 || { cat $(PIP_LOG); echo "pip install thất bại (pip install failed); nhật ký (log): $(PIP_LOG)"; exit 1; }

$(PY):
	@echo "Tạo môi trường ảo $(VENV) (creating the virtualenv)" >&2
	@$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@echo "Cài đặt các gói Python, xin chờ (installing packages; log: $(PIP_LOG))" >&2
	@: >$(PIP_LOG)
	@$(call pip_install,--upgrade pip)
	@$(call pip_install,-e '$(DEV_EXTRAS)')
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lawcast demo --out var/demo

test: $(STAMP)
	@# Browser tests drive Debian's chromium; as root, install it when missing (else they skip with one line).
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
		echo "chromium could not be installed: the browser tests will skip"
	$(PY) -m pytest

serve: $(STAMP)
	$(VENV)/bin/lawcast serve --host 127.0.0.1 --port 8000

worker: $(STAMP)
	$(VENV)/bin/lawcast worker

bench: $(STAMP)
	@$(call pip_install,-e '$(BENCH_EXTRAS)') >&2
	@# bench_http compares with wrk and nginx; as root, install them when missing (else it says so in one line).
	@{ command -v wrk >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1; } || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null 2>&1; } || \
		echo "wrk/nginx could not be installed: bench_http uses its own load client and python's http.server" >&2
	@$(PY) -m bench

clean:
	rm -rf var .pytest_cache
