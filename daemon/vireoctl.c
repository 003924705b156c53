// SPDX-License-Identifier: GPL-2.0
/*
 * vireoctl: command-line client of vireod's JSON management socket
 * (docs/management-protocol.md), plus `vireoctl vms` and `vireoctl events`,
 * which ask the module directly over generic netlink.
 *
 * Exit status: 0 on success, 1 when vireod answers with an error or cannot
 * be reached, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vireoctl.h"

#define DEFAULT_SOCKET		"/run/vireo/vireod.sock"
#define MAX_ANSWER_BYTES	(16 << 20)
#define MAX_FILE_BYTES		(1 << 20)
#define EXIT_ERROR		1
#define EXIT_USAGE		2

static const char *socket_path = DEFAULT_SOCKET;
static bool json_output;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vireoctl [--socket PATH] [--json] COMMAND\n"
		"\n"
		"  version                   daemon and module API versions\n"
		"  vm list                   defined and created VMs\n"
		"  vm start NAME             start a VM from vireod's --config file\n"
		"  vm start --config FILE    start the VM described in FILE\n"
		"  vm stop NAME              stop a running VM\n"
		"  vm pause NAME             pause a running VM (vCPUs out of the guest)\n"
		"  vm resume NAME            resume a paused VM\n"
		"  vm console NAME           print the VM's console output so far\n"
		"  console NAME [--timeout SECS]\n"
		"                            attach to the VM's console: print its output,\n"
		"                            type into it; Ctrl-] detaches.  When stdin is\n"
		"                            not a terminal, send stdin until EOF, then print\n"
		"                            until the VM stops (or SECS pass: exit 1)\n"
		"  commands                  list the commands vireod accepts\n"
		"  quit                      stop every VM and make vireod exit\n"
		"  raw JSON|-                send one request line as is, print the answer\n"
		"  vms                       list VMs from the module (generic netlink)\n"
		"  events [--count N] [--type TYPE] [--vm ID] [--timeout SECS]\n"
		"                            print the module's VM events as they come\n"
		"                            (TYPE: created, destroyed, crashed, stopped;\n"
		"                            all but created carry the exit counts, final\n"
		"                            ones for destroyed); stop after N of them,\n"
		"                            or fail after SECS; --json: one object a line\n"
		"\n"
		"  --socket PATH   vireod's socket (default " DEFAULT_SOCKET ")\n"
		"  --json          print the \"return\" object as JSON\n");
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vireoctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_ERROR);
}

static int connect_daemon(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		fail("socket path too long: %s", socket_path);
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		fail("cannot connect to %s: %s (is vireod running?)", socket_path, strerror(errno));
	return fd;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("sending to %s: %s", socket_path, n < 0 ? strerror(errno) : "closed");
		p += n;
		len -= (size_t)n;
	}
}

/* Sends one request line and returns the answer line (malloc'd, no '\n'). */
static char *transact_text(const char *request, size_t len)
{
	size_t cap = 4096, got = 0;
	char *answer = malloc(cap);
	int fd = connect_daemon();

	if (!answer)
		fail("out of memory");
	send_all(fd, request, len);
	send_all(fd, "\n", 1);
	for (;;) {
		char *nl;
		ssize_t n;

		if (got + 1 == cap) {
			if (cap >= MAX_ANSWER_BYTES)
				fail("answer larger than %d bytes", MAX_ANSWER_BYTES);
			cap *= 2;
			answer = realloc(answer, cap);
			if (!answer)
				fail("out of memory");
		}
		n = recv(fd, answer + got, cap - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("vireod closed the connection without answering%s%s",
			     n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		got += (size_t)n;
		answer[got] = '\0';
		nl = strchr(answer, '\n');
		if (nl) {
			*nl = '\0';
			break;
		}
	}
	close(fd);
	return answer;
}

/*
 * Executes a command; returns the "return" object.  An error answer is
 * returned through *err (the "error" object) when err is not NULL, and
 * otherwise printed before exiting.
 */
static json_t *execute_err(const char *command, json_t *args, json_t **err)
{
	json_t *request, *answer, *result, *error;
	json_error_t jerr;
	char *text, *reply;

	request = json_pack("{s:s, s:o, s:i}", "execute", command,
			    "arguments", args ? args : json_object(), "id", 1);
	text = request ? json_dumps(request, JSON_COMPACT) : NULL;
	if (!text)
		fail("cannot encode the request");
	json_decref(request);
	reply = transact_text(text, strlen(text));
	free(text);

	answer = json_loads(reply, 0, &jerr);
	if (!answer)
		fail("unreadable answer from vireod: %s", jerr.text);
	free(reply);
	error = json_object_get(answer, "error");
	if (error && err) {
		*err = json_incref(error);
		json_decref(answer);
		return NULL;
	}
	if (error) {
		fail("%s: %s", json_string_value(json_object_get(error, "class")) ?: "Error",
		     json_string_value(json_object_get(error, "desc")) ?: "(no description)");
	}
	result = json_object_get(answer, "return");
	if (!json_is_object(result))
		fail("answer from vireod has no \"return\" object");
	json_incref(result);
	json_decref(answer);
	return result;
}

static json_t *execute(const char *command, json_t *args)
{
	return execute_err(command, args, NULL);
}

static void print_json(json_t *value)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (text)
		puts(text);
	free(text);
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

static json_int_t num(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static int cmd_version(void)
{
	json_t *r = execute("version", NULL);
	json_t *api = json_object_get(r, "api_version");

	if (json_output) {
		print_json(r);
	} else {
		printf("vireod %s\n", str(r, "daemon"));
		if (json_is_integer(api))
			printf("module API version %" JSON_INTEGER_FORMAT " (vireod built for %" JSON_INTEGER_FORMAT ")\n",
			       json_integer_value(api), num(r, "uapi_version"));
		else
			printf("module not in use (vireod runs with --no-module)\n");
	}
	json_decref(r);
	return 0;
}

static int cmd_vm_list(void)
{
	json_t *r = execute("vm-list", NULL), *vm;
	size_t i;

	if (json_output) {
		print_json(r);
		json_decref(r);
		return 0;
	}
	printf("%-20s %-9s %5s %8s %-5s %6s %7s  %s\n", "NAME", "STATE", "VCPUS", "MEMORY",
	       "ENTRY", "VM-ID", "REBOOTS", "REASON");
	json_array_foreach(json_object_get(r, "vms"), i, vm) {
		char id[24] = "-", reboots[24] = "-";

		if (json_object_get(vm, "vm_id"))
			snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, num(vm, "vm_id"));
		if (json_object_get(vm, "reboots"))
			snprintf(reboots, sizeof(reboots), "%" JSON_INTEGER_FORMAT,
				 num(vm, "reboots"));
		printf("%-20s %-9s %5" JSON_INTEGER_FORMAT " %5" JSON_INTEGER_FORMAT "MiB %-5s %6s %7s  %s\n",
		       str(vm, "name"), str(vm, "state"), num(vm, "vcpus"),
		       num(vm, "memory_mib"), str(vm, "entry"), id, reboots,
		       json_object_get(vm, "reason") ? str(vm, "reason") : "");
	}
	json_decref(r);
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES)
		fail("%s: not a regular file of at most %d bytes", path, MAX_FILE_BYTES);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		fail("out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Makes vm[key], if it is a relative path, absolute against our working directory. */
static void absolute_path(json_t *vm, const char *key)
{
	json_t *path = json_object_get(vm, key);
	char cwd[PATH_MAX], *abs;

	if (!json_is_string(path) || json_string_value(path)[0] == '/')
		return;
	if (!getcwd(cwd, sizeof(cwd)))
		fail("getcwd: %s", strerror(errno));
	if (asprintf(&abs, "%s/%s", cwd, json_string_value(path)) < 0)
		fail("out of memory");
	json_object_set_new(vm, key, json_string(abs));
	free(abs);
}

/*
 * Reads a VM config file (one VM object, or {"vms": [one object]}) and
 * makes relative image, kernel and initrd paths absolute against our
 * working directory: vireod resolves paths against its own, which is
 * probably elsewhere.
 */
static json_t *load_vm_config(const char *path)
{
	json_t *root, *vm;
	json_error_t jerr;
	size_t len;
	char *text = read_file(path, &len);

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root)
		fail("%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	vm = json_object_get(root, "vms");
	if (vm) {
		if (!json_is_array(vm) || json_array_size(vm) != 1)
			fail("%s: \"vms\" must hold exactly one VM for vm start --config", path);
		vm = json_array_get(vm, 0);
	} else {
		vm = root;
	}
	if (!json_is_object(vm))
		fail("%s: a VM config must be a JSON object", path);
	json_incref(vm);
	json_decref(root);

	absolute_path(vm, "image");
	absolute_path(vm, "kernel");
	absolute_path(vm, "initrd");
	return vm;
}

static int cmd_vm_start(int argc, char **argv)
{
	json_t *args, *r;

	if (argc == 1)
		args = json_pack("{s:s}", "name", argv[0]);
	else if (argc == 2 && !strcmp(argv[0], "--config"))
		args = json_pack("{s:o}", "config", load_vm_config(argv[1]));
	else
		return -1;
	r = execute("vm-start", args);
	if (json_output)
		print_json(r);
	else
		printf("started %s (module VM id %" JSON_INTEGER_FORMAT ")\n", str(r, "name"),
		       num(r, "vm_id"));
	json_decref(r);
	return 0;
}

static int cmd_vm_name(const char *command, const char *name)
{
	json_t *r = execute(command, json_pack("{s:s}", "name", name));

	if (json_output) {
		print_json(r);
	} else if (!strcmp(command, "vm-console")) {
		json_t *data = json_object_get(r, "data");

		if (json_is_true(json_object_get(r, "truncated")))
			fprintf(stderr, "vireoctl: older console output was dropped\n");
		fwrite(json_string_value(data), 1, json_string_length(data), stdout);
	} else {
		printf("%s %s: %s\n", command, str(r, "name"), str(r, "state"));
	}
	json_decref(r);
	return 0;
}

/* ---- vireoctl console NAME ---- */

#define CONSOLE_DETACH_KEY	0x1d	/* Ctrl-] */
#define CONSOLE_INPUT_CHUNK	1024	/* bytes per vm-console-input */
#define CONSOLE_POLL_MS		100	/* output polling period */
#define CONSOLE_STATE_MS	500	/* VM state polling period */

static struct termios saved_termios;
static bool termios_saved;

static void console_restore_tty(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	termios_saved = false;
}

static void console_raw_tty(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_termios))
		fail("tcgetattr: %s", strerror(errno));
	termios_saved = true;
	atexit(console_restore_tty);
	raw = saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
		fail("tcsetattr: %s", strerror(errno));
}

long vireoctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * A JSON string of the first 'len' bytes of 'buf', which the daemon
 * takes as UTF-8: an incomplete sequence at the end is held back (*used
 * says how many bytes went in); other invalid bytes are sent as '?'.
 */
static json_t *console_input_string(char *buf, size_t len, size_t *used)
{
	json_t *s;

	for (size_t cut = 0; cut < 4 && cut < len; cut++) {
		s = json_stringn(buf, len - cut);
		if (s) {
			*used = len - cut;
			return s;
		}
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	*used = len;
	return json_stringn(buf, len);
}

/* Whether the VM NAME is running, from vm-list; exits if it is unknown. */
static bool console_vm_running(const char *name)
{
	json_t *r = execute("vm-list", NULL), *vm;
	bool running = false, found = false;
	size_t i;

	json_array_foreach(json_object_get(r, "vms"), i, vm) {
		if (strcmp(str(vm, "name"), name))
			continue;
		found = true;
		running = !strcmp(str(vm, "state"), "running");
	}
	json_decref(r);
	if (!found)
		fail("NotFound: no VM named '%s'", name);
	return running;
}

/* Prints console output from *offset on; advances *offset. */
static void console_print(const char *name, uint64_t *offset)
{
	json_t *r = execute("vm-console", json_pack("{s:s, s:I}", "name", name,
						     "offset", (json_int_t)*offset));
	json_t *data = json_object_get(r, "data");

	if (json_string_length(data)) {
		fwrite(json_string_value(data), 1, json_string_length(data), stdout);
		fflush(stdout);
	}
	*offset = (uint64_t)num(r, "next_offset");
	json_decref(r);
}

static int cmd_console(int argc, char **argv)
{
	const char *name = NULL;
	long timeout_ms = 0, deadline = 0, next_state = 0;
	char in[CONSOLE_INPUT_CHUNK];
	size_t inlen = 0;
	uint64_t offset = 0;
	bool tty, stdin_open = true, detach = false;
	int status = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			char *end;

			timeout_ms = strtol(argv[++i], &end, 10) * 1000L;
			if (*end || timeout_ms <= 0)
				return -1;
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			return -1;
		}
	}
	if (!name)
		return -1;
	if (timeout_ms)
		deadline = vireoctl_now_ms() + timeout_ms;
	tty = isatty(STDIN_FILENO);
	if (!console_vm_running(name))
		fail("InvalidState: VM '%s' is not running", name);
	if (tty) {
		fprintf(stderr, "vireoctl: attached to %s's console; Ctrl-] detaches\n", name);
		console_raw_tty();
	}
	while (!detach) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		bool want_input = stdin_open && inlen < sizeof(in);
		long now;

		if (poll(&pfd, want_input ? 1 : 0, inlen ? 10 : CONSOLE_POLL_MS) < 0 &&
		    errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (want_input && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, in + inlen, sizeof(in) - inlen);

			if (n < 0 && errno != EINTR && errno != EAGAIN)
				fail("reading stdin: %s", strerror(errno));
			if (n == 0)
				stdin_open = false;
			for (ssize_t i = 0; tty && i < n; i++) {
				if (in[inlen + i] == CONSOLE_DETACH_KEY) {
					n = i;
					detach = true;
				}
			}
			if (n > 0)
				inlen += (size_t)n;
		}
		if (inlen) {
			json_t *err = NULL, *r, *data;
			size_t used, accepted;

			data = console_input_string(in, inlen, &used);
			if (!data)
				fail("cannot encode console input");
			r = execute_err("vm-console-input",
					json_pack("{s:s, s:o}", "name", name, "data", data), &err);
			if (!r) {
				console_restore_tty();
				fprintf(stderr, "\nvireoctl: %s: %s\n", str(err, "class"), str(err, "desc"));
				json_decref(err);
				status = 1;
				break;
			}
			accepted = (size_t)num(r, "accepted");
			json_decref(r);
			if (accepted > inlen)
				accepted = inlen;
			memmove(in, in + accepted, inlen - accepted);
			inlen -= accepted;
		}
		console_print(name, &offset);
		now = vireoctl_now_ms();
		if (now >= next_state) {
			next_state = now + CONSOLE_STATE_MS;
			if (!console_vm_running(name)) {
				console_print(name, &offset);
				console_restore_tty();
				fprintf(stderr, "\nvireoctl: VM %s is no longer running\n", name);
				break;
			}
		}
		if (deadline && now >= deadline) {
			console_restore_tty();
			fprintf(stderr, "\nvireoctl: --timeout: %ld s passed\n", timeout_ms / 1000);
			status = 1;
			break;
		}
	}
	console_restore_tty();
	if (detach)
		fprintf(stderr, "\nvireoctl: detached from %s\n", name);
	return status;
}

