/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `dirtytop doctor`: findings over the model's per-interval metrics. Pure C:
 * no BPF, no terminal, no /proc, no sockets.
 *
 * doc_accumulate folds each interval of a model (live, or a replayed
 * recording's window) into per-VM and per-vCPU sums and worst intervals;
 * doc_evaluate turns them into findings, each with the numbers that
 * triggered it and a suggested action.
 */
#ifndef DT_SRC_DOCTOR_RULES_H
#define DT_SRC_DOCTOR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/model.h"
#include "core/precopy.h"

/* Finding ids. */
#define DOC_EXIT_STORM		"exit-storm"
#define DOC_REAPER_STALLED	"reaper-stalled"
#define DOC_REAPER_TOO_SLOW	"reaper-too-slow"
#define DOC_DOMINANT_VCPU	"dominant-vcpu"
#define DOC_NO_CONVERGE		"precopy-no-converge"
#define DOC_SLOW_GET_LOG	"slow-get-dirty-log"
#define DOC_SLOW_CLEAR_LOG	"slow-clear-dirty-log"
#define DOC_SLOW_MEMSLOT	"slow-memslot-ioctl"
#define DOC_LOG_FLAPPING	"dirty-log-flapping"
#define DOC_THROTTLED		"vcpu-throttled"

enum doc_severity { DOC_INFO, DOC_WARNING, DOC_CRITICAL };
const char *doc_severity_name(enum doc_severity s);

/* --- what was observed --- */

struct doc_vcpu {
	uint64_t key;
	int32_t vcpu_id;
	uint32_t tid;
	uint32_t ring_size, soft_limit;
	double secs;				/* observed */
	double pushes, full_exits, ring_resets, stall_s, held_s;
	uint64_t reentries_prev, reentries_full_prev, reentries, reentries_full;
	bool have_prev;
	uint32_t peak_used;
	double reap_interval_p50_us, reap_interval_max_us;	/* whole run */
	double longest_stall_us;		/* completed or ongoing */
	/* the worst interval for an exit storm */
	double storm_exits_s, storm_reentries_full_s, storm_resets_s, storm_fill_rate, storm_stall_frac;
	/* intervals in which the VMM held it out of KVM_RUN */
	double throttle_secs, throttle_pushes, throttle_held_s, throttle_exits, throttle_stall_s;
	uint64_t throttle_reentries, throttle_reentries_full;
	double max_fill_rate;
};

struct doc_slot_latency {
	uint32_t slot;
	uint64_t size;
	uint64_t calls;
	double p50_us, p99_us, max_us;
};

struct doc_vm {
	uint64_t key;
	uint32_t vm_id, pid;
	char comm[DT_COMM_LEN];
	char name[VM_NAME_LEN];			/* the VM's name, "" unknown */
	enum vm_tracking tracking;
	uint32_t ring_size, soft_limit;
	bool exited;
	double secs;
	double dirty_pages;			/* ring pushes, or the pages bitmap syncs found */
	double max_dirty_rate;			/* pages/s, worst interval */
	double log_secs, log_dirty_pages;	/* in the intervals its RAM was dirty-logged */
	uint64_t log_on_seen;
	bool first_sync_pending;		/* the next bitmap sync is the full one: skip its interval */
	uint64_t dirty_log_on0, dirty_log_off0, dirty_log_on, dirty_log_off;	/* at first sight, now */
	bool have_first;
	size_t rw_slots;			/* known writable memslots (RAM) */
	uint64_t slot_ops[DT_SLOT_OPS];
	struct quantiles slot_op_latency_us[DT_SLOT_OPS];	/* whole run */
	struct doc_slot_latency get_worst, clear_worst;	/* the memslot with the longest call */
	/* migration bandwidth, bytes/s, 0 unknown; set by the caller */
	double bandwidth;
	char bandwidth_source[64];
	struct doc_vcpu *vcpus;
	size_t n_vcpus, cap_vcpus;
};

struct doc_state {
	struct doc_vm *vms;
	size_t n_vms, cap_vms;
	double secs;				/* intervals folded in */
	uint64_t intervals;
};

void doc_state_init(struct doc_state *s);
void doc_state_free(struct doc_state *s);
/* Fold in the interval the model just computed (nothing for the baseline, interval_s == 0). */
void doc_accumulate(struct doc_state *s, const struct model *m);
struct doc_vm *doc_vm_find(struct doc_state *s, uint32_t vm_id);
/* Drop every VM of another process. */
void doc_state_keep_pid(struct doc_state *s, uint32_t tgid);

/* --- findings --- */

struct doc_thresholds {
	double storm_exits_s;		/* soft-full exits/s in one interval (100) */
	double storm_full_share;	/* of those, re-entries while still full (0.5) */
	double stalled_s;		/* one stall this long without a storm (1 s) */
	double slow_exits_s;		/* soft-full exits/s over the run for reaper-too-slow (1) */
	double throttle_held_frac;	/* held out of KVM_RUN with a free ring (0.05) */
	double dominant_share;		/* one vCPU's share of the VM's dirty rate (max(0.6, 1.5/n)); 0: default */
	double dominant_min_rate;	/* pages/s the VM must dirty for dominant-vcpu (1000) */
	double converge_ratio;		/* dirty rate / bandwidth (1.0) */
	double get_log_ms, clear_log_ms, memslot_ms;	/* longest call (10, 10, 50) */
	double flapping_cycles;		/* on/off per RAM slot (3) */
};

void doc_thresholds_default(struct doc_thresholds *t);

#define DOC_MAX_EVIDENCE 12

struct doc_evidence {
	const char *name;		/* static */
	double value;
	const char *unit;		/* static: "pages/s", "MiB/s", "s", "us", "ms", "entries", "" */
};

struct doc_finding {
	const char *id;			/* DOC_* */
	enum doc_severity severity;
	uint32_t vm_id, pid;
	char comm[DT_COMM_LEN];
	char name[VM_NAME_LEN];		/* the VM's name, "" unknown */
	int32_t vcpu_id;		/* -1: the VM */
	uint32_t tid;
	char summary[256];
	char action[768];
	struct doc_evidence ev[DOC_MAX_EVIDENCE];
	int n_ev;
};

struct doc_findings {
	struct doc_finding *v;
	size_t n, cap;
};

void doc_evaluate(const struct doc_state *s, const struct doc_thresholds *t, struct doc_findings *out);

/*
 * precopy-no-converge from a migration's passes (precopy_evaluate named it):
 * the numbers, the fix (bandwidth, downtime, dirty limit per VM and per vCPU
 * in ring mode, the ring's part), what auto-converge / dirty-limit do (t, when
 * QMP told), postcopy last.
 */
void doc_precopy_finding(struct doc_findings *f, uint32_t vm_id, const struct precopy_vm *v,
			 const struct precopy_verdict *vd, const char *bandwidth_source, const struct precopy_throttle *t);
void doc_findings_free(struct doc_findings *f);
/* Drop the findings of one id (the rate-only precopy-no-converge when the passes decide). */
void doc_findings_drop(struct doc_findings *f, const char *id);

/* The ring size (power of two, 1024..65536) that holds entries with room to spare; 0: none does. */
uint32_t doc_ring_size_for(double entries, uint32_t reserve);

#endif
