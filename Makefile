# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# dirtytop: build BPF objects with clang, skeletons with bpftool, userspace with cc.

OUTPUT ?= build
CC ?= cc
CLANG ?= clang
# Debian's python3, where python3-pytest installs (a python3 earlier on PATH may lack it)
PYTHON ?= /usr/bin/python3
BPFTOOL ?= bpftool
PREFIX ?= /usr/local
DESTDIR ?=
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Isrc -I$(OUTPUT)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I. -Iinclude

LIBS_DIRTYTOP := -lbpf -lelf -lz -lncursesw -lyajl -lmicrohttpd -lpthread -lm
LIBS_DIRTYGEN := -pthread -ljson-c

# src/ in layers (README "Layout"): cmd -> tui, out, kernel, sys -> core -> include.
# core/ is pure C (no BPF, no terminal, no /proc): the unit tests link it directly.
CORE_SRCS := $(wildcard src/core/*.c)
APP_SRCS := $(filter-out $(CORE_SRCS),$(wildcard src/*/*.c))
CORE_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(CORE_SRCS))
APP_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(APP_SRCS))
HEADERS := $(wildcard include/*.h src/*/*.h)
# live_nocb: the live object without callbacks, for kernels without bpf_for_each_map_elem (< 5.13)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(wildcard bpf/*.bpf.c)) $(OUTPUT)/live_nocb.skel.h

UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))

# Fuzz targets (clang's libFuzzer) over the recording reader and the whole report.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-sanitize=nonnull-attribute -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
	-DREPLAY_MAX_RINGS=512 -DREPLAY_MAX_VMS=64 -DREPLAY_MAX_WINDOWS=500 -DREPLAY_MAX_HEAT=8192 -DHTML_MAX_HEAT_ROWS=8192
FUZZ_SRCS := $(CORE_SRCS) src/out/json.c src/out/json_writer.c src/out/text.c src/out/html.c src/out/perfetto.c \
	src/out/report_common.c src/cmd/report.c
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30

.SECONDARY:
.PHONY: all check unit integration check-kernels install uninstall man-check clean deps bench bench-exporter bench-fleet demo fuzz fuzz-run
all: $(OUTPUT)/dirtytop $(OUTPUT)/dirtygen $(OUTPUT)/tests/test_vcpu_reader

