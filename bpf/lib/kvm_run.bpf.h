/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * vCPU threads: which ring a thread runs (for kvm_userspace_exit, which
 * names no vCPU), and its first KVM_RUN after a soft-full exit (the
 * re-entry: how long the VMM kept the vCPU out). The object defines
 * DT_MAX_VCPU_THREADS before including this.
 */
#ifndef DT_KVM_RUN_BPF_H
#define DT_KVM_RUN_BPF_H

#include <bpf/bpf_helpers.h>

#ifndef DT_MAX_VCPU_THREADS
#error "define DT_MAX_VCPU_THREADS before including kvm_run.bpf.h"
#endif

/* vCPU thread -> its ring */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_VCPU_THREADS);
	__type(key, __u32);		/* tid */
	__type(value, __u64);		/* ring */
} threads SEC(".maps");

/* vCPU threads that took a soft-full exit and have not called KVM_RUN since. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_VCPU_THREADS);
	__type(key, __u32);		/* tid */
	__type(value, __u64);		/* ring */
} reentry_pending SEC(".maps");

static __always_inline void dt_thread_set_ring(__u32 tid, __u64 ring)
{
	bpf_map_update_elem(&threads, &tid, &ring, BPF_ANY);
}

/* The ring thread tid last ran (a map value: usable as a key), or NULL. */
static __always_inline __u64 *dt_thread_ring(__u32 tid)
{
	return bpf_map_lookup_elem(&threads, &tid);
}

/* At a soft-full exit: the thread's next KVM_RUN is a re-entry. */
static __always_inline void dt_reentry_arm(__u32 tid, __u64 ring)
{
	bpf_map_update_elem(&reentry_pending, &tid, &ring, BPF_ANY);
}

/*
 * At KVM_RUN: the ring the thread left on a soft-full exit (disarmed now),
 * or 0. KVM_RUN is called at every return to userspace: one lookup, a hit
 * only after a soft-full exit.
 */
static __always_inline __u64 dt_reentry_take(__u32 tid)
{
	__u64 *ring = bpf_map_lookup_elem(&reentry_pending, &tid), r;

	if (!ring)
		return 0;
	r = *ring;
	bpf_map_delete_elem(&reentry_pending, &tid);
	return r;
}

#endif /* DT_KVM_RUN_BPF_H */
