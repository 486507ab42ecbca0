/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The record ABI: the events bpf/record.bpf.c streams through its BPF ring
 * buffer, and the metadata it keeps in maps for userspace (src/record.c).
 * Shared by both sides. Kernel addresses never leave the kernel: the BPF
 * side numbers every dirty ring (vCPU) and every struct kvm (VM) with small
 * ids, and events name those ids. The file format (docs/recording.md) is written by src/recfile.c
 * from these events; it does not depend on this layout.
 */
#ifndef DT_EVENTS_H
#define DT_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "dt_batch.h"
#include "dt_flags.h"

/* Event types; also the index of the per-type lost counters. */
enum dt_ev_type {
	DT_EV_PUSH = 1,		/* kvm_dirty_ring_push */
	DT_EV_RESET = 2,	/* kvm_dirty_ring_reset (one ring, at the end of its reset) */
	DT_EV_FULL = 3,		/* kvm_dirty_ring_exit: KVM_RUN returns KVM_EXIT_DIRTY_RING_FULL */
	DT_EV_UEXIT = 4,	/* kvm_userspace_exit of a known vCPU thread */
	DT_EV_IOCTL = 5,	/* KVM ioctl (not KVM_RUN, not memslots): latency, return value */
	DT_EV_MEMSLOT = 6,	/* KVM_SET_USER_MEMORY_REGION(2) */
	DT_EV_TID = 7,		/* a ring's vCPU thread became known (first push) */
	DT_EV_DIRTYLOG = 8,	/* dirty pages of one 2 MiB region in a KVM_GET_DIRTY_LOG bitmap */
	DT_EV_REENTRY = 9,	/* the first KVM_RUN of a vCPU thread after a soft-full exit */
	DT_EV_BATCH = 10,	/* a batch of pushes, read back from the ring (lost: counted as PUSH) */
	DT_EV_NTYPES = 16,	/* room for more; the file's lost counters have as many */
};

/* the BPF side indexes its counters with type & (DT_EV_NTYPES - 1) */
_Static_assert(!(DT_EV_NTYPES & (DT_EV_NTYPES - 1)), "DT_EV_NTYPES is a power of two");
_Static_assert(DT_EV_BATCH < DT_EV_NTYPES, "every event type has a counter");

/* --events selection (bit = 1 << type). TID and BATCH events follow PUSH. */
#define DT_EVM(t) (1u << (t))
#define DT_EVM_ALL (DT_EVM(DT_EV_PUSH) | DT_EVM(DT_EV_RESET) | DT_EVM(DT_EV_FULL) | \
		    DT_EVM(DT_EV_UEXIT) | DT_EVM(DT_EV_IOCTL) | DT_EVM(DT_EV_MEMSLOT) | \
		    DT_EVM(DT_EV_TID) | DT_EVM(DT_EV_DIRTYLOG) | DT_EVM(DT_EV_REENTRY))

/* Every event starts with this. */
struct dt_ev_hdr {
	__u64 ts;		/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 id;		/* ring id (PUSH, RESET, FULL, UEXIT, TID) or VM id (IOCTL, MEMSLOT); 0 unknown */
	__u8 type;		/* enum dt_ev_type */
	__u8 as_id;		/* PUSH: address space of the memslot (slot >> 16) */
	__u16 slot;		/* PUSH: memslot id (slot & 0xffff) */
};

struct dt_ev_push {		/* 32 bytes */
	struct dt_ev_hdr h;
	__u32 dirty_index;	/* after the push */
	__u32 reset_index;
	__u64 offset;		/* page offset in the memslot */
};

/* An entry of a dirty ring as KVM lays it out (struct kvm_dirty_gfn). */
struct dt_ev_gfn {
	__u32 flags;		/* KVM's; not meaningful once read back */
	__u32 slot;		/* as_id << 16 | memslot id */
	__u64 offset;		/* page offset in the memslot */
};

/*
 * BATCH: the pushes of ring indices dirty_index - n .. dirty_index - 1, read
 * back from the ring; they are e[lo .. lo+n-1], e[] being the whole aligned
 * chunk of DT_PUSH_BATCH entries (read at once; the rest is stale). Every
 * push of the batch happened between first_ns and h.ts (the read), except
 * that a batch starting a chunk has first_ns stamped by its first push's
 * own handler, right after that push.
 */
struct dt_ev_batch {		/* 1072 bytes */
	struct dt_ev_hdr h;	/* id: ring; ts: the read */
	__u64 first_ns;
	__u32 dirty_index;	/* after the batch's last push */
	__u32 reset_index;	/* the ring's when it was read */
	__u32 lo, n;
	struct dt_ev_gfn e[DT_PUSH_BATCH];
};

struct dt_ev_reset {		/* 24 bytes */
	struct dt_ev_hdr h;
	__u32 dirty_index;	/* after the reset */
	__u32 reset_index;
};

struct dt_ev_tid {		/* FULL, UEXIT, TID, REENTRY: 24 bytes */
	struct dt_ev_hdr h;
	__u32 tid;
	__u32 arg;		/* UEXIT: the exit reason */
};

struct dt_ev_ioctl {		/* IOCTL, MEMSLOT: 72 bytes */
	struct dt_ev_hdr h;
	__u32 cmd;
	__u32 tid;
	__s64 ret;
	__u64 latency_ns;	/* sys_enter to sys_exit; h.ts is the exit */
	__u32 target;		/* KVM_CREATE_VM: the new VM id; KVM_CREATE_VCPU: the new ring id */
	__u32 slot;		/* memslot (as_id << 16 | id); dirty log: the slot */
	__u32 flags;		/* memslot flags; KVM_ENABLE_CAP: the cap */
	__u32 pad;
	__u64 gpa;		/* memslot guest_phys_addr; CLEAR_DIRTY_LOG: first_page; ENABLE_CAP: args[0] */
	__u64 size;		/* memslot memory_size; CLEAR_DIRTY_LOG: num_pages; GET_DIRTY_LOG: dirty pages */
};

/* GET_DIRTY_LOG: flags bit 0 set when the bitmap's dirty pages were counted (slot size known). */
#define DT_EV_DIRTYLOG_COUNTED 1u

struct dt_ev_region {		/* DIRTYLOG: 24 bytes */
	struct dt_ev_hdr h;	/* id: VM; as_id, slot: the memslot */
	__u32 region;		/* 512-page (2 MiB) chunk of the slot */
	__u32 pages;		/* dirty pages in it */
};

/* BPF map values userspace reads (by id) to write metadata records. */
struct dt_rec_ring_meta {
	__u32 id;
	__u32 vm_id;
	__u32 tgid;
	__u32 tid;		/* vCPU thread, 0 until it ran */
	__s32 vcpu_id;
	__u32 ring_size;
	__u32 soft_limit;
	__u32 dirty_index;	/* ring state when first seen */
	__u32 reset_index;
	__u32 flags;		/* DT_VCPU_* */
	__u64 first_seen_ns;
	__u64 created_ns;
};

struct dt_rec_vm_meta {
	__u32 id;
	__u32 tgid;
	__s32 fd;
	__u32 ring_bytes;
	__u32 flags;		/* DT_VM_* */
	__u32 pad;
	__u64 first_seen_ns;
	__u64 created_ns;
};

/* Per-CPU counters, summed by userspace. */
struct dt_rec_counters {
	__u64 lost[DT_EV_NTYPES];	/* bpf_ringbuf_reserve failed */
	__u64 untracked[DT_EV_NTYPES];	/* no id could be given (a map was full) */
};

#endif /* DT_EVENTS_H */
