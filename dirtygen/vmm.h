/* dirtygen: the KVM side (VMs, vCPUs, dirty ring / bitmap harvesting). */
#ifndef DIRTYGEN_VMM_H
#define DIRTYGEN_VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"

/* Both are in <linux/kvm.h> (and <asm/kvm.h> for the offset) since 5.11/5.19;
 * kept as fallbacks for older headers. */
#ifndef KVM_CAP_DIRTY_LOG_RING_ACQ_REL
#define KVM_CAP_DIRTY_LOG_RING_ACQ_REL 223
#endif
#ifndef KVM_EXIT_DIRTY_RING_FULL
#define KVM_EXIT_DIRTY_RING_FULL 31
#endif
/* virt/kvm/dirty_ring.c: KVM_DIRTY_RING_RSVD_ENTRIES (not in uapi) */
#define DG_KVM_DIRTY_RING_RSVD_ENTRIES 64

#define DG_CODE_GPA 0x1000ULL
#define DG_TSS_GPA 0xfffbd000ULL

struct dg_stall_rec {
	uint64_t exit_ns;
	uint64_t reset_ns;         /* filled from reset_idx when the JSON is written */
	uint64_t resume_ns;
	int64_t reset_idx;         /* index of that reset in vm->resets, -1 = none */
	uint64_t throttle_start_ns;/* throttle: the deliberate sleep began (0 = none) */
	uint64_t throttle_ns;      /* ... and lasted this long */
};

struct dg_progress_rec {
	uint64_t t_ns;
	uint64_t pages;            /* pages_written, exact at t_ns */
};

enum dg_slot_op { DG_OP_CREATE, DG_OP_DELETE, DG_OP_MOVE, DG_OP_FLAGS };

struct dg_slot_op_rec {
	enum dg_slot_op op;
	uint32_t slot;
	uint64_t gpa;
	uint64_t size;
	uint32_t flags;
	uint64_t start_ns;
	uint64_t end_ns;
	int64_t ret;               /* 0, or -errno */
};

struct dg_reset_rec {
	uint64_t start_ns;
	uint64_t end_ns;
	int64_t entries;   /* ioctl return value, or -errno */
};

/* --reap-mode checkpoint: one KVM_RUN of a vCPU, for the push times of its
 * entries (ring indexes [di_before, di_after) were pushed inside it) */
struct dg_run_rec {
	uint64_t enter_ns;         /* just before KVM_RUN */
	uint64_t exit_ns;          /* just after it returned */
	uint32_t di_before, di_after;
};
#define DG_RUN_LOG 4096            /* runs kept per vCPU (a ring) */

/* --reap-mode checkpoint: what one reset did to one vCPU's ring */
struct dg_reclaim_rec {
	uint64_t reset_idx;        /* in vm->resets */
	uint64_t reclaimed;        /* entries the reset gave back */
	int64_t lat_lo_ns, lat_hi_ns;   /* reap latency bounds, -1 = unknown / none */
};

/* --reap-mode checkpoint: one cycle of the reaper */
struct dg_ckpt_rec {
	uint64_t kick_ns;          /* pause requested, vCPUs kicked */
	uint64_t paused_ns;        /* every vCPU out of KVM_RUN and waiting */
	uint64_t resume_ns;        /* resumed (after the reset) */
	int64_t reset_idx;         /* its reset in vm->resets, -1 if not recorded */
};

struct dg_sync_rec {
	uint32_t slot;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t dirty_pages;
};

struct dg_slot {
	uint32_t id;
	uint64_t gpa;
	uint64_t size;
	uint64_t pages;
	uint64_t first_data_page;  /* index of its first page in data memory */
	uint32_t flags;
	void *hva;
	uint64_t *bitmap;          /* bitmap mode */
	uint64_t harvested;        /* ring entries naming this slot */
};

struct dg_vm;

struct dg_vcpu {
	struct dg_vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	struct kvm_dirty_gfn *ring;
	pthread_t thread;
	bool thread_started;
	pid_t tid;

	int64_t rate;
	bool idle;
	uint64_t batch;
	uint64_t first_page;       /* data page index */
	uint64_t pages;
	uint64_t gpa_base;
	uint64_t write_pages;      /* pages the loop touches (hot part) */
	uint32_t seed;

	uint64_t run_start_ns, run_end_ns;
	uint64_t pages_io;         /* batch * I/O exits (what pacing uses) */
	uint64_t pages_written;    /* exact retired writes, set at the end */

	/* ring harvesting: written under vm->mu; fetch also read lock-free */
	uint32_t fetch;
	uint64_t harvested;
	uint64_t foreign;          /* entries outside this vCPU's own range */
	uint64_t resets_at_create;

	/* exits */
	uint64_t exit_io, exit_full, exit_intr, exit_hlt, exit_other;

	/* soft-full stalls */
	struct dg_stall_rec *stalls;
	size_t nstalls, stalls_cap;
	uint64_t stalls_dropped;
	uint64_t stall_ns_total;
	bool stall_open;           /* a record awaits the next exit (reset_ns) */
	uint64_t stall_gen;        /* vm->reset_gen when the exited KVM_RUN began */

