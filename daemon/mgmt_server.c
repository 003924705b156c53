// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon.h"
#include "errinfo.h"
#include "log.h"
#include "mgmt_server.h"

/* Refuses to steal the socket of a live daemon; removes a stale one. */
static int mgmt_socket_claim(const struct sockaddr_un *addr, struct errinfo *e)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0) {
		errinfo_set(e, ERR_GENERIC, "socket: %s", strerror(errno));
		return -1;
	}
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	if (live) {
		errinfo_set(e, ERR_GENERIC, "%s: another vireod is listening there",
			    addr->sun_path);
		return -1;
	}
	if (unlink(addr->sun_path) && errno != ENOENT) {
		errinfo_set(e, ERR_GENERIC, "cannot remove stale %s: %s", addr->sun_path,
			    strerror(errno));
		return -1;
	}
	return 0;
}

int mgmt_server_open(struct mgmt_server *s, struct daemon *d, const char *path,
		     struct errinfo *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[sizeof(addr.sun_path)];
	mode_t old_umask;
	int ret;

	memset(s, 0, sizeof(*s));
	s->daemon = d;
	s->listen_fd = -1;
	for (size_t i = 0; i < MGMT_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	if (!*path || strlen(path) >= sizeof(addr.sun_path)) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "socket path must be 1-%zu bytes",
			    sizeof(addr.sun_path) - 1);
		return -1;
	}
	strcpy(addr.sun_path, path);
	strcpy(dir, path);
	/* Create the socket's directory (one level, e.g. /run/vireo). */
	if (mkdir(dirname(dir), 0755) && errno != EEXIST) {
		errinfo_set(e, ERR_GENERIC, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (mgmt_socket_claim(&addr, e))
		return -1;

	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		errinfo_set(e, ERR_GENERIC, "socket: %s", strerror(errno));
		return -1;
	}
	/* Whoever can connect controls every VM: owner only. */
	old_umask = umask(0077);
	ret = bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (!ret)
		ret = chmod(path, 0600);
	if (ret || listen(s->listen_fd, MGMT_MAX_CLIENTS)) {
		errinfo_set(e, ERR_GENERIC, "%s: %s", path, strerror(errno));
		close(s->listen_fd);
		s->listen_fd = -1;
		return -1;
	}
	strcpy(s->path, path);
	log_info("listening on %s", path);
	return 0;
}

static void mgmt_client_close(struct mgmt_client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	mgmt_conn_fini(&c->conn);
}

void mgmt_server_close(struct mgmt_server *s)
{
	for (size_t i = 0; i < MGMT_MAX_CLIENTS; i++)
		mgmt_client_close(&s->clients[i]);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	s->listen_fd = -1;
}

static int mgmt_send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t sent = send(fd, p, len, MSG_NOSIGNAL);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return -1;	/* includes the SO_SNDTIMEO timeout */
		p += sent;
		len -= (size_t)sent;
	}
	return 0;
}

static int mgmt_send_line(int fd, const char *text)
{
	if (mgmt_send_all(fd, text, strlen(text)))
		return -1;
	return mgmt_send_all(fd, "\n", 1);
}

static void mgmt_accept(struct mgmt_server *s)
{
	struct timeval timeout = { .tv_sec = MGMT_SEND_TIMEOUT_S };
	struct mgmt_client *slot = NULL;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept: %s", strerror(errno));
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	for (size_t i = 0; i < MGMT_MAX_CLIENTS && !slot; i++)
		if (s->clients[i].fd < 0)
			slot = &s->clients[i];
	if (!slot || mgmt_conn_init(&slot->conn)) {
		mgmt_send_line(fd, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"too many clients\"}}");
		close(fd);
		return;
	}
	slot->fd = fd;
	log_debug("management client connected (fd %d)", fd);
}

struct mgmt_line_ctx {
	struct mgmt_server *server;
	struct mgmt_client *client;
	bool failed;
};

static int mgmt_on_line(void *arg, const char *line, size_t len)
{
	struct mgmt_line_ctx *ctx = arg;
	struct daemon *d = ctx->server->daemon;
	char *answer;
	size_t i;

	if (line) {
		for (i = 0; i < len; i++)
			if (line[i] != ' ' && line[i] != '\t')
				break;
		if (i == len)
			return 0;	/* blank lines are ignored */
		daemon_reap(d);	/* so every command sees up-to-date states */
		answer = mgmt_handle_request(d, line, len);
	} else {
		answer = mgmt_oversize_response();
	}
	if (!answer || mgmt_send_line(ctx->client->fd, answer))
		ctx->failed = true;
	free(answer);
	return ctx->failed || d->quit;
}

static void mgmt_client_read(struct mgmt_server *s, struct mgmt_client *c)
{
	struct mgmt_line_ctx ctx = { .server = s, .client = c };
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_debug("management client disconnected (fd %d)", c->fd);
		mgmt_client_close(c);
		return;
	}
	mgmt_conn_feed(&c->conn, buf, (size_t)n, mgmt_on_line, &ctx);
	if (ctx.failed) {
		log_debug("management client fd %d dropped: cannot send", c->fd);
		mgmt_client_close(c);
	}
}

size_t mgmt_server_pollfds(struct mgmt_server *s, struct pollfd *fds)
{
	size_t n = 0;

	fds[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < MGMT_MAX_CLIENTS; i++)
		fds[n++] = (struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
	return n;
}

void mgmt_server_handle(struct mgmt_server *s, const struct pollfd *fds, size_t n)
{
	/* fds[1 + i] is client slot i; a negative fd is ignored by poll(). */
	for (size_t i = 0; i + 1 < n && i < MGMT_MAX_CLIENTS; i++) {
		struct mgmt_client *c = &s->clients[i];

		if (c->fd < 0 || fds[1 + i].fd != c->fd || !fds[1 + i].revents)
			continue;
		mgmt_client_read(s, c);
		if (s->daemon->quit)
			return;
	}
	if (n && (fds[0].revents & POLLIN))
		mgmt_accept(s);
}
