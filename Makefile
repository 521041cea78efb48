# SPDX-License-Identifier: MIT
# kato-stress: one non-recursive Makefile. `make` builds build/stress-master,
# build/stress-agent and build/katosim. Variants are flag sets built into
# their own folders: `make asan` -> build/asan/. `make V=1` shows commands.
# `make O=DIR` puts everything under DIR instead of build/.

O        ?= build
VARIANT  ?=
CC       ?= cc
WERROR   ?= -Werror

ifeq ($(VARIANT),)
OUT      := $(O)
else
OUT      := $(O)/$(VARIANT)
endif
OBJ      := $(OUT)/obj

PKGS     := libcurl yaml-0.1 msgpack
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wcast-qual -Wpointer-arith \
            -Wundef -Wwrite-strings -Wvla -Wimplicit-fallthrough -fno-common
OPT      ?= -O2 -g
CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
            $(WARN) $(WERROR) $(OPT) -pthread -MMD -MP $(PKG_CFLAGS)
LDLIBS   := -lnng -lmbedtls -lmbedx509 -lmbedcrypto $(PKG_LIBS) -lm -pthread

ifeq ($(VARIANT),tsan)
CFLAGS_BASE += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=thread
endif
ifeq ($(VARIANT),asan)
CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
ALL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS)

