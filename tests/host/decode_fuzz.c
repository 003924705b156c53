// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target for vireo_decode_mmio() (kmod/decode.c).
 *
 * Input: one mode byte (DECODE_MODE_* in its low three bits, see
 * decode_host.h), then the instruction bytes, as many as the input has (at
 * most DECODE_FUZZ_MAX_BYTES: more than any instruction the decoder can
 * accept, so a decoder that reads too far still runs off the end).
 *
 * The bytes are decoded from a guarded buffer (guard.c) and the result
 * checked against invariants that hold for every input:
 *
 *  - the return value is 0 or -EINVAL;
 *  - an accepted instruction is 1..n bytes long and depends on those bytes
 *    only: decoding exactly them gives the same result, and every shorter
 *    prefix is refused; a refused input has no accepted prefix;
 *  - the widths, register and flags are those of one of the mov forms the
 *    decoder implements, worked out again here from the opcode, ModRM,
 *    REX and the operand-size rules (SDM vol. 1, 3.6; vol. 2A, 2.2.1);
 *  - with DECODE_FUZZ_CAPSTONE, Capstone (an independent disassembler)
 *    agrees on the length, the mnemonic, the memory operand's width, the
 *    direction and the register or immediate.
 *
 * A violation prints the input and aborts, which libFuzzer reports as a
 * crash and decode_replay as a failed run.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef DECODE_FUZZ_CAPSTONE
#include <capstone/capstone.h>
#endif

#include "decode_host.h"
#include "decode_fuzz.h"

unsigned long decode_fuzz_runs, decode_fuzz_accepted;

static const u8 *cur_input;
static size_t cur_size;

