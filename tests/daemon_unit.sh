#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The daemon's own unit and integration tests (daemon/tests/: JSON protocol,
# devices, boot tables, socket lifecycle against a stand-in device, guests
# under QEMU TCG), run inside the test VM like every other test.  They need
# neither the module nor root; the binaries are built by `make all`.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

[ -x daemon/tests/test_protocol ] || tap_skip_all "daemon tests not built (make -C daemon test-build)"
list=$(make -s -C daemon test-list) || exit 1
# shellcheck disable=SC2086  # the list is words
exec sh daemon/tests/run.sh $list
