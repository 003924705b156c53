// SPDX-License-Identifier: GPL-2.0
/*
 * The management plane refuses what it must: attributes that break the
 * strict policy (unknown types, wrong sizes, NESTED on a scalar, trailing
 * garbage) with EINVAL; unknown VM ids with ENOENT; STOP_VM without
 * CAP_NET_ADMIN with EPERM; commands without a handler with EOPNOTSUPP.
 * And STOP_VM with the capability kicks a vCPU that is spinning in the
 * guest out with VIREO_EXIT_STOPPED, for good.
 */
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/netlink.h>

#include "vireo_test.h"

#define UNUSED_VM_ID	0xfffffff0U

static void guest_sync_done(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

static volatile uint64_t spin_count;

static void guest_spin(void)
{
	GUEST_SYNC(1);
	for (;;)
		spin_count++;
}

static size_t put_u32(void *buf, size_t off, size_t cap, uint16_t type,
		      uint32_t v)
{
	return nla_raw_put(buf, off, cap, type, &v, sizeof(v));
}

TEST(strict_policy_rejects_bad_attributes)
{
	uint8_t attrs[64], junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct vireo_vm *vm;
	struct vireo_nl nl;
	uint64_t id64;
	uint16_t id16;
	uint8_t id8;
	size_t n;

	ASSERT_EQ(0, vireo_nl_open(&nl));
	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	id64 = vm->id;
	id16 = vm->id;
	id8 = vm->id;

	/* Control: the well-formed raw request is accepted. */
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, vm->id);
	ASSERT_EQ(0, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
					  attrs, n));

	/* VM_ID is a u32: 1, 2 and 8 bytes are refused. */
	n = nla_raw_put(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, &id8, 1);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));
	n = nla_raw_put(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, &id16, 2);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));
	n = nla_raw_put(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, &id64, 8);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));

	/* NLA_F_NESTED on a scalar. */
	n = put_u32(attrs, 0, sizeof(attrs),
		    VIREO_NL_ATTR_VM_ID | NLA_F_NESTED, vm->id);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));

	/* Unknown attribute types next to a valid VM_ID. */
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, vm->id);
	n = put_u32(attrs, n, sizeof(attrs), VIREO_NL_ATTR_MAX + 1, 0);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, vm->id);
	n = put_u32(attrs, n, sizeof(attrs), 200, 0);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_UNSPEC, 0);
	n = put_u32(attrs, n, sizeof(attrs), VIREO_NL_ATTR_VM_ID, vm->id);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));

	/* Trailing bytes too short to be an attribute. */
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, vm->id);
	memcpy(attrs + n, junk, 2);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n + 2));

	/* VM ids start at 1: 0 is out of range. */
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, 0);
	EXPECT_EQ(-ERANGE, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));

	/* Output-only attributes are not accepted on input. */
	n = put_u32(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, vm->id);
	n = put_u32(attrs, n, sizeof(attrs), VIREO_NL_ATTR_OWNER_PID, getpid());
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						attrs, n));

	/* GET_VM as a doit needs VM_ID. */
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_VM, 0,
						NULL, 0));

	/* GET_STATS takes no attributes, but the policy still applies. */
	n = put_u32(attrs, 0, sizeof(attrs), 200, 0);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_STATS, 0,
						attrs, n));

	/* STOP_VM (we are privileged here) with a u64 VM_ID. */
	n = nla_raw_put(attrs, 0, sizeof(attrs), VIREO_NL_ATTR_VM_ID, &id64, 8);
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_STOP_VM, 0,
						attrs, n));
	/* STOP_VM without VM_ID. */
	EXPECT_EQ(-EINVAL, vireo_nl_request_raw(&nl, VIREO_NL_CMD_STOP_VM, 0,
						NULL, 0));

	/* Commands that take no request, and dumps of doit-only commands. */
	EXPECT_EQ(-EOPNOTSUPP, vireo_nl_request_raw(&nl, VIREO_NL_CMD_UNSPEC,
						    0, NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, vireo_nl_request_raw(&nl, VIREO_NL_CMD_EVENT,
						    0, NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, vireo_nl_request_raw(&nl, VIREO_NL_CMD_GET_STATS,
						    NLM_F_DUMP, NULL, 0));

	/* None of this touched the VM. */
	vm_free(vm);
	vireo_nl_close(&nl);
}

TEST(unknown_vm_is_enoent)
{
	struct vireo_nl_vm info;
	struct vireo_nl nl;

	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(-ENOENT, vireo_nl_find_vm(&nl, UNUSED_VM_ID, &info));
	EXPECT_EQ(-ENOENT, vireo_nl_get_vm(&nl, UNUSED_VM_ID, &info));
	EXPECT_EQ(-ENOENT, vireo_nl_stop_vm(&nl, UNUSED_VM_ID));
	vireo_nl_close(&nl);
}

/* Clear @cap from the effective, permitted and inheritable sets. */
static int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	uint32_t bit = 1U << (cap % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~bit;
	data[cap / 32].permitted &= ~bit;
	data[cap / 32].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -1;
	prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	return data[cap / 32].effective & bit ? -1 : 0;
}

/* Runs in a forked child: exit status 0 means every check held. */
static int unprivileged_checks(uint32_t vm_id)
{
	struct vireo_nl_stats st;
	struct vireo_nl_vm info;
	struct vireo_nl nl;
	int r;

	if (drop_capability(CAP_NET_ADMIN)) {
		test_log("cannot drop CAP_NET_ADMIN");
		return 10;
	}
	/* The socket is opened without the capability. */
	if (vireo_nl_open(&nl)) {
		test_log("cannot open the vireo family");
		return 11;
	}
	r = vireo_nl_stop_vm(&nl, vm_id);
	if (r != -EPERM) {
		test_log("unprivileged STOP_VM returned %d, expected -EPERM", r);
		return 12;
	}
	/* Reading needs no privilege. */
	r = vireo_nl_get_stats(&nl, &st);
	if (r) {
		test_log("unprivileged GET_STATS returned %d", r);
		return 13;
	}
	r = vireo_nl_get_vm(&nl, vm_id, &info);
	if (r) {
		test_log("unprivileged GET_VM returned %d", r);
		return 14;
	}
	vireo_nl_close(&nl);
	return 0;
}

TEST(stop_vm_requires_cap_net_admin)
{
	struct vireo_vcpu *vcpu;
	struct vireo_nl_vm info;
	struct vireo_vm *vm;
	struct vireo_nl nl;
	int status;
	pid_t pid;

	/* Starts with CAP_NET_ADMIN (root) and drops it in a child. */
	TEST_REQUIRE(geteuid() == 0);

	vm = vm_create_with_one_vcpu(&vcpu, guest_sync_done);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(unprivileged_checks(vm->id));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* The refused STOP_VM left the VM alone. */
	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &info));
	EXPECT_EQ(VIREO_VM_STATE_RUNNABLE, info.state);
	vireo_nl_close(&nl);
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

