// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of the ucall protocol.  Everything in this file runs inside the
 * guest: no libc, no TLS, no SSE (built with the guest flags, see Makefile).
 */
#include <stdarg.h>

#include "ucall.h"

static inline void ucall_out(struct ucall *uc)
{
	/* The "memory" clobber makes the struct's stores land before OUT. */
	asm volatile("outb %%al, %%dx"
		     : : "a"(0), "d"(UCALL_PORT), "D"(uc) : "memory");
}

static void ucall_fill(struct ucall *uc, uint64_t cmd, const char *file,
		       uint64_t line, const char *text, int nargs, va_list ap)
{
	int i;

	if (nargs < 0)
		nargs = 0;
	if (nargs > UCALL_MAX_ARGS)
		nargs = UCALL_MAX_ARGS;
	uc->cmd = cmd;
	uc->nargs = nargs;
	uc->file = (uint64_t)file;
	uc->line = line;
	uc->text = (uint64_t)text;
	for (i = 0; i < UCALL_MAX_ARGS; i++)
		uc->args[i] = i < nargs ? va_arg(ap, uint64_t) : 0;
}

void ucall(uint64_t cmd, const char *file, uint64_t line, const char *text,
	   int nargs, ...)
{
	struct ucall uc;
	va_list ap;

	va_start(ap, nargs);
	ucall_fill(&uc, cmd, file, line, text, nargs, ap);
	va_end(ap);
	ucall_out(&uc);
}

void ucall_fatal(uint64_t cmd, const char *file, uint64_t line,
		 const char *text, int nargs, ...)
{
	struct ucall uc;
	va_list ap;

	va_start(ap, nargs);
	ucall_fill(&uc, cmd, file, line, text, nargs, ap);
	va_end(ap);
	ucall_out(&uc);
	/* The host must not resume after DONE or a failed assertion. */
	for (;;)
		asm volatile("hlt");
}

void guest_printf(const char *fmt, ...)
{
	const char *p;
	struct ucall uc;
	va_list ap;
	int n = 0;

	/* One argument per conversion; the host truncates per length. */
	for (p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		n++;
	}
	va_start(ap, fmt);
	ucall_fill(&uc, UCALL_PRINTF, 0, 0, fmt, n, ap);
	va_end(ap);
	ucall_out(&uc);
}

void guest_code_returned(void)
{
	ucall_fatal(UCALL_ASSERT, __FILE__, __LINE__,
		    "guest code returned without GUEST_DONE()", 0);
}
