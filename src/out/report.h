/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `dirtytop report`: what the outputs (text, JSON, HTML, Perfetto) share. */
#ifndef DT_SRC_REPORT_H
#define DT_SRC_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/model.h"
#include "core/recfile.h"
#include "core/replay.h"

/* What the reading of the file found. */
struct report_info {
	const char *path;
	struct rec_header h;
	enum rec_status status;		/* REC_END_CLEAN, REC_END_TRUNCATED, or an error read past (--salvage) */
	char message[600];		/* why the file ended where it did, when not cleanly */
	uint64_t blocks, events, bytes;	/* complete blocks, their events, bytes read */
	uint64_t start_ns, end_ns;	/* CLOCK_MONOTONIC span of the recording */
	uint64_t window_ns;
	uint32_t heat_shift;
	uint32_t filter_tgid;		/* --pid, 0: every VM */
	uint64_t counts[REC_LAST_EVENT + 1];	/* events by kind; [0]: all */
	struct rec_stats stats;			/* the largest lost counts written */
	uint32_t ring_sizes[64], soft_limits[64];	/* distinct ring sizes seen */
	size_t n_ring_sizes;
};

/* Wall-clock time (Unix seconds) of a CLOCK_MONOTONIC timestamp of the recording. */
double report_wall_time(const struct report_info *ri, uint64_t mono_ns);

/* Lost events of a kind: ring buffer full + untracked + missed by the kernel. */
uint64_t report_lost(const struct rec_stats *s, int kind);

/*
 * Create an output file (report --html / --perfetto): replaces an existing
 * regular file, never follows a symlink. NULL with a message in err.
 */
FILE *report_open_output(const char *path, char *err, size_t errlen);

/* The display number (vm_id) the summary model gave the recording's VM id; 0 if none. */
uint32_t report_vm_number(const struct model *summary, uint32_t rec_vm_id);
const struct vm_metrics *report_vm_metrics(const struct model *summary, uint32_t rec_vm_id);
const struct vcpu_metrics *report_vcpu_metrics(const struct model *summary, const struct replay_ring *ring);

/* --html: collects per-event series while the file is replayed, then writes one page. */
struct html_report;
struct html_report *html_report_new(const struct report_info *ri);
void html_report_observer(struct html_report *h, struct replay_observer *o);
int html_report_write(struct html_report *h, struct replay *r, const struct model *summary, FILE *out);
void html_report_free(struct html_report *h);

/* --perfetto: streams trace events while the file is replayed. */
struct perfetto_report;
struct perfetto_report *perfetto_report_new(const struct report_info *ri, FILE *out);
void perfetto_report_observer(struct perfetto_report *p, struct replay_observer *o);
int perfetto_report_finish(struct perfetto_report *p, struct replay *r, const struct model *summary);
void perfetto_report_free(struct perfetto_report *p);

/* JSON string escaping for the hand-written outputs. */
void report_json_string(FILE *f, const char *s);
/* HTML text escaping. */
void report_html_text(FILE *f, const char *s);

#endif
