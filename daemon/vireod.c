// SPDX-License-Identifier: GPL-2.0
/*
 * vireod: the Vireo VMM and management daemon.
 *
 *   vireod --run CONFIG.json [--console-stdin]
 *                                run one VM, console on stdout, exit with it;
 *                                with --console-stdin, stdin is its input
 *   vireod [--socket PATH] [--config FILE]
 *                                serve the JSON management socket
 *
 * The main thread owns the daemon state and runs one poll() loop over a
 * signalfd (SIGINT and SIGTERM end it, SIGUSR2 logs every vCPU's
 * registers), an eventfd the vCPU threads poke when a VM ends, and the
 * management socket.  See docs/management-protocol.md.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "errinfo.h"
#include "log.h"
#include "mgmt_server.h"
#include "vcpu.h"

/* --run exit statuses (documented in --help and the protocol doc). */
#define EXIT_VM_HALTED		0
#define EXIT_VM_FAILED		1
#define EXIT_USAGE		2
#define EXIT_TIMEOUT		124
#define EXIT_SIGNAL_BASE	128

struct options {
	const char *run_config;
	const char *socket_path;
	const char *config_file;
	const char *device;
	bool no_module;
	bool console_stdin;
	long timeout_s;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vireod --run CONFIG.json [--timeout SECONDS] [options]\n"
		"       vireod [--socket PATH] [--config FILE] [--no-module] [options]\n"
		"\n"
		"  --run FILE        run the one VM FILE describes; guest console on stdout;\n"
		"                    keeps running across guest reboots (\"on_reboot\");\n"
		"                    exit 0 when every vCPU halted, 1 if the VM crashed or\n"
		"                    could not start, 2 on a usage or config error,\n"
		"                    124 on --timeout, 128+N on signal N\n"
		"  --timeout SECS    with --run: stop the VM after SECS seconds (its vCPUs'\n"
		"                    registers are logged first)\n"
		"  --console-stdin   with --run: forward bytes read from stdin to the\n"
		"                    guest's COM1 (EOF just stops forwarding)\n"
		"  --socket PATH     management socket (default " MGMT_DEFAULT_SOCKET ")\n"
		"  --config FILE     VMs that vm-start can start by name\n"
		"  --no-module       do not open the device; serve the protocol only\n"
		"  --device PATH     the Vireo device (default " MODULE_DEVICE_PATH ")\n"
		"  -v, --verbose     debug logging\n"
		"  -q, --quiet       log errors only\n"
		"  -V, --version     print the version\n"
		"  -h, --help        this text\n"
		"\n"
		"SIGUSR2 logs the registers of every running VM's vCPUs (a short pause).\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "run", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "console-stdin", no_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "no-module", no_argument, NULL, 'n' },
		{ "device", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->device = MODULE_DEVICE_PATH;
	while ((c = getopt_long(argc, argv, "vqVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->run_config = optarg; break;
		case 's': o->socket_path = optarg; break;
		case 'c': o->config_file = optarg; break;
		case 'n': o->no_module = true; break;
		case 'i': o->console_stdin = true; break;
		case 'd': o->device = optarg; break;
		case 'v': log_set_threshold(LOG_LEVEL_DEBUG); break;
		case 'q': log_set_threshold(LOG_LEVEL_ERROR); break;
		case 'V': printf("vireod %s (uapi %d)\n", VIREOD_VERSION, VIREO_API_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		case 't':
			errno = 0;
			o->timeout_s = strtol(optarg, &end, 10);
			if (errno || *end || o->timeout_s <= 0 || o->timeout_s > 86400) {
				log_error("--timeout wants 1-86400 seconds, not '%s'", optarg);
				return -1;
			}
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->run_config && (o->socket_path || o->config_file || o->no_module)) {
		log_error("--run cannot be combined with --socket, --config or --no-module");
		return -1;
	}
	if (o->timeout_s && !o->run_config) {
		log_error("--timeout only applies to --run");
		return -1;
	}
	if (o->console_stdin && !o->run_config) {
		log_error("--console-stdin only applies to --run");
		return -1;
	}
	if (!o->run_config && !o->socket_path)
		o->socket_path = MGMT_DEFAULT_SOCKET;
	return 0;
}

/* Blocks the signals the main loop reads; vCPU threads inherit the mask. */
static int signals_setup(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	vcpu_signals_init();
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int read_signal(int sigfd)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

static void log_vcpus(struct vm *vm)
{
	struct errinfo e = { 0 };

	if (vm_get_state(vm, NULL, 0) == VM_STATE_RUNNING &&
	    vm_log_vcpus(vm, DAEMON_STOP_TIMEOUT_MS, &e))
		log_error("vm %s: cannot log its registers: %s", vm->config.name, e.desc);
}

/*
 * Reads one signal.  SIGUSR2 logs the registers of every running VM's
 * vCPUs and returns 0; any other signal is returned, to end the daemon.
 */
static int take_signal(struct daemon *d, int sigfd)
{
	int signo = read_signal(sigfd);

	if (signo != SIGUSR2)
		return signo;
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		log_vcpus(vm);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * --console-stdin: a thread copies stdin to the guest's COM1.  vm_console_input()
 * takes at most what fits in the receive FIFO, so the rest is retried every
 * few milliseconds until the guest has read some.  EOF or a read error ends
 * the forwarding (the VM keeps running); 'stop' ends the thread, which
 * run_loop() joins before the VM is released.  Across a guest reboot it
 * keeps going: vm_console_input() takes nothing while the devices are
 * being rebuilt, and the bytes are retried until the new UART exists.
 */
struct stdin_feeder {
	pthread_t thread;
	struct vm *vm;
	atomic_bool stop;
	bool running;
};

#define FEEDER_POLL_MS		100
#define FEEDER_RETRY_NS		2000000L	/* 2 ms while the FIFO is full */

static void *stdin_feeder_main(void *opaque)
{
	struct stdin_feeder *f = opaque;
	char buf[256];

	while (!atomic_load(&f->stop)) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		size_t len, done = 0;
		ssize_t n;
		int r = poll(&pfd, 1, FEEDER_POLL_MS);

		if (r < 0 && errno != EINTR) {
			log_error("console input: poll: %s", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (n < 0)
				log_error("console input: read: %s", strerror(errno));
			else
				log_debug("console input: end of stdin");
			break;
		}
		len = (size_t)n;
		while (done < len && !atomic_load(&f->stop)) {
			size_t taken = vm_console_input(f->vm, buf + done, len - done);

			done += taken;
			if (done < len && !taken) {
				struct timespec ts = { 0, FEEDER_RETRY_NS };

				if (vm_get_state(f->vm, NULL, 0) != VM_STATE_RUNNING)
					return NULL;
				nanosleep(&ts, NULL);
			}
		}
	}
	return NULL;
}

static void stdin_feeder_start(struct stdin_feeder *f, struct vm *vm)
{
	int err;

	f->vm = vm;
	atomic_init(&f->stop, false);
	err = pthread_create(&f->thread, NULL, stdin_feeder_main, f);
	if (err)
		log_error("--console-stdin: cannot start the input thread: %s", strerror(err));
	f->running = !err;
}

/* Must run before the VM is released (daemon_reap). */
static void stdin_feeder_stop(struct stdin_feeder *f)
{
	if (!f->running)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	f->running = false;
}

/* Waits for the one VM of --run to end; returns the exit status. */
static int run_loop(struct daemon *d, struct vm *vm, int sigfd, long timeout_s,
		    struct stdin_feeder *feeder)
{
	long deadline = timeout_s ? now_ms() + timeout_s * 1000L : 0;
	int signo = 0, timed_out = 0;
	enum vm_state state;
	char why[512];

	while (vm_get_state(vm, NULL, 0) == VM_STATE_RUNNING && !signo && !timed_out) {
		struct pollfd fds[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = d->notify_fd, .events = POLLIN },
		};
		int wait = d->notify_fd < 0 ? 200 : -1;

		if (deadline) {
			long left = deadline - now_ms();

			if (left <= 0) {
				timed_out = 1;
				break;
			}
			if (wait < 0 || left < wait)
				wait = (int)left;
		}
		if (poll(fds, 2, wait) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents & POLLIN)
			signo = take_signal(d, sigfd);
		/* A guest reboot: rebuild the VM and keep going. */
		if ((fds[1].revents & POLLIN) || d->notify_fd < 0)
			daemon_reboot_vms(d, true);
	}
	if (signo) {
		snprintf(why, sizeof(why), "signal: %s", strsignal(signo));
		vm_request_stop(vm, why);
	} else if (timed_out) {
		/* Where it hangs is the first thing a user wants to know. */
		log_vcpus(vm);
		snprintf(why, sizeof(why), "timed out after %ld s", timeout_s);
		vm_request_stop(vm, why);
	}
	if (!vm_wait(vm, DAEMON_STOP_TIMEOUT_MS)) {
		stdin_feeder_stop(feeder);
		log_error("vm %s: vCPUs did not stop within %d ms", vm->config.name,
			  DAEMON_STOP_TIMEOUT_MS);
		return EXIT_VM_FAILED;
	}
	stdin_feeder_stop(feeder);
	daemon_reap(d);
	state = vm_get_state(vm, why, sizeof(why));
	if (timed_out) {
		log_error("vm %s: timed out after %ld s", vm->config.name, timeout_s);
		return EXIT_TIMEOUT;
	}
	if (signo)
		return EXIT_SIGNAL_BASE + signo;
	return state == VM_STATE_HALTED ? EXIT_VM_HALTED : EXIT_VM_FAILED;
}

static int run_one(struct daemon *d, const struct options *o, int sigfd)
{
	struct vm_config *cfgs = NULL;
	struct stdin_feeder feeder = { 0 };
	struct errinfo e = { 0 };
	size_t nr = 0;
	struct vm *vm;

	if (vm_config_load_file(o->run_config, &cfgs, &nr, &e)) {
		log_error("%s", e.desc);
		return EXIT_USAGE;
	}
	if (nr != 1) {
		log_error("%s defines %zu VMs; --run takes exactly one", o->run_config, nr);
		free(cfgs);
		return EXIT_USAGE;
	}
	if (module_open(&d->module, o->device, &e)) {
		log_error("%s", e.desc);
		free(cfgs);
		return EXIT_VM_FAILED;
	}
	d->echo_fd = STDOUT_FILENO;
	vm = daemon_start_vm(d, &cfgs[0], &e);
	free(cfgs);
	if (!vm) {
		log_error("cannot start the VM: %s", e.desc);
		return e.class && !strcmp(e.class, ERR_INVALID_PARAMETER) ? EXIT_USAGE : EXIT_VM_FAILED;
	}
	if (o->console_stdin)
		stdin_feeder_start(&feeder, vm);
	return run_loop(d, vm, sigfd, o->timeout_s, &feeder);
}

static int serve(struct daemon *d, const struct options *o, int sigfd)
{
	struct pollfd fds[2 + MGMT_SERVER_MAX_POLLFDS];
	struct mgmt_server server;
	struct errinfo e = { 0 };
	int signo = 0;

	if (o->config_file &&
	    vm_config_load_file(o->config_file, &d->defined, &d->nr_defined, &e)) {
		log_error("%s", e.desc);
		return EXIT_USAGE;
	}
	if (o->no_module) {
		log_info("--no-module: not opening %s; vm-start will fail", o->device);
	} else if (module_open(&d->module, o->device, &e)) {
		log_error("%s", e.desc);
		return EXIT_VM_FAILED;
	}
	if (mgmt_server_open(&server, d, o->socket_path, &e)) {
		log_error("%s", e.desc);
		return EXIT_VM_FAILED;
	}
	while (!d->quit && !signo) {
		size_t n = 2 + mgmt_server_pollfds(&server, fds + 2);

		fds[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = d->notify_fd, .events = POLLIN };
		if (poll(fds, n, d->notify_fd < 0 ? 1000 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents & POLLIN)
			signo = take_signal(d, sigfd);
		if ((fds[1].revents & POLLIN) || d->notify_fd < 0)
			daemon_reap(d);
		mgmt_server_handle(&server, fds + 2, n - 2);
	}
	if (signo)
		log_info("%s: stopping VMs and exiting", strsignal(signo));
	else
		log_info("quit: stopping VMs and exiting");
	mgmt_server_close(&server);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct daemon d;
	int sigfd, status;

	log_init("vireod", LOG_LEVEL_INFO);
	if (parse_options(argc, argv, &o))
		return EXIT_USAGE;
	sigfd = signals_setup();
	if (sigfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return EXIT_VM_FAILED;
	}
	daemon_init(&d);
	status = o.run_config ? run_one(&d, &o, sigfd) : serve(&d, &o, sigfd);
	daemon_fini(&d);
	close(sigfd);
	return status;
}
