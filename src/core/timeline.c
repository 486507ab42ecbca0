// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>
#include "dt_kvm.h"	/* KVM ioctl numbers */
#include "core/timeline.h"
#include "core/util.h"

/* Grow a table indexed by id to hold id; new entries zeroed. */
static void *grow_table(void *arr, size_t *n, size_t size, uint32_t id, size_t first)
{
	size_t cap = *n ? *n : first;

	while (cap <= id)
		cap *= 2;
	arr = realloc(arr, cap * size);
	if (!arr)
		abort();
	memset((char *)arr + *n * size, 0, (cap - *n) * size);
	*n = cap;
	return arr;
}

static struct timeline_ring *ring_at(struct timeline *t, uint32_t id)
{
	if (!id || id >= TIMELINE_MAX_ID) {
		t->dropped++;
		return NULL;
	}
	if (id >= t->n_rings)
		t->rings = grow_table(t->rings, &t->n_rings, sizeof(*t->rings), id, 64);
	t->rings[id].used = true;
	t->rings[id].id = id;
	return &t->rings[id];
}

static struct timeline_vm *vm_at(struct timeline *t, uint32_t id)
{
	if (!id || id >= TIMELINE_MAX_ID) {
		t->dropped++;
		return NULL;
	}
	if (id >= t->n_vms)
		t->vms = grow_table(t->vms, &t->n_vms, sizeof(*t->vms), id, 16);
	t->vms[id].used = true;
	t->vms[id].id = id;
	return &t->vms[id];
}

void timeline_add(struct timeline *t, const struct rec_record *rec)
{
	const struct rec_event *e = &rec->ev;
	struct timeline_ring *r;
	struct timeline_vm *vm;

	switch (rec->kind) {
	case REC_RING_INFO:
		if (!(r = ring_at(t, rec->ring.id)))
			return;
		r->vm_id = rec->ring.vm_id;
		r->vcpu_id = rec->ring.vcpu_id;
		if (rec->ring.tid)
			r->tid = rec->ring.tid;
		r->ring_size = rec->ring.ring_size;
		r->soft_limit = rec->ring.soft_limit;
		if ((vm = vm_at(t, rec->ring.vm_id)))
			vm->tgid = rec->ring.tgid;
		return;
	case REC_VM_INFO:
		if ((vm = vm_at(t, rec->vm.id)))
			vm->tgid = rec->vm.tgid;
		return;
	case REC_PUSH:
		if (!(r = ring_at(t, e->id)))
			return;
		DT_GROW(r->pushes, r->n_pushes, r->cap_pushes);
		r->pushes[r->n_pushes++] = (struct ringsim_push){ e->ts, e->dirty_index };
		return;
	case REC_BATCH:
		if (!(r = ring_at(t, e->id)))
			return;
		for (uint32_t i = 0; i < rec->batch.n; i++) {
			struct rec_event p;

			rec_batch_push(&rec->batch, i, &p);
			DT_GROW(r->pushes, r->n_pushes, r->cap_pushes);
			r->pushes[r->n_pushes++] = (struct ringsim_push){ p.ts, p.dirty_index };
		}
		return;
	case REC_RESET:
		if (!(r = ring_at(t, e->id)))
			return;
		DT_GROW(r->resets, r->n_resets, r->cap_resets);
		r->resets[r->n_resets++] = (struct ringsim_ring_reset){ e->ts, e->dirty_index, e->reset_index, -1 };
		return;
	case REC_FULL:
		if (!(r = ring_at(t, e->id)))
			return;
		if (e->tid)
			r->tid = e->tid;
		DT_GROW(r->full_exits, r->n_full_exits, r->cap_full_exits);
		r->full_exits[r->n_full_exits++] = e->ts;
		return;
	case REC_TID:
		if ((r = ring_at(t, e->id)) && e->tid)
			r->tid = e->tid;
		return;
	case REC_REENTRY:
		if (!(r = ring_at(t, e->id)))
			return;
		DT_GROW(r->reentries, r->n_reentries, r->cap_reentries);
		r->reentries[r->n_reentries++] = (struct ringsim_reentry){ e->ts };
		return;
	case REC_IOCTL:
		if (e->cmd != DT_KVM_RESET_DIRTY_RINGS || e->ret < 0 || !(vm = vm_at(t, e->id)))
			return;
		DT_GROW(vm->resets, vm->n_resets, vm->cap_resets);
		vm->resets[vm->n_resets++] = (struct ringsim_call){
			e->ts > e->latency_ns ? e->ts - e->latency_ns : 0, e->ts, e->tid };
		return;
	default:
		return;
	}
}

