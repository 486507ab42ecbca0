/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How events fold into the per-vCPU and per-VM aggregates. The BPF side calls
 * these after its map lookups; `dirtytop report` calls them when it replays a
 * recording, so a recording and the live view count the same way.
 * Plain C on structs: no maps, no helpers.
 */
#ifndef DT_AGG_H
#define DT_AGG_H

#include "dt_live.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline void dt_epoch_max_update(struct dt_epoch_max *m, __u32 epoch, __u64 v)
{
	__u32 slot = epoch & 1;

	if (m->epoch[slot] != epoch) {
		m->epoch[slot] = epoch;
		m->value[slot] = v;
	} else if (v > m->value[slot]) {
		m->value[slot] = v;
	}
}

static __always_inline void dt_hist_add(struct dt_hist *h, __u32 epoch, __u64 v)
{
	__u32 b = dt_hist_bucket(v);

#ifdef __bpf__
	/* clang knows b < DT_HIST_BUCKETS and drops checks; the verifier does not */
	asm volatile("" : "+r"(b));
#endif
	h->count[b & (DT_HIST_BUCKETS - 1)]++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	dt_epoch_max_update(&h->interval_max, epoch, v);
}

/*
 * log2(entries per remembered bucket) for a ring of size entries:
 * DT_RING_TS_BUCKETS == 2^8 buckets cover the ring, a bucket holds at least
 * a push batch (the live handler reads the clock only at a batch's start).
 */
static __always_inline __u32 dt_ring_ts_shift(__u32 size)
{
	__u32 shift = dt_log2(size ? size : 1);

	return shift > 8 + DT_PUSH_BATCH_SHIFT ? shift - 8 : DT_PUSH_BATCH_SHIFT;
}

/* n pushes counted, the last one leaving the ring at dirty_index. */
static __always_inline void dt_agg_pushes(struct dt_vcpu *v, __u32 epoch, __u32 n,
					  __u32 dirty_index, __u32 reset_index)
{
	v->pushes += n;
	v->dirty_index = dirty_index;
	dt_epoch_max_update(&v->peak_used, epoch, dirty_index - reset_index);
}

/*
 * One push (replaying a recording). Returns true when the entry just pushed
 * starts a bucket: then the caller stamps it with dt_agg_push_stamp.
 */
static __always_inline bool dt_agg_push(struct dt_vcpu *v, const struct dt_ring_ts *rt, __u32 epoch,
					__u32 dirty_index, __u32 reset_index)
{
	dt_agg_pushes(v, epoch, 1, dirty_index, reset_index);
	return rt && !((dirty_index - 1) & ((1u << (rt->shift & 31)) - 1));
}

/* Whether the entry just pushed (dirty_index - 1) starts a remembered bucket. */
static __always_inline bool dt_ring_ts_starts_bucket(__u32 shift, __u32 dirty_index)
{
	return !((dirty_index - 1) & ((1u << (shift & 31)) - 1));
}

static __always_inline void dt_agg_push_stamp(struct dt_ring_ts *rt, __u32 dirty_index, __u64 now)
{
	__u32 entry = dirty_index - 1;
	__u32 b = (entry >> (rt->shift & 31)) & (DT_RING_TS_BUCKETS - 1);

	rt->entry[b] = entry;
	rt->ts[b] = now;
}

/* A ring reset (kvm_dirty_ring_reset fires at its end, once per ring per call). */
static __always_inline void dt_agg_reset(struct dt_vcpu *v, const struct dt_ring_ts *rt, __u32 epoch,
					 __u32 dirty_index, __u32 reset_index, __u64 now)
{
	__u32 reclaimed = reset_index - v->reset_index, first, b;
	__u64 since;

	/* occupancy just before this reset: the ring's peak since the one before */
	dt_epoch_max_update(&v->peak_at_reset, epoch, dirty_index - v->reset_index);
	v->reset_dirty_index = dirty_index;
	v->ring_resets++;
	if (v->last_reset_ns)
		dt_hist_add(&v->reap_interval_us, epoch, (now - v->last_reset_ns) / 1000);
	v->last_reset_ns = now;

	if (reclaimed) {
		v->entries_reset += reclaimed;
		dt_hist_add(&v->reclaimed, epoch, reclaimed);
		/* age of the oldest reclaimed entry, from its bucket's first push */
		if (rt) {
			first = v->reset_index & ~((1u << (rt->shift & 31)) - 1);
			b = (first >> (rt->shift & 31)) & (DT_RING_TS_BUCKETS - 1);
			if (rt->entry[b] == first && rt->ts[b] && rt->ts[b] <= now)
				dt_hist_add(&v->reap_latency_us, epoch, (now - rt->ts[b]) / 1000);
		}
	}
	v->reset_index = reset_index;

	/* a full stall ends with the reset that brings the ring under its soft limit */
	since = v->full_since_ns;
	if (since && dirty_index - reset_index < v->soft_limit &&
	    __sync_val_compare_and_swap(&v->full_since_ns, since, 0) == since) {
		v->stalls++;
		v->stall_ns += now - since;
		v->stall_end_ns = now;
		dt_hist_add(&v->stall_us, epoch, (now - since) / 1000);
	}
}

/* KVM_RUN returned KVM_EXIT_DIRTY_RING_FULL. */
static __always_inline void dt_agg_full_exit(struct dt_vcpu *v, __u64 now)
{
	v->full_exits++;
	v->last_full_exit_ns = now;
	if (!v->full_since_ns)
		__sync_val_compare_and_swap(&v->full_since_ns, 0, now);
}

/*
 * The vCPU thread called KVM_RUN again after a soft-full exit. If the ring
 * is back under its soft limit, the time since the reset that freed it (the
 * one that ended the stall; later resets do not restart the count) is time
 * the VMM held it out.
 */
static __always_inline void dt_agg_reentry(struct dt_vcpu *v, __u32 epoch, __u64 now)
{
	__u64 from;

	v->reentries++;
	if (v->full_since_ns) {
		v->reentries_full++;	/* still full: KVM will exit again at once */
		return;
	}
	from = v->stall_end_ns > v->last_full_exit_ns ? v->stall_end_ns : v->last_full_exit_ns;
	if (now > from) {
		v->held_ns += now - from;
		dt_hist_add(&v->held_us, epoch, (now - from) / 1000);
	}
}

/* A KVM_RESET_DIRTY_RINGS call that returned entries (>= 0) after latency_ns. */
static __always_inline void dt_agg_reset_call(struct dt_vm *vm, __u32 epoch, __u64 entries, __u64 latency_ns)
{
	vm->flags |= DT_VM_RING;
	vm->reset_calls++;
	vm->reset_entries += entries;
	dt_hist_add(&vm->reset_latency_ns, epoch, latency_ns);
}

#endif /* DT_AGG_H */
