/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The precopy model: a migration's sync passes, from the records of a
 * recording (live doctor records too, so both read the same events).
 *
 * A migration starts when dirty logging is switched on for a RAM slot (or at
 * the first sync of a VM that predates the recording). A pass ends with a
 * sync: in bitmap mode one round of KVM_GET_DIRTY_LOG over the logged slots
 * (a new round starts when a slot of the current one is read again); in ring
 * mode a KVM_RESET_DIRTY_RINGS by the thread that switched logging on (QEMU's
 * migration thread: kvm_dirty_ring_flush; its reaper thread's and the vCPUs'
 * own reaps are not syncs), or by any thread that is not a vCPU when logging
 * was on from the slot's creation (dirtygen: its reaper). Pass k holds the pages
 * dirtied between sync k-1 and sync k: the set precopy must send next.
 *
 * The convergence test (precopy_evaluate): the stop-and-copy fits when a
 * pass's dirty set is at most bandwidth x downtime limit. A migration is
 * named as not converging at the first pass k >= 1 + PRECOPY_NAME_PASSES
 * whose last PRECOPY_NAME_PASSES passes all exceed that budget while the dirty
 * set shrank by less than PRECOPY_MIN_SHRINK a pass (README "doctor").
 *
 * How it ended: dirty logging switched off on every RAM slot (QEMU does at
 * completion and at cancel), still on at the end of the recording (active),
 * or still on when the VMM exited (a VM info record flagged DT_VM_EXITED: the
 * recorder saw its process gone; live doctor reads its own recording):
 * stopped mid-migration.
 */
#ifndef DT_CORE_PRECOPY_H
#define DT_CORE_PRECOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/recfile.h"

#define PRECOPY_NAME_PASSES 3		/* N: passes after the bulk one before a verdict */
#define PRECOPY_MIN_SHRINK 0.10		/* per pass, geometric mean over the N passes */
#define PRECOPY_DEFAULT_DOWNTIME_S 0.3	/* QEMU's downtime-limit default */
#define PRECOPY_MAX_SLOTS 64
#define PRECOPY_TOP 3			/* hottest regions / vCPUs reported */

struct precopy_count {			/* pages of one region or one vCPU in one pass */
	uint64_t key;			/* region: slot << 32 | region; vCPU: ring id */
	uint64_t pages;
};

struct precopy_pass {
	uint32_t index;			/* 1: the bulk pass */
	uint64_t sync_ns;		/* the sync that ended it (its first call) */
	double secs;			/* since the previous sync (pass 1: since logging on) */
	uint64_t dirty_pages;		/* found by its sync */
	uint32_t calls;			/* GET_DIRTY_LOG / RESET_DIRTY_RINGS calls in the sync */
	uint32_t full_exits;		/* ring mode: soft-full exits of its vCPUs meanwhile */
	double sent_bytes;		/* sent by the VMM meanwhile; < 0 unknown */
	struct precopy_count *regions, *vcpus;
	size_t n_regions, n_vcpus, cap_regions, cap_vcpus;
};

struct precopy_vcpu {
	uint32_t ring_id;
	int32_t vcpu_id;
	uint32_t tid;
	uint32_t ring_size, soft_limit;	/* entries; 0 unknown */
};

enum precopy_end {
	PRECOPY_ACTIVE,			/* dirty logging still on at the end of what was seen */
	PRECOPY_LOGGING_OFF,		/* switched off on every RAM slot: completed or cancelled */
	PRECOPY_VMM_EXITED,		/* the VMM exited with logging on: stopped mid-migration */
};
const char *precopy_end_name(enum precopy_end e);

struct precopy_vm {
	uint32_t vm_id, tgid;		/* the recording's VM id */
	char comm[16];
	bool ring;
	bool started;			/* dirty logging on */
	uint64_t start_ns;
	uint32_t log_tid;		/* switched logging on by a flags change; 0 at creation */
	uint32_t address_spaces;	/* bit n: a memslot in address space n (x86 SMM: 1) */
	uint32_t flushes;		/* ring: syncing resets since the last pass ended */
	uint32_t slot_flags_slot[PRECOPY_MAX_SLOTS], slot_flags[PRECOPY_MAX_SLOTS];
	size_t n_slot_flags;
	/* the sync being read (bitmap: slots seen in it) */
	uint32_t cur_slots[PRECOPY_MAX_SLOTS];
	size_t n_cur_slots;
	struct precopy_pass cur;	/* dirt gathered since the last sync */
	struct precopy_pass *passes;
	size_t n_passes, cap_passes;
	struct precopy_vcpu *vcpus;
	size_t n_vcpus, cap_vcpus;
	/* the VMM's sent bytes: cumulative samples */
	uint64_t *traffic_ns;
	double *traffic_bytes;
	size_t n_traffic, cap_traffic;
	bool exited;			/* the VMM exited */
	enum precopy_end end;
	uint64_t end_ns;		/* logging off, or the exit seen (0 unknown) */
};

