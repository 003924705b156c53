/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPUs: one thread each, calling VIREO_RUN in a loop and dispatching the
 * exits user space handles through a table indexed by run->exit_reason.
 *
 * Kicking a vCPU out of the guest: set vm->stop_requested, set the exit
 * record's immediate_exit (so a thread about to enter RUN returns at once
 * with EINTR) and send VCPU_KICK_SIGNAL to the thread (so a thread inside
 * RUN returns with EINTR).  The signal is blocked everywhere except in vCPU
 * threads and has an empty handler.
 */
#ifndef VIREOD_VCPU_H
#define VIREOD_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "vireo.h"

struct vm;

#define VCPU_KICK_SIGNAL	SIGUSR1

enum vcpu_action {
	VCPU_RESUME,		/* enter the guest again */
	VCPU_HALT,		/* this vCPU is done (HLT) */
	VCPU_STOP,		/* the VM is stopping */
	VCPU_FATAL,		/* crash the VM (the handler reported why) */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;				/* -1 for a detached VM */
	struct vireo_run *run;		/* mmap'd exit record */
	size_t run_size;
	pthread_t thread;
	bool thread_started;		/* under vm->lock */
	bool thread_joined;		/* owner only */
	enum vcpu_action outcome;	/* written by the thread before it ends */
};

/* Installs the (empty) handler of VCPU_KICK_SIGNAL; call once at startup. */
void vcpu_signals_init(void);

int vcpu_thread_start(struct vcpu *vcpu);
/* Caller holds vm->lock and has set vm->stop_requested. */
void vcpu_kick(struct vcpu *vcpu);

/* Handles the exit now described in vcpu->run. */
enum vcpu_action vcpu_handle_exit(struct vcpu *vcpu);
const char *vcpu_exit_reason_name(unsigned int reason);
/*
 * Logs the vCPU's registers (GET_REGS, GET_SREGS) at 'level'.  Only from
 * the vCPU's own thread, or while the thread is parked or not in VIREO_RUN.
 */
void vcpu_log_registers(struct vcpu *vcpu, enum log_level level);

#endif
