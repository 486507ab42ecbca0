/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The dirty ring tracepoints, as tp_btf and raw_tp (hooks.bpf.h), for both
 * objects: include it after the object's on_push_batch(), on_reset() and
 * on_full_exit(), which say what it does with the event (aggregate it, or
 * emit it). The push hook runs once per dirtied page: a load and a test,
 * and the work once per batch (DT_PUSH_BATCH entries).
 */
#ifndef DT_BPF_LIB_RING_HOOKS_H
#define DT_BPF_LIB_RING_HOOKS_H

/* Once per dirtied page: a load, a test, and once per batch the work. */
DT_HOOK(kvm_dirty_ring_push, push, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	__u32 dirty_index;

	if (DT_HOOK_ARG_NULL(ring))
		return 0;
	dirty_index = dt_ring_dirty_index(ring, btf);
	if (dt_ring_starts_batch(dirty_index))
		on_push_batch((__u64)ring, dirty_index, dt_ring_reset_index(ring, btf));
	return 0;
}

DT_HOOK(kvm_dirty_ring_reset, reset, struct kvm_dirty_ring *ring)
{
	if (DT_HOOK_ARG_NULL(ring))
		return 0;
	on_reset((__u64)ring, dt_ring_dirty_index(ring, btf), dt_ring_reset_index(ring, btf));
	return 0;
}

DT_HOOK(kvm_dirty_ring_exit, exit, struct kvm_vcpu *vcpu)
{
	struct kvm_dirty_ring *ring;

	if (DT_HOOK_ARG_NULL(vcpu))
		return 0;
	ring = dt_vcpu_ring(vcpu);
	on_full_exit((__u64)ring, dt_ring_dirty_index(ring, btf), dt_ring_reset_index(ring, btf));
	return 0;
}

#endif
