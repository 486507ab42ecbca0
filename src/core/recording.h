/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A recording file as every offline command (report, tune, doctor) opens it:
 * one set of checks (a regular file that is a recording), then a first pass
 * that finds how it ends, its span, its event counts and what was lost, and
 * a reopen for the second pass that reads no more than the first one did.
 */
#ifndef DT_CORE_RECORDING_H
#define DT_CORE_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/recfile.h"

struct recording {
	const char *path;
	struct rec_header h;
	enum rec_status status;		/* REC_END_CLEAN, REC_END_TRUNCATED, or the error that ended the pass */
	char message[600];		/* why the file ended where it did, when not cleanly */
	uint64_t blocks, events, bytes;	/* complete blocks (a second pass reads no more), their events, bytes */
	uint64_t start_ns, end_ns;	/* CLOCK_MONOTONIC span */
	uint64_t counts[REC_LAST_EVENT + 1];	/* events by kind; [0]: all */
	struct rec_stats stats;			/* the largest lost counts written (they are cumulative) */
	uint32_t ring_sizes[64], soft_limits[64];	/* distinct ring sizes seen */
	size_t n_ring_sizes;
};

/*
 * Open path and read its header: REC_OK, or the reason it is not a recording
 * (a directory, not a regular file, unreadable, foreign, newer) in err.
 */
enum rec_status recording_open(const char *path, FILE **f, struct rec_reader **rd, char *err, size_t errlen);

/*
 * The first pass: open path and read it to its end. REC_OK with the findings
 * in *rec (rec->status says how the file ended, possibly an error), or the
 * status recording_open failed with, message in err.
 */
enum rec_status recording_scan(const char *path, struct recording *rec, char *err, size_t errlen);

/* Whether the first pass read to a clean or a truncated end (else --salvage territory). */
static inline bool recording_readable(const struct recording *rec)
{
	return rec->status == REC_END_CLEAN || rec->status == REC_END_TRUNCATED;
}

/*
 * The first pass as every offline command starts (report, tune, doctor, the
 * exporter): scan path, refuse a file that does not read to a clean or a
 * truncated end, warn of a truncated one. Messages go to diag (NULL: none),
 * each prefixed "prog: ". With salvage, a corrupt file's intact blocks before
 * the damage are taken (said on diag) instead of refused. 0 with *rec filled
 * (read it with recording_reopen), or -1.
 */
int recording_load(const char *path, struct recording *rec, const char *prog, bool salvage, FILE *diag);

/* Open the file again for a second pass, limited to the blocks the first pass read. 0, or -1 and err. */
int recording_reopen(const struct recording *rec, FILE **f, struct rec_reader **rd, char *err, size_t errlen);

/* Lost events of a kind: ring buffer full + untracked + missed by the kernel. */
uint64_t recording_lost(const struct rec_stats *s, int kind);

/* Wall-clock time (Unix seconds) of a CLOCK_MONOTONIC timestamp of the recording. */
double recording_wall_time(const struct recording *rec, uint64_t mono_ns);

#endif
