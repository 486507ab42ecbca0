// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * doctor's findings (src/doctor_rules.c) over hand-built model intervals:
 * each finding fires on the numbers that describe it, and none fires on a
 * healthy VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/doctor_rules.h"

struct fixture {
	struct model m;
	struct vm_metrics vm;
	struct vcpu_metrics vc[4];
	struct memslot_metrics ms[2];
};

/* A running ring VM with n vCPUs that dirty `rate` pages/s each and are reaped every 100 ms. */
static void healthy(struct fixture *f, int n, double rate)
{
	memset(f, 0, sizeof(*f));
	f->m.interval_s = 1.0;
	f->m.vms = &f->vm;
	f->m.n_vms = 1;
	f->vm.key = 1ull << 63 | 1;
	f->vm.vm_id = 1;
	f->vm.tgid = 4242;
	strcpy(f->vm.comm, "qemu-system-x86");
	f->vm.tracking = TRACK_RING;
	f->vm.ring_size = 4096;
	f->vm.soft_limit = 4032;
	f->vm.vcpus = f->vc;
	f->vm.n_vcpus = (size_t)n;
	f->vm.memslots = f->ms;
	f->vm.n_memslots = 2;
	f->ms[0] = (struct memslot_metrics){ .slot = 0, .known = true, .gpa = 0, .size = 640 << 10 };
	f->ms[1] = (struct memslot_metrics){ .slot = 1, .known = true, .gpa = 1 << 20, .size = 127 << 20 };
	for (int i = 0; i < n; i++) {
		struct vcpu_metrics *c = &f->vc[i];

		c->key = 100 + (uint64_t)i;
		c->vcpu_id = i;
		c->tid = 5000 + (uint32_t)i;
		c->ring_size = 4096;
		c->soft_limit = 4032;
		c->fill_rate = rate;
		c->ring_resets_s = 10;
		c->peak_used = (uint32_t)(rate / 10);
		c->reap_interval_us_all = (struct quantiles){ .valid = true, .count = 10, .p50 = 100000, .p99 = 100000,
							      .max = 100000 };
	}
	f->vm.fill_rate = rate * n;
}

static void run(struct fixture *f, int intervals, void (*step)(struct fixture *, int), struct doc_findings *out,
		const struct doc_thresholds *t)
{
	struct doc_state s;
	struct doc_thresholds def;

	doc_state_init(&s);
	f->m.interval_s = 0;	/* the baseline */
	doc_accumulate(&s, &f->m);
	f->m.interval_s = 1.0;
	for (int k = 0; k < intervals; k++) {
		if (step)
			step(f, k);
		doc_accumulate(&s, &f->m);
	}
	if (!t) {
		doc_thresholds_default(&def);
		t = &def;
	}
	memset(out, 0, sizeof(*out));
	doc_evaluate(&s, t, out);
	doc_state_free(&s);
}

static const struct doc_finding *find(const struct doc_findings *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].id, id))
			return &f->v[i];
	return NULL;
}

static double evidence(const struct doc_finding *x, const char *name)
{
	for (int i = 0; i < x->n_ev; i++)
		if (!strcmp(x->ev[i].name, name))
			return x->ev[i].value;
	fail_msg("finding %s has no evidence %s", x->id, name);
	return 0;
}

static void test_healthy_fires_nothing(void **state)
{
	struct fixture f;
	struct doc_findings out;
	struct doc_thresholds t;

	(void)state;
	healthy(&f, 4, 5000);
	doc_thresholds_default(&t);
	run(&f, 5, NULL, &out, NULL);
	for (size_t i = 0; i < out.n; i++)
		fail_msg("a healthy VM got %s: %s", out.v[i].id, out.v[i].summary);
	doc_findings_free(&out);
	/* with a bandwidth above its dirty rate too */
	f.m.interval_s = 0;
	{
		struct doc_state s;

		doc_state_init(&s);
		doc_accumulate(&s, &f.m);
		f.m.interval_s = 1;
		doc_accumulate(&s, &f.m);
		s.vms[0].bandwidth = 1e9;
		doc_evaluate(&s, &t, &out);
		assert_int_equal(out.n, 0);
		doc_findings_free(&out);
		doc_state_free(&s);
	}
}

