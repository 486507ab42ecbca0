/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live ABI: keys and values of the maps bpf/live.bpf.c aggregates into
 * and userspace (src/collect.c) reads. One place only: both sides include
 * this file.
 */
#ifndef DT_LIVE_H
#define DT_LIVE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "dt_batch.h"
#include "dt_flags.h"
#include "dt_hist_bucket.h"
#include "dt_kvm.h"		/* dt_memslot.flags are KVM_MEM_* */

/*
 * A maximum per refresh interval. Userspace bumps a global epoch at every
 * refresh; the BPF side writes slot (epoch & 1) and restarts it when its
 * epoch tag is stale, so the slot of the finished epoch is complete when
 * userspace reads it.
 */
struct dt_epoch_max {
	__u64 value[2];
	__u32 epoch[2];
};

struct dt_hist {
	__u32 count[DT_HIST_BUCKETS];
	__u64 sum;			/* of all values, for the mean */
	__u64 max;			/* over the whole run */
	struct dt_epoch_max interval_max;
};

/* Ring buckets whose first push time is remembered, for reap latency. */
#define DT_RING_TS_BUCKETS 256

/* A remembered time bucket is at least a push batch (dt_batch.h). */

struct dt_ring_ts {
	__u32 shift;			/* log2(entries per bucket) */
	__u32 entry[DT_RING_TS_BUCKETS];	/* first entry index of the bucket */
	__u64 ts[DT_RING_TS_BUCKETS];	/* its push time */
};

/* Per vCPU, keyed by the address of its struct kvm_dirty_ring (opaque). */
struct dt_vcpu {
	__u64 vm;			/* struct kvm * as an opaque key; never shown */
	__u32 tgid;			/* VMM process */
	__u32 tid;			/* vCPU thread (0 until it ran) */
	__s32 vcpu_id;
	__u32 ring_size;		/* entries */
	__u32 soft_limit;		/* entries */
	__u32 dirty_index;		/* pushes counted up to this ring index (vCPU thread only) */
	__u32 reset_index;		/* ... and of the last reset */
	__u32 flags;			/* DT_VCPU_* */
	__u32 reset_dirty_index;	/* dirty_index seen by the last reset (the reaper's thread) */
	__u32 pad0;
	__u64 gfns;			/* the ring's entries (kernel address, never shown) */
	__u64 created_ns;		/* KVM_CREATE_VCPU seen, else 0 */
	__u64 first_seen_ns;
	__u64 pushes;
	__u64 full_exits;		/* KVM_EXIT_DIRTY_RING_FULL */
	__u64 userspace_exits;		/* every return of KVM_RUN */
	__u64 ring_resets;		/* kvm_dirty_ring_reset of this ring */
	__u64 entries_reset;		/* entries reclaimed by those resets */
	__u64 last_reset_ns;
	__u64 full_since_ns;		/* soft-full exit of an ongoing stall, 0 if none */
	__u64 stalls;			/* completed full stalls */
	__u64 stall_ns;			/* their total duration */
	/*
	 * Change tracking for the reader (bpf/vcpu_read.bpf.c): every write to
	 * an entry moves one of the counters dt_vcpu_change_sig sums (all only
	 * grow); a write that moves none of the others bumps changes. Next to
	 * the counters: the reader looks at every entry at every refresh.
	 */
	__u64 changes;
	__u64 read_sig;			/* the sum when the reader last saw it change */
	__u32 read_changed_pass;	/* the reader's pass that saw it */
	__u32 read_pass;		/* the reader's last pass that sent it whole */
	/* dirty heat: pushes into the current region, not yet added to the heat map */
	__u32 heat_slot;
	__u32 heat_region;
	__u64 heat_pending;
	struct dt_epoch_max peak_used;	/* occupancy when pushes were counted */
	struct dt_epoch_max peak_at_reset;	/* occupancy just before each reset */
	struct dt_hist reap_interval_us;
	struct dt_hist reap_latency_us;
	struct dt_hist reclaimed;	/* entries per reset that reclaimed any */
	struct dt_hist stall_us;
	/*
	 * After a soft-full exit, when the vCPU called KVM_RUN again: held is
	 * the time it stayed out although its ring was already back under the
	 * soft limit (a VMM throttling it on purpose, e.g. QEMU's dirty limit);
	 * reentries_full counts re-entries while the ring was still full.
	 */
	__u64 last_full_exit_ns;
	__u64 stall_end_ns;		/* the reset that ended the last full stall */
	__u64 reentries;		/* KVM_RUN calls following a soft-full exit */
	__u64 reentries_full;		/* ... made while the ring was still soft-full */
	__u64 held_ns;
	struct dt_hist held_us;
};

