// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the management protocol: framing, request parsing,
 * command dispatch and argument checking, VM config validation, UTF-8
 * sanitizing, and a deterministic mutation fuzz of requests.  The daemon
 * runs without the module, as with `vireod --no-module`.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "errinfo.h"
#include "log.h"
#include "mgmt.h"
#include "tap.h"

static struct daemon d;

/* Sends one request; returns the parsed answer (caller decrefs). */
static json_t *ask(const char *request)
{
	char *text = mgmt_handle_request(&d, request, strlen(request));
	json_t *answer = json_loads(text, 0, NULL);

	if (!answer || strchr(text, '\n'))
		printf("# bad answer text: %s\n", text);
	free(text);
	return answer;
}

static int is_error(json_t *answer, const char *class)
{
	json_t *err = json_object_get(answer, "error");

	return json_is_object(err) &&
	       !strcmp(json_string_value(json_object_get(err, "class")) ?: "", class) &&
	       json_is_string(json_object_get(err, "desc"));
}

static const char *desc_of(json_t *answer)
{
	return json_string_value(json_object_get(json_object_get(answer, "error"), "desc")) ?: "";
}

static void expect_error(const char *request, const char *class, const char *needle)
{
	json_t *a = ask(request);

	ok(a && is_error(a, class) && (!needle || strstr(desc_of(a), needle)),
	   "%.60s -> %s%s%s (got: %s)", request, class, needle ? " mentioning " : "",
	   needle ? needle : "", a ? desc_of(a) : "unparsable");
	json_decref(a);
}

struct lines {
	char seen[8][128];
	int n, oversize;
};

static int collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;

	if (!line) {
		l->oversize++;
		return 0;
	}
	if (l->n < 8)
		snprintf(l->seen[l->n], sizeof(l->seen[0]), "%.*s", (int)len, line);
	l->n++;
	return 0;
}

static void test_framing(void)
{
	struct mgmt_conn c;
	struct lines l = { 0 };
	char *big;

	ok(!mgmt_conn_init(&c), "framing: init");
	mgmt_conn_feed(&c, "{\"a\":", 5, collect, &l);
	ok(l.n == 0, "framing: a partial line is held");
	mgmt_conn_feed(&c, "1}\r\n{}\n\n", 8, collect, &l);
	ok(l.n == 3 && !strcmp(l.seen[0], "{\"a\":1}") && !strcmp(l.seen[1], "{}") &&
	   !strcmp(l.seen[2], ""), "framing: split line joined, CR stripped, lines separated");

	big = malloc(MGMT_MAX_REQUEST + 10);
	memset(big, 'x', MGMT_MAX_REQUEST + 10);
	memset(&l, 0, sizeof(l));
	mgmt_conn_feed(&c, big, MGMT_MAX_REQUEST, collect, &l);
	mgmt_conn_feed(&c, "\n", 1, collect, &l);
	ok(l.n == 1 && !l.oversize, "framing: a line of exactly MGMT_MAX_REQUEST bytes is accepted");

	memset(&l, 0, sizeof(l));
	mgmt_conn_feed(&c, big, MGMT_MAX_REQUEST + 10, collect, &l);
	mgmt_conn_feed(&c, big, 100, collect, &l);
	ok(l.oversize == 1 && l.n == 0, "framing: an oversize line is reported once");
	mgmt_conn_feed(&c, "tail\n{\"ok\":1}\n", 14, collect, &l);
	ok(l.oversize == 1 && l.n == 1 && !strcmp(l.seen[0], "{\"ok\":1}"),
	   "framing: the rest of an oversize line is skipped, the next line is read");
	free(big);
	mgmt_conn_fini(&c);
}

