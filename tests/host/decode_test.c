// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of vireo_decode_mmio() (kmod/decode.c, compiled unchanged), as
 * one TAP 13 stream.
 *
 *   decode_test                     run the tests
 *   decode_test --write-corpus DIR  write every vector as a fuzz input
 *                                   (mode byte + bytes) into DIR
 *
 * Each vector is an instruction in one processor mode and what the decoder
 * must make of it.  Accepted vectors are also decoded truncated at every
 * length (which must be refused) and followed by unrelated bytes (which
 * must not change the result).  All decoding reads from a buffer that ends
 * at an unmapped page (guard.c), so a read past the given length faults.
 * Then come exhaustive sweeps: every ModRM and SIB byte in every address
 * size, every one- and two-byte opcode, every ModRM.reg of c6/c7, every
 * register-direct ModRM, and prefix counts.
 *
 * Encodings: SDM vol. 2A, 2.1 (format, prefixes, ModRM/SIB tables 2-1..2-3)
 * and 2.2.1 (REX); the operand-size rules: SDM vol. 1, 3.6.1 and 3.7.5.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "decode_host.h"

/* ---- TAP ------------------------------------------------------------- */

static unsigned int tap_n, tap_failed;

static void __attribute__((format(printf, 3, 4)))
tap_result(bool pass, const char *todo, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!pass && !todo)
		tap_failed++;
	printf("%sok %u ", pass ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (todo)
		printf(" # TODO %s", todo);
	printf("\n");
}

static void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- decoding helpers ------------------------------------------------- */

#define INSN_BUF	32

static const char *const mode_names[8] = {
	[DECODE_MODE_REAL] = "16-bit",
	[DECODE_MODE_PROT32] = "32-bit",
	[DECODE_MODE_COMPAT16] = "compat16",
	[DECODE_MODE_COMPAT32] = "compat32",
	[DECODE_MODE_CS_L] = "16-bit(L without LMA)",
	[DECODE_MODE_CS_L | DECODE_MODE_CS_DB] = "32-bit(L without LMA)",
	[DECODE_MODE_LONG] = "64-bit",
	[DECODE_MODE_LONG | DECODE_MODE_CS_DB] = "64-bit(D set)",
};

/* Decode @n bytes from the guarded buffer; @out starts out as garbage. */
static int decode(unsigned int mode, const u8 *bytes, size_t n,
		  struct vireo_mmio_insn *out)
{
	struct vireo_paging pg;

	decode_mode_paging(mode, &pg);
	memset(out, 0xa5, sizeof(*out));
	return vireo_decode_mmio(guarded_copy(bytes, n), n, &pg, out);
}

static size_t parse_hex(const char *hex, u8 *buf)
{
	size_t n = 0;
	char *end;

	while (*hex) {
		unsigned long v = strtoul(hex, &end, 16);

		if (end == hex || n == INSN_BUF) {
			fprintf(stderr, "decode_test: bad vector '%s'\n", hex);
			exit(1);
		}
		buf[n++] = v;
		hex = end;
		while (*hex == ' ')
			hex++;
	}
	return n;
}

static void diag_insn(const char *what, const struct vireo_mmio_insn *i)
{
	diag("%s: len %u access_size %u reg %u reg_size %u is_write %d high_byte %d has_imm %d sign_extend %d imm %#llx",
	     what, i->len, i->access_size, i->reg, i->reg_size, i->is_write,
	     i->high_byte, i->has_imm, i->sign_extend,
	     (unsigned long long)i->imm);
}

/* Equal, comparing the immediate only as wide as the store. */
static bool insn_equal(const struct vireo_mmio_insn *a,
		       const struct vireo_mmio_insn *b)
{
	u64 mask = a->access_size >= 8 ? ~0ULL :
		   (1ULL << (a->access_size * 8)) - 1;

	return a->len == b->len && a->access_size == b->access_size &&
	       a->reg == b->reg && a->reg_size == b->reg_size &&
	       a->is_write == b->is_write && a->high_byte == b->high_byte &&
	       a->has_imm == b->has_imm && a->sign_extend == b->sign_extend &&
	       !((a->imm ^ b->imm) & mask);
}

/* ---- vectors ---------------------------------------------------------- */

struct vector {
	const char *what;
	unsigned int mode;
	const char *hex;
	bool refuse;		/* must be refused (-EINVAL) */
	bool may_refuse;	/* refusing is fine; accepting must be right */
	const char *todo;	/* known problem: TAP TODO */
	struct vireo_mmio_insn want;
};

#define LONG	DECODE_MODE_LONG
#define P32	DECODE_MODE_PROT32
#define REAL	DECODE_MODE_REAL
#define CMP32	DECODE_MODE_COMPAT32
#define CMP16	DECODE_MODE_COMPAT16
#define L_NOLMA	(DECODE_MODE_CS_L | DECODE_MODE_CS_DB)

/* Store of register @r, @a bytes wide. */
#define ST(l, a, r)	.want = { .len = l, .access_size = a, .reg = r, \
				  .reg_size = a, .is_write = true }
