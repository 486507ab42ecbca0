/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What `dirtytop tune` and `dirtytop doctor` share: reading a recording, or making one live. */
#ifndef DT_SRC_ANALYSIS_H
#define DT_SRC_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "core/recfile.h"

struct rec_span {
	struct rec_header h;
	uint64_t start_ns, end_ns;	/* CLOCK_MONOTONIC */
	uint64_t blocks;		/* complete blocks: read no more in a second pass */
	enum rec_status status;		/* REC_END_CLEAN or REC_END_TRUNCATED */
	char message[600];
	struct rec_stats stats;		/* the largest lost counts */
};

/*
 * Pass 1 over a recording (core/recording.h's recording_scan, kept for doctor.c):
 * is it one, how long, what was lost. EXIT_* code, message in err.
 */
int analysis_span(const char *path, struct rec_span *out, char *err, size_t errlen);
/* Open it for a pass (recr_limit_blocks to span->blocks). 0, or -1 with a message. */
int analysis_open(const char *path, const struct rec_span *span, FILE **f, struct rec_reader **rd, char *err,
		  size_t errlen);

/*
 * Record live with `dirtytop record` into a new temporary file: for secs
 * seconds (0: until COMMAND ends), only process pid (0: all), or COMMAND
 * (NULL-terminated, may be NULL) and only its VMs. The path is written into
 * path. Returns record's exit status.
 */
int analysis_record(double secs, uint32_t pid, char **command, char *path, size_t pathlen);

/* Bytes the process's TCP sockets had acknowledged (its migration stream); -1 if unknown. */
int analysis_tcp_bytes_acked(pid_t pid, uint64_t *bytes);

#endif
