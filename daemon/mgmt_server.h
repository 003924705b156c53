/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The management socket: a UNIX stream socket, mode 0600, one thread (the
 * main one) serving up to MGMT_MAX_CLIENTS connections through poll().
 */
#ifndef VIREOD_MGMT_SERVER_H
#define VIREOD_MGMT_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <sys/un.h>

#include "mgmt.h"

#define MGMT_DEFAULT_SOCKET	"/run/vireo/vireod.sock"
#define MGMT_MAX_CLIENTS	16
/* A client that does not read its answers is dropped after this long. */
#define MGMT_SEND_TIMEOUT_S	2

struct daemon;
struct errinfo;

struct mgmt_client {
	int fd;			/* -1: slot free */
	struct mgmt_conn conn;
};

struct mgmt_server {
	struct daemon *daemon;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct mgmt_client clients[MGMT_MAX_CLIENTS];
};

int mgmt_server_open(struct mgmt_server *s, struct daemon *d, const char *path,
		     struct errinfo *e);
void mgmt_server_close(struct mgmt_server *s);
/* Fills pollfds for the listening socket and the clients; returns how many. */
size_t mgmt_server_pollfds(struct mgmt_server *s, struct pollfd *fds);
/* Handles the events poll() reported in the fds from mgmt_server_pollfds. */
void mgmt_server_handle(struct mgmt_server *s, const struct pollfd *fds, size_t n);

#define MGMT_SERVER_MAX_POLLFDS	(1 + MGMT_MAX_CLIENTS)

#endif
