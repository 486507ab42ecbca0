// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Histogram buckets and quantiles, the same code the BPF side uses for bucketing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/hist.h"

static void test_buckets_cover_values(void **state)
{
	(void)state;
	/* every value falls in the bucket whose [low, high) contains it */
	for (uint64_t v = 0; v < 100000; v += (v < 64 ? 1 : v / 7)) {
		uint32_t b = dt_hist_bucket(v);

		assert_true(b < DT_HIST_BUCKETS);
		assert_true(hist_bucket_low(b) <= v);
		assert_true(v < hist_bucket_high(b));
	}
	assert_int_equal(dt_hist_bucket(0), 0);
	assert_int_equal(dt_hist_bucket(3), 3);
	assert_int_equal(dt_hist_bucket(4), 4);
	assert_int_equal(dt_hist_bucket(7), 7);
	assert_int_equal(dt_hist_bucket(8), 8);
	assert_int_equal(dt_hist_bucket(1ull << 40), DT_HIST_BUCKETS - 1);
}

static void test_buckets_are_at_most_25_percent_wide(void **state)
{
	(void)state;
	for (uint32_t b = 4; b < DT_HIST_BUCKETS - 1; b++) {
		double lo = (double)hist_bucket_low(b), hi = (double)hist_bucket_high(b);

		assert_true(hi > lo);
		assert_true((hi - lo) / lo <= 0.25 + 1e-9);
		assert_int_equal(hist_bucket_high(b), hist_bucket_low(b + 1));
	}
}

static void test_log2(void **state)
{
	(void)state;
	assert_int_equal(dt_log2(1), 0);
	assert_int_equal(dt_log2(2), 1);
	assert_int_equal(dt_log2(1023), 9);
	assert_int_equal(dt_log2(1024), 10);
	assert_int_equal(dt_log2(UINT64_MAX), 63);
}

static void add(struct dt_hist *h, uint64_t v)
{
	h->count[dt_hist_bucket(v)]++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

static void test_quantiles_within_bucket_error(void **state)
{
	struct dt_hist h = {};
	struct hist_counts c;
	struct quantiles q;

	(void)state;
	/* 1..1000: p50 = 500, p99 = 990 */
	for (uint64_t v = 1; v <= 1000; v++)
		add(&h, v);
	hist_copy(&c, &h);
	quantiles_of(&q, &c, h.max);
	assert_true(q.valid);
	assert_int_equal(q.count, 1000);
	assert_true(q.p50 > 500 * 0.875 && q.p50 < 500 * 1.125);
	assert_true(q.p99 > 990 * 0.875 && q.p99 <= 1000);
	assert_true(q.max == 1000);
}

static void test_quantile_clamped_to_max(void **state)
{
	struct dt_hist h = {};
	struct hist_counts c;
	double v;

	(void)state;
	add(&h, 100);	/* bucket [96, 112): midpoint 104 > max */
	hist_copy(&c, &h);
	assert_true(hist_quantile(&c, 0.5, 100, &v));
	assert_true(v == 100);
}

static void test_delta_and_empty(void **state)
{
	struct dt_hist a = {}, b = {};
	struct hist_counts d;
	struct quantiles q;

	(void)state;
	add(&a, 10);
	b = a;
	add(&b, 5000);
	hist_delta(&d, &b, &a);
	assert_int_equal(hist_total(&d), 1);
	quantiles_of(&q, &d, 0);
	assert_true(q.valid);
	assert_true(q.p50 > 5000 * 0.875 && q.p50 < 5000 * 1.125);
	hist_delta(&d, &a, &a);
	quantiles_of(&q, &d, 0);
	assert_false(q.valid);
}

static void test_delta_survives_u32_wrap(void **state)
{
	struct dt_hist a = {}, b = {};
	struct hist_counts d;

	(void)state;
	a.count[5] = UINT32_MAX - 1;
	b.count[5] = 3;	/* wrapped: 5 more */
	hist_delta(&d, &b, &a);
	assert_int_equal(d.count[5], 5);
}

static void test_epoch_max(void **state)
{
	struct dt_epoch_max m = {};
	uint64_t v;

	(void)state;
	m.epoch[1] = 7;
	m.value[1] = 42;
	assert_true(epoch_max_get(&m, 7, &v));
	assert_int_equal(v, 42);
	assert_false(epoch_max_get(&m, 9, &v));	/* slot 1 is stale for epoch 9 */
	assert_false(epoch_max_get(&m, 8, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_cover_values),
		cmocka_unit_test(test_buckets_are_at_most_25_percent_wide),
		cmocka_unit_test(test_log2),
		cmocka_unit_test(test_quantiles_within_bucket_error),
		cmocka_unit_test(test_quantile_clamped_to_max),
		cmocka_unit_test(test_delta_and_empty),
		cmocka_unit_test(test_delta_survives_u32_wrap),
		cmocka_unit_test(test_epoch_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
