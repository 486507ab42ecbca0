/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `dirtytop tune`'s computation for one VM, apart from its printing: what
 * each vCPU's ring went through (observed), what every candidate ring size
 * would do (the simulation, core/ringsim.c), the memory it costs and the
 * recommendation with its reason.
 */
#ifndef DT_CORE_TUNE_PLAN_H
#define DT_CORE_TUNE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/model.h"
#include "core/ringsim.h"
#include "core/timeline.h"

/* A vCPU stalled more than this share of the trace did not show its demand: a lower bound. */
#define TUNE_SATURATED_FRAC 0.25
/* A vCPU stalled more than this share gets a note that its demand is an estimate. */
#define TUNE_ESTIMATE_FRAC 0.05

struct tune_vcpu_plan {
	const struct timeline_ring *ring;
	const struct vcpu_metrics *metrics;	/* the whole recording's, NULL if the model has none */
	double fill_rate, full_exits_s;		/* observed, per second of the VM's span */
	double stall_s;				/* observed (the model's, else the simulation's reading) */
	bool saturated;				/* stalled > TUNE_SATURATED_FRAC: its demand is hidden */
	uint32_t recommended;			/* its own smallest ring within the target; 0: bitmap */
};

struct tune_plan {
	uint32_t ring_size, soft_limit;		/* recorded (0: not known) */
	uint64_t start_ns, end_ns;		/* the span the VM was active in */
	double secs;
	size_t n_vcpus;
	struct tune_vcpu_plan *vcpus;		/* by vCPU id */
	struct ringsim_model model;		/* the VMM's reaping, inferred */
	struct ringsim_result results[RINGSIM_N_SIZES];	/* per candidate ringsim_size(i) */
	struct ringsim_result calibration;	/* at the recorded size (valid when ring_size) */
	bool calibration_own;			/* the recorded size is not a candidate: run apart */
	double observed_exits_s;		/* all vCPUs, for the calibration */
	uint32_t recommended;			/* smallest ring within the target for every vCPU; 0: bitmap */
	bool lower_bound;			/* a vCPU was saturated: the recommendation is at least this */
	uint64_t bytes_per_vcpu, bytes_per_vm;	/* memory of the recommended ring */
	int behind_vcpu;			/* first vCPU still behind its pace at 65536 entries; -1 none */
	int estimate_vcpu;			/* first vCPU stalled > TUNE_ESTIMATE_FRAC; -1 none */
};

/*
 * Plan the VM vm of the timeline (timeline_finish'ed) over [start_ns, end_ns]
 * (narrowed to the VM's own activity when it is shorter), with metrics its
 * summary (NULL if none). 0, or -1 when the VM has no ring (plan untouched).
 */
int tune_plan_vm(struct tune_plan *p, const struct timeline *t, const struct timeline_vm *vm,
		 const struct vm_metrics *metrics, uint64_t start_ns, uint64_t end_ns,
		 const struct ringsim_target *target);
void tune_plan_free(struct tune_plan *p);

#endif
