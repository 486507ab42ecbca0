/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The push/reset timeline of a recording, per ring and per VM: what the ring
 * simulation (core/ringsim.c) replays. A fold over the event stream beside
 * replay_apply (which folds into the live view's aggregates, and keeps no
 * per-event history); `dirtytop tune` feeds both from one pass.
 */
#ifndef DT_CORE_TIMELINE_H
#define DT_CORE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/recfile.h"
#include "core/ringsim.h"

#define TIMELINE_MAX_ID (1u << 22)	/* recording ids above it are dropped (the tables are indexed by id) */

struct timeline_ring {
	bool used;
	uint32_t id, vm_id, tid;
	int32_t vcpu_id;
	uint32_t ring_size, soft_limit;
	struct ringsim_push *pushes;
	size_t n_pushes, cap_pushes;
	struct ringsim_ring_reset *resets;
	size_t n_resets, cap_resets;
	uint64_t *full_exits;
	size_t n_full_exits, cap_full_exits;
	struct ringsim_reentry *reentries;
	size_t n_reentries, cap_reentries;
};

struct timeline_vm {
	bool used;
	uint32_t id, tgid;
	struct ringsim_call *resets;	/* its KVM_RESET_DIRTY_RINGS calls */
	size_t n_resets, cap_resets;
};

struct timeline {
	struct timeline_ring *rings;	/* by recording id */
	size_t n_rings;
	struct timeline_vm *vms;	/* by recording id */
	size_t n_vms;
	uint64_t dropped;		/* events of ids beyond TIMELINE_MAX_ID */
};

/* Add one record of the recording. */
void timeline_add(struct timeline *t, const struct rec_record *rec);
/*
 * After the last record: put every list in time order (a ring's events come
 * from its vCPU thread and the reapers) and link each ring reset to the
 * KVM_RESET_DIRTY_RINGS call it happened in.
 */
void timeline_finish(struct timeline *t);
void timeline_free(struct timeline *t);

/* The rings of VM vm_id, by vCPU id: an array the caller frees; its length in *n. */
struct timeline_ring **timeline_vm_rings(const struct timeline *t, uint32_t vm_id, size_t *n);

#endif
