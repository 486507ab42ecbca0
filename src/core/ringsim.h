/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Trace-driven dirty ring simulation for `dirtytop tune`. Pure C: no BPF,
 * no files, no terminal.
 *
 * A recorded timeline of one VM (every vCPU's pushes, ring resets,
 * soft-full exits and KVM_RUN re-entries, and the VM's KVM_RESET_DIRTY_RINGS
 * calls with the thread that made them) is first turned into a model of the
 * VMM's reaping behaviour (ringsim_infer):
 *
 *   - periodic resets: the reset calls not made by a vCPU thread for its own
 *     soft-full exit (a reaper thread, the migration thread), replayed at
 *     their recorded times; each frees, in every ring, the entries pushed
 *     before its harvest (the harvest lag is inferred from the first entry
 *     the reset did not reclaim);
 *   - the reaction to a soft-full exit: the vCPU thread reaps itself
 *     (QEMU, dirtygen --full-action reap) after a latency, waits for the next
 *     reset (wait), or re-enters KVM_RUN while the ring is full (an exit
 *     storm, at the observed rate of exits per stalled second);
 *   - windows in which nobody reset although a vCPU waited (a stalled reaper):
 *     no reaction completes inside them;
 *   - per vCPU, the push rate it reaches when it runs behind (it catches up
 *     the pages it could not dirty while stalled, at most this fast).
 *
 * Then ringsim_run replays the recorded pushes (the guest's demand, in wall
 * clock time) against a ring of another size under that model: a vCPU whose
 * ring reaches the soft limit exits and stops pushing until the reaction (or
 * the reset it waits for) frees its ring; the pushes it could not make are
 * made after it resumes. The result is the predicted soft-full exits and
 * stall time per vCPU.
 */
#ifndef DT_SRC_RINGSIM_H
#define DT_SRC_RINGSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RINGSIM_MIN_SIZE 1024u
#define RINGSIM_MAX_SIZE 65536u
#define RINGSIM_N_SIZES 7		/* 1024, 2048, ..., 65536 */
#define RINGSIM_ENTRY_BYTES 16u		/* sizeof(struct kvm_dirty_gfn) */
#define RINGSIM_DEFAULT_RESERVE 64u	/* KVM_DIRTY_RING_RSVD_ENTRIES */

/* The candidate ring size number i (0 .. RINGSIM_N_SIZES-1). */
static inline uint32_t ringsim_size(int i)
{
	return RINGSIM_MIN_SIZE << i;
}

/* --- the recorded timeline --- */

struct ringsim_push {
	uint64_t ts;
	uint32_t index;			/* the ring's dirty_index after the push */
};

struct ringsim_ring_reset {		/* kvm_dirty_ring_reset of one ring */
	uint64_t ts;
	uint32_t dirty_index, reset_index;	/* after the reset */
	int32_t call;			/* index of its KVM_RESET_DIRTY_RINGS call, -1 unknown */
};

struct ringsim_reentry {
	uint64_t ts;
};

struct ringsim_vcpu_trace {
	int32_t vcpu_id;
	uint32_t tid;			/* vCPU thread, 0 unknown */
	const struct ringsim_push *pushes;
	size_t n_pushes;
	const struct ringsim_ring_reset *resets;
	size_t n_resets;
	const uint64_t *full_exits;	/* KVM_EXIT_DIRTY_RING_FULL times */
	size_t n_full_exits;
	const struct ringsim_reentry *reentries;	/* first KVM_RUN after a soft-full exit */
	size_t n_reentries;
};

struct ringsim_call {			/* KVM_RESET_DIRTY_RINGS */
	uint64_t start_ns, end_ns;
	uint32_t tid;			/* the thread that made it, 0 unknown */
};

struct ringsim_vm_trace {
	uint64_t start_ns, end_ns;	/* the span the trace covers */
	uint32_t ring_size, soft_limit;	/* as recorded (0: unknown) */
	const struct ringsim_vcpu_trace *vcpus;
	size_t n_vcpus;
	const struct ringsim_call *calls;	/* by start time */
	size_t n_calls;
};

