// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction decoder for MMIO exits.
 *
 * Without decode assists (not offered by the CPUs Vireo is tested on) the
 * module must find out itself what a faulting instruction does.  Guests
 * reach MMIO through readb/w/l/q and writeb/w/l/q, which compile to the mov
 * family; this decoder knows exactly those forms and refuses everything
 * else (the caller reports VIREO_INTERNAL_DECODE with the bytes):
 *
 *   88 /r  mov r/m8, r8          8a /r  mov r8, r/m8
 *   89 /r  mov r/m, r            8b /r  mov r, r/m
 *   c6 /0  mov r/m8, imm8        c7 /0  mov r/m, imm16/32
 *   0f b6  movzx r, r/m8         0f b7  movzx r, r/m16
 *   0f be  movsx r, r/m8         0f bf  movsx r, r/m16
 *
 * The memory operand's address is not computed: the nested page fault
 * already gives the guest-physical address.  Only the length, direction,
 * width and register matter.  Encodings: SDM vol. 2A, 2.1-2.2.
 */
#include <linux/kernel.h>
#include <linux/errno.h>
#include <asm/msr-index.h>

#include "vireo_core.h"

struct insn_cursor {
	const u8 *bytes;
	unsigned int len;
	unsigned int pos;
};

static int cursor_take(struct insn_cursor *c, unsigned int n, u64 *val)
{
	u64 v = 0;
	unsigned int i;

	if (c->pos + n > c->len)
		return -EINVAL;
	for (i = 0; i < n; i++)
		v |= (u64)c->bytes[c->pos + i] << (8 * i);
	c->pos += n;
	if (val)
		*val = v;
	return 0;
}

/* Skip the ModRM memory operand (SIB and displacement). */
static int skip_modrm(struct insn_cursor *c, u8 modrm, unsigned int addr_size)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	u64 sib;

	if (mod == 3)
		return -EINVAL;		/* register operand: not an MMIO access */

	if (addr_size == 2) {
		if (mod == 0 && rm == 6)
			return cursor_take(c, 2, NULL);
		if (mod == 1)
			return cursor_take(c, 1, NULL);
		if (mod == 2)
			return cursor_take(c, 2, NULL);
		return 0;
	}

	if (rm == 4) {
		if (cursor_take(c, 1, &sib))
			return -EINVAL;
		if (mod == 0 && (sib & 7) == 5)
			return cursor_take(c, 4, NULL);
	} else if (mod == 0 && rm == 5) {
		return cursor_take(c, 4, NULL);	/* disp32 or RIP-relative */
	}
	if (mod == 1)
		return cursor_take(c, 1, NULL);
	if (mod == 2)
		return cursor_take(c, 4, NULL);
	return 0;
}

int vireo_decode_mmio(const u8 *bytes, unsigned int len,
		      const struct vireo_paging *pg, struct vireo_mmio_insn *out)
{
	struct insn_cursor c = { .bytes = bytes, .len = len };
	bool long_mode = (pg->efer & EFER_LMA) && pg->cs_l;
	bool opsize_prefix = false, addrsize_prefix = false;
	unsigned int opsize, addr_size, nprefix;
	u8 rex = 0, op, modrm;
	u64 b, imm;

	memset(out, 0, sizeof(*out));

	for (nprefix = 0; nprefix < 14; nprefix++) {
		if (c.pos >= c.len)
			return -EINVAL;
		b = bytes[c.pos];
		if (b == 0x66)
			opsize_prefix = true;
		else if (b == 0x67)
			addrsize_prefix = true;
		else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e ||
			 b == 0x64 || b == 0x65)
			;	/* segment override: the GPA is already known */
		else
			break;
		c.pos++;
	}
	if (long_mode && c.pos < c.len && (bytes[c.pos] & 0xf0) == 0x40)
		rex = bytes[c.pos++];

	if (long_mode) {
		opsize = (rex & 8) ? 8 : (opsize_prefix ? 2 : 4);
		addr_size = addrsize_prefix ? 4 : 8;
	} else {
		opsize = (pg->cs_db ^ opsize_prefix) ? 4 : 2;
		addr_size = (pg->cs_db ^ addrsize_prefix) ? 4 : 2;
	}

	if (cursor_take(&c, 1, &b))
		return -EINVAL;
	op = b;
	if (op == 0x0f) {
		if (cursor_take(&c, 1, &b))
			return -EINVAL;
		switch (b) {
		case 0xb6: case 0xbe:
			out->access_size = 1;
			break;
		case 0xb7: case 0xbf:
			out->access_size = 2;
			break;
		default:
			return -EINVAL;
		}
		out->sign_extend = (b == 0xbe || b == 0xbf);
		out->reg_size = opsize;
	} else {
		switch (op) {
		case 0x88: case 0x8a: case 0xc6:
			out->access_size = 1;
			break;
		case 0x89: case 0x8b: case 0xc7:
			out->access_size = opsize;
			break;
		default:
			return -EINVAL;
		}
		out->reg_size = out->access_size;
		out->is_write = (op == 0x88 || op == 0x89 || op == 0xc6 ||
				 op == 0xc7);
	}

	if (cursor_take(&c, 1, &b))
		return -EINVAL;
	modrm = b;
	if (skip_modrm(&c, modrm, addr_size))
		return -EINVAL;

	out->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
	/* Without REX, byte registers 4..7 are AH, CH, DH, BH. */
	if (out->reg_size == 1 && !rex && out->reg >= 4 && out->reg <= 7)
		out->high_byte = true;

	if (op == 0xc6 || op == 0xc7) {
		if ((modrm >> 3) & 7)
			return -EINVAL;		/* /0 is the only mov */
		out->has_imm = true;
		out->reg = 0;
		out->high_byte = false;
		if (op == 0xc6) {
			if (cursor_take(&c, 1, &imm))
				return -EINVAL;
		} else if (opsize == 2) {
			if (cursor_take(&c, 2, &imm))
				return -EINVAL;
		} else {
			if (cursor_take(&c, 4, &imm))
				return -EINVAL;
			imm = (u64)(s64)(s32)imm;	/* imm32 sign-extends */
		}
		out->imm = imm;
	}

	/* No x86 instruction is longer than 15 bytes (SDM vol. 2A, 2.3.11). */
	if (c.pos > 15)
		return -EINVAL;
	out->len = c.pos;
	return 0;
}