static int cmp_push(const void *a, const void *b)
{
	const struct ringsim_push *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int cmp_reset(const void *a, const void *b)
{
	const struct ringsim_ring_reset *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int cmp_call(const void *a, const void *b)
{
	const struct ringsim_call *x = a, *y = b;

	return (x->end_ns > y->end_ns) - (x->end_ns < y->end_ns);
}

/* Each ring reset happens inside the KVM_RESET_DIRTY_RINGS call that ended first after it. */
static void link_calls(struct timeline_ring *r, const struct timeline_vm *vm)
{
	for (size_t i = 0; i < r->n_resets; i++) {
		uint64_t ts = r->resets[i].ts;
		size_t lo = 0, hi = vm->n_resets;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (vm->resets[mid].end_ns < ts)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < vm->n_resets && vm->resets[lo].start_ns <= ts)
			r->resets[i].call = (int32_t)lo;
	}
}

void timeline_finish(struct timeline *t)
{
	static const struct timeline_vm no_calls;

	for (size_t i = 0; i < t->n_vms; i++)
		if (t->vms[i].used)
			qsort(t->vms[i].resets, t->vms[i].n_resets, sizeof(*t->vms[i].resets), cmp_call);
	for (size_t i = 0; i < t->n_rings; i++) {
		struct timeline_ring *r = &t->rings[i];

		if (!r->used)
			continue;
		qsort(r->pushes, r->n_pushes, sizeof(*r->pushes), cmp_push);
		qsort(r->resets, r->n_resets, sizeof(*r->resets), cmp_reset);
		qsort(r->full_exits, r->n_full_exits, sizeof(*r->full_exits), dt_cmp_u64);
		qsort(r->reentries, r->n_reentries, sizeof(*r->reentries), dt_cmp_u64);
		link_calls(r, r->vm_id < t->n_vms ? &t->vms[r->vm_id] : &no_calls);
	}
}

void timeline_free(struct timeline *t)
{
	for (size_t i = 0; i < t->n_rings; i++) {
		free(t->rings[i].pushes);
		free(t->rings[i].resets);
		free(t->rings[i].full_exits);
		free(t->rings[i].reentries);
	}
	for (size_t i = 0; i < t->n_vms; i++)
		free(t->vms[i].resets);
	free(t->rings);
	free(t->vms);
	memset(t, 0, sizeof(*t));
}

static int cmp_ring_vcpu(const void *a, const void *b)
{
	const struct timeline_ring *x = *(const struct timeline_ring *const *)a;
	const struct timeline_ring *y = *(const struct timeline_ring *const *)b;

	return (x->vcpu_id > y->vcpu_id) - (x->vcpu_id < y->vcpu_id);
}

struct timeline_ring **timeline_vm_rings(const struct timeline *t, uint32_t vm_id, size_t *n)
{
	struct timeline_ring **rings = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < t->n_rings; i++)
		if (t->rings[i].used && t->rings[i].vm_id == vm_id) {
			DT_GROW(rings, *n, cap);
			rings[(*n)++] = &t->rings[i];
		}
	qsort(rings, *n, sizeof(*rings), cmp_ring_vcpu);
	return rings;
}
