// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The precopy model (core/precopy.c) fed with the records a recording holds:
 * a bitmap VM whose migration thread switches dirty logging on and then reads
 * two slots every 100 ms, a ring VM whose migration thread resets the rings.
 * The truth is arithmetic: budget = bandwidth x downtime / 4096.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dt_flags.h"
#include "dt_kvm.h"
#include "core/doctor_rules.h"
#include "core/precopy.h"

#define MS 1000000ull
#define VM 3
#define TGID 4242
#define MIG_TID 5000
#define MIB 1048576.0

static void add(struct precopy *p, struct rec_record rec)
{
	precopy_add(p, &rec);
}

static void vm_info(struct precopy *p, uint32_t flags)
{
	/* the exit record of a gone process has no comm */
	add(p, (struct rec_record){ .kind = REC_VM_INFO, .vm = { .id = VM, .tgid = TGID, .flags = flags,
								  .comm = { (flags & DT_VM_EXITED) ? 0 : 'q', 0 } } });
}

static void memslot(struct precopy *p, uint64_t ts, uint32_t slot, uint32_t flags, uint32_t tid)
{
	add(p, (struct rec_record){ .kind = REC_MEMSLOT, .ev = { .id = VM, .ts = ts, .slot = slot, .flags = flags,
								.size = 64 << 20, .tid = tid } });
}

/* One sync round: the two slots' bitmaps, pages split 1/4 in slot 1 region 0, the rest in slot 2 region 5. */
static void bitmap_sync(struct precopy *p, uint64_t ts, uint64_t pages)
{
	uint64_t a = pages / 4, b = pages - a;

	add(p, (struct rec_record){ .kind = REC_DIRTYLOG, .ev = { .id = VM, .ts = ts, .slot = 1, .offset = 0, .size = a } });
	add(p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts, .cmd = DT_KVM_GET_DIRTY_LOG, .slot = 1,
							      .flags = 1, .size = a, .tid = MIG_TID } });
	add(p, (struct rec_record){ .kind = REC_DIRTYLOG, .ev = { .id = VM, .ts = ts + 1, .slot = 2, .offset = 5, .size = b } });
	add(p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts + 1, .cmd = DT_KVM_GET_DIRTY_LOG, .slot = 2,
							      .flags = 1, .size = b, .tid = MIG_TID } });
}

/* Logging on at 0 (a flags change), then one round every 100 ms finding pages[i]; traffic at bw bytes/s. */
static void bitmap_run(struct precopy *p, const uint64_t *pages, size_t n, double bw)
{
	precopy_init(p);
	vm_info(p, 0);
	memslot(p, 0, 1, 0, 1);
	memslot(p, 0, 2, 0, 1);
	memslot(p, 10 * MS, 1, DT_MEM_LOG_DIRTY_PAGES, MIG_TID);
	memslot(p, 10 * MS, 2, DT_MEM_LOG_DIRTY_PAGES, MIG_TID);
	for (size_t i = 0; i < n; i++)
		bitmap_sync(p, 10 * MS + (i + 1) * 100 * MS, pages[i]);
	for (size_t i = 0; i <= n + 1; i++)
		precopy_traffic(p, TGID, 10 * MS + i * 100 * MS, bw * 0.1 * (double)i);
	precopy_finish(p);
}

static void test_passes_are_rounds(void **state)
{
	static const uint64_t pages[] = { 16384, 3000, 3000, 3000, 3000 };
	struct precopy p;
	const struct precopy_vm *v;

	(void)state;
	bitmap_run(&p, pages, 5, 10 * MIB);
	assert_int_equal(p.n_vms, 1);
	v = &p.vms[0];
	assert_true(v->started);
	assert_int_equal(v->start_ns, 10 * MS);
	assert_int_equal(v->log_tid, MIG_TID);
	assert_int_equal(v->n_passes, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(v->passes[i].index, i + 1);
		assert_int_equal(v->passes[i].dirty_pages, pages[i]);
		assert_int_equal(v->passes[i].calls, 2);
		assert_int_equal(v->passes[i].sync_ns, 10 * MS + (i + 1) * 100 * MS);
		assert_float_equal(v->passes[i].secs, 0.1, 1e-9);
		assert_float_equal(v->passes[i].sent_bytes, MIB, 1e-3);
		assert_int_equal(v->passes[i].n_regions, 2);
	}
	assert_float_equal(precopy_measured_bandwidth(v), 10 * MIB, 1e-3);
	precopy_free(&p);
}

