/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live object's per-VM, per-memslot and per-vCPU maps, defined once for
 * live.bpf.c and vm_iter.bpf.c (which fills them for VMs older than dirtytop:
 * userspace hands it the live object's fds, so the definitions must match;
 * vcpu_read.bpf.c shares the vCPU map alone).
 */
#ifndef DT_LIVE_MAPS_BPF_H
#define DT_LIVE_MAPS_BPF_H

#include "maps.bpf.h"
#include "ring.bpf.h"

#include "vcpus_map.bpf.h"

#define MAX_VMS 1024
#define MAX_MEMSLOTS 8192

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VCPUS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm_dirty_ring * */
	__type(value, struct dt_ring_ts);
} ring_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VMS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm * */
	__type(value, struct dt_vm);
} vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_MEMSLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dt_memslot_key);
	__type(value, struct dt_memslot);
} memslots SEC(".maps");

DT_ZERO_TEMPLATE(zero_vcpu, struct dt_vcpu);
DT_ZERO_TEMPLATE(zero_vm, struct dt_vm);
DT_ZERO_TEMPLATE(zero_ring_ts, struct dt_ring_ts);
DT_ZERO_TEMPLATE(zero_memslot, struct dt_memslot);

/*
 * A vCPU entry first seen now, from its ring (ring.bpf.h): counted from the
 * ring's current indices (a new ring from its first entry, an older one from now).
 */
static __always_inline void dt_vcpu_start(struct dt_vcpu *v, __u64 ring_addr, __u32 tgid)
{
	struct dt_ring_fields f;

	dt_ring_read_fields(ring_addr, &f);
	v->vm = f.kvm;
	v->tgid = tgid;
	v->vcpu_id = f.vcpu_id;
	v->ring_size = f.size;
	v->soft_limit = f.soft_limit;
	v->gfns = f.gfns;
	v->dirty_index = f.dirty_index;
	v->reset_index = f.reset_index;
	v->reset_dirty_index = f.dirty_index;
	v->first_seen_ns = bpf_ktime_get_ns();
}

#endif /* DT_LIVE_MAPS_BPF_H */
