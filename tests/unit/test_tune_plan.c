// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop tune`'s plan (core/tune_plan.c) from a timeline (core/timeline.c)
 * fed with the records a recording holds: a VMM whose reaper harvests and
 * resets every ring every 100 ms, recorded with a large ring, its vCPUs
 * dirtying at a steady rate. Between two resets a vCPU fills rate * 0.1 s
 * entries, so every ring whose soft limit is below that must take soft-full
 * exits each period, and the smallest ring above it is the recommendation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dt_kvm.h"
#include "core/tune_plan.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define VM_ID 7
#define TGID 4242
#define REAPER_TID 5000
#define RECORDED_SIZE 65536u
#define PERIOD (100 * MS)

static void add(struct timeline *t, struct rec_record rec)
{
	timeline_add(t, &rec);
}

/*
 * n_vcpus vCPUs pushing rate entries/s each from start to end, a reset of
 * every ring every PERIOD (all it holds), ending with one at end.
 */
static void steady_vm(struct timeline *t, int n_vcpus, uint64_t rate, uint64_t start, uint64_t end)
{
	uint32_t dirty[8] = {};
	uint64_t step = SEC / rate, next_push[8], next_reset = start + PERIOD;

	add(t, (struct rec_record){ .kind = REC_VM_INFO, .vm = { .id = VM_ID, .tgid = TGID } });
	for (int v = 0; v < n_vcpus; v++) {
		add(t, (struct rec_record){ .kind = REC_RING_INFO, .ring = { .id = 100 + v, .vm_id = VM_ID,
			.tgid = TGID, .tid = TGID + 1 + v, .vcpu_id = v, .ring_size = RECORDED_SIZE,
			.soft_limit = RECORDED_SIZE - 64 } });
		next_push[v] = start + v;
	}
	for (;;) {
		uint64_t now = next_reset;
		int who = -1;

		for (int v = 0; v < n_vcpus; v++)
			if (next_push[v] < now) {
				now = next_push[v];
				who = v;
			}
		if (now > end)
			break;
		if (who >= 0) {
			dirty[who]++;
			add(t, (struct rec_record){ .kind = REC_PUSH, .ev = { .ts = now, .id = 100 + who,
				.dirty_index = dirty[who] } });
			next_push[who] += step;
			continue;
		}
		/* the reaper: one KVM_RESET_DIRTY_RINGS resetting every ring */
		for (int v = 0; v < n_vcpus; v++)
			add(t, (struct rec_record){ .kind = REC_RESET, .ev = { .ts = now + 10000 + v, .id = 100 + v,
				.dirty_index = dirty[v], .reset_index = dirty[v] } });
		add(t, (struct rec_record){ .kind = REC_IOCTL, .ev = { .ts = now + 50000, .id = VM_ID, .tid = REAPER_TID,
			.cmd = DT_KVM_RESET_DIRTY_RINGS, .latency_ns = 50000 } });
		next_reset += PERIOD;
	}
	timeline_finish(t);
}

static const struct ringsim_target target = { .max_exits_s = 1, .max_stall_frac = 0.005 };

static int ring_index(uint32_t size)
{
	for (int i = 0; i < RINGSIM_N_SIZES; i++)
		if (ringsim_size(i) == size)
			return i;
	return -1;
}