static void test_requests(void)
{
	json_t *a, *r;

	expect_error("not json", ERR_GENERIC, "invalid JSON");
	expect_error("{\"execute\":", ERR_GENERIC, "invalid JSON");
	expect_error("[1,2]", ERR_GENERIC, "JSON object");
	expect_error("42", ERR_GENERIC, NULL);
	expect_error("{}", ERR_GENERIC, "execute");
	expect_error("{\"execute\":7}", ERR_GENERIC, "execute");
	expect_error("{\"execute\":\"version\",\"arguments\":[]}", ERR_GENERIC, "arguments");
	expect_error("{\"execute\":\"version\",\"bogus\":1}", ERR_GENERIC, "bogus");
	expect_error("{\"execute\":\"version\",\"execute\":\"quit\"}", ERR_GENERIC, "invalid JSON");
	expect_error("{\"execute\":\"nope\"}", ERR_COMMAND_NOT_FOUND, "nope");
	expect_error("{\"execute\":\"version\",\"arguments\":{\"x\":1}}", ERR_INVALID_PARAMETER, "x");
	expect_error("{\"execute\":\"a\\u0000b\"}", ERR_GENERIC, "invalid JSON");
	expect_error("{\"execute\":\"\xff\xfe\"}", ERR_GENERIC, "invalid JSON");

	a = ask("{\"execute\":\"version\",\"id\":{\"tag\":[1,\"two\"]}}");
	r = json_object_get(a, "return");
	{
		json_t *want = json_pack("{s:[i,s]}", "tag", 1, "two");

		ok(r && json_equal(json_object_get(a, "id"), want), "version: id echoed verbatim");
		json_decref(want);
	}
	ok(r && !strcmp(json_string_value(json_object_get(r, "daemon")) ?: "", VIREOD_VERSION) &&
	   json_is_null(json_object_get(r, "api_version")) &&
	   json_is_false(json_object_get(r, "module")),
	   "version: daemon version, no module API version without the module");
	json_decref(a);

	a = ask("{\"execute\":\"commands\",\"id\":3}");
	r = json_object_get(json_object_get(a, "return"), "commands");
	ok(json_array_size(r) == 10 && json_integer_value(json_object_get(a, "id")) == 3,
	   "commands: ten commands listed");
	json_decref(a);

	/* Multi-byte command name cut at 64 bytes: answer must stay valid UTF-8. */
	{
		char req[512] = "{\"execute\":\"";

		for (int i = 0; i < 40; i++)
			strcat(req, "\xc3\xa9");
		strcat(req, "\"}");
		expect_error(req, ERR_COMMAND_NOT_FOUND, "has not been found");
	}
	/* Deep nesting is refused by the parser, not by a stack overflow. */
	{
		char *deep = malloc(60001);

		memset(deep, '[', 60000);
		deep[60000] = '\0';
		expect_error(deep, ERR_GENERIC, "invalid JSON");
		free(deep);
	}
}

