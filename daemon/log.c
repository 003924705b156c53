// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const char *log_program = "vireod";
static enum log_level log_threshold = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_init(const char *program, enum log_level threshold)
{
	log_program = program;
	log_threshold = threshold;
}

void log_set_threshold(enum log_level threshold)
{
	log_threshold = threshold;
}

int log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per message: stdio locks the stream, so lines from
	 * different vCPU threads never interleave. */
	fprintf(stderr, "%s: %s: %s\n", log_program, log_level_names[level], line);
}