static void test_working_set_never_fits(void **state)
{
	static const uint64_t pages[] = { 16384, 3000, 3000, 3000, 3000, 3000 };
	struct precopy p;
	struct precopy_verdict vd;

	(void)state;
	bitmap_run(&p, pages, 6, 10 * MIB);
	/* the measured bandwidth: 10 MiB/s x 0.3 s = 768 pages < 3000 */
	precopy_evaluate(&p.vms[0], 0, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_NO_CONVERGE);
	assert_float_equal(vd.budget_pages, 768, 1e-6);
	assert_int_equal(vd.pass, 1 + PRECOPY_NAME_PASSES);
	assert_float_equal(vd.shrink, 0, 1e-9);
	assert_float_equal(vd.plateau_pages, 3000, 0);
	/* 750 + 2250 pages in two regions, the same each pass */
	assert_float_equal(vd.working_set_pages, 3000, 0);
	assert_int_equal(vd.n_top_regions, 2);
	assert_int_equal(vd.top_regions[0].key, (2ull << 32) | 5);
	assert_int_equal(vd.top_regions[0].pages, 2250);
	assert_float_equal(vd.dirty_rate, 30000, 1e-6);
	/* the fix: 3000 pages in 0.3 s; or 3000 pages at 10 MiB/s */
	assert_float_equal(vd.need_bandwidth, 3000 * 4096 / 0.3, 1e-3);
	assert_float_equal(vd.need_downtime_s, 3000 * 4096 / (10 * MIB), 1e-9);
	assert_float_equal(vd.dirty_limit, 5 * MIB, 1e-3);
	/* with that bandwidth it fits at the first pass after the bulk one */
	precopy_evaluate(&p.vms[0], vd.need_bandwidth, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_FITS);
	assert_int_equal(vd.pass, 2);
	precopy_free(&p);
}

static void test_shrinking_fits(void **state)
{
	/* halves each pass: 768 is reached at pass 5 (500 pages) */
	static const uint64_t pages[] = { 16384, 4000, 2000, 1000, 500, 250 };
	struct precopy p;
	struct precopy_verdict vd;

	(void)state;
	bitmap_run(&p, pages, 6, 10 * MIB);
	precopy_evaluate(&p.vms[0], 0, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_FITS);
	assert_int_equal(vd.pass, 5);
	/* a longer downtime: 1000 pages fit in 0.4 s at 10 MiB/s (1024 pages) */
	precopy_evaluate(&p.vms[0], 0, 0.4, &vd);
	assert_int_equal(vd.pass, 4);
	/* before a verdict: the first 3 passes at a tiny bandwidth */
	p.vms[0].n_passes = 3;
	precopy_evaluate(&p.vms[0], 1, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_TOO_FEW);
	p.vms[0].n_passes = 6;
	precopy_free(&p);
}

static void test_slow_shrink_named(void **state)
{
	/* 5 % smaller each pass: under PRECOPY_MIN_SHRINK, named at pass 4; 20 %: still shrinking */
	static const uint64_t slow[] = { 16384, 4000, 3800, 3610, 3430 };
	static const uint64_t fast[] = { 16384, 4000, 3200, 2560, 2048 };
	struct precopy p;
	struct precopy_verdict vd;

	(void)state;
	bitmap_run(&p, slow, 5, 10 * MIB);
	precopy_evaluate(&p.vms[0], 0, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_NO_CONVERGE);
	assert_int_equal(vd.pass, 4);
	assert_float_equal(vd.shrink, 0.05, 1e-3);
	precopy_free(&p);
	bitmap_run(&p, fast, 5, 10 * MIB);
	precopy_evaluate(&p.vms[0], 0, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_SHRINKING);
	assert_float_equal(vd.shrink, 0.2, 1e-9);
	precopy_free(&p);
}

