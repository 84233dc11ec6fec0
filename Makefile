# SPDX-License-Identifier: GPL-2.0
#
# ntvm build wrapper.  Kbuild itself reads ./Kbuild, never this file.
# `make help` lists the targets and variables.
#
# KVER selects the kernel: a full release (6.12.117+deb12-amd64) or a short
# series (6.1, 6.12) meaning the newest installed Debian kernel of it.  The
# default is the running kernel; when its headers are not installed the
# module is built for the newest installed Debian headers, and make says so.

SHELL := /bin/bash
TOP := $(CURDIR)
VERSION := $(shell cat $(TOP)/VERSION)

RUNNING := $(shell uname -r)
ifeq ($(origin KVER),undefined)
KVER := $(shell $(TOP)/selftests/kernels default 2>/dev/null)
KVER_NOTE := $(if $(filter-out $(RUNNING),$(KVER)),no headers for the running kernel $(RUNNING) (apt install linux-headers-$(RUNNING)); building for $(or $(KVER),nothing) instead: give KVER= to choose)
endif
override KVER := $(shell $(TOP)/selftests/kernels resolve $(KVER) 2>/dev/null || echo $(KVER))
KDIR ?= /lib/modules/$(KVER)/build

# Installation directories (GNU names, upper case as in liburing/libfuse).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/ntvm
MODDIR ?= /lib/modules/$(KVER)/extra
UDEVRULESDIR ?= /lib/udev/rules.d
MODULESLOADDIR ?= /usr/lib/modules-load.d
DESTDIR ?=
LIBVARS = PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR) \
	PKGCONFIGDIR=$(PKGCONFIGDIR) DESTDIR=$(DESTDIR)