/* Store of AH/CH/DH/BH (@r 4..7). */
#define STH(l, r)	.want = { .len = l, .access_size = 1, .reg = r, \
				  .reg_size = 1, .is_write = true, \
				  .high_byte = true }
#define LD(l, a, r)	.want = { .len = l, .access_size = a, .reg = r, \
				  .reg_size = a }
#define LDH(l, r)	.want = { .len = l, .access_size = 1, .reg = r, \
				  .reg_size = 1, .high_byte = true }
#define STI(l, a, i)	.want = { .len = l, .access_size = a, .reg_size = a, \
				  .is_write = true, .has_imm = true, .imm = i }
#define MOVZX(l, a, r, rs) .want = { .len = l, .access_size = a, .reg = r, \
				     .reg_size = rs }
#define MOVSX(l, a, r, rs) .want = { .len = l, .access_size = a, .reg = r, \
				     .reg_size = rs, .sign_extend = true }
#define BAD		.refuse = true

static const struct vector vectors[] = {
	/* 64-bit mode: 88/89/8a/8b, registers, REX */
	{ "mov [rdi],eax", LONG, "89 07", ST(2, 4, 0) },
	{ "mov [rdi],ecx", LONG, "89 0f", ST(2, 4, 1) },
	{ "mov [rdi],esp (reg 4 of a dword is not AH)", LONG, "89 27", ST(2, 4, 4) },
	{ "mov [rdi],al", LONG, "88 07", ST(2, 1, 0) },
	{ "mov [rdi],ah", LONG, "88 27", STH(2, 4) },
	{ "mov [rdi],ch", LONG, "88 2f", STH(2, 5) },
	{ "mov [rdi],dh", LONG, "88 37", STH(2, 6) },
	{ "mov [rdi],bh", LONG, "88 3f", STH(2, 7) },
	{ "mov [rdi],spl (REX)", LONG, "40 88 27", ST(3, 1, 4) },
	{ "mov [rdi],bpl (REX)", LONG, "40 88 2f", ST(3, 1, 5) },
	{ "mov [rdi],sil (REX)", LONG, "40 88 37", ST(3, 1, 6) },
	{ "mov [rdi],dil (REX)", LONG, "40 88 3f", ST(3, 1, 7) },
	{ "mov [rdi],spl (REX.W, ignored for bytes)", LONG, "48 88 27", ST(3, 1, 4) },
	{ "mov [rdi],r8b (REX.R)", LONG, "44 88 07", ST(3, 1, 8) },
	{ "mov [rdi],r12b (REX.R, reg 4)", LONG, "44 88 27", ST(3, 1, 12) },
	{ "mov [rdi],r15b (REX.R)", LONG, "44 88 3f", ST(3, 1, 15) },
	{ "mov [rdi],r15d (REX.R)", LONG, "44 89 3f", ST(3, 4, 15) },
	{ "mov [rdi],rax (REX.W)", LONG, "48 89 07", ST(3, 8, 0) },
	{ "mov [rdi],r8 (REX.WR)", LONG, "4c 89 07", ST(3, 8, 8) },
	{ "mov [rdi],r15 (REX.WR)", LONG, "4c 89 3f", ST(3, 8, 15) },
	{ "mov [rdi],ax (66)", LONG, "66 89 07", ST(3, 2, 0) },
	{ "mov [rdi],r10w (66 REX.R)", LONG, "66 44 89 17", ST(4, 2, 10) },
	{ "mov [rdi],rax (REX.W beats 66)", LONG, "66 48 89 07", ST(4, 8, 0) },
	{ "mov al,[rdi]", LONG, "8a 07", LD(2, 1, 0) },
	{ "mov bl,[rdi]", LONG, "8a 1f", LD(2, 1, 3) },
	{ "mov ah,[rdi]", LONG, "8a 27", LDH(2, 4) },
	{ "mov bh,[rdi]", LONG, "8a 3f", LDH(2, 7) },
	{ "mov dil,[rdi] (REX)", LONG, "40 8a 3f", LD(3, 1, 7) },
	{ "mov r9b,[r15] (REX.RB)", LONG, "45 8a 0f", LD(3, 1, 9) },
	{ "mov eax,[rdi]", LONG, "8b 07", LD(2, 4, 0) },
	{ "mov esi,[rdi] (empty REX)", LONG, "40 8b 37", LD(3, 4, 6) },
	{ "mov rax,[rdi] (REX.W)", LONG, "48 8b 07", LD(3, 8, 0) },
	{ "mov r11,[rdi] (REX.WR)", LONG, "4c 8b 1f", LD(3, 8, 11) },
	{ "mov dx,[rdi] (66)", LONG, "66 8b 17", LD(3, 2, 2) },

	/* 64-bit mode: immediates */
	{ "mov byte [rdi],0xab", LONG, "c6 07 ab", STI(3, 1, 0xab) },
	{ "mov byte [rdi],imm8 (66 ignored)", LONG, "66 c6 07 ab", STI(4, 1, 0xab) },
	{ "mov byte [rdi],imm8 (REX.W ignored)", LONG, "48 c6 07 80", STI(4, 1, 0x80) },
	{ "mov dword [rdi],imm32", LONG, "c7 07 78 56 34 12", STI(6, 4, 0x12345678) },
	{ "mov dword [rdi],0x80000000", LONG, "c7 07 00 00 00 80", STI(6, 4, 0x80000000) },
	{ "mov word [rdi],imm16 (66)", LONG, "66 c7 07 34 12", STI(5, 2, 0x1234) },
	{ "mov word [rdi],0xffff (66)", LONG, "66 c7 07 ff ff", STI(5, 2, 0xffff) },
	{ "mov qword [rdi],imm32 sign-extended", LONG, "48 c7 07 00 00 00 80",
	  STI(7, 8, 0xffffffff80000000ULL) },
	{ "mov qword [rdi],0x7fffffff", LONG, "48 c7 07 ff ff ff 7f", STI(7, 8, 0x7fffffff) },
	{ "mov qword [rdi],-1", LONG, "48 c7 07 ff ff ff ff", STI(7, 8, ~0ULL) },
	{ "mov qword [rdi],imm32 (66 and REX.W)", LONG, "66 48 c7 07 01 00 00 00", STI(8, 8, 1) },
	{ "mov word [r8],imm16 (66 REX.B)", LONG, "66 41 c7 00 34 12", STI(6, 2, 0x1234) },
	{ "mov byte [rsp+8],imm8 (SIB disp8)", LONG, "c6 44 24 08 7f", STI(5, 1, 0x7f) },
	{ "mov dword [rsp+0x100],imm32 (SIB disp32)", LONG,
	  "c7 84 24 00 01 00 00 78 56 34 12", STI(11, 4, 0x12345678) },
	{ "mov qword [rip+0x10],-1 (RIP-relative)", LONG,
	  "48 c7 05 10 00 00 00 ff ff ff ff", STI(11, 8, ~0ULL) },
	{ "mov word [0x1000],imm16 (66 67 SIB no base)", LONG,
	  "66 67 c7 04 25 00 10 00 00 34 12", STI(11, 2, 0x1234) },

	/* 64-bit mode: movzx/movsx */
	{ "movzx eax,byte [rdi]", LONG, "0f b6 07", MOVZX(3, 1, 0, 4) },
	{ "movzx eax,word [rdi]", LONG, "0f b7 07", MOVZX(3, 2, 0, 4) },
	{ "movsx eax,byte [rdi]", LONG, "0f be 07", MOVSX(3, 1, 0, 4) },
	{ "movsx eax,word [rdi]", LONG, "0f bf 07", MOVSX(3, 2, 0, 4) },
	{ "movzx rax,byte [rdi] (REX.W)", LONG, "48 0f b6 07", MOVZX(4, 1, 0, 8) },
	{ "movsx rcx,word [rdi] (REX.W)", LONG, "48 0f bf 0f", MOVSX(4, 2, 1, 8) },
	{ "movzx ax,byte [rdi] (66)", LONG, "66 0f b6 07", MOVZX(4, 1, 0, 2) },
	{ "movsx dx,byte [rdi] (66)", LONG, "66 0f be 17", MOVSX(4, 1, 2, 2) },
	{ "movzx ax,word [rdi] (66)", LONG, "66 0f b7 07", MOVZX(4, 2, 0, 2) },
	{ "movzx esp,byte [rdi] (reg 4 is not AH)", LONG, "0f b6 27", MOVZX(3, 1, 4, 4) },
	{ "movzx r15,word [rdi] (REX.WR)", LONG, "4c 0f b7 3f", MOVZX(4, 2, 15, 8) },
	{ "movsx r8d,byte [rdi] (REX.R)", LONG, "44 0f be 07", MOVSX(4, 1, 8, 4) },
	{ "movzx eax,byte [rip+0x10]", LONG, "0f b6 05 10 00 00 00", MOVZX(7, 1, 0, 4) },

	/* 64-bit mode: ModRM, SIB and displacement forms */
	{ "mov [rax],eax", LONG, "89 00", ST(2, 4, 0) },
	{ "mov [rsp],eax (SIB)", LONG, "89 04 24", ST(3, 4, 0) },
	{ "mov [rax+rcx*4],eax (SIB)", LONG, "89 04 88", ST(3, 4, 0) },
	{ "mov [0x1000],eax (SIB no base, disp32)", LONG, "89 04 25 00 10 00 00", ST(7, 4, 0) },
	{ "mov [rcx*4+0x1000],eax (SIB no base, index)", LONG, "89 04 8d 00 10 00 00", ST(7, 4, 0) },
	{ "mov [rip+0x10],eax (RIP-relative)", LONG, "89 05 10 00 00 00", ST(6, 4, 0) },
	{ "mov [rbp+8],eax (disp8)", LONG, "89 45 08", ST(3, 4, 0) },
	{ "mov [rbp+0x100],eax (disp32)", LONG, "89 85 00 01 00 00", ST(6, 4, 0) },
	{ "mov [rax-8],eax (disp8)", LONG, "89 40 f8", ST(3, 4, 0) },
	{ "mov [rax+disp32],eax", LONG, "89 80 00 00 00 80", ST(6, 4, 0) },
	{ "mov [rsp+8],eax (SIB disp8)", LONG, "89 44 24 08", ST(4, 4, 0) },
	{ "mov [rsp+0x100],eax (SIB disp32)", LONG, "89 84 24 00 01 00 00", ST(7, 4, 0) },
	{ "mov [rbp+rcx*4+8],eax (SIB base rbp, disp8)", LONG, "89 44 8d 08", ST(4, 4, 0) },
	{ "mov [rbp+rcx*4+0x100],eax (SIB base rbp, disp32)", LONG,
	  "89 84 8d 00 01 00 00", ST(7, 4, 0) },
	{ "mov [r13+0],eax (REX.B, disp8)", LONG, "41 89 45 00", ST(4, 4, 0) },
	{ "mov [r12],eax (REX.B, SIB)", LONG, "41 89 04 24", ST(4, 4, 0) },
	{ "mov [0x1000],eax (REX.B: still no base)", LONG, "41 89 04 25 00 10 00 00", ST(8, 4, 0) },
	{ "mov [rip+0x10],eax (REX.B: still RIP-relative)", LONG, "41 89 05 10 00 00 00", ST(7, 4, 0) },
	{ "mov [edi],eax (67)", LONG, "67 89 07", ST(3, 4, 0) },
	{ "mov [eip+0x10],eax (67)", LONG, "67 89 05 10 00 00 00", ST(7, 4, 0) },
	{ "mov [0x1000],eax (67, SIB no base)", LONG, "67 89 04 25 00 10 00 00", ST(8, 4, 0) },
	{ "mov [ebp+8],eax (67, disp8)", LONG, "67 89 45 08", ST(4, 4, 0) },

	/* segment overrides */
	{ "mov es:[rdi],eax", LONG, "26 89 07", ST(3, 4, 0) },
	{ "mov cs:[rdi],eax", LONG, "2e 89 07", ST(3, 4, 0) },
	{ "mov ss:[rdi],eax", LONG, "36 89 07", ST(3, 4, 0) },
	{ "mov ds:[rdi],eax", LONG, "3e 89 07", ST(3, 4, 0) },
	{ "mov fs:[rdi],eax", LONG, "64 89 07", ST(3, 4, 0) },
	{ "mov rax,gs:[0x28]", LONG, "65 48 8b 04 25 28 00 00 00", LD(9, 8, 0) },
	{ "every prefix once", LONG, "26 2e 36 3e 64 65 66 67 89 07", ST(10, 2, 0) },
	{ "13 prefixes: 15 bytes", LONG,
	  "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 89 07", ST(15, 4, 0) },
	{ "12 prefixes and REX: 15 bytes", LONG,
	  "3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 66 48 89 07", ST(15, 8, 0) },

	/* REX that is not right before the opcode: the CPU ignores it */
	{ "REX then 66: REX ignored (mov [rdi],ax)", LONG, "48 66 89 07",
	  ST(4, 2, 0), .may_refuse = true },
	{ "two REX: only the last counts (mov [rdi],rax)", LONG, "44 48 89 07",
	  ST(4, 8, 0), .may_refuse = true },

	/* compatibility mode and 32-bit protected mode */
	{ "mov [edi],eax", CMP32, "89 07", ST(2, 4, 0) },
	{ "mov [edi],ah", CMP32, "88 27", STH(2, 4) },
	{ "[disp32] is absolute", CMP32, "89 05 00 10 00 00", ST(6, 4, 0) },
	{ "48 is dec eax, not REX", CMP32, "48 89 07", BAD },
	{ "40 is inc eax, not REX", CMP32, "40 88 27", BAD },
	{ "mov [bx],ax", CMP16, "89 07", ST(2, 2, 0) },
	{ "mov [edi],eax", P32, "89 07", ST(2, 4, 0) },
	{ "mov [edi],ax (66)", P32, "66 89 07", ST(3, 2, 0) },
	{ "mov [edi],bh", P32, "88 3f", STH(2, 7) },
	{ "mov dh,[edi]", P32, "8a 37", LDH(2, 6) },
	{ "mov [0x1000],eax (disp32)", P32, "89 05 00 10 00 00", ST(6, 4, 0) },
	{ "mov [0x1000],eax (SIB no base)", P32, "89 04 25 00 10 00 00", ST(7, 4, 0) },
	{ "mov [esp+8],eax (SIB disp8)", P32, "89 44 24 08", ST(4, 4, 0) },
	{ "mov [bx],eax (67: 16-bit addressing)", P32, "67 89 07", ST(3, 4, 0) },
	{ "mov [0x1000],eax (67, disp16)", P32, "67 89 06 00 10", ST(5, 4, 0) },
	{ "mov [si],eax (67: rm 4 has no SIB)", P32, "67 89 04", ST(3, 4, 0) },
	{ "mov dword [edi],imm32", P32, "c7 07 78 56 34 12", STI(6, 4, 0x12345678) },
	{ "mov word [edi],imm16 (66)", P32, "66 c7 07 34 12", STI(5, 2, 0x1234) },
	{ "movzx eax,word [edi]", P32, "0f b7 07", MOVZX(3, 2, 0, 4) },
	{ "movsx ax,byte [edi] (66)", P32, "66 0f be 07", MOVSX(4, 1, 0, 2) },
	{ "48 is dec eax", P32, "48 89 07", BAD },
	{ "mov [edi],eax (CS.L ignored)", L_NOLMA, "89 07", ST(2, 4, 0) },
	{ "48 is dec eax (CS.L ignored)", L_NOLMA, "48 89 07", BAD },

	/* 16-bit code (real mode: CS.D clear, no long mode) */
	{ "mov [bx],ax", REAL, "89 07", ST(2, 2, 0) },
	{ "mov [bx],eax (66)", REAL, "66 89 07", ST(3, 4, 0) },
	{ "mov [bx],ah", REAL, "88 27", STH(2, 4) },
	{ "mov cl,[bx]", REAL, "8a 0f", LD(2, 1, 1) },
	{ "mov di,[bx]", REAL, "8b 3f", LD(2, 2, 7) },
	{ "mov [0x1000],ax (disp16)", REAL, "89 06 00 10", ST(4, 2, 0) },
	{ "mov [bx+si],ax", REAL, "89 00", ST(2, 2, 0) },
	{ "mov [si],ax (rm 4: no SIB)", REAL, "89 04", ST(2, 2, 0) },
	{ "mov [di],ax (rm 5: no disp)", REAL, "89 05", ST(2, 2, 0) },
	{ "mov [bp+0],ax (disp8)", REAL, "89 46 00", ST(3, 2, 0) },
	{ "mov [bx+8],ax (disp8)", REAL, "89 47 08", ST(3, 2, 0) },
	{ "mov [si+8],ax (disp8)", REAL, "89 44 08", ST(3, 2, 0) },
	{ "mov [bx+0x100],ax (disp16)", REAL, "89 87 00 01", ST(4, 2, 0) },
	{ "mov [bp+di+0x100],ax (disp16)", REAL, "89 83 00 01", ST(4, 2, 0) },
	{ "mov [ebx],ax (67: 32-bit addressing)", REAL, "67 89 03", ST(3, 2, 0) },
	{ "mov [0x1000],ax (67, disp32)", REAL, "67 89 05 00 10 00 00", ST(7, 2, 0) },
	{ "mov [0x1000],ax (67, SIB no base)", REAL, "67 89 04 25 00 10 00 00", ST(8, 2, 0) },
	{ "mov [esp+8],ax (67, SIB disp8)", REAL, "67 89 44 24 08", ST(5, 2, 0) },
	{ "mov word [bx],imm16", REAL, "c7 07 34 12", STI(4, 2, 0x1234) },
	{ "mov dword [bx],imm32 (66)", REAL, "66 c7 07 78 56 34 12", STI(7, 4, 0x12345678) },
	{ "mov byte [0x1000],imm8", REAL, "c6 06 00 10 ab", STI(5, 1, 0xab) },
	{ "mov word [bx+0x100],imm16", REAL, "c7 87 00 01 34 12", STI(6, 2, 0x1234) },
	{ "movzx ax,byte [bx]", REAL, "0f b6 07", MOVZX(3, 1, 0, 2) },
	{ "movzx eax,word [bx] (66)", REAL, "66 0f b7 07", MOVZX(4, 2, 0, 4) },
	{ "movsx ax,word [bx]", REAL, "0f bf 07", MOVSX(3, 2, 0, 2) },
	{ "mov es:[bx],ax", REAL, "26 89 07", ST(3, 2, 0) },
	{ "40 is inc ax", REAL, "40 89 07", BAD },

	/* register operands: no memory access, never an MMIO exit */
	{ "mov eax,eax (89, mod 3)", LONG, "89 c0", BAD },
	{ "mov ecx,eax (8b, mod 3)", LONG, "8b c8", BAD },
	{ "mov al,ah (88, mod 3)", LONG, "88 e0", BAD },
	{ "mov al,ah (8a, mod 3)", LONG, "8a c4", BAD },
	{ "mov al,1 (c6, mod 3)", LONG, "c6 c0 01", BAD },
	{ "mov eax,1 (c7, mod 3)", LONG, "c7 c0 01 00 00 00", BAD },
	{ "movzx eax,al (mod 3)", LONG, "0f b6 c0", BAD },
	{ "movzx eax,ax (mod 3)", LONG, "0f b7 c0", BAD },
	{ "movsx eax,al (mod 3)", LONG, "0f be c0", BAD },
	{ "movsx eax,ax (mod 3)", LONG, "0f bf c0", BAD },
	{ "mov ax,ax (mod 3)", REAL, "89 c0", BAD },

	/* c6/c7 other than /0 */
	{ "c6 /1", LONG, "c6 08 01", BAD },
	{ "c6 /2 (disp8)", LONG, "c6 50 08 01", BAD },
	{ "c7 /7", LONG, "c7 38 00 00 00 00", BAD },
	{ "c7 /1 (16-bit)", REAL, "c7 0f 34 12", BAD },

	/* other opcodes */
	{ "mov [rdi],es (8c)", LONG, "8c 07", BAD },
	{ "mov es,[rdi] (8e)", LONG, "8e 07", BAD },
	{ "mov eax,moffs (a1)", LONG, "a1 00 10 00 00 00 00 00 00", BAD },
	{ "mov moffs,eax (a3)", LONG, "a3 00 10 00 00 00 00 00 00", BAD },
	{ "mov eax,imm32 (b8)", LONG, "b8 01 00 00 00", BAD },
	{ "movsd (a5)", LONG, "a5", BAD },
	{ "rep movsd", LONG, "f3 a5", BAD },
	{ "stosd (ab)", LONG, "ab", BAD },
	{ "lock mov", LONG, "f0 89 07", BAD },
	{ "rep mov", LONG, "f3 89 07", BAD },
	{ "repne mov", LONG, "f2 89 07", BAD },
	{ "add [rdi],eax (01)", LONG, "01 07", BAD },
	{ "xchg [rdi],eax (87)", LONG, "87 07", BAD },
	{ "movsxd rax,[rdi] (63)", LONG, "48 63 07", BAD },
	{ "movups (0f 10)", LONG, "0f 10 07", BAD },
	{ "movnti (0f c3)", LONG, "0f c3 07", BAD },
	{ "movbe (0f 38 f1)", LONG, "0f 38 f1 07", BAD },
	{ "vmovd (VEX c5)", LONG, "c5 f9 7e 07", BAD },
	{ "0f b8", LONG, "0f b8 07", BAD },

	/* nothing, or nothing but prefixes */
	{ "no bytes", LONG, "", BAD },
	{ "0f alone", LONG, "0f", BAD },
	{ "prefixes alone", LONG, "66 67", BAD },
	{ "REX alone", LONG, "48", BAD },
	{ "66 and REX alone", LONG, "66 48", BAD },
	{ "15 prefixes", LONG,
	  "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 07", BAD },
	{ "15 prefixes, cut at 15 bytes", LONG,
	  "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66", BAD },
	{ "15 prefixes (16-bit)", REAL,
	  "26 26 26 26 26 26 26 26 26 26 26 26 26 26 26 89 07", BAD },

	/*
	 * Longer than 15 bytes: the CPU raises #GP (SDM vol. 2A, 2.3.11);
	 * the decoder refuses them too, whatever buffer it is given.
	 */
	{ "14 prefixes: 16 bytes", LONG,
	  "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 89 07", BAD },
	{ "13 prefixes and REX: 16 bytes", LONG,
	  "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 48 89 07", BAD },
};