struct stopper {
	uint32_t vm_id;
	volatile uint64_t *guest_counter;
	uint64_t start;
	pthread_t vcpu_thread;
	volatile bool run_returned;
	int result;
	bool saw_progress;
	bool had_to_signal;
};

static void on_sigusr1(int sig)
{
}

static void *stopper_thread(void *arg)
{
	struct timespec ms = { .tv_nsec = 1000 * 1000 };
	uint64_t deadline = now_ms() + 10000;
	struct stopper *s = arg;
	struct vireo_nl nl;

	/* Stop only once the vCPU is visibly in the guest. */
	while (*s->guest_counter == s->start && now_ms() < deadline)
		nanosleep(&ms, NULL);
	s->saw_progress = *s->guest_counter != s->start;
	s->result = vireo_nl_open(&nl);
	if (!s->result) {
		s->result = vireo_nl_stop_vm(&nl, s->vm_id);
		vireo_nl_close(&nl);
	}
	/*
	 * STOP_VM must kick the vCPU out at once.  If it does not, get RUN
	 * back with a signal so that the test reports instead of hanging.
	 */
	deadline = now_ms() + 10000;
	while (!s->run_returned && now_ms() < deadline)
		nanosleep(&ms, NULL);
	while (!s->run_returned) {
		s->had_to_signal = true;
		pthread_kill(s->vcpu_thread, SIGUSR1);
		ms.tv_nsec = 50 * 1000 * 1000;
		nanosleep(&ms, NULL);
	}
	return NULL;
}