/* A whole number in [1, max], or 0 when ARG is not one. */
static unsigned int parse_count(const char *arg, unsigned long max)
{
	unsigned long v;
	char *end;

	if (arg[0] < '0' || arg[0] > '9')
		return 0;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v > max)
		return 0;
	return (unsigned int)v;
}

/* events [--count N] [--type TYPE] [--vm ID] [--timeout SECS] */
static int cmd_events(int argc, char **argv)
{
	struct vireoctl_events_opts opts = { 0 };

	if (argc % 2)	/* options come in pairs */
		return -1;
	for (int i = 0; i < argc; i += 2) {
		const char *opt = argv[i], *arg = argv[i + 1];
		bool ok;

		if (!strcmp(opt, "--count"))
			ok = (opts.count = parse_count(arg, UINT_MAX)) != 0;
		else if (!strcmp(opt, "--timeout"))
			ok = (opts.timeout_s = parse_count(arg, 7 * 24 * 3600)) != 0;
		else if (!strcmp(opt, "--vm"))
			ok = (opts.vm_id = parse_count(arg, UINT32_MAX)) != 0;
		else if (!strcmp(opt, "--type"))
			ok = (opts.type = vireoctl_event_type(arg)) > 0;
		else
			return -1;
		if (!ok) {
			fprintf(stderr, "vireoctl: events: bad %s '%s'\n", opt, arg);
			return -1;
		}
	}
	return vireoctl_events(json_output, &opts) ? EXIT_ERROR : 0;
}

