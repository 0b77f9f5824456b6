# Two entry points: `make demo` and `make test`. Both build .venv/ from uv.lock.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export GLOG_minloglevel := 2
export TF_CPP_MIN_LOG_LEVEL := 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test env system-deps bench clean

demo: env system-deps
	$(VENV)/bin/hingeflow demo --warehouse demo/warehouse --footage demo/footage

test: env system-deps
	$(PY) -m pytest

bench: env system-deps
	$(PY) bench/bench_pose.py

env: $(VENV)/.synced

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python python3.11
	touch $@

# ffmpeg for test media; Debian's Chromium for the browser tests (driven by Playwright, no browser download)
system-deps:
	@command -v ffmpeg >/dev/null && command -v chromium >/dev/null || { $(SUDO) apt-get update -qq \
		&& $(SUDO) apt-get install -y -qq ffmpeg chromium >/dev/null; }

clean:
	rm -rf $(VENV) $(TOOLS) demo
