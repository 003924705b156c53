# SPDX-License-Identifier: GPL-2.0
#
# Vireo top-level Makefile.
#
#   make [all]          build kmod/vireo.ko, daemon/ (vireod, vireoctl) and tests/
#   make deps           install the Debian packages the build and the test VM need
#   make check [T=name] deps, all, then the kselftest suite (or one test) on
#                       both backends: SVM in the nested QEMU test VM (all
#                       tests), then VMX under Bochs (its CI subset); prints
#                       "N passed, N failed, N skipped" for SVM, then
#                       "vmx: N passed, N failed, N skipped"; fails if either
#                       run failed
#   make check-svm [T=name]
#                       only the SVM run of make check
#   make demo           deps, all, then the demo in the test VM, on this terminal
#   make vm-shell       an interactive shell in the test VM (debugging)
#   make bench          deps, all, then the boot-time benchmark in the test VM:
#                       Vireo against QEMU+KVM (scripts/bench-boot.sh)
#   make check-vmx [T="a b"]
#                       deps, all, then the VMX backend's CI subset (or the
#                       tests named in T) in a Bochs VM (scripts/bochs-run.sh);
#                       prints "vmx: N passed, N failed, N skipped"
#   make check-vmx-full the whole VMX-capable suite under Bochs, Linux-guest
#                       boots included: the long run (an hour or more)
#   make clean
#
# KVER is the kernel the module is built for and the test VM boots; KDIR its
# build tree. By default the newest installed kernel that has headers (and a
# /boot image), never `uname -r`: the machines run a kernel without headers.
# Set either on the command line to override. See docs/testing.md.

ifeq ($(strip $(KVER)),)
  ifneq ($(filter /lib/modules/%/build,$(KDIR)),)
    KVER := $(patsubst /lib/modules/%/build,%,$(KDIR))
  else
    KVER := $(shell scripts/kver.sh)
  endif
endif
ifeq ($(strip $(KDIR)),)
  ifneq ($(strip $(KVER)),)
    KDIR := /lib/modules/$(KVER)/build
  endif
endif
export KVER KDIR

# The test VM's arguments: a test name and a time-out (seconds; also
# VIREO_VM_TIMEOUT in the environment).
T ?=
TIMEOUT ?=
VM_ARGS = $(if $(T),--test $(T)) $(if $(TIMEOUT),--timeout $(TIMEOUT))

.PHONY: all module daemon tests deps check check-svm demo vm-shell bench check-vmx check-vmx-full clean

# One part after the other: the parts are parallel inside, and a tests build
# may use what the daemon build produced.
all:
	$(MAKE) module
	$(MAKE) -C daemon all test-build
	$(MAKE) -C tests

module:
	@test -f "$(KDIR)/Makefile" || { \
		echo "no kernel build tree at '$(KDIR)' (KVER='$(KVER)'); run 'make deps'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

daemon:
	$(MAKE) -C daemon

tests:
	$(MAKE) -C tests

deps:
	scripts/install-deps.sh

# deps can install the kernel headers, so the build runs in a fresh make that
# looks for them again.
check:
	scripts/install-deps.sh
	$(MAKE) all
	rc=0; \
	scripts/vm-run.sh --mode check $(VM_ARGS) || rc=1; \
	scripts/bochs-run.sh --subset ci $(BOCHS_ARGS) || rc=1; \
	exit $$rc

check-svm:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/vm-run.sh --mode check $(VM_ARGS)

demo:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/vm-run.sh --mode demo $(VM_ARGS)

vm-shell:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/vm-run.sh --mode shell $(VM_ARGS)

bench:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/vm-run.sh --mode bench $(VM_ARGS)

# The VMX backend under Bochs (docs/testing.md). T and TIMEOUT as for check.
BOCHS_ARGS = $(if $(T),--tests "$(T)") $(if $(TIMEOUT),--timeout $(TIMEOUT))

check-vmx:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/bochs-run.sh --subset ci $(BOCHS_ARGS)

check-vmx-full:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/bochs-run.sh --subset full $(BOCHS_ARGS)

clean:
	if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	if [ -f daemon/Makefile ]; then $(MAKE) -C daemon clean; fi
	if [ -f tests/Makefile ]; then $(MAKE) -C tests clean; fi
	rm -rf build
