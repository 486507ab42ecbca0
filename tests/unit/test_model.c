// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The model from synthetic snapshots: rates, occupancy, stalls, VM lifecycle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "core/model.h"

#define SEC 1000000000ull
#define VM_KEY 0xffff888000001000ull
#define RING0 0xffff888000002000ull
#define RING1 0xffff888000003000ull

static bool g_alive = true;

static int g_identity_lookups;

static void fake_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	out->alive = g_alive;
	strcpy(out->comm, "vmm");
	if (q->tid) {
		snprintf(out->thread_name, sizeof(out->thread_name), "CPU %u/KVM", q->tid - 200);
		return;
	}
	if (q->want_identity) {
		g_identity_lookups++;
		out->have_identity = true;
		strcpy(out->identity.name, "web-01");
	}
}

static struct dt_vcpu *add_vcpu(struct snapshot *s, uint64_t ring, int id)
{
	struct snap_vcpu *sv = snapshot_add_vcpu(s);

	sv->key = ring;
	sv->v.vm = VM_KEY;
	sv->v.tgid = 100;
	sv->v.tid = 200 + id;
	sv->v.vcpu_id = id;
	sv->v.ring_size = 1024;
	sv->v.soft_limit = 960;
	sv->v.first_seen_ns = 1;
	return &sv->v;
}

static struct dt_vm *add_vm(struct snapshot *s)
{
	struct snap_vm *sm = snapshot_add_vm(s);

	sm->key = VM_KEY;
	sm->v.tgid = 100;
	sm->v.fd = 5;
	sm->v.flags = DT_VM_RING;
	sm->v.ring_bytes = 1024 * 16;
	sm->v.first_seen_ns = 1;
	return &sm->v;
}

static void update(struct model *m, struct snapshot *s, struct key_list *fv, struct key_list *fc)
{
	model_update(m, s, fake_lookup, NULL, fv, fc);
}

static void test_rates_and_occupancy(void **state)
{
	struct snapshot s = {};
	struct model m;
	struct dt_vcpu *v;
	struct dt_vm *vm;

	(void)state;
	g_alive = true;
	model_init(&m);
	s.ts_ns = 10 * SEC;
	s.epoch = 2;
	v = add_vcpu(&s, RING0, 0);
	vm = add_vm(&s);
	v->pushes = 1000;
	v->dirty_index = 1000;
	v->reset_index = 900;
	update(&m, &s, NULL, NULL);

	snapshot_reset(&s);
	s.ts_ns = 12 * SEC;	/* 2 s later */
	s.epoch = 3;
	v = add_vcpu(&s, RING0, 0);
	vm = add_vm(&s);
	v->pushes = 5000;
	v->full_exits = 6;
	v->ring_resets = 20;
	v->dirty_index = 5000;
	v->reset_index = 4520;	/* used 480 = 50% */
	v->peak_used.epoch[1] = 3;
	v->peak_used.value[1] = 900;
	vm->reset_calls = 20;
	update(&m, &s, NULL, NULL);

	assert_int_equal(m.n_vms, 1);
	assert_int_equal(m.vms[0].n_vcpus, 1);
	struct vcpu_metrics *c = &m.vms[0].vcpus[0];
	assert_true(m.interval_s == 2.0);
	assert_true(c->fill_rate == 2000.0);
	assert_true(c->fill_mib_s == 2000.0 * 4096 / 1048576);
	assert_true(c->full_exits_s == 3.0);
	assert_true(c->ring_resets_s == 10.0);
	assert_int_equal(c->used, 480);
	assert_true(c->used_pct == 50.0);
	assert_int_equal(c->peak_used, 900);
	assert_int_equal(m.vms[0].ring_size, 1024);
	assert_int_equal(m.vms[0].tracking, TRACK_RING);
	assert_true(m.vms[0].reset_calls_s == 10.0);
	assert_string_equal(m.vms[0].comm, "vmm");
	model_free(&m);
	snapshot_free(&s);
}

