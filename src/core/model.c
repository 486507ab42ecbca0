// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>
#include "core/model.h"
#include "core/util.h"

void snapshot_reset(struct snapshot *s)
{
	s->n_vcpus = 0;
	s->n_vms = 0;
	s->n_memslots = 0;
	s->n_heat = 0;
}

struct snap_vcpu *snapshot_add_vcpu(struct snapshot *s)
{
	DT_GROW(s->vcpus, s->n_vcpus, s->cap_vcpus);
	return memset(&s->vcpus[s->n_vcpus++], 0, sizeof(struct snap_vcpu));
}

struct snap_vcpu *snapshot_add_vcpu_uninit(struct snapshot *s)
{
	DT_GROW(s->vcpus, s->n_vcpus, s->cap_vcpus);
	return &s->vcpus[s->n_vcpus++];
}

void snapshot_reserve_vcpus(struct snapshot *s, size_t n)
{
	struct snap_vcpu *p;

	if (n <= s->cap_vcpus)
		return;
	if (!(p = realloc(s->vcpus, n * sizeof(*p))))
		abort();
	s->vcpus = p;
	s->cap_vcpus = n;
}

struct snap_vm *snapshot_add_vm(struct snapshot *s)
{
	DT_GROW(s->vms, s->n_vms, s->cap_vms);
	return memset(&s->vms[s->n_vms++], 0, sizeof(struct snap_vm));
}

struct snap_memslot *snapshot_add_memslot(struct snapshot *s)
{
	DT_GROW(s->memslots, s->n_memslots, s->cap_memslots);
	return memset(&s->memslots[s->n_memslots++], 0, sizeof(struct snap_memslot));
}

struct snap_heat *snapshot_add_heat(struct snapshot *s)
{
	DT_GROW(s->heat, s->n_heat, s->cap_heat);
	return memset(&s->heat[s->n_heat++], 0, sizeof(struct snap_heat));
}

/* A VM created under the live object without callbacks: its live key and its heat key. */
struct reborn {
	uint64_t key;		/* sorted by it, or by heat_key */
	uint64_t heat_key;
	const struct dt_vm *vm;
};

static int cmp_reborn_key(const void *a, const void *b)
{
	const struct reborn *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

static int cmp_reborn_heat_key(const void *a, const void *b)
{
	const struct reborn *x = a, *y = b;

	return (x->heat_key > y->heat_key) - (x->heat_key < y->heat_key);
}

static const struct reborn *reborn_find(const struct reborn *r, size_t n, uint64_t key, bool heat)
{
	struct reborn k = { .key = key, .heat_key = key };

	return n ? bsearch(&k, r, n, sizeof(*r), heat ? cmp_reborn_heat_key : cmp_reborn_key) : NULL;
}

/* The owner of an entry under a reborn VM's live key, first seen at first_seen_ns (0: neither VM's). */
static uint64_t reborn_owner(const struct reborn *r, uint64_t first_seen_ns)
{
	if (first_seen_ns >= r->vm->created_ns)
		return r->key;
	return first_seen_ns >= r->vm->prev_created_ns ? r->vm->prev_grave : 0;
}

void snapshot_attribute_reborn(struct snapshot *s)
{
	struct reborn *r = NULL, *by_heat = NULL;
	const struct reborn *f;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < s->n_vms; i++) {
		const struct dt_vm *vm = &s->vms[i].v;

		if (!(vm->flags & DT_VM_REBORN) || DT_IS_GRAVE_KEY(s->vms[i].key))
			continue;
		DT_GROW(r, n, cap);
		r[n++] = (struct reborn){ s->vms[i].key, DT_VM_HEAT_KEY(vm, s->vms[i].key), vm };
	}
	if (!n)
		return;
	by_heat = malloc(n * sizeof(*r));
	if (!by_heat)
		abort();
	memcpy(by_heat, r, n * sizeof(*r));
	dt_sort(r, n, sizeof(*r), cmp_reborn_key);
	dt_sort(by_heat, n, sizeof(*r), cmp_reborn_heat_key);
	/*
	 * A vCPU the model cannot place would be taken for a new VM's: one that is
	 * neither VM's, or the dead VM's once that is gone from the map, is left out.
	 */
	uint64_t *keys = malloc(s->n_vms * sizeof(*keys) + 1);

	if (!keys)
		abort();
	for (size_t i = 0; i < s->n_vms; i++)
		keys[i] = s->vms[i].key;
	dt_sort(keys, s->n_vms, sizeof(*keys), dt_cmp_u64);
	for (size_t j = 0; j < s->n_vcpus;) {
		uint64_t owner;

		if (!(f = reborn_find(r, n, s->vcpus[j].v.vm, false))) {
			j++;
			continue;
		}
		owner = reborn_owner(f, s->vcpus[j].v.first_seen_ns);
		if (owner && bsearch(&owner, keys, s->n_vms, sizeof(*keys), dt_cmp_u64)) {
			s->vcpus[j++].v.vm = owner;
			continue;
		}
		s->vcpus[j] = s->vcpus[--s->n_vcpus];
	}
	free(keys);
	for (size_t j = 0; j < s->n_memslots; j++)
		if ((f = reborn_find(r, n, s->memslots[j].key.vm, false)))
			s->memslots[j].key.vm = reborn_owner(f, s->memslots[j].v.first_seen_ns);
	/* BPF counts a reborn VM's heat under its heat key: what is under its live key is older */
	for (size_t j = 0; j < s->n_heat; j++) {
		if ((f = reborn_find(r, n, s->heat[j].key.vm, false)))
			s->heat[j].key.vm = f->vm->prev_grave;
		else if ((f = reborn_find(by_heat, n, s->heat[j].key.vm, true)))
			s->heat[j].key.vm = f->key;
	}
	free(r);
	free(by_heat);
}

