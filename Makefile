# Omerta. 'make' builds everything into build/; 'make test', 'make demo' and
# 'make bench' install what they need first (scripts/install-deps.sh).
# 'make programs' builds only what 'make install' and the Debian packages
# ('make deb', debian/) carry. Quiet by default; V=1 prints the full commands.

BUILD ?= build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# exec finds the guest images beside its binary: $(PREFIX)/lib/omerta
# installed, $(BUILD)/guest here (exec/exec.c).
PREFIX ?= /usr/local
DESTDIR ?=
# The unit's directory: systemd's for the administrator with 'make install';
# the packages put it in the distribution's (debian/rules).
UNITDIR ?= /etc/systemd/system

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Werror -std=gnu11 -I$(BUILD)/include -D_GNU_SOURCE
# CPPFLAGS and LDFLAGS: empty here; dpkg-buildflags' hardening in the packages.
# The BTF's source paths relative to the tree: no build path in the binaries.
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -fdebug-prefix-map=$(CURDIR)=. \
	-I$(BUILD)/include -I/usr/include/$(shell uname -m)-linux-gnu
SHARED_LIBS := -ljson-c -lmnl -lnftnl -lsodium
LIBS := -lbpf -lelf -lz -linih -lmicrohttpd -lgnutls -lsystemd -lpthread -lm $(SHARED_LIBS)
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -I$(BUILD)/include -D_GNU_SOURCE

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_PROGS := guard cgroup bench_min
BPF_OBJS := $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(BUILD)/include/%.skel.h,$(BPF_PROGS))
BPF_HDRS := $(wildcard bpf/*.h)

# Which binary links which folders (docs/architecture.md): the base layer
# (lib/) and the protocols (proto/) everywhere; the guest agent adds the
# network libraries, the consumer the API codecs; the loader everything.
# The guest agent and the consumer link them as static archives, so that
# each gets only the objects it uses.
BASE_SRCS := $(wildcard lib/*.c proto/*.c)
NET_SRCS := $(wildcard nl/*.c vpn/*.c)
API_SRCS := $(wildcard api/*.c)
SHARED_SRCS := $(BASE_SRCS) $(NET_SRCS) $(API_SRCS)
BASE_LIB := $(BUILD)/lib/libomt-base.a
NET_LIB := $(BUILD)/lib/libomt-net.a
API_LIB := $(BUILD)/lib/libomt-api.a
PROVIDER_SRCS := $(filter-out loader/main.c,$(wildcard loader/*.c)) \
	$(wildcard daemon/*.c exec/*.c host/*.c guard/*.c) \
	$(wildcard telemetry/*.c vmctl/*.c policy/*.c owner/*.c)
LOADER_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,loader/main.c $(PROVIDER_SRCS) $(SHARED_SRCS))
# omerta-loader-exec: the exec verb alone (loader/main.c with OMT_EXEC_ONLY),
# the objects it uses taken from an archive and the shared libraries it
# needs only (--as-needed): no TLS or HTTP library in a process per VM.
PROVIDER_LIB := $(BUILD)/lib/libomt-provider.a
EXEC_LIBS := -Wl,--as-needed $(LIBS) -Wl,--no-as-needed
# Objects the tests link against: everything but main().
LIB_OBJS := $(filter-out $(BUILD)/obj/loader/main.o,$(LOADER_OBJS))
GUEST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard guest/*.c)) $(NET_LIB) $(BASE_LIB)
CONSUMER_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard consumer/*.c)) \
	$(API_LIB) $(NET_LIB) $(BASE_LIB)

TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/*_test.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/*_fuzz.c))
BENCH_BINS := $(BUILD)/bench/guard_cost $(BUILD)/bench/tap_pps
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))
GUEST_IMAGE := $(BUILD)/guest/base.cpio.gz
DEBIAN_IMAGE := $(BUILD)/guest/debian.sqfs

.PHONY: all programs deps test demo bench deb test-package clean distclean install uninstall FORCE
.SECONDARY:
MAN_PAGES := $(BUILD)/man/omerta-loader.8 $(BUILD)/man/omerta.1

all: programs $(TEST_BINS) $(FUZZ_BINS) $(BENCH_BINS) $(TOOL_BINS)

programs: $(BUILD)/bin/omerta-loader $(BUILD)/bin/omerta-loader-exec $(BUILD)/bin/omerta-guest \
	$(BUILD)/bin/omerta $(GUEST_IMAGE) $(DEBIAN_IMAGE) $(MAN_PAGES)

deps:
	$(Q)./scripts/install-deps.sh
	$(Q)./scripts/setup-host.sh

$(BUILD)/include/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/include/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/include/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(SKELS) $(wildcard */*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BASE_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(BASE_SRCS))
$(NET_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(NET_SRCS))
$(API_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(API_SRCS))
$(PROVIDER_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out daemon/%,$(PROVIDER_SRCS)))
$(BUILD)/lib/%.a:
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/omerta-loader: $(LOADER_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LIBS)