static void vector_hex(const u8 *bytes, size_t n, char *buf)
{
	size_t i;

	strcpy(buf, n ? "" : "(none)");
	for (i = 0; i < n; i++)
		buf += sprintf(buf, "%s%02x", i ? " " : "", bytes[i]);
}

static void run_vector(const struct vector *v)
{
	struct vireo_mmio_insn got, again;
	u8 bytes[INSN_BUF], longer[INSN_BUF];
	char hex[3 * INSN_BUF + 8];
	size_t n = parse_hex(v->hex, bytes), k, extra;
	bool pass = true;
	int ret;

	vector_hex(bytes, n, hex);
	ret = decode(v->mode, bytes, n, &got);
	if (v->refuse) {
		if (ret != -EINVAL) {
			diag("expected -EINVAL, got %d", ret);
			if (!ret)
				diag_insn("got", &got);
			pass = false;
		}
		goto out;
	}
	if (ret == -EINVAL && v->may_refuse) {
		diag("refused (allowed: the CPU would run it as given)");
		goto out;
	}
	if (ret) {
		diag("expected success, got %d", ret);
		pass = false;
		goto out;
	}
	if (!insn_equal(&got, &v->want)) {
		diag_insn("want", &v->want);
		diag_insn("got ", &got);
		pass = false;
	}
	/* Every shorter prefix of the instruction is incomplete. */
	for (k = 0; k < v->want.len && k <= n; k++) {
		ret = decode(v->mode, bytes, k, &again);
		if (ret != -EINVAL) {
			diag("truncated to %zu bytes: returned %d", k, ret);
			pass = false;
		}
	}
	/* What follows the instruction does not matter. */
	memcpy(longer, bytes, n);
	for (extra = 1; n + extra <= INSN_BUF && extra <= 8; extra++) {
		longer[n + extra - 1] = extra & 1 ? 0x66 : 0xff;
		ret = decode(v->mode, longer, n + extra, &again);
		if (ret || !insn_equal(&got, &again)) {
			diag("with %zu more bytes: returned %d", extra, ret);
			if (!ret)
				diag_insn("got", &again);
			pass = false;
			break;
		}
	}
out:
	tap_result(pass, v->todo, "%s: %s [%s]", mode_names[v->mode], v->what, hex);
}