static void test_vm_commands(void)
{
	json_t *a, *list;

	expect_error("{\"execute\":\"vm-start\"}", ERR_INVALID_PARAMETER, "exactly one");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"hello\",\"config\":{}}}",
		     ERR_INVALID_PARAMETER, "exactly one");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":5}}",
		     ERR_INVALID_PARAMETER, "string");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"ghost\"}}",
		     ERR_NOT_FOUND, "ghost");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"hello\"}}",
		     ERR_MODULE_UNAVAILABLE, "no-module");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":[]}}",
		     ERR_INVALID_PARAMETER, "object");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\"}}}",
		     ERR_INVALID_PARAMETER, "'image' is required");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"memory_mib\":99999999}}}",
		     ERR_INVALID_PARAMETER, "memory_mib");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"vcpus\":0}}}",
		     ERR_INVALID_PARAMETER, "vcpus");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"vcpus\":\"2\"}}}",
		     ERR_INVALID_PARAMETER, "integer");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"entry\":\"protected\"}}}",
		     ERR_INVALID_PARAMETER, "entry");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"../etc\",\"image\":\"i\"}}}",
		     ERR_INVALID_PARAMETER, "invalid VM name");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"colour\":1}}}",
		     ERR_INVALID_PARAMETER, "colour");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"load_address\":\"0x10008\"}}}",
		     ERR_INVALID_PARAMETER, "multiple of 16");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"load_address\":\"banana\"}}}",
		     ERR_INVALID_PARAMETER, "load_address");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"entry\":\"long\"}}}",
		     ERR_MODULE_UNAVAILABLE, NULL);
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"entry\":\"long\",\"memory_mib\":1}}}",
		     ERR_INVALID_PARAMETER, "beyond the end of RAM");
	expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"entry\":\"long\",\"load_address\":4096}}}",
		     ERR_INVALID_PARAMETER, "0x100000");

	expect_error("{\"execute\":\"vm-stop\"}", ERR_INVALID_PARAMETER, "missing");
	expect_error("{\"execute\":\"vm-stop\",\"arguments\":{\"name\":[]}}", ERR_INVALID_PARAMETER, "string");
	expect_error("{\"execute\":\"vm-stop\",\"arguments\":{\"name\":\"ghost\"}}", ERR_NOT_FOUND, "ghost");
	expect_error("{\"execute\":\"vm-stop\",\"arguments\":{\"name\":\"hello\"}}", ERR_INVALID_STATE, "not been started");
	expect_error("{\"execute\":\"vm-pause\"}", ERR_INVALID_PARAMETER, "missing");
	expect_error("{\"execute\":\"vm-pause\",\"arguments\":{\"name\":\"ghost\"}}", ERR_NOT_FOUND, "ghost");
	expect_error("{\"execute\":\"vm-resume\",\"arguments\":{\"name\":\"hello\"}}", ERR_INVALID_STATE, "not been started");
	expect_error("{\"execute\":\"vm-console\",\"arguments\":{\"name\":\"ghost\"}}", ERR_NOT_FOUND, NULL);
	expect_error("{\"execute\":\"vm-console\",\"arguments\":{\"name\":\"hello\",\"offset\":-1}}", ERR_INVALID_PARAMETER, NULL);
	expect_error("{\"execute\":\"vm-list\",\"arguments\":{\"all\":true}}", ERR_INVALID_PARAMETER, "all");

	a = ask("{\"execute\":\"vm-list\"}");
	list = json_object_get(json_object_get(a, "return"), "vms");
	ok(json_array_size(list) == 1 &&
	   !strcmp(json_string_value(json_object_get(json_array_get(list, 0), "state")) ?: "", "defined") &&
	   json_integer_value(json_object_get(json_array_get(list, 0), "load_address")) == 0x10000,
	   "vm-list: the defined VM is listed with state 'defined' and its config");
	json_decref(a);

	a = ask("{\"execute\":\"quit\",\"id\":9}");
	ok(json_is_object(json_object_get(a, "return")) && d.quit, "quit: answers and sets the flag");
	json_decref(a);
	d.quit = false;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_config_files(void)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "{", "" },
		{ "[]", "JSON object" },
		{ "{\"vms\":[]}", "non-empty array" },
		{ "{\"vms\":{}}", "non-empty array" },
		{ "{\"vms\":[{\"name\":\"a\",\"image\":\"x\"}],\"extra\":1}", "no other" },
		{ "{\"vms\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"a\",\"image\":\"y\"}]}", "twice" },
		{ "{\"vms\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\"}]}", "vms[1]" },
	};
	char path[] = "/tmp/vireod-test-XXXXXX";
	struct vm_config *cfgs;
	struct errinfo e;
	size_t nr;
	int fd = mkstemp(path);

	close(fd);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i].text);
		ok(vm_config_load_file(path, &cfgs, &nr, &e) && strstr(e.desc, bad[i].needle),
		   "config file %zu rejected (%s)", i, e.desc);
	}
	write_file(path, "{\"vms\":[{\"name\":\"a\",\"image\":\"x\"},"
			 "{\"name\":\"b\",\"image\":\"y\",\"entry\":\"long\",\"memory_mib\":64,"
			 "\"load_address\":\"0x200000\",\"vcpus\":4}]}");
	ok(!vm_config_load_file(path, &cfgs, &nr, &e) && nr == 2 &&
	   cfgs[1].entry == VM_ENTRY_LONG && cfgs[1].load_address == 0x200000 &&
	   cfgs[1].vcpus == 4 && cfgs[0].memory_mib == VM_DEFAULT_MEMORY_MIB,
	   "config file with two VMs and defaults");
	free(cfgs);
	ok(vm_config_load_file("/nonexistent/x.json", &cfgs, &nr, &e) && strstr(e.desc, "No such"),
	   "missing config file rejected");
	ok(vm_config_load_file("/tmp", &cfgs, &nr, &e), "a directory is not a config file");
	unlink(path);
}