void snapshot_free(struct snapshot *s)
{
	free(s->vcpus);
	free(s->vms);
	free(s->memslots);
	free(s->heat);
	memset(s, 0, sizeof(*s));
}

void key_list_add(struct key_list *l, uint64_t key, uint64_t gen)
{
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 16;

		l->keys = realloc(l->keys, c * sizeof(*l->keys));
		l->gens = realloc(l->gens, c * sizeof(*l->gens));
		if (!l->keys || !l->gens)
			abort();
		l->cap = c;
	}
	l->keys[l->n] = key;
	l->gens[l->n++] = gen;
}

void key_list_free(struct key_list *l)
{
	free(l->keys);
	free(l->gens);
	memset(l, 0, sizeof(*l));
}

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->next_vm_id = 1;
}

const struct vcpu_hists vcpu_hists_empty;

static void vm_free(struct vm_metrics *vm)
{
	for (size_t i = 0; i < vm->n_vcpus; i++)
		free(vm->vcpus[i].hists);
	free(vm->vcpus);
	free(vm->memslots);
	free(vm->heat);
	free(vm->heat_new);
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n_vms; i++)
		vm_free(&m->vms[i]);
	free(m->vms);
	idmap_free(&m->vm_index);
	idmap_free(&m->vcpu_index);
	memset(m, 0, sizeof(*m));
}

const char *tracking_name(enum vm_tracking t)
{
	switch (t) {
	case TRACK_RING: return "ring";
	case TRACK_RING_ACQ_REL: return "ring-acqrel";
	case TRACK_BITMAP: return "bitmap";
	default: return "unknown";
	}
}

const char *slot_op_name(enum dt_slot_op op)
{
	static const char *names[DT_SLOT_OPS] = { "create", "delete", "move", "flags", "unknown", "noop" };

	return op < DT_SLOT_OPS ? names[op] : "?";
}

/* A live VM with this key; a VM re-created at the same address is another VM. */
static struct vm_metrics *vm_find(struct model *m, uint64_t key)
{
	uint32_t hint = idmap_get(&m->vm_index, key);

	/* at 4096 vCPUs a scan per vCPU, through VMs of a few KiB each, was most of the model's time */
	if (hint && hint <= m->n_vms && m->vms[hint - 1].key == key && !m->vms[hint - 1].exited)
		return &m->vms[hint - 1];
	for (size_t i = 0; i < m->n_vms; i++)
		if (m->vms[i].key == key && !m->vms[i].exited)
			return &m->vms[i];
	return NULL;
}

static struct vm_metrics *vm_new(struct model *m, uint64_t key, uint32_t tgid, uint64_t first_seen)
{
	struct vm_metrics *vm;

	DT_GROW(m->vms, m->n_vms, m->cap_vms);
	vm = memset(&m->vms[m->n_vms++], 0, sizeof(*vm));
	vm->key = key;
	vm->vm_id = m->next_vm_id++;
	vm->tgid = tgid;
	vm->fd = -1;
	vm->first_seen_ns = first_seen;
	idmap_put(&m->vm_index, key, (uint32_t)m->n_vms);
	return vm;
}

static struct vcpu_metrics *vcpu_find(const struct model *m, struct vm_metrics *vm, uint64_t key)
{
	uint32_t hint = idmap_get(&m->vcpu_index, key);

	if (hint && (hint - 1) >> 16 == (uint32_t)(vm - m->vms) && ((hint - 1) & 0xffff) < vm->n_vcpus &&
	    vm->vcpus[(hint - 1) & 0xffff].key == key)
		return &vm->vcpus[(hint - 1) & 0xffff];
	for (size_t i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].key == key)
			return &vm->vcpus[i];
	return NULL;
}

static struct vcpu_metrics *vcpu_new(struct vm_metrics *vm, uint64_t key)
{
	struct vcpu_metrics *c;

	DT_GROW(vm->vcpus, vm->n_vcpus, vm->cap_vcpus);
	c = memset(&vm->vcpus[vm->n_vcpus++], 0, sizeof(*c));
	c->key = key;
	return c;
}

static double rate(uint64_t delta, double secs)
{
	return secs > 0 ? (double)delta / secs : 0.0;
}

static void interval_quantiles(struct quantiles *q, const struct dt_hist *cur,
			       const struct dt_hist *prev, uint32_t epoch)
{
	struct hist_counts d;
	uint64_t max = 0;

	hist_delta(&d, cur, prev);
	epoch_max_get(&cur->interval_max, epoch, &max);
	quantiles_of(q, &d, max);
}

static void run_quantiles(struct quantiles *q, struct hist_counts *all, const struct dt_hist *cur)
{
	struct hist_counts tmp;

	if (!all)
		all = &tmp;
	hist_copy(all, cur);
	quantiles_of(q, all, cur->max);
}

