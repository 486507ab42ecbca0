/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The model: from successive snapshots of the BPF maps to per-interval
 * metrics per VM and per vCPU. Pure C: no BPF, no terminal, no /proc.
 */
#ifndef DT_SRC_MODEL_H
#define DT_SRC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dt_live.h"
#include "core/hist.h"
#include "core/idmap.h"
#include "core/vm_filter.h"
#include "core/vm_identity.h"

#define DT_PAGE_SIZE 4096
#define DT_COMM_LEN 16

/* One read of the maps, plus what the caller learned about each process. */
struct snap_vcpu {
	uint64_t key;			/* ring address: opaque */
	struct dt_vcpu v;
};

struct snap_vm {
	uint64_t key;			/* struct kvm *: opaque */
	struct dt_vm v;
};

struct snap_memslot {
	struct dt_memslot_key key;
	struct dt_memslot v;
};

struct snap_heat {
	struct dt_heat_key key;
	uint64_t pages;
};

struct snapshot {
	uint64_t ts_ns;			/* CLOCK_MONOTONIC when read */
	uint32_t epoch;			/* the epoch (interval) that ended with this read */
	uint32_t heat_shift;		/* log2(pages per heat region) */
	struct snap_vcpu *vcpus;
	size_t n_vcpus, cap_vcpus;
	struct snap_vm *vms;
	size_t n_vms, cap_vms;
	struct snap_memslot *memslots;
	size_t n_memslots, cap_memslots;
	struct snap_heat *heat;
	size_t n_heat, cap_heat;
};

void snapshot_reset(struct snapshot *s);
struct snap_vcpu *snapshot_add_vcpu(struct snapshot *s);
/* Like snapshot_add_vcpu, not zeroed: for a caller that writes all of it (3 KiB a vCPU). */
struct snap_vcpu *snapshot_add_vcpu_uninit(struct snapshot *s);
/* Room for n vCPUs at once: grown by doubling, 4096 of 3 KiB leave 6 MiB of old blocks behind. */
void snapshot_reserve_vcpus(struct snapshot *s, size_t n);
struct snap_vm *snapshot_add_vm(struct snapshot *s);
struct snap_memslot *snapshot_add_memslot(struct snapshot *s);
struct snap_heat *snapshot_add_heat(struct snapshot *s);
void snapshot_free(struct snapshot *s);

/*
 * The userspace side of a new VM at a dead VM's address where BPF could not
 * move the dead VM's entries (no bpf_for_each_map_elem; DT_VM_REBORN): in the
 * snapshot, vCPUs and memslots under the live key first seen before the new
 * VM was created are the dead VM's (its grave key), or neither's if older
 * than the dead VM too (key 0); such a vCPU is left out of the snapshot when
 * its VM is not in it (the model would take it for a new VM). The heat under
 * the live key is the dead VM's and the new VM's is under its DT_VM_HEAT_KEY.
 */
void snapshot_attribute_reborn(struct snapshot *s);

struct vcpu_metrics {
	uint64_t key;
	int32_t vcpu_id;
	uint32_t tid;
	char thread_name[VM_THREAD_NAME_LEN];	/* the vCPU thread's own name ("CPU 0/KVM"), "" unknown */
	uint32_t thread_name_tid;	/* the tid thread_name was looked up for */
	uint32_t ring_size, soft_limit;
	bool seen_from_create;
	/* totals since dirtytop saw the vCPU */
	uint64_t pushes, full_exits, ring_resets, entries_reset, stalls, userspace_exits;
	double stall_s;			/* completed + ongoing full stalls */
	uint64_t reentries, reentries_full;	/* KVM_RUN after a soft-full exit; while still full */
	double held_s;			/* kept out of KVM_RUN after its ring was free (throttled) */
	double held_frac;		/* this interval */
	struct quantiles held_us_all;
	/* this interval */
	double fill_rate;		/* entries/s */
	double fill_mib_s;
	double full_exits_s, ring_resets_s, userspace_exits_s;
	uint32_t used, peak_used;
	double used_pct, peak_pct;	/* of the soft limit */
	double stall_frac;		/* share of the interval spent full-stalled */
	bool stalled_now;
	struct quantiles reap_interval_us, reap_latency_us, reclaimed, stall_us;
	/* whole run */
	struct quantiles reap_interval_us_all, reap_latency_us_all, reclaimed_all, stall_us_all;
	/* the histograms themselves: NULL until the vCPU's first ring reset (vcpu_hists_of) */
	struct vcpu_hists *hists;

