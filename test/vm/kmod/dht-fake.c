// SPDX-License-Identifier: GPL-2.0
/*
 * dht-fake: a DHT22 (AM2302) on a GPIO line of its own, for the kernel's
 * REAL dht11 IIO driver (drivers/iio/humidity/dht11.c, built out of tree:
 * Debian's kernel does not enable it).
 *
 * It registers a one-line GPIO chip "dht-fake" with an edge interrupt, and a
 * platform device "dht11" whose GPIO is that line (a lookup table: x86 has no
 * device tree), so the dht11 driver binds and user space sees what it sees
 * on a Raspberry Pi with dtoverlay=dht11:
 *   /sys/bus/iio/devices/iio:deviceN/{name,in_temp_input,in_humidityrelative_input}
 *
 * The driver starts a transfer by driving the line low for 18 ms, releases
 * it and requests the line's interrupt. When the interrupt is unmasked after
 * a start signal, the fake answers as a DHT22 does: 80 us low, 80 us high,
 * 40 bits of 50 us low then 22 us (0) or 70 us (1) high, a last 50 us low and
 * the release. Each level change raises the interrupt, so the driver
 * timestamps the edges itself and decodes the bits by their width, the
 * sensor's real protocol. The widths are kept by busy-waiting on the clock
 * the driver reads (boottime), from an hrtimer, interrupts off, about 4 ms.
 *
 * Parameters (writable at run time, /sys/module/dht_fake/parameters/):
 *   temp_dc=N        temperature in tenths of degC (default 215); negative
 *                    values use the DHT22's sign bit
 *   humidity_dpct=N  relative humidity in tenths of % (default 456, 0..1000)
 *   mode=N           0 answer; 1 stay silent (the driver gives up after 1 s:
 *                    ETIMEDOUT); 2 answer with a wrong checksum (EIO)
 *   answers          (read-only) transfers answered so far
 *
 * Out-of-tree build against the distribution's kernel headers, for tests only.
 */
#include <linux/delay.h>
#include <linux/gpio/driver.h>
#include <linux/gpio/machine.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/timekeeping.h>

static int temp_dc = 215;
module_param(temp_dc, int, 0644);
MODULE_PARM_DESC(temp_dc, "temperature, tenths of degC (writable)");

static int humidity_dpct = 456;
module_param(humidity_dpct, int, 0644);
MODULE_PARM_DESC(humidity_dpct, "relative humidity, tenths of % (writable)");

static int mode;
module_param(mode, int, 0644);
MODULE_PARM_DESC(mode, "0 answer, 1 silent (ETIMEDOUT), 2 wrong checksum (EIO)");

static int answers;
module_param(answers, int, 0444);
MODULE_PARM_DESC(answers, "transfers answered");

static struct {
	struct gpio_chip gc;
	struct hrtimer answer;
	int level;		/* what the line reads as an input */
	bool output;		/* the driver drives the line */
	int out_value;
	bool start_signal;	/* driven low since the last answer */
} fake;

static struct platform_device *chip_pdev, *dht_pdev;

static struct gpiod_lookup_table dht_lookup = {
	.dev_id = "dht11",
	.table = {
		GPIO_LOOKUP("dht-fake", 0, NULL, GPIO_ACTIVE_HIGH),
		{ },
	},
};

static int fake_get(struct gpio_chip *gc, unsigned int offset)
{
	return fake.output ? fake.out_value : fake.level;
}

static void fake_set(struct gpio_chip *gc, unsigned int offset, int value)
{
	fake.out_value = value;
	if (fake.output && !value)
		fake.start_signal = true;
}

static int fake_direction_output(struct gpio_chip *gc, unsigned int offset, int value)
{
	fake.output = true;
	fake_set(gc, offset, value);
	return 0;
}

static int fake_direction_input(struct gpio_chip *gc, unsigned int offset)
{
	fake.output = false;
	fake.level = 1;		/* the pull-up */
	return 0;
}

static int fake_get_direction(struct gpio_chip *gc, unsigned int offset)
{
	return fake.output ? GPIO_LINE_DIRECTION_OUT : GPIO_LINE_DIRECTION_IN;
}

static void fake_irq_mask(struct irq_data *d)
{
	gpiochip_disable_irq(&fake.gc, irqd_to_hwirq(d));
}

