/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `dirtytop report`'s file outputs (HTML, Perfetto) and what they share with
 * the command: finding a recording's VM or vCPU in the summary model, and
 * creating an output file. Below cmd/report.c, which calls them.
 */
#ifndef DT_OUT_REPORT_H
#define DT_OUT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/model.h"
#include "core/recording.h"
#include "core/replay.h"
#include "core/vm_filter.h"

/*
 * Create an output file (report --html / --perfetto): replaces an existing
 * regular file, never follows a symlink. NULL with a message in err.
 */
FILE *report_open_output(const char *path, char *err, size_t errlen);

/* The display number (vm_id) the summary model gave the recording's VM id; 0 if none. */
uint32_t report_vm_number(const struct model *summary, uint32_t rec_vm_id);
const struct vm_metrics *report_vm_metrics(const struct model *summary, uint32_t rec_vm_id);
const struct vcpu_metrics *report_vcpu_metrics(const struct model *summary, const struct replay_ring *ring);

/* --html: collects per-event series while the file is replayed, then writes one page (VMs: the summary's filter). */
struct html_report;
struct html_report *html_report_new(const struct recording *rec, uint32_t heat_shift);
void html_report_observer(struct html_report *h, struct replay_observer *o);
/* The migrations' downtime budget: bandwidth bytes/s (0: measured from the file), downtime s (0: 300 ms). */
void html_report_set_budget(struct html_report *h, double bandwidth, double downtime_s);
/* Each record of the file, in file order (the migrations' precopy passes). */
void html_report_record(struct html_report *h, const struct rec_record *rec);
int html_report_write(struct html_report *h, struct replay *r, const struct model *summary, FILE *out);
void html_report_free(struct html_report *h);

/* --perfetto: streams trace events while the file is replayed; only the VMs filter matches. */
struct perfetto_report;
struct perfetto_report *perfetto_report_new(const struct recording *rec, const struct vm_filter *filter, FILE *out);
void perfetto_report_observer(struct perfetto_report *p, struct replay_observer *o);
int perfetto_report_finish(struct perfetto_report *p, struct replay *r, const struct model *summary);
void perfetto_report_free(struct perfetto_report *p);

#endif