$(BUILD)/obj/loader/main-exec.o: loader/main.c $(SKELS) $(wildcard */*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DOMT_EXEC_ONLY -c $< -o $@

$(BUILD)/bin/omerta-loader-exec: $(BUILD)/obj/loader/main-exec.o $(PROVIDER_LIB) $(API_LIB) \
		$(NET_LIB) $(BASE_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group -o $@ $(EXEC_LIBS)

$(BUILD)/bin/omerta-guest: $(GUEST_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(SHARED_LIBS)

$(BUILD)/bin/omerta: $(CONSUMER_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(SHARED_LIBS) -lcurl -lssl -lcrypto

# The guest image: Debian's cloud kernel (apt-get download), its modules,
# busybox and the agent (guest/mkimage.sh; cached in $(BUILD)/guest/cache).
$(GUEST_IMAGE): $(BUILD)/bin/omerta-guest guest/mkimage.sh guest/lib.sh guest/modules.txt \
		guest/modules-disk.txt
	$(call msg,IMAGE,$@)
	$(Q)guest/mkimage.sh $(BUILD)/guest $(BUILD)/bin/omerta-guest

# The debian image: Debian 12 with python3 (mmdebstrap), a squashfs the VM
# gets as a read-only disk. Rebuilt only when its inputs change (the script
# checks the package versions too: FORCE).
$(DEBIAN_IMAGE): guest/mkdebian.sh guest/lib.sh FORCE
	$(call msg,IMAGE,$@)
	$(Q)guest/mkdebian.sh $(BUILD)/guest
FORCE:

# libFuzzer harnesses: each fuzzes one parser of untrusted input (the
# shared libraries, the pure policy logic, the consumer's providers file).
FUZZ_SRCS := $(SHARED_SRCS) $(wildcard policy/*.c) consumer/providers.c
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) $(wildcard */*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_SRCS) -o $@ $(SHARED_LIBS) -linih

# The one consumer part with a test of its own.
$(BUILD)/tests/providers_test: $(BUILD)/obj/consumer/providers.o
# daemon/control.c's test stands in for the job's exec (its control socket).
$(BUILD)/tests/daemon_control_test: TEST_LDFLAGS := -Wl,--wrap=omt_control_request
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS) -lcmocka $(TEST_LDFLAGS)

# Test tools: clients that do what our own never would.
$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS) -lcurl

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LIBS)

# Man pages from the markdown references in docs/ (go-md2man).
$(BUILD)/man/%.8 $(BUILD)/man/%.1: docs/%.md
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)go-md2man -in $< -out $@

