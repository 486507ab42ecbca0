/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A recording run of `dirtytop record`, for the commands that record live (tune). */
#ifndef DT_CMD_RECORD_RUN_H
#define DT_CMD_RECORD_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dt_events.h"		/* DT_EVM_ALL */
#include "core/vm_filter.h"
#include "kernel/recorder.h"

struct record_args {
	const char *out;		/* the file's name, for messages */
	bool force, quiet, command_only;
	double duration;		/* 0: until a signal or COMMAND's end */
	struct vm_filter filter;
	struct recorder_opts ro;	/* ro.tgid and ro.follow follow filter and command_only */
	char **command;			/* NULL: none */
};

#define RECORD_DEFAULTS                                                                         \
	{ .hooks = HOOK_AUTO, .events_mask = DT_EVM_ALL, .ringbuf_bytes = RECORDER_DEFAULT_RINGBUF, \
	  .block_events = RECORDER_DEFAULT_BLOCK_EVENTS, .level = 1 }

/*
 * Record into fd (opened by rec_open_output) until a signal, a->duration or
 * COMMAND's end; messages on stderr. The exit status (COMMAND's when it
 * failed); *started: the file holds a recording (else the caller removes it).
 */
int record_run(struct record_args *a, int fd, bool *started);

/*
 * Record live into a new temporary file (its name into path): for secs
 * seconds (0: until COMMAND ends), only process pid (0: all), or COMMAND
 * (NULL-terminated, may be NULL) and only its VMs. Returns the exit status.
 */
int record_to_temp_file(double secs, uint32_t pid, char **command, char *path, size_t pathlen);

#endif
