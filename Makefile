# Two entry points for a fresh Debian machine: `make run` and `make test`. Each installs what is missing.
SWIFT      ?= swift
VENV       := .venv
HERALD     := .build/release/herald
BENCH      := .build/release/herald-bench
APT_NEEDS  := libwebsockets-dev libsqlite3-dev librdkafka-dev pkg-config
# Only the tests need these: kcat writes records for the Kafka bridge tests, openssl makes the TLS tests' certificates,
# systemd's systemd-analyze checks deploy/herald.service; chromium and chromium-driver run the admin console's
# page headless (about 350 MB, a minute to install).
TEST_APT_NEEDS := kcat openssl systemd chromium chromium-driver
# promtool checks deploy/prometheus.yml; it comes unpacked from Debian's prometheus package, since installing
# that package would also start a Prometheus server.
PROMTOOL   := .build-tools/promtool
PYTHON     := $(VENV)/bin/python

.PHONY: run test build release system-deps test-deps unit-test e2e-test bench bench-quick bench-alloc bench-history bench-kafka bench-tool peers fuzz clean

run: release
	$(HERALD) serve

test: release bench-tool test-deps $(VENV)/.ready
	$(SWIFT) test
	E2E_HERALD_BIN=$(abspath $(HERALD)) $(PYTHON) -m pytest -q Tests/e2e
	@echo "benchmark smoke test (the load generator against Herald, so it cannot rot):"
	taskset -c 1 $(BENCH) --suite smoke --herald $(HERALD)
	$(MAKE) bench-alloc

# Herald against uWebSockets and Nchan on this machine (BENCHMARKS.md says how to read it), then the
# allocation count. Not part of `make test`: it takes about half an hour.
bench: release bench-tool peers
	taskset -c 1 $(BENCH) --suite full --runs 2 --herald $(HERALD) --json bench-results.jsonl
	$(MAKE) bench-alloc

# One comparison point against uWebSockets, for use while developing (under 3 minutes).
bench-quick: release bench-tool peers
	taskset -c 1 $(BENCH) --suite quick --servers herald,uws --herald $(HERALD)

# Allocations per publication on the fan-out path, counted at 10, 1,000 and 10,000 subscribers, checked
# against Benchmarks/Thresholds (3 each, 2 allowed above): fails if any allocation per subscriber creeps in.
# Benchmarks/ is a package of its own (its build is Benchmarks/.build), so only this builds ordo-one/benchmark.
bench-alloc:
	$(SWIFT) package --package-path Benchmarks benchmark thresholds check --target FanOutAllocations \
		--path $(CURDIR)/Benchmarks/Thresholds --no-progress

# History: durable publish rate (fsync, os, memory), catch-up replay from the durable log after a restart,
# 1,000 subscribers recovering at once (bench/history_bench.py says how; about 2 minutes).
bench-history: release $(VENV)/.ready
	$(PYTHON) bench/history_bench.py --herald $(HERALD)

# The Kafka bridge: record-to-WebSocket latency with 1,000 subscribers, bridge throughput, catch-up from Kafka,
# each beside a plain Kafka consumer (bench/kafka_bench.py says how; about 2 minutes).
bench-kafka: release test-deps $(VENV)/.ready
	$(PYTHON) bench/kafka_bench.py --herald $(HERALD)

# libFuzzer on the code that reads untrusted bytes (Fuzz/, a package of its own, so Herald's own build is
# unchanged), built optimized with ASan and with the debug build's checks kept (`-assert-config Debug`:
# unsafe buffers check their indices), four times as fast as a debug build. Each target runs FUZZ_RUNS
# inputs grown from its seed corpus Fuzz/Corpus/TARGET into a scratch corpus; a crash, a trap, a leak or an
# input slower than 10 s fails the run and leaves the input in Fuzz/.build/crashes. The Swift backtracer is
# off: libFuzzer reports the crash at once.
FUZZ_TARGETS := ClientCommand ServerAPI HTTPRequest
FUZZ_RUNS    ?= 1000000
FUZZ_BUILD   := $(SWIFT) build --package-path Fuzz -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address \
	-Xswiftc -assert-config -Xswiftc Debug

fuzz:
	@mkdir -p Fuzz/.build/crashes
	@for target in $(FUZZ_TARGETS); do \
		echo "building Fuzz$$target (log: Fuzz/.build/build-$$target.log)"; \
		$(FUZZ_BUILD) --product Fuzz$$target >Fuzz/.build/build-$$target.log 2>&1 \
			|| { grep -v "Cannot export local symbol" Fuzz/.build/build-$$target.log; exit 1; }; \
	done
	@for target in $(FUZZ_TARGETS); do \
		echo "fuzzing $$target: $(FUZZ_RUNS) inputs"; \
		rm -rf Fuzz/.build/corpus/$$target && mkdir -p Fuzz/.build/corpus/$$target; \
		SWIFT_BACKTRACE=enable=no Fuzz/.build/release/Fuzz$$target -runs=$(FUZZ_RUNS) -max_len=4096 -timeout=10 \
			-print_final_stats=1 -artifact_prefix=Fuzz/.build/crashes/$$target- \
			Fuzz/.build/corpus/$$target Fuzz/Corpus/$$target >Fuzz/.build/fuzz-$$target.log 2>&1 \
			|| { tail -n 60 Fuzz/.build/fuzz-$$target.log; echo "Fuzz$$target failed: see Fuzz/.build/crashes"; exit 1; }; \
		grep -E "^Done|stat::average_exec_per_sec" Fuzz/.build/fuzz-$$target.log; \
	done

bench-tool: system-deps
	$(SWIFT) build -c release --product herald-bench

peers:
	bench/peers/install.sh

release: system-deps
	$(SWIFT) build -c release --static-swift-stdlib --product herald

build: system-deps
	$(SWIFT) build

unit-test: system-deps
	$(SWIFT) test

e2e-test: release test-deps $(VENV)/.ready
	E2E_HERALD_BIN=$(abspath $(HERALD)) $(PYTHON) -m pytest -q Tests/e2e

# apt packages, installed only when missing: what Herald builds against, and what only the tests use.
apt_install = missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

system-deps:
	@$(call apt_install,$(APT_NEEDS))

test-deps: $(PROMTOOL)
	@$(call apt_install,$(TEST_APT_NEEDS))

$(PROMTOOL):
	mkdir -p $(@D)/deb
	cd $(@D)/deb && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; }
	dpkg-deb --fsys-tarfile $(@D)/deb/prometheus_*.deb | tar -xO ./usr/bin/promtool > $@.part
	chmod +x $@.part && mv $@.part $@ && rm -rf $(@D)/deb

# The test clients nobody here wrote (centrifuge-python, websockets) and pytest, in a private venv.
$(VENV)/.ready: Tests/e2e/requirements.txt
	@python3 -m venv --help >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/e2e/requirements.txt
	touch $@

clean:
	rm -rf .build .build-tools $(VENV)