/* Async-signal-safe: also called from decode_replay's SIGSEGV handler. */
void decode_fuzz_print_input(void)
{
	static const char hex[] = "0123456789abcdef";
	static const char head[] = "decode_fuzz: input (mode byte, then instruction):";
	char line[sizeof(head) + 3 * (1 + DECODE_FUZZ_MAX_BYTES) + 1];
	size_t i, n = sizeof(head) - 1;

	memcpy(line, head, n);
	for (i = 0; i < cur_size && i < 1 + DECODE_FUZZ_MAX_BYTES; i++) {
		line[n++] = ' ';
		line[n++] = hex[cur_input[i] >> 4];
		line[n++] = hex[cur_input[i] & 15];
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

static void __attribute__((format(printf, 1, 2), noreturn))
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "decode_fuzz: invariant violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	decode_fuzz_print_input();
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

static int decode(const u8 *bytes, size_t n, const struct vireo_paging *pg,
		  struct vireo_mmio_insn *out)
{
	return vireo_decode_mmio(guarded_copy(bytes, n), n, pg, out);
}

static bool same_insn(const struct vireo_mmio_insn *a,
		      const struct vireo_mmio_insn *b)
{
	return a->len == b->len && a->access_size == b->access_size &&
	       a->reg == b->reg && a->reg_size == b->reg_size &&
	       a->is_write == b->is_write && a->high_byte == b->high_byte &&
	       a->has_imm == b->has_imm && a->sign_extend == b->sign_extend &&
	       a->imm == b->imm;
}

static bool is_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static u64 width_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/*
 * What the instruction's legacy prefixes, REX prefix and opcode say, read
 * independently of decode.c: the decoder must agree wherever it accepts.
 * Only the prefix order the decoder accepts (legacy prefixes, then at most
 * one REX right before the opcode) is modelled.
 */
struct model {
	unsigned int nprefix;	/* legacy prefixes */
	unsigned int opsize;	/* operand size from mode, 66 and REX.W */
	u8 rex;
	u8 op, op2;		/* op2: second opcode byte after 0f */
	u8 modrm;
};

static bool model_read(const u8 *b, size_t len, unsigned int mode,
		       struct model *m)
{
	bool opsize_prefix = false;
	size_t i = 0;

	memset(m, 0, sizeof(*m));
	while (i < len && (b[i] == 0x26 || b[i] == 0x2e || b[i] == 0x36 ||
			   b[i] == 0x3e || b[i] == 0x64 || b[i] == 0x65 ||
			   b[i] == 0x66 || b[i] == 0x67)) {
		if (b[i] == 0x66)
			opsize_prefix = true;
		i++;
	}
	m->nprefix = i;
	if (decode_mode_is_long(mode) && i < len && (b[i] & 0xf0) == 0x40)
		m->rex = b[i++];
	if (decode_mode_is_long(mode))
		m->opsize = (m->rex & 8) ? 8 : opsize_prefix ? 2 : 4;
	else
		m->opsize = (!!(mode & DECODE_MODE_CS_DB) ^ opsize_prefix) ? 4 : 2;
	if (i >= len)
		return false;
	m->op = b[i++];
	if (m->op == 0x0f) {
		if (i >= len)
			return false;
		m->op2 = b[i++];
	}
	if (i >= len)
		return false;
	m->modrm = b[i];
	return true;
}

static void check_model(const u8 *b, unsigned int mode,
			const struct vireo_mmio_insn *out)
{
	unsigned int reg_field, want_access, want_reg_size;
	bool want_write = false, want_sext = false, want_imm = false;
	struct model m;

	CHECK(model_read(b, out->len, mode, &m),
	      "accepted %u bytes that hold no opcode and ModRM", out->len);
	CHECK((m.modrm >> 6) != 3, "accepted a register operand (ModRM %02x)",
	      m.modrm);
	/* With 15 prefixes there is no room left for the opcode. */
	CHECK(m.nprefix < X86_MAX_INSN_LEN, "accepted %u prefixes", m.nprefix);
	reg_field = ((m.modrm >> 3) & 7) | ((m.rex & 4) ? 8 : 0);

	switch (m.op) {
	case 0x88: case 0x8a: case 0xc6:
		want_access = want_reg_size = 1;
		want_write = m.op != 0x8a;
		want_imm = m.op == 0xc6;
		break;
	case 0x89: case 0x8b: case 0xc7:
		want_access = want_reg_size = m.opsize;
		want_write = m.op != 0x8b;
		want_imm = m.op == 0xc7;
		break;
	case 0x0f:
		CHECK(m.op2 == 0xb6 || m.op2 == 0xb7 || m.op2 == 0xbe ||
		      m.op2 == 0xbf, "accepted opcode 0f %02x", m.op2);
		want_access = (m.op2 & 1) ? 2 : 1;
		want_reg_size = m.opsize;
		want_sext = m.op2 >= 0xbe;
		break;
	default:
		fuzz_fail("accepted opcode %02x", m.op);
	}
	if (want_imm)
		CHECK(((m.modrm >> 3) & 7) == 0, "accepted %02x /%u", m.op,
		      (m.modrm >> 3) & 7);

	CHECK(out->access_size == want_access, "access_size %u, expected %u",
	      out->access_size, want_access);
	CHECK(out->reg_size == want_reg_size, "reg_size %u, expected %u",
	      out->reg_size, want_reg_size);
	CHECK(out->is_write == want_write, "is_write %d, expected %d",
	      out->is_write, want_write);
	CHECK(out->has_imm == want_imm, "has_imm %d, expected %d",
	      out->has_imm, want_imm);
	CHECK(out->sign_extend == want_sext, "sign_extend %d, expected %d",
	      out->sign_extend, want_sext);
	if (!want_imm) {
		CHECK(out->reg == reg_field, "reg %u, expected %u", out->reg,
		      reg_field);
		/* AH..BH are reachable only without any REX prefix. */
		CHECK(out->high_byte == (want_reg_size == 1 && !m.rex &&
					 reg_field >= 4 && reg_field <= 7),
		      "high_byte %d for reg %u, REX %02x", out->high_byte,
		      reg_field, m.rex);
	}
}

/* Invariants of any accepted instruction, whatever its bytes. */
static void check_fields(unsigned int mode, size_t n,
			 const struct vireo_mmio_insn *out)
{
	bool lm = decode_mode_is_long(mode);

	CHECK(out->len >= 1 && out->len <= n, "len %u of %zu bytes", out->len, n);
	CHECK(is_size(out->access_size), "access_size %u", out->access_size);
	CHECK(is_size(out->reg_size), "reg_size %u", out->reg_size);
	CHECK(out->reg_size >= out->access_size, "reg_size %u < access_size %u",
	      out->reg_size, out->access_size);
	CHECK(out->reg < (lm ? 16 : 8), "reg %u outside %s mode", out->reg,
	      lm ? "64-bit" : "legacy");
	CHECK(lm || out->reg_size <= 4, "%u-byte register outside 64-bit mode",
	      out->reg_size);
	if (out->high_byte)
		CHECK(out->reg >= 4 && out->reg <= 7 && out->reg_size == 1 &&
		      out->access_size == 1 && !out->has_imm,
		      "high_byte with reg %u, reg_size %u, access_size %u",
		      out->reg, out->reg_size, out->access_size);
	/* Outside 64-bit mode byte registers 4..7 are always AH..BH. */
	if (!lm && !out->has_imm && out->reg_size == 1 && out->reg >= 4)
		CHECK(out->high_byte, "reg %u byte register without high_byte",
		      out->reg);
	if (out->is_write)
		CHECK(out->reg_size == out->access_size && !out->sign_extend,
		      "store with reg_size %u, access_size %u, sign_extend %d",
		      out->reg_size, out->access_size, out->sign_extend);
	if (out->sign_extend)
		CHECK(out->access_size <= 2, "movsx from %u bytes",
		      out->access_size);
	if (out->has_imm) {
		CHECK(out->is_write && out->reg == 0 && !out->high_byte,
		      "immediate store with is_write %d, reg %u, high_byte %d",
		      out->is_write, out->reg, out->high_byte);
		if (out->access_size <= 2)
			CHECK(!(out->imm & ~width_mask(out->access_size)),
			      "imm %#llx wider than %u bytes",
			      (unsigned long long)out->imm, out->access_size);
		else
			CHECK(out->imm == (u64)(s64)(s32)out->imm,
			      "imm %#llx is not a sign-extended imm32",
			      (unsigned long long)out->imm);
	} else {
		CHECK(out->imm == 0, "imm %#llx without has_imm",
		      (unsigned long long)out->imm);
	}
}

#ifdef DECODE_FUZZ_CAPSTONE
/* Register names as Capstone spells them, by width and number. */
static const char *const reg_names[4][16] = {
	{ "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
	  "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b" },
	{ "ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
	  "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w" },
	{ "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
	  "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d" },
	{ "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" },
};
static const char *const high_names[4] = { "ah", "ch", "dh", "bh" };

static const char *expected_reg_name(const struct vireo_mmio_insn *out)
{
	unsigned int w = out->reg_size == 1 ? 0 : out->reg_size == 2 ? 1 :
			 out->reg_size == 4 ? 2 : 3;

	if (out->high_byte)
		return high_names[out->reg - 4];
	return reg_names[w][out->reg];
}

static void check_capstone(const u8 *b, unsigned int mode,
			   const struct vireo_mmio_insn *out)
{
	static csh handles[3];
	static const cs_mode cs_modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
	unsigned int which, mem_op, other_op;
	const cs_x86_op *ops;
	const char *name;
	cs_insn *insn;
	size_t count;

	if (out->len > X86_MAX_INSN_LEN)
		return;		/* the CPU faults: see decode_test.c */
	which = decode_mode_is_long(mode) ? 2 : (mode & DECODE_MODE_CS_DB) ? 1 : 0;
	if (!handles[which]) {
		if (cs_open(CS_ARCH_X86, cs_modes[which], &handles[which]) ||
		    cs_option(handles[which], CS_OPT_DETAIL, CS_OPT_ON)) {
			fprintf(stderr, "decode_fuzz: cs_open failed\n");
			abort();
		}
	}
	count = cs_disasm(handles[which], b, out->len, 0, 1, &insn);
	CHECK(count == 1, "Capstone cannot disassemble the %u accepted bytes",
	      out->len);
	CHECK(insn->size == out->len, "length %u, Capstone says %u (%s %s)",
	      out->len, insn->size, insn->mnemonic, insn->op_str);
	if (out->sign_extend)
		CHECK(insn->id == X86_INS_MOVSX, "movsx, Capstone says %s %s",
		      insn->mnemonic, insn->op_str);
	else
		CHECK(insn->id == X86_INS_MOV || insn->id == X86_INS_MOVZX,
		      "mov/movzx, Capstone says %s %s", insn->mnemonic,
		      insn->op_str);
	CHECK(insn->detail->x86.op_count == 2, "Capstone: %u operands (%s %s)",
	      insn->detail->x86.op_count, insn->mnemonic, insn->op_str);
	ops = insn->detail->x86.operands;
	mem_op = ops[0].type == X86_OP_MEM ? 0 : 1;
	other_op = 1 - mem_op;
	CHECK(ops[mem_op].type == X86_OP_MEM, "Capstone: no memory operand (%s %s)",
	      insn->mnemonic, insn->op_str);
	CHECK(out->is_write == (mem_op == 0), "is_write %d, Capstone: %s %s",
	      out->is_write, insn->mnemonic, insn->op_str);
	CHECK(ops[mem_op].size == out->access_size,
	      "access_size %u, Capstone: %u (%s %s)", out->access_size,
	      ops[mem_op].size, insn->mnemonic, insn->op_str);
	if (out->has_imm) {
		CHECK(ops[other_op].type == X86_OP_IMM &&
		      !(((u64)ops[other_op].imm ^ out->imm) &
			width_mask(out->access_size)),
		      "imm %#llx, Capstone: %s %s", (unsigned long long)out->imm,
		      insn->mnemonic, insn->op_str);
	} else {
		name = ops[other_op].type == X86_OP_REG ?
		       cs_reg_name(handles[which], ops[other_op].reg) : NULL;
		CHECK(name && !strcmp(name, expected_reg_name(out)),
		      "register %s, Capstone: %s %s", expected_reg_name(out),
		      insn->mnemonic, insn->op_str);
	}
	cs_free(insn, count);
}
#endif /* DECODE_FUZZ_CAPSTONE */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vireo_mmio_insn out, again;
	struct vireo_paging pg;
	unsigned int mode;
	const u8 *bytes;
	size_t n, k;
	int ret;

	if (size < 1)
		return 0;
	cur_input = data;
	cur_size = size;
	mode = data[0] & DECODE_MODE_MASK;
	decode_mode_paging(mode, &pg);
	bytes = data + 1;
	n = min_t(size_t, size - 1, DECODE_FUZZ_MAX_BYTES);
	decode_fuzz_runs++;

	ret = decode(bytes, n, &pg, &out);
	CHECK(ret == 0 || ret == -EINVAL, "returned %d", ret);
	if (ret) {
		/* Nothing shorter may be accepted either. */
		for (k = 0; k < n; k++)
			CHECK(decode(bytes, k, &pg, &again) == -EINVAL,
			      "refused %zu bytes but accepted the first %zu", n, k);
		return 0;
	}
	decode_fuzz_accepted++;

	check_fields(mode, n, &out);
	check_model(bytes, mode, &out);
	CHECK(decode(bytes, out.len, &pg, &again) == 0 && same_insn(&out, &again),
	      "the first %u of %zu bytes decode differently", out.len, n);
	for (k = 0; k < out.len; k++)
		CHECK(decode(bytes, k, &pg, &again) == -EINVAL,
		      "a %u-byte instruction accepted truncated to %zu bytes",
		      out.len, k);
#ifdef DECODE_FUZZ_CAPSTONE
	check_capstone(bytes, mode, &out);
#endif
	return 0;
}
