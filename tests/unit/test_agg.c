// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The aggregation the BPF side runs per event (include/dt_agg.h), driven by a
 * simulated dirty ring: pushes, a VMM that harvests and resets, soft-full exits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dt_agg.h"
#include "core/hist.h"

#define US 1000ull
#define MS 1000000ull

struct sim {
	struct dt_vcpu v;
	struct dt_ring_ts rt;
	uint32_t dirty, reset;
	uint32_t epoch;
};

static void sim_init(struct sim *s, uint32_t size)
{
	memset(s, 0, sizeof(*s));
	s->v.ring_size = size;
	s->v.soft_limit = size - 64;
	s->rt.shift = dt_ring_ts_shift(size);
	s->epoch = 2;
}

static void sim_push(struct sim *s, uint64_t now)
{
	s->dirty++;
	if (dt_agg_push(&s->v, &s->rt, s->epoch, s->dirty, s->reset))
		dt_agg_push_stamp(&s->rt, s->dirty, now);
}

static void sim_reset(struct sim *s, uint64_t now)
{
	s->reset = s->dirty;
	dt_agg_reset(&s->v, &s->rt, s->epoch, s->dirty, s->reset, now);
}

static void test_shift(void **state)
{
	(void)state;
	/* 256 buckets cover the ring, but a bucket is at least a push batch */
	assert_int_equal(dt_ring_ts_shift(65536), 8);
	assert_int_equal(dt_ring_ts_shift(32768), 7);
	assert_int_equal(dt_ring_ts_shift(16384), DT_PUSH_BATCH_SHIFT);
	assert_int_equal(dt_ring_ts_shift(1024), DT_PUSH_BATCH_SHIFT);
	assert_int_equal(dt_ring_ts_shift(256), DT_PUSH_BATCH_SHIFT);
	assert_int_equal(dt_ring_ts_shift(0), DT_PUSH_BATCH_SHIFT);
}

/* One push every 100us, a reset every 10 ms: latency of the oldest = 10 ms - 100us. */
static void test_reap_latency_and_interval(void **state)
{
	struct sim s;
	uint64_t t = 0;
	struct hist_counts h;
	struct quantiles q;

	(void)state;
	sim_init(&s, 1024);
	for (int cycle = 0; cycle < 50; cycle++) {
		for (int i = 0; i < 100; i++) {
			t += 100 * US;
			sim_push(&s, t);
		}
		sim_reset(&s, t);
	}
	assert_int_equal(s.v.pushes, 5000);
	assert_int_equal(s.v.ring_resets, 50);
	assert_int_equal(s.v.entries_reset, 5000);

	hist_copy(&h, &s.v.reap_interval_us);
	quantiles_of(&q, &h, s.v.reap_interval_us.max);
	assert_int_equal(q.count, 49);
	assert_true(q.max == 10000);
	assert_true(q.p50 > 10000 * 0.875 && q.p50 <= 10000);

	/* bucket span of a push batch: the oldest may be stamped up to 63 pushes early */
	hist_copy(&h, &s.v.reap_latency_us);
	quantiles_of(&q, &h, s.v.reap_latency_us.max);
	assert_int_equal(q.count, 50);
	assert_true(s.v.reap_latency_us.max >= 9900 &&
		    s.v.reap_latency_us.max <= 9900 + (DT_PUSH_BATCH - 1) * 100);

	hist_copy(&h, &s.v.reclaimed);
	quantiles_of(&q, &h, s.v.reclaimed.max);
	assert_true(q.max == 100);
}

