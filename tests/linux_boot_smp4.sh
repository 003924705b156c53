#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# linux_boot.sh with four vCPUs, twice as many vCPU threads as the test VM
# has CPUs: the guest starts three APs, and its TLB shootdowns, text
# patching (INT3 + IPIs) and timers run while vCPU threads are preempted and
# migrate between host CPUs.  It must count 4 CPUs and power off.
VIREO_GUEST_VCPUS=4 exec "$(dirname "$0")/linux_boot.sh"