struct precopy {
	struct precopy_vm *vms;
	size_t n_vms, cap_vms;
};

void precopy_init(struct precopy *p);
void precopy_free(struct precopy *p);
/* Fold in one record of a recording, in file order. */
void precopy_add(struct precopy *p, const struct rec_record *rec);
/* The VMM of process tgid had sent bytes in total (a TCP counter) at ts. */
void precopy_traffic(struct precopy *p, uint32_t tgid, uint64_t ts, double bytes);
/* Close the passes: sent bytes from the traffic samples. Call once, after the last record. */
void precopy_finish(struct precopy *p);

enum precopy_outcome {
	PRECOPY_NO_PASSES,		/* not migrating, or no sync seen */
	PRECOPY_NO_BANDWIDTH,		/* passes, but no bandwidth: no verdict */
	PRECOPY_TOO_FEW,		/* fewer passes than a verdict needs, none fitting */
	PRECOPY_FITS,			/* a pass fitted the budget: converges */
	PRECOPY_SHRINKING,		/* not yet fitting, but shrinking fast enough */
	PRECOPY_NO_CONVERGE,		/* named */
};
const char *precopy_outcome_name(enum precopy_outcome o);

struct precopy_verdict {
	enum precopy_outcome outcome;
	uint32_t pass;			/* FITS: the first pass that fitted; NO_CONVERGE: where named */
	double bandwidth;		/* bytes/s used */
	double downtime_s;
	double budget_pages;		/* bandwidth x downtime / page */
	double shrink;			/* per pass over the last N passes (0.2: 20 % smaller each pass) */
	double plateau_pages;		/* largest dirty set of the last N passes */
	double working_set_pages;	/* distinct pages over the last N passes (at least) */
	double dirty_rate;		/* pages/s over the last N passes */
	/* the fix */
	double need_bandwidth;		/* bytes/s that fits the plateau in the downtime */
	double need_downtime_s;		/* at the current bandwidth */
	double dirty_limit;		/* bytes/s the whole guest may dirty so passes shrink */
	struct precopy_count top_regions[PRECOPY_TOP], top_vcpus[PRECOPY_TOP];
	size_t n_top_regions, n_top_vcpus;
	uint32_t dirtying_vcpus;	/* ring mode: vCPUs with pages in the last N passes */
	/* ring mode: the ring's part */
	uint32_t ring_size, soft_limit;	/* the largest of the VM's vCPUs */
	double full_exits_per_pass;	/* soft-full exits over the last N passes, per pass */
	double ring_pages_between_throttles;	/* soft limit x dirtying vCPUs: QEMU's dirty limit acts at ring-full exits */
};

/*
 * Auto-converge and dirty-limit as QEMU's QMP answered during the passes;
 * known false: no QMP (nothing said about them).
 */
struct precopy_throttle {
	bool known;
	bool auto_converge, dirty_limit;	/* the capabilities */
	double max_throttle_pct;	/* the most cpu-throttle-percentage seen: auto-converge acting */
	double max_dirty_limit_us;	/* the most dirty-limit-throttle-time-per-round seen */
};
/* Whether a capability that is on is biting (throttling now), in words; "" when unknown. */
const char *precopy_throttle_text(const struct precopy_throttle *t, char *buf, size_t len);

/* bandwidth bytes/s (<= 0: the passes' measured sent bytes, if any), downtime_s > 0 */
void precopy_evaluate(const struct precopy_vm *v, double bandwidth, double downtime_s,
		      struct precopy_verdict *out);
/* The measured bandwidth over the passes after the bulk one: bytes/s, 0 unknown. */
double precopy_measured_bandwidth(const struct precopy_vm *v);
const struct precopy_vcpu *precopy_vcpu(const struct precopy_vm *v, uint32_t ring_id);

#endif
