# SPDX-License-Identifier: GPL-2.0
#
# ntvm build wrapper.  Kbuild itself reads ./Kbuild, never this file.
#
#   make                 module (for KVER), libntvm and the selftests
#   make check           install what is missing, build for every supported
#                        kernel and run the whole suite in QEMU, one VM each
#   make demo            boot a VM with ntvm loaded and run the demo
#   make load            insmod the module on this machine (real machines only)
#   make install         headers, libraries, pkg-config file and the module
#   make lint            checkpatch --strict, sparse (C=1) and W=1 builds
#
# KVER selects the kernel: a full release (6.12.117+deb12-amd64) or a short
# series (6.1, 6.12) meaning the newest installed Debian kernel of it.  The
# default is the running kernel when its headers are installed, else the
# newest installed Debian headers.

SHELL := /bin/bash
TOP := $(CURDIR)

KVER ?= $(shell $(TOP)/selftests/kernels default)
override KVER := $(shell $(TOP)/selftests/kernels resolve $(KVER))
KDIR ?= /lib/modules/$(KVER)/build

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all module lib selftests check demo bench load unload install \
	lint clean module-clean distclean

all: module lib selftests

# The objects of one kernel are kept apart from the other's by cleaning
# when KVER changes; the finished module is also kept in build/$(KVER)/.
module:
	@test -n "$(KVER)" -a -d "$(KDIR)" || \
		{ echo "no kernel headers for '$(KVER)' (KDIR=$(KDIR))" >&2; exit 1; }
	@if [ "$$(cat module/.kver 2>/dev/null)" != "$(KVER)" ]; then \
		$(MAKE) -s module-clean; \
		echo "$(KVER)" > module/.kver; \
	fi
	$(MAKE) -C $(KDIR) M=$(TOP) $(KBUILD_EXTRA) modules
	@mkdir -p build/$(KVER) && cp module/ntvm.ko build/$(KVER)/ntvm.ko

lib:
	$(MAKE) -C userlib PREFIX=$(PREFIX)

selftests: lib
	$(MAKE) -C selftests

check:
	selftests/check

demo:
	selftests/demo-run

bench:
	selftests/bench-run

load: module
	@if lsmod | grep -q '^ntvm '; then sudo rmmod ntvm; fi
	sudo insmod module/ntvm.ko

unload:
	sudo rmmod ntvm

install: module lib
	$(MAKE) -C userlib install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	install -D -m 0644 module/ntvm.ko \
		$(DESTDIR)/lib/modules/$(KVER)/extra/ntvm.ko
	install -D -m 0644 uapi/linux/ntvm.h $(DESTDIR)$(PREFIX)/include/linux/ntvm.h

lint:
	selftests/lint

# Not kbuild's clean: that would also delete the modules kept in build/.
module-clean:
	find module . -maxdepth 1 \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.a' \) -delete
	find module/core \( -name '*.o' -o -name '.*.cmd' \) -delete
	rm -f module/.kver Module.symvers modules.order module/modules.order

clean: module-clean
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
SECS ?= 60

.PHONY: stress check-debug debug-kernel

stress:
	selftests/stress-run $(SECS)

check-debug:
	selftests/check-debug

debug-kernel:
	selftests/debug-kernel build
