// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of the ucall protocol: decode the guest's struct ucall from
 * guest memory and format assertions and printf-lite messages.
 */
#include <stdlib.h>

#include "vireo_vm.h"

uint64_t get_ucall(struct vireo_vcpu *vcpu, struct ucall *uc)
{
	struct vireo_run *run = vcpu->run;
	struct vireo_regs regs;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != VIREO_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != VIREO_IO_OUT)
		return UCALL_NONE;

	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT(vm_gpa_in_ram(vcpu->vm, regs.rdi, sizeof(*uc)),
		    "ucall with RDI=0x%llx outside guest RAM",
		    (unsigned long long)regs.rdi);
	memcpy(uc, vcpu->vm->ram + regs.rdi, sizeof(*uc));
	TEST_ASSERT(uc->cmd > UCALL_NONE && uc->cmd < UCALL_CMD_MAX &&
		    uc->nargs <= UCALL_MAX_ARGS,
		    "corrupt ucall at gpa 0x%llx: cmd=%llu nargs=%llu",
		    (unsigned long long)regs.rdi, (unsigned long long)uc->cmd,
		    (unsigned long long)uc->nargs);
	return uc->cmd;
}

const char *guest_string(struct vireo_vm *vm, uint64_t gva, char *buf,
			 size_t len)
{
	uint64_t max, n;

	if (!gva || gva >= vm->ram_bytes) {
		snprintf(buf, len, "<bad guest string 0x%llx>",
			 (unsigned long long)gva);
		return buf;
	}
	max = vm->ram_bytes - gva;
	if (max > len - 1)
		max = len - 1;
	n = strnlen((const char *)vm->ram + gva, max);
	memcpy(buf, vm->ram + gva, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Format one conversion spec (from '%' to its conversion character) with a
 * 64-bit argument, truncating the argument to the spec's length modifier.
 */
static int format_one(struct vireo_vm *vm, char *out, size_t len,
		      const char *spec, size_t spec_len, uint64_t arg)
{
	char conv = spec[spec_len - 1], fmt[32], str[256];
	int longs = 0, shorts = 0;
	size_t i;

	if (spec_len >= sizeof(fmt) - 4)
		return snprintf(out, len, "<bad format>");
	for (i = 1; i < spec_len - 1; i++) {
		if (spec[i] == 'l' || spec[i] == 'z' || spec[i] == 'j' ||
		    spec[i] == 't')
			longs++;
		else if (spec[i] == 'h')
			shorts++;
	}
	/* Rebuild the spec without its length modifiers, then add "ll". */
	for (i = 0; i < spec_len - 1 && i < sizeof(fmt) - 4; i++) {
		if (strchr("lhzjt", spec[i]))
			break;
		fmt[i] = spec[i];
	}
	fmt[i] = '\0';

	switch (conv) {
	case 'd': case 'i': {
		long long v = longs ? (long long)arg :
			      shorts == 1 ? (short)arg :
			      shorts >= 2 ? (signed char)arg : (int)arg;

		strcat(fmt, "lld");
		return snprintf(out, len, fmt, v);
	}
	case 'u': case 'x': case 'X': case 'o': {
		unsigned long long v = longs ? arg :
				       shorts == 1 ? (unsigned short)arg :
				       shorts >= 2 ? (unsigned char)arg :
				       (unsigned int)arg;
		char tail[4] = { 'l', 'l', conv, '\0' };

		strcat(fmt, tail);
		return snprintf(out, len, fmt, v);
	}
	case 'c':
		strcat(fmt, "c");
		return snprintf(out, len, fmt, (int)(unsigned char)arg);
	case 'p':
		return snprintf(out, len, "0x%llx", (unsigned long long)arg);
	case 's':
		strcat(fmt, "s");
		return snprintf(out, len, fmt,
				guest_string(vm, arg, str, sizeof(str)));
	default:
		return snprintf(out, len, "<%%%c?>", conv);
	}
}

const char *ucall_format_printf(struct vireo_vm *vm, const struct ucall *uc,
				char *buf, size_t len)
{
	char fmtbuf[512];
	const char *p;
	size_t n = 0;
	unsigned int arg = 0;

	guest_string(vm, uc->text, fmtbuf, sizeof(fmtbuf));
	buf[0] = '\0';
	for (p = fmtbuf; *p && n < len - 1; p++) {
		const char *spec = p;
		size_t spec_len;

		if (*p != '%') {
			buf[n++] = *p;
			continue;
		}
		if (p[1] == '%') {
			buf[n++] = '%';
			p++;
			continue;
		}
		/* flags, width, precision, length, conversion */
		p++;
		while (*p && strchr("-+ #0123456789.lhzjt", *p))
			p++;
		if (!*p)
			break;
		spec_len = p - spec + 1;
		n += format_one(vm, buf + n, len - n, spec, spec_len,
				arg < uc->nargs && arg < UCALL_MAX_ARGS ?
				uc->args[arg] : 0);
		arg++;
		if (n > len - 1)
			n = len - 1;
	}
	buf[n] = '\0';
	return buf;
}

const char *ucall_format_assert(struct vireo_vm *vm, const struct ucall *uc,
				char *buf, size_t len)
{
	char file[256], text[512];

	guest_string(vm, uc->file, file, sizeof(file));
	guest_string(vm, uc->text, text, sizeof(text));
	if (uc->nargs >= 2)
		snprintf(buf, len, "%s:%llu: %s (0x%llx vs 0x%llx)", file,
			 (unsigned long long)uc->line, text,
			 (unsigned long long)uc->args[0],
			 (unsigned long long)uc->args[1]);
	else
		snprintf(buf, len, "%s:%llu: %s", file,
			 (unsigned long long)uc->line, text);
	return buf;
}

void report_guest_assert(struct vireo_vm *vm, const struct ucall *uc,
			 const char *file, int line)
{
	char buf[1024];

	errno = 0;
	test_assert_fail(file, line, "guest assertion",
			 "guest assertion failed at %s",
			 ucall_format_assert(vm, uc, buf, sizeof(buf)));
}
