// SPDX-License-Identifier: GPL-2.0
/*
 * Request parsing, command dispatch, answers and framing.  Everything here
 * treats its input as hostile: no request, however malformed, gets anything
 * but an error object back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errinfo.h"
#include "mgmt.h"

LINKER_SET_DECLARE(mgmt_command_groups);

const struct mgmt_command *mgmt_command_find(const char *name)
{
	const void *const *it;

	LINKER_SET_FOREACH(mgmt_command_groups, it) {
		for (const struct mgmt_command *cmd = *it; cmd->name; cmd++)
			if (!strcmp(cmd->name, name))
				return cmd;
	}
	return NULL;
}

void mgmt_command_foreach(void (*fn)(const struct mgmt_command *cmd, void *arg), void *arg)
{
	const void *const *it;

	LINKER_SET_FOREACH(mgmt_command_groups, it) {
		for (const struct mgmt_command *cmd = *it; cmd->name; cmd++)
			fn(cmd, arg);
	}
}

static char *mgmt_dump(json_t *answer, json_t *id)
{
	char *text;

	if (id)
		json_object_set(answer, "id", id);
	text = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	if (!text)	/* only on allocation failure */
		text = strdup("{\"error\":{\"class\":\"GenericError\",\"desc\":\"out of memory\"}}");
	return text;
}

/*
 * Descriptions quote user input, possibly cut in the middle of a UTF-8
 * sequence by a precision ("%.64s"), so they are sanitized before use.
 */
static char *mgmt_error(json_t *id, const char *class, const char *desc)
{
	size_t len;
	char *clean = mgmt_utf8_sanitize((const uint8_t *)desc, strlen(desc), &len);
	json_t *answer = NULL;

	if (clean)
		answer = json_pack("{s:{s:s, s:s%}}", "error", "class", class,
				   "desc", clean, len);
	free(clean);
	if (!answer)
		return strdup("{\"error\":{\"class\":\"GenericError\",\"desc\":\"out of memory\"}}");
	return mgmt_dump(answer, id);
}

char *mgmt_oversize_response(void)
{
	char desc[96];

	snprintf(desc, sizeof(desc), "request exceeds %d bytes; it was discarded",
		 MGMT_MAX_REQUEST);
	return mgmt_error(NULL, ERR_GENERIC, desc);
}

static char *mgmt_execute(struct daemon *d, json_t *request, json_t *id)
{
	static const char *const members[] = { "execute", "arguments", "id", NULL };
	const struct mgmt_command *cmd;
	json_t *execute, *args, *result;
	struct errinfo e = { 0 };
	const char *key;
	json_t *value;
	char desc[160];

	json_object_foreach(request, key, value) {
		size_t i;

		for (i = 0; members[i]; i++)
			if (!strcmp(key, members[i]))
				break;
		if (!members[i]) {
			snprintf(desc, sizeof(desc), "unexpected member '%.64s' in request", key);
			return mgmt_error(id, ERR_GENERIC, desc);
		}
	}
	execute = json_object_get(request, "execute");
	if (!json_is_string(execute))
		return mgmt_error(id, ERR_GENERIC,
				  "request needs \"execute\": a string naming a command");
	args = json_object_get(request, "arguments");
	if (args && !json_is_object(args))
		return mgmt_error(id, ERR_GENERIC, "\"arguments\" must be an object");

	cmd = mgmt_command_find(json_string_value(execute));
	if (!cmd) {
		snprintf(desc, sizeof(desc), "the command '%.64s' has not been found",
			 json_string_value(execute));
		return mgmt_error(id, ERR_COMMAND_NOT_FOUND, desc);
	}

	args = args ? json_incref(args) : json_object();
	if (!args)
		return mgmt_error(id, ERR_GENERIC, "out of memory");
	result = cmd->handler(d, args, &e);
	json_decref(args);
	if (!result)
		return mgmt_error(id, e.class ? e.class : ERR_GENERIC,
				  e.class ? e.desc : "command failed without a reason");
	return mgmt_dump(json_pack("{s:o}", "return", result), id);
}

char *mgmt_handle_request(struct daemon *d, const char *line, size_t len)
{
	json_t *request, *id;
	json_error_t jerr;
	char desc[256];
	char *answer;

	request = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!request) {
		snprintf(desc, sizeof(desc), "invalid JSON at column %d: %s",
			 jerr.column, jerr.text);
		return mgmt_error(NULL, ERR_GENERIC, desc);
	}
	if (!json_is_object(request)) {
		json_decref(request);
		return mgmt_error(NULL, ERR_GENERIC, "a request must be a JSON object");
	}
	id = json_object_get(request, "id");
	answer = mgmt_execute(d, request, id);
	json_decref(request);
	return answer;
}

int mgmt_args_only(json_t *args, const char *const *allowed, struct errinfo *e)
{
	const char *key;
	json_t *value;

	json_object_foreach(args, key, value) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed[i]) {
			errinfo_set(e, ERR_INVALID_PARAMETER, "unexpected argument '%.64s'", key);
			return -EINVAL;
		}
	}
	return 0;
}

int mgmt_arg_string(json_t *args, const char *key, bool required, const char **out,
		    struct errinfo *e)
{
	json_t *v = json_object_get(args, key);

	if (!v) {
		if (!required)
			return 0;
		errinfo_set(e, ERR_INVALID_PARAMETER, "argument '%s' is missing", key);
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "argument '%s' must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int mgmt_arg_uint(json_t *args, const char *key, bool required, uint64_t *out,
		  struct errinfo *e)
{
	json_t *v = json_object_get(args, key);

	if (!v) {
		if (!required)
			return 0;
		errinfo_set(e, ERR_INVALID_PARAMETER, "argument '%s' is missing", key);
		return -EINVAL;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "argument '%s' must be a non-negative integer", key);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int mgmt_conn_init(struct mgmt_conn *c)
{
	c->buf = malloc(MGMT_MAX_REQUEST);
	c->len = 0;
	c->discarding = false;
	return c->buf ? 0 : -ENOMEM;
}

void mgmt_conn_fini(struct mgmt_conn *c)
{
	free(c->buf);
	c->buf = NULL;
}

int mgmt_conn_feed(struct mgmt_conn *c, const char *data, size_t n, mgmt_line_fn fn, void *arg)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		size_t consumed = take + (nl ? 1 : 0);
		int stop = 0;

		if (c->discarding) {
			if (nl)
				c->discarding = false;
		} else if (take > MGMT_MAX_REQUEST - c->len) {
			c->len = 0;
			c->discarding = !nl;
			stop = fn(arg, NULL, 0);
		} else {
			memcpy(c->buf + c->len, data, take);
			c->len += take;
			if (nl) {
				size_t len = c->len;

				c->len = 0;
				if (len && c->buf[len - 1] == '\r')
					len--;
				stop = fn(arg, c->buf, len);
			}
		}
		data += consumed;
		n -= consumed;
		if (stop)
			return stop;
	}
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), or 0. */
static size_t utf8_sequence(const uint8_t *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, out of range or a surrogate */
	return len;
}

char *mgmt_utf8_sanitize(const uint8_t *in, size_t n, size_t *out_len)
{
	char *out = malloc(n * 3 + 1);	/* worst case: every byte -> U+FFFD */
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_sequence(in + i, n - i);

		if (len) {
			memcpy(out + o, in + i, len);
			o += len;
			i += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}