static void test_peak_without_pushes_is_start_occupancy(void **state)
{
	struct snapshot s = {};
	struct model m;
	struct dt_vcpu *v;

	(void)state;
	g_alive = true;
	model_init(&m);
	s.ts_ns = SEC;
	s.epoch = 2;
	v = add_vcpu(&s, RING0, 0);
	v->dirty_index = 700;
	update(&m, &s, NULL, NULL);
	snapshot_reset(&s);
	s.ts_ns = 2 * SEC;
	s.epoch = 3;
	v = add_vcpu(&s, RING0, 0);
	v->dirty_index = 700;
	v->reset_index = 700;	/* reset, no push: peak is what it was at the start */
	update(&m, &s, NULL, NULL);
	assert_int_equal(m.vms[0].vcpus[0].used, 0);
	assert_int_equal(m.vms[0].vcpus[0].peak_used, 700);
	model_free(&m);
	snapshot_free(&s);
}

/* A 2.5 s stall across three 1 s intervals is split 0.5 / 1.0 / 1.0 then completes. */
static void test_stall_split_across_intervals(void **state)
{
	struct snapshot s = {};
	struct model m;
	struct dt_vcpu *v;
	double fr[4];

	(void)state;
	g_alive = true;
	model_init(&m);
	uint64_t t0 = 100 * SEC;
	for (int i = 0; i < 4; i++) {
		snapshot_reset(&s);
		s.ts_ns = t0 + i * SEC;
		s.epoch = 2 + i;
		v = add_vcpu(&s, RING0, 0);
		if (i >= 1 && i <= 2)
			v->full_since_ns = t0 + SEC / 2 - SEC;	/* began at t0 - 0.5 s */
		if (i == 0)
			v->full_since_ns = t0 - SEC / 2;
		if (i == 3) {
			v->stalls = 1;
			v->stall_ns = 3 * SEC;	/* ended at t0 + 2.5 s */
		}
		update(&m, &s, NULL, NULL);
		fr[i] = m.vms[0].vcpus[0].stall_frac;
	}
	/* i=0 is the first sight: counted from first_seen (1 ns) */
	assert_true(fr[1] > 0.999 && fr[1] < 1.001);
	assert_true(fr[2] > 0.999 && fr[2] < 1.001);
	/* the completed 3 s stall had 2.5 s (0.5 + 1 + 1) counted already: 0.5 s remain */
	assert_true(fr[3] > 0.499 && fr[3] < 0.501);
	assert_true(m.vms[0].vcpus[0].stall_s == 3.0);
	model_free(&m);
	snapshot_free(&s);
}

static void test_exited_vm_shown_once_then_forgotten(void **state)
{
	struct snapshot s = {};
	struct key_list fv = {}, fc = {};
	struct model m;

	(void)state;
	model_init(&m);
	g_alive = true;
	s.ts_ns = SEC;
	add_vcpu(&s, RING0, 0);
	add_vcpu(&s, RING1, 1);
	add_vm(&s);
	update(&m, &s, &fv, &fc);
	assert_int_equal(m.n_vms, 1);
	assert_int_equal(m.vms[0].vm_id, 1);
	assert_false(m.vms[0].exited);

	g_alive = false;	/* the VMM is gone */
	s.ts_ns = 2 * SEC;
	update(&m, &s, &fv, &fc);
	assert_int_equal(m.n_vms, 1);
	assert_true(m.vms[0].exited);
	assert_int_equal(fv.n + fc.n, 0);

	s.ts_ns = 3 * SEC;
	/* the entries are still in this read: the caller deletes them after it */
	update(&m, &s, &fv, &fc);
	assert_int_equal(m.n_vms, 0);
	assert_int_equal(fv.n, 1);
	assert_true(fv.keys[0] == VM_KEY);
	assert_true(fv.gens[0] == 1);	/* the generation (first_seen_ns) of the entry to delete */
	assert_int_equal(fc.n, 2);
	assert_true(fc.gens[0] == 1 && fc.gens[1] == 1);
	key_list_free(&fv);
	key_list_free(&fc);
	model_free(&m);
	snapshot_free(&s);
}

/*
 * Without bpf_for_each_map_elem nothing is moved when a new VM takes a dead
 * VM's address (created at 10 s; the dead one at 5 s, buried under grave key
 * 5 s): what is under the live key is told apart by when it was first seen.
 */
