// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "core/units.h"

static void test_counts_and_rates(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(fmt_count(b, sizeof(b), 0), "0");
	assert_string_equal(fmt_count(b, sizeof(b), 999), "999");
	assert_string_equal(fmt_count(b, sizeof(b), 1000), "1.0K");
	assert_string_equal(fmt_count(b, sizeof(b), 1234), "1.2K");
	assert_string_equal(fmt_count(b, sizeof(b), 56789), "57K");
	assert_string_equal(fmt_count(b, sizeof(b), 3.4e6), "3.4M");
	assert_string_equal(fmt_rate(b, sizeof(b), 20000), "20K/s");
}

static void test_durations(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(fmt_usecs(b, sizeof(b), 850), "850us");
	assert_string_equal(fmt_usecs(b, sizeof(b), 1500), "1.5ms");
	assert_string_equal(fmt_usecs(b, sizeof(b), 125000), "125ms");
	assert_string_equal(fmt_usecs(b, sizeof(b), 3.2e6), "3.20s");
}

static void test_mib_and_percent(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(fmt_mib_s(b, sizeof(b), 78.125), "78MiB/s");
	assert_string_equal(fmt_mib_s(b, sizeof(b), 2.5), "2.5MiB/s");
	assert_string_equal(fmt_mib_s(b, sizeof(b), 2048), "2.0GiB/s");
	assert_string_equal(fmt_percent(b, sizeof(b), 42.4), "42%");
	assert_string_equal(fmt_percent(b, sizeof(b), 0.5), "0.5%");
	assert_string_equal(fmt_percent(b, sizeof(b), 0), "0%");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_rates),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_mib_and_percent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