/* The entries of the first bucket were pushed before the reset that did not reclaim them. */
static void test_latency_skipped_when_bucket_unknown(void **state)
{
	struct sim s;
	const uint32_t span = 1u << dt_ring_ts_shift(1024);

	(void)state;
	sim_init(&s, 1024);
	/* attached mid-bucket: the start of entry span-2's bucket was never seen */
	s.dirty = s.reset = span - 2;
	s.v.dirty_index = s.v.reset_index = span - 2;
	sim_push(&s, 1 * MS);
	sim_reset(&s, 2 * MS);
	assert_int_equal(s.v.entries_reset, 1);
	assert_int_equal(s.v.reap_latency_us.max, 0);
	sim_push(&s, 3 * MS);	/* entry span-1 */
	sim_push(&s, 4 * MS);	/* entry span starts a bucket */
	sim_reset(&s, 5 * MS);	/* oldest reclaimed: span-1, its bucket's start unknown */
	assert_int_equal(s.v.reap_latency_us.max, 0);
	sim_push(&s, 6 * MS);
	sim_reset(&s, 9 * MS);	/* oldest span+1, its bucket stamped at 4 ms */
	assert_int_equal(s.v.reap_latency_us.max, 5000);
}

/* A stall ends only at the reset that takes the ring under its soft limit. */
static void test_full_stall(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 1024);
	for (int i = 0; i < 960; i++)
		sim_push(&s, 1 * MS);
	dt_agg_full_exit(&s.v, 10 * MS);
	dt_agg_full_exit(&s.v, 11 * MS);	/* again while still full: same stall */
	assert_int_equal(s.v.full_exits, 2);
	assert_true(s.v.full_since_ns == 10 * MS);

	/* a reset that reclaimed nothing does not end it */
	dt_agg_reset(&s.v, &s.rt, s.epoch, s.dirty, s.reset, 20 * MS);
	assert_int_equal(s.v.stalls, 0);
	sim_reset(&s, 50 * MS);
	assert_int_equal(s.v.stalls, 1);
	assert_true(s.v.stall_ns == 40 * MS);
	assert_true(s.v.full_since_ns == 0);
	assert_int_equal(s.v.stall_us.max, 40000);
}

/* Held out of KVM_RUN with a free ring: counted from the reset that ended the stall. */
static void test_held_after_stall(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 1024);
	for (int i = 0; i < 960; i++)
		sim_push(&s, 1 * MS);
	dt_agg_full_exit(&s.v, 10 * MS);
	dt_agg_reentry(&s.v, s.epoch, 12 * MS);	/* still full: KVM exits again */
	assert_int_equal(s.v.reentries_full, 1);
	sim_reset(&s, 20 * MS);			/* ends the stall */
	sim_reset(&s, 40 * MS);			/* a later reset does not restart the count */
	dt_agg_reentry(&s.v, s.epoch, 70 * MS);
	assert_int_equal(s.v.reentries, 2);
	assert_true(s.v.held_ns == 50 * MS);
	assert_int_equal(s.v.held_us.max, 50000);
}

static void test_peak_per_epoch(void **state)
{
	struct sim s;
	uint64_t peak;

	(void)state;
	sim_init(&s, 4096);
	for (int i = 0; i < 300; i++)
		sim_push(&s, 1);
	sim_reset(&s, 2);
	s.epoch = 3;	/* userspace closed epoch 2 */
	for (int i = 0; i < 50; i++)
		sim_push(&s, 3);
	assert_true(epoch_max_get(&s.v.peak_used, 2, &peak));
	assert_int_equal(peak, 300);
	assert_true(epoch_max_get(&s.v.peak_used, 3, &peak));
	assert_int_equal(peak, 50);
}

static void test_reset_call(void **state)
{
	struct dt_vm vm = {};

	(void)state;
	dt_agg_reset_call(&vm, 2, 400, 12000);
	dt_agg_reset_call(&vm, 2, 0, 3000);
	assert_int_equal(vm.reset_calls, 2);
	assert_int_equal(vm.reset_entries, 400);
	assert_int_equal(vm.reset_latency_ns.max, 12000);
	assert_true(vm.flags & DT_VM_RING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shift),
		cmocka_unit_test(test_reap_latency_and_interval),
		cmocka_unit_test(test_latency_skipped_when_bucket_unknown),
		cmocka_unit_test(test_full_stall),
		cmocka_unit_test(test_held_after_stall),
		cmocka_unit_test(test_peak_per_epoch),
		cmocka_unit_test(test_reset_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