static void storm_step(struct fixture *f, int k)
{
	struct vcpu_metrics *c = &f->vc[0];

	if (k < 2)
		return;
	/* the ring stays full, no reset, the vCPU exits 20000 times a second */
	c->full_exits_s = 20000;
	c->reentries += 20000;
	c->reentries_full += 19999;
	c->ring_resets_s = 0;
	c->fill_rate = 0;
	c->stall_frac = 1.0;
	c->stalled_now = true;
}

static void test_exit_storm(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 2, 1000);
	run(&f, 5, storm_step, &out, NULL);
	x = find(&out, DOC_EXIT_STORM);
	assert_non_null(x);
	assert_int_equal(x->vcpu_id, 0);
	assert_int_equal(x->severity, DOC_CRITICAL);
	assert_true(evidence(x, "full_exits_s") == 20000);
	assert_true(evidence(x, "reentries_full_s") > 19000);
	assert_true(evidence(x, "ring_resets_s") == 0);
	assert_true(evidence(x, "fill_rate") == 0);
	/* a storm, not a reaper merely too slow nor a throttle */
	assert_null(find(&out, DOC_REAPER_TOO_SLOW));
	assert_null(find(&out, DOC_THROTTLED));
	assert_null(find(&out, DOC_REAPER_STALLED));
	doc_findings_free(&out);
}

static void stall_step(struct fixture *f, int k)
{
	struct vcpu_metrics *c = &f->vc[1];

	if (k == 1) {
		c->full_exits_s = 1;
		c->reentries = 0;
	}
	if (k >= 1 && k < 4) {
		/* one exit, then waiting for a reset for three seconds */
		c->stall_frac = 1.0;
		c->stalled_now = true;
		c->ring_resets_s = 0;
		c->fill_rate = 0;
	}
	if (k == 2)
		c->full_exits_s = 0;
	if (k == 4) {
		c->stalled_now = false;
		c->stall_frac = 0.1;
		c->stall_us_all = (struct quantiles){ .valid = true, .count = 1, .p50 = 3.1e6, .p99 = 3.1e6, .max = 3.1e6 };
		c->reentries = 1;
	}
}

static void test_reaper_stalled(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 2, 1000);
	run(&f, 6, stall_step, &out, NULL);
	x = find(&out, DOC_REAPER_STALLED);
	assert_non_null(x);
	assert_int_equal(x->vcpu_id, 1);
	assert_true(evidence(x, "longest_stall_s") >= 3.0);
	assert_null(find(&out, DOC_EXIT_STORM));
	assert_null(find(&out, DOC_THROTTLED));
	doc_findings_free(&out);
}

static void throttle_step(struct fixture *f, int k)
{
	struct vcpu_metrics *c = &f->vc[0];

	if (k < 2)
		return;
	/* QEMU's dirty limit: reap at once, then sleep 150 ms per exit */
	c->full_exits_s = 5;
	c->fill_rate = 5 * 960;
	c->ring_size = 1024;
	c->soft_limit = 960;
	c->held_frac = 0.75;
	c->stall_frac = 0.001;
	c->reentries += 5;
	c->ring_resets_s = 5;
}

