// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>

#include "errinfo.h"

void errinfo_set(struct errinfo *e, const char *class, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	e->class = class;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
}
