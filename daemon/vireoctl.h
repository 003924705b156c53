/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VIREOCTL_H
#define VIREOCTL_H

#include <stdbool.h>

/* CLOCK_MONOTONIC in milliseconds, for --timeout deadlines. */
long vireoctl_now_ms(void);

/* `vireoctl vms`: list VMs from the module over generic netlink. */
int vireoctl_vms(bool json_output);

struct vireoctl_events_opts {
	unsigned int count;	/* stop after this many events; 0: never */
	unsigned int timeout_s;	/* fail after this long; 0: never */
	unsigned int vm_id;	/* only this VM's events; 0: all */
	int type;		/* only this enum vireo_nl_event; 0: all */
};

/* The enum vireo_nl_event value of "created", "destroyed", ...; -1 if none. */
int vireoctl_event_type(const char *name);
/*
 * `vireoctl events`: print the module's VM events as they come (one JSON
 * object per line with --json).  0 when COUNT were printed or a SIGINT or
 * SIGTERM ended the wait, 1 on a time-out or a netlink failure.
 */
int vireoctl_events(bool json_output, const struct vireoctl_events_opts *opts);

#endif