/*
 * A histogram's figures for the interval (against prev, the last refresh's
 * copy, which this updates) and for the run. One that has not changed since
 * (an idle vCPU's: most at 512 vCPUs) had nothing in the interval, and its
 * run figures are those computed from prev last time: kept, not recomputed.
 */
static void hist_update(struct quantiles *interval, struct quantiles *run, struct hist_counts *run_hist,
			const struct dt_hist *cur, struct dt_hist *prev, uint32_t epoch)
{
	if (!memcmp(cur->count, prev->count, sizeof(cur->count)) && cur->max == prev->max) {
		memset(interval, 0, sizeof(*interval));
		return;
	}
	interval_quantiles(interval, cur, prev, epoch);
	run_quantiles(run, run_hist, cur);
	*prev = *cur;
}

/*
 * Full-stall time inside this interval: stalls completed in it, minus the
 * parts of them already counted while they were ongoing, plus the part of
 * an ongoing stall that falls in this interval.
 */
static double stall_in_interval(struct vcpu_metrics *c, const struct dt_vcpu *v,
				uint64_t prev_ts, uint64_t now_ts)
{
	int64_t ns = (int64_t)(v->stall_ns - c->prev_stall_ns);
	uint64_t since = v->full_since_ns;

	if (c->prev_since && c->prev_since != since) {
		/* the stall we were counting has completed: its whole length is in ns */
		ns -= (int64_t)c->ongoing_accounted_ns;
		c->ongoing_accounted_ns = 0;
	}
	if (since && since < now_ts) {
		uint64_t from = since > prev_ts ? since : prev_ts;

		if (since != c->prev_since)
			c->ongoing_accounted_ns = 0;
		ns += (int64_t)(now_ts - from);
		c->ongoing_accounted_ns += now_ts - from;
	}
	c->prev_since = since;
	return ns > 0 ? (double)ns / 1e9 : 0.0;
}

/*
 * Entries in the ring now: the newest dirty_index either side saw (the vCPU
 * counts pushes a batch at a time, the reaper's thread sees the ring at each
 * reset) minus the last reset; ring indices run free, so compare as signed.
 */
static uint32_t ring_used(const struct dt_vcpu *v)
{
	uint32_t dirty = v->dirty_index;

	if ((int32_t)(v->reset_dirty_index - dirty) > 0)
		dirty = v->reset_dirty_index;
	return (int32_t)(dirty - v->reset_index) > 0 ? dirty - v->reset_index : 0;
}

static void vcpu_update(struct vcpu_metrics *c, const struct dt_vcpu *v, const struct model *m,
			const struct snapshot *s)
{
	double secs = m->interval_s;
	uint64_t prev_ts = m->prev_ts_ns;
	uint64_t peak = 0;
	double stall;

	if (!c->have_prev) {
		/* a new vCPU (zeroed): its counts all started after the previous read */
		c->first_seen_ns = v->first_seen_ns;
		if (!prev_ts || v->first_seen_ns > prev_ts)
			prev_ts = v->first_seen_ns;
	}
	c->vcpu_id = v->vcpu_id;
	c->tid = v->tid;
	c->ring_size = v->ring_size;
	c->soft_limit = v->soft_limit;
	c->seen_from_create = v->flags & DT_VCPU_FROM_CREATE;
	c->pushes = v->pushes;
	c->full_exits = v->full_exits;
	c->ring_resets = v->ring_resets;
	c->entries_reset = v->entries_reset;
	c->stalls = v->stalls;
	c->userspace_exits = v->userspace_exits;

	c->fill_rate = rate(v->pushes - c->prev_pushes, secs);
	c->fill_mib_s = c->fill_rate * DT_PAGE_SIZE / (1024.0 * 1024.0);
	c->full_exits_s = rate(v->full_exits - c->prev_full_exits, secs);
	c->ring_resets_s = rate(v->ring_resets - c->prev_ring_resets, secs);
	c->userspace_exits_s = rate(v->userspace_exits - c->prev_userspace_exits, secs);
	c->reentries = v->reentries;
	c->reentries_full = v->reentries_full;
	c->held_s = (double)v->held_ns / 1e9;
	c->held_frac = secs > 0 ? (double)(v->held_ns - c->prev_held_ns) / 1e9 / secs : 0;
	if (c->held_frac > 1.0)
		c->held_frac = 1.0;
	/* held_us only grows with a re-entry (dt_agg_reentry) */
	if (c->have_prev ? v->reentries != c->prev_reentries : v->reentries != 0)
		run_quantiles(&c->held_us_all, NULL, &v->held_us);
	c->prev_held_ns = v->held_ns;
	c->prev_reentries = v->reentries;

	c->used = ring_used(v);
	c->peak_used = c->prev_used > c->used ? c->prev_used : c->used;
	if (epoch_max_get(&v->peak_used, s->epoch, &peak) && peak > c->peak_used)
		c->peak_used = (uint32_t)peak;
	if (epoch_max_get(&v->peak_at_reset, s->epoch, &peak) && peak > c->peak_used)
		c->peak_used = (uint32_t)peak;
	c->used_pct = c->soft_limit ? 100.0 * c->used / c->soft_limit : 0;
	c->peak_pct = c->soft_limit ? 100.0 * c->peak_used / c->soft_limit : 0;

	stall = stall_in_interval(c, v, prev_ts, s->ts_ns);
	c->stall_frac = secs > 0 ? stall / secs : 0;
	if (c->stall_frac > 1.0)
		c->stall_frac = 1.0;
	c->stalled_now = v->full_since_ns != 0;
	c->stall_s = (double)v->stall_ns / 1e9 +
		     (v->full_since_ns && v->full_since_ns < s->ts_ns ?
		      (double)(s->ts_ns - v->full_since_ns) / 1e9 : 0);

	/*
	 * Only a ring reset adds to these four (dt_agg_reset): without one since
	 * the last refresh they are unchanged, which at 4096 vCPUs spares reading
	 * 2 KiB of histograms per idle vCPU, and keeping 3 KiB for each.
	 */
	if (c->have_prev ? v->ring_resets == c->prev_ring_resets : v->ring_resets == 0) {
		memset(&c->reap_interval_us, 0, sizeof(c->reap_interval_us));
		memset(&c->reap_latency_us, 0, sizeof(c->reap_latency_us));
		memset(&c->reclaimed, 0, sizeof(c->reclaimed));
		memset(&c->stall_us, 0, sizeof(c->stall_us));
	} else {
		struct vcpu_hists *h = c->hists;

		if (!h && !(h = c->hists = calloc(1, sizeof(*h))))
			abort();
		hist_update(&c->reap_interval_us, &c->reap_interval_us_all, NULL, &v->reap_interval_us,
			    &h->prev_reap_interval, s->epoch);
		hist_update(&c->reap_latency_us, &c->reap_latency_us_all, NULL, &v->reap_latency_us,
			    &h->prev_reap_latency, s->epoch);
		hist_update(&c->reclaimed, &c->reclaimed_all, &h->reclaimed_hist_all, &v->reclaimed,
			    &h->prev_reclaimed, s->epoch);
		hist_update(&c->stall_us, &c->stall_us_all, &h->stall_hist_all, &v->stall_us, &h->prev_stall,
			    s->epoch);
	}

	c->prev_pushes = v->pushes;
	c->prev_full_exits = v->full_exits;
	c->prev_ring_resets = v->ring_resets;
	c->prev_userspace_exits = v->userspace_exits;
	c->prev_stall_ns = v->stall_ns;
	c->prev_used = c->used;
	c->have_prev = true;
	c->present = true;
}

