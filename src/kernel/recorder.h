/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The recorder: bpf/record.bpf.c's ring buffer into a recording
 * (core/recfile). Ring and VM ids from the kernel side are described once,
 * with RING_INFO / VM_INFO records written before the first event that names
 * them; kernel addresses never reach this process. A block is written at
 * least every block_events events and every second, each ending with a STATS
 * record of the lost-event counters, so a file cut by a crash or SIGKILL
 * still says what the kernel could not deliver.
 *
 *	recorder_open -> recorder_attach -> (recorder_follow) -> recorder_begin
 *	-> recorder_poll until the caller stops -> recorder_finish -> recorder_close
 *
 * Used by `dirtytop record` and by the live mode of `dirtytop tune`.
 */
#ifndef DT_KERNEL_RECORDER_H
#define DT_KERNEL_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/recfile.h"
#include "kernel/loader.h"

#define RECORDER_DEFAULT_RINGBUF (64ull << 20)
#define RECORDER_DEFAULT_BLOCK_EVENTS 65536

struct recorder;

struct recorder_opts {
	enum hook_mode hooks;
	bool verbose;
	uint32_t tgid;			/* only this process's VMs; 0: every one */
	bool follow;			/* nobody's until recorder_follow (COMMAND's pid) */
	uint32_t events_mask;		/* DT_EVM(DT_EV_*); DT_EV_TID is always added */
	uint64_t ringbuf_bytes;		/* a power of two */
	uint32_t block_events;
	int level;			/* zlib 1..9 */
};

/* Check the kernel and load (not attached yet). 0, or an EXIT_* code and a message in err. */
int recorder_open(struct recorder **out, const struct recorder_opts *o, char *err, size_t errlen);
const char *recorder_hook_name(const struct recorder *r);
/* Events from now on (the header's start): 0, or EXIT_KERNEL and a message. */
int recorder_attach(struct recorder *r, char *err, size_t errlen);
/* With opts.follow: record the VMs of process pid, from now on. */
void recorder_follow(struct recorder *r, uint32_t pid);
/* Write the header into fd (cmdline: COMMAND, may be ""). 0, or -1 and a message. */
int recorder_begin(struct recorder *r, int fd, const char *cmdline, char *err, size_t errlen);
/*
 * Wait up to a few ms for events and write them (a block every second):
 * 0, or a negative errno when reading the ring buffer or writing the file
 * failed (the message is the caller's).
 */
int recorder_poll(struct recorder *r);
/* Whether the error of recorder_poll was the file's (else the ring buffer's). */
bool recorder_write_failed(const struct recorder *r);

/* The processes of the VMs recorded so far (distinct), at most max of them. */
size_t recorder_vmm_pids(const struct recorder *r, uint32_t *out, size_t max);
/* A TRAFFIC record: process tgid's TCP sockets had acknowledged bytes at ts (CLOCK_MONOTONIC). */
void recorder_add_traffic(struct recorder *r, uint32_t tgid, uint64_t ts, uint64_t bytes);

/*
 * Process tgid was seen gone: its VMs' info again, flagged DT_VM_EXITED (once
 * per VM), after the events read so far.
 */
void recorder_vmm_exited(struct recorder *r, uint32_t tgid);

struct recorder_result {
	struct rec_stats final;		/* the counters at the end */
	uint64_t events;		/* received */
	uint64_t bytes;			/* written */
	uint64_t start_mono_ns, end_mono_ns;
};
/* Detach, drain the ring buffer, write the trailer: 0, or the -errno of a failed write. */
int recorder_finish(struct recorder *r, struct recorder_result *res);
void recorder_close(struct recorder *r);

#endif