/* Moves whenever the entry is written (never 0, unlike a new entry's read_sig). */
static inline __u64 dt_vcpu_change_sig(const struct dt_vcpu *v)
{
	return v->pushes + v->full_exits + v->userspace_exits + v->ring_resets + v->reentries + v->changes + 1;
}

/* The reader's list of every vCPU entry: a new entry at a known key has a new first_seen_ns. */
struct dt_vcpu_read_key {
	__u64 key;
	__u64 first_seen_ns;
};

/* An entry the reader sends whole: as struct snap_vcpu (src/core/model.h). */
struct dt_vcpu_read_entry {
	__u64 key;
	struct dt_vcpu v;
};

/*
 * Memslot operations, classified the way KVM does (kvm_set_memory_region):
 * size 0 deletes, an unknown slot is created, a new base moves it, new flags
 * change it. UNKNOWN: a slot dirtytop never saw, in a VM that predates it.
 */
enum dt_slot_op {
	DT_SLOT_CREATE,
	DT_SLOT_DELETE,
	DT_SLOT_MOVE,
	DT_SLOT_FLAGS,
	DT_SLOT_UNKNOWN,
	DT_SLOT_NOOP,
	DT_SLOT_OPS,
};

/* Per memslot, keyed by (VM, as_id << 16 | slot id). */
struct dt_memslot_key {
	__u64 vm;
	__u32 slot;
	__u32 pad;
};

struct dt_memslot {
	__u64 gpa;			/* guest-physical base */
	__u64 size;			/* bytes; 0 while unknown */
	__u32 flags;			/* KVM_MEM_* */
	__u32 known;			/* 1: base, size and flags are known */
	__u64 first_seen_ns;
	__u64 get_calls;		/* KVM_GET_DIRTY_LOG */
	__u64 get_dirty_pages;		/* population count of the bitmaps returned */
	__u64 get_unsized;		/* syncs not counted: slot size unknown (or > 1 GiB without bpf_loop) */
	__u64 clear_calls;		/* KVM_CLEAR_DIRTY_LOG */
	__u64 clear_pages;		/* pages covered by them */
	struct dt_hist get_latency_ns;
	struct dt_hist clear_latency_ns;
	struct dt_hist clear_chunk_pages;	/* pages covered per clear */
	struct dt_hist sync_dirty_pages;	/* dirty pages per sync */
};

/* Dirty heat: pages dirtied per guest-physical region of a memslot. */
struct dt_heat_key {
	__u64 vm;
	__u32 slot;
	__u32 region;			/* offset in the slot >> region shift */
};

/* Per VM, keyed by struct kvm * (opaque). */
struct dt_vm {
	__u32 tgid;
	__s32 fd;			/* VM fd in tgid, -1 if unknown */
	__u64 created_ns;		/* KVM_CREATE_VM seen, else 0 */
	__u64 first_seen_ns;
	__u32 ring_bytes;		/* from KVM_ENABLE_CAP, 0 if not seen */
	__u32 flags;			/* DT_VM_* */
	__u64 reset_calls;		/* KVM_RESET_DIRTY_RINGS */
	__u64 reset_entries;		/* sum of their return values */
	struct dt_hist reset_latency_ns;
	struct dt_hist reset_entries_hist;	/* entries per call */
	/* KVM_SET_USER_MEMORY_REGION(2), by class */
	__u64 slot_ops[DT_SLOT_OPS];
	struct dt_hist slot_op_latency_ns[DT_SLOT_OPS];
	__u64 dirty_log_on, dirty_log_off;	/* flag changes that switched dirty logging */
	__u64 bitmap_syncs;		/* KVM_GET_DIRTY_LOG, all slots */
	__u64 bitmap_dirty_pages;	/* their population counts */
	__u64 clear_calls;		/* KVM_CLEAR_DIRTY_LOG */
	/*
	 * DT_VM_REBORN (a VM created under the live object without callbacks,
	 * which cannot move what a dead VM left at the address): the dead VM
	 * whose entry was there, moved to grave key prev_grave (0: none), seen
	 * from prev_created_ns (0: it predated dirtytop). vCPUs and memslots
	 * under the live key first seen before created_ns are not this VM's;
	 * nor is the heat under the live key: this VM's is under its
	 * first_seen_ns (DT_VM_HEAT_KEY).
	 */
	__u64 prev_grave;
	__u64 prev_created_ns;
};

/* The key of a VM's heat entries: its own, or for a reborn VM its first_seen_ns. */
#define DT_VM_HEAT_KEY(vm, kvm) (((vm)->flags & DT_VM_REBORN) ? (vm)->first_seen_ns : (kvm))

/*
 * Map keys are kernel addresses (bit 63 set). What a dead VM left behind when
 * a new VM took its address is moved to a "grave" key: the entry's
 * first_seen_ns, unique and never a kernel address.
 */
#define DT_IS_GRAVE_KEY(k) (!((k) >> 63))

#endif /* DT_LIVE_H */
