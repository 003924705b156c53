// SPDX-License-Identifier: GPL-2.0
/*
 * The MC146818 real-time clock and its CMOS RAM, at ports 0x70 (index,
 * write-only; bit 7 disables NMI) and 0x71 (data).  Register map from the
 * Motorola MC146818A data sheet; memory-size bytes as the IBM PC/AT BIOS
 * (and SeaBIOS) define them.
 *
 * Time: the guest sees the host's wall clock plus an offset in whole
 * seconds that changes when the guest sets the clock.  Registers 0-9 are
 * computed on each read, in BCD or binary (register B bit 2) and 12- or
 * 24-hour format (bit 1, PM in bit 7 of the hour).  Setting register B's
 * SET bit freezes the time the guest reads and writes; clearing it starts
 * the clock from what was written.  Writes with SET clear take effect at
 * once.  The day of the week is derived from the date: writes to it are
 * ignored.  The century byte 0x32 follows the clock too.
 *
 * Status registers:
 *  A  divider and rate bits read back; UIP (bit 7) is set during the last
 *     244 us of each second while the clock runs, so it is never stuck;
 *  B  read-write; SET also clears UIE, as the data sheet says;
 *  C  PF, AF and UF are computed when C is read (a period, an alarm match
 *     of the current time, a second boundary since the last read), IRQF
 *     when one of them is enabled in B; reading clears them.  No IRQ 8 is
 *     raised: nothing a booting kernel needs waits for one;
 *  D  VRT (bit 7): the battery is fine.
 *
 * CMOS RAM (0x0e-0x7f) starts as a BIOS would leave it for this VM: no
 * floppy or fixed disk, FPU present, 640 KiB of base memory, extended
 * memory in KiB at 0x17/0x18 and 0x30/0x31, memory above 16 MiB in 64 KiB
 * units at 0x34/0x35, above 4 GiB at 0x5b-0x5d, vCPUs - 1 at 0x5f, and the
 * checksum of 0x10-0x2d at 0x2e/0x2f.  The guest may write all of it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "device.h"
#include "io_bus.h"
#include "linux_boot.h"
#include "rtc_mc146818.h"
#include "vm.h"

#define RTC_BASE		0x70
#define RTC_NMI_DISABLE		0x80
#define RTC_INDEX_MASK		0x7f
#define RTC_BYTES		128

#define RTC_SECONDS		0x00
#define RTC_MINUTES		0x02
#define RTC_HOURS		0x04
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32

#define RTC_A_UIP		0x80
#define RTC_A_DV_MASK		0x70
#define RTC_A_DV_NORMAL		0x20	/* 32.768 kHz time base, running */
#define RTC_A_RATE_MASK		0x0f
#define RTC_B_SET		0x80
#define RTC_B_PIE		0x40
#define RTC_B_AIE		0x20
#define RTC_B_UIE		0x10
#define RTC_B_DM_BINARY		0x04
#define RTC_B_24H		0x02
#define RTC_C_IRQF		0x80
#define RTC_C_PF		0x40
#define RTC_C_AF		0x20
#define RTC_C_UF		0x10
#define RTC_D_VRT		0x80
#define RTC_UIP_NS		244000
#define RTC_MAX_SECONDS		(1LL << 40)	/* about 35000 years */
#define NSEC			1000000000LL

struct rtc {
	pthread_mutex_t lock;	/* guards all below */
	uint8_t index;
	uint8_t nmi_disabled;	/* recorded only: Vireo raises no NMI here */
	uint8_t cmos[RTC_BYTES];	/* time registers 0-9 are not kept here */
	int64_t offset_s;	/* guest time - host time, seconds */
	int64_t frozen_s;	/* the guest time while SET is set */
	int64_t flags_read_ns;	/* host time of the last register C read */
};

static int64_t rtc_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

int64_t (*rtc_clock_ns)(void) = rtc_realtime_ns;

