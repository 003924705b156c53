// SPDX-License-Identifier: GPL-2.0
/*
 * The guest -> host call path end to end: GUEST_SYNC stages, arguments
 * passed to guest_code, GUEST_ASSERT reporting with file:line and values,
 * GUEST_PRINTF, and the exit counter of struct vireo_run.
 */
#include "vireo_test.h"

#define NR_STAGES 10

static void guest_stages(void)
{
	uint64_t i;

	for (i = 1; i <= NR_STAGES; i++)
		GUEST_SYNC(i);
	GUEST_DONE();
}

TEST(sync_stages_in_order)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t i, last_count = 0;

	vm = vm_create_with_one_vcpu(&vcpu, guest_stages);
	for (i = 1; i <= NR_STAGES; i++) {
		vcpu_run_expect_sync(vcpu, i);
		/* Every ucall is one more exit of this vCPU. */
		ASSERT_GT(vcpu->run->exit_count, last_count);
		last_count = vcpu->run->exit_count;
	}
	vcpu_run_expect_done(vcpu);
	ASSERT_GE(vcpu->run->exit_count, NR_STAGES + 1);
	vm_free(vm);
}

static void guest_args(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
		       uint64_t e, uint64_t f)
{
	GUEST_ASSERT_EQ(a, 0x1111111111111111ULL);
	GUEST_ASSERT_EQ(f, 0x6666666666666666ULL);
	GUEST_SYNC(a ^ b ^ c ^ d ^ e ^ f);
	GUEST_DONE();
}

TEST(guest_code_receives_arguments)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_args);
	vcpu_args_set(vcpu, 6, 0x1111111111111111ULL, 0x2222222222222222ULL,
		      0x3333333333333333ULL, 0x4444444444444444ULL,
		      0x5555555555555555ULL, 0x6666666666666666ULL);
	vcpu_run_expect_sync(vcpu, 0x1111111111111111ULL ^ 0x2222222222222222ULL ^
			     0x3333333333333333ULL ^ 0x4444444444444444ULL ^
			     0x5555555555555555ULL ^ 0x6666666666666666ULL);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static uint64_t guest_magic = 0x1234;

/* failing_assert_line must name the line of the GUEST_ASSERT_EQ below. */
static const uint64_t failing_assert_line = __LINE__ + 4;
static void guest_failing_assert(void)
{
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(guest_magic, 0x1234);
	GUEST_DONE();
}

TEST(guest_assert_reports_file_line_and_values)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	char buf[512];
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_failing_assert);
	/* The host changes the guest's copy: the guest's assertion fails. */
	guest_magic = 0x4321;
	sync_global_to_guest(vm, guest_magic);

	vcpu_run_expect_sync(vcpu, 1);
	vcpu_run(vcpu);
	ASSERT_EQ(UCALL_ASSERT, get_ucall(vcpu, &uc));
	ASSERT_EQ(failing_assert_line, uc.line);
	ASSERT_EQ(2, uc.nargs);
	EXPECT_EQ(0x4321, uc.args[0]);
	EXPECT_EQ(0x1234, uc.args[1]);
	guest_string(vm, uc.file, buf, sizeof(buf));
	EXPECT_STREQ(__FILE__, buf);
	guest_string(vm, uc.text, buf, sizeof(buf));
	EXPECT_STREQ("guest_magic == 0x1234", buf);
	ucall_format_assert(vm, &uc, buf, sizeof(buf));
	TH_LOG("reported as: %s", buf);
	vm_free(vm);
}

static void guest_returns(void)
{
	GUEST_SYNC(1);
}

TEST(guest_code_returning_is_reported)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	char buf[512];
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_returns);
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_run(vcpu);
	ASSERT_EQ(UCALL_ASSERT, get_ucall(vcpu, &uc));
	guest_string(vm, uc.text, buf, sizeof(buf));
	EXPECT_STREQ("guest code returned without GUEST_DONE()", buf);
	vm_free(vm);
}

static void guest_printf_code(void)
{
	GUEST_PRINTF("stage %d value 0x%lx name %s", 3, 0xdeadbeefUL, "vireo");
	GUEST_DONE();
}

TEST(guest_printf_reaches_host)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	char buf[256];
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_printf_code);
	ASSERT_EQ(0, __vcpu_run(vcpu));
	ASSERT_EQ(UCALL_PRINTF, get_ucall(vcpu, &uc));
	EXPECT_STREQ("stage 3 value 0xdeadbeef name vireo",
		     ucall_format_printf(vm, &uc, buf, sizeof(buf)));
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
