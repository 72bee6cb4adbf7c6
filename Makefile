# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Thin wrapper: dependencies, build, run, test. meson does the work.
BUILD ?= build

.PHONY: all deps build run test check-sanitized bench fuzz clean

all: build

deps:
	scripts/install-deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) --werror

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	BUILD=$(CURDIR)/$(BUILD) scripts/run-dev.sh

test:
	scripts/install-deps.sh test
	$(MAKE) build
	meson test -C $(BUILD) --print-errorlogs

# every suite again with AddressSanitizer and UBSan (leak reports off: GLib
# keeps one-time allocations for the process's life)
check-sanitized:
	scripts/install-deps.sh test
	[ -f $(BUILD)-asan/build.ninja ] || meson setup $(BUILD)-asan -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(BUILD)-asan
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(BUILD)-asan --print-errorlogs

# ca.sh needs certtool (gnutls-bin, in the test set) besides the bench set
bench:
	scripts/install-deps.sh bench test
	$(MAKE) build
	bench/front.sh $(BUILD)
	bench/ca.sh $(BUILD)
	bench/dp.sh $(BUILD)
	bench/mp.sh $(BUILD)
	bench/cmg.sh $(BUILD)

$(BUILD)-fuzz/build.ninja:
	CC=clang meson setup $(BUILD)-fuzz -Dfuzzing=enabled -Db_sanitize=address,undefined -Db_lundef=false

fuzz:
	scripts/install-deps.sh fuzz
	$(MAKE) $(BUILD)-fuzz/build.ninja
	ninja -C $(BUILD)-fuzz
	@echo "fuzzers are in $(BUILD)-fuzz/fuzzing/ (e.g. $(BUILD)-fuzz/fuzzing/fuzz-framing fuzzing/corpus/framing)"

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz $(BUILD)-asan
