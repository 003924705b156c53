// SPDX-License-Identifier: GPL-2.0
/*
 * fake_vireo.so: a test double of the Vireo device at the syscall boundary,
 * for exercising vireod's VM and vCPU-thread lifecycle on hosts where the
 * module cannot run.  Loaded with LD_PRELOAD; vireod is pointed at it with
 * `--device /fake/vireo`.  It is not an emulator and tests nothing about
 * the module: it answers the uapi ioctls the way uapi/vireo.h specifies and
 * turns a tiny text script, found in guest RAM at CS.base + RIP, into exits.
 *
 * VM and vCPU fds are memfds, so vireod's mmap() of guest RAM and of the
 * exit record are real shared mappings.  Script lines, one per RUN step:
 *
 *   out TEXT     one IO OUT exit to 0x3f8 per byte of TEXT, then '\n'
 *                ('#' in TEXT becomes the vCPU id)
 *   lsr          an IN from 0x3fd; the next RUN checks the answer is 0x60
 *   hypercall    a HYPERCALL exit; the next RUN checks RAX came back as -1
 *   mmio         an MMIO read at 0xfee00000; the next RUN checks all-ones
 *   hlt          a HLT exit
 *   shutdown     a SHUTDOWN exit (hw_exit_code 0x7f)
 *   spin         stay in the guest until a signal: RUN returns EINTR
 *   reset N      while fewer than N resets were done in this process, an
 *                IO OUT of 0xfe to the i8042 command port 0x64 (a guest
 *                reset request); afterwards nothing (the next line runs)
 *   @N LINE      only vCPU N runs LINE; the others skip it
 *
 * A failed check ends in a SHUTDOWN exit with hw_exit_code 0xbad.
 * In a VM created with VIREO_VM_FLAG_IRQCHIP, vCPUs other than 0 are in
 * wait-for-SIPI, and since nothing here sends one, they behave as "spin".
 * FAKE_VIREO_API=N makes VIREO_GET_API_VERSION return N.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vireo.h"

#define FAKE_DEVICE	"/fake/vireo"
#define FAKE_MAX_FD	4096
#define FAKE_RUN_SIZE	4096

enum fake_kind { FAKE_NONE, FAKE_SYS, FAKE_VM, FAKE_VCPU };
enum fake_check { CHECK_NONE, CHECK_LSR, CHECK_HYPERCALL, CHECK_MMIO };

struct fake_vm {
	uint8_t *ram;
	uint64_t ram_bytes;
	uint32_t flags;
	uint32_t id;
	uint32_t nr_vcpus;
};

struct fake_vcpu {
	struct fake_vm *vm;
	uint32_t id;
	struct vireo_run *run;
	struct vireo_regs regs;
	struct vireo_sregs sregs;
	size_t line;		/* offset of the current script line */
	size_t column;		/* progress within an "out" line */
	enum fake_check check;
};

static struct {
	enum fake_kind kind;
	void *obj;
} fake_fds[FAKE_MAX_FD];
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t fake_next_vm_id = 1;

static int (*real_open)(const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_close)(int);

static void fake_init(void)
{
	if (!real_open) {
		real_open = dlsym(RTLD_NEXT, "open");
		real_ioctl = dlsym(RTLD_NEXT, "ioctl");
		real_close = dlsym(RTLD_NEXT, "close");
	}
}

static int fake_new_fd(const char *name, size_t size, enum fake_kind kind, void *obj)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fd >= FAKE_MAX_FD || ftruncate(fd, (off_t)size)) {
		real_close(fd);
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&fake_lock);
	fake_fds[fd].kind = kind;
	fake_fds[fd].obj = obj;
	pthread_mutex_unlock(&fake_lock);
	return fd;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	fake_init();
	if (!strcmp(path, FAKE_DEVICE))
		return fake_new_fd("fake-vireo", 0, FAKE_SYS, NULL);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return real_open(path, flags, mode);
}