	/* ring index bookkeeping for re-fault accounting */
	uint32_t kdi;              /* lower bound of KVM's dirty_index */
	bool pending;              /* last full exit's write has not retired */
	uint32_t pend_idx;
	uint32_t pend_slot;
	uint64_t pend_off;
	uint64_t pend_gen;
	uint64_t refaults;
	uint64_t unretired;
	bool last_exit_io;

	uint64_t bitmap_dirty;     /* bitmap mode: dirty bits in this vCPU's range */

	/* progress samples (vCPU thread; the final one by the main thread) */
	struct dg_progress_rec *progress;
	size_t nprogress, progress_cap;
	uint64_t progress_dropped;
	uint64_t last_sample_ns;
	uint64_t last_exit_ns;     /* the last return from KVM_RUN */

	/* --full-action throttle */
	uint64_t throttles;
	uint64_t throttle_ns_total;

	/* --reap-mode checkpoint */
	struct dg_run_rec *runs;   /* DG_RUN_LOG entries, nruns written in all */
	uint64_t nruns;
	uint32_t reset_fetch;      /* fetch at the last reset: KVM's reset_index */
	struct dg_reclaim_rec *reclaims;
	size_t nreclaims, reclaims_cap;
	uint64_t reclaims_dropped;
	uint64_t latency_unknown;  /* reclaiming resets without latency bounds */
	uint64_t pauses;           /* checkpoint pauses taken */
};

struct dg_clear_bucket {
	uint64_t pages;
	uint64_t calls;
};

struct dg_vm {
	int index;
	int fd;
	const struct dg_config *cfg;
	const struct dg_layout *lay;
	pthread_mutex_t mu;        /* harvest + reset / sync of this VM */
	pthread_cond_t reset_cv;   /* broadcast after every reset */
	uint64_t reset_gen;        /* atomic: number of reset calls */
	uint64_t reset_started;    /* atomic: reset calls begun */

	uint8_t *code_mem;
	uint8_t *data_mem;
	size_t data_size;

	int nslots;                /* including slot 0 */
	struct dg_slot *slots;     /* [0] = code slot */
	/* memslot operations (KVM_SET_USER_MEMORY_REGION) that succeeded */
	uint64_t ms_create, ms_delete, ms_move, ms_flags, ms_log_on, ms_log_off;
	uint64_t slot_op_errors;   /* calls that failed */
	uint64_t slot_op_cycles;   /* --slot-ops cycles done */
	struct dg_slot_op_rec *slot_ops;
	size_t nslot_ops, slot_ops_cap;
	uint64_t slot_ops_dropped;
	struct dg_slot scratch;    /* --slot-ops: id slots + 1 */
	bool scratch_present;
	pthread_t slotop;
	bool slotop_started;

	int nvcpus;
	struct dg_vcpu *vcpus;
	uint32_t ring_entries;     /* 0 unless ring mode */

	uint64_t reset_calls;
	uint64_t entries_reset;
	uint64_t reset_errors;
	struct dg_reset_rec *resets;
	size_t nresets, resets_cap;
	uint64_t resets_dropped;
	uint64_t harvested;
	uint64_t foreign_slot;     /* entries naming a slot we do not have */

	uint64_t *regions;
	uint64_t nregions;

	uint64_t bitmap_syncs;
	uint64_t bitmap_dirty_pages;
	struct dg_sync_rec *syncs;
	size_t nsyncs, syncs_cap;
	uint64_t syncs_dropped;
	uint64_t clear_calls;
	uint64_t clear_pages;
	uint64_t clear_errors;
	struct dg_clear_bucket *clear_buckets;
	int nclear_buckets;

	pthread_t reaper;
	bool reaper_started;
	uint64_t reaper_ticks_missed;  /* periods skipped because a reap overran */

	/* --reap-mode checkpoint: the reaper pauses every vCPU thread */
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;    /* vCPUs: pause requested, or resumed */
	pthread_cond_t paused_cv;  /* reaper: one more vCPU paused or gone */
	int ckpt_req;              /* atomic; written under ckpt_mu */
	uint64_t ckpt_gen;         /* cycles resumed */
	int ckpt_active;           /* vCPU threads that must pause */
	int ckpt_paused;           /* ... and have */
	uint64_t ckpt_cycles;
	struct dg_ckpt_rec *ckpts;
	size_t nckpts, ckpts_cap;
	uint64_t ckpts_dropped;
};

struct dg_run {
	struct dg_config *cfg;
	struct dg_layout lay;
	int kvm_fd;
	int nvms;
	struct dg_vm *vms;
	uint64_t start_ns;
	uint64_t stop_ns;
	uint64_t end_ns;
	int stop_signal;           /* 0, SIGINT or SIGTERM */
	FILE *truth;               /* opened before setup so a bad path fails early */
};

/* Global control shared by all threads. */
extern volatile int dg_stop;       /* atomic */
extern volatile int dg_failed;     /* atomic: a thread hit a fatal error */

/* Set up /dev/kvm, VMs, memslots, vCPUs.  Returns 0, or the exit code
 * (1 runtime failure, 2 bad usage discovered against the kernel). */
int dg_setup(struct dg_run *r);
/* Start threads, run until duration/signal/failure, stop and do the final
 * harvest.  Returns 0 or 1. */
int dg_execute(struct dg_run *r);
/* Write the ground-truth JSON.  Returns 0 or 1. */
int dg_write_truth(const struct dg_run *r);
const char *dg_slot_op_name(enum dg_slot_op op);

#endif
