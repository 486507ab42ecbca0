/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading a vCPU's dirty ring (struct kvm_dirty_ring, embedded in struct
 * kvm_vcpu). Both objects key their rings by its address.
 */
#ifndef DT_RING_BPF_H
#define DT_RING_BPF_H

#include <bpf/bpf_core_read.h>
#include "dt_batch.h"
#include "kvm_layouts.bpf.h"
#include "loop.bpf.h"

/*
 * The indices, read in a hook (hooks.bpf.h): btf is a constant there, so
 * tp_btf gets a direct load and raw_tp a probe read.
 */
static __always_inline __u32 dt_ring_dirty_index(struct kvm_dirty_ring *ring, bool btf)
{
	return btf ? ring->dirty_index : BPF_CORE_READ(ring, dirty_index);
}

static __always_inline __u32 dt_ring_reset_index(struct kvm_dirty_ring *ring, bool btf)
{
	return btf ? ring->reset_index : BPF_CORE_READ(ring, reset_index);
}

/* A vCPU's ring: an address computed, no load (valid in both hook flavours). */
static __always_inline struct kvm_dirty_ring *dt_vcpu_ring(struct kvm_vcpu *vcpu)
{
	return &vcpu->dirty_ring;
}

/* The ring of the struct kvm_vcpu at vcpu (an fd's private_data), as a key. */
static __always_inline __u64 dt_vcpu_ring_addr(__u64 vcpu)
{
	return vcpu + bpf_core_field_offset(struct kvm_vcpu, dirty_ring);
}

/* What a ring seen for the first time is described by. */
struct dt_ring_fields {
	__u64 kvm;		/* its VM: struct kvm *, an opaque key */
	__u64 gfns;		/* its entries: struct kvm_dirty_gfn * */
	__s32 vcpu_id;
	__u32 size;		/* entries */
	__u32 soft_limit;	/* entries */
	__u32 dirty_index;
	__u32 reset_index;
};

/* Slow path (once per ring), so BPF_CORE_READ throughout. */
static __always_inline void dt_ring_read_fields(__u64 ring_addr, struct dt_ring_fields *f)
{
	struct kvm_dirty_ring *ring = (void *)ring_addr;
	struct kvm_vcpu *vcpu = (void *)(ring_addr - bpf_core_field_offset(struct kvm_vcpu, dirty_ring));

	f->kvm = (__u64)BPF_CORE_READ(vcpu, kvm);
	/* the vCPU's, not ring->index: KVM sets that only when the ring is enabled */
	f->vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	f->size = BPF_CORE_READ(ring, size);
	f->soft_limit = BPF_CORE_READ(ring, soft_limit);
	f->gfns = (__u64)BPF_CORE_READ(ring, dirty_gfns);
	f->dirty_index = BPF_CORE_READ(ring, dirty_index);
	f->reset_index = BPF_CORE_READ(ring, reset_index);
}

/*
 * Reading pushes back from the ring, a batch at a time (dt_batch.h). The
 * ring itself holds what the push handler would see: dirty_index counts the
 * pushes, and the entries (slot, offset) stay in place until the ring wraps,
 * which takes a full ring of pushes after they are reset; KVM's reset only
 * clears their flags. So the push handler does a load and a test, and at a
 * batch boundary a thread reads the entries pushed since its object's cursor.
 */

/* The entry just pushed (dirty_index - 1) starts a batch. */
static __always_inline bool dt_ring_starts_batch(__u32 dirty_index)
{
	return !((dirty_index - 1) & (DT_PUSH_BATCH - 1));
}

/*
 * Pushes since the cursor (0: none, or the cursor is ahead: a batch start
 * just counted from). trusted: the indices come from a ring the kernel
 * handed to the hook; else (kvm_userspace_exit, which names no vCPU: the
 * ring is the thread's last one) they are checked for sense first, since a
 * VMM could have moved the thread to another vCPU. *from: the first of them
 * still in the ring (entries older than a ring back are overwritten).
 */
static __always_inline __u32 dt_ring_unread(__u32 cursor, __u32 dirty_index, __u32 reset_index, __u32 size,
					    bool trusted, __u32 *from)
{
	__u32 n = dirty_index - cursor;

	if ((__s32)n <= 0)
		return 0;
	if (!trusted && (n > size || dirty_index - reset_index > size))
		return 0;
	*from = n <= size ? cursor : dirty_index - size;
	return n;
}

/* A ring of 2^k >= DT_PUSH_BATCH entries: an aligned chunk never wraps it. */
static __always_inline bool dt_ring_chunks_ok(__u64 gfns, __u32 size)
{
	return gfns && size >= DT_PUSH_BATCH && !(size & (size - 1));
}

/* Aligned chunks of DT_PUSH_BATCH entries that ring indices [from, to) touch. */
static __always_inline __u32 dt_ring_chunks(__u32 from, __u32 to)
{
	return (to - (from & ~(DT_PUSH_BATCH - 1)) + DT_PUSH_BATCH - 1) / DT_PUSH_BATCH;
}

/* Chunk c of a walk over [from, to): ring index base, and its entries lo .. hi-1 in the walk. */
struct dt_ring_span {
	__u32 base, lo, hi;
};

static __always_inline struct dt_ring_span dt_ring_chunk(__u32 from, __u32 to, __u32 c)
{
	struct dt_ring_span s;

	s.base = (from & ~(DT_PUSH_BATCH - 1)) + c * DT_PUSH_BATCH;
	s.lo = c ? 0 : from & (DT_PUSH_BATCH - 1);
	s.hi = to - s.base < DT_PUSH_BATCH ? to - s.base : DT_PUSH_BATCH;
	return s;
}

/*
 * body(c, ctx) for the chunks c of [from, to) until it returns non-zero (cb: its DT_LOOP_CALLBACK);
 * without bpf_loop at most max chunks (the rest wait for the next sync).
 */
#define dt_ring_walk(from, to, max, cb, body, ctx) dt_loop(dt_ring_chunks(from, to), max, cb, body, ctx)

/* The DT_PUSH_BATCH entries of the chunk at ring index base (aligned) into dst: one read. */
static __always_inline long dt_ring_read_chunk(void *dst, __u64 gfns, __u32 size, __u32 base)
{
	__u64 addr = gfns + (__u64)(base & (size - 1)) * sizeof(struct dt_gfn);

	return bpf_probe_read_kernel(dst, DT_PUSH_BATCH * sizeof(struct dt_gfn), (void *)addr);
}

#endif /* DT_RING_BPF_H */