/* --- the inferred behaviour --- */

enum ringsim_reaction {
	RINGSIM_REACT_REAP,		/* the vCPU thread reaps (resets) after a soft-full exit */
	RINGSIM_REACT_WAIT,		/* it waits for a reset by someone else */
	RINGSIM_REACT_RETRY,		/* it re-enters KVM_RUN while full: an exit storm until a reset */
};

const char *ringsim_reaction_name(enum ringsim_reaction r);

struct ringsim_periodic {
	uint64_t ts;			/* the reset call's end: entries are free from here on */
	uint64_t harvest_ns;		/* entries pushed before this are reclaimed */
};

struct ringsim_window {
	uint64_t from, to;		/* nobody reset in [from, to) although a vCPU waited */
};

struct ringsim_vcpu_model {
	double capacity;		/* pushes/s while catching up */
	double mean_rate;		/* pushes/s over the trace */
	uint64_t resume_ns;		/* median time from the freeing reset to KVM_RUN */
	/* what was observed, for the calibration shown next to the prediction */
	uint64_t obs_exits, obs_stalls;
	double obs_stall_s;
};

struct ringsim_model {
	enum ringsim_reaction reaction;
	bool reaction_observed;		/* false: no soft-full exit was recorded, reaction assumed */
	uint64_t react_ns;		/* reap-on-exit latency (exit to the freeing reset) */
	double storm_exits_s;		/* RETRY: soft-full exits per second while stalled */
	uint32_t reserve;		/* ring size - soft limit */
	struct ringsim_periodic *periodic;
	size_t n_periodic;
	struct ringsim_window *blocked;
	size_t n_blocked;
	uint64_t median_lag_ns;		/* of the periodic resets' harvests */
	uint64_t median_period_ns;	/* between periodic resets */
	struct ringsim_vcpu_model *vcpus;	/* like the trace's vcpus */
	size_t n_vcpus;
	uint64_t demand_calls;		/* reset calls made by vCPU threads after their soft-full exit */
};

/* 0, or -1 when the trace is unusable (no vCPU). */
int ringsim_infer(const struct ringsim_vm_trace *t, struct ringsim_model *m);
void ringsim_model_free(struct ringsim_model *m);

/* --- the prediction --- */

struct ringsim_vcpu_result {
	uint64_t exits;			/* soft-full exits */
	uint64_t stalls;
	double stall_s;			/* out of KVM_RUN because of a full ring */
	double exits_s, stall_frac;	/* per second of the trace */
	uint64_t pushes;		/* made within the trace */
	uint64_t behind;		/* demanded but not made by its end */
	uint32_t peak_used;
};

struct ringsim_result {
	uint32_t ring_size, soft_limit;
	double secs;
	struct ringsim_vcpu_result *vcpus;	/* like the trace's vcpus */
	size_t n_vcpus;
	double exits_s, stall_frac_sum;	/* summed over the vCPUs */
};

/* Replay the trace against rings of ring_size entries. 0, or -1 on a bad size. */
int ringsim_run(const struct ringsim_vm_trace *t, const struct ringsim_model *m, uint32_t ring_size,
		struct ringsim_result *out);
void ringsim_result_free(struct ringsim_result *r);

/* --- the recommendation --- */

struct ringsim_target {
	double max_exits_s;		/* per vCPU (default 1) */
	double max_stall_frac;		/* per vCPU (default 0.005) */
};

/*
 * The smallest candidate whose predicted exits and stall time stay within
 * the target for vCPU v (or for every vCPU, v < 0); 0 when none does (the
 * ring costs more than it saves: use the bitmap). results[i] is the
 * result for ringsim_size(i).
 */
uint32_t ringsim_recommend(const struct ringsim_result *results, int n, const struct ringsim_target *tg, int v);

#endif
