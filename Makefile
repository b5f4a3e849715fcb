# Two entry points for a fresh Debian machine: `make run` and `make test`. Each installs what is missing.
SWIFT      ?= swift
VENV       := .venv
HERALD     := .build/release/herald
APT_NEEDS  := libwebsockets-dev pkg-config
PYTHON     := $(VENV)/bin/python

.PHONY: run test build release system-deps unit-test e2e-test clean

run: release
	$(HERALD) serve

test: release $(VENV)/.ready
	$(SWIFT) test
	E2E_HERALD_BIN=$(abspath $(HERALD)) $(PYTHON) -m pytest -q Tests/e2e

release: system-deps
	$(SWIFT) build -c release --static-swift-stdlib --product herald

build: system-deps
	$(SWIFT) build

unit-test: system-deps
	$(SWIFT) test

e2e-test: release $(VENV)/.ready
	E2E_HERALD_BIN=$(abspath $(HERALD)) $(PYTHON) -m pytest -q Tests/e2e

# apt packages Herald builds against; installed only when missing.
system-deps:
	@missing=$$(for p in $(APT_NEEDS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The test clients nobody here wrote (centrifuge-python, websockets) and pytest, in a private venv.
$(VENV)/.ready: Tests/e2e/requirements.txt
	@python3 -m venv --help >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/e2e/requirements.txt
	touch $@

clean:
	rm -rf .build $(VENV)
