// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Replay (src/replay.c): recorded events folded into the same aggregates the
 * live BPF side keeps, windows turned into snapshots for model.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/replay.h"
#include "dt_agg.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (100 * SEC)

struct windows {
	int n;
	uint64_t pushes[16];
	uint64_t ends[16];
	struct model m;
};

static void on_window(void *ctx, struct replay *r, const struct snapshot *s, uint64_t ws, uint64_t we)
{
	struct windows *w = ctx;

	(void)r;
	(void)ws;
	model_update(&w->m, s, NULL, NULL, NULL, NULL);
	if (w->n < 16) {
		w->pushes[w->n] = w->m.n_vms && w->m.vms[0].n_vcpus ? w->m.vms[0].vcpus[0].pushes : 0;
		w->ends[w->n] = we;
	}
	w->n++;
}

static void vm_info(struct replay *r, uint32_t id, uint64_t ts)
{
	struct rec_record rec = { .kind = REC_VM_INFO };

	rec.vm.id = id;
	rec.vm.tgid = 100;
	rec.vm.fd = 5;
	rec.vm.flags = DT_VM_FROM_CREATE;
	rec.vm.first_seen_ns = rec.vm.created_ns = ts;
	strcpy(rec.vm.comm, "vmm");
	replay_apply(r, &rec);
}

static void ring_info(struct replay *r, uint32_t id, uint32_t vm, uint64_t ts)
{
	struct rec_record rec = { .kind = REC_RING_INFO };

	rec.ring.id = id;
	rec.ring.vm_id = vm;
	rec.ring.tgid = 100;
	rec.ring.vcpu_id = (int32_t)id - 1;
	rec.ring.ring_size = 1024;
	rec.ring.soft_limit = 960;
	rec.ring.flags = DT_VCPU_FROM_CREATE;
	rec.ring.first_seen_ns = rec.ring.created_ns = ts;
	replay_apply(r, &rec);
}

static void event(struct replay *r, uint8_t kind, uint32_t id, uint64_t ts, uint32_t dirty, uint32_t reset)
{
	struct rec_record rec = { .kind = kind };

	rec.ev.ts = ts;
	rec.ev.id = id;
	rec.ev.dirty_index = dirty;
	rec.ev.reset_index = reset;
	rec.ev.tid = 200;
	rec.ev.slot = 1;
	rec.ev.offset = dirty;	/* sequential pages */
	replay_apply(r, &rec);
}

static void ioctl_ev(struct replay *r, uint8_t kind, uint32_t vm, uint64_t ts, uint32_t cmd, int64_t ret)
{
	struct rec_record rec = { .kind = kind };

	rec.ev.ts = ts;
	rec.ev.id = vm;
	rec.ev.cmd = cmd;
	rec.ev.ret = ret;
	rec.ev.latency_ns = 20000;
	replay_apply(r, &rec);
}

/*
 * One vCPU pushing every ms for 3 s, its VMM resetting every 100 pushes, one
 * soft-full exit at 1.5 s ended by the next reset; and the same events fed to
 * dt_agg directly, as the live BPF side would see them.
 */
static void drive(struct replay *r, struct dt_vcpu *live, struct dt_ring_ts *rt)
{
	uint32_t reset = 0;

	vm_info(r, 1, T0);
	ring_info(r, 1, 1, T0);
	memset(live, 0, sizeof(*live));
	memset(rt, 0, sizeof(*rt));
	live->soft_limit = 960;
	rt->shift = dt_ring_ts_shift(1024);
	for (uint32_t i = 1; i <= 3000; i++) {
		uint64_t ts = T0 + i * MS;

		event(r, REC_PUSH, 1, ts, i, reset);
		if (dt_agg_push(live, rt, 2, i, reset))
			dt_agg_push_stamp(rt, i, ts);
		if (i == 1500) {
			event(r, REC_FULL, 1, ts + 1000, 0, 0);
			dt_agg_full_exit(live, ts + 1000);
		}
		if (i % 100 == 0) {
			reset = i;
			event(r, REC_RESET, 1, ts + 500000, i, reset);
			dt_agg_reset(live, rt, 2, i, reset, ts + 500000);
			ioctl_ev(r, REC_IOCTL, 1, ts + 520000, DT_KVM_RESET_DIRTY_RINGS, 100);
		}
	}
}

