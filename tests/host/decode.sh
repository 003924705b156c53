#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side tests of kmod/decode.c, the MMIO instruction decoder, compiled
# in user space (tests/host/Makefile): the unit test, then the fuzz target
# over the unit test's vectors and VIREO_DECODE_REPLAY_COUNT (200000)
# pseudo-random inputs from VIREO_DECODE_SEED (1).  Needs neither the
# module nor root; the binaries are built by `make -C tests`.

cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh

bin=tests/host/build
count=${VIREO_DECODE_REPLAY_COUNT:-200000}
seed=${VIREO_DECODE_SEED:-1}

tap_plan 2
if [ ! -x $bin/decode_test ] || [ ! -x $bin/decode_replay ]; then
	tap_not_ok "decode_test # $bin not built (make -C tests)"
	tap_not_ok "decode_replay # $bin not built (make -C tests)"
	tap_done
fi

out=$(mktemp) corpus=$(mktemp -d)
trap 'rm -rf "$out" "$corpus"' EXIT

$bin/decode_test >"$out" 2>&1
rc=$?
tap_diag_file "$out"
tap_result "decode_test" $rc

rc=0
$bin/decode_test --write-corpus "$corpus" >"$out" 2>&1 || rc=$?
# tests/host/corpus/: inputs that once failed, kept as regression tests.
regress=()
[ -d tests/host/corpus ] && regress=(tests/host/corpus)
[ $rc -ne 0 ] || $bin/decode_replay -n "$count" -s "$seed" "$corpus" "${regress[@]}" \
	>>"$out" 2>&1 || rc=$?
tap_diag_file "$out"
tap_result "decode_replay: vectors and $count random inputs" $rc

tap_done
