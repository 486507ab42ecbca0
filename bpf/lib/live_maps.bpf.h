/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live object's per-VM, per-memslot and per-vCPU maps, defined once for
 * live.bpf.c and vm_iter.bpf.c (which fills them for VMs older than dirtytop:
 * userspace hands it the live object's fds, so the definitions must match).
 */
#ifndef DT_LIVE_MAPS_BPF_H
#define DT_LIVE_MAPS_BPF_H

#include "maps.bpf.h"

#define MAX_VCPUS 8192
#define MAX_VMS 1024
#define MAX_MEMSLOTS 8192

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VCPUS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm_dirty_ring * */
	__type(value, struct dt_vcpu);
} vcpus SEC(".maps");

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

#endif /* DT_LIVE_MAPS_BPF_H */