static void test_no_bandwidth(void **state)
{
	static const uint64_t pages[] = { 16384, 3000, 3000, 3000 };
	struct precopy p;
	struct precopy_verdict vd;

	(void)state;
	bitmap_run(&p, pages, 4, 0);
	precopy_evaluate(&p.vms[0], 0, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_NO_BANDWIDTH);
	assert_int_equal(p.vms[0].n_passes, 4);
	precopy_free(&p);
}

/*
 * Ring: two vCPUs push; their own resets and the reaper's are not syncs, the migration thread's are.
 * spaces: QEMU's KVM address spaces (x86 with SMM: 2), each flushed at every sync, back to back.
 */
static void ring_passes(int spaces)
{
	struct precopy p;
	struct precopy_verdict vd;
	const struct precopy_vm *v;
	uint64_t ts = 20 * MS;

	precopy_init(&p);
	vm_info(&p, 1);
	/* vCPU 1's thread is known from its TID event only (the ring was created before it ran) */
	for (uint32_t r = 0; r < 2; r++)
		add(&p, (struct rec_record){ .kind = REC_RING_INFO, .ring = { .id = 10 + r, .vm_id = VM, .vcpu_id = (int)r,
									    .tid = r ? 0 : 700, .ring_size = 4096, .soft_limit = 4032 } });
	add(&p, (struct rec_record){ .kind = REC_TID, .ev = { .id = 11, .ts = 1, .tid = 701 } });
	memslot(&p, 0, 1, 0, 1);
	if (spaces == 2)
		memslot(&p, 0, 1u << 16 | 1, 0, 1);
	memslot(&p, 10 * MS, 1, DT_MEM_LOG_DIRTY_PAGES, MIG_TID);
	for (int pass = 0; pass < 5; pass++) {
		/* vCPU 0: 300 pages a pass, vCPU 1: 100; as a recording stores them, in batches of up to 64 */
		for (int i = 0; i < 400;) {
			struct rec_record b = { .kind = REC_BATCH, .batch = { .id = i < 300 ? 10 : 11, .first_ts = ts } };

			for (; i < 400 && b.batch.n < REC_BATCH_MAX && (i < 300) == (b.batch.id == 10); i++, b.batch.n++)
				b.batch.e[b.batch.n] = (typeof(b.batch.e[0])){ .slot = 1, .offset = (uint64_t)i };
			ts += b.batch.n;
			b.batch.ts = ts - 1;
			add(&p, b);
		}
		/* vCPU 1's ring filled twice a pass */
		for (int i = 0; i < 2; i++)
			add(&p, (struct rec_record){ .kind = REC_FULL, .ev = { .id = 11, .ts = ts++ } });
		/* a vCPU's own reap and the reaper thread's mid-pass: not syncs */
		add(&p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts++, .cmd = DT_KVM_RESET_DIRTY_RINGS,
								       .tid = 700, .ret = 10 } });
		add(&p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts++, .cmd = DT_KVM_RESET_DIRTY_RINGS,
								       .tid = 6000, .ret = 10 } });
		ts = 20 * MS + (uint64_t)(pass + 1) * 100 * MS;
		for (int f = 0; f < spaces; f++)
			add(&p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts, .cmd = DT_KVM_RESET_DIRTY_RINGS,
									       .tid = MIG_TID, .ret = 380 } });
	}
	/* after the last sync: dirt of no pass */
	add(&p, (struct rec_record){ .kind = REC_PUSH, .ev = { .id = 10, .ts = ts + 1, .slot = 1, .offset = 9 } });
	precopy_finish(&p);
	v = &p.vms[0];
	assert_true(v->ring);
	assert_int_equal(v->n_passes, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(v->passes[i].dirty_pages, 400);
		assert_int_equal(v->passes[i].calls, 2 + spaces);
	}
	/* 400 pages per 0.1 s, 2 MiB/s: budget 153.6 pages */
	precopy_evaluate(v, 2 * MIB, 0.3, &vd);
	assert_int_equal(vd.outcome, PRECOPY_NO_CONVERGE);
	assert_int_equal(vd.pass, 4);
	assert_int_equal(vd.n_top_vcpus, 2);
	assert_int_equal(vd.dirtying_vcpus, 2);
	assert_int_equal(vd.top_vcpus[0].key, 10);
	assert_int_equal(vd.top_vcpus[0].pages, 300);
	assert_int_equal(precopy_vcpu(v, 10)->tid, 700);
	/* the ring's part: 2 soft-full exits a pass; QEMU's dirty limit sleeps once per 4032 pages per vCPU */
	assert_int_equal(v->passes[2].full_exits, 2);
	assert_int_equal(vd.ring_size, 4096);
	assert_int_equal(vd.soft_limit, 4032);
	assert_true(vd.full_exits_per_pass == 2.0);
	assert_true(vd.ring_pages_between_throttles == 2 * 4032.0);
	/* logging still on: the migration is active */
	assert_int_equal(v->end, PRECOPY_ACTIVE);
	assert_false(v->exited);

	/* the finding: per-vCPU dirty limit, the rings larger than the budget, what QMP said, postcopy last */
	{
		struct doc_findings f = {};
		struct precopy_throttle t = { .known = true, .auto_converge = true, .max_throttle_pct = 40 };

		doc_precopy_finding(&f, 7, v, &vd, "--bandwidth", &t);
		assert_int_equal(f.n, 1);
		assert_string_equal(f.v[0].id, DOC_NO_CONVERGE);
		assert_int_equal(f.v[0].vm_id, 7);
		assert_int_equal(f.v[0].pid, TGID);
		/* dirty limit: half of 2 MiB/s over the 2 dirtying vCPUs = 0.5 MiB/s = 0.5243 MB/s each */
		assert_non_null(strstr(f.v[0].action, "set-vcpu-dirty-limit 0.5 MB/s per vCPU"));
		assert_non_null(strstr(f.v[0].action, "the rings (4096 entries) let 8064 pages be dirtied"));
		assert_non_null(strstr(f.v[0].action, "auto-converge is on and biting (vCPUs throttled up to 40%)"));
		assert_non_null(strstr(f.v[0].action, "postcopy (migrate-start-postcopy) as the last resort"));
		/* the budget: 2 MiB/s x 0.3 s / 4096 = 153.6 pages */
		assert_string_equal(f.v[0].ev[2].name, "budget_pages");
		assert_true(f.v[0].ev[2].value > 153.59 && f.v[0].ev[2].value < 153.61);
		doc_findings_free(&f);
	}
	precopy_free(&p);
}

