/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The model, the doctor's findings and the exporter's own figures as the
 * Prometheus text exposition format (0.0.4) or OpenMetrics 1.0 (with sample
 * timestamps, for a recording replayed window by window).
 *
 * Samples are kept per metric family and joined at the end, because both
 * formats want every sample of a family in one group: a recording renders
 * many windows, each adding to every family. No I/O, no BPF: unit-tested.
 */
#ifndef DT_OUT_PROMETHEUS_H
#define DT_OUT_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/doctor_rules.h"
#include "core/model.h"

struct prom_buf {
	char *p;
	size_t len, cap;
};

void prom_buf_append(struct prom_buf *b, const char *s, size_t n);
void prom_buf_free(struct prom_buf *b);

enum prom_family {
	PF_VM_INFO,
	PF_RING_PUSHES,
	PF_RING_FULL_EXITS,
	PF_RING_FULL_STALLS,
	PF_RING_FULL_STALL_SECONDS,
	PF_RING_FULL_REENTRIES,
	PF_VCPU_HELD_SECONDS,
	PF_VCPU_USERSPACE_EXITS,
	PF_RING_RESETS,
	PF_RING_RESET_ENTRIES,
	PF_RING_SIZE,
	PF_RING_SOFT_LIMIT,
	PF_RING_OCCUPANCY,
	PF_RING_STALLED,
	PF_RESET_RINGS_CALLS,
	PF_RESET_RINGS_ENTRIES,
	PF_GET_LOG_CALLS,
	PF_GET_LOG_PAGES,
	PF_CLEAR_LOG_CALLS,
	PF_CLEAR_LOG_PAGES,
	PF_MEMSLOT_OPS,
	PF_DIRTY_LOGGING,
	PF_DIRTY_LOG_SWITCHES,
	PF_H_REAP_LATENCY,
	PF_H_FULL_STALL,
	PF_H_RESET_ENTRIES,
	PF_H_RESET_RINGS_LATENCY,
	PF_H_GET_LOG_LATENCY,
	PF_H_CLEAR_LOG_LATENCY,
	PF_DOCTOR_FINDINGS,
	PF_DOCTOR_FINDING,
	PF_BUILD_INFO,
	PF_SCRAPE_DURATION,
	PF_COLLECT_DURATION,
	PF_COLLECTIONS,
	PF_VMS,
	PF_VCPUS,
	PF_MAP_ENTRIES,
	PF_BPF_STATS_ENABLED,
	PF_BPF_PROG_RUN_SECONDS,
	PF_BPF_PROG_RUNS,
	PF_COUNT
};

struct prom_family_desc {
	const char *name;		/* counters: without _total */
	const char *type;		/* counter, gauge, histogram */
	const char *help;
};

const struct prom_family_desc *prom_family_desc(enum prom_family f);

struct prom_opts {
	bool openmetrics;		/* else the text format 0.0.4 */
	bool per_vcpu;			/* ring series per vCPU; else summed per VM */
};

struct prom_writer {
	struct prom_opts o;
	struct prom_buf fam[PF_COUNT];
	char ts[32];			/* " <timestamp>" appended to samples, or "" */
};

void prom_writer_init(struct prom_writer *w, const struct prom_opts *o);
/*
 * w, written and finished before, ready for the next text: its buffers kept
 * (at thousands of vCPUs, megabytes grown again at every scrape otherwise).
 */
void prom_writer_reuse(struct prom_writer *w, const struct prom_opts *o);
void prom_writer_free(struct prom_writer *w);
/* OpenMetrics: the samples that follow carry this time (seconds since the epoch); <= 0: none. */
void prom_set_timestamp(struct prom_writer *w, double unix_s);

/*
 * Every visible VM of the model. snap is the snapshot the model was just
 * updated with: the dirty-log ioctl histograms come from its memslots (NULL:
 * none). An exited VM is in the model one last interval, so its final
 * counts are rendered once more and then its series end.
 */
void prom_render_model(struct prom_writer *w, const struct model *m, const struct snapshot *snap);
/* One dirtytop_doctor_findings{id} per finding id (0 when it does not fire), one finding series each. */
void prom_render_findings(struct prom_writer *w, const struct doc_findings *f);

struct prom_bpf_prog {
	char name[16];
	uint64_t run_time_ns, run_cnt;
};

/* The exporter's own figures. */
struct prom_self {
	double scrape_s;		/* the previous scrape: collect + render */
	double collect_s;		/* this one's collection */
	uint64_t collections;
	uint64_t map_entries;
	int bpf_stats_enabled;		/* -1: unknown */
	const struct prom_bpf_prog *progs;
	size_t n_progs;
};
void prom_render_self(struct prom_writer *w, const struct prom_self *s);

void prom_render_build_info(struct prom_writer *w, const char *version);

/* Join the families (HELP and TYPE first; OpenMetrics: "# EOF" last) into out; w is left empty (prom_writer_reuse). */
void prom_finish(struct prom_writer *w, struct prom_buf *out);

#endif
