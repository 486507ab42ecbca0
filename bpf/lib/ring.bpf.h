/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading a vCPU's dirty ring (struct kvm_dirty_ring, embedded in struct
 * kvm_vcpu). Both objects key their rings by its address.
 */
#ifndef DT_RING_BPF_H
#define DT_RING_BPF_H

#include <bpf/bpf_core_read.h>

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
	f->vcpu_id = BPF_CORE_READ(ring, index);
	f->size = BPF_CORE_READ(ring, size);
	f->soft_limit = BPF_CORE_READ(ring, soft_limit);
	f->gfns = (__u64)BPF_CORE_READ(ring, dirty_gfns);
	f->dirty_index = BPF_CORE_READ(ring, dirty_index);
	f->reset_index = BPF_CORE_READ(ring, reset_index);
}

#endif /* DT_RING_BPF_H */
