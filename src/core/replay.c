// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Replay: recorded events -> dt_agg.h -> struct dt_vcpu / dt_vm / dt_memslot -> snapshots.
 * Each event is folded in exactly as bpf/live.bpf.c folds it live:
 *   push       dt_agg_push (+ dt_agg_push_stamp at a bucket's first entry); heat of its region
 *   batch      each of its pushes as a push (rec_batch_push); observers see pushes
 *   reset      dt_agg_reset
 *   full       dt_agg_full_exit (and the vCPU's thread, as remember_thread)
 *   uexit      userspace_exits++
 *   reentry    dt_agg_reentry (the first KVM_RUN after a soft-full exit)
 *   ioctl      KVM_RESET_DIRTY_RINGS: dt_agg_reset_call + entries histogram;
 *              KVM_ENABLE_CAP: ring flags; KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG:
 *              as bitmap_sync / the clear case
 *   memslot    classified and applied as memslot_op
 *   dirtylog   heat of a bitmap region (as popcount_chunk)
 * Only successful ioctls count (the live side skips ret < 0). Ids come from
 * the recording; nothing in a file is trusted to be sane, so the tables are
 * bounded and unknown ids get placeholders.
 */
#include <stdlib.h>
#include <string.h>
#include "core/replay.h"	/* first: dt_agg.h expects bool */
#include "dt_agg.h"
#include "core/idmap.h"
#include "core/util.h"

#ifndef REPLAY_MAX_RINGS
#define REPLAY_MAX_RINGS 65536
#endif
#ifndef REPLAY_MAX_VMS
#define REPLAY_MAX_VMS 4096
#endif
#ifndef REPLAY_MAX_HEAT
#define REPLAY_MAX_HEAT (1u << 20)	/* regions per VM */
#endif
#define REPLAY_MAX_SLOTS 8192
#define EPOCH_ALL 2u			/* the whole-recording aggregates never change epoch */

struct replay {
	uint64_t start_ns, end_ns, window_ns;
	uint64_t win_start, win_end;
	uint64_t windows;		/* emitted */
	uint32_t epoch;
	uint32_t heat_shift;
	replay_window_fn fn;
	void *ctx;
	struct replay_observer obs;

	struct replay_ring **rings;
	size_t n_rings, cap_rings;
	struct idmap ring_ids;		/* recording id -> index + 1 */
	struct replay_vm **vms;
	size_t n_vms, cap_vms;
	struct idmap vm_ids;		/* recording id -> index + 1 */
	bool *vm_in_map;		/* per VM: the live side would have a vms map entry */

	uint64_t count[REC_LAST_EVENT + 1];
	uint64_t dropped;		/* events of ids beyond the table limits */
	struct rec_stats stats;
	struct snapshot snap;
};

struct replay *replay_new(uint64_t start_ns, uint64_t end_ns, uint64_t window_ns, uint32_t heat_shift,
			  replay_window_fn fn, void *ctx)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	if (end_ns < start_ns)
		end_ns = start_ns;
	if (window_ns && (end_ns - start_ns) / window_ns >= REPLAY_MAX_WINDOWS)
		window_ns = (end_ns - start_ns) / (REPLAY_MAX_WINDOWS - 1) + 1;
	r->start_ns = start_ns;
	r->end_ns = end_ns;
	r->window_ns = window_ns;
	r->win_start = start_ns;
	r->win_end = end_ns - start_ns > window_ns ? start_ns + window_ns : end_ns;
	r->epoch = 3;		/* as live: the baseline read used 2 */
	r->heat_shift = heat_shift < 9 ? 9 : heat_shift > 40 ? 40 : heat_shift;
	r->fn = fn;
	r->ctx = ctx;
	return r;
}

void replay_set_observer(struct replay *r, const struct replay_observer *o)
{
	r->obs = *o;
}

uint64_t replay_window_ns(const struct replay *r)
{
	return r->window_ns;
}

static uint32_t epoch_of(const struct replay *r, int side)
{
	return side == REPLAY_ALL ? EPOCH_ALL : r->epoch;
}

static struct replay_vm *vm_find(struct replay *r, uint32_t id)
{
	uint32_t i = idmap_get(&r->vm_ids, id);

	return i ? r->vms[i - 1] : NULL;
}

static struct replay_vm *vm_get(struct replay *r, uint32_t id)
{
	struct replay_vm *vm = vm_find(r, id);

	if (vm)
		return vm;
	if (r->n_vms >= REPLAY_MAX_VMS)
		return NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		abort();
	vm->id = id;
	vm->v[0].fd = vm->v[1].fd = -1;
	if (r->n_vms == r->cap_vms) {
		r->cap_vms = r->cap_vms ? r->cap_vms * 2 : 16;
		r->vms = realloc(r->vms, r->cap_vms * sizeof(*r->vms));
		r->vm_in_map = realloc(r->vm_in_map, r->cap_vms * sizeof(*r->vm_in_map));
		if (!r->vms || !r->vm_in_map)
			abort();
	}
	r->vm_in_map[r->n_vms] = false;
	r->vms[r->n_vms++] = vm;
	idmap_put(&r->vm_ids, id, (uint32_t)r->n_vms);
	return vm;
}

static void vm_mark_in_map(struct replay *r, struct replay_vm *vm)
{
	uint32_t i = idmap_get(&r->vm_ids, vm->id);

	if (i)
		r->vm_in_map[i - 1] = true;
}

static struct replay_ring *ring_get(struct replay *r, uint32_t id)
{
	uint32_t i = idmap_get(&r->ring_ids, id);
	struct replay_ring *ring;

	if (i)
		return r->rings[i - 1];
	if (r->n_rings >= REPLAY_MAX_RINGS)
		return NULL;
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		abort();
	ring->id = id;
	if (r->n_rings == r->cap_rings) {
		r->cap_rings = r->cap_rings ? r->cap_rings * 2 : 16;
		r->rings = realloc(r->rings, r->cap_rings * sizeof(*r->rings));
		if (!r->rings)
			abort();
	}
	r->rings[r->n_rings++] = ring;
	idmap_put(&r->ring_ids, id, (uint32_t)r->n_rings);
	return ring;
}

/* --- memslots and heat of a VM --- */

static struct replay_memslot *slot_find(struct replay_vm *vm, uint32_t slot)
{
	for (size_t i = 0; i < vm->n_slots; i++)
		if (vm->slots[i].slot == slot)
			return &vm->slots[i];
	return NULL;
}

/* as memslot_get: an entry for the slot, created (unknown) when missing */
static struct replay_memslot *slot_get(struct replay_vm *vm, uint32_t slot, uint64_t now)
{
	struct replay_memslot *ms = slot_find(vm, slot);

	if (ms)
		return ms;
	if (vm->n_slots >= REPLAY_MAX_SLOTS)
		return NULL;
	if (vm->n_slots == vm->cap_slots) {
		vm->cap_slots = vm->cap_slots ? vm->cap_slots * 2 : 8;
		vm->slots = realloc(vm->slots, vm->cap_slots * sizeof(*vm->slots));
		if (!vm->slots)
			abort();
	}
	ms = memset(&vm->slots[vm->n_slots++], 0, sizeof(*ms));
	ms->slot = slot;
	ms->v[0].first_seen_ns = ms->v[1].first_seen_ns = now;
	return ms;
}

static void slot_delete(struct replay_vm *vm, uint32_t slot)
{
	struct replay_memslot *ms = slot_find(vm, slot);

	if (ms)
		*ms = vm->slots[--vm->n_slots];
}

static void heat_grow(struct replay_vm *vm);

static void heat_add(struct replay *r, struct replay_vm *vm, uint32_t slot, uint32_t region, uint64_t pages)
{
	size_t i;

	if (!pages)
		return;
	if ((vm->n_heat + 1) * 2 > vm->cap_heat) {
		if (vm->n_heat >= REPLAY_MAX_HEAT) {
			r->dropped++;
			return;
		}
		heat_grow(vm);
	}
	for (i = dt_hash_slot((uint64_t)slot << 32 | region, vm->cap_heat);; i = (i + 1) & (vm->cap_heat - 1)) {
		struct replay_heat *h = &vm->heat[i];

		if (!h->pages) {
			h->slot = slot;
			h->region = region;
			h->pages = pages;
			vm->n_heat++;
			return;
		}
		if (h->slot == slot && h->region == region) {
			h->pages += pages;
			return;
		}
	}
}

static void heat_grow(struct replay_vm *vm)
{
	struct replay_vm n = { .cap_heat = vm->cap_heat ? vm->cap_heat * 2 : 64 };

	n.heat = calloc(n.cap_heat, sizeof(*n.heat));
	if (!n.heat)
		abort();
	for (size_t i = 0; i < vm->cap_heat; i++) {
		struct replay_heat *h = &vm->heat[i];

		if (!h->pages)
			continue;
		for (size_t j = dt_hash_slot((uint64_t)h->slot << 32 | h->region, n.cap_heat);;
		     j = (j + 1) & (n.cap_heat - 1))
			if (!n.heat[j].pages) {
				n.heat[j] = *h;
				break;
			}
	}
	free(vm->heat);
	vm->heat = n.heat;
	vm->cap_heat = n.cap_heat;
}

/* --- snapshots and windows --- */

static void build_snapshot(struct replay *r, struct snapshot *s, int side, uint64_t ts, uint32_t epoch)
{
	snapshot_reset(s);
	s->ts_ns = ts;
	s->epoch = epoch;
	s->heat_shift = r->heat_shift;
	for (size_t i = 0; i < r->n_vms; i++) {
		struct replay_vm *vm = r->vms[i];

		if (r->vm_in_map[i]) {
			struct snap_vm *sm = snapshot_add_vm(s);

			sm->key = REPLAY_KEY(vm->id);
			sm->v = vm->v[side];
		}
		for (size_t j = 0; j < vm->n_slots; j++) {
			struct snap_memslot *sm = snapshot_add_memslot(s);

			sm->key.vm = REPLAY_KEY(vm->id);
			sm->key.slot = vm->slots[j].slot;
			sm->v = vm->slots[j].v[side];
		}
		for (size_t j = 0; j < vm->cap_heat; j++) {
			struct snap_heat *sh;

			if (!vm->heat[j].pages)
				continue;
			sh = snapshot_add_heat(s);
			sh->key.vm = REPLAY_KEY(vm->id);
			sh->key.slot = vm->heat[j].slot;
			sh->key.region = vm->heat[j].region;
			sh->pages = vm->heat[j].pages;
		}
	}
	for (size_t i = 0; i < r->n_rings; i++) {
		struct snap_vcpu *sv = snapshot_add_vcpu(s);

		sv->key = REPLAY_KEY(r->rings[i]->id);
		sv->v = r->rings[i]->v[side];
		sv->v.vm = REPLAY_KEY(r->rings[i]->vm_id);
	}
}

static void emit_window(struct replay *r, uint64_t end)
{
	build_snapshot(r, &r->snap, REPLAY_WIN, end, r->epoch);
	if (r->fn)
		r->fn(r->ctx, r, &r->snap, r->win_start, end);
	r->epoch++;
	r->windows++;
}

/* Close the windows that end at or before ts. */
static void advance(struct replay *r, uint64_t ts)
{
	if (!r->window_ns)
		return;
	while (ts >= r->win_end && r->win_end < r->end_ns) {
		emit_window(r, r->win_end);
		r->win_start = r->win_end;
		/* the last window ends at end_ns (and nothing wraps around) */
		r->win_end = r->end_ns - r->win_end > r->window_ns ? r->win_end + r->window_ns : r->end_ns;
	}
}

void replay_finish(struct replay *r)
{
	if (!r->window_ns || r->win_end == UINT64_MAX)
		return;
	advance(r, r->end_ns);
	if (r->end_ns > r->win_start || !r->windows)
		emit_window(r, r->end_ns);
	r->win_start = r->end_ns;
	r->win_end = UINT64_MAX;
}

/* --- metadata --- */

static void apply_ring_info(struct replay *r, const struct rec_ring_info *g)
{
	struct replay_ring *ring = ring_get(r, g->id);
	bool fresh;

	if (!ring)
		return;
	fresh = !ring->have_info && !ring->v[0].pushes && !ring->v[0].ring_resets;
	for (int k = 0; k < 2; k++) {
		struct dt_vcpu *v = &ring->v[k];

		v->tgid = g->tgid;
		if (g->tid)
			v->tid = g->tid;
		v->vcpu_id = g->vcpu_id;
		v->ring_size = g->ring_size;
		v->soft_limit = g->soft_limit;
		v->flags |= g->flags;
		v->created_ns = g->created_ns;
		v->first_seen_ns = g->first_seen_ns;
		if (fresh) {
			v->dirty_index = g->dirty_index;
			v->reset_index = g->reset_index;
		}
	}
	if (!ring->v[0].pushes)
		ring->rt.shift = dt_ring_ts_shift(g->ring_size);	/* as vcpu_create */
	ring->vm_id = g->vm_id;
	ring->have_info = true;
	vm_get(r, g->vm_id);
}

static void apply_vm_info(struct replay *r, const struct rec_vm_info *m)
{
	struct replay_vm *vm = vm_get(r, m->id);

	if (!vm)
		return;
	for (int k = 0; k < 2; k++) {
		struct dt_vm *v = &vm->v[k];

		v->tgid = m->tgid;
		if (m->fd >= 0)
			v->fd = m->fd;
		if (m->ring_bytes)
			v->ring_bytes = m->ring_bytes;
		v->flags |= m->flags;
		v->first_seen_ns = m->first_seen_ns;
		v->created_ns = m->created_ns;
	}
	if (m->flags & DT_VM_FROM_CREATE)
		vm_mark_in_map(r, vm);
	if (m->comm[0])
		memcpy(vm->comm, m->comm, sizeof(vm->comm));
	vm->have_info = true;
}

/* --- events --- */

static void set_tid(struct replay_ring *ring, uint32_t tid)
{
	ring->v[0].tid = ring->v[1].tid = tid;
}

/* KVM_SET_USER_MEMORY_REGION(2) that succeeded: memslot_op of bpf/live.bpf.c. */
static void memslot_op(struct replay *r, struct replay_vm *vm, const struct rec_event *e)
{
	struct replay_memslot *old = slot_find(vm, e->slot);
	bool from_create = vm->v[0].flags & DT_VM_FROM_CREATE;
	uint32_t op;

	if (!e->size)
		op = old && old->v[0].known ? DT_SLOT_DELETE : from_create ? DT_SLOT_NOOP : DT_SLOT_UNKNOWN;
	else if (!old || !old->v[0].known)
		op = from_create && !old ? DT_SLOT_CREATE : DT_SLOT_UNKNOWN;
	else if (old->v[0].gpa != e->gpa)
		op = DT_SLOT_MOVE;
	else if (old->v[0].flags != e->flags)
		op = DT_SLOT_FLAGS;
	else
		op = DT_SLOT_NOOP;

	for (int k = 0; k < 2; k++) {
		struct dt_vm *v = &vm->v[k];

		if (op == DT_SLOT_FLAGS && old) {
			uint32_t was = old->v[0].flags & DT_MEM_LOG_DIRTY_PAGES, now = e->flags & DT_MEM_LOG_DIRTY_PAGES;

			if (now && !was)
				v->dirty_log_on++;
			else if (was && !now)
				v->dirty_log_off++;
		}
		v->slot_ops[op]++;
		dt_hist_add(&v->slot_op_latency_ns[op], epoch_of(r, k), e->latency_ns);
	}
	if (!e->size) {
		slot_delete(vm, e->slot);
		return;
	}
	old = slot_get(vm, e->slot, e->ts);
	for (int k = 0; old && k < 2; k++) {
		old->v[k].gpa = e->gpa;
		old->v[k].size = e->size;
		old->v[k].flags = e->flags;
		old->v[k].known = 1;
	}
}

static void vm_ioctl(struct replay *r, struct replay_vm *vm, const struct rec_event *e)
{
	struct replay_memslot *ms;

	switch (e->cmd) {
	case DT_KVM_RESET_DIRTY_RINGS:
		for (int k = 0; k < 2; k++) {
			dt_agg_reset_call(&vm->v[k], epoch_of(r, k), (uint64_t)e->ret, e->latency_ns);
			dt_hist_add(&vm->v[k].reset_entries_hist, epoch_of(r, k), (uint64_t)e->ret);
		}
		break;
	case DT_KVM_ENABLE_CAP:
		for (int k = 0; k < 2; k++) {
			vm->v[k].flags |= DT_VM_RING;
			if (e->flags == DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
				vm->v[k].flags |= DT_VM_RING_ACQ_REL;
			vm->v[k].ring_bytes = (uint32_t)e->gpa;
		}
		break;
	case DT_KVM_GET_DIRTY_LOG:
		ms = slot_get(vm, e->slot, e->ts);
		for (int k = 0; k < 2; k++) {
			vm->v[k].flags |= DT_VM_BITMAP;
			vm->v[k].bitmap_syncs++;
			if (!ms)
				continue;
			ms->v[k].get_calls++;
			dt_hist_add(&ms->v[k].get_latency_ns, epoch_of(r, k), e->latency_ns);
			if (!ms->v[k].known || !ms->v[k].size || !(e->flags & 1)) {
				ms->v[k].get_unsized++;
				continue;
			}
			ms->v[k].get_dirty_pages += e->size;
			dt_hist_add(&ms->v[k].sync_dirty_pages, epoch_of(r, k), e->size);
			vm->v[k].bitmap_dirty_pages += e->size;
		}
		break;
	case DT_KVM_CLEAR_DIRTY_LOG:
		ms = slot_get(vm, e->slot, e->ts);
		for (int k = 0; k < 2; k++) {
			vm->v[k].clear_calls++;
			if (!ms)
				continue;
			ms->v[k].clear_calls++;
			ms->v[k].clear_pages += (uint32_t)e->size;
			dt_hist_add(&ms->v[k].clear_latency_ns, epoch_of(r, k), e->latency_ns);
			dt_hist_add(&ms->v[k].clear_chunk_pages, epoch_of(r, k), (uint32_t)e->size);
		}
		break;
	}
}

static void apply_event(struct replay *r, uint8_t kind, const struct rec_event *e)
{
	struct replay_ring *ring = NULL;
	struct replay_vm *vm = NULL;
	uint64_t since, stalls;

	r->count[0]++;
	r->count[kind]++;
	advance(r, e->ts);
	switch (kind) {
	case REC_PUSH:
	case REC_RESET:
	case REC_FULL:
	case REC_UEXIT:
	case REC_TID:
	case REC_REENTRY:
		ring = ring_get(r, e->id);
		if (!ring) {
			r->dropped++;
			return;
		}
		if (!ring->have_info && !ring->vm_id)
			vm_get(r, 0);	/* a ring nobody described: its VM is unknown (0) */
		break;
	case REC_IOCTL:
	case REC_MEMSLOT:
	case REC_DIRTYLOG:
		/* the live side only creates a VM entry for an ioctl that succeeded */
		vm = e->ret >= 0 ? vm_get(r, e->id) : vm_find(r, e->id);
		if (!vm && e->ret >= 0)
			r->dropped++;
		break;
	default:
		return;
	}

	switch (kind) {
	case REC_PUSH: {
		struct replay_vm *pvm = vm_find(r, ring->vm_id);

		if (dt_agg_push(&ring->v[0], &ring->rt, r->epoch, e->dirty_index, e->reset_index) |
		    dt_agg_push(&ring->v[1], &ring->rt, EPOCH_ALL, e->dirty_index, e->reset_index))
			dt_agg_push_stamp(&ring->rt, e->dirty_index, e->ts);
		if (pvm)
			heat_add(r, pvm, e->slot, (uint32_t)(e->offset >> r->heat_shift), 1);
		break;
	}
	case REC_RESET:
		since = ring->v[1].full_since_ns;
		stalls = ring->v[1].stalls;
		for (int k = 0; k < 2; k++)
			dt_agg_reset(&ring->v[k], &ring->rt, epoch_of(r, k), e->dirty_index, e->reset_index, e->ts);
		if (ring->v[1].stalls != stalls && r->obs.stall)
			r->obs.stall(r->obs.ctx, r, ring, since, e->ts);
		break;
	case REC_FULL:
		set_tid(ring, e->tid);
		for (int k = 0; k < 2; k++)
			dt_agg_full_exit(&ring->v[k], e->ts);
		break;
	case REC_UEXIT:
		/* the live side: v->userspace_exits++ for the ring's own thread */
		ring->v[0].userspace_exits++;
		ring->v[1].userspace_exits++;
		break;
	case REC_TID:
		set_tid(ring, e->tid);
		break;
	case REC_REENTRY:
		for (int k = 0; k < 2; k++)
			dt_agg_reentry(&ring->v[k], epoch_of(r, k), e->ts);
		break;
	case REC_IOCTL:
		if (!vm || e->ret < 0)
			break;
		if (e->cmd != DT_KVM_CREATE_VCPU)
			vm_mark_in_map(r, vm);
		vm_ioctl(r, vm, e);
		break;
	case REC_MEMSLOT:
		if (!vm || e->ret < 0)
			break;
		vm_mark_in_map(r, vm);
		memslot_op(r, vm, e);
		break;
	case REC_DIRTYLOG:
		if (vm)
			heat_add(r, vm, e->slot, (uint32_t)(e->offset >> (r->heat_shift - 9)), e->size);
		break;
	}
	if (r->obs.event)
		r->obs.event(r->obs.ctx, r, e, kind, ring, vm);
}

void replay_apply(struct replay *r, const struct rec_record *rec)
{
	if (rec->kind == REC_BATCH) {
		struct rec_event e;

		r->count[REC_BATCH]++;
		for (uint32_t i = 0; i < rec->batch.n; i++) {
			rec_batch_push(&rec->batch, i, &e);
			apply_event(r, REC_PUSH, &e);
		}
		return;
	}
	if (rec_is_event(rec->kind)) {
		apply_event(r, rec->kind, &rec->ev);
		return;
	}
	switch (rec->kind) {
	case REC_RING_INFO:
		apply_ring_info(r, &rec->ring);
		break;
	case REC_VM_INFO:
		apply_vm_info(r, &rec->vm);
		break;
	case REC_VM_IDENTITY: {
		struct replay_vm *vm = vm_get(r, rec->ident.id);

		if (vm) {
			vm->identity = rec->ident.ident;
			vm->have_identity = true;
		}
		break;
	}
	case REC_THREAD_NAME: {
		struct replay_ring *ring = ring_get(r, rec->thread.id);

		if (ring) {
			ring->name_tid = rec->thread.tid;
			memcpy(ring->thread_name, rec->thread.name, sizeof(ring->thread_name));
		}
		break;
	}
	case REC_STATS:
		for (int i = 0; i < REC_EVENT_KINDS; i++) {
			/* cumulative: keep the largest seen */
			if (rec->stats.lost[i] > r->stats.lost[i])
				r->stats.lost[i] = rec->stats.lost[i];
			if (rec->stats.untracked[i] > r->stats.untracked[i])
				r->stats.untracked[i] = rec->stats.untracked[i];
			if (rec->stats.missed[i] > r->stats.missed[i])
				r->stats.missed[i] = rec->stats.missed[i];
		}
		if (rec->stats.ts > r->stats.ts)
			r->stats.ts = rec->stats.ts;
		break;
	default:
		break;
	}
}

void replay_summary(struct replay *r, struct snapshot *s)
{
	build_snapshot(r, s, REPLAY_ALL, r->end_ns, EPOCH_ALL);
}

void replay_baseline(struct replay *r, struct snapshot *s)
{
	snapshot_reset(s);
	s->ts_ns = r->start_ns;
	s->epoch = 1;
	s->heat_shift = r->heat_shift;
}

uint64_t replay_events(const struct replay *r, uint8_t kind)
{
	return kind <= REC_LAST_EVENT ? r->count[kind] : 0;
}

const struct rec_stats *replay_stats(const struct replay *r)
{
	return &r->stats;
}

uint64_t replay_dropped(const struct replay *r)
{
	return r->dropped;
}

size_t replay_n_rings(const struct replay *r)
{
	return r->n_rings;
}

struct replay_ring *replay_ring_at(struct replay *r, size_t i)
{
	return i < r->n_rings ? r->rings[i] : NULL;
}

struct replay_ring *replay_ring_find(struct replay *r, uint32_t id)
{
	uint32_t i = idmap_get(&r->ring_ids, id);

	return i ? r->rings[i - 1] : NULL;
}

size_t replay_n_vms(const struct replay *r)
{
	return r->n_vms;
}

struct replay_vm *replay_vm_at(struct replay *r, size_t i)
{
	return i < r->n_vms ? r->vms[i] : NULL;
}

struct replay_vm *replay_vm_find(struct replay *r, uint32_t id)
{
	return vm_find(r, id);
}

uint64_t replay_start_ns(const struct replay *r)
{
	return r->start_ns;
}

uint64_t replay_end_ns(const struct replay *r)
{
	return r->end_ns;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_rings; i++)
		free(r->rings[i]);
	for (size_t i = 0; i < r->n_vms; i++) {
		free(r->vms[i]->slots);
		free(r->vms[i]->heat);
		free(r->vms[i]);
	}
	free(r->rings);
	free(r->vms);
	free(r->vm_in_map);
	idmap_free(&r->ring_ids);
	idmap_free(&r->vm_ids);
	snapshot_free(&r->snap);
	free(r);
}

void replay_proc_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out)
{
	struct replay *r = ctx;
	struct replay_vm *best = NULL;

	memset(out, 0, sizeof(*out));
	out->alive = true;	/* the recording does not know when a VMM exited */
	if (q->tid) {
		for (size_t i = 0; r && i < r->n_rings; i++) {
			struct replay_ring *ring = r->rings[i];

			if (ring->name_tid == q->tid && ring->v[1].tgid == q->tgid)
				memcpy(out->thread_name, ring->thread_name, sizeof(out->thread_name));
		}
		return;
	}
	for (size_t i = 0; r && i < r->n_vms; i++) {
		struct replay_vm *vm = r->vms[i];

		if (vm->v[1].tgid != q->tgid || !vm->comm[0])
			continue;
		if (!best || (vm->v[1].fd == q->fd && vm->v[1].first_seen_ns == q->first_seen_ns))
			best = vm;
	}
	if (!best)
		return;
	memcpy(out->comm, best->comm, sizeof(out->comm));
	if (best->have_identity) {
		out->have_identity = true;
		out->identity = best->identity;
	}
}
