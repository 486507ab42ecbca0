/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The live object's per-vCPU map (live_maps.bpf.h), alone for vcpu_read.bpf.c. */
#ifndef DT_VCPUS_MAP_BPF_H
#define DT_VCPUS_MAP_BPF_H

#define MAX_VCPUS 8192

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VCPUS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm_dirty_ring * */
	__type(value, struct dt_vcpu);
} vcpus SEC(".maps");

#endif