	/* model state */
	uint64_t prev_pushes, prev_full_exits, prev_ring_resets, prev_userspace_exits;
	uint64_t prev_stall_ns, prev_since, ongoing_accounted_ns, prev_held_ns;
	uint32_t prev_used;
	uint64_t first_seen_ns;
	uint64_t prev_reentries;
	bool have_prev;
	bool present;			/* in the latest snapshot */
};

/*
 * A vCPU's histograms as of the last refresh that changed them, and the run's
 * counts the views show. 3 KiB each: kept only for vCPUs that had a ring
 * reset (at 4096 vCPUs most never do), which is the only event that adds to
 * them (dt_agg_reset).
 */
struct vcpu_hists {
	struct dt_hist prev_reap_interval, prev_reap_latency, prev_reclaimed, prev_stall;
	struct hist_counts stall_hist_all, reclaimed_hist_all;
};

extern const struct vcpu_hists vcpu_hists_empty;

/* c's histograms; all empty for a vCPU that never had a ring reset */
static inline const struct vcpu_hists *vcpu_hists_of(const struct vcpu_metrics *c)
{
	return c->hists ? c->hists : &vcpu_hists_empty;
}

enum vm_tracking { TRACK_UNKNOWN, TRACK_RING, TRACK_RING_ACQ_REL, TRACK_BITMAP };

struct memslot_metrics {
	uint32_t slot;			/* as_id << 16 | slot id */
	bool known;			/* base, size, flags seen (else the VM predates dirtytop) */
	uint64_t gpa, size;
	uint32_t flags;			/* KVM_MEM_* */
	uint64_t get_calls, get_dirty_pages, get_unsized, clear_calls, clear_pages;
	double get_calls_s, dirty_pages_s, dirty_mib_s, clear_calls_s, heat_pages_s;
	struct quantiles get_latency_us, clear_latency_us, clear_chunk_pages, sync_dirty_pages;
	struct hist_counts clear_chunk_hist;
	uint64_t prev_get_calls, prev_get_dirty_pages, prev_clear_calls;
	bool have_prev, present;
};

/* A guest-physical region of a memslot and the pages dirtied in it. */
struct heat_region {
	uint32_t slot;
	uint32_t region;		/* index within the slot */
	uint64_t gpa;			/* its base, when the slot is known */
	bool gpa_known;
	uint64_t pages;			/* since dirtytop saw it */
	double pages_s;			/* this interval */
	uint64_t prev_pages;
	bool present;
};

struct vm_metrics {
	uint64_t key;
	uint32_t vm_id;			/* dirtytop's own number, never reused */
	uint32_t tgid;
	int32_t fd;			/* -1 if unknown */
	char comm[DT_COMM_LEN];
	struct vm_identity identity;	/* name, uuid, cgroup, pod: "" unknown */
	bool identity_known;		/* looked up (the VMM's cmdline was read, or a recording had it) */
	enum vm_tracking tracking;
	bool seen_from_create;
	bool memslots_complete;		/* seen from creation, or the table read from the kernel at start */
	bool exited;			/* shown one last interval, then dropped */
	uint64_t created_ns, first_seen_ns;
	uint64_t map_first_seen_ns;	/* of its entry in the vms map, 0 if it has none */
	uint32_t ring_size, soft_limit;	/* entries; 0 if unknown */

	uint64_t pushes, full_exits, reset_calls, reset_entries, stalls;
	double stall_s;
	double fill_rate, fill_mib_s, full_exits_s, reset_calls_s, stall_frac_sum;
	struct quantiles reset_latency_us, reset_latency_us_all, reset_entries_all;

