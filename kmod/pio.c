// SPDX-License-Identifier: GPL-2.0
/*
 * Fast ports: 1-byte port I/O completed in the kernel (uapi
 * VIREO_SET_PIO_FAST, docs/uapi.md "Fast ports").
 *
 * A guest printing on a polled 16550 reads the line status register and
 * writes the transmit register for every character: two exits to user
 * space per byte, which made the serial console most of a Linux boot's
 * exits.  User space knows when those accesses have no side effect it must
 * see at once (no THR-empty interrupt enabled, no loopback, nothing
 * received), so it hands the module the answer for the IN and lets the
 * OUTs pile up in a queue that it drains later, in order.
 *
 * The lookup runs in the exit handler (preemptible, interrupts on) under a
 * spinlock; there are at most VIREO_MAX_FAST_PORTS ports, so a linear scan
 * is the whole search.
 */
#include <linux/eventfd.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vireo_core.h"

/* Records copied out per round of VIREO_PIO_DRAIN (on the stack). */
#define PIO_DRAIN_CHUNK	64

void vireo_pio_init(struct vireo_vm *vm)
{
	spin_lock_init(&vm->pio.lock);
	mutex_init(&vm->pio.drain_lock);
}

void vireo_pio_free(struct vireo_vm *vm)
{
	if (vm->pio.notify)
		eventfd_ctx_put(vm->pio.notify);
	kfree(vm->pio.queue);
}

static struct vireo_pio_port *vireo_pio_find(struct vireo_pio *pio, u16 port)
{
	u32 i;

	for (i = 0; i < pio->nr_ports; i++)
		if (pio->ports[i].port == port)
			return &pio->ports[i];
	return NULL;
}

/*
 * A 1-byte IN or OUT at @port: true if it was completed here (for an IN,
 * with *value set), false if it must go to user space.
 */
bool vireo_pio_fast(struct vireo_vm *vm, u16 port, bool in, u8 *value)
{
	struct vireo_pio *pio = &vm->pio;
	struct vireo_pio_record *rec;
	struct vireo_pio_port *p;
	bool done = false;

	if (!READ_ONCE(pio->nr_ports))
		return false;
	spin_lock(&pio->lock);
	p = vireo_pio_find(pio, port);
	if (!p)
		goto out;
	if (in) {
		if (p->flags & VIREO_PIO_FAST_IN) {
			*value = p->in_value;
			done = true;
		}
	} else if ((p->flags & VIREO_PIO_FAST_OUT) &&
		   pio->count < VIREO_PIO_QUEUE_LEN) {
		rec = &pio->queue[(pio->head + pio->count) % VIREO_PIO_QUEUE_LEN];
		rec->port = port;
		rec->value = *value;
		rec->padding = 0;
		WRITE_ONCE(pio->count, pio->count + 1);
		if (pio->count == 1 && pio->notify)
			eventfd_signal(pio->notify, 1);
		done = true;
	}
out:
	spin_unlock(&pio->lock);
	return done;
}

long vireo_pio_set_port(struct vireo_vm *vm, const struct vireo_pio_fast *req)
{
	struct vireo_pio *pio = &vm->pio;
	struct vireo_pio_record *queue = NULL;
	struct vireo_pio_port *p;
	long ret = 0;

	if (req->reserved || (req->flags & ~VIREO_PIO_FAST_ALL))
		return -EINVAL;
	/* The queue comes with the first OUT port and stays with the VM. */
	if ((req->flags & VIREO_PIO_FAST_OUT) && !READ_ONCE(pio->queue)) {
		queue = kcalloc(VIREO_PIO_QUEUE_LEN, sizeof(*queue),
				GFP_KERNEL_ACCOUNT);
		if (!queue)
			return -ENOMEM;
	}

	spin_lock(&pio->lock);
	if (queue && !pio->queue)
		swap(pio->queue, queue);
	p = vireo_pio_find(pio, req->port);
	if (!req->flags) {
		if (p) {
			*p = pio->ports[pio->nr_ports - 1];
			WRITE_ONCE(pio->nr_ports, pio->nr_ports - 1);
		}
	} else if (p) {
		p->flags = req->flags;
		p->in_value = req->in_value;
	} else if (pio->nr_ports == VIREO_MAX_FAST_PORTS) {
		ret = -ENOSPC;
	} else {
		pio->ports[pio->nr_ports] = (struct vireo_pio_port) {
			.port = req->port,
			.flags = req->flags,
			.in_value = req->in_value,
		};
		WRITE_ONCE(pio->nr_ports, pio->nr_ports + 1);
	}
	spin_unlock(&pio->lock);
	kfree(queue);
	return ret;
}

/* Up to @max records from the head of the queue into @buf; not removed. */
static u32 vireo_pio_peek(struct vireo_pio *pio, struct vireo_pio_record *buf,
			  u32 max)
{
	u32 n, i;

	spin_lock(&pio->lock);
	n = min(pio->count, max);
	for (i = 0; i < n; i++)
		buf[i] = pio->queue[(pio->head + i) % VIREO_PIO_QUEUE_LEN];
	spin_unlock(&pio->lock);
	return n;
}

long vireo_pio_drain(struct vireo_vm *vm, struct vireo_pio_drain __user *argp)
{
	struct vireo_pio_record buf[PIO_DRAIN_CHUNK];
	struct vireo_pio *pio = &vm->pio;
	struct vireo_pio_record __user *dst;
	struct vireo_pio_drain d;
	long ret = 0;
	u32 n;

	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	if (d.count)
		return -EINVAL;
	dst = u64_to_user_ptr(d.records);

	/*
	 * Records are copied out first and removed after: whatever
	 * copy_to_user() refuses stays queued.  drain_lock keeps two
	 * drains from handing out the same records.
	 */
	mutex_lock(&pio->drain_lock);
	while (d.count < d.max) {
		n = vireo_pio_peek(pio, buf, min_t(u32, d.max - d.count,
						   PIO_DRAIN_CHUNK));
		if (!n)
			break;
		if (copy_to_user(dst + d.count, buf, n * sizeof(*buf))) {
			ret = -EFAULT;
			break;
		}
		spin_lock(&pio->lock);
		pio->head = (pio->head + n) % VIREO_PIO_QUEUE_LEN;
		WRITE_ONCE(pio->count, pio->count - n);
		spin_unlock(&pio->lock);
		d.count += n;
	}
	mutex_unlock(&pio->drain_lock);

	if (put_user(d.count, &argp->count))
		return -EFAULT;
	return ret;
}

long vireo_pio_set_notify(struct vireo_vm *vm, const struct vireo_pio_notify *req)
{
	struct vireo_pio *pio = &vm->pio;
	struct eventfd_ctx *ctx = NULL;

	if (req->reserved || req->fd < -1)
		return -EINVAL;
	if (req->fd >= 0) {
		ctx = eventfd_ctx_fdget(req->fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	spin_lock(&pio->lock);
	swap(pio->notify, ctx);
	if (pio->notify && pio->count)
		eventfd_signal(pio->notify, 1);
	spin_unlock(&pio->lock);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}
