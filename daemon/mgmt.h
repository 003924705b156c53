/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON management protocol (docs/management-protocol.md).
 *
 * Framing: one JSON object per line, both ways.  A request is
 *   {"execute": NAME, "arguments": {...}, "id": ANY}
 * and its answer is {"return": {...}, "id": ANY} or
 * {"error": {"class": CLASS, "desc": TEXT}, "id": ANY}.
 *
 * Commands live in tables, one file per command group, each table added to
 * the "mgmt_command_groups" linker set with MGMT_COMMAND_GROUP().
 */
#ifndef VIREOD_MGMT_H
#define VIREOD_MGMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linker_set.h"

struct daemon;
struct errinfo;

/* Longest request line accepted, newline excluded. */
#define MGMT_MAX_REQUEST	(64 * 1024)

/*
 * A handler gets the daemon and the arguments object (empty if the request
 * had none) and returns a new reference to the "return" object, or NULL
 * with 'e' set.
 */
typedef json_t *(*mgmt_handler)(struct daemon *d, json_t *args, struct errinfo *e);

struct mgmt_command {
	const char *name;
	mgmt_handler handler;
	const char *help;
};

/* 'table' is an array of struct mgmt_command ending with a NULL name. */
#define MGMT_COMMAND_GROUP(table) LINKER_SET_ADD(mgmt_command_groups, table)

const struct mgmt_command *mgmt_command_find(const char *name);
/* Calls fn for every command, in link order. */
void mgmt_command_foreach(void (*fn)(const struct mgmt_command *cmd, void *arg), void *arg);

/* Handles one request line; returns the malloc'd answer (no newline). */
char *mgmt_handle_request(struct daemon *d, const char *line, size_t len);
/* The answer to a request that exceeded MGMT_MAX_REQUEST. */
char *mgmt_oversize_response(void);

/* Argument helpers: 0, or -EINVAL with an InvalidParameter error in 'e'. */
int mgmt_args_only(json_t *args, const char *const *allowed, struct errinfo *e);
int mgmt_arg_string(json_t *args, const char *key, bool required, const char **out,
		    struct errinfo *e);
int mgmt_arg_uint(json_t *args, const char *key, bool required, uint64_t *out,
		  struct errinfo *e);

/*
 * Per-connection framing.  mgmt_conn_feed() splits incoming bytes into
 * lines and calls fn for each complete one (a trailing '\r' is removed);
 * a line longer than MGMT_MAX_REQUEST is reported once with line == NULL
 * and the rest of it is skipped.  fn returns non-zero to stop consuming.
 */
struct mgmt_conn {
	char *buf;		/* MGMT_MAX_REQUEST bytes */
	size_t len;
	bool discarding;	/* inside an oversize line */
};

typedef int (*mgmt_line_fn)(void *arg, const char *line, size_t len);

int mgmt_conn_init(struct mgmt_conn *c);
void mgmt_conn_fini(struct mgmt_conn *c);
/* Returns non-zero if fn asked to stop. */
int mgmt_conn_feed(struct mgmt_conn *c, const char *data, size_t n, mgmt_line_fn fn, void *arg);

/*
 * Converts guest bytes to valid UTF-8 for a JSON string: well-formed
 * UTF-8 is kept, every other byte becomes U+FFFD.  Returns a malloc'd
 * buffer of *out_len bytes (not NUL-terminated), or NULL.
 */
char *mgmt_utf8_sanitize(const uint8_t *in, size_t n, size_t *out_len);

#endif