int close(int fd)
{
	fake_init();
	if (fd >= 0 && fd < FAKE_MAX_FD) {
		pthread_mutex_lock(&fake_lock);
		fake_fds[fd].kind = FAKE_NONE;	/* objects leak: tests are short */
		pthread_mutex_unlock(&fake_lock);
	}
	return real_close(fd);
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static int sys_ioctl(unsigned long req, unsigned long arg)
{
	const struct vireo_vm_config *cfg = (const void *)arg;
	struct fake_vm *vm;
	int fd;

	switch (req) {
	case VIREO_GET_API_VERSION:
		return getenv("FAKE_VIREO_API") ? atoi(getenv("FAKE_VIREO_API")) : VIREO_API_VERSION;
	case VIREO_GET_RUN_SIZE:
		return FAKE_RUN_SIZE;
	case VIREO_CREATE_VM:
		if ((cfg->flags & ~VIREO_VM_FLAGS_ALL) || cfg->reserved ||
		    cfg->ram_bytes % VIREO_PAGE_SIZE ||
		    cfg->ram_bytes < VIREO_MIN_RAM_BYTES || cfg->ram_bytes > VIREO_MAX_RAM_BYTES)
			return fail(EINVAL);
		vm = calloc(1, sizeof(*vm));
		vm->ram_bytes = cfg->ram_bytes;
		vm->flags = cfg->flags;
		fd = fake_new_fd("fake-vm", cfg->ram_bytes, FAKE_VM, vm);
		if (fd < 0)
			return -1;
		vm->ram = mmap(NULL, vm->ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		pthread_mutex_lock(&fake_lock);
		vm->id = fake_next_vm_id++;
		pthread_mutex_unlock(&fake_lock);
		return fd;
	}
	return fail(ENOTTY);
}

static int vm_ioctl(struct fake_vm *vm, unsigned long req, unsigned long arg)
{
	const struct vireo_cpuid *cpuid = (const void *)arg;
	struct vireo_vm_info *info = (void *)arg;
	struct fake_vcpu *vcpu;
	int fd;

	switch (req) {
	case VIREO_GET_VM_INFO:
		memset(info, 0, sizeof(*info));
		info->vm_id = vm->id;
		info->nr_vcpus = vm->nr_vcpus;
		info->ram_bytes = vm->ram_bytes;
		return 0;
	case VIREO_SET_CPUID:
		/* Refuse a policy without the Vireo signature: vireod must send it. */
		if (cpuid->nent > VIREO_MAX_CPUID_ENTRIES || cpuid->reserved)
			return fail(EINVAL);
		for (uint32_t i = 0; i < cpuid->nent; i++)
			if (cpuid->entries[i].function == 0x40000000 &&
			    !memcmp(&cpuid->entries[i].ebx, "Vire", 4))
				return 0;
		return fail(EINVAL);
	case VIREO_CREATE_VCPU:
		if (arg >= VIREO_MAX_VCPUS)
			return fail(EINVAL);
		vcpu = calloc(1, sizeof(*vcpu));
		vcpu->vm = vm;
		vcpu->id = (uint32_t)arg;
		fd = fake_new_fd("fake-vcpu", FAKE_RUN_SIZE, FAKE_VCPU, vcpu);
		if (fd < 0)
			return -1;
		vcpu->run = mmap(NULL, FAKE_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		__atomic_fetch_add(&vm->nr_vcpus, 1, __ATOMIC_SEQ_CST);
		return fd;
	}
	return fail(ENOTTY);
}

/* Blocks until a signal is delivered, like a guest that never exits. */
static int fake_spin(struct vireo_run *run)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	/* A kick that came before the block left immediate_exit set; one
	 * that comes after stays pending until sigsuspend() takes it. */
	if (!__atomic_load_n(&run->immediate_exit, __ATOMIC_SEQ_CST)) {
		sigset_t wait = old;

		sigdelset(&wait, SIGUSR1);
		sigsuspend(&wait);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	run->exit_reason = VIREO_EXIT_INTR;
	return fail(EINTR);
}

static int fake_exit(struct fake_vcpu *vcpu, uint32_t reason)
{
	vcpu->run->exit_reason = reason;
	vcpu->run->rip = vcpu->line;
	vcpu->run->exit_count++;
	return 0;
}

static bool fake_check_ok(struct fake_vcpu *vcpu)
{
	struct vireo_run *run = vcpu->run;
	enum fake_check check = vcpu->check;

	vcpu->check = CHECK_NONE;
	return check == CHECK_NONE ||
	       (check == CHECK_LSR && run->io.data == 0x60) ||
	       (check == CHECK_HYPERCALL && run->hypercall.ret == (uint64_t)-1) ||
	       (check == CHECK_MMIO && run->mmio.data == 0xffffffff);
}

static int vcpu_run(struct fake_vcpu *vcpu)
{
	struct vireo_run *run = vcpu->run;
	uint64_t base = vcpu->sregs.cs.base + vcpu->regs.rip;
	const char *script, *line, *end;
	size_t len;

	if (__atomic_load_n(&run->immediate_exit, __ATOMIC_SEQ_CST)) {
		run->exit_reason = VIREO_EXIT_INTR;
		return fail(EINTR);
	}
	if (!fake_check_ok(vcpu)) {
		memset(&run->io, 0, sizeof(run->raw));
		run->hw.hw_exit_code = 0xbad;
		return fake_exit(vcpu, VIREO_EXIT_SHUTDOWN);
	}
	memset(&run->io, 0, sizeof(run->raw));
	if ((vcpu->vm->flags & VIREO_VM_FLAG_IRQCHIP) && vcpu->id != 0)
		return fake_spin(run);
	if (base >= vcpu->vm->ram_bytes)
		return fake_exit(vcpu, VIREO_EXIT_INTERNAL_ERROR);
	script = (const char *)vcpu->vm->ram + base;
	for (;;) {
		line = script + vcpu->line;
		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		if (!*line) {
			run->internal.suberror = VIREO_INTERNAL_GVA;
			return fake_exit(vcpu, VIREO_EXIT_INTERNAL_ERROR);
		}
		if (line[0] == '@' && (uint32_t)atoi(line + 1) != vcpu->id) {
			vcpu->line += len + (end ? 1 : 0);
			continue;
		}
		if (line[0] == '@')
			line = strchr(line, ' ') ? strchr(line, ' ') + 1 : line + len;
		break;
	}
	if (!strncmp(line, "out ", 4)) {
		size_t text_len = len - (size_t)(line + 4 - (script + vcpu->line));
		char c = vcpu->column < text_len ? line[4 + vcpu->column] : '\n';

		if (c == '#')
			c = (char)('0' + vcpu->id % 10);
		run->io.direction = VIREO_IO_OUT;
		run->io.size = 1;
		run->io.port = 0x3f8;
		run->io.data = (uint8_t)c;
		if (vcpu->column++ == text_len) {
			vcpu->column = 0;
			vcpu->line += len + (end ? 1 : 0);
		}
		return fake_exit(vcpu, VIREO_EXIT_IO);
	}
	if (!strncmp(line, "spin", 4))
		return fake_spin(run);
	vcpu->line += len + (end ? 1 : 0);
	if (!strncmp(line, "reset ", 6)) {
		static int resets_done;	/* across the VMs of this process */

		if (__atomic_fetch_add(&resets_done, 1, __ATOMIC_SEQ_CST) >= atoi(line + 6))
			return vcpu_run(vcpu);	/* the next line */
		run->io.direction = VIREO_IO_OUT;
		run->io.size = 1;
		run->io.port = 0x64;
		run->io.data = 0xfe;
		return fake_exit(vcpu, VIREO_EXIT_IO);
	}
	if (!strncmp(line, "lsr", 3)) {
		run->io.direction = VIREO_IO_IN;
		run->io.size = 1;
		run->io.port = 0x3fd;
		vcpu->check = CHECK_LSR;
		return fake_exit(vcpu, VIREO_EXIT_IO);
	}
	if (!strncmp(line, "hypercall", 9)) {
		run->hypercall.nr = 1;
		vcpu->check = CHECK_HYPERCALL;
		return fake_exit(vcpu, VIREO_EXIT_HYPERCALL);
	}
	if (!strncmp(line, "mmio", 4)) {
		run->mmio.gpa = 0xfee00000;
		run->mmio.len = 4;
		vcpu->check = CHECK_MMIO;
		return fake_exit(vcpu, VIREO_EXIT_MMIO);
	}
	if (!strncmp(line, "hlt", 3))
		return fake_exit(vcpu, VIREO_EXIT_HLT);
	run->hw.hw_exit_code = 0x7f;	/* "shutdown" and anything unknown */
	return fake_exit(vcpu, VIREO_EXIT_SHUTDOWN);
}

static int vcpu_ioctl(struct fake_vcpu *vcpu, unsigned long req, unsigned long arg)
{
	switch (req) {
	case VIREO_SET_REGS:
		memcpy(&vcpu->regs, (void *)arg, sizeof(vcpu->regs));
		return 0;
	case VIREO_GET_REGS:
		memcpy((void *)arg, &vcpu->regs, sizeof(vcpu->regs));
		return 0;
	case VIREO_SET_SREGS:
		memcpy(&vcpu->sregs, (void *)arg, sizeof(vcpu->sregs));
		return 0;
	case VIREO_GET_SREGS:
		memcpy((void *)arg, &vcpu->sregs, sizeof(vcpu->sregs));
		return 0;
	case VIREO_RUN:
		return vcpu_run(vcpu);
	}
	return fail(ENOTTY);
}

int ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	enum fake_kind kind = FAKE_NONE;
	void *obj = NULL;
	va_list ap;

	fake_init();
	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (fd >= 0 && fd < FAKE_MAX_FD) {
		pthread_mutex_lock(&fake_lock);
		kind = fake_fds[fd].kind;
		obj = fake_fds[fd].obj;
		pthread_mutex_unlock(&fake_lock);
	}
	switch (kind) {
	case FAKE_SYS:
		return sys_ioctl(req, arg);
	case FAKE_VM:
		return vm_ioctl(obj, req, arg);
	case FAKE_VCPU:
		return vcpu_ioctl(obj, req, arg);
	default:
		return real_ioctl(fd, req, arg);
	}
}