static void test_ring_passes(void **state)
{
	(void)state;
	ring_passes(1);
}

/* memslots in two address spaces: QEMU flushes twice per sync, one pass for both */
static void test_ring_passes_two_address_spaces(void **state)
{
	(void)state;
	ring_passes(2);
}

/*
 * Logging on from the slot's creation (dirtygen): any thread but a vCPU's syncs. A vCPU thread
 * known only from its TID event (its ring was created before it ran) reaps without ending a pass.
 */
static void test_ring_vcpu_known_by_tid(void **state)
{
	struct precopy p;
	uint64_t ts = 20 * MS;

	(void)state;
	precopy_init(&p);
	vm_info(&p, DT_VM_RING);
	add(&p, (struct rec_record){ .kind = REC_RING_INFO, .ring = { .id = 10, .vm_id = VM, .ring_size = 1024,
								    .soft_limit = 960 } });
	memslot(&p, 0, 1, DT_MEM_LOG_DIRTY_PAGES, 1);
	add(&p, (struct rec_record){ .kind = REC_TID, .ev = { .id = 10, .ts = ts++, .tid = 701 } });
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < 100; i++)
			add(&p, (struct rec_record){ .kind = REC_PUSH, .ev = { .id = 10, .ts = ts++, .slot = 1,
									      .offset = (uint64_t)i } });
		add(&p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts++, .cmd = DT_KVM_RESET_DIRTY_RINGS,
								       .tid = 701, .ret = 50 } });
		add(&p, (struct rec_record){ .kind = REC_IOCTL, .ev = { .id = VM, .ts = ts++, .cmd = DT_KVM_RESET_DIRTY_RINGS,
								       .tid = 6000, .ret = 50 } });
	}
	precopy_finish(&p);
	assert_int_equal(precopy_vcpu(&p.vms[0], 10)->tid, 701);
	assert_int_equal(p.vms[0].n_passes, 3);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(p.vms[0].passes[k].dirty_pages, 100);
		assert_int_equal(p.vms[0].passes[k].calls, 2);
	}
	precopy_free(&p);
}

