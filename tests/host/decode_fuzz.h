/* SPDX-License-Identifier: GPL-2.0 */
/* The fuzz target of decode_fuzz.c, as decode_replay.c drives it. */
#ifndef VIREO_DECODE_FUZZ_H
#define VIREO_DECODE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Instruction bytes looked at per input.  The longest instruction the
 * decoder can accept is 14 legacy prefixes, REX, opcode, ModRM, SIB,
 * disp32 and imm32 (c7): 26 bytes.
 */
#define DECODE_FUZZ_MAX_BYTES	32

/* Inputs run, and inputs the decoder accepted. */
extern unsigned long decode_fuzz_runs, decode_fuzz_accepted;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input being decoded, in hex on stderr (async-signal-safe). */
void decode_fuzz_print_input(void);

#endif
