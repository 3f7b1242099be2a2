# ferrite: developer entry points. The module itself is described in Kbuild.
#
#   make              build ferrite.ko (against the cached test kernel, built on first use)
#   make KDIR=...     build ferrite.ko against your own Rust-enabled 6.12 kernel build
#   make tools        build the userspace tools (mkfs.ferrite, fsck.ferrite, ferrite-dump)
#   make demo         set everything up, boot the VM and show ferrite working
#   make check        host tests, module build, clippy, rustfmt, VM tests
#   make check-full   everything, including the slow VM tests
#   make trace-module the trace build of ferrite.ko, for the crash-state explorer
#                     (build/trace-module/ferrite.ko; see docs/PERSISTENCE.md)
#   make shell        an interactive shell in the VM
#   make bench        ferrite, ext4 -o dax and xfs -o dax benchmarks side by side in one VM boot,
#                     on the benchmark kernel (built on first use: a second kernel)
#   make install      install what `make` and `make tools` built: ferrite.ko for KDIR's kernel
#                     (modules_install, then depmod), the tools as mkfs.ferrite, fsck.ferrite,
#                     ferrite-dump and ferrite-tune with their bash completions, and the man
#                     pages; DESTDIR, PREFIX (/usr/local), SBINDIR, MANDIR, BASHCOMPDIR respected. It builds nothing, so that it can
#                     run as root after an unprivileged build.
#   make uninstall    remove what make install installed
#   make dkms-source  the module's sources and dkms.conf in $(DESTDIR)/usr/src/ferrite-<version>,
#                     for `dkms add ferrite/<version>` (dkms.conf says more)
#   make clippy | rustfmt-check | kernel | deps | clean

FERRITE_CACHE ?= $(HOME)/.cache/ferrite
export FERRITE_CACHE

# The kernel's Rust toolchain: every module must be built by the rustc that built the kernel.
KRUSTC ?= /usr/bin/rustc
KRUSTDOC ?= /usr/bin/rustdoc
KCLIPPY ?= /usr/bin/clippy-driver
KRUSTFMT ?= /usr/bin/rustfmt
# bindgen: the one scripts/deps installs in the cache, else the one on PATH (a DKMS build on a
# machine without the cache).
BINDGEN ?= $(or $(wildcard $(FERRITE_CACHE)/bindgen-0.70.1/bin/bindgen),bindgen)

# With no KDIR, use (and if needed build) ferrite's cached test kernel.
kdir = $(if $(KDIR),$(KDIR),$$(scripts/build-kernel))
kmake = kdir=$(kdir) && PATH=/usr/bin:/bin:/usr/sbin:/sbin $(MAKE) -C "$$kdir" M=$(CURDIR) \
	$(kbuild_flags)

.PHONY: all module trace-module bench-module tools deps kernel clippy rustfmt-check fmt check check-full demo shell vm clean bench install install-module install-tools uninstall dkms-source module-clean

all: module

module:
	+@$(kmake) modules

# The trace and benchmark builds compile a copy of the module's sources in a directory of their
# own, so that builds never share objects. The copy's Rust sources are removed first, so that a
# file moved or deleted in the tree (a module that became a directory) is not left behind in it.
# $(call copy_sources,DIR)
define copy_sources
	@mkdir -p $(1)
	@rm -rf $(addprefix $(1)/,fs dax iomap crates)
	@find $(1)/src -name '*.rs' ! -name bindings_generated.rs -delete 2>/dev/null || true
	@tar -c --exclude='*.o' --exclude='.*.cmd' --exclude='*.ko' --exclude='*.mod*' \
		--exclude=bindings_generated.rs Kbuild src fs dax iomap crates/ferrite-format/src \
		| tar -x -C $(1)
endef

# The toolchain of a module build (the kernel's own rustc, bindgen, clippy and rustfmt).
kbuild_flags = RUSTC=$(KRUSTC) HOSTRUSTC=$(KRUSTC) RUSTDOC=$(KRUSTDOC) BINDGEN=$(BINDGEN) \
	CLIPPY_DRIVER=$(KCLIPPY) RUSTFMT=$(KRUSTFMT)

TRACE_DIR := $(CURDIR)/build/trace-module
trace-module:
	$(call copy_sources,$(TRACE_DIR))
	+@kdir=$(kdir) && PATH=/usr/bin:/bin:/usr/sbin:/sbin $(MAKE) -C "$$kdir" M=$(TRACE_DIR) \
		$(kbuild_flags) FERRITE_TRACE=1 $(TRACE_MAKEFLAGS) modules

tools:
	cargo build --release --workspace --bins

# --- installation ---
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Installed name : cargo's binary name (cargo cannot name a binary mkfs.ferrite).
tool_names := mkfs.ferrite:mkfs-ferrite fsck.ferrite:fsck-ferrite ferrite-dump:ferrite-dump \
	ferrite-tune:ferrite-tune