/* How a migration ended: logging off (completed / cancelled), on at the end (active), on when the VMM exited. */
static void test_migration_end(void **state)
{
	static const uint64_t pages[] = { 16384, 3000, 3000 };
	char buf[200];
	struct precopy p;

	(void)state;
	bitmap_run(&p, pages, 3, 10 * MIB);
	assert_int_equal(p.vms[0].end, PRECOPY_ACTIVE);
	assert_string_equal(precopy_end_name(p.vms[0].end), "active");
	precopy_free(&p);

	/* logging off on one slot: still running; on both: ended */
	bitmap_run(&p, pages, 3, 10 * MIB);
	memslot(&p, 900 * MS, 1, 0, MIG_TID);
	assert_int_equal(p.vms[0].end, PRECOPY_ACTIVE);
	memslot(&p, 900 * MS, 2, 0, MIG_TID);
	assert_int_equal(p.vms[0].end, PRECOPY_LOGGING_OFF);
	assert_int_equal(p.vms[0].end_ns, 900 * MS);
	/* the VMM exiting after that is no stopped migration */
	vm_info(&p, DT_VM_EXITED);
	assert_true(p.vms[0].exited);
	assert_int_equal(p.vms[0].end, PRECOPY_LOGGING_OFF);
	precopy_free(&p);

	/* exited with logging on: stopped mid-migration, passes kept */
	bitmap_run(&p, pages, 3, 10 * MIB);
	vm_info(&p, DT_VM_EXITED);
	assert_int_equal(p.vms[0].end, PRECOPY_VMM_EXITED);
	assert_string_equal(p.vms[0].comm, "q");
	assert_int_equal(p.vms[0].n_passes, 3);
	assert_string_equal(precopy_end_name(p.vms[0].end), "vmm-exited");
	precopy_free(&p);

	/* a VMM that never migrated exits: not stopped mid-migration */
	precopy_init(&p);
	vm_info(&p, 0);
	memslot(&p, 0, 1, 0, 1);
	vm_info(&p, DT_VM_EXITED);
	assert_true(p.vms[0].exited);
	assert_int_equal(p.vms[0].end, PRECOPY_ACTIVE);
	assert_false(p.vms[0].started);
	precopy_free(&p);

	/* what QMP said of auto-converge and dirty-limit */
	assert_string_equal(precopy_throttle_text(NULL, buf, sizeof(buf)), "");
	assert_string_equal(precopy_throttle_text(&(struct precopy_throttle){ .known = false, .auto_converge = true },
						  buf, sizeof(buf)), "");
	assert_string_equal(precopy_throttle_text(&(struct precopy_throttle){ .known = true }, buf, sizeof(buf)),
			    "auto-converge and dirty-limit are off (migrate-set-capabilities)");
	assert_non_null(strstr(precopy_throttle_text(&(struct precopy_throttle){ .known = true, .auto_converge = true },
						     buf, sizeof(buf)), "auto-converge is on but not biting"));
	assert_string_equal(precopy_throttle_text(&(struct precopy_throttle){ .known = true, .dirty_limit = true,
									      .max_dirty_limit_us = 250 }, buf, sizeof(buf)),
			    "dirty-limit is on and biting (up to 250 us of throttle per round)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passes_are_rounds),
		cmocka_unit_test(test_working_set_never_fits),
		cmocka_unit_test(test_shrinking_fits),
		cmocka_unit_test(test_slow_shrink_named),
		cmocka_unit_test(test_no_bandwidth),
		cmocka_unit_test(test_ring_passes),
		cmocka_unit_test(test_ring_passes_two_address_spaces),
		cmocka_unit_test(test_migration_end),
		cmocka_unit_test(test_ring_vcpu_known_by_tid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