# The files of 'make install' (and of the packages, debian/): the programs
# and guest images under $(PREFIX), the unit in $(UNITDIR), the example
# policy in /etc/omerta, the audit log's logrotate snippet, the Grafana
# dashboard and the Prometheus alert rules under $(PREFIX)/share/omerta.
install: programs
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(BUILD)/bin/omerta-loader $(DESTDIR)$(PREFIX)/bin/omerta-loader
	$(Q)install -D -m 0755 $(BUILD)/bin/omerta-loader-exec $(DESTDIR)$(PREFIX)/lib/omerta/omerta-loader-exec
	$(Q)install -D -m 0755 $(BUILD)/bin/omerta $(DESTDIR)$(PREFIX)/bin/omerta
	$(Q)install -D -m 0644 $(BUILD)/guest/vmlinuz $(DESTDIR)$(PREFIX)/lib/omerta/vmlinuz
	$(Q)install -D -m 0644 $(GUEST_IMAGE) $(DESTDIR)$(PREFIX)/lib/omerta/base.cpio.gz
	$(Q)install -D -m 0644 $(GUEST_IMAGE).sha256 $(DESTDIR)$(PREFIX)/lib/omerta/base.cpio.gz.sha256
	$(Q)install -D -m 0644 $(DEBIAN_IMAGE) $(DESTDIR)$(PREFIX)/lib/omerta/debian.sqfs
	$(Q)install -D -m 0644 $(DEBIAN_IMAGE).sha256 $(DESTDIR)$(PREFIX)/lib/omerta/debian.sqfs.sha256
	$(Q)install -D -m 0644 $(BUILD)/man/omerta-loader.8 $(DESTDIR)$(PREFIX)/share/man/man8/omerta-loader.8
	$(Q)install -D -m 0644 $(BUILD)/man/omerta.1 $(DESTDIR)$(PREFIX)/share/man/man1/omerta.1
	$(Q)install -D -m 0644 dist/grafana-omerta.json $(DESTDIR)$(PREFIX)/share/omerta/grafana-omerta.json
	$(Q)install -D -m 0644 dist/omerta-alerts.yml $(DESTDIR)$(PREFIX)/share/omerta/prometheus/omerta-alerts.yml
	$(Q)sed 's|/usr/local|$(PREFIX)|g' dist/omerta-loader.service | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(UNITDIR)/omerta-loader.service
	$(Q)install -D -m 0644 dist/omerta.ini.example $(DESTDIR)/etc/omerta/omerta.ini.example
	$(Q)install -D -m 0644 dist/omerta-loader.logrotate $(DESTDIR)/etc/logrotate.d/omerta-loader
	$(Q)[ -n "$(DESTDIR)" ] || install -d -m 0750 /var/log/omerta
	$(Q)[ -n "$(DESTDIR)" ] || ./scripts/setup-host.sh

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(PREFIX)/bin/omerta-loader $(DESTDIR)$(PREFIX)/bin/omerta \
		$(DESTDIR)$(PREFIX)/share/man/man8/omerta-loader.8 $(DESTDIR)$(PREFIX)/share/man/man1/omerta.1 \
		$(DESTDIR)$(UNITDIR)/omerta-loader.service $(DESTDIR)/etc/omerta/omerta.ini.example \
		$(DESTDIR)/etc/logrotate.d/omerta-loader
	$(Q)rm -rf $(DESTDIR)$(PREFIX)/lib/omerta $(DESTDIR)$(PREFIX)/share/omerta

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./bench/run.sh

# The Debian packages (debian/), built from this tree as root (the guest
# images need it): build/deb/*.deb. dpkg-buildpackage writes them beside the
# tree; they are moved here.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
DEB_ARCH = $(shell dpkg-architecture -qDEB_HOST_ARCH)
deb: deps
	$(call msg,DEB,$(BUILD)/deb)
	$(Q)dpkg-buildpackage -b -us -uc
	$(Q)mkdir -p $(BUILD)/deb && cd .. && mv -f omerta_$(DEB_VERSION)_$(DEB_ARCH).buildinfo \
		omerta_$(DEB_VERSION)_$(DEB_ARCH).changes omerta_$(DEB_VERSION)_$(DEB_ARCH).deb \
		omerta-loader_$(DEB_VERSION)_$(DEB_ARCH).deb omerta*-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb \
		$(CURDIR)/$(BUILD)/deb/
	$(Q)lintian --fail-on error $(BUILD)/deb/omerta_$(DEB_VERSION)_$(DEB_ARCH).changes

# Installs the packages into a clean Debian 12 root and purges them
# (tests/package/test-package.sh).
test-package: deb
	$(Q)tests/package/test-package.sh $(BUILD)/deb

# 'make clean' keeps the guest images and what they were built from
# ($(BUILD)/guest: downloads, rebuilt only when their inputs change), which
# the package build (dh_auto_clean) needs; 'make distclean' removes all.
clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)find $(BUILD) -mindepth 1 -maxdepth 1 ! -name guest -exec rm -rf {} + 2>/dev/null || true

distclean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
