// SPDX-License-Identifier: GPL-2.0
/*
 * w1-fake: a software 1-Wire bus master with emulated DS18B20 thermometers.
 *
 * Debian's kernel has the 1-Wire core (wire.ko) and the real slave drivers
 * (w1_therm.ko, ...) but no simulated bus master. This module is one: it
 * registers a bus master with the w1 core and answers the byte-level
 * transactions of up to 8 DS18B20 sensors (family 0x28), so the REAL w1_therm
 * driver binds and user space sees exactly what it would on a board:
 *   /sys/bus/w1/devices/28-00000000000N/{w1_slave,temperature,resolution,...}
 *   /sys/class/hwmon/hwmonX/temp1_input   (w1_therm registers hwmon too)
 *
 * Parameters:
 *   nsensors=N   number of sensors on the bus (1..8, default 1), fixed at load
 *   temp_mC=a,b  temperature of each sensor in milli-degC, writable at run time:
 *                echo 21500,-5000 > /sys/module/w1_fake/parameters/temp_mC
 *   present=0|1  per sensor, writable: 0 makes a sensor vanish from searches
 *                and stop answering (the w1 core removes it after a few
 *                search cycles), 1 brings it back.
 *   bad_crc=0|1  per sensor, writable: 1 corrupts the CRC byte of every
 *                scratchpad read, so w1_therm reports "crc=.. NO".
 * Temperatures are not clamped to the DS18B20's -55..125 degC, so tests can
 * feed out-of-range readings (up to +-2047 degC, the 16-bit register).
 *
 * Out-of-tree build against the distribution's kernel headers, for tests only.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/w1.h>

#define MAX_SENSORS	8
#define FAMILY_DS18B20	0x28

static int nsensors = 1;
module_param(nsensors, int, 0444);
MODULE_PARM_DESC(nsensors, "number of emulated DS18B20 sensors (1..8)");

static int temp_mC[MAX_SENSORS] = { 25000, 25000, 25000, 25000, 25000, 25000, 25000, 25000 };
static int n_temp_mC;
module_param_array(temp_mC, int, &n_temp_mC, 0644);
MODULE_PARM_DESC(temp_mC, "temperature of each sensor, milli-degC (writable)");

static int present[MAX_SENSORS] = { 1, 1, 1, 1, 1, 1, 1, 1 };
static int n_present;
module_param_array(present, int, &n_present, 0644);
MODULE_PARM_DESC(present, "1 if sensor N answers on the bus (writable)");

static int bad_crc[MAX_SENSORS];
static int n_bad_crc;
module_param_array(bad_crc, int, &n_bad_crc, 0644);
MODULE_PARM_DESC(bad_crc, "1: sensor N answers scratchpad reads with a wrong CRC (writable)");

enum fake_state {
	ST_IDLE,	/* not addressed: reads return 1s */
	ST_ROM,		/* after reset: expecting a ROM command */
	ST_MATCH,	/* collecting the 8 bytes of MATCH ROM */
	ST_FUNC,	/* expecting a function command */
	ST_READ_SP,	/* reading the scratchpad */
	ST_WRITE_SP,	/* writing TH, TL, config */
	ST_DONE,	/* command finished: reads return 1s (conversion done, powered) */
};

struct fake_sensor {
	u8 rom[8];
	u8 th, tl, cfg;
	s16 raw;	/* last converted temperature, 1/16 degC */
};

static struct fake_bus {
	struct mutex lock;
	enum fake_state state;
	int sel;	/* -1: all (SKIP ROM), -2: none matched, else index */
	u8 match[8];
	int cnt;
	u8 sp[9];
	struct fake_sensor s[MAX_SENSORS];
} bus;

static s16 mc_to_raw(int mc)
{
	/* DS18B20: 1/16 degC per LSB; deliberately not clamped (see above) */
	return (s16)(mc * 16 / 1000);
}

static bool selected(int i)
{
	return present[i] && (bus.sel == -1 || bus.sel == i);
}

static void build_scratchpad(int i)
{
	struct fake_sensor *s = &bus.s[i];

	bus.sp[0] = (u16)s->raw & 0xff;
	bus.sp[1] = (u16)s->raw >> 8;
	bus.sp[2] = s->th;
	bus.sp[3] = s->tl;
	bus.sp[4] = s->cfg;
	bus.sp[5] = 0xff;
	bus.sp[6] = 0x0c;
	bus.sp[7] = 0x10;
	bus.sp[8] = w1_calc_crc8(bus.sp, 8);
	if (bad_crc[i])
		bus.sp[8] ^= 0xff;
}

static int first_selected(void)
{
	int i;

	for (i = 0; i < nsensors; i++)
		if (selected(i))
			return i;
	return -1;
}

