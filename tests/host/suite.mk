# SPDX-License-Identifier: GPL-2.0
#
# Included by tests/Makefile (one line there): builds tests/host/ with the
# other tests and registers its shell test, tests/host/decode.sh, which
# run_tests.sh runs as "host/decode".  Paths are relative to tests/.

SH_TESTS += host/decode

all: host-tests

host-tests:
	$(MAKE) -C host all

$(BUILD)/tests.list: host/suite.mk

clean: host-clean
distclean: host-clean

host-clean:
	$(MAKE) -C host clean

.PHONY: host-tests host-clean
