#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# linux_boot.sh with two vCPUs: the guest kernel starts its second CPU with
# INIT-SIPI-SIPI through the in-kernel local APIC and must count 2 CPUs.
VIREO_GUEST_VCPUS=2 exec "$(dirname "$0")/linux_boot.sh"