/* ---- sweeps ----------------------------------------------------------- */

/*
 * Bytes after ModRM for every ModRM and SIB, written from the SDM's tables
 * 2-1 (16-bit) and 2-2/2-3 (32/64-bit) rather than from decode.c's code.
 */
static unsigned int modrm_tail(unsigned int addr_size, u8 modrm, u8 sib)
{
	static const u8 disp16[3][8] = {
		{ 0, 0, 0, 0, 0, 0, 2, 0 },	/* mod 0: [bp] is disp16 */
		{ 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 2, 2, 2, 2, 2, 2, 2, 2 },
	};
	static const u8 disp32[3][8] = {
		{ 0, 0, 0, 0, 1, 4, 0, 0 },	/* rm 4: SIB; rm 5: disp32 */
		{ 1, 1, 1, 1, 2, 1, 1, 1 },
		{ 4, 4, 4, 4, 5, 4, 4, 4 },
	};
	unsigned int mod = modrm >> 6, rm = modrm & 7;

	if (addr_size == 2)
		return disp16[mod][rm];
	/* SIB base 5 with mod 0: no base, disp32. */
	if (mod == 0 && rm == 4 && (sib & 7) == 5)
		return 5;
	return disp32[mod][rm];
}

static void sweep_modrm(unsigned int mode, const char *prefix,
			unsigned int addr_size)
{
	u8 bytes[INSN_BUF], pfx[4];
	struct vireo_mmio_insn got;
	unsigned int modrm, sib, npfx, want, k, bad = 0;
	bool has_sib;
	size_t n;
	int ret;

	npfx = parse_hex(prefix, pfx);
	for (modrm = 0; modrm < 256; modrm++) {
		/* Every SIB where there is one; else one filler byte. */
		has_sib = addr_size != 2 && (modrm & 7) == 4 && modrm >> 6 != 3;
		for (sib = has_sib ? 0 : 0xcc; sib < (has_sib ? 256u : 0xcdu); sib++) {
			memcpy(bytes, pfx, npfx);
			n = npfx;
			bytes[n++] = 0x89;
			bytes[n++] = modrm;
			bytes[n++] = sib;
			while (n < 16)
				bytes[n++] = 0xcc;
			ret = decode(mode, bytes, n, &got);
			if (modrm >> 6 == 3) {
				if (ret != -EINVAL && bad++ < 5)
					diag("ModRM %02x: returned %d", modrm, ret);
				continue;
			}
			want = npfx + 2 + modrm_tail(addr_size, modrm, sib);
			if (ret || got.len != want ||
			    got.reg != ((modrm >> 3) & 7)) {
				if (bad++ < 5)
					diag("ModRM %02x SIB %02x: returned %d, len %u (want %u), reg %u",
					     modrm, sib, ret, got.len, want, got.reg);
				continue;
			}
			for (k = 0; k < want; k++) {
				if (decode(mode, bytes, k, &got) != -EINVAL &&
				    bad++ < 5)
					diag("ModRM %02x SIB %02x: accepted at %u bytes",
					     modrm, sib, k);
			}
		}
	}
	tap_result(!bad, NULL, "%s%s%s: every ModRM and SIB, %u-bit addressing",
		   mode_names[mode], *prefix ? " with " : "", prefix,
		   addr_size * 8);
}