static void vm_update_from_map(struct vm_metrics *vm, const struct dt_vm *v, uint32_t epoch, double secs)
{
	if (!vm->have_prev)
		memset(&vm->prev_reset_latency, 0, sizeof(vm->prev_reset_latency));
	vm->tgid = v->tgid;
	vm->map_first_seen_ns = v->first_seen_ns;
	if (v->fd >= 0)
		vm->fd = v->fd;
	vm->created_ns = v->created_ns;
	vm->seen_from_create = v->flags & DT_VM_FROM_CREATE;
	vm->memslots_complete = v->flags & (DT_VM_FROM_CREATE | DT_VM_SLOTS_RECOVERED);
	if (v->flags & DT_VM_RING_ACQ_REL)
		vm->tracking = TRACK_RING_ACQ_REL;
	else if (v->flags & DT_VM_RING)
		vm->tracking = TRACK_RING;
	else if (v->flags & DT_VM_BITMAP)
		vm->tracking = TRACK_BITMAP;
	if (v->ring_bytes && !vm->ring_size)
		vm->ring_size = v->ring_bytes / 16;	/* sizeof(struct kvm_dirty_gfn) */
	vm->reset_calls = v->reset_calls;
	vm->reset_entries = v->reset_entries;
	vm->reset_calls_s = rate(v->reset_calls - (vm->have_prev ? vm->prev_reset_calls : 0), secs);
	{
		/* reset latency is measured in ns, shown in us */
		struct quantiles q;

		interval_quantiles(&q, &v->reset_latency_ns, &vm->prev_reset_latency, epoch);
		q.p50 /= 1000; q.p99 /= 1000; q.max /= 1000;
		vm->reset_latency_us = q;
		run_quantiles(&q, NULL, &v->reset_latency_ns);
		q.p50 /= 1000; q.p99 /= 1000; q.max /= 1000;
		vm->reset_latency_us_all = q;
	}
	run_quantiles(&vm->reset_entries_all, NULL, &v->reset_entries_hist);
	for (int op = 0; op < DT_SLOT_OPS; op++) {
		struct quantiles q;

		vm->slot_ops[op] = v->slot_ops[op];
		run_quantiles(&q, NULL, &v->slot_op_latency_ns[op]);
		q.p50 /= 1000; q.p99 /= 1000; q.max /= 1000;
		vm->slot_op_latency_us[op] = q;
	}
	vm->dirty_log_on = v->dirty_log_on;
	vm->dirty_log_off = v->dirty_log_off;
	if (!vm->have_prev)
		vm->prev_bitmap_syncs = vm->prev_bitmap_dirty_pages = vm->prev_clear_calls = 0;
	vm->bitmap_syncs = v->bitmap_syncs;
	vm->bitmap_dirty_pages = v->bitmap_dirty_pages;
	vm->clear_calls = v->clear_calls;
	vm->bitmap_syncs_s = rate(v->bitmap_syncs - vm->prev_bitmap_syncs, secs);
	vm->bitmap_dirty_pages_s = rate(v->bitmap_dirty_pages - vm->prev_bitmap_dirty_pages, secs);
	vm->clear_calls_s = rate(v->clear_calls - vm->prev_clear_calls, secs);
	vm->prev_bitmap_syncs = v->bitmap_syncs;
	vm->prev_bitmap_dirty_pages = v->bitmap_dirty_pages;
	vm->prev_clear_calls = v->clear_calls;
	vm->prev_reset_calls = v->reset_calls;
	vm->prev_reset_latency = v->reset_latency_ns;
	vm->have_prev = true;
}

