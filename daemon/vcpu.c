// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU run loop and the user-space exit handlers.
 *
 * Everything in the exit record is derived from guest behaviour, so it is
 * validated here before use and never asserted on: a value the module
 * should not have produced crashes the VM with a report, not the daemon.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"

typedef enum vcpu_action (*vcpu_exit_handler)(struct vcpu *vcpu, struct vireo_run *run);

static const char *const vcpu_exit_reason_names[VIREO_EXIT_REASON_MAX] = {
	[VIREO_EXIT_NONE] = "NONE",
	[VIREO_EXIT_IO] = "IO",
	[VIREO_EXIT_MMIO] = "MMIO",
	[VIREO_EXIT_HLT] = "HLT",
	[VIREO_EXIT_HYPERCALL] = "HYPERCALL",
	[VIREO_EXIT_SHUTDOWN] = "SHUTDOWN",
	[VIREO_EXIT_INTR] = "INTR",
	[VIREO_EXIT_UNKNOWN] = "UNKNOWN",
	[VIREO_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[VIREO_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[VIREO_EXIT_STOPPED] = "STOPPED",
};

const char *vcpu_exit_reason_name(unsigned int reason)
{
	if (reason < VIREO_EXIT_REASON_MAX && vcpu_exit_reason_names[reason])
		return vcpu_exit_reason_names[reason];
	return "invalid";
}

/*
 * The kernel text addresses among the 64 qwords at the guest's RSP: a
 * crude backtrace of a Linux guest (return addresses, and some stale
 * ones), enough to name what a hung vCPU is spinning in.
 */
static void vcpu_log_stack(struct vcpu *vcpu, enum log_level level, uint64_t rsp,
			   const struct vireo_sregs *sregs)
{
	char line[512];
	size_t len = 0;
	unsigned int found = 0;

	/* Long mode with 4-level paging only (no LA57). */
	if (!(sregs->efer & (1ULL << 10)) || (sregs->cr4 & (1ULL << 12)))
		return;
	for (unsigned int i = 0; i < 64 && found < 16; i++) {
		uint64_t gva = rsp + i * 8, gpa, v;

		if (!vm_guest_translate(vcpu->vm, sregs->cr3, gva, &gpa) ||
		    !vm_guest_read_u64(vcpu->vm, gpa, &v))
			break;
		if (v < 0xffffffff80000000ULL || v >= 0xffffffffff000000ULL)
			continue;
		len += snprintf(line + len, sizeof(line) - len, " %016" PRIx64, v);
		found++;
	}
	if (found)
		log_msg(level, "vm %s: vCPU %u: stack:%s", vcpu->vm->config.name, vcpu->id, line);
}

/* The highest vector set in the 256-bit ISR/TMR/IRR array at @off, or -1. */
static int lapic_highest(const struct vireo_lapic_state *s, unsigned int off)
{
	for (int word = 7; word >= 0; word--) {
		uint32_t bits = s->regs[(off + word * 0x10) / 4];

		if (bits)
			return word * 32 + 31 - __builtin_clz(bits);
	}
	return -1;
}

/* One line of the in-kernel LAPIC's state: what a hang usually hinges on. */
static void vcpu_log_lapic(struct vcpu *vcpu, enum log_level level)
{
	static const char *const modes[] = { "one-shot", "periodic", "tsc-deadline", "reserved" };
	struct vireo_lapic_state s;
	uint32_t lvtt;

	if (!vcpu->vm->irqchip)
		return;
	if (ioctl(vcpu->fd, VIREO_GET_LAPIC, &s) < 0) {
		log_msg(level, "vm %s: vCPU %u: LAPIC state unavailable: VIREO_GET_LAPIC: %s",
			vcpu->vm->config.name, vcpu->id, strerror(errno));
		return;
	}
	lvtt = s.regs[0x320 / 4];
	log_msg(level, "vm %s: vCPU %u: lapic svr %03x tpr %02x ppr %02x isr %d irr %d; timer %s%s vector %02x init %u cur %u tsc_deadline %" PRIu64,
		vcpu->vm->config.name, vcpu->id, s.regs[0xf0 / 4], s.regs[0x80 / 4],
		s.regs[0xa0 / 4], lapic_highest(&s, 0x100), lapic_highest(&s, 0x200),
		modes[(lvtt >> 17) & 3], (lvtt & (1U << 16)) ? " masked" : "", lvtt & 0xff,
		s.regs[0x380 / 4], s.regs[0x390 / 4], (uint64_t)s.tsc_deadline);
}

/* How many of the module's last world switches a register log shows. */
#define VCPU_LOG_TRACE	12

/* The module's record of the vCPU's last world switches, newest last. */
static void vcpu_log_exit_trace(struct vcpu *vcpu, enum log_level level)
{
	struct vireo_exit_trace *t = calloc(1, sizeof(*t));
	unsigned int first;

	if (!t)
		return;
	if (ioctl(vcpu->fd, VIREO_GET_EXIT_TRACE, t) < 0) {
		log_msg(level, "vm %s: vCPU %u: exit trace unavailable: VIREO_GET_EXIT_TRACE: %s",
			vcpu->vm->config.name, vcpu->id, strerror(errno));
		free(t);
		return;
	}
	first = t->count > VCPU_LOG_TRACE ? t->count - VCPU_LOG_TRACE : 0;
	log_msg(level, "vm %s: vCPU %u: last %u of %" PRIu64 " world switches (entry rip rflags event -> exit code int_info rip rflags xtimes):",
		vcpu->vm->config.name, vcpu->id, t->count - first, (uint64_t)t->total);
	for (unsigned int i = first; i < t->count; i++) {
		const struct vireo_exit_trace_entry *e = &t->entries[i];

		log_msg(level, "vm %s: vCPU %u: switch %d: rip %016" PRIx64 " %06" PRIx64 " %08" PRIx64 " -> %" PRIx64 " %08" PRIx64 " rip %016" PRIx64 " %06" PRIx64 " x%" PRIu64,
			vcpu->vm->config.name, vcpu->id, (int)i - (int)t->count + 1,
			(uint64_t)e->entry_rip, (uint64_t)e->entry_rflags, (uint64_t)e->event_inj,
			(uint64_t)e->exit_code, (uint64_t)e->exit_int_info,
			(uint64_t)e->exit_rip, (uint64_t)e->exit_rflags, (uint64_t)e->repeats + 1);
	}
	free(t);
}

void vcpu_log_registers(struct vcpu *vcpu, enum log_level level)
{
	const char *name = vcpu->vm->config.name;
	struct vireo_sregs sregs;
	struct vireo_regs regs;

	if (ioctl(vcpu->fd, VIREO_GET_REGS, &regs) < 0) {
		log_msg(level, "vm %s: vCPU %u: registers unavailable: VIREO_GET_REGS: %s",
			  name, vcpu->id, strerror(errno));
		return;
	}
	log_msg(level, "vm %s: vCPU %u: rip %016" PRIx64 " rflags %016" PRIx64 " rsp %016" PRIx64 " rbp %016" PRIx64,
		  name, vcpu->id, (uint64_t)regs.rip, (uint64_t)regs.rflags,
		  (uint64_t)regs.rsp, (uint64_t)regs.rbp);
	log_msg(level, "vm %s: vCPU %u: rax %016" PRIx64 " rbx %016" PRIx64 " rcx %016" PRIx64 " rdx %016" PRIx64,
		  name, vcpu->id, (uint64_t)regs.rax, (uint64_t)regs.rbx,
		  (uint64_t)regs.rcx, (uint64_t)regs.rdx);
	log_msg(level, "vm %s: vCPU %u: rsi %016" PRIx64 " rdi %016" PRIx64 " r8  %016" PRIx64 " r9  %016" PRIx64,
		  name, vcpu->id, (uint64_t)regs.rsi, (uint64_t)regs.rdi,
		  (uint64_t)regs.r8, (uint64_t)regs.r9);
	log_msg(level, "vm %s: vCPU %u: r10 %016" PRIx64 " r11 %016" PRIx64 " r12 %016" PRIx64 " r13 %016" PRIx64,
		  name, vcpu->id, (uint64_t)regs.r10, (uint64_t)regs.r11,
		  (uint64_t)regs.r12, (uint64_t)regs.r13);
	log_msg(level, "vm %s: vCPU %u: r14 %016" PRIx64 " r15 %016" PRIx64,
		  name, vcpu->id, (uint64_t)regs.r14, (uint64_t)regs.r15);
	if (ioctl(vcpu->fd, VIREO_GET_SREGS, &sregs) < 0)
		return;
	log_msg(level, "vm %s: vCPU %u: cs %04x base %" PRIx64 " l %u db %u; cr0 %" PRIx64 " cr3 %" PRIx64 " cr4 %" PRIx64 " efer %" PRIx64,
		  name, vcpu->id, sregs.cs.selector, (uint64_t)sregs.cs.base,
		  sregs.cs.l, sregs.cs.db, (uint64_t)sregs.cr0, (uint64_t)sregs.cr3,
		  (uint64_t)sregs.cr4, (uint64_t)sregs.efer);
	vcpu_log_stack(vcpu, level, regs.rsp, &sregs);
	vcpu_log_lapic(vcpu, level);
	vcpu_log_exit_trace(vcpu, level);
}

/* Logs 'summary' and the registers, then crashes the VM with 'summary'. */
static enum vcpu_action vcpu_fatal(struct vcpu *vcpu, const char *summary)
{
	/* The guest's last output first: it often says what went wrong. */
	pio_fast_sync(vcpu->vm, 1);
	log_error("vm %s: %s", vcpu->vm->config.name, summary);
	if (vcpu->fd >= 0)
		vcpu_log_registers(vcpu, LOG_LEVEL_ERROR);
	vm_crash(vcpu->vm, "%s", summary);
	return VCPU_FATAL;
}

static enum vcpu_action vcpu_exit_io(struct vcpu *vcpu, struct vireo_run *run)
{
	unsigned int size = run->io.size;
	char why[160];

	if ((size != 1 && size != 2 && size != 4) ||
	    (run->io.direction != VIREO_IO_IN && run->io.direction != VIREO_IO_OUT)) {
		snprintf(why, sizeof(why),
			 "vCPU %u: malformed IO exit (port 0x%x size %u direction %u) at RIP 0x%" PRIx64,
			 vcpu->id, run->io.port, size, run->io.direction, (uint64_t)run->rip);
		return vcpu_fatal(vcpu, why);
	}
	/* Writes the module queued at fast ports came first. */
	pio_fast_sync(vcpu->vm, run->io.queued);
	if (run->io.direction == VIREO_IO_OUT)
		io_bus_write(&vcpu->vm->pio, run->io.port, size, run->io.data & io_size_mask(size));
	else
		run->io.data = io_bus_read(&vcpu->vm->pio, run->io.port, size);
	return VCPU_RESUME;
}

static enum vcpu_action vcpu_exit_mmio(struct vcpu *vcpu, struct vireo_run *run)
{
	unsigned int len = run->mmio.len;
	char why[160];

	if (len != 1 && len != 2 && len != 4 && len != 8) {
		snprintf(why, sizeof(why),
			 "vCPU %u: malformed MMIO exit (gpa 0x%" PRIx64 " len %u) at RIP 0x%" PRIx64,
			 vcpu->id, (uint64_t)run->mmio.gpa, len, (uint64_t)run->rip);
		return vcpu_fatal(vcpu, why);
	}
	if (run->mmio.is_write)
		io_bus_write(&vcpu->vm->mmio, run->mmio.gpa, len, run->mmio.data & io_size_mask(len));
	else
		run->mmio.data = io_bus_read(&vcpu->vm->mmio, run->mmio.gpa, len);
	return VCPU_RESUME;
}

/*
 * There is no interrupt controller yet, so nothing could ever wake a halted
 * vCPU: HLT means this vCPU is done.  The VM ends when all vCPUs are.
 */
static enum vcpu_action vcpu_exit_hlt(struct vcpu *vcpu, struct vireo_run *run)
{
	log_debug("vm %s: vCPU %u halted at RIP 0x%" PRIx64,
		  vcpu->vm->config.name, vcpu->id, (uint64_t)run->rip);
	return VCPU_HALT;
}

/* No hypercalls are defined yet: every one fails with -1 in RAX. */
static enum vcpu_action vcpu_exit_hypercall(struct vcpu *vcpu, struct vireo_run *run)
{
	log_debug("vm %s: vCPU %u: unknown hypercall %" PRIu64 " at RIP 0x%" PRIx64,
		  vcpu->vm->config.name, vcpu->id, (uint64_t)run->hypercall.nr,
		  (uint64_t)run->rip);
	run->hypercall.ret = (uint64_t)-1;
	return VCPU_RESUME;
}

static enum vcpu_action vcpu_exit_intr(struct vcpu *vcpu, struct vireo_run *run)
{
	(void)run;
	/* A pause is handled at the head of the run loop. */
	return atomic_load(&vcpu->vm->stop_requested) ? VCPU_STOP : VCPU_RESUME;
}

static enum vcpu_action vcpu_exit_stopped(struct vcpu *vcpu, struct vireo_run *run)
{
	(void)run;
	/*
	 * Either VIREO_NL_CMD_STOP_VM, or another vCPU crashed the VM; in the
	 * second case that vCPU's report makes the VM "crashed" regardless.
	 */
	vm_request_stop(vcpu->vm, "stopped by the module (netlink VIREO_NL_CMD_STOP_VM)");
	return VCPU_STOP;
}

/* SHUTDOWN, UNKNOWN and FAIL_ENTRY carry the hardware's own report. */
static enum vcpu_action vcpu_exit_fatal_hw(struct vcpu *vcpu, struct vireo_run *run)
{
	static const char *const what[VIREO_EXIT_REASON_MAX] = {
		[VIREO_EXIT_SHUTDOWN] = "shutdown (triple fault)",
		[VIREO_EXIT_UNKNOWN] = "hardware exit the module does not handle",
		[VIREO_EXIT_FAIL_ENTRY] = "VM entry failed",
	};
	char why[320];

	snprintf(why, sizeof(why),
		 "vCPU %u: %s exit: %s at RIP 0x%" PRIx64 ": hw_exit_code 0x%" PRIx64
		 " info1 0x%" PRIx64 " info2 0x%" PRIx64 " int_info 0x%" PRIx64,
		 vcpu->id, vcpu_exit_reason_name(run->exit_reason),
		 what[run->exit_reason], (uint64_t)run->rip,
		 (uint64_t)run->hw.hw_exit_code, (uint64_t)run->hw.info1,
		 (uint64_t)run->hw.info2, (uint64_t)run->hw.int_info);
	return vcpu_fatal(vcpu, why);
}

static enum vcpu_action vcpu_exit_internal_error(struct vcpu *vcpu, struct vireo_run *run)
{
	static const char *const suberrors[] = {
		[VIREO_INTERNAL_DECODE] = "MMIO instruction not decodable",
		[VIREO_INTERNAL_GVA] = "instruction fetch address not mapped",
		[VIREO_INTERNAL_NOMEM] = "host memory exhausted",
		[VIREO_INTERNAL_STRING_IO] = "INS/OUTS not supported yet",
		[VIREO_INTERNAL_LOST_STATE] = "guest state lost at a #VMEXIT (host state in the VMCB)",
	};
	unsigned int sub = run->internal.suberror;
	unsigned int ninsn = run->internal.ninsn;
	char why[320], insn[3 * 16 + 1] = "";
	size_t at = 0;

	if (ninsn > sizeof(run->internal.insn))
		ninsn = sizeof(run->internal.insn);
	for (unsigned int i = 0; i < ninsn; i++)
		at += (size_t)snprintf(insn + at, sizeof(insn) - at, " %02x", run->internal.insn[i]);
	/*
	 * 'gpa' holds the port for STRING_IO and the hardware exit code for
	 * LOST_STATE (docs/uapi.md).
	 */
	static const char *const gpa_names[] = {
		[VIREO_INTERNAL_STRING_IO] = "port",
		[VIREO_INTERNAL_LOST_STATE] = "hardware exit code",
	};
	const char *gpa_name = sub < sizeof(gpa_names) / sizeof(gpa_names[0]) && gpa_names[sub] ?
			       gpa_names[sub] : "gpa";

	snprintf(why, sizeof(why),
		 "vCPU %u: INTERNAL_ERROR exit: %s (suberror %u) at RIP 0x%" PRIx64
		 " %s 0x%" PRIx64 " insn%s",
		 vcpu->id,
		 sub < sizeof(suberrors) / sizeof(suberrors[0]) && suberrors[sub] ?
		 suberrors[sub] : "unknown suberror",
		 sub, (uint64_t)run->rip, gpa_name,
		 (uint64_t)run->internal.gpa,
		 ninsn ? insn : " (none)");
	return vcpu_fatal(vcpu, why);
}

static const vcpu_exit_handler vcpu_exit_handlers[VIREO_EXIT_REASON_MAX] = {
	[VIREO_EXIT_IO] = vcpu_exit_io,
	[VIREO_EXIT_MMIO] = vcpu_exit_mmio,
	[VIREO_EXIT_HLT] = vcpu_exit_hlt,
	[VIREO_EXIT_HYPERCALL] = vcpu_exit_hypercall,
	[VIREO_EXIT_SHUTDOWN] = vcpu_exit_fatal_hw,
	[VIREO_EXIT_INTR] = vcpu_exit_intr,
	[VIREO_EXIT_UNKNOWN] = vcpu_exit_fatal_hw,
	[VIREO_EXIT_INTERNAL_ERROR] = vcpu_exit_internal_error,
	[VIREO_EXIT_FAIL_ENTRY] = vcpu_exit_fatal_hw,
	[VIREO_EXIT_STOPPED] = vcpu_exit_stopped,
};

enum vcpu_action vcpu_handle_exit(struct vcpu *vcpu)
{
	struct vireo_run *run = vcpu->run;
	unsigned int reason = run->exit_reason;
	char why[160];

	if (reason < VIREO_EXIT_REASON_MAX && vcpu_exit_handlers[reason])
		return vcpu_exit_handlers[reason](vcpu, run);
	snprintf(why, sizeof(why), "vCPU %u: unexpected exit reason %u (%s) at RIP 0x%" PRIx64,
		 vcpu->id, reason, vcpu_exit_reason_name(reason), (uint64_t)run->rip);
	return vcpu_fatal(vcpu, why);
}

static enum vcpu_action vcpu_run_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	char why[160];

	for (;;) {
		enum vcpu_action action;

		if (atomic_load(&vm->pause_requested) && !atomic_load(&vm->stop_requested)) {
			vm_vcpu_park(vm);
			/* The pause's kick set it; a later kick sets it again. */
			__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		}
		if (atomic_load(&vm->stop_requested))
			return VCPU_STOP;
		if (ioctl(vcpu->fd, VIREO_RUN, 0) < 0) {
			int err = errno;

			if (err == EINTR || err == EAGAIN)
				continue;	/* the loop head checks the stop flag */
			if (err == EIO)
				snprintf(why, sizeof(why),
					 "vCPU %u: VIREO_RUN: the module stopped the VM after a fatal exit (EIO)",
					 vcpu->id);
			else
				snprintf(why, sizeof(why), "vCPU %u: VIREO_RUN failed: %s",
					 vcpu->id, strerror(err));
			return vcpu_fatal(vcpu, why);
		}
		action = vcpu_handle_exit(vcpu);
		if (action != VCPU_RESUME)
			return action;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];
	sigset_t kick;

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	vcpu->outcome = vcpu_run_loop(vcpu);
	vm_vcpu_ended(vcpu->vm, vcpu->outcome == VCPU_HALT);	/* last access */
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;	/* only there to make VIREO_RUN return EINTR */
}

void vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: RUN must return */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_thread_start(struct vcpu *vcpu)
{
	int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (ret)
		return -ret;
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->thread_started && !pthread_equal(vcpu->thread, pthread_self()))
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}
