# codexia — the two commands of the README, plus lint.
#   make run    install what is needed, build, and run the app
#               (the tray app with a display, otherwise the headless gateway: codexia serve)
#   make test   install what is needed and run the whole test suite
#   make lint   rustfmt, the import rules between modules (scripts/check-layers.sh), no system
#               library in the headless build (scripts/check-deps.sh), unused dependencies
#               (cargo-machete) and clippy (both feature sets), as CI runs them
#   make bench  translation cost per streamed event (criterion), the cost of a long Claude Code
#               conversation per request, the request inspector's cost per captured request,
#               the time to first byte codexia adds over the fake backend at 1 and 32
#               concurrent streams, and codexia serve's CPU and memory
#   make memory the tray app's resident memory: idle, with Settings open, after closing it
#   make memory-serve  codexia serve's resident memory: idle, after 1,000 requests, after 2,000
#   make soak   32 concurrent streams for 10 minutes (CODEXIA_SOAK_SECONDS) with drops, 429s,
#               first-byte stalls and token revocations injected, then a burst of large and
#               malformed bodies: hung streams, answers in the caller's format, refreshes per
#               revocation, and resident memory before and after the burst

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help run test lint bench memory memory-serve soak

help:
	@echo "make run    build and run codexia (tray app with a display, else 'codexia serve')"
	@echo "make test   run the whole test suite"
	@echo "make lint   fmt --check, import rules, headless deps, cargo-machete, clippy -D warnings"
	@echo "make bench  per-event translation cost and added time to first byte (release)"
	@echo "make memory the tray app's memory: idle, Settings open, after closing it (release)"
	@echo "make memory-serve  codexia serve's CPU per request and memory under load (release)"
	@echo "make soak   32 streams with injected faults, then a burst (CODEXIA_SOAK_SECONDS=600)"

run:
	scripts/setup.sh run
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  set -x; $(CARGO) build --release && exec $(CARGO) run --release; \
	else \
	  echo "No display: running the headless gateway (codexia serve)."; \
	  set -x; $(CARGO) build --release --no-default-features && \
	  exec $(CARGO) run --release --no-default-features -- serve; \
	fi

test:
	scripts/setup.sh test
	scripts/test.sh

lint:
	scripts/setup.sh lint
	$(CARGO) fmt --all -- --check
	scripts/check-layers.sh
	scripts/check-deps.sh
	.tools/bin/cargo-machete
	$(CARGO) clippy --all-targets --no-default-features -- -D warnings
	$(CARGO) clippy --all-targets -- -D warnings

# Headless (no tray) release builds; the numbers are only reported, never asserted.
bench:
	$(CARGO) bench --no-default-features --bench translate
	$(CARGO) bench --no-default-features --bench conversation
	$(CARGO) bench --no-default-features --bench inspector
	$(CARGO) test --release --no-default-features --test all bench -- --ignored --nocapture --test-threads 1
	CODEXIA_BENCH_FAKE=tls $(CARGO) test --release --no-default-features --test all bench -- --ignored --nocapture --test-threads 1
	CODEXIA_BENCH_FAKE=tls CODEXIA_BENCH_PIN=1 $(CARGO) test --release --no-default-features --test all suite::bench::time_to_first_byte_added_by_the_gateway -- --ignored --nocapture --exact

# codexia serve against the fake backend: CPU per request (long conversations) and resident
# memory idle, after 1,000 requests (100 long, 32 concurrent streams) and after 1,000 more;
# with the fake over plain HTTP/1.1, then over TLS with HTTP/2 (the real backend's).
memory-serve:
	$(CARGO) test --release --no-default-features --test all suite::bench::serve_cpu_and_memory_under_load -- --ignored --nocapture --exact
	CODEXIA_BENCH_FAKE=tls $(CARGO) test --release --no-default-features --test all suite::bench::serve_cpu_and_memory_under_load -- --ignored --nocapture --exact

# Issue 13 acceptance 4 against a release codexia serve; CODEXIA_SOAK_SECONDS sets the length
# (default 600). Correctness is asserted; memory, CPU and rates are printed.
soak:
	$(CARGO) test --release --no-default-features --test all suite::soak -- --ignored --nocapture --test-threads 1

# The tray app's RSS under Xvfb (release build): idle, with Settings open and closed, and after
# a long Claude Code turn through its gateway (issue 15). Reported, never asserted.
memory:
	scripts/setup.sh test
	$(CARGO) build --release
	scripts/tray-memory.sh target/release/codexia
	xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- scripts/in-session.sh \
	  $(CARGO) test --release --test all suite::tray::tray_memory_after_a_long_claude_code_turn \
	  -- --ignored --nocapture --exact