/* A RUN on a stopped VM returns STOPPED at once, every time, unchanged. */
static void expect_stopped_run(struct __test_metadata *_metadata,
			       struct vireo_vcpu *vcpu)
{
	uint64_t count = vcpu->run->exit_count;
	int r = __vcpu_run(vcpu);

	ASSERT_EQ(0, r) TH_LOG("RUN of a stopped VM: errno %d", errno);
	ASSERT_EQ(VIREO_EXIT_STOPPED, vcpu->run->exit_reason)
		TH_LOG("RUN of a stopped VM: exit %s",
		       exit_reason_str(vcpu->run->exit_reason));
	ASSERT_EQ(count, vcpu->run->exit_count);
}

TEST(stop_vm_stops_spinning_vcpu)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct vireo_vcpu *vcpu;
	struct vireo_nl_vm info;
	struct vireo_vm *vm;
	struct vireo_nl nl, ev;
	struct stopper s;
	pthread_t thread;
	uint64_t t0, count;
	int r, err;

	/* STOP_VM needs CAP_NET_ADMIN, which root has. */
	TEST_REQUIRE(geteuid() == 0);

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, vireo_nl_events_open(&ev));
	vm = vm_create_with_one_vcpu(&vcpu, guest_spin);
	vcpu_run_expect_sync(vcpu, 1);

	s = (struct stopper){
		.vm_id = vm->id,
		.guest_counter = guest_global(vm, spin_count),
		.start = *guest_global(vm, spin_count),
		.vcpu_thread = pthread_self(),
		.result = -1,
	};
	ASSERT_EQ(0, pthread_create(&thread, NULL, stopper_thread, &s));
	t0 = now_ms();
	r = __vcpu_run(vcpu);
	err = errno;
	s.run_returned = true;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_TRUE(s.saw_progress) TH_LOG("guest never spun");
	ASSERT_EQ(0, s.result);
	ASSERT_FALSE(s.had_to_signal)
		TH_LOG("RUN did not return within 10 s of STOP_VM");

	TH_LOG("RUN after STOP_VM: ret %d errno %d exit %s, after %llu ms",
	       r, r ? err : 0, exit_reason_str(vcpu->run->exit_reason),
	       (unsigned long long)(now_ms() - t0));
	/* The running vCPU is kicked out at once with STOPPED. */
	ASSERT_EQ(0, r);
	ASSERT_EQ(VIREO_EXIT_STOPPED, vcpu->run->exit_reason);

	/* It never runs again. */
	count = *s.guest_counter;
	expect_stopped_run(_metadata, vcpu);
	expect_stopped_run(_metadata, vcpu);
	ASSERT_EQ(count, *s.guest_counter);

	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &info));
	EXPECT_EQ(VIREO_VM_STATE_STOPPED, info.state);
	vireo_nl_close(&nl);
	EXPECT_EQ(0, vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_STOPPED,
					 vm->id, 5000));
	vireo_nl_close(&ev);
	vm_free(vm);
}

TEST(stop_idle_vm)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_nl nl;

	/* STOP_VM needs CAP_NET_ADMIN, which root has. */
	TEST_REQUIRE(geteuid() == 0);

	vm = vm_create_with_one_vcpu(&vcpu, guest_sync_done);
	vcpu_run_expect_sync(vcpu, 1);
	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_stop_vm(&nl, vm->id));
	vireo_nl_close(&nl);

	/* The guest would exit with DONE next; it must not run at all. */
	expect_stopped_run(_metadata, vcpu);

	/* Stopping again succeeds and changes nothing. */
	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_stop_vm(&nl, vm->id));
	vireo_nl_close(&nl);
	expect_stopped_run(_metadata, vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
