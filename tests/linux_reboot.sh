#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Linux guest reboots: the guest's reset request (with acpi=off, Linux's
# `reboot -f` pulses the i8042 reset line, command 0xFE on port 0x64) makes
# vireod rebuild the VM from its config -- fresh RAM, the kernel and the
# initramfs loaded again, new devices -- and boot it again, keeping the
# console.  As in linux_console.sh, the test VM's Debian kernel and the
# busybox initramfs boot with 1 vCPU to a shell on ttyS0.  Checks:
#   - `vireod --run --console-stdin`: the init marker is seen, a typed
#     `reboot -f` brings the marker a second time (the guest is back in its
#     /init), vireod logs the reboot, a command typed after the reboot runs
#     (the new UART takes input), and a typed `poweroff -f` ends vireod with
#     status 0;
# (vm-list's "reboots" count and the socket path are covered on the fake
# device by daemon/tests/test_lifecycle.sh: two boots here already take
# most of the runner's 120 s.)
# Run as root from the repository root.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh
. tests/lib/linux_guest.sh

TIMEOUT=400		# vireod --timeout: the whole run, two boots

t0=$(date +%s)
linux_guest_setup
linux_guest_prepare linux-reboot 1

markers() { console | grep -acE -- "$LINUX_MARKER"; }
progress() { tap_diag "$(($(date +%s) - t0)) s: $*"; }

tap_plan 5
kmsg_mark linux_reboot
progress "initramfs built"

# 1. Boot to the shell.
linux_guest_boot_to_shell $TIMEOUT
progress "first init marker"
# The shell prints its prompt once it has started; give it a moment.
sleep 1

# 2. reboot -f: the guest comes back to its /init.
type_line 'reboot -f'
wait_count $BOOT_WAIT "$LINUX_MARKER" 2
st=$?
tap_result "after a typed reboot -f the init marker appears a second time ($(markers) seen)" $st
progress "second init marker"
[ $st = 0 ] || console_tail
grep -q 'vm linux-reboot: rebooted (reboot 1' "$work/err"
tap_result "vireod logs the reboot and keeps running" $?
sleep 1

# 3. The rebooted guest takes console input.
type_line 'echo after-$((3*4))'
wait_count $CMD_WAIT '^after-12$' 1
tap_result "a command typed after the reboot runs (after-12 printed)" $?

# 4. poweroff -f ends the VM cleanly.
type_line 'poweroff -f'
exec 3>&-
linux_guest_wait_exit $CMD_WAIT
[ "$rc" = 0 ]
tap_result "poweroff -f after the reboot: vireod exits with status 0 (status $rc)" $?

[ $TAP_FAILED = 1 ] && linux_guest_report
tap_done
