// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "core/idmap.h"

static void test_empty(void **state)
{
	struct idmap m = {};

	(void)state;
	assert_int_equal(idmap_get(&m, 0), 0);
	assert_int_equal(idmap_get(&m, 42), 0);
	idmap_free(&m);
}

/* Through several doublings: every key keeps its value, absent keys stay absent. */
static void test_grow_keeps_everything(void **state)
{
	struct idmap m = {};
	const uint32_t n = 5000;

	(void)state;
	for (uint32_t i = 0; i < n; i++)
		idmap_put(&m, (uint64_t)i * 0x100000001ull, i + 1);	/* keys that differ in both halves */
	assert_int_equal(m.n, n);
	assert_true(m.cap >= 2 * n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(idmap_get(&m, (uint64_t)i * 0x100000001ull), i + 1);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(idmap_get(&m, (uint64_t)i * 0x100000001ull + 1), 0);
	idmap_free(&m);
	assert_int_equal(m.cap, 0);
	assert_int_equal(idmap_get(&m, 0), 0);
}

static void test_replace_and_full_width_keys(void **state)
{
	struct idmap m = {};

	(void)state;
	idmap_put(&m, 0, 7);			/* key 0 is a key like any other */
	idmap_put(&m, UINT64_MAX, 8);
	idmap_put(&m, 1ull << 32, 9);		/* differs from key 0 only in the high half */
	assert_int_equal(idmap_get(&m, 0), 7);
	assert_int_equal(idmap_get(&m, UINT64_MAX), 8);
	assert_int_equal(idmap_get(&m, 1ull << 32), 9);
	idmap_put(&m, 0, 70);
	assert_int_equal(idmap_get(&m, 0), 70);
	assert_int_equal(m.n, 3);
	idmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_grow_keeps_everything),
		cmocka_unit_test(test_replace_and_full_width_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