static void test_throttled(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 2, 20000);
	run(&f, 10, throttle_step, &out, NULL);
	x = find(&out, DOC_THROTTLED);
	assert_non_null(x);
	assert_int_equal(x->vcpu_id, 0);
	assert_int_equal(x->severity, DOC_INFO);
	assert_true(evidence(x, "held_frac") == 0.75);
	/* the rate it is held to, from the throttled intervals only: 4800 pages/s = 18.75 MiB/s */
	assert_true(evidence(x, "held_rate") == 4800);
	assert_true(evidence(x, "held_mib_s") == 18.75);
	assert_true(evidence(x, "held_per_exit_ms") == 150);
	/* not taken for a reaper problem */
	assert_null(find(&out, DOC_REAPER_TOO_SLOW));
	assert_null(find(&out, DOC_REAPER_STALLED));
	assert_null(find(&out, DOC_EXIT_STORM));
	doc_findings_free(&out);
}

static void slow_step(struct fixture *f, int k)
{
	struct vcpu_metrics *c = &f->vc[0];

	(void)k;
	/* 20000 pages/s into a 1024-entry ring the reaper resets every 250 ms; resets after each exit too */
	c->ring_size = 1024;
	c->soft_limit = 960;
	c->fill_rate = 20000;
	c->full_exits_s = 17;
	c->stall_frac = 0.02;
	c->peak_used = 960;
	c->reentries += 17;
	c->ring_resets_s = 21;	/* 17 after its exits, 4 by the reaper: every 250 ms */
	c->reap_interval_us_all = (struct quantiles){ .valid = true, .count = 40, .p50 = 48000, .p99 = 50000,
						      .max = 50000 };
}

static void test_reaper_too_slow(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 2, 1000);
	run(&f, 4, slow_step, &out, NULL);
	x = find(&out, DOC_REAPER_TOO_SLOW);
	assert_non_null(x);
	assert_int_equal(x->vcpu_id, 0);
	assert_true(evidence(x, "fill_rate") == 20000);
	assert_true(evidence(x, "entries_per_reap") == 5000);
	/* 5000 entries and a quarter of room: 8192 */
	assert_true(evidence(x, "suggested_ring_size") == 8192);
	assert_non_null(strstr(x->action, "8192"));
	assert_null(find(&out, DOC_THROTTLED));
	assert_null(find(&out, DOC_EXIT_STORM));
	doc_findings_free(&out);
	assert_int_equal(doc_ring_size_for(5000 * 1.25, 64), 8192);
	assert_int_equal(doc_ring_size_for(100, 64), 1024);
	assert_int_equal(doc_ring_size_for(70000, 64), 0);
}

static void test_dominant_vcpu(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 2, 1000);
	f.vc[0].fill_rate = 20000;
	run(&f, 3, NULL, &out, NULL);
	x = find(&out, DOC_DOMINANT_VCPU);
	assert_non_null(x);
	assert_int_equal(x->vcpu_id, 0);
	assert_true(evidence(x, "share") > 0.95);
	assert_true(evidence(x, "vm_rate") == 21000);
	assert_true(evidence(x, "next_vcpu_rate") == 1000);
	doc_findings_free(&out);
	/* four even vCPUs: nobody dominates; one at 55% of four does not either */
	healthy(&f, 4, 5000);
	f.vc[2].fill_rate = 18000;
	run(&f, 3, NULL, &out, NULL);
	assert_null(find(&out, DOC_DOMINANT_VCPU));
	doc_findings_free(&out);
}

static void test_no_converge(void **state)
{
	struct fixture f;
	struct doc_findings out;
	struct doc_state s;
	struct doc_thresholds t;
	const struct doc_finding *x;

	(void)state;
	doc_thresholds_default(&t);
	healthy(&f, 2, 10000);	/* 20000 pages/s: 78 MiB/s */
	doc_state_init(&s);
	f.m.interval_s = 0;
	doc_accumulate(&s, &f.m);
	f.m.interval_s = 1;
	doc_accumulate(&s, &f.m);
	doc_accumulate(&s, &f.m);
	s.vms[0].bandwidth = 32.0 * 1024 * 1024;
	strcpy(s.vms[0].bandwidth_source, "--bandwidth");
	memset(&out, 0, sizeof(out));
	doc_evaluate(&s, &t, &out);
	x = find(&out, DOC_NO_CONVERGE);
	assert_non_null(x);
	assert_int_equal(x->vcpu_id, -1);
	assert_true(evidence(x, "bandwidth_mib_s") == 32);
	assert_true(evidence(x, "dirty_mib_s") > 78 && evidence(x, "dirty_mib_s") < 79);
	assert_non_null(strstr(x->summary, "--bandwidth"));
	doc_findings_free(&out);
	s.vms[0].bandwidth = 100.0 * 1024 * 1024;
	doc_evaluate(&s, &t, &out);
	assert_null(find(&out, DOC_NO_CONVERGE));
	doc_findings_free(&out);
	doc_state_free(&s);
}

