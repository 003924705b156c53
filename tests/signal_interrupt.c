// SPDX-License-Identifier: GPL-2.0
/*
 * A guest that never exits on its own is interrupted by a signal: RUN
 * returns -1/EINTR promptly with exit_reason VIREO_EXIT_INTR, and the guest
 * resumes where it was on the next RUN.  run->immediate_exit does the same
 * without entering the guest.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "vireo_test.h"

#define NR_INTERRUPTS	3

static volatile uint64_t spin_count;
static volatile uint64_t stop_spinning;

static void guest_spin(void)
{
	GUEST_SYNC(1);
	while (!stop_spinning)
		spin_count++;
	GUEST_SYNC(2);
	GUEST_DONE();
}

static volatile sig_atomic_t signals_handled;

static void on_sigusr1(int sig)
{
	signals_handled++;
}

struct kicker {
	pthread_t target;
	volatile uint64_t *guest_counter;	/* the guest's spin_count */
	uint64_t start;
	volatile bool run_returned;
	bool saw_progress;
};

/*
 * Wait until the guest is visibly spinning (its counter moves, so the vCPU
 * is in guest mode), then signal the vCPU thread until RUN has returned.
 */
static void *kicker_thread(void *arg)
{
	struct timespec ms = { .tv_nsec = 1000 * 1000 };
	struct kicker *k = arg;
	uint64_t deadline = now_ms() + 20000;

	while (*k->guest_counter == k->start && now_ms() < deadline)
		nanosleep(&ms, NULL);
	k->saw_progress = *k->guest_counter != k->start;
	while (!k->run_returned) {
		pthread_kill(k->target, SIGUSR1);
		ms.tv_nsec = 20 * 1000 * 1000;
		nanosleep(&ms, NULL);
	}
	return NULL;
}

TEST(signal_interrupts_spinning_guest)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	volatile uint64_t *count, *stop;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	pthread_t thread;
	int i, r, err;

	/* No SA_RESTART: RUN must come back to us. */
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	vm = vm_create_with_one_vcpu(&vcpu, guest_spin);
	count = guest_global(vm, spin_count);
	stop = guest_global(vm, stop_spinning);
	vcpu_run_expect_sync(vcpu, 1);

	for (i = 0; i < NR_INTERRUPTS; i++) {
		struct kicker k = {
			.target = pthread_self(),
			.guest_counter = count,
			.start = *count,
		};
		uint64_t t0, exits = vcpu->run->exit_count;

		ASSERT_EQ(0, pthread_create(&thread, NULL, kicker_thread, &k));
		t0 = now_ms();
		r = __vcpu_run(vcpu);
		err = errno;
		k.run_returned = true;
		ASSERT_EQ(0, pthread_join(thread, NULL));

		ASSERT_TRUE(k.saw_progress) TH_LOG("guest never spun");
		ASSERT_EQ(-1, r) TH_LOG("RUN returned %d, exit %s", r,
					exit_reason_str(vcpu->run->exit_reason));
		ASSERT_EQ(EINTR, err);
		ASSERT_EQ(VIREO_EXIT_INTR, vcpu->run->exit_reason);
		/* An interruption is not an exit of the guest. */
		ASSERT_EQ(exits, vcpu->run->exit_count);
		ASSERT_GT(signals_handled, 0);
		/* "Promptly": well within the kicker's 20 s patience. */
		ASSERT_LT(now_ms() - t0, 15000);
		/* The next round must see the counter move again: resumed. */
	}

	*stop = 1;
	vcpu_run_expect_sync(vcpu, 2);
	ASSERT_GT(*count, 0);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void guest_two_syncs(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(immediate_exit)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs before, after;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_two_syncs);
	vcpu_regs_get(vcpu, &before);

	vcpu->run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(VIREO_EXIT_INTR, vcpu->run->exit_reason);
	/* The guest did not run. */
	vcpu_regs_get(vcpu, &after);
	ASSERT_EQ(before.rip, after.rip);
	ASSERT_EQ(before.rsp, after.rsp);

	vcpu->run->immediate_exit = 0;
	vcpu_run_expect_sync(vcpu, 1);

	/* Also between two exits, then the guest carries on. */
	vcpu->run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(VIREO_EXIT_INTR, vcpu->run->exit_reason);
	vcpu->run->immediate_exit = 0;
	vcpu_run_expect_sync(vcpu, 2);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