# Programs installed by install-tools (ntvm-tools).
TOOLS := userlib/tools/ntvm-maps
MANPAGES := $(wildcard Documentation/man/*.[1-8])

DKMS_SRC := /usr/src/ntvm-$(VERSION)
# What DKMS (and ntvm-dkms) needs to build the module.
DKMS_FILES := Kbuild VERSION dkms.conf module uapi LICENSES

.PHONY: all module lib selftests tools check host-build-check demo bench \
	load unload install install-lib install-module install-dist \
	install-man install-tools uninstall dkms-install dkms-uninstall deb \
	lint help clean module-clean distclean

all: module lib tools selftests

# The objects of one kernel are kept apart from the other's by cleaning
# when KVER changes; the finished module is also kept in build/$(KVER)/.
module:
	@$(if $(KVER_NOTE),echo "make: note: $(KVER_NOTE)" >&2)
	@test -n "$(KVER)" -a -d "$(KDIR)" || \
		{ echo "no kernel headers for '$(KVER)' (KDIR=$(KDIR)): apt install linux-headers-$(RUNNING), or give KVER=" >&2; exit 1; }
	@if [ "$$(cat module/.kver 2>/dev/null)" != "$(KVER)" ]; then \
		$(MAKE) -s module-clean; \
		echo "$(KVER)" > module/.kver; \
	fi
	$(MAKE) -C $(KDIR) M=$(TOP) $(KBUILD_EXTRA) modules
	@mkdir -p build/$(KVER) && cp module/ntvm.ko build/$(KVER)/ntvm.ko

lib:
	$(MAKE) -C userlib $(LIBVARS)

tools: lib $(TOOLS)

# ntvm-maps(1) reads debugfs, not /dev/ntvm: no library.
userlib/tools/ntvm-maps: userlib/tools/ntvm-maps.c
	$(CC) $(CPPFLAGS) -std=gnu11 -Wall -Wextra $(or $(CFLAGS),-O2 -g) $(LDFLAGS) -o $@ $< -lm

selftests: lib
	$(MAKE) -C selftests

check:
	selftests/check

# The README's build and link commands, the headers next to Windows ones,
# the installed tree and the man pages; no VM (part of make check).
host-build-check: lib
	selftests/host-build-check

demo:
	selftests/demo-run

bench:
	selftests/bench-run

load: module
	@test -z "$(KVER_NOTE)" || { echo "make load: $(KVER_NOTE)" >&2; exit 1; }
	@if lsmod | grep -q '^ntvm '; then sudo rmmod ntvm; fi
	sudo insmod module/ntvm.ko

unload:
	sudo rmmod ntvm

install: install-module install-lib install-tools install-dist install-man

install-lib: lib
	$(MAKE) -C userlib install $(LIBVARS)
	$(if $(DESTDIR),@:,-ldconfig)

install-tools: tools
	$(if $(TOOLS),install -d $(DESTDIR)$(BINDIR) && install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)/,@:)

# depmod makes `modprobe ntvm` work; a package runs it in its postinst.
install-module: module
	install -D -m 0644 module/ntvm.ko $(DESTDIR)$(MODDIR)/ntvm.ko
	$(if $(DESTDIR),@:,depmod -a $(KVER))

# /dev/ntvm mode 0666 (as designed: it acts on the caller's memory only)
# and the module loaded at boot.
install-dist:
	install -D -m 0644 dist/60-ntvm.rules $(DESTDIR)$(UDEVRULESDIR)/60-ntvm.rules
	install -D -m 0644 dist/ntvm.conf $(DESTDIR)$(MODULESLOADDIR)/ntvm.conf

# The pages, and their other names (Documentation/man/links) as symlinks.
install-man:
	@for p in $(MANPAGES); do \
		s=$${p##*.}; \
		echo install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}; \
		install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/} || exit; \
	done
	@grep -v '^#' Documentation/man/links | while read -r a t; do \
		ln -sf $$t $(DESTDIR)$(MANDIR)/man$${a##*.}/$$a || exit; \
	done

uninstall:
	$(MAKE) -C userlib uninstall $(LIBVARS)
	rm -f $(DESTDIR)$(MODDIR)/ntvm.ko $(DESTDIR)$(UDEVRULESDIR)/60-ntvm.rules \
		$(DESTDIR)$(MODULESLOADDIR)/ntvm.conf \
		$(foreach t,$(TOOLS),$(DESTDIR)$(BINDIR)/$(notdir $(t))) \
		$(foreach p,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	grep -v '^#' Documentation/man/links | while read -r a t; do \
		rm -f $(DESTDIR)$(MANDIR)/man$${a##*.}/$$a; done
	$(if $(DESTDIR),@:,depmod -a $(KVER))

# DKMS builds, signs (with its own MOK key where Secure Boot needs it) and
# installs the module for every kernel with headers, now and on every
# kernel upgrade (AUTOINSTALL).
dkms-install:
	@command -v dkms >/dev/null || { echo "dkms is not installed (apt install dkms)" >&2; exit 1; }
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -a $(filter-out dkms.conf,$(DKMS_FILES)) $(DKMS_SRC)/
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf
	find $(DKMS_SRC) \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' -o -name '*.mod*' -o -name .kver \) -delete
	dkms add -m ntvm -v $(VERSION)
	@# Every kernel with headers now; AUTOINSTALL does the later ones.
	@for k in $$(ls /lib/modules); do \
		[ -d /lib/modules/$$k/build ] || continue; \
		echo "dkms install -m ntvm -v $(VERSION) -k $$k"; \
		dkms install -m ntvm -v $(VERSION) -k $$k || [ $$? = 77 ] || exit; \
	done
	$(MAKE) install-dist

dkms-uninstall:
	-dkms remove -m ntvm -v $(VERSION) --all
	rm -rf $(DKMS_SRC)
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-ntvm.rules $(DESTDIR)$(MODULESLOADDIR)/ntvm.conf

# Debian packages (ntvm-dkms, libntvm0, libntvm-dev) into build/deb/, built
# from a copy of the tree as it is (committed or not).
deb:
	@command -v dpkg-buildpackage >/dev/null || { echo "apt install dpkg-dev debhelper dkms" >&2; exit 1; }
	rm -rf build/deb
	mkdir -p build/deb/ntvm-$(VERSION)
	tar -C $(TOP) --exclude=./build --exclude=./.git --exclude-vcs \
		--exclude='*.o' --exclude='*.ko' --exclude='*.a' --exclude='*.so*' \
		--exclude='*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
		-cf - . | tar -C build/deb/ntvm-$(VERSION) -xf -
	cd build/deb/ntvm-$(VERSION) && $(MAKE) -s clean >/dev/null 2>&1; \
		cd $(TOP)/build/deb/ntvm-$(VERSION) && dpkg-buildpackage -b -us -uc
	@ls -1 build/deb/*.deb

lint:
	selftests/lint

help:
	@echo 'ntvm $(VERSION): make [TARGET]... [VAR=value]...'
	@echo
	@echo 'Build:'
	@echo '  all (default)     module, libntvm and the selftests'
	@echo '  module            module/ntvm.ko for KVER (also kept in build/KVER/)'
	@echo '  lib               userlib/libntvm.a, libntvm.so, ntvm.pc'
	@echo '  tools             userlib/tools/ntvm-maps (ntvm-maps(1))'
	@echo '  selftests         the static test programs, demo and benchmark'
	@echo 'Test (nothing is loaded into the running kernel):'
	@echo '  check             install what is missing, then every test: host'
	@echo '                    unit tests, build/link/install/man checks, and'
	@echo '                    each kernel in QEMU as root and as nobody'
	@echo '  host-build-check  only the README build/link commands, Windows'
	@echo '                    headers, make install, packaging and man pages'
	@echo '  lint              checkpatch --strict, sparse and W=1 (with -Werror)'
	@echo '  demo              boot a VM with ntvm loaded and run the demo'
	@echo '  bench             the benchmark in a VM of each kernel, under'
	@echo '                    -icount (8 to 12 minutes; README, Performance)'
	@echo 'Install (root; DESTDIR= for a staging tree):'
	@echo '  install           install-module install-lib install-tools'
	@echo '                    install-dist install-man'
	@echo '  install-module    ntvm.ko into MODDIR, then depmod (not with DESTDIR)'
	@echo '  install-lib       headers (INCLUDEDIR/ntvm.h, INCLUDEDIR/ntvm/),'
	@echo '                    libraries and ntvm.pc'
	@echo '  install-tools     ntvm-maps into BINDIR'
	@echo '  install-dist      udev rule (/dev/ntvm mode 0666), modules-load.d'
	@echo '  install-man       man pages into MANDIR'
	@echo '  uninstall         remove what install installed'
	@echo '  dkms-install      the module through DKMS for every kernel with'
	@echo '                    headers, now and after kernel upgrades'
	@echo '  dkms-uninstall    remove it from DKMS'
	@echo '  deb               Debian packages into build/deb/'
	@echo '  load, unload      insmod/rmmod on this machine (real machines only)'
	@echo '  clean, distclean  remove build products (distclean: also build/)'
	@echo
	@echo 'Variables: KVER=$(KVER) KDIR=$(KDIR)'
	@echo '  PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR)'
	@echo '  BINDIR=$(BINDIR) MANDIR=$(MANDIR) MODDIR=$(MODDIR)'
	@echo '  UDEVRULESDIR=$(UDEVRULESDIR) MODULESLOADDIR=$(MODULESLOADDIR)'
	@echo '  DESTDIR, CC, CFLAGS, CPPFLAGS, LDFLAGS; WERROR=1 adds -Werror'

# Not kbuild's clean: that would also delete the modules kept in build/.
module-clean:
	find module . -maxdepth 1 \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.a' \) -delete
	find module/core \( -name '*.o' -o -name '.*.cmd' \) -delete
	rm -f module/.kver Module.symvers modules.order module/modules.order

clean: module-clean
	rm -f $(TOOLS)
	$(MAKE) -C userlib clean
	$(MAKE) -C selftests clean

distclean: clean
	rm -rf build

# ---- stress and check-debug (selftests/stress-run, selftests/check-debug) ----
#   make stress SECS=N   the fuzzer, stress tester, fault injection and NT
#                        model for about N s each on every supported kernel,
#                        as root and as nobody (NTVM_FUZZ_SEED replays)
#   make check-debug     the suite on a debug 6.1 kernel (KASAN, lockdep,
#                        kmemleak, UBSAN, fault injection), built once from
#                        linux-source-6.1 and cached; not part of make check
#   make check-debug SERIES=6.12
#                        the same on a debug 6.12 kernel (linux-source-6.12)
SECS ?= 60
SERIES ?= 6.1

.PHONY: stress check-debug debug-kernel

stress:
	selftests/stress-run $(SECS)

check-debug:
	NTVM_DEBUG_SERIES=$(SERIES) selftests/check-debug

debug-kernel:
	NTVM_DEBUG_SERIES=$(SERIES) selftests/debug-kernel build