static void fake_irq_unmask(struct irq_data *d)
{
	gpiochip_enable_irq(&fake.gc, irqd_to_hwirq(d));
	/* The driver listens now: answer its start signal, as a DHT does 20-40 us after the release. */
	if (fake.start_signal && !fake.output) {
		fake.start_signal = false;
		hrtimer_start(&fake.answer, ns_to_ktime(30 * NSEC_PER_USEC), HRTIMER_MODE_REL);
	}
}

static int fake_irq_set_type(struct irq_data *d, unsigned int type)
{
	return 0;
}

static const struct irq_chip fake_irqchip = {
	.name = "dht-fake",
	.irq_mask = fake_irq_mask,
	.irq_unmask = fake_irq_unmask,
	.irq_set_type = fake_irq_set_type,
	.flags = IRQCHIP_IMMUTABLE,
	GPIOCHIP_IRQ_RESOURCE_HELPERS,
};

/* Sets the line, raises its interrupt, holds the level for `us`. */
static void edge(int level, unsigned int us)
{
	u64 until;

	fake.level = level;
	generic_handle_domain_irq(fake.gc.irq.domain, 0);
	until = ktime_get_boottime_ns() + (u64)us * NSEC_PER_USEC;
	while (ktime_get_boottime_ns() < until)
		cpu_relax();
}

static enum hrtimer_restart fake_answer(struct hrtimer *timer)
{
	u8 bytes[5];
	int humidity = clamp(humidity_dpct, 0, 1000);
	int temp = clamp(temp_dc, -32767, 32767);
	unsigned int raw_temp = temp < 0 ? (0x8000 | -temp) : temp;
	int i;

	if (mode == 1)
		return HRTIMER_NORESTART;
	bytes[0] = humidity >> 8;
	bytes[1] = humidity & 0xff;
	bytes[2] = raw_temp >> 8;
	bytes[3] = raw_temp & 0xff;
	bytes[4] = bytes[0] + bytes[1] + bytes[2] + bytes[3];
	if (mode == 2)
		bytes[4] ^= 0x01;

	edge(0, 80);
	edge(1, 80);
	for (i = 0; i < 40; i++) {
		int bit = (bytes[i / 8] >> (7 - i % 8)) & 1;

		edge(0, 50);
		edge(1, bit ? 70 : 22);
	}
	edge(0, 50);
	edge(1, 0);	/* released: past the driver's count, it ignores this one */
	answers++;
	return HRTIMER_NORESTART;
}

static int __init dht_fake_init(void)
{
	struct gpio_irq_chip *girq;
	int ret;

	hrtimer_init(&fake.answer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	fake.answer.function = fake_answer;
	fake.level = 1;

	chip_pdev = platform_device_register_simple("dht-fake", PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(chip_pdev))
		return PTR_ERR(chip_pdev);

	fake.gc.label = "dht-fake";
	fake.gc.parent = &chip_pdev->dev;
	fake.gc.owner = THIS_MODULE;
	fake.gc.base = -1;
	fake.gc.ngpio = 1;
	fake.gc.can_sleep = false;
	fake.gc.get = fake_get;
	fake.gc.set = fake_set;
	fake.gc.direction_input = fake_direction_input;
	fake.gc.direction_output = fake_direction_output;
	fake.gc.get_direction = fake_get_direction;
	girq = &fake.gc.irq;
	gpio_irq_chip_set_chip(girq, &fake_irqchip);
	girq->handler = handle_simple_irq;
	girq->default_type = IRQ_TYPE_NONE;

	ret = gpiochip_add_data(&fake.gc, NULL);
	if (ret)
		goto err_chip;

	gpiod_add_lookup_table(&dht_lookup);
	dht_pdev = platform_device_register_simple("dht11", PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(dht_pdev)) {
		ret = PTR_ERR(dht_pdev);
		goto err_dht;
	}
	return 0;

err_dht:
	gpiod_remove_lookup_table(&dht_lookup);
	gpiochip_remove(&fake.gc);
err_chip:
	platform_device_unregister(chip_pdev);
	return ret;
}

static void __exit dht_fake_exit(void)
{
	platform_device_unregister(dht_pdev);
	gpiod_remove_lookup_table(&dht_lookup);
	hrtimer_cancel(&fake.answer);
	gpiochip_remove(&fake.gc);
	platform_device_unregister(chip_pdev);
}

module_init(dht_fake_init);
module_exit(dht_fake_exit);
MODULE_DESCRIPTION("A DHT22 on a GPIO line of its own, for the dht11 IIO driver in tests");
MODULE_LICENSE("GPL");
