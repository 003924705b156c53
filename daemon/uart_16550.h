/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The COM1 16550A (uart_16550.c): the one entry point other layers use.
 */
#ifndef VIREOD_UART_16550_H
#define VIREOD_UART_16550_H

#include <stddef.h>

struct vm;

/*
 * Console input: queues up to 'len' bytes in COM1's receive FIFO, as if
 * they had arrived on the serial line, and raises the receive interrupt if
 * the guest enabled it.  Returns the number of bytes taken, which is less
 * than 'len' when the FIFO is full (16 bytes, or 1 with the FIFO disabled):
 * the caller keeps the rest and retries once the guest has read some.
 * Input is discarded (and counted as taken) while the guest has the UART in
 * loopback mode, as the chip's serial input is disconnected then.
 * Returns 0 if the VM has no COM1.  The VM must not be released meanwhile.
 */
size_t uart_input(struct vm *vm, const void *buf, size_t len);

#endif
