// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of guest exception and interrupt handling: the per-VM handler
 * table, the empty IDT for triple-fault tests, and the report of an
 * exception or interrupt no handler took (see exception.h).
 */
#include "exception.h"
#include "vireo_vm.h"

void vm_install_exception_handler(struct vireo_vm *vm, unsigned int vector,
				  guest_exception_handler_t handler)
{
	TEST_ASSERT(vector < GUEST_NR_EXCEPTIONS,
		    "exception vector %u out of range (0-%u)", vector,
		    GUEST_NR_EXCEPTIONS - 1);
	TEST_ASSERT(vm->image.nr_load, "VM has no guest image (barebones?)");
	(*guest_global(vm, guest_exception_handlers))[vector] = handler;
}

void vm_install_interrupt_handler(struct vireo_vm *vm, unsigned int vector,
				  guest_exception_handler_t handler)
{
	TEST_ASSERT(vector >= GUEST_NR_EXCEPTIONS && vector < GUEST_NR_VECTORS,
		    "interrupt vector %u out of range (%u-%u)", vector,
		    GUEST_NR_EXCEPTIONS, GUEST_NR_VECTORS - 1);
	TEST_ASSERT(vm->image.nr_load, "VM has no guest image (barebones?)");
	(*guest_global(vm, guest_exception_handlers))[vector] = handler;
}

void vcpu_load_empty_idt(struct vireo_vcpu *vcpu)
{
	struct vireo_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	vcpu_sregs_set(vcpu, &sregs);
}

const char *exception_name(uint64_t vector, char *buf, size_t len)
{
	static const char * const names[GUEST_NR_EXCEPTIONS] = {
		[DE_VECTOR] = "#DE", [DB_VECTOR] = "#DB",
		[NMI_VECTOR] = "NMI", [BP_VECTOR] = "#BP",
		[OF_VECTOR] = "#OF", [BR_VECTOR] = "#BR",
		[UD_VECTOR] = "#UD", [NM_VECTOR] = "#NM",
		[DF_VECTOR] = "#DF", [TS_VECTOR] = "#TS",
		[NP_VECTOR] = "#NP", [SS_VECTOR] = "#SS",
		[GP_VECTOR] = "#GP", [PF_VECTOR] = "#PF",
		[MF_VECTOR] = "#MF", [AC_VECTOR] = "#AC",
		[MC_VECTOR] = "#MC", [XM_VECTOR] = "#XM",
		[VE_VECTOR] = "#VE", [CP_VECTOR] = "#CP",
		[HV_VECTOR] = "#HV", [VC_VECTOR] = "#VC",
		[SX_VECTOR] = "#SX",
	};

	if (vector < GUEST_NR_EXCEPTIONS && names[vector])
		snprintf(buf, len, "%s", names[vector]);
	else if (vector >= GUEST_NR_EXCEPTIONS && vector < GUEST_NR_VECTORS)
		snprintf(buf, len, "interrupt 0x%02llx",
			 (unsigned long long)vector);
	else
		snprintf(buf, len, "vector %llu", (unsigned long long)vector);
	return buf;
}

const char *ucall_format_unhandled(const struct ucall *uc, char *buf,
				   size_t len)
{
	uint64_t vector = uc->args[0], error_code = uc->args[1];
	uint64_t rip = uc->args[2], cr2 = uc->args[3];
	char name[32], sym[128], extra[48] = "";
	/* exception_name() says "interrupt 0x40" by itself. */
	bool interrupt = vector >= GUEST_NR_EXCEPTIONS &&
			 vector < GUEST_NR_VECTORS;

	if (vector == PF_VECTOR)
		snprintf(extra, sizeof(extra), " cr2=0x%llx",
			 (unsigned long long)cr2);
	snprintf(buf, len,
		 "unhandled guest %s%s (vector %llu) error_code=0x%llx at rip=0x%llx <%s>%s",
		 interrupt ? "" : "exception ",
		 exception_name(vector, name, sizeof(name)),
		 (unsigned long long)vector, (unsigned long long)error_code,
		 (unsigned long long)rip, elf_symbolize(rip, sym, sizeof(sym)),
		 extra);
	return buf;
}

void report_guest_unhandled(const struct ucall *uc, const char *file,
			    int line)
{
	char buf[512];

	errno = 0;
	if (uc->args[0] >= GUEST_NR_EXCEPTIONS)
		test_assert_fail(file, line, "no unexpected guest interrupt",
				 "%s (install a handler with "
				 "vm_install_interrupt_handler())",
				 ucall_format_unhandled(uc, buf, sizeof(buf)));
	test_assert_fail(file, line, "no guest exception",
			 "%s (install a handler with "
			 "vm_install_exception_handler(), or use a *_safe() "
			 "helper)", ucall_format_unhandled(uc, buf, sizeof(buf)));
}