/* 1000 entries/s: 100 a period, far below the smallest candidate's soft limit. */
static void test_slow_vm_takes_the_smallest_ring(void **state)
{
	struct timeline t = {};
	struct tune_plan p;

	(void)state;
	steady_vm(&t, 2, 1000, 0, 10 * SEC);
	assert_int_equal(tune_plan_vm(&p, &t, &t.vms[VM_ID], NULL, 0, 10 * SEC, &target), 0);
	assert_int_equal(p.n_vcpus, 2);
	assert_int_equal(p.ring_size, RECORDED_SIZE);
	assert_int_equal(p.vcpus[0].ring->vcpu_id, 0);
	assert_int_equal(p.vcpus[1].ring->vcpu_id, 1);
	assert_true(p.secs > 9.8 && p.secs <= 10.0);
	for (int i = 0; i < RINGSIM_N_SIZES; i++) {
		assert_int_equal(p.results[i].ring_size, ringsim_size(i));
		assert_true(p.results[i].exits_s == 0);
	}
	assert_int_equal(p.recommended, 1024);
	assert_int_equal(p.bytes_per_vcpu, 1024 * RINGSIM_ENTRY_BYTES);
	assert_int_equal(p.bytes_per_vm, 2 * 1024 * RINGSIM_ENTRY_BYTES);
	assert_int_equal(p.vcpus[0].recommended, 1024);
	assert_int_equal(p.vcpus[1].recommended, 1024);
	assert_false(p.lower_bound);
	assert_int_equal(p.behind_vcpu, -1);
	assert_int_equal(p.estimate_vcpu, -1);
	/* the recorded size is a candidate: its result is the calibration, not a run of its own */
	assert_false(p.calibration_own);
	assert_int_equal(p.calibration.ring_size, RECORDED_SIZE);
	assert_true(p.observed_exits_s == 0);
	assert_true(p.vcpus[0].fill_rate > 990 && p.vcpus[0].fill_rate < 1010);
	assert_int_equal(p.model.reaction_observed, false);
	tune_plan_free(&p);
	timeline_free(&t);
}

/* 100000 entries/s: 10000 a period. 8192 entries (soft limit 8128) overflow every period; 16384 do not. */
static void test_fast_vm_needs_a_ring_above_a_period(void **state)
{
	struct timeline t = {};
	struct tune_plan p;

	(void)state;
	steady_vm(&t, 1, 100000, 0, 2 * SEC);
	assert_int_equal(tune_plan_vm(&p, &t, &t.vms[VM_ID], NULL, 0, 2 * SEC, &target), 0);
	for (int i = 0; i < ring_index(16384); i++)
		assert_true(p.results[i].exits_s >= 9);	/* >= one exit in each of the ~20 periods */
	assert_true(p.results[ring_index(16384)].exits_s <= target.max_exits_s);
	assert_int_equal(p.recommended, 16384);
	assert_int_equal(p.vcpus[0].recommended, 16384);
	assert_int_equal(p.bytes_per_vm, 16384 * RINGSIM_ENTRY_BYTES);
	tune_plan_free(&p);
	timeline_free(&t);
}

/* A VM that started late (a COMMAND's): rates are over its own span, not the recording's. */
static void test_span_narrows_to_the_vm(void **state)
{
	struct timeline t = {};
	struct tune_plan p;

	(void)state;
	steady_vm(&t, 1, 1000, 6 * SEC, 10 * SEC);
	assert_int_equal(tune_plan_vm(&p, &t, &t.vms[VM_ID], NULL, 0, 10 * SEC, &target), 0);
	assert_true(p.start_ns >= 6 * SEC && p.start_ns < 6 * SEC + 2 * MS);
	assert_true(p.secs > 3.8 && p.secs <= 4.0);
	assert_true(p.vcpus[0].fill_rate > 990 && p.vcpus[0].fill_rate < 1010);	/* not 400/s over 10 s */
	tune_plan_free(&p);
	timeline_free(&t);
}

/* A VM without a ring (bitmap) has no plan; ids beyond the table are dropped, not stored. */
static void test_no_ring_no_plan(void **state)
{
	struct timeline t = {};
	struct tune_plan p = {};

	(void)state;
	add(&t, (struct rec_record){ .kind = REC_VM_INFO, .vm = { .id = VM_ID, .tgid = TGID } });
	add(&t, (struct rec_record){ .kind = REC_PUSH, .ev = { .ts = 1, .id = TIMELINE_MAX_ID } });
	timeline_finish(&t);
	assert_int_equal(t.dropped, 1);
	assert_int_equal(tune_plan_vm(&p, &t, &t.vms[VM_ID], NULL, 0, SEC, &target), -1);
	timeline_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_vm_takes_the_smallest_ring),
		cmocka_unit_test(test_fast_vm_needs_a_ring_above_a_period),
		cmocka_unit_test(test_span_narrows_to_the_vm),
		cmocka_unit_test(test_no_ring_no_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