static void test_utf8(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "\xf0\x9f\x90\xa6", "\xf0\x9f\x90\xa6" },
		{ "a\xff" "b", "a\xef\xbf\xbd" "b" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },		/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* surrogate */
		{ "x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd" },	/* truncated */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *out = mgmt_utf8_sanitize((const uint8_t *)cases[i].in,
					       strlen(cases[i].in), &len);

		ok(out && len == strlen(cases[i].out) && !memcmp(out, cases[i].out, len),
		   "utf8 sanitize case %zu", i);
		free(out);
	}
}

/* Mutates valid requests at random; every answer must be one JSON object. */
static void test_fuzz(void)
{
	static const char *const seeds[] = {
		"{\"execute\":\"vm-start\",\"arguments\":{\"config\":{\"name\":\"x\",\"image\":\"i\",\"entry\":\"long\",\"load_address\":\"0x100000\"}},\"id\":1}",
		"{\"execute\":\"vm-console\",\"arguments\":{\"name\":\"hello\",\"offset\":5}}",
		"{\"execute\":\"vm-list\",\"id\":[1,{\"a\":null}]}",
	};
	static const char alphabet[] = "{}[]\":,0123456789-.eEtrufalsn\\ \xc3\xa9\xff\x00";
	unsigned int seed = 12345, bad = 0;
	char buf[512];

	for (int iter = 0; iter < 20000; iter++) {
		const char *s = seeds[iter % 3];
		size_t len = strlen(s);
		int edits = 1 + (int)(rand_r(&seed) % 4);
		char *text;
		json_t *a;

		memcpy(buf, s, len);
		for (int k = 0; k < edits; k++) {
			size_t at = (size_t)rand_r(&seed) % len;

			switch (rand_r(&seed) % 3) {
			case 0:
				buf[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
				break;
			case 1:
				len = at;	/* truncate */
				break;
			default:
				if (len < sizeof(buf) - 1) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
					len++;
				}
			}
			if (!len)
				len = 1;
		}
		text = mgmt_handle_request(&d, buf, len);
		a = text ? json_loads(text, 0, NULL) : NULL;
		if (!a || (!json_object_get(a, "error") && !json_object_get(a, "return")) ||
		    strchr(text, '\n'))
			bad++;
		json_decref(a);
		free(text);
		d.quit = false;
	}
	ok(bad == 0, "fuzz: 20000 mutated requests all answered with one JSON object (%u bad)", bad);
}

int main(void)
{
	struct errinfo e;
	json_t *hello;

	log_init("test_protocol", LOG_LEVEL_ERROR);
	tap_start();
	daemon_init(&d);
	d.defined = calloc(1, sizeof(*d.defined));
	hello = json_pack("{s:s, s:s}", "name", "hello", "image", "guests/hello.bin");
	ok(!vm_config_from_json(hello, d.defined, &e), "defined VM config parses");
	d.nr_defined = 1;
	json_decref(hello);

	test_framing();
	test_requests();
	test_vm_commands();
	test_config_files();
	test_utf8();
	test_fuzz();

	daemon_fini(&d);
	return tap_done();
}