static void test_bitmap_dirty_rate(void **state)
{
	struct fixture f;
	struct doc_state s;
	struct doc_thresholds t;
	struct doc_findings out = {};

	(void)state;
	doc_thresholds_default(&t);
	healthy(&f, 1, 0);
	f.vm.tracking = TRACK_BITMAP;
	f.vm.fill_rate = 0;
	f.vm.bitmap_dirty_pages_s = 25600;	/* 100 MiB/s */
	doc_state_init(&s);
	f.m.interval_s = 1;
	doc_accumulate(&s, &f.m);
	s.vms[0].bandwidth = 50.0 * 1024 * 1024;
	doc_evaluate(&s, &t, &out);
	assert_non_null(find(&out, DOC_NO_CONVERGE));
	doc_findings_free(&out);
	doc_state_free(&s);
}

static void full_sync_step(struct fixture *f, int k)
{
	/* a migration starts: its first sync reports the whole 128 MiB, the next ones 10 MiB/s */
	f->vm.dirty_log_on = 2;
	f->ms[1].flags = DT_MEM_LOG_DIRTY_PAGES;
	f->vm.bitmap_syncs_s = 1;
	f->vm.bitmap_dirty_pages_s = k == 0 ? 32768 : 2560;
}

/* The initial full sync is not the guest's dirty rate. */
static void test_first_sync_skipped(void **state)
{
	struct fixture f;
	struct doc_state s;
	struct doc_thresholds t;
	struct doc_findings out = {};

	(void)state;
	doc_thresholds_default(&t);
	healthy(&f, 1, 0);
	f.vm.tracking = TRACK_BITMAP;
	f.vm.fill_rate = 0;
	doc_state_init(&s);
	f.m.interval_s = 0;
	doc_accumulate(&s, &f.m);
	f.m.interval_s = 1;
	for (int k = 0; k < 4; k++) {
		full_sync_step(&f, k);
		doc_accumulate(&s, &f.m);
	}
	s.vms[0].bandwidth = 20.0 * 1024 * 1024;
	doc_evaluate(&s, &t, &out);
	assert_null(find(&out, DOC_NO_CONVERGE));
	assert_true(s.vms[0].log_secs == 3);
	doc_findings_free(&out);
	s.vms[0].bandwidth = 8.0 * 1024 * 1024;
	doc_evaluate(&s, &t, &out);
	assert_non_null(find(&out, DOC_NO_CONVERGE));
	assert_true(evidence(find(&out, DOC_NO_CONVERGE), "dirty_mib_s") == 10);
	doc_findings_free(&out);
	doc_state_free(&s);
}

