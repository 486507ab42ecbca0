/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Replay a recording: fold its events, in file order, into struct dt_vcpu /
 * dt_vm / dt_memslot with the functions of include/dt_agg.h (the ones the
 * live BPF side uses) and the same rules as bpf/live.bpf.c, and turn the
 * aggregates into a struct snapshot at the end of every time window, so
 * model.c computes the metrics exactly as for the live view. Pure C: no BPF,
 * no files.
 *
 * Every aggregate exists twice: [REPLAY_WIN], whose epoch advances at every
 * window (per-window maxima, as live), and [REPLAY_ALL], whose epoch never
 * does (whole-recording maxima, for the summary).
 */
#ifndef DT_SRC_REPLAY_H
#define DT_SRC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include "dt_live.h"
#include "core/model.h"
#include "core/recfile.h"

#ifndef REPLAY_MAX_WINDOWS
#define REPLAY_MAX_WINDOWS 100000	/* longer windows beyond */
#endif
#define REPLAY_WIN 0
#define REPLAY_ALL 1

/* Snapshot keys: like kernel addresses, bit 63 set (model.c takes others for grave keys). */
#define REPLAY_KEY(id) ((1ull << 63) | (uint64_t)(id))

struct replay_memslot {
	uint32_t slot;			/* as_id << 16 | id */
	struct dt_memslot v[2];
};

struct replay_heat {			/* pages dirtied per region (pushes + bitmap counts) */
	uint32_t slot, region;
	uint64_t pages;
};

struct replay_ring {
	uint32_t id;			/* the recording's ring id */
	uint32_t vm_id;
	bool have_info;			/* a ring info record was seen */
	uint32_t name_tid;		/* the thread thread_name belongs to */
	char thread_name[VM_THREAD_NAME_LEN];	/* its own name (1.1 thread name record), "" unknown */
	struct dt_vcpu v[2];
	struct dt_ring_ts rt;
};

struct replay_vm {
	uint32_t id;			/* the recording's VM id */
	bool have_info;
	char comm[16];
	bool have_identity;		/* a VM identity record was seen (1.1) */
	struct vm_identity identity;
	struct dt_vm v[2];
	struct replay_memslot *slots;
	size_t n_slots, cap_slots;
	struct replay_heat *heat;	/* open addressing on (slot, region) */
	size_t n_heat, cap_heat;
};

struct replay;

/*
 * Called at the end of every window with the windowed snapshot (ts_ns = the
 * window's end, epoch = the window's epoch).
 */
typedef void (*replay_window_fn)(void *ctx, struct replay *r, const struct snapshot *s,
				 uint64_t win_start_ns, uint64_t win_end_ns);

/* Sees every event after it was folded in (ring or vm may be NULL). */
struct replay_observer {
	void *ctx;
	void (*event)(void *ctx, struct replay *r, const struct rec_event *ev, uint8_t kind,
		      struct replay_ring *ring, struct replay_vm *vm);
	/* a full stall ended (the reset that brought the ring under its soft limit) */
	void (*stall)(void *ctx, struct replay *r, struct replay_ring *ring, uint64_t start_ns,
		      uint64_t end_ns);
};

/*
 * start_ns / end_ns: the recording's span (events outside it are counted in
 * the first / last window). window_ns: 0 for no windows; widened when the
 * span would need more than REPLAY_MAX_WINDOWS. heat_shift: log2(pages per
 * dirty heat region), >= 9 (2 MiB), as the live --heat-region.
 */
struct replay *replay_new(uint64_t start_ns, uint64_t end_ns, uint64_t window_ns, uint32_t heat_shift,
			  replay_window_fn fn, void *ctx);
void replay_set_observer(struct replay *r, const struct replay_observer *o);
uint64_t replay_window_ns(const struct replay *r);
void replay_apply(struct replay *r, const struct rec_record *rec);
/* Emit the remaining windows up to end_ns (the last one may be short). */
void replay_finish(struct replay *r);

/* The whole recording as one snapshot at end_ns; an empty one at start_ns (the baseline). */
void replay_summary(struct replay *r, struct snapshot *s);
void replay_baseline(struct replay *r, struct snapshot *s);

/* What was replayed. */
uint64_t replay_events(const struct replay *r, uint8_t kind);	/* kind 0: all */
const struct rec_stats *replay_stats(const struct replay *r);	/* the largest counts seen */
uint64_t replay_dropped(const struct replay *r);	/* events beyond the table limits */
size_t replay_n_rings(const struct replay *r);
struct replay_ring *replay_ring_at(struct replay *r, size_t i);
struct replay_ring *replay_ring_find(struct replay *r, uint32_t id);
size_t replay_n_vms(const struct replay *r);
struct replay_vm *replay_vm_at(struct replay *r, size_t i);
struct replay_vm *replay_vm_find(struct replay *r, uint32_t id);
uint64_t replay_start_ns(const struct replay *r);
uint64_t replay_end_ns(const struct replay *r);
void replay_free(struct replay *r);

/*
 * The process facts of a recorded VM (ctx: the replay): its comm and identity,
 * its vCPU threads' names; alive, the recording does not know exits.
 */
void replay_proc_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out);

#endif
