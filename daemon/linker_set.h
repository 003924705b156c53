/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linker sets: a way for a file to add itself to a list without anyone
 * editing a central table (bhyve's SET_DECLARE/DATA_SET idea).
 *
 * Each entry is a pointer placed in an ELF section called "set_<name>".
 * Because the section name is a valid C identifier, GNU ld (and lld)
 * provide __start_set_<name> and __stop_set_<name> around it.  The symbols
 * are declared weak so that an empty set links and iterates zero times.
 */
#ifndef VIREOD_LINKER_SET_H
#define VIREOD_LINKER_SET_H

#define LINKER_SET_ADD(set, sym)					\
	static const void *const __linker_set_##set##_##sym		\
	__attribute__((section("set_" #set), used,			\
		       aligned(sizeof(void *)))) = &(sym)

#define LINKER_SET_DECLARE(set)						\
	extern const void *const __start_set_##set[] __attribute__((weak)); \
	extern const void *const __stop_set_##set[] __attribute__((weak))

/* Iterates 'it' (a const void *const *) over the set's entries. */
#define LINKER_SET_FOREACH(set, it)					\
	for ((it) = __start_set_##set; (it) < __stop_set_##set; (it)++)

#endif