static struct memslot_metrics *memslot_find(struct vm_metrics *vm, uint32_t slot)
{
	for (size_t i = 0; i < vm->n_memslots; i++)
		if (vm->memslots[i].slot == slot)
			return &vm->memslots[i];
	DT_GROW(vm->memslots, vm->n_memslots, vm->cap_memslots);
	memset(&vm->memslots[vm->n_memslots], 0, sizeof(struct memslot_metrics));
	vm->memslots[vm->n_memslots].slot = slot;
	return &vm->memslots[vm->n_memslots++];
}

static void memslot_update(struct memslot_metrics *ms, const struct dt_memslot *v, double secs)
{
	struct hist_counts h;

	if (!ms->have_prev)
		ms->prev_get_calls = ms->prev_get_dirty_pages = ms->prev_clear_calls = 0;
	ms->known = v->known;
	ms->gpa = v->gpa;
	ms->size = v->size;
	ms->flags = v->flags;
	ms->get_calls = v->get_calls;
	ms->get_dirty_pages = v->get_dirty_pages;
	ms->get_unsized = v->get_unsized;
	ms->clear_calls = v->clear_calls;
	ms->clear_pages = v->clear_pages;
	ms->get_calls_s = rate(v->get_calls - ms->prev_get_calls, secs);
	ms->dirty_pages_s = rate(v->get_dirty_pages - ms->prev_get_dirty_pages, secs);
	ms->dirty_mib_s = ms->dirty_pages_s * DT_PAGE_SIZE / (1024.0 * 1024.0);
	ms->clear_calls_s = rate(v->clear_calls - ms->prev_clear_calls, secs);
	run_quantiles(&ms->get_latency_us, NULL, &v->get_latency_ns);
	ms->get_latency_us.p50 /= 1000; ms->get_latency_us.p99 /= 1000; ms->get_latency_us.max /= 1000;
	run_quantiles(&ms->clear_latency_us, NULL, &v->clear_latency_ns);
	ms->clear_latency_us.p50 /= 1000; ms->clear_latency_us.p99 /= 1000; ms->clear_latency_us.max /= 1000;
	run_quantiles(&ms->clear_chunk_pages, &ms->clear_chunk_hist, &v->clear_chunk_pages);
	hist_copy(&h, &v->sync_dirty_pages);
	quantiles_of(&ms->sync_dirty_pages, &h, v->sync_dirty_pages.max);
	ms->prev_get_calls = v->get_calls;
	ms->prev_get_dirty_pages = v->get_dirty_pages;
	ms->prev_clear_calls = v->clear_calls;
	ms->have_prev = true;
	ms->present = true;
}

/* Append (not yet merged) pages of a region: vm_merge_heat sorts and combines. */
static void heat_append(struct vm_metrics *vm, uint32_t slot, uint32_t region, uint64_t pages)
{
	struct heat_region *h;

	DT_GROW(vm->heat_new, vm->n_heat_new, vm->cap_heat_new);
	h = memset(&vm->heat_new[vm->n_heat_new++], 0, sizeof(*h));
	h->slot = slot;
	h->region = region;
	h->pages = pages;
}

static int cmp_heat_key(const void *a, const void *b)
{
	const struct heat_region *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return (x->region > y->region) - (x->region < y->region);
}

/*
 * The regions read this time (map counts plus what vCPUs hold back), summed
 * per region, with the previous totals carried over: O(n log n) in regions.
 */
static void vm_merge_heat(struct vm_metrics *vm, double secs)
{
	size_t n = 0, i, j = 0;

	dt_sort(vm->heat_new, vm->n_heat_new, sizeof(struct heat_region), cmp_heat_key);
	for (i = 0; i < vm->n_heat_new; i++) {
		if (n && !cmp_heat_key(&vm->heat_new[n - 1], &vm->heat_new[i]))
			vm->heat_new[n - 1].pages += vm->heat_new[i].pages;
		else
			vm->heat_new[n++] = vm->heat_new[i];
	}
	dt_sort(vm->heat, vm->n_heat, sizeof(struct heat_region), cmp_heat_key);
	for (i = 0; i < n; i++) {
		struct heat_region *h = &vm->heat_new[i];

		while (j < vm->n_heat && cmp_heat_key(&vm->heat[j], h) < 0)
			j++;
		h->prev_pages = j < vm->n_heat && !cmp_heat_key(&vm->heat[j], h) ? vm->heat[j].pages : 0;
		h->pages_s = rate(h->pages > h->prev_pages ? h->pages - h->prev_pages : 0, secs);
		h->present = true;
	}
	/* swap: the merged list becomes current, the old array is reused next time */
	{
		struct heat_region *t = vm->heat;
		size_t cap = vm->cap_heat;

		vm->heat = vm->heat_new;
		vm->n_heat = n;
		vm->cap_heat = vm->cap_heat_new;
		vm->heat_new = t;
		vm->n_heat_new = 0;
		vm->cap_heat_new = cap;
	}
}