COMMON_SRC  := $(wildcard common/*.c)
PROTO_SRC   := $(wildcard proto/*.c)
MASTER_SRC  := $(filter-out master/main.c,$(wildcard master/*.c))
AGENT_SRC   := $(filter-out agent/main.c,$(wildcard agent/*.c))
KATOSIM_SRC := $(wildcard tests/katosim/*.c)
UNIT_SRC    := $(wildcard tests/unit/*.c)

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

LIB_OBJ     := $(call objs,$(COMMON_SRC) $(PROTO_SRC))
MASTER_OBJ  := $(call objs,$(MASTER_SRC))
AGENT_OBJ   := $(call objs,$(AGENT_SRC))

MASTER_BIN  := $(OUT)/stress-master
AGENT_BIN   := $(OUT)/stress-agent
KATOSIM_BIN := $(OUT)/katosim
UNIT_BIN    := $(OUT)/unit-tests
BINS        := $(MASTER_BIN) $(AGENT_BIN) $(KATOSIM_BIN)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps run test test-unit test-integration asan tsan valgrind bench \
        fuzz fuzz-smoke format format-check lint clean install uninstall

all: $(BINS)

# A flags stamp: a change of compiler, flags or version rebuilds everything.
FLAGS_STAMP := $(OBJ)/.flags
FLAGS_NOW   := $(CC) $(ALL_CFLAGS) $(LDFLAGS) $(VERSION)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(FLAGS_NOW)" ]; then \
		echo "$(FLAGS_NOW)" > $@; fi
FORCE:

$(OBJ)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -DKS_VERSION='"$(VERSION)"' -c $< -o $@

$(MASTER_BIN): $(OBJ)/master/main.o $(MASTER_OBJ) $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(AGENT_BIN): $(OBJ)/agent/main.o $(AGENT_OBJ) $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(KATOSIM_BIN): $(call objs,$(KATOSIM_SRC)) $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd $(LDLIBS)

$(UNIT_BIN): $(call objs,$(UNIT_SRC)) $(MASTER_OBJ) $(AGENT_OBJ) $(LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

# --- set-up -----------------------------------------------------------------

deps:
	@sh tests/support/deps.sh

# --- the README's two commands ------------------------------------------------

run: deps
	@$(MAKE) --no-print-directory all
	@sh tests/support/run_demo.sh $(OUT)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@bash tests/run_tests.sh $(OUT)

test-unit: $(UNIT_BIN)
	@$(UNIT_BIN)

test-integration: all
	@bash tests/run_tests.sh $(OUT) integration

# --- install (PREFIX, DESTDIR) ------------------------------------------------
# The binaries and the wrapper go to BINDIR, the default configs to DATADIR
# (the installed wrapper finds both: see run_stress_tests.sh), the agent's
# systemd unit to UNITDIR with its ExecStart pointing at BINDIR, and an
# example of its EnvironmentFile to DATADIR. Nothing goes to /etc: the
# token and the agent's settings are the administrator's (docs/multi-host.md).
# deploy/Dockerfile runs this with PREFIX=/usr/local into a staging DESTDIR.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/kato-stress
UNITDIR  ?= $(PREFIX)/lib/systemd/system
INSTALL  ?= install

INSTALL_CONFIGS := stress_config.yaml quick_test_config.yaml
UNIT_SRC_FILE   := deploy/systemd/kato-stress-agent.service
UNIT_ENV_FILE   := deploy/systemd/kato-stress-agent.env

install: $(BINS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 run_stress_tests.sh $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(INSTALL_CONFIGS) $(DESTDIR)$(DATADIR)/
	$(INSTALL) -m 0644 $(UNIT_ENV_FILE) \
		$(DESTDIR)$(DATADIR)/kato-stress-agent.env.example
	sed 's|/usr/local/bin/|$(BINDIR)/|g' $(UNIT_SRC_FILE) \
		>$(DESTDIR)$(UNITDIR)/kato-stress-agent.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/kato-stress-agent.service.tmp
	mv -f $(DESTDIR)$(UNITDIR)/kato-stress-agent.service.tmp \
		$(DESTDIR)$(UNITDIR)/kato-stress-agent.service

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BINS)) run_stress_tests.sh)
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/,$(INSTALL_CONFIGS) \
		kato-stress-agent.env.example)
	rm -f $(DESTDIR)$(UNITDIR)/kato-stress-agent.service
	rmdir $(DESTDIR)$(DATADIR) 2>/dev/null || true

# --- variants and tooling -------------------------------------------------------

asan:
	@$(MAKE) --no-print-directory VARIANT=asan OPT="-O1 -g" all \
		$(O)/asan/unit-tests
	@ASAN_OPTIONS=detect_leaks=1 bash tests/run_tests.sh $(O)/asan

# ThreadSanitizer over the unit tests and the integration scripts that
# drive the agent's threads (workers, control thread, resources sampler,
# link-cut redial and rebalance, TLS; the agent's and master's shutdown):
# that is where races would live. About two minutes.
TSAN_SCRIPTS := e2e agent_loss resources tls lifecycle
tsan:
	@$(MAKE) --no-print-directory VARIANT=tsan OPT="-O1 -g" all \
		$(O)/tsan/unit-tests
	@TSAN_OPTIONS=halt_on_error=1 bash tests/run_tests.sh $(O)/tsan unit
	@set -e; for t in $(TSAN_SCRIPTS); do \
		echo "== $$t (tsan)"; \
		TSAN_OPTIONS=halt_on_error=1 KS_OUT=$(abspath $(O))/tsan \
			bash tests/integration/$${t}_test.sh; \
	done

# The unit tests, then the master and its agents under valgrind over the
# end-to-end, TLS and agent-loss (rebalance) scripts: a few minutes.
VALGRIND_SCRIPTS := e2e tls agent_loss
valgrind: all $(UNIT_BIN)
	valgrind --error-exitcode=1 --leak-check=full $(UNIT_BIN)
	@bash tests/support/valgrind_run.sh $(OUT) $(VALGRIND_SCRIPTS)

bench: all
	@bash bench/bench_wrk.sh $(OUT)

# --- fuzzing (tests/fuzz) ---------------------------------------------------
# libFuzzer targets built by clang with ASan and UBSan into $(FUZZ_OUT)/,
# over their own copy of the common/ and proto/ objects (the fuzzer's
# coverage instrumentation must be in the code under test, so the normal
# objects cannot be reused). `make fuzz-smoke` runs each target for a
# bounded number of executions over a copy of its seed corpus. clang 14
# warns about {a, b} initialisers that leave later members to zero (gcc
# does not with designated array elements): off here, the code is gcc's.

FUZZ_CC      ?= clang
FUZZ_OUT     ?= $(O)/fuzz
FUZZ_OBJ     := $(FUZZ_OUT)/obj
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
                $(WARN) -Wno-missing-field-initializers $(WERROR) -O1 -g \
                -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                -pthread -MMD -MP $(PKG_CFLAGS)
FUZZ_TARGETS := proto_fuzz config_fuzz json_fuzz
FUZZ_BINS    := $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS))
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(COMMON_SRC) $(PROTO_SRC))
FUZZ_RUNS    ?= 50000
FUZZ_SECONDS ?= 25

FUZZ_STAMP := $(FUZZ_OBJ)/.flags
FUZZ_NOW   := $(FUZZ_CC) $(FUZZ_CFLAGS)
$(FUZZ_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(FUZZ_NOW)" ]; then \
		echo "$(FUZZ_NOW)" > $@; fi

$(FUZZ_OBJ)/%.o: %.c $(FUZZ_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -DKS_VERSION='"$(VERSION)"' -c $< -o $@

$(FUZZ_OUT)/%_fuzz: $(FUZZ_OBJ)/tests/fuzz/%_fuzz.o $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# json_fuzz also drives the master's baseline comparison over what it parses.
$(FUZZ_OUT)/json_fuzz: $(FUZZ_OBJ)/master/baseline.o

# The objects are not intermediates to delete after the link.
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_OBJ)/master/baseline.o \
            $(patsubst %,$(FUZZ_OBJ)/tests/fuzz/%.o,$(FUZZ_TARGETS))

fuzz: $(FUZZ_BINS)

fuzz-smoke: fuzz
	@bash tests/fuzz/smoke.sh $(FUZZ_OUT) $(FUZZ_RUNS) $(FUZZ_SECONDS) \
		$(FUZZ_TARGETS)

# --- formatting and lint -------------------------------------------------------

FORMAT_SRC := $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -I common -I proto $(FORMAT_SRC)

clean:
	rm -rf $(O)

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_OBJ) -name '*.d' 2>/dev/null)