static void test_reborn_vm_entries_told_apart(void **state)
{
	struct snapshot s = {};
	struct snap_vm *dead, *vm;
	struct snap_vcpu *c;
	struct snap_memslot *ms;
	struct snap_heat *h;
	const uint64_t grave = 5 * SEC, created = 10 * SEC;

	(void)state;
	dead = snapshot_add_vm(&s);
	dead->key = grave;
	dead->v.first_seen_ns = dead->v.created_ns = grave;
	vm = snapshot_add_vm(&s);
	vm->key = VM_KEY;
	vm->v.flags = DT_VM_FROM_CREATE | DT_VM_REBORN;
	vm->v.first_seen_ns = vm->v.created_ns = created;
	vm->v.prev_grave = grave;
	vm->v.prev_created_ns = grave;
	/* vCPUs: the dead VM's (6 s), the new VM's (11 s), one older than both (2 s) */
	const uint64_t vcpu_seen[] = { 6 * SEC, 11 * SEC, 2 * SEC }, vcpu_owner[] = { grave, VM_KEY, 0 };
	for (int i = 0; i < 3; i++) {
		c = snapshot_add_vcpu(&s);
		c->key = RING0 + i * 0x1000;
		c->v.vm = VM_KEY;
		c->v.first_seen_ns = vcpu_seen[i];
	}
	for (int i = 0; i < 3; i++) {
		ms = snapshot_add_memslot(&s);
		ms->key.vm = VM_KEY;
		ms->key.slot = i;
		ms->v.first_seen_ns = vcpu_seen[i];
	}
	h = snapshot_add_heat(&s);	/* the dead VM's */
	h->key.vm = VM_KEY;
	h->pages = 7;
	h = snapshot_add_heat(&s);	/* the new VM's, under DT_VM_HEAT_KEY */
	h->key.vm = created;
	h->pages = 9;
	c = snapshot_add_vcpu(&s);	/* another VM's: untouched */
	c->key = RING1 + 0x10000;
	c->v.vm = VM_KEY + 0x1000;
	c->v.first_seen_ns = SEC;

	snapshot_attribute_reborn(&s);
	/* the vCPU that is neither VM's is left out (the last one took its place) */
	assert_int_equal(s.n_vcpus, 3);
	assert_true(s.vcpus[0].v.vm == grave && s.vcpus[1].v.vm == VM_KEY);
	assert_true(s.vcpus[2].v.vm == VM_KEY + 0x1000);
	for (int i = 0; i < 3; i++)
		assert_true(s.memslots[i].key.vm == vcpu_owner[i]);
	assert_true(s.heat[0].key.vm == grave && s.heat[0].pages == 7);
	assert_true(s.heat[1].key.vm == VM_KEY && s.heat[1].pages == 9);

	/* no dead VM's entry was at the address (freed already): what is older is nobody's */
	vm->v.prev_grave = vm->v.prev_created_ns = 0;
	s.vcpus[0].v.vm = VM_KEY;
	s.heat[0].key.vm = VM_KEY;
	snapshot_attribute_reborn(&s);
	assert_int_equal(s.n_vcpus, 2);
	assert_true(s.vcpus[0].v.vm == VM_KEY + 0x1000 && s.vcpus[1].v.vm == VM_KEY && s.heat[0].key.vm == 0);

	/* a VM that is not reborn (BPF moved what was there): nothing changes */
	vm->v.flags = DT_VM_FROM_CREATE;
	s.vcpus[0].v.vm = VM_KEY;
	snapshot_attribute_reborn(&s);
	assert_int_equal(s.n_vcpus, 2);
	assert_true(s.vcpus[0].v.vm == VM_KEY);
	snapshot_free(&s);
}