static int cmp_heat(const void *a, const void *b)
{
	const struct heat_region *x = a, *y = b;

	if (x->pages_s != y->pages_s)
		return x->pages_s < y->pages_s ? 1 : -1;
	if (x->pages != y->pages)
		return x->pages < y->pages ? 1 : -1;
	return x->slot != y->slot ? (x->slot > y->slot) - (x->slot < y->slot)
				  : (x->region > y->region) - (x->region < y->region);
}

static int cmp_memslot(const void *a, const void *b)
{
	const struct memslot_metrics *x = a, *y = b;

	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* Memslots (by slot) and heat (hottest first) of every VM from the snapshot. */
static void vm_update_slots_and_heat(struct model *m, const struct snapshot *s)
{
	size_t i, j;

	for (i = 0; i < m->n_vms; i++) {
		for (j = 0; j < m->vms[i].n_memslots; j++)
			m->vms[i].memslots[j].present = false;
		m->vms[i].n_heat_new = 0;
		m->vms[i].heat_region_bytes_log2 = s->heat_shift + 12;
	}
	for (i = 0; i < s->n_memslots; i++) {
		struct vm_metrics *vm = vm_find(m, s->memslots[i].key.vm);

		if (vm)
			memslot_update(memslot_find(vm, s->memslots[i].key.slot), &s->memslots[i].v, m->interval_s);
	}
	/* heat = the map's counts plus what vCPUs hold back for their current region */
	for (i = 0; i < s->n_heat; i++) {
		struct vm_metrics *vm = vm_find(m, s->heat[i].key.vm);

		if (vm)
			heat_append(vm, s->heat[i].key.slot, s->heat[i].key.region, s->heat[i].pages);
	}
	for (i = 0; i < s->n_vcpus; i++) {
		const struct dt_vcpu *v = &s->vcpus[i].v;
		const struct vcpu_metrics *c;
		struct vm_metrics *vm;

		if (!v->heat_pending || !(vm = vm_find(m, v->vm)))
			continue;
		/*
		 * Only a vCPU this VM shows: the entry of a forgotten vCPU (a dead VM's, not yet
		 * deleted) can still name this address, now a new VM's, and held back a whole region
		 */
		c = vcpu_find(m, vm, s->vcpus[i].key);
		if (!c || !c->present || c->first_seen_ns != v->first_seen_ns)
			continue;
		heat_append(vm, v->heat_slot, v->heat_region, v->heat_pending);
	}
	for (i = 0; i < m->n_vms; i++) {
		struct vm_metrics *vm = &m->vms[i];

		for (j = 0; j < vm->n_memslots;) {
			if (!vm->memslots[j].present) {
				vm->memslots[j] = vm->memslots[--vm->n_memslots];
				continue;
			}
			j++;
		}
		vm_merge_heat(vm, m->interval_s);
		for (j = 0; j < vm->n_memslots; j++)
			vm->memslots[j].heat_pages_s = 0;
		for (j = 0; j < vm->n_heat; j++) {
			struct heat_region *h = &vm->heat[j];

			h->gpa = 0;
			h->gpa_known = false;
			for (size_t k = 0; k < vm->n_memslots; k++)
				if (vm->memslots[k].slot == h->slot) {
					vm->memslots[k].heat_pages_s += h->pages_s;
					if (vm->memslots[k].known) {
						h->gpa = vm->memslots[k].gpa +
							 ((uint64_t)h->region << (s->heat_shift + 12));
						h->gpa_known = true;
					}
				}
		}
		dt_sort(vm->heat, vm->n_heat, sizeof(struct heat_region), cmp_heat);
		dt_sort(vm->memslots, vm->n_memslots, sizeof(struct memslot_metrics), cmp_memslot);
	}
}

static bool key_listed(const struct key_list *l, uint64_t key, uint64_t gen)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i] == key && l->gens[i] == gen)
			return true;
	return false;
}

/*
 * An entry of a VM being forgotten: under its key, or buried since under a
 * grave key (a new VM took the address) with the same generation. A buried
 * one joins the list, so the caller deletes it too.
 */
static bool skip_gone(struct key_list *gone, uint64_t key, uint64_t gen)
{
	if (key_listed(gone, key, gen))
		return true;
	if (!DT_IS_GRAVE_KEY(key))
		return false;
	for (size_t i = 0; i < gone->n; i++)
		if (gone->gens[i] == gen) {
			key_list_add(gone, key, gen);
			return true;
		}
	return false;
}

static void key_list_append(struct key_list *to, const struct key_list *from)
{
	for (size_t i = 0; to && i < from->n; i++)
		key_list_add(to, from->keys[i], from->gens[i]);
}