static int cmd_commands(void)
{
	json_t *r = execute("commands", NULL), *cmd;
	size_t i;

	if (json_output)
		print_json(r);
	else
		json_array_foreach(json_object_get(r, "commands"), i, cmd)
			printf("%-12s %s\n", str(cmd, "name"), str(cmd, "help"));
	json_decref(r);
	return 0;
}

/* Sends text verbatim (one line) and prints the answer line verbatim. */
static int cmd_raw(const char *text)
{
	char *reply, *owned = NULL;
	size_t len;

	if (!strcmp(text, "-")) {
		owned = malloc(MAX_FILE_BYTES + 1);
		if (!owned)
			fail("out of memory");
		len = fread(owned, 1, MAX_FILE_BYTES, stdin);
		while (len && (owned[len - 1] == '\n' || owned[len - 1] == '\r'))
			len--;
		text = owned;
	} else {
		len = strlen(text);
	}
	reply = transact_text(text, len);
	puts(reply);
	free(reply);
	free(owned);
	return 0;
}

static int dispatch(int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "version") && argc == 1)
		return cmd_version();
	if (!strcmp(cmd, "commands") && argc == 1)
		return cmd_commands();
	if (!strcmp(cmd, "quit") && argc == 1) {
		json_decref(execute("quit", NULL));
		if (!json_output)
			printf("vireod is stopping its VMs and exiting\n");
		return 0;
	}
	if (!strcmp(cmd, "raw") && argc == 2)
		return cmd_raw(argv[1]);
	if (!strcmp(cmd, "console") && argc >= 2)
		return cmd_console(argc - 1, argv + 1);
	if (!strcmp(cmd, "vms") && argc == 1)
		return vireoctl_vms(json_output) ? EXIT_ERROR : 0;
	if (!strcmp(cmd, "events"))
		return cmd_events(argc - 1, argv + 1);
	if (!strcmp(cmd, "vm") && argc >= 2) {
		const char *sub = argv[1];

		if (!strcmp(sub, "list") && argc == 2)
			return cmd_vm_list();
		if (!strcmp(sub, "start"))
			return cmd_vm_start(argc - 2, argv + 2);
		if (!strcmp(sub, "stop") && argc == 3)
			return cmd_vm_name("vm-stop", argv[2]);
		if (!strcmp(sub, "pause") && argc == 3)
			return cmd_vm_name("vm-pause", argv[2]);
		if (!strcmp(sub, "resume") && argc == 3)
			return cmd_vm_name("vm-resume", argv[2]);
		if (!strcmp(sub, "console") && argc == 3)
			return cmd_vm_name("vm-console", argv[2]);
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, status;

	/* '+': stop at the first non-option, so "vm start --config F" parses. */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': socket_path = optarg; break;
		case 'j': json_output = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	status = optind == argc ? -1 : dispatch(argc - optind, argv + optind);
	if (status < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return status;
}
