/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VIREOCTL_H
#define VIREOCTL_H

#include <stdbool.h>

/* `vireoctl vms`: list VMs from the module over generic netlink. */
int vireoctl_vms(bool json_output);

#endif