static void test_counts_windows_and_summary(void **state)
{
	struct windows w = {};
	struct replay *r;
	struct snapshot s = {};
	struct model sum;
	struct dt_vcpu live;
	struct dt_ring_ts rt;
	const struct vcpu_metrics *c;

	(void)state;
	model_init(&w.m);
	r = replay_new(T0, T0 + 3 * SEC + 600 * MS, SEC, 9, on_window, &w);
	replay_baseline(r, &s);
	model_update(&w.m, &s, NULL, NULL, NULL, NULL);
	drive(r, &live, &rt);
	replay_finish(r);
	assert_int_equal(w.n, 4);	/* 3 whole seconds and the last 0.6 s */
	assert_int_equal(w.ends[0], T0 + SEC);
	assert_int_equal(w.pushes[0], 999);	/* the push at exactly 1 s belongs to the next window */
	assert_int_equal(w.pushes[2], 2999);
	assert_int_equal(w.pushes[3], 3000);
	assert_int_equal(replay_events(r, REC_PUSH), 3000);

	model_init(&sum);
	replay_baseline(r, &s);
	model_update(&sum, &s, NULL, NULL, NULL, NULL);
	replay_summary(r, &s);
	model_update(&sum, &s, replay_proc_lookup, r, NULL, NULL);
	assert_int_equal(sum.n_vms, 1);
	assert_string_equal(sum.vms[0].comm, "vmm");
	assert_int_equal(sum.vms[0].reset_calls, 30);
	assert_int_equal(sum.vms[0].reset_entries, 3000);
	c = &sum.vms[0].vcpus[0];
	assert_int_equal(c->pushes, 3000);
	assert_int_equal(c->ring_resets, 30);
	assert_int_equal(c->entries_reset, 3000);
	assert_int_equal(c->full_exits, 1);
	assert_int_equal(c->stalls, 1);
	assert_int_equal(c->tid, 200);
	assert_true(c->peak_used >= 100 && c->peak_used <= 101);
	assert_true(c->fill_rate > 3000 / 3.61 && c->fill_rate < 3000 / 3.59);

	/* the summary's aggregate is the one dt_agg builds live, field for field */
	{
		const struct dt_vcpu *v = &s.vcpus[0].v;

		assert_int_equal(v->pushes, live.pushes);
		assert_int_equal(v->stall_ns, live.stall_ns);
		assert_int_equal(v->entries_reset, live.entries_reset);
		assert_memory_equal(v->reap_latency_us.count, live.reap_latency_us.count, sizeof(live.reap_latency_us.count));
		assert_memory_equal(v->reap_interval_us.count, live.reap_interval_us.count,
				    sizeof(live.reap_interval_us.count));
		assert_memory_equal(v->reclaimed.count, live.reclaimed.count, sizeof(live.reclaimed.count));
		assert_memory_equal(v->stall_us.count, live.stall_us.count, sizeof(live.stall_us.count));
		assert_int_equal(v->peak_used.value[0] | v->peak_used.value[1], live.peak_used.value[0] | live.peak_used.value[1]);
	}
	model_free(&sum);
	model_free(&w.m);
	snapshot_free(&s);
	replay_free(r);
}

/*
 * The pushes of drive() streamed as record.bpf.c streams them: a batch at
 * every chunk's first push (for the pushes before it), at the soft-full exit
 * and before every reset; and the live side fed as bpf/live.bpf.c feeds it
 * (dt_agg_pushes per batch, a bucket's time stamped at its first push).
 */
struct batcher {
	struct replay *r;
	struct dt_vcpu *live;
	uint32_t synced, reset;
	uint64_t first_ns;
	uint64_t batches;
};

static void batch_sync(struct batcher *b, uint32_t to, uint64_t now)
{
	struct rec_record rec = { .kind = REC_BATCH };

	if (to == b->synced)
		return;
	rec.batch.id = 1;
	rec.batch.ts = now;
	rec.batch.first_ts = b->first_ns;
	rec.batch.dirty_index = to;
	rec.batch.reset_index = b->reset;
	rec.batch.n = to - b->synced;
	assert_true(rec.batch.n <= REC_BATCH_MAX);
	for (uint32_t k = 0; k < rec.batch.n; k++) {
		rec.batch.e[k].slot = 1;
		rec.batch.e[k].offset = b->synced + k + 1;	/* as event(): offset = dirty index after */
	}
	replay_apply(b->r, &rec);
	dt_agg_pushes(b->live, 2, to - b->synced, to, b->reset);
	b->synced = to;
	b->first_ns = now;
	b->batches++;
}