$(OUTPUT) $(OUTPUT)/tests:
	mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h bpf/lib/*.h) vmlinux.h | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/live_nocb.bpf.o: bpf/live.bpf.c $(wildcard include/*.h bpf/lib/*.h) vmlinux.h | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -DDT_NO_CALLBACKS -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(APP_OBJS): $(SKELS)

$(OUTPUT)/%.o: src/%.c $(HEADERS) | $(OUTPUT)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/dirtytop: $(APP_OBJS) $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LIBS_DIRTYTOP) -o $@

$(OUTPUT)/dirtygen: $(wildcard dirtygen/*.c dirtygen/*.S dirtygen/*.h) | $(OUTPUT)
	$(CC) $(filter-out -D_GNU_SOURCE,$(CFLAGS)) -o $@ $(filter %.c %.S,$^) $(LIBS_DIRTYGEN)

# The exposition renderer is out/, pure enough to test on its own.
$(OUTPUT)/tests/test_prometheus: tests/unit/test_prometheus.c $(OUTPUT)/out/prometheus.o $(CORE_OBJS) $(HEADERS) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $< $(OUTPUT)/out/prometheus.o $(CORE_OBJS) -lcmocka -lz -lm -o $@

# The JSON view's own vCPU writer against yajl's.
$(OUTPUT)/tests/test_json_view: tests/unit/test_json_view.c $(OUTPUT)/out/json.o $(OUTPUT)/out/json_writer.o $(CORE_OBJS) $(HEADERS) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $< $(OUTPUT)/out/json.o $(OUTPUT)/out/json_writer.o $(CORE_OBJS) -lcmocka -lyajl -lz -lm -o $@

# The changed-only vCPU read against a BPF map of its own (root and BPF: tests/integration/test_reader.py).
$(OUTPUT)/tests/test_vcpu_reader: tests/bpf/test_vcpu_reader.c $(OUTPUT)/kernel/vcpu_reader.o $(CORE_OBJS) $(HEADERS) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $< $(OUTPUT)/kernel/vcpu_reader.o $(CORE_OBJS) -lcmocka -lbpf -lelf -lz -lm -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(CORE_OBJS) $(HEADERS) | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $< $(CORE_OBJS) -lcmocka -lz -lm -o $@

$(OUTPUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/harness.h $(FUZZ_SRCS) $(HEADERS)
	mkdir -p $(OUTPUT)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_SRCS) -lyajl -lz -lm -o $@

fuzz: $(FUZZ_TARGETS)

# The exporter's per-scrape userspace cost at 512 and 4096 vCPUs (docs/benchmarks.md).
$(OUTPUT)/bench/exporter_render: bench/exporter_render.c $(OUTPUT)/out/prometheus.o $(CORE_OBJS) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(OUTPUT)/out/prometheus.o $(CORE_OBJS) -lz -lm -o $@

# Fills a running dirtytop's BPF maps with VMS x VCPUS vCPUs (bench/fleet: no KVM needed).
$(OUTPUT)/bench/fill_maps: bench/fill_maps.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -lbpf -o $@

# The real exporter and live views at 512 and 4096 vCPUs, maps filled by fill_maps (docs/benchmarks.md).
bench-fleet: all $(OUTPUT)/bench/fill_maps
	bench/fleet $(BENCH_FLEET_ARGS)

bench-exporter: $(OUTPUT)/bench/exporter_render
	$(OUTPUT)/bench/exporter_render 64 8 20
	$(OUTPUT)/bench/exporter_render 64 64 20

# Each target for FUZZ_SECONDS from the committed corpus (tests/fuzz/corpus); fails on a crash.
fuzz-run: fuzz
	tests/fuzz/run $(FUZZ_SECONDS)

# Unit tests (cmocka), then the integration tests that need root, KVM and BPF.
check: all $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done
	PYTHON=$(PYTHON) tests/run-integration
	$(PYTHON) -m pytest -v -rs -p no:cacheprovider tests/kernels

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

integration: all
	PYTHON=$(PYTHON) tests/run-integration

# Debian's packaged kernels in QEMU: the BPF objects load, verify and attach there
# (tests/kernels wraps it as pytest). Event flow is tested on the host kernel only.
check-kernels: all
	scripts/check-kernels

bench: all
	bench/run

# make install / uninstall (PREFIX, DESTDIR): binaries, man pages, bash completion
# and the exporter's systemd unit (its ExecStart names the installed binary).
# uninstall removes exactly the files install puts; in a staging tree (DESTDIR)
# also the directories left empty, never a live system's (/usr/local/sbin).
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
UNIT := deploy/systemd/dirtytop-exporter.service
MAN_PAGES := $(wildcard man/*.8)
INSTALLED := $(PREFIX)/sbin/dirtytop $(PREFIX)/sbin/dirtygen \
	$(patsubst man/%,$(MANDIR)/man8/%,$(MAN_PAGES)) $(BASHCOMPDIR)/dirtytop \
	$(UNITDIR)/$(notdir $(UNIT))
INSTALL_DIRS := $(PREFIX)/sbin $(MANDIR)/man8 $(MANDIR) $(BASHCOMPDIR) $(PREFIX)/share/bash-completion \
	$(PREFIX)/share $(UNITDIR) $(PREFIX)/lib/systemd $(PREFIX)/lib $(PREFIX)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(OUTPUT)/dirtytop $(OUTPUT)/dirtygen $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 completion/dirtytop $(DESTDIR)$(BASHCOMPDIR)/dirtytop
	sed 's|/usr/local/sbin/dirtytop|$(PREFIX)/sbin/dirtytop|g' $(UNIT) > $(DESTDIR)$(UNITDIR)/$(notdir $(UNIT))
	chmod 0644 $(DESTDIR)$(UNITDIR)/$(notdir $(UNIT))

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@if [ -n "$(DESTDIR)" ]; then rmdir --ignore-fail-on-non-empty $(addprefix $(DESTDIR),$(INSTALL_DIRS)); fi

# The man pages render without a warning.
man-check:
	@set -e; for m in $(MAN_PAGES); do w=$$(MANWIDTH=80 man --warnings -l $$m 2>&1 >/dev/null); \
		if [ -n "$$w" ]; then echo "$$m: $$w"; exit 1; fi; done; echo "man pages: no warnings"

deps:
	scripts/install-deps

demo: all
	scripts/demo

clean:
	rm -rf $(OUTPUT)