static void vm_forget(struct vm_metrics *vm, struct key_list *forget_vms, struct key_list *forget_vcpus)
{
	if (forget_vms)
		key_list_add(forget_vms, vm->key, vm->map_first_seen_ns);
	for (size_t i = 0; forget_vcpus && i < vm->n_vcpus; i++)
		key_list_add(forget_vcpus, vm->vcpus[i].key, vm->vcpus[i].first_seen_ns);
}

/* The hints of vm_find and vcpu_find, for the VMs and vCPUs the model holds now. */
static void index_model(struct model *m)
{
	idmap_clear(&m->vm_index);
	idmap_clear(&m->vcpu_index);
	for (size_t i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];

		if (vm->exited)
			continue;
		idmap_put(&m->vm_index, vm->key, (uint32_t)i + 1);
		for (size_t j = 0; j < vm->n_vcpus && j <= 0xffff && i < 0xffff; j++)
			idmap_put(&m->vcpu_index, vm->vcpus[j].key, (uint32_t)(i << 16 | j) + 1);
	}
}

void model_update(struct model *m, const struct snapshot *s, proc_lookup_fn lookup, void *ctx,
		  struct key_list *forget_vms, struct key_list *forget_vcpus)
{
	size_t i, j;

	m->interval_s = m->prev_ts_ns ? (double)(s->ts_ns - m->prev_ts_ns) / 1e9 : 0;

	/*
	 * VMs shown as exited last time are gone now: drop them and their map
	 * entries. This snapshot was read before the caller deletes those, so
	 * their entries are skipped below rather than taken for new VMs.
	 */
	struct key_list gone_vms = {}, gone_vcpus = {};

	for (i = 0, j = 0; i < m->n_vms; i++) {
		if (m->vms[i].exited) {
			vm_forget(&m->vms[i], &gone_vms, &gone_vcpus);
			vm_free(&m->vms[i]);
			continue;
		}
		m->vms[i].present = false;
		for (size_t k = 0; k < m->vms[i].n_vcpus; k++)
			m->vms[i].vcpus[k].present = false;
		m->vms[j++] = m->vms[i];
	}
	m->n_vms = j;

	/*
	 * Buried VMs (a new VM took their address before this read) first: the
	 * one we showed under its live key continues under its grave key.
	 */
	for (i = 0; i < s->n_vms; i++) {
		const struct snap_vm *sv = &s->vms[i];
		struct vm_metrics *vm;

		if (!DT_IS_GRAVE_KEY(sv->key) || vm_find(m, sv->key))
			continue;
		for (j = 0; j < m->n_vms; j++) {
			vm = &m->vms[j];
			if (!vm->exited && !DT_IS_GRAVE_KEY(vm->key) && vm->map_first_seen_ns == sv->v.first_seen_ns) {
				vm->key = sv->key;
				break;
			}
		}
	}

	index_model(m);
	for (i = 0; i < s->n_vms; i++) {
		const struct snap_vm *sv = &s->vms[i];
		struct vm_metrics *vm = vm_find(m, sv->key);

		if (!vm && skip_gone(&gone_vms, sv->key, sv->v.first_seen_ns))
			continue;

		if (vm && vm->have_prev && sv->v.created_ns != vm->created_ns) {
			vm->exited = true;	/* a new VM now lives at this address */
			vm = NULL;
		}
		if (!vm)
			vm = vm_new(m, sv->key, sv->v.tgid, sv->v.first_seen_ns);
		vm_update_from_map(vm, &sv->v, s->epoch, m->interval_s);
		vm->present = true;
	}

	for (i = 0; i < s->n_vcpus; i++) {
		const struct snap_vcpu *sc = &s->vcpus[i];
		struct vm_metrics *vm = vm_find(m, sc->v.vm);
		struct vcpu_metrics *c;

		if (skip_gone(&gone_vcpus, sc->key, sc->v.first_seen_ns))
			continue;

		if (!vm) {
			vm = vm_new(m, sc->v.vm, sc->v.tgid, sc->v.first_seen_ns);
			vm->present = true;
		}
		c = vcpu_find(m, vm, sc->key);
		if (!c && DT_IS_GRAVE_KEY(sc->key)) {
			/* buried: the vCPU we showed under its live key */
			for (j = 0; j < vm->n_vcpus; j++)
				if (!DT_IS_GRAVE_KEY(vm->vcpus[j].key) &&
				    vm->vcpus[j].first_seen_ns == sc->v.first_seen_ns) {
					c = &vm->vcpus[j];
					c->key = sc->key;
					break;
				}
		}
		if (c && c->first_seen_ns != sc->v.first_seen_ns) {
			free(c->hists);
			memset(c, 0, sizeof(*c));	/* a new vCPU at the same address */
			c->key = sc->key;
		}
		if (!c)
			c = vcpu_new(vm, sc->key);
		vcpu_update(c, &sc->v, m, s);
	}

	vm_update_slots_and_heat(m, s);