static void sweep_opcodes(unsigned int mode)
{
	static const u8 one_byte[] = { 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7 };
	static const u8 two_byte[] = { 0xb6, 0xb7, 0xbe, 0xbf };
	struct vireo_mmio_insn got;
	unsigned int op, bad = 0;
	u8 bytes[16];
	bool want;
	int ret;

	/* ModRM 00 is [rax]/[eax]/[bx+si]: a memory operand with no tail. */
	for (op = 0; op < 256; op++) {
		memset(bytes, 0, sizeof(bytes));
		bytes[0] = op;
		want = memchr(one_byte, op, sizeof(one_byte));
		ret = decode(mode, bytes, sizeof(bytes), &got);
		if ((ret == 0) != want && bad++ < 5)
			diag("opcode %02x: returned %d", op, ret);
		if (!ret && op < 0xc6 && got.len != 2 && bad++ < 5)
			diag("opcode %02x: len %u", op, got.len);
	}
	for (op = 0; op < 256; op++) {
		memset(bytes, 0, sizeof(bytes));
		bytes[0] = 0x0f;
		bytes[1] = op;
		want = memchr(two_byte, op, sizeof(two_byte));
		ret = decode(mode, bytes, sizeof(bytes), &got);
		if ((ret == 0) != want && bad++ < 5)
			diag("opcode 0f %02x: returned %d", op, ret);
		if (!ret && want && got.len != 3 && bad++ < 5)
			diag("opcode 0f %02x: len %u", op, got.len);
	}
	tap_result(!bad, NULL, "%s: only 88 89 8a 8b c6 c7 0f b6/b7/be/bf are accepted",
		   mode_names[mode]);
}