	/* bitmap mode: KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG over all slots */
	uint64_t bitmap_syncs, bitmap_dirty_pages, clear_calls;
	double bitmap_syncs_s, bitmap_dirty_pages_s, clear_calls_s;
	/* memslot operations by enum dt_slot_op */
	uint64_t slot_ops[DT_SLOT_OPS];
	struct quantiles slot_op_latency_us[DT_SLOT_OPS];
	uint64_t dirty_log_on, dirty_log_off;

	struct memslot_metrics *memslots;
	size_t n_memslots, cap_memslots;
	struct heat_region *heat;	/* sorted hottest first after model_update */
	size_t n_heat, cap_heat;
	struct heat_region *heat_new;	/* scratch for the next update */
	size_t n_heat_new, cap_heat_new;
	uint32_t heat_region_bytes_log2;

	struct vcpu_metrics *vcpus;
	size_t n_vcpus, cap_vcpus;

	uint64_t prev_reset_calls, prev_bitmap_syncs, prev_bitmap_dirty_pages, prev_clear_calls;
	struct dt_hist prev_reset_latency;
	bool have_prev;
	bool present;
};

/*
 * Per process facts the caller looks up (e.g. in /proc); the model stays pure.
 * Once per VM and interval (tid 0): alive, comm, and the identity while it is
 * not known; once per vCPU thread (tid != 0): only that thread's own name.
 */
struct proc_query {
	uint32_t tgid;
	int32_t fd;			/* the VM's fd, -1 unknown */
	uint64_t first_seen_ns;
	bool want_identity;
	uint32_t tid;			/* != 0: the name of this thread of tgid */
};

struct proc_facts {
	bool alive;			/* the process exists and still holds the VM */
	char comm[DT_COMM_LEN];
	bool have_identity;		/* identity was looked up (it may still say nothing) */
	struct vm_identity identity;
	char thread_name[VM_THREAD_NAME_LEN];	/* tid's name when it has its own (not the process's) */
};
typedef void (*proc_lookup_fn)(void *ctx, const struct proc_query *q, struct proc_facts *out);

struct model {
	struct vm_metrics *vms;
	size_t n_vms, cap_vms;
	uint32_t next_vm_id;
	uint64_t prev_ts_ns;
	double interval_s;
	struct vm_filter filter;	/* the VMs the views, reports and analyses look at */
	/*
	 * Hints for model_update, rebuilt by it: a VM key to its index + 1, a vCPU
	 * key to its VM's index << 16 | its own index, + 1. Checked before use.
	 */
	struct idmap vm_index, vcpu_index;
};

void model_init(struct model *m);
void model_free(struct model *m);

/*
 * Fold in a snapshot: update every VM and vCPU, mark VMs whose process is
 * gone as exited. Keys of map entries to delete (VMs that exited in the
 * previous interval, already shown once) are appended to *forget_vms and
 * *forget_vcpus; the caller deletes them from the kernel maps.
 */
struct key_list {
	uint64_t *keys;
	uint64_t *gens;			/* the entry's first_seen_ns: delete only that generation */
	size_t n, cap;
};
void key_list_add(struct key_list *l, uint64_t key, uint64_t gen);
void key_list_free(struct key_list *l);

void model_update(struct model *m, const struct snapshot *s, proc_lookup_fn lookup, void *ctx,
		  struct key_list *forget_vms, struct key_list *forget_vcpus);

const char *tracking_name(enum vm_tracking t);
const char *slot_op_name(enum dt_slot_op op);

/* Sorting for the views. */
enum sort_key { SORT_VM, SORT_FILL, SORT_USED, SORT_EXITS, SORT_STALL, SORT_LATENCY, SORT_COUNT };
const char *sort_key_name(enum sort_key k);
void model_sort(struct model *m, enum sort_key k, bool descending);

/* The VM is one the filter (-p PID or NAME) selects. */
static inline bool model_vm_visible(const struct model *m, const struct vm_metrics *vm)
{
	return vm_filter_match(&m->filter, vm->tgid, vm->identity.name);
}

#endif
