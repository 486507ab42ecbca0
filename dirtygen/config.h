/* dirtygen: configuration, option parsing and the pure arithmetic
 * (memory layout, pacing, stall windows).  Nothing in here talks to KVM. */
#ifndef DIRTYGEN_CONFIG_H
#define DIRTYGEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DG_VERSION 1

#define DG_PAGE_SIZE 4096ULL
#define DG_PAGE_SHIFT 12
#define DG_CODE_SLOT_SIZE (1ULL << 20)   /* slot 0: GPA 0, 1 MiB, not logged */
#define DG_DATA_GPA DG_CODE_SLOT_SIZE    /* data memory starts at 1 MiB */
#define DG_MAX_MEM_MIB 3072ULL           /* keeps all data below 4 GiB (32-bit guest) */
#define DG_MAX_VMS 64
#define DG_MAX_VCPUS 1024
#define DG_MAX_SLOTS 4096
#define DG_IO_PORT 0x10
#define DG_RATE_IDLE (-1)                /* vCPU halts, never writes */
#define DG_UNBOUNDED_BATCH 256ULL
/* Ring modes: at most this many pages per KVM_RUN between I/O exits.  KVM
 * keeps 64 ring entries in reserve above the soft limit; a kernel that acts
 * on the soft-full request only when KVM_RUN is entered again (seen with
 * kvm_pvm) keeps pushing until the next exit to userspace, and more than 64
 * pushes after the soft limit overflow the ring (WARN in
 * kvm_dirty_ring_push, lost entries, endless soft-full exits). */
#define DG_RING_MAX_BATCH 64ULL

enum dg_mode { DG_MODE_RING, DG_MODE_RING_ACQREL, DG_MODE_BITMAP, DG_MODE_NONE };
enum dg_pattern { DG_PAT_SEQ, DG_PAT_RANDOM, DG_PAT_HOT };
enum dg_full_action { DG_FULL_REAP, DG_FULL_WAIT, DG_FULL_RETRY, DG_FULL_THROTTLE };
/* periodic: harvest and reset while the vCPUs run; checkpoint: pause them first */
enum dg_reap_mode { DG_REAP_PERIODIC, DG_REAP_CHECKPOINT };

/* --slot-ops: the scratch memslot (id --slots + 1) the guest never touches */
#define DG_SCRATCH_SIZE (2ULL << 20)
#define DG_SCRATCH_ALIGN (2ULL << 20)

struct dg_stall {
	uint64_t at_ms;
	uint64_t for_ms;
};

struct dg_config {
	int vms;
	int vcpus;
	uint64_t mem_mib;
	int slots;
	enum dg_mode mode;
	uint32_t ring_size;        /* entries per vCPU */
	bool manual_protect;
	bool initially_set;
	uint64_t clear_chunk;      /* pages, 0 = whole slot */
	enum dg_pattern pattern;
	int hot_pct;               /* for DG_PAT_HOT */
	int64_t *rates;            /* pages/s, 0 = unbounded, DG_RATE_IDLE = idle */
	int nrates;
	uint64_t batch;            /* 0 = default per vCPU rate */
	uint64_t reap_interval_ms;  /* truth only: reap_period_us / 1000, rounded down */
	uint64_t reap_period_us;   /* the reaper's period */
	enum dg_reap_mode reap_mode;
	uint32_t latency_group;    /* checkpoint truth: latency from a group's first entry */
	uint64_t reap_delay_ms;
	enum dg_full_action full_action;
	struct dg_stall *stalls;
	int nstalls;
	double duration_s;         /* 0 = until SIGINT/SIGTERM */
	const char *truth_path;
	bool quiet;
	unsigned region_shift;
	uint32_t seed;
	uint64_t retry_delay_us;
	const char *kvm_dev;
	uint64_t max_records;      /* cap per record array (stalls, resets, syncs, ...) */
	uint64_t progress_ms;      /* per-vCPU progress sample period, 0 = off */
	uint64_t slot_ops;         /* memslot op cycles per VM */
	uint64_t slot_ops_interval_ms;
	bool slot_ops_toggle_data; /* each cycle also toggles logging on the data slots */
	uint64_t throttle_ms;      /* DG_FULL_THROTTLE: fixed sleep, or */
	uint64_t throttle_rate;    /* ... sleep to keep the average at this pages/s */
};

/* Memory layout of one VM (identical for all VMs). */
struct dg_layout {
	uint64_t data_pages;       /* pages of data memory */
	uint64_t slot_pages;       /* pages per data slot (last slot gets the rest) */
	uint64_t pages_per_vcpu;   /* pages each vCPU owns */
	uint64_t hot_pages;        /* pages a vCPU writes (== pages_per_vcpu unless hot) */
};

/* Parse argv.  Returns 0 when the program should run, 1 when it printed
 * help/version (exit 0), 2 on a usage error (message already printed). */
int dg_parse_args(int argc, char **argv, struct dg_config *cfg);
void dg_config_free(struct dg_config *cfg);

/* Validate the memory layout; prints a message naming the flag and returns
 * -1 on error. */
int dg_compute_layout(const struct dg_config *cfg, struct dg_layout *lay);

/* Pages of data slot i (0-based; slot id i+1) and its first data page. */
uint64_t dg_slot_pages(const struct dg_config *cfg, const struct dg_layout *lay, int i);
uint64_t dg_slot_first_page(const struct dg_layout *lay, int i);

int64_t dg_rate_for(const struct dg_config *cfg, int vcpu_index);
uint64_t dg_batch_for(const struct dg_config *cfg, int64_t rate);

/* GPA of the scratch memslot before (0) and after (1) its move: above all
 * data memory, 2 MiB aligned. */
uint64_t dg_scratch_gpa(const struct dg_config *cfg, int which);

/* start + pages / rate seconds, in ns (rate > 0). */
uint64_t dg_pace_target_ns(uint64_t start_ns, uint64_t pages, uint64_t rate);

/* If now lies inside a --stall window (windows measured from start_ns),
 * return the end of that window (following overlapping/adjacent windows);
 * otherwise return 0. */
uint64_t dg_stall_end(const struct dg_config *cfg, uint64_t start_ns, uint64_t now_ns);

const char *dg_mode_name(enum dg_mode m);
const char *dg_full_action_name(enum dg_full_action a);
const char *dg_reap_mode_name(enum dg_reap_mode m);
/* "sequential", "random" or "hot:P" into buf. */
const char *dg_pattern_name(const struct dg_config *cfg, char *buf, size_t len);

bool dg_is_pow2(uint64_t v);
uint64_t dg_now_ns(void);

#endif