static void sweep_mov_imm_reg(unsigned int mode)
{
	struct vireo_mmio_insn got;
	unsigned int op, reg, mod, bad = 0;
	u8 bytes[16];
	int ret;

	for (op = 0xc6; op <= 0xc7; op++)
		for (mod = 0; mod < 3; mod++)
			for (reg = 1; reg < 8; reg++) {
				memset(bytes, 0, sizeof(bytes));
				bytes[0] = op;
				bytes[1] = mod << 6 | reg << 3;
				ret = decode(mode, bytes, sizeof(bytes), &got);
				if (ret != -EINVAL && bad++ < 5)
					diag("%02x ModRM %02x: returned %d", op,
					     bytes[1], ret);
			}
	tap_result(!bad, NULL, "%s: c6/c7 with ModRM.reg 1..7 are refused",
		   mode_names[mode]);
}

static void sweep_register_operands(unsigned int mode)
{
	static const char *const ops[] = {
		"88", "89", "8a", "8b", "c6", "c7", "0f b6", "0f b7", "0f be",
		"0f bf", "66 89", "48 89", "40 88", "4c 8b", "48 c7",
	};
	struct vireo_mmio_insn got;
	unsigned int i, modrm, bad = 0;
	u8 bytes[INSN_BUF];
	size_t n;
	int ret;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		for (modrm = 0xc0; modrm < 0x100; modrm++) {
			memset(bytes, 0, sizeof(bytes));
			n = parse_hex(ops[i], bytes);
			bytes[n] = modrm;
			ret = decode(mode, bytes, 16, &got);
			if (ret != -EINVAL && bad++ < 5)
				diag("%s %02x: returned %d", ops[i], modrm, ret);
		}
	}
	tap_result(!bad, NULL, "%s: register-direct ModRM (mod 3) is refused",
		   mode_names[mode]);
}