static void test_slow_ioctls(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 1, 1000);
	f.vm.tracking = TRACK_BITMAP;
	f.ms[1].get_calls = 40;
	f.ms[1].get_latency_us = (struct quantiles){ .valid = true, .count = 40, .p50 = 3000, .p99 = 30000, .max = 31000 };
	f.ms[1].clear_calls = 400;
	f.ms[1].clear_latency_us = (struct quantiles){ .valid = true, .count = 400, .p50 = 100, .p99 = 200, .max = 250 };
	f.vm.slot_ops[DT_SLOT_FLAGS] = 2;
	f.vm.slot_op_latency_us[DT_SLOT_FLAGS] = (struct quantiles){ .valid = true, .count = 2, .p50 = 80000,
								     .p99 = 120000, .max = 120000 };
	run(&f, 2, NULL, &out, NULL);
	x = find(&out, DOC_SLOW_GET_LOG);
	assert_non_null(x);
	assert_true(evidence(x, "max_ms") == 31);
	assert_true(evidence(x, "slot") == 1);
	assert_null(find(&out, DOC_SLOW_CLEAR_LOG));
	x = find(&out, DOC_SLOW_MEMSLOT);
	assert_non_null(x);
	assert_true(evidence(x, "flags_max_ms") == 120);
	doc_findings_free(&out);
	/* the thresholds decide */
	{
		struct doc_thresholds t;

		doc_thresholds_default(&t);
		t.get_log_ms = 50;
		t.memslot_ms = 200;
		t.clear_log_ms = 0.2;
		run(&f, 2, NULL, &out, &t);
		assert_null(find(&out, DOC_SLOW_GET_LOG));
		assert_null(find(&out, DOC_SLOW_MEMSLOT));
		assert_non_null(find(&out, DOC_SLOW_CLEAR_LOG));
		doc_findings_free(&out);
	}
}

static void flap_step(struct fixture *f, int k)
{
	/* a migration started and cancelled every second, on both RAM slots */
	f->vm.dirty_log_on = 2 * (uint64_t)(k + 1);
	f->vm.dirty_log_off = 2 * (uint64_t)(k + 1);
}

static void once_step(struct fixture *f, int k)
{
	/* one migration: on once, off once */
	f->vm.dirty_log_on = 2;
	f->vm.dirty_log_off = k >= 3 ? 2 : 0;
}

static void test_flapping(void **state)
{
	struct fixture f;
	struct doc_findings out;
	const struct doc_finding *x;

	(void)state;
	healthy(&f, 1, 1000);
	run(&f, 5, flap_step, &out, NULL);
	x = find(&out, DOC_LOG_FLAPPING);
	assert_non_null(x);
	assert_true(evidence(x, "dirty_log_on") == 10);
	assert_true(evidence(x, "ram_slots") == 2);
	assert_true(evidence(x, "cycles_per_slot") == 5);
	doc_findings_free(&out);
	healthy(&f, 1, 1000);
	run(&f, 5, once_step, &out, NULL);
	assert_null(find(&out, DOC_LOG_FLAPPING));
	doc_findings_free(&out);
	/* toggles from before doctor started do not count */
	healthy(&f, 1, 1000);
	f.vm.dirty_log_on = f.vm.dirty_log_off = 50;
	run(&f, 3, NULL, &out, NULL);
	assert_null(find(&out, DOC_LOG_FLAPPING));
	doc_findings_free(&out);
}

static void test_pid_filter(void **state)
{
	struct fixture f;
	struct doc_findings out;

	(void)state;
	healthy(&f, 2, 1000);
	f.vc[0].fill_rate = 20000;
	f.m.filter.tgid = 1;	/* another process */
	run(&f, 3, NULL, &out, NULL);
	assert_int_equal(out.n, 0);
	doc_findings_free(&out);
	assert_string_equal(doc_severity_name(DOC_CRITICAL), "critical");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy_fires_nothing),
		cmocka_unit_test(test_exit_storm),
		cmocka_unit_test(test_reaper_stalled),
		cmocka_unit_test(test_throttled),
		cmocka_unit_test(test_reaper_too_slow),
		cmocka_unit_test(test_dominant_vcpu),
		cmocka_unit_test(test_no_converge),
		cmocka_unit_test(test_bitmap_dirty_rate),
		cmocka_unit_test(test_first_sync_skipped),
		cmocka_unit_test(test_slow_ioctls),
		cmocka_unit_test(test_flapping),
		cmocka_unit_test(test_pid_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