/* Shown exited, then buried by BPF (a new VM took its address): not shown again, and freed. */
static void test_buried_after_exit_not_shown_again(void **state)
{
	struct snapshot s = {};
	struct key_list fv = {}, fc = {};
	struct model m;
	struct snap_vm *sm;

	(void)state;
	model_init(&m);
	g_alive = true;
	s.ts_ns = SEC;
	add_vcpu(&s, RING0, 0);
	add_vm(&s);
	update(&m, &s, &fv, &fc);
	g_alive = false;
	s.ts_ns = 2 * SEC;
	update(&m, &s, &fv, &fc);
	assert_true(m.vms[0].exited);
	snapshot_reset(&s);	/* now under grave keys: the entries' first_seen_ns (1) */
	s.ts_ns = 3 * SEC;
	add_vcpu(&s, 1, 0);
	sm = snapshot_add_vm(&s);
	sm->key = 1;
	sm->v.first_seen_ns = 1;
	sm->v.tgid = 100;
	update(&m, &s, &fv, &fc);
	assert_int_equal(m.n_vms, 0);
	assert_int_equal(fv.n, 2);	/* the live key and the grave key */
	assert_true(fv.keys[1] == 1);
	assert_int_equal(fc.n, 2);
	key_list_free(&fv);
	key_list_free(&fc);
	model_free(&m);
	snapshot_free(&s);
}

static void test_recreated_vm_gets_new_id(void **state)
{
	struct snapshot s = {};
	struct model m;
	struct dt_vm *vm;

	(void)state;
	g_alive = true;
	model_init(&m);
	s.ts_ns = SEC;
	vm = add_vm(&s);
	vm->created_ns = 5;
	update(&m, &s, NULL, NULL);
	snapshot_reset(&s);
	s.ts_ns = 2 * SEC;
	vm = add_vm(&s);
	vm->created_ns = 6;	/* KVM_CREATE_VM again at the same address */
	update(&m, &s, NULL, NULL);
	assert_int_equal(m.n_vms, 2);
	assert_true(m.vms[0].exited);
	assert_int_equal(m.vms[1].vm_id, 2);
	assert_false(m.vms[1].exited);
	model_free(&m);
	snapshot_free(&s);
}

static void test_sort_by_fill(void **state)
{
	struct snapshot s = {};
	struct model m;

	(void)state;
	g_alive = true;
	model_init(&m);
	s.ts_ns = SEC;
	add_vcpu(&s, RING0, 0);
	add_vcpu(&s, RING1, 1);
	update(&m, &s, NULL, NULL);
	snapshot_reset(&s);
	s.ts_ns = 2 * SEC;
	add_vcpu(&s, RING0, 0)->pushes = 10;
	add_vcpu(&s, RING1, 1)->pushes = 500;
	update(&m, &s, NULL, NULL);
	model_sort(&m, SORT_FILL, true);
	assert_int_equal(m.vms[0].vcpus[0].vcpu_id, 1);
	model_sort(&m, SORT_FILL, false);
	assert_int_equal(m.vms[0].vcpus[0].vcpu_id, 0);
	model_free(&m);
	snapshot_free(&s);
}

/* The identity is looked up once per VM, thread names once per vCPU thread; the filter takes names and globs. */
static void test_identity_and_name_filter(void **state)
{
	struct snapshot s = {};
	struct model m;

	(void)state;
	g_alive = true;
	g_identity_lookups = 0;
	model_init(&m);
	s.ts_ns = SEC;
	add_vm(&s);
	add_vcpu(&s, RING0, 0);
	add_vcpu(&s, RING1, 1);
	update(&m, &s, NULL, NULL);
	snapshot_reset(&s);
	s.ts_ns = 2 * SEC;
	add_vm(&s);
	add_vcpu(&s, RING0, 0);
	add_vcpu(&s, RING1, 1);
	update(&m, &s, NULL, NULL);
	assert_int_equal(g_identity_lookups, 1);
	assert_string_equal(m.vms[0].identity.name, "web-01");
	assert_string_equal(m.vms[0].vcpus[0].thread_name, "CPU 0/KVM");
	assert_string_equal(m.vms[0].vcpus[1].thread_name, "CPU 1/KVM");

	assert_int_equal(vm_filter_parse(&m.filter, "web-01"), 0);
	assert_true(model_vm_visible(&m, &m.vms[0]));
	assert_int_equal(vm_filter_parse(&m.filter, "web-*"), 0);
	assert_true(model_vm_visible(&m, &m.vms[0]));
	assert_int_equal(vm_filter_parse(&m.filter, "web"), 0);
	assert_false(model_vm_visible(&m, &m.vms[0]));
	assert_int_equal(vm_filter_parse(&m.filter, "100"), 0);
	assert_int_equal(m.filter.tgid, 100);
	assert_true(model_vm_visible(&m, &m.vms[0]));
	assert_int_equal(vm_filter_parse(&m.filter, "101"), 0);
	assert_false(model_vm_visible(&m, &m.vms[0]));
	assert_int_equal(vm_filter_parse(&m.filter, "0"), -1);
	assert_int_equal(vm_filter_parse(&m.filter, ""), -1);
	/* a VM whose name is unknown matches no name */
	m.vms[0].identity.name[0] = 0;
	assert_int_equal(vm_filter_parse(&m.filter, "*"), 0);
	assert_false(model_vm_visible(&m, &m.vms[0]));
	model_free(&m);
	snapshot_free(&s);
}