static void sweep_prefix_counts(void)
{
	static const u8 prefixes[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67 };
	struct vireo_mmio_insn got;
	unsigned int i, count, bad = 0;
	u8 bytes[INSN_BUF];
	int ret;

	for (i = 0; i < sizeof(prefixes); i++) {
		for (count = 0; count <= 15; count++) {
			memset(bytes, prefixes[i], count);
			bytes[count] = 0x8b;
			bytes[count + 1] = 0x00;	/* [rax]/[eax]/[bx+si] */
			ret = decode(LONG, bytes, count + 2, &got);
			if (count <= 13 ? ret || got.len != count + 2 :
			    count == 15 && ret != -EINVAL) {
				if (bad++ < 5)
					diag("%u x %02x: returned %d, len %u",
					     count, prefixes[i], ret,
					     ret ? 0 : got.len);
			}
		}
	}
	tap_result(!bad, NULL, "0..13 prefixes of each kind are skipped, 15 are refused");
}

static void zero_length(void)
{
	struct vireo_mmio_insn got;
	unsigned int mode, bad = 0;

	for (mode = 0; mode <= DECODE_MODE_MASK; mode++)
		if (decode(mode, NULL, 0, &got) != -EINVAL)
			bad++;
	tap_result(!bad, NULL, "zero bytes are refused in every mode");
}