static int64_t rtc_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t rtc_guest_seconds(const struct rtc *r, int64_t now_ns)
{
	if (r->cmos[RTC_REG_B] & RTC_B_SET)
		return r->frozen_s;
	return rtc_floor_div(now_ns, NSEC) + r->offset_s;
}

static uint8_t rtc_encode(const struct rtc *r, int v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

/* Not-quite-BCD input gives odd values; timegm() normalises them. */
static int rtc_decode(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_read_time(const struct rtc *r, unsigned int reg, int64_t now_ns)
{
	time_t t = (time_t)rtc_guest_seconds(r, now_ns);
	struct tm tm;
	int hour;

	if (!gmtime_r(&t, &tm))
		return 0;
	switch (reg) {
	case RTC_SECONDS:	return rtc_encode(r, tm.tm_sec);
	case RTC_MINUTES:	return rtc_encode(r, tm.tm_min);
	case RTC_DAY_OF_WEEK:	return rtc_encode(r, tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:	return rtc_encode(r, tm.tm_mday);
	case RTC_MONTH:		return rtc_encode(r, tm.tm_mon + 1);
	case RTC_YEAR:		return rtc_encode(r, tm.tm_year % 100);
	case RTC_CENTURY:	return rtc_encode(r, (tm.tm_year + 1900) / 100);
	case RTC_HOURS:
		if (r->cmos[RTC_REG_B] & RTC_B_24H)
			return rtc_encode(r, tm.tm_hour);
		hour = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
		return (uint8_t)(rtc_encode(r, hour) | (tm.tm_hour >= 12 ? 0x80 : 0));
	}
	return 0;
}

static void rtc_write_time(struct rtc *r, unsigned int reg, uint8_t value, int64_t now_ns)
{
	time_t t = (time_t)rtc_guest_seconds(r, now_ns);
	int v = rtc_decode(r, value);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return;
	switch (reg) {
	case RTC_SECONDS:	tm.tm_sec = v; break;
	case RTC_MINUTES:	tm.tm_min = v; break;
	case RTC_DAY_OF_MONTH:	tm.tm_mday = v; break;
	case RTC_MONTH:		tm.tm_mon = v - 1; break;
	case RTC_YEAR:		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + v - 1900; break;
	case RTC_CENTURY:	tm.tm_year = v * 100 + tm.tm_year % 100 - 1900; break;
	case RTC_HOURS:
		if (r->cmos[RTC_REG_B] & RTC_B_24H)
			tm.tm_hour = v;
		else
			tm.tm_hour = rtc_decode(r, value & 0x7f) % 12 + (value & 0x80 ? 12 : 0);
		break;
	default:
		return;		/* day of week: derived from the date */
	}
	t = timegm(&tm);
	if (t == (time_t)-1)
		return;		/* out of range: keep the old time */
	if (r->cmos[RTC_REG_B] & RTC_B_SET)
		r->frozen_s = t;
	else
		r->offset_s = t - rtc_floor_div(now_ns, NSEC);
}

static bool rtc_running(const struct rtc *r)
{
	return !(r->cmos[RTC_REG_B] & RTC_B_SET) &&
	       (r->cmos[RTC_REG_A] & RTC_A_DV_MASK) == RTC_A_DV_NORMAL;
}

/* Alarm bytes with both top bits set are "don't care". */
static bool rtc_alarm_matches(const struct rtc *r, int64_t now_ns)
{
	static const unsigned int regs[] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS };

	for (int i = 0; i < 3; i++) {
		uint8_t alarm = r->cmos[regs[i] + 1];

		if ((alarm & 0xc0) != 0xc0 && alarm != rtc_read_time(r, regs[i], now_ns))
			return false;
	}
	return true;
}

static int64_t rtc_periodic_ns(unsigned int rate)
{
	unsigned int shift = rate <= 2 ? rate + 6 : rate - 1;

	return ((int64_t)1 << shift) * NSEC / 32768;
}

static uint8_t rtc_read_flags(struct rtc *r, int64_t now_ns)
{
	unsigned int rate = r->cmos[RTC_REG_A] & RTC_A_RATE_MASK;
	uint8_t b = r->cmos[RTC_REG_B], flags = 0;

	if (rtc_running(r)) {
		if (rtc_floor_div(now_ns, NSEC) != rtc_floor_div(r->flags_read_ns, NSEC))
			flags |= RTC_C_UF;
		if (rtc_alarm_matches(r, now_ns))
			flags |= RTC_C_AF;
	}
	if (rate && rtc_floor_div(now_ns, rtc_periodic_ns(rate)) !=
		    rtc_floor_div(r->flags_read_ns, rtc_periodic_ns(rate)))
		flags |= RTC_C_PF;
	if ((flags & RTC_C_PF && b & RTC_B_PIE) || (flags & RTC_C_AF && b & RTC_B_AIE) ||
	    (flags & RTC_C_UF && b & RTC_B_UIE))
		flags |= RTC_C_IRQF;
	r->flags_read_ns = now_ns;
	return flags;
}

static uint8_t rtc_read_reg(struct rtc *r, unsigned int reg, int64_t now_ns)
{
	switch (reg) {
	case RTC_REG_A:
		if (rtc_running(r) && now_ns - rtc_floor_div(now_ns, NSEC) * NSEC >= NSEC - RTC_UIP_NS)
			return r->cmos[RTC_REG_A] | RTC_A_UIP;
		return r->cmos[RTC_REG_A];
	case RTC_REG_C:
		return rtc_read_flags(r, now_ns);
	case RTC_REG_D:
		return RTC_D_VRT;
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return rtc_read_time(r, reg, now_ns);
	default:
		return r->cmos[reg];	/* alarms, RAM */
	}
}

static void rtc_write_reg(struct rtc *r, unsigned int reg, uint8_t value, int64_t now_ns)
{
	uint8_t old_b = r->cmos[RTC_REG_B];

	switch (reg) {
	case RTC_REG_A:
		r->cmos[RTC_REG_A] = value & (uint8_t)~RTC_A_UIP;
		break;
	case RTC_REG_B:
		if ((value & RTC_B_SET) && !(old_b & RTC_B_SET)) {
			r->frozen_s = rtc_guest_seconds(r, now_ns);
			value &= (uint8_t)~RTC_B_UIE;
		} else if (!(value & RTC_B_SET) && (old_b & RTC_B_SET)) {
			r->offset_s = r->frozen_s - rtc_floor_div(now_ns, NSEC);
		}
		r->cmos[RTC_REG_B] = value;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;		/* read-only */
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		rtc_write_time(r, reg, value, now_ns);
		break;
	default:
		r->cmos[reg] = value;
		break;
	}
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc *r = opaque;
	uint8_t value = 0xff;	/* the index port is write-only */

	(void)size;
	if (offset == 0)
		return value;
	pthread_mutex_lock(&r->lock);
	value = rtc_read_reg(r, r->index, rtc_clock_ns());
	pthread_mutex_unlock(&r->lock);
	return value;
}

static void rtc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct rtc *r = opaque;

	(void)size;
	pthread_mutex_lock(&r->lock);
	if (offset == 0) {
		r->index = value & RTC_INDEX_MASK;
		r->nmi_disabled = !!(value & RTC_NMI_DISABLE);
	} else {
		rtc_write_reg(r, r->index, (uint8_t)value, rtc_clock_ns());
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct io_ops rtc_io_ops = {
	.read = rtc_read, .write = rtc_write, .max_access = 1,
};

static void rtc_put16(uint8_t *cmos, unsigned int at, uint64_t value, uint64_t cap)
{
	if (value > cap)
		value = cap;
	cmos[at] = (uint8_t)value;
	cmos[at + 1] = (uint8_t)(value >> 8);
}

static void rtc_init_cmos(struct rtc *r, const struct vm *vm)
{
	uint64_t low = vm->ram_bytes < LINUX_MMIO_HOLE_GPA ? vm->ram_bytes : LINUX_MMIO_HOLE_GPA;
	uint64_t high = vm->ram_bytes > LINUX_4GIB ? vm->ram_bytes - LINUX_4GIB : 0;
	uint64_t ext_kib = low > (1 << 20) ? (low - (1 << 20)) >> 10 : 0;
	uint64_t over16m = low > (16 << 20) ? (low - (16 << 20)) >> 16 : 0;
	uint16_t sum = 0;

	r->cmos[RTC_REG_A] = RTC_A_DV_NORMAL | 0x06;	/* 1024 Hz periodic rate */
	r->cmos[RTC_REG_B] = RTC_B_24H;			/* BCD, 24-hour */
	r->cmos[0x10] = 0x00;		/* no floppy drives */
	r->cmos[0x12] = 0x00;		/* no fixed disks */
	r->cmos[0x14] = 0x02;		/* equipment: FPU, VGA, no floppy */
	rtc_put16(r->cmos, 0x15, 640, 640);		/* base memory, KiB */
	rtc_put16(r->cmos, 0x17, ext_kib, 0xffff);	/* extended memory, KiB */
	rtc_put16(r->cmos, 0x30, ext_kib, 0xffff);
	rtc_put16(r->cmos, 0x34, over16m, 0xffff);	/* above 16 MiB, 64 KiB */
	r->cmos[0x5b] = (uint8_t)(high >> 16);		/* above 4 GiB, 64 KiB */
	r->cmos[0x5c] = (uint8_t)(high >> 24);
	r->cmos[0x5d] = (uint8_t)(high >> 32);
	r->cmos[0x5f] = (uint8_t)(vm->nr_vcpus - 1);
	for (unsigned int i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
}

static int rtc_create(struct vm *vm, void **opaque)
{
	struct rtc *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	rtc_init_cmos(r, vm);
	r->flags_read_ns = rtc_clock_ns();
	ret = io_bus_register(&vm->pio, RTC_BASE, 2, &rtc_io_ops, r, "MC146818 RTC/CMOS");
	if (ret) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return ret;
	}
	*opaque = r;
	return 0;
}

static void rtc_destroy(void *opaque)
{
	struct rtc *r = opaque;

	pthread_mutex_destroy(&r->lock);
	free(r);
}

static bool rtc_seconds_sane(int64_t s)
{
	return s >= -RTC_MAX_SECONDS && s <= RTC_MAX_SECONDS;
}

/* The offset is kept as is: a wall clock is the same on the next host. */
static int rtc_sync_state(void *opaque, struct dev_state *st)
{
	struct rtc *r = opaque;
	uint64_t offset, frozen;

	pthread_mutex_lock(&r->lock);
	offset = (uint64_t)r->offset_s;
	frozen = (uint64_t)r->frozen_s;
	dev_state_u8(st, &r->index);
	dev_state_u8(st, &r->nmi_disabled);
	dev_state_bytes(st, r->cmos, sizeof(r->cmos));
	dev_state_u64(st, &offset);
	dev_state_u64(st, &frozen);
	if (st->dir == DEV_STATE_LOAD && !st->error) {
		/* Beyond +-RTC_MAX_SECONDS the time arithmetic could overflow. */
		if (r->index > RTC_INDEX_MASK || r->nmi_disabled > 1 ||
		    !rtc_seconds_sane((int64_t)offset) || !rtc_seconds_sane((int64_t)frozen)) {
			r->index &= RTC_INDEX_MASK;
			r->nmi_disabled = !!r->nmi_disabled;
			st->error = -EINVAL;
		} else {
			r->offset_s = (int64_t)offset;
			r->frozen_s = (int64_t)frozen;
		}
		r->cmos[RTC_REG_A] &= (uint8_t)~RTC_A_UIP;
		r->flags_read_ns = rtc_clock_ns();
	}
	pthread_mutex_unlock(&r->lock);
	return st->error;
}

static const struct device_model rtc_mc146818_model = {
	.name = "rtc-mc146818",
	.create = rtc_create,
	.destroy = rtc_destroy,
	.sync_state = rtc_sync_state,
};
DEVICE_MODEL_REGISTER(rtc_mc146818_model);