static void test_heat_merge_and_rates(void **state)
{
	struct snapshot s = {};
	struct model m;
	struct snap_heat *h;
	struct dt_vcpu *v;

	(void)state;
	g_alive = true;
	model_init(&m);
	for (int round = 0; round < 2; round++) {
		snapshot_reset(&s);
		s.ts_ns = (uint64_t)(round + 1) * SEC;
		s.heat_shift = 9;
		add_vm(&s);
		for (uint32_t r = 0; r < 1000; r++) {	/* many regions: merged, not searched */
			h = snapshot_add_heat(&s);
			h->key.vm = VM_KEY;
			h->key.slot = 1;
			h->key.region = 999 - r;
			h->pages = (round + 1) * (r == 7 ? 500 : 1);
		}
		v = add_vcpu(&s, RING0, 0);
		v->heat_slot = 1;
		v->heat_region = 999 - 7;	/* the same region as the hot one */
		v->heat_pending = round ? 40 : 0;
		update(&m, &s, NULL, NULL);
	}
	assert_int_equal(m.vms[0].n_heat, 1000);
	/* hottest first: region 992 with 1000 + 40 pages, 540 of them this second */
	assert_int_equal(m.vms[0].heat[0].region, 992);
	assert_int_equal(m.vms[0].heat[0].pages, 1040);
	assert_true(m.vms[0].heat[0].pages_s == 540.0);
	assert_int_equal(m.vms[0].heat[1].pages, 2);
	assert_true(m.vms[0].heat[1].pages_s == 1.0);
	assert_int_equal(m.vms[0].heat_region_bytes_log2, 21);
	model_free(&m);
	snapshot_free(&s);
}

/* A histogram unchanged since the last refresh: nothing in the interval, the run's figures kept. */
static void test_unchanged_hist_keeps_run_quantiles(void **state)
{
	struct snapshot s = {};
	struct vcpu_metrics *c;
	struct dt_vcpu *v;
	struct model m;

	(void)state;
	g_alive = true;
	model_init(&m);
	for (int i = 0; i < 4; i++) {
		snapshot_reset(&s);
		s.ts_ns = (10 + i) * SEC;
		s.epoch = 2 + i;
		v = add_vcpu(&s, RING0, 0);
		add_vm(&s);
		/* refresh 0: 3 samples of 100 µs; 1 and 2: none; 3: one of 5000 µs */
		v->reap_latency_us.count[dt_hist_bucket(100)] = 3;
		v->reap_latency_us.max = 100;
		v->reap_latency_us.interval_max.epoch[s.epoch & 1] = s.epoch;
		v->reap_latency_us.interval_max.value[s.epoch & 1] = i == 0 ? 100 : i == 3 ? 5000 : 0;
		v->stall_us.count[0] = 1;	/* a 0 µs stall: count moves, sum and max do not */
		v->ring_resets = 3;		/* samples come with ring resets (dt_agg_reset) */
		if (i == 3) {
			v->ring_resets = 4;
			v->reap_latency_us.count[dt_hist_bucket(5000)] = 1;
			v->reap_latency_us.max = 5000;
			v->stall_us.count[0] = 2;
		}
		update(&m, &s, NULL, NULL);
		c = &m.vms[0].vcpus[0];
		if (i == 1 || i == 2) {
			assert_false(c->reap_latency_us.valid);
			assert_false(c->stall_us.valid);
		} else {
			assert_true(c->reap_latency_us.valid);
			assert_int_equal(c->reap_latency_us.count, i == 0 ? 3 : 1);
			assert_true(c->stall_us.valid);
		}
		assert_true(c->reap_latency_us_all.valid);
		assert_int_equal(c->reap_latency_us_all.count, i == 3 ? 4 : 3);
		assert_true(c->reap_latency_us_all.max == (i == 3 ? 5000.0 : 100.0));
		assert_int_equal(c->stall_us_all.count, i == 3 ? 2 : 1);
		assert_int_equal(vcpu_hists_of(c)->stall_hist_all.count[0], i == 3 ? 2 : 1);
	}
	model_free(&m);
	snapshot_free(&s);
}