man_pages := $(wildcard man/*.[0-9])
# The module goes to /lib/modules/<release>/extra (the directory distributions use for modules
# built outside the kernel's tree); depmod then indexes it (modules_install runs depmod only when
# the kernel tree has a System.map, which a distribution's headers package does not).
krelease = $$(PATH=/usr/bin:/bin:/usr/sbin:/sbin $(MAKE) -s -C "$$kdir" kernelrelease)

install: install-module install-tools

install-module:
	@test -f ferrite.ko || { echo "ferrite.ko is not built: run make first"; exit 1; }
	+@kdir=$(kdir) && PATH=/usr/bin:/bin:/usr/sbin:/sbin $(MAKE) -C "$$kdir" M=$(CURDIR) \
		$(kbuild_flags) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra modules_install && \
		rel=$(krelease) && depmod $(if $(DESTDIR),-b "$(DESTDIR)") "$$rel" && \
		echo "  DEPMOD  $(DESTDIR)/lib/modules/$$rel"

install-tools:
	@for t in $(tool_names); do \
		test -x target/release/$${t#*:} || { echo "target/release/$${t#*:} is not built: run make tools first"; exit 1; }; \
		install -D -m 0755 target/release/$${t#*:} "$(DESTDIR)$(SBINDIR)/$${t%%:*}" || exit 1; \
		echo "  INSTALL $(DESTDIR)$(SBINDIR)/$${t%%:*}"; \
		mkdir -p "$(DESTDIR)$(BASHCOMPDIR)" && \
		target/release/$${t#*:} --bash-completion > "$(DESTDIR)$(BASHCOMPDIR)/$${t%%:*}" || exit 1; \
		echo "  INSTALL $(DESTDIR)$(BASHCOMPDIR)/$${t%%:*}"; \
	done
	@for m in $(man_pages); do \
		sec=$${m##*.}; \
		install -D -m 0644 $$m "$(DESTDIR)$(MANDIR)/man$$sec/$$(basename $$m)" || exit 1; \
		echo "  INSTALL $(DESTDIR)$(MANDIR)/man$$sec/$$(basename $$m)"; \
	done

# The sources a module build needs (what copy_sources copies, with the Makefile and dkms.conf).
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
dkms-source:
	@test -n "$(DKMS_VERSION)" || { echo "no PACKAGE_VERSION in dkms.conf"; exit 1; }
	$(call copy_sources,$(DESTDIR)/usr/src/ferrite-$(DKMS_VERSION))
	@install -m 0644 Makefile dkms.conf $(DESTDIR)/usr/src/ferrite-$(DKMS_VERSION)/
	@echo "  INSTALL $(DESTDIR)/usr/src/ferrite-$(DKMS_VERSION)"

# The module build's own files (DKMS's CLEAN); `make clean` also cleans the tools.
module-clean:
	+@$(kmake) clean
	rm -f src/bindings_generated.rs

uninstall:
	@kdir=$(kdir) && rel=$(krelease) && \
		rm -fv "$(DESTDIR)/lib/modules/$$rel/extra/ferrite.ko" && \
		if [ -z "$(DESTDIR)" ]; then depmod "$$rel"; \
		elif [ -d "$(DESTDIR)/lib/modules/$$rel" ]; then depmod -b "$(DESTDIR)" "$$rel"; fi
	@for t in $(tool_names); do \
		rm -fv "$(DESTDIR)$(SBINDIR)/$${t%%:*}" "$(DESTDIR)$(BASHCOMPDIR)/$${t%%:*}"; done
	@for m in $(man_pages); do rm -fv "$(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m)"; done

deps:
	scripts/deps

kernel:
	scripts/build-kernel

clippy:
	+@$(kmake) CLIPPY=1 modules
	+@$(MAKE) -s trace-module TRACE_MAKEFLAGS=CLIPPY=1
	cargo clippy --workspace --all-targets -- -D warnings

rustfmt-check:
	$(KRUSTFMT) --check --edition 2021 src/ferrite.rs
	cargo fmt --all --check

fmt:
	$(KRUSTFMT) --edition 2021 src/ferrite.rs
	cargo fmt --all

check:
	scripts/check

check-full:
	scripts/check --full

demo:
	scripts/demo

shell vm:
	scripts/vm shell

clean:
	+@if [ -n "$(KDIR)" ] || [ -d "$(FERRITE_CACHE)/kernel" ]; then $(kmake) clean; fi
	rm -f src/bindings_generated.rs
	cargo clean

# Benchmarks: ferrite, ext4 -o dax and xfs -o dax side by side in one VM boot, on the benchmark
# kernel (scripts/bench).
bench:
	scripts/bench

# ferrite.ko for the benchmark kernel (BENCH_KDIR), built from a copy of the sources as the trace
# build is, so that the two kernels' objects never mix.
BENCH_DIR := $(CURDIR)/build/bench-module
bench-module:
	@test -n "$(BENCH_KDIR)" || { echo "bench-module needs BENCH_KDIR (scripts/build-kernel --bench)"; exit 1; }
	$(call copy_sources,$(BENCH_DIR))
	+@PATH=/usr/bin:/bin:/usr/sbin:/sbin $(MAKE) -C "$(BENCH_KDIR)" M=$(BENCH_DIR) $(kbuild_flags) modules
