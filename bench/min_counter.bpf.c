// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Baselines for the per-event cost of dirtytop's push handler (bench/run):
 * handlers on kvm:kvm_dirty_ring_push that do nothing but increment one
 * counter (per CPU), on each hook type dirtytop or bpftrace can use; the same
 * with one global counter incremented atomically; and an empty one (the
 * floor: dispatch plus the bpf_stats accounting itself).
 * Three show what per-vCPU aggregation costs at least: one or two hash
 * lookups keyed by the ring (dirtytop live does two: vcpus and ring_ts), or
 * task-local storage of the vCPU thread.
 * Two more isolate what a recording pays per event: reserve and submit one
 * 32-byte record in a BPF ring buffer, with the default wakeup of the
 * consumer (as bpf/record.bpf.c does) and with BPF_RB_NO_WAKEUP (the
 * consumer then polls on a timer).
 * The loader (min_counter.c) loads and attaches only the one it is asked for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 counter = 0;

/* one counter per CPU: nothing shared between CPUs, the cheapest way to count */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pcpu SEC(".maps");

static __always_inline void count_one(void)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&pcpu, &zero);	/* inlined by the verifier */

	if (c)
		(*c)++;
}

struct per_ring {
	__u64 pushes;
	__u32 dirty_index;
	__u32 reset_index;
};

/* like dirtytop's vcpus and ring_ts maps: keyed by struct kvm_dirty_ring *, no prealloc */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct per_ring);
} ring_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct per_ring);
} ring_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct per_ring);
} task_ring SEC(".maps");

static __always_inline struct per_ring *ring_get(void *map, __u64 ring)
{
	struct per_ring *r = bpf_map_lookup_elem(map, &ring), zero = {};

	if (r)
		return r;
	bpf_map_update_elem(map, &ring, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, &ring);
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);		/* like dirtytop record's default */
} rb SEC(".maps");

struct rb_event {				/* the size of dirtytop record's push event */
	__u64 ts;
	__u64 ring;
	__u32 slot;
	__u32 pad;
	__u64 offset;
};

/* the minimal handler: increment one (per-CPU) counter */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(min_btf, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	count_one();
	return 0;
}

SEC("raw_tp/kvm_dirty_ring_push")
int BPF_PROG(min_raw, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	count_one();
	return 0;
}

/* classic tracepoint, the hook bpftrace's tracepoint:kvm:... uses */
SEC("tp/kvm/kvm_dirty_ring_push")
int min_tp(void *ctx)
{
	count_one();
	return 0;
}

/* one atomic increment of one global counter: its cache line moves between CPUs */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(glob_btf, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	__sync_fetch_and_add(&counter, 1);
	return 0;
}

/* nothing at all: what bpf_stats reports for an empty program on this hook */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(empty_btf, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	return 0;
}

/* one hash lookup per event: the least a per-vCPU aggregate in a hash map costs */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(hash1, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	struct per_ring *r = ring_get(&ring_a, (__u64)ring);

	if (r) {
		r->pushes++;
		r->dirty_index = ring->dirty_index;
	}
	return 0;
}

/* two, as dirtytop live's push handler does (vcpus, then ring_ts) */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(hash2, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	struct per_ring *r = ring_get(&ring_a, (__u64)ring), *t = ring_get(&ring_b, (__u64)ring);

	if (r) {
		r->pushes++;
		r->dirty_index = ring->dirty_index;
	}
	if (t)
		t->reset_index = ring->reset_index;
	return 0;
}

/* the same aggregate in the vCPU thread's task-local storage: no hashing */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(task1, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	struct per_ring *r = bpf_task_storage_get(&task_ring, bpf_get_current_task_btf(), 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (r) {
		r->pushes++;
		r->dirty_index = ring->dirty_index;
	}
	return 0;
}

static __always_inline void rb_push(struct kvm_dirty_ring *ring, u32 slot, u64 offset, __u64 flags)
{
	struct rb_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&counter, 1);	/* lost */
		return;
	}
	e->ts = bpf_ktime_get_ns();
	e->ring = (__u64)ring;
	e->slot = slot;
	e->pad = 0;
	e->offset = offset;
	bpf_ringbuf_submit(e, flags);
}

/* one ring buffer record per event, the consumer woken as libbpf's default does */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(rb_wakeup, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	rb_push(ring, slot, offset, 0);
	return 0;
}

/* the same, never waking the consumer (it polls every 10 ms) */
SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(rb_nowakeup, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	rb_push(ring, slot, offset, BPF_RB_NO_WAKEUP);
	return 0;
}