/* ---- main ------------------------------------------------------------- */

static int write_corpus(const char *dir)
{
	u8 bytes[1 + INSN_BUF];
	char path[4096];
	unsigned int i;
	size_t n;
	FILE *f;

	mkdir(dir, 0755);
	for (i = 0; i < ARRAY_SIZE(vectors); i++) {
		bytes[0] = vectors[i].mode;
		n = parse_hex(vectors[i].hex, bytes + 1);
		snprintf(path, sizeof(path), "%s/vector-%03u", dir, i);
		f = fopen(path, "wb");
		if (!f || fwrite(bytes, 1, n + 1, f) != n + 1 || fclose(f)) {
			perror(path);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned int modes[] = { LONG, CMP32, P32, REAL };
	unsigned int i;

	if (argc == 3 && !strcmp(argv[1], "--write-corpus"))
		return write_corpus(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--write-corpus DIR]\n", argv[0]);
		return 2;
	}

	/* Under run_tests.sh the version line is left out (kselftest). */
	if (!getenv("KSFT_TAP_LEVEL"))
		printf("TAP version 13\n");
	printf("1..%zu\n", ARRAY_SIZE(vectors) + 6 + 3 * ARRAY_SIZE(modes) + 2);

	for (i = 0; i < ARRAY_SIZE(vectors); i++)
		run_vector(&vectors[i]);

	sweep_modrm(LONG, "", 8);
	sweep_modrm(LONG, "67", 4);
	sweep_modrm(P32, "", 4);
	sweep_modrm(P32, "67", 2);
	sweep_modrm(REAL, "", 2);
	sweep_modrm(REAL, "67", 4);
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		sweep_opcodes(modes[i]);
		sweep_mov_imm_reg(modes[i]);
		sweep_register_operands(modes[i]);
	}
	sweep_prefix_counts();
	zero_length();

	printf("# %u tests, %u failed\n", tap_n, tap_failed);
	return tap_failed ? 1 : 0;
}