static u8 fake_reset_bus(void *data)
{
	int i, any = 0;

	mutex_lock(&bus.lock);
	bus.state = ST_ROM;
	bus.sel = -1;
	for (i = 0; i < nsensors; i++)
		any |= present[i];
	mutex_unlock(&bus.lock);
	return any ? 0 : 1;	/* 0 = presence pulse seen */
}

static void fake_write_byte(void *data, u8 b)
{
	int i;

	mutex_lock(&bus.lock);
	switch (bus.state) {
	case ST_ROM:
		if (b == W1_SKIP_ROM || b == W1_RESUME_CMD) {
			bus.state = ST_FUNC;
		} else if (b == W1_MATCH_ROM) {
			bus.state = ST_MATCH;
			bus.cnt = 0;
		} else {
			bus.state = ST_IDLE;
		}
		break;
	case ST_MATCH:
		bus.match[bus.cnt++] = b;
		if (bus.cnt == 8) {
			bus.sel = -2;
			for (i = 0; i < nsensors; i++)
				if (!memcmp(bus.match, bus.s[i].rom, 8))
					bus.sel = i;
			bus.state = ST_FUNC;
		}
		break;
	case ST_FUNC:
		i = first_selected();
		if (i < 0) {
			bus.state = ST_IDLE;
			break;
		}
		switch (b) {
		case 0x44:	/* CONVERT T */
			for (i = 0; i < nsensors; i++)
				if (selected(i))
					bus.s[i].raw = mc_to_raw(temp_mC[i]);
			bus.state = ST_DONE;
			break;
		case 0xbe:	/* READ SCRATCHPAD */
			build_scratchpad(i);
			bus.cnt = 0;
			bus.state = ST_READ_SP;
			break;
		case 0x4e:	/* WRITE SCRATCHPAD */
			bus.cnt = 0;
			bus.state = ST_WRITE_SP;
			break;
		default:	/* COPY SCRATCHPAD, RECALL E2, READ POWER SUPPLY */
			bus.state = ST_DONE;
			break;
		}
		break;
	case ST_WRITE_SP:
		for (i = 0; i < nsensors; i++) {
			if (!selected(i))
				continue;
			if (bus.cnt == 0)
				bus.s[i].th = b;
			else if (bus.cnt == 1)
				bus.s[i].tl = b;
			else if (bus.cnt == 2)
				bus.s[i].cfg = (b & 0x60) | 0x1f;
		}
		if (++bus.cnt == 3)
			bus.state = ST_DONE;
		break;
	default:
		break;
	}
	mutex_unlock(&bus.lock);
}

static u8 fake_read_byte(void *data)
{
	u8 v = 0xff;

	mutex_lock(&bus.lock);
	if (bus.state == ST_READ_SP && bus.cnt < 9)
		v = bus.sp[bus.cnt++];
	mutex_unlock(&bus.lock);
	return v;
}

/* Single time slots: only read slots happen here (READ POWER SUPPLY, polls). */
static u8 fake_touch_bit(void *data, u8 bit)
{
	return 1;	/* externally powered / conversion complete / idle bus */
}

static void fake_search(void *data, struct w1_master *master, u8 search_type,
			w1_slave_found_callback cb)
{
	int i;

	if (search_type != W1_SEARCH)	/* alarm search: no alarms */
		return;
	for (i = 0; i < nsensors; i++)
		if (present[i])
			cb(master, le64_to_cpu(*(__le64 *)bus.s[i].rom));
}

static struct w1_bus_master fake_master = {
	.touch_bit	= fake_touch_bit,
	.read_byte	= fake_read_byte,
	.write_byte	= fake_write_byte,
	.reset_bus	= fake_reset_bus,
	.search		= fake_search,
	.dev_id		= "w1-fake",
};

static int __init w1_fake_init(void)
{
	int i;

	if (nsensors < 1 || nsensors > MAX_SENSORS)
		return -EINVAL;
	mutex_init(&bus.lock);
	for (i = 0; i < nsensors; i++) {
		struct fake_sensor *s = &bus.s[i];

		/* 28-00000000000N: family, 48-bit serial (LSB first), CRC8 */
		memset(s->rom, 0, sizeof(s->rom));
		s->rom[0] = FAMILY_DS18B20;
		s->rom[1] = i + 1;
		s->rom[7] = w1_calc_crc8(s->rom, 7);
		s->th = 0x4b;
		s->tl = 0x46;
		s->cfg = 0x7f;	/* 12-bit resolution */
		s->raw = 0x0550;	/* power-on value, 85 degC */
	}
	return w1_add_master_device(&fake_master);
}

static void __exit w1_fake_exit(void)
{
	w1_remove_master_device(&fake_master);
}

module_init(w1_fake_init);
module_exit(w1_fake_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fake 1-Wire bus master with emulated DS18B20 sensors (for tests)");