/*
 * A vCPU without a ring reset keeps no histograms (at 4096 vCPUs most are
 * idle); its first reset brings them, with the interval's samples only.
 */
static void test_histograms_kept_from_first_reset(void **state)
{
	struct snapshot s = {};
	struct vcpu_metrics *idle, *busy;
	struct dt_vcpu *a, *b;
	struct model m;

	(void)state;
	g_alive = true;
	model_init(&m);
	for (int i = 0; i < 3; i++) {
		snapshot_reset(&s);
		s.ts_ns = (10 + i) * SEC;
		s.epoch = 2 + i;
		a = add_vcpu(&s, RING0, 0);
		b = add_vcpu(&s, RING1, 1);
		add_vm(&s);
		/* vCPU 1: two resets reclaiming 100 entries each, from the start */
		b->ring_resets = 2;
		b->reclaimed.count[dt_hist_bucket(100)] = 2;
		b->reclaimed.max = 100;
		if (i == 2) {	/* vCPU 0's first reset: 50 entries */
			a->ring_resets = 1;
			a->reclaimed.count[dt_hist_bucket(50)] = 1;
			a->reclaimed.max = 50;
			a->reclaimed.interval_max.epoch[s.epoch & 1] = s.epoch;
			a->reclaimed.interval_max.value[s.epoch & 1] = 50;
		}
		update(&m, &s, NULL, NULL);
		idle = m.vms[0].vcpus[0].vcpu_id == 0 ? &m.vms[0].vcpus[0] : &m.vms[0].vcpus[1];
		busy = idle == &m.vms[0].vcpus[0] ? &m.vms[0].vcpus[1] : &m.vms[0].vcpus[0];
		assert_non_null(busy->hists);
		assert_int_equal(vcpu_hists_of(busy)->reclaimed_hist_all.count[dt_hist_bucket(100)], 2);
		assert_int_equal(busy->reclaimed_all.count, 2);
		assert_int_equal(busy->reclaimed.count, i == 0 ? 2 : 0);
		if (i < 2) {
			assert_null(idle->hists);
			assert_false(idle->reclaimed.valid);
			assert_false(idle->reclaimed_all.valid);
			assert_int_equal(vcpu_hists_of(idle)->reclaimed_hist_all.count[dt_hist_bucket(50)], 0);
		} else {
			assert_non_null(idle->hists);
			assert_true(idle->reclaimed.valid);
			assert_int_equal(idle->reclaimed.count, 1);
			assert_true(idle->reclaimed.max == 50.0);
			assert_int_equal(idle->reclaimed_all.count, 1);
			assert_int_equal(vcpu_hists_of(idle)->reclaimed_hist_all.count[dt_hist_bucket(50)], 1);
		}
	}
	model_free(&m);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_and_occupancy),
		cmocka_unit_test(test_peak_without_pushes_is_start_occupancy),
		cmocka_unit_test(test_stall_split_across_intervals),
		cmocka_unit_test(test_exited_vm_shown_once_then_forgotten),
		cmocka_unit_test(test_buried_after_exit_not_shown_again),
		cmocka_unit_test(test_reborn_vm_entries_told_apart),
		cmocka_unit_test(test_recreated_vm_gets_new_id),
		cmocka_unit_test(test_sort_by_fill),
		cmocka_unit_test(test_identity_and_name_filter),
		cmocka_unit_test(test_heat_merge_and_rates),
		cmocka_unit_test(test_unchanged_hist_keeps_run_quantiles),
		cmocka_unit_test(test_histograms_kept_from_first_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