static void drive_batches(struct batcher *b, struct dt_ring_ts *rt)
{
	struct replay *r = b->r;

	vm_info(r, 1, T0);
	ring_info(r, 1, 1, T0);
	b->live->soft_limit = 960;
	rt->shift = dt_ring_ts_shift(1024);
	for (uint32_t i = 1; i <= 3000; i++) {
		uint64_t ts = T0 + i * MS;

		if (!((i - 1) % DT_PUSH_BATCH)) {	/* the push handler at a chunk's first entry */
			batch_sync(b, i - 1, ts);
			b->first_ns = ts;
		}
		if (dt_ring_ts_starts_bucket(rt->shift, i))
			dt_agg_push_stamp(rt, i, ts);	/* live: at the bucket's first push */
		if (i == 1500) {
			batch_sync(b, i, ts + 1000);
			event(r, REC_FULL, 1, ts + 1000, 0, 0);
			dt_agg_full_exit(b->live, ts + 1000);
		}
		if (i % 100 == 0) {
			batch_sync(b, i, ts + 500000);	/* the resetter, before the reset event */
			b->reset = i;
			event(r, REC_RESET, 1, ts + 500000, i, b->reset);
			dt_agg_reset(b->live, rt, 2, i, b->reset, ts + 500000);
			ioctl_ev(r, REC_IOCTL, 1, ts + 520000, DT_KVM_RESET_DIRTY_RINGS, 100);
		}
	}
}

/* Batches replay to the aggregates the live side builds from the same run, exactly. */
static void test_batches_equal_live(void **state)
{
	struct dt_vcpu live = {};
	struct dt_ring_ts rt = {};
	struct batcher b = { .live = &live };
	struct snapshot s = {};
	const struct dt_vcpu *v;

	(void)state;
	b.r = replay_new(T0, T0 + 3 * SEC + 600 * MS, SEC, 9, NULL, NULL);
	drive_batches(&b, &rt);
	replay_finish(b.r);
	replay_summary(b.r, &s);
	assert_int_equal(replay_events(b.r, REC_PUSH), 3000);
	assert_int_equal(replay_events(b.r, REC_BATCH), b.batches);
	assert_true(b.batches >= 3000 / DT_PUSH_BATCH && b.batches < 3000 / 30);
	assert_int_equal(s.n_vcpus, 1);
	v = &s.vcpus[0].v;
	assert_int_equal(v->pushes, 3000);
	assert_int_equal(v->pushes, live.pushes);
	assert_int_equal(v->entries_reset, live.entries_reset);
	assert_int_equal(v->full_exits, live.full_exits);
	assert_int_equal(v->stalls, live.stalls);
	assert_int_equal(v->stall_ns, live.stall_ns);
	assert_memory_equal(v->reap_latency_us.count, live.reap_latency_us.count, sizeof(live.reap_latency_us.count));
	assert_int_equal(v->reap_latency_us.sum, live.reap_latency_us.sum);
	assert_true(v->reap_latency_us.sum > 0);
	assert_memory_equal(v->reclaimed.count, live.reclaimed.count, sizeof(live.reclaimed.count));
	assert_int_equal(v->peak_used.value[0] | v->peak_used.value[1], live.peak_used.value[0] | live.peak_used.value[1]);
	/* heat: every pushed page (offsets 1 .. 3000) once, in 2 MiB regions 0 .. 5 */
	{
		uint64_t pages = 0;

		assert_int_equal(s.n_heat, 6);
		for (size_t k = 0; k < s.n_heat; k++)
			pages += s.heat[k].pages;
		assert_int_equal(pages, 3000);
	}
	snapshot_free(&s);
	replay_free(b.r);
}

static uint64_t slot_ops(const struct snapshot *s, int op)
{
	return s->n_vms ? s->vms[0].v.slot_ops[op] : 0;
}

static void memslot(struct replay *r, uint64_t ts, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size)
{
	struct rec_record rec = { .kind = REC_MEMSLOT };

	rec.ev.ts = ts;
	rec.ev.id = 1;
	rec.ev.cmd = DT_KVM_SET_USER_MEMORY_REGION;
	rec.ev.slot = slot;
	rec.ev.flags = flags;
	rec.ev.gpa = gpa;
	rec.ev.size = size;
	replay_apply(r, &rec);
}

