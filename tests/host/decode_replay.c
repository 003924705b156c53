// SPDX-License-Identifier: GPL-2.0
/*
 * Runs the decoder fuzz target (decode_fuzz.c) without libFuzzer, so that
 * the suite can run it with any compiler:
 *
 *   decode_replay [-n COUNT] [-s SEED] [PATH...]
 *
 * Every PATH is one input file, or a directory whose regular files are
 * inputs (a libFuzzer corpus, or crash-* files it wrote).  Then COUNT
 * (default 200000) pseudo-random inputs, drawn from SEED (default: the
 * time; printed, so that a failing run can be repeated).  Most random
 * inputs are shaped like the instructions the decoder knows (prefixes, REX,
 * a mov opcode, ModRM, tail) so that acceptance paths get exercised; some
 * are plain noise.  An invariant violation aborts with the input printed.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decode_fuzz.h"

static uint64_t rng_state;

/* xorshift64* (Vigna): quality enough, and the same on every machine. */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned int rng_below(unsigned int n)
{
	return rng() % n;
}

static size_t random_input(uint8_t *buf, size_t cap)
{
	static const uint8_t prefixes[] = {
		0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67,
	};
	static const uint8_t opcodes[] = {
		0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x0f,
	};
	static const uint8_t opcodes_0f[] = { 0xb6, 0xb7, 0xbe, 0xbf };
	size_t n = 0, i, nprefix;

	buf[n++] = rng();			/* mode byte */
	if (rng_below(8) == 0) {		/* noise */
		n += rng_below(cap);
		for (i = 1; i < n; i++)
			buf[i] = rng();
		return n;
	}

	nprefix = rng_below(4) ? rng_below(4) : rng_below(17);
	for (i = 0; i < nprefix && n < cap; i++)
		buf[n++] = rng_below(16) ? prefixes[rng_below(sizeof(prefixes))]
					 : (uint8_t)rng();
	if (rng_below(2) && n < cap)
		buf[n++] = 0x40 | rng_below(16);
	if (n < cap) {
		if (rng_below(8)) {
			buf[n] = opcodes[rng_below(sizeof(opcodes))];
			if (buf[n++] == 0x0f && n < cap)
				buf[n++] = rng_below(8) ?
					   opcodes_0f[rng_below(sizeof(opcodes_0f))] :
					   (uint8_t)rng();
		} else {
			buf[n++] = rng();
		}
	}
	/* ModRM (a quarter of them register-direct), SIB, disp, imm. */
	for (i = 0; i < 9 && n < cap; i++)
		buf[n++] = rng();
	if (rng_below(4) == 0)
		n = 1 + rng_below(n);		/* truncated */
	return n;
}

/*
 * A decoder that reads out of bounds faults on the guard page: name the
 * input, then let the previous handler (a sanitizer's, or the default)
 * report the fault when the instruction faults again.
 */
static struct sigaction old_segv, old_bus;

static void on_fault(int sig)
{
	decode_fuzz_print_input();
	sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = on_fault };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
}

static int run_file(const char *path, unsigned long *files)
{
	uint8_t buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "decode_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	(*files)++;
	return 0;
}

static int run_path(const char *path, unsigned long *files)
{
	char child[4096];
	struct dirent *d;
	struct stat st;
	int ret = 0;
	DIR *dir;

	if (stat(path, &st)) {
		fprintf(stderr, "decode_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, files);
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "decode_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, d->d_name);
		if (stat(child, &st) || !S_ISREG(st.st_mode))
			continue;
		if (run_file(child, files))
			ret = -1;
	}
	closedir(dir);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long count = 200000, files = 0, i;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	uint8_t buf[1 + DECODE_FUZZ_MAX_BYTES];
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			count = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n COUNT] [-s SEED] [FILE|DIR...]\n",
				argv[0]);
			return 2;
		}
	}
	catch_faults();
	for (i = optind; i < (unsigned long)argc; i++)
		if (run_path(argv[i], &files))
			ret = 1;

	printf("decode_replay: seed %#" PRIx64 "\n", seed);
	fflush(stdout);
	rng_state = seed ? seed : 1;
	for (i = 0; i < count; i++)
		LLVMFuzzerTestOneInput(buf, random_input(buf, sizeof(buf)));

	printf("decode_replay: %lu files, %lu random inputs: %lu decoded, %lu accepted\n",
	       files, count, decode_fuzz_runs, decode_fuzz_accepted);
	return ret;
}
