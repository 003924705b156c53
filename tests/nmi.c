// SPDX-License-Identifier: GPL-2.0
/*
 * NMIs (docs/uapi.md 7.6): sent by the guest's own LAPIC (ICR delivery
 * mode NMI) and by user space (VIREO_NMI, also while the vCPU is in RUN).
 * An NMI is taken through IDT vector 2 whatever RFLAGS.IF says; a second
 * one raised inside the handler waits until the handler's IRET (SDM vol.
 * 3A, 6.7.1) and is then delivered once; an NMI ends a cli;hlt, so a VM
 * parked that way runs again.  Each delivery counts as
 * "kernel_nmi_injected".
 */
#include <pthread.h>
#include <unistd.h>

#include "vireo_test.h"

static uint64_t nmis;		/* NMIs taken */
static uint64_t in_handler;	/* 1 while the handler runs */
static uint64_t nested;		/* an NMI arrived inside the handler */
static uint64_t resend;		/* the handler sends itself one more NMI */

static void guest_nmi_handler(struct ex_regs *regs)
{
	if (READ_ONCE(in_handler))
		WRITE_ONCE(nested, 1);
	WRITE_ONCE(in_handler, 1);
	WRITE_ONCE(nmis, READ_ONCE(nmis) + 1);
	if (READ_ONCE(resend)) {
		WRITE_ONCE(resend, 0);
		xapic_send_ipi(0, APIC_DEST_SELF | APIC_DM_NMI);
		/* Held back however long the handler takes. */
		guest_udelay(20000);
		GUEST_ASSERT_EQ(READ_ONCE(nmis), 1);
	}
	WRITE_ONCE(in_handler, 0);
}

static struct vireo_vm *nmi_vm_create(struct vireo_vcpu **vcpu,
				      void *guest_code, bool irqchip)
{
	struct vireo_vm *vm = irqchip ?
		vm_create_irqchip_with_one_vcpu(vcpu, guest_code) :
		vm_create_with_one_vcpu(vcpu, guest_code);

	vm_install_exception_handler(vm, NMI_VECTOR, guest_nmi_handler);
	return vm;
}

/* ---- self NMI through the ICR, with interrupts off ---------------- */

static void __guest_code guest_self_nmi(void)
{
	xapic_enable();
	cli();
	WRITE_ONCE(resend, 1);
	xapic_send_ipi(0, APIC_DEST_SELF | APIC_DM_NMI);
	/* IF=0 does not hold an NMI back. */
	GUEST_ASSERT(guest_wait_until(READ_ONCE(nmis) >= 1, 2000));
	/* The one sent from inside the handler comes after its IRET. */
	GUEST_ASSERT(guest_wait_until(READ_ONCE(nmis) >= 2, 2000));
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nmis), 2);
	GUEST_ASSERT_EQ(READ_ONCE(nested), 0);
	/* Nothing of an NMI is left in the LAPIC's IRR or ISR. */
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, NMI_VECTOR));
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, NMI_VECTOR));
	GUEST_DONE();
}

TEST(self_nmi_ignores_if_and_does_not_nest)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = nmi_vm_create(&vcpu, guest_self_nmi, true);

	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(2, *guest_global(vm, nmis));
	EXPECT_EQ(0, *guest_global(vm, nested));
	EXPECT_EQ(2, vireo_nl_vm_stat(vm->id, "kernel_nmi_injected"));
	vm_free(vm);
}

/* ---- VIREO_NMI wakes a VM parked in cli;hlt ------------------------ */

extern const char after_cli_hlt[];

static void __guest_code guest_cli_hlt(void)
{
	xapic_enable();
	cli();
	asm volatile("hlt\n"
		     ".globl after_cli_hlt\n"
		     "after_cli_hlt:" : : : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(nmis), 1);
	GUEST_DONE();
}

TEST(nmi_ioctl_wakes_cli_hlt)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = nmi_vm_create(&vcpu, guest_cli_hlt, true);
	struct vireo_regs regs;

	/* The only vCPU parked with IF=0: nothing inside can wake it. */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)after_cli_hlt, regs.rip);

	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VIREO_NMI, NULL));
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(1, vireo_nl_vm_stat(vm->id, "kernel_nmi_injected"));
	vm_free(vm);
}

/* ---- VIREO_NMI from another thread while the vCPU runs ------------- */

static void __guest_code guest_wait_nmi(void)
{
	GUEST_SYNC(1);
	/* Busy, with interrupts off: only the NMI can end this. */
	cli();
	while (!READ_ONCE(nmis))
		cpu_relax();
	GUEST_DONE();
}

struct nmi_sender {
	struct vireo_vcpu *vcpu;
	int ret;
};

static void *nmi_sender_main(void *arg)
{
	struct nmi_sender *s = arg;

	usleep(100 * 1000);
	s->ret = __vcpu_ioctl(s->vcpu, VIREO_NMI, NULL);
	return NULL;
}

/* Without irqchip too: the NMI needs no LAPIC. */
TEST(nmi_ioctl_reaches_running_vcpu)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = nmi_vm_create(&vcpu, guest_wait_nmi, false);
	struct nmi_sender sender = { .ret = -1 };
	pthread_t thread;

	vcpu_run_expect_sync(vcpu, 1);
	sender.vcpu = vcpu;
	ASSERT_EQ(0, pthread_create(&thread, NULL, nmi_sender_main, &sender));
	vcpu_run_expect_done(vcpu);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, sender.ret);
	EXPECT_EQ(1, *guest_global(vm, nmis));
	EXPECT_EQ(1, vireo_nl_vm_stat(vm->id, "kernel_nmi_injected"));
	vm_free(vm);
}

TEST(nmi_ioctl_rejects_argument)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_wait_nmi);

	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_NMI, (void *)1));
	EXPECT_EQ(EINVAL, errno);
	vm_free(vm);
}

TEST_HARNESS_MAIN