static void test_memslots_bitmap_heat(void **state)
{
	struct replay *r = replay_new(T0, T0 + SEC, 0, 9, NULL, NULL);
	struct rec_record rec = { .kind = REC_IOCTL };
	struct snapshot s = {};
	uint64_t heat = 0;

	(void)state;
	vm_info(r, 1, T0);
	memslot(r, T0 + 1, 1, 0, 1 << 20, 64 << 20);			/* create */
	memslot(r, T0 + 2, 1, DT_MEM_LOG_DIRTY_PAGES, 1 << 20, 64 << 20);	/* flags: logging on */
	memslot(r, T0 + 3, 1, DT_MEM_LOG_DIRTY_PAGES, 2 << 20, 64 << 20);	/* move */
	memslot(r, T0 + 4, 2, 0, 1 << 30, 4096);			/* create */
	memslot(r, T0 + 5, 2, 0, 0, 0);				/* delete */
	rec.ev.ts = T0 + 6;
	rec.ev.id = 1;
	rec.ev.cmd = DT_KVM_GET_DIRTY_LOG;
	rec.ev.slot = 1;
	rec.ev.flags = 1;		/* counted */
	rec.ev.size = 700;
	replay_apply(r, &rec);
	rec.kind = REC_DIRTYLOG;
	rec.ev.offset = 3;		/* 2 MiB region 3 */
	rec.ev.size = 700;
	rec.ev.flags = 0;
	replay_apply(r, &rec);
	ring_info(r, 1, 1, T0);
	event(r, REC_PUSH, 1, T0 + 7, 1, 0);	/* page 1: region 0 */
	replay_summary(r, &s);
	assert_int_equal(slot_ops(&s, DT_SLOT_CREATE), 2);
	assert_int_equal(slot_ops(&s, DT_SLOT_FLAGS), 1);
	assert_int_equal(slot_ops(&s, DT_SLOT_MOVE), 1);
	assert_int_equal(slot_ops(&s, DT_SLOT_DELETE), 1);
	assert_int_equal(s.vms[0].v.dirty_log_on, 1);
	assert_int_equal(s.vms[0].v.bitmap_syncs, 1);
	assert_int_equal(s.vms[0].v.bitmap_dirty_pages, 700);
	assert_true(s.vms[0].v.flags & DT_VM_BITMAP);
	assert_int_equal(s.n_memslots, 1);
	assert_int_equal(s.memslots[0].v.gpa, 2 << 20);
	assert_int_equal(s.memslots[0].v.get_calls, 1);
	for (size_t i = 0; i < s.n_heat; i++)
		heat += s.heat[i].pages;
	assert_int_equal(s.n_heat, 2);
	assert_int_equal(heat, 701);
	assert_true(DT_IS_GRAVE_KEY(s.vms[0].key) == 0);	/* never taken for a buried VM */
	snapshot_free(&s);
	replay_free(r);
}

static void count_window(void *ctx, struct replay *r, const struct snapshot *s, uint64_t ws, uint64_t we)
{
	(void)r;
	(void)s;
	(void)ws;
	(void)we;
	((struct windows *)ctx)->n++;
}

/* Nothing in a file is trusted: undescribed ids, failed ioctls, absurd spans. */
static void test_hostile_input(void **state)
{
	struct windows w = {};
	struct replay *r;
	struct snapshot s = {};

	(void)state;
	model_init(&w.m);
	r = replay_new(0, UINT64_MAX, 1, 9, count_window, &w);	/* would be 2^64 windows */
	assert_true(replay_window_ns(r) > (UINT64_MAX / REPLAY_MAX_WINDOWS) - 1);
	event(r, REC_PUSH, 77, 5, 3, 1);			/* a ring nobody described */
	event(r, REC_RESET, 77, UINT64_MAX - 1, 0, 7);
	ioctl_ev(r, REC_IOCTL, 9, 10, DT_KVM_RESET_DIRTY_RINGS, -22);	/* failed: no VM 9 */
	assert_null(replay_vm_find(r, 9));
	replay_finish(r);
	assert_true(w.n <= REPLAY_MAX_WINDOWS);
	replay_summary(r, &s);
	assert_int_equal(s.n_vcpus, 1);
	assert_int_equal(s.vcpus[0].v.pushes, 1);
	model_free(&w.m);
	snapshot_free(&s);
	replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_windows_and_summary),
		cmocka_unit_test(test_memslots_bitmap_heat),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_batches_equal_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