	for (i = 0; i < m->n_vms; i++) {
		struct vm_metrics *vm = &m->vms[i];
		struct proc_facts pf = { .alive = true };

		/* vCPUs whose entries vanished are gone */
		for (j = 0; j < vm->n_vcpus;) {
			if (!vm->vcpus[j].present) {
				free(vm->vcpus[j].hists);
				vm->vcpus[j] = vm->vcpus[--vm->n_vcpus];
				continue;
			}
			j++;
		}
		if (lookup) {
			struct proc_query q = { .tgid = vm->tgid, .fd = vm->fd, .first_seen_ns = vm->first_seen_ns,
						.want_identity = !vm->identity_known };

			lookup(ctx, &q, &pf);
			if (q.want_identity && pf.have_identity) {
				vm->identity = pf.identity;
				vm->identity_known = true;
			}
			/* a vCPU thread's own name, once per thread (QEMU's debug-threads: "CPU 0/KVM") */
			for (j = 0; pf.alive && j < vm->n_vcpus; j++) {
				struct vcpu_metrics *c = &vm->vcpus[j];
				struct proc_facts tf = { 0 };

				if (!c->tid || c->thread_name_tid == c->tid)
					continue;
				q.want_identity = false;
				q.tid = c->tid;
				lookup(ctx, &q, &tf);
				memcpy(c->thread_name, tf.thread_name, sizeof(c->thread_name));
				c->thread_name_tid = c->tid;
			}
		}
		if (pf.comm[0])	/* a process that is gone keeps the name it had (its last interval, its series) */
			memcpy(vm->comm, pf.comm, sizeof(vm->comm));
		if (!pf.alive || (!vm->present && !vm->n_vcpus) || DT_IS_GRAVE_KEY(vm->key))
			vm->exited = true;

		vm->pushes = vm->full_exits = vm->stalls = 0;
		vm->stall_s = vm->fill_rate = vm->full_exits_s = vm->stall_frac_sum = 0;
		for (j = 0; j < vm->n_vcpus; j++) {
			struct vcpu_metrics *c = &vm->vcpus[j];

			vm->pushes += c->pushes;
			vm->full_exits += c->full_exits;
			vm->stalls += c->stalls;
			vm->stall_s += c->stall_s;
			vm->fill_rate += c->fill_rate;
			vm->full_exits_s += c->full_exits_s;
			vm->stall_frac_sum += c->stall_frac;
			if (c->ring_size) {
				vm->ring_size = c->ring_size;
				vm->soft_limit = c->soft_limit;
				if (vm->tracking == TRACK_UNKNOWN)
					vm->tracking = TRACK_RING;
			}
		}
		/* bitmap mode has no pushes: its fill rate is the dirty pages the syncs found */
		if (vm->tracking == TRACK_BITMAP && !vm->pushes)
			vm->fill_rate = vm->bitmap_dirty_pages_s;
		vm->fill_mib_s = vm->fill_rate * DT_PAGE_SIZE / (1024.0 * 1024.0);
	}
	m->prev_ts_ns = s->ts_ns;
	key_list_append(forget_vms, &gone_vms);
	key_list_append(forget_vcpus, &gone_vcpus);
	key_list_free(&gone_vms);
	key_list_free(&gone_vcpus);
}

const char *sort_key_name(enum sort_key k)
{
	static const char *names[SORT_COUNT] = { "vm", "fill", "used", "exits", "stall", "latency" };

	return k < SORT_COUNT ? names[k] : "?";
}

static enum sort_key g_sort;
static bool g_desc;

static double vcpu_sort_value(const struct vcpu_metrics *c)
{
	switch (g_sort) {
	case SORT_FILL: return c->fill_rate;
	case SORT_USED: return c->peak_pct;
	case SORT_EXITS: return c->full_exits_s;
	case SORT_STALL: return c->stall_frac;
	case SORT_LATENCY: return c->reap_latency_us.valid ? c->reap_latency_us.p99 : 0;
	default: return c->vcpu_id;
	}
}

static double vm_sort_value(const struct vm_metrics *vm)
{
	double best = 0;

	switch (g_sort) {
	case SORT_FILL: return vm->fill_rate;
	case SORT_EXITS: return vm->full_exits_s;
	case SORT_STALL: return vm->stall_frac_sum;
	case SORT_VM: return vm->vm_id;
	default:
		for (size_t i = 0; i < vm->n_vcpus; i++)
			if (vcpu_sort_value(&vm->vcpus[i]) > best)
				best = vcpu_sort_value(&vm->vcpus[i]);
		return best;
	}
}

static int cmp_double(double a, double b)
{
	int r = (a > b) - (a < b);

	return g_desc ? -r : r;
}

static int cmp_vcpu(const void *a, const void *b)
{
	const struct vcpu_metrics *x = a, *y = b;
	int r = cmp_double(vcpu_sort_value(x), vcpu_sort_value(y));

	return r ? r : (x->vcpu_id > y->vcpu_id) - (x->vcpu_id < y->vcpu_id);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct vm_metrics *x = a, *y = b;
	int r = cmp_double(vm_sort_value(x), vm_sort_value(y));

	return r ? r : (x->vm_id > y->vm_id) - (x->vm_id < y->vm_id);
}

void model_sort(struct model *m, enum sort_key k, bool descending)
{
	g_sort = k;
	g_desc = descending && k != SORT_VM;
	for (size_t i = 0; i < m->n_vms; i++)
		dt_sort(m->vms[i].vcpus, m->vms[i].n_vcpus, sizeof(struct vcpu_metrics), cmp_vcpu);
	dt_sort(m->vms, m->n_vms, sizeof(struct vm_metrics), cmp_vm);
}
