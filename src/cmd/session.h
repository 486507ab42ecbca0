/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A command's run with the live kernel side: its signals (SIGINT/SIGTERM
 * stop, SIGCHLD ends with COMMAND, SIGWINCH resizes), the COMMAND it
 * starts, and the interval loop of the live view and doctor: wait for the
 * end of the interval while serving the terminal and signals, then
 * snapshot the collector, update the model and forget what it dropped.
 * `dirtytop record` uses the signal and COMMAND half around its poll loop.
 *
 *	session_begin(&s, &opts);
 *	session_baseline(&s, col, &model);
 *	session_spawn(&s, command, false);
 *	while ((t = session_wait(&s)) != SESSION_STOP) {
 *		session_refresh(&s);
 *		...
 *		if (session_done(&s, t))
 *			break;
 *	}
 *	ret = session_end(&s, ret);
 */
#ifndef DT_CMD_SESSION_H
#define DT_CMD_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/model.h"

struct collector;

struct session_opts {
	double interval_s;		/* the refresh interval; session_set_interval changes it */
	double duration_s;		/* 0: no end but a signal, COMMAND's end or iterations */
	long iterations;		/* refreshes; 0: no limit */
	bool hangup_stops;		/* SIGHUP stops too (record) */
	/* the terminal screen: its input and size (live view with the TUI) */
	int input_fd;			/* -1: none */
	bool (*on_input)(void *ctx);	/* input is ready: false to stop */
	void (*on_resize)(void *ctx);	/* SIGWINCH */
	void *ctx;
};

struct session {
	struct session_opts o;
	sigset_t orig;			/* the mask before session_begin; COMMAND runs with it */
	sigset_t stop_mask;		/* SIGINT, SIGTERM (SIGHUP): blocked only while session_wait decides */
	pid_t child;			/* COMMAND: > 0 running, -1 ended, 0 none */
	int child_status;
	int go;				/* write end holding a COMMAND started with hold */
	uint64_t start_ns, tick_ns, deadline_ns;	/* CLOCK_MONOTONIC */
	long done;
	/* the live side's refresh (session_baseline) */
	struct collector *col;
	struct model *model;
	struct snapshot snap;
};

/* Block the signals it serves and catch them; starts the clock of --duration. */
void session_begin(struct session *s, const struct session_opts *o);
/*
 * Start COMMAND (NULL-terminated argv) with the signal mask of before. With
 * hold, it waits before exec until session_release (to filter on its pid
 * first). The pid, or -1 (errno set).
 */
pid_t session_spawn(struct session *s, char **argv, bool hold);
void session_release(struct session *s);
/* Let the signals in at any time (a loop that polls with a timeout, not session_wait). */
void session_unblock(struct session *s);
/* SIGINT, SIGTERM (or SIGHUP) came. */
bool session_stopping(const struct session *s);
/* COMMAND has ended (reaped now or before). */
bool session_child_ended(struct session *s);

/* The interval the loop waits for from now on (the TUI's interval keys). */
void session_set_interval(struct session *s, double secs);
double session_interval(const struct session *s);

/* The snapshot of the collector that intervals count from, into model. */
void session_baseline(struct session *s, struct collector *col, struct model *model);

enum session_tick {
	SESSION_STOP,			/* a signal: end without a refresh */
	SESSION_TICK,			/* the interval is over */
	SESSION_LAST,			/* COMMAND ended or --duration is over: refresh once more, then end */
};
/* Wait for the end of the interval (from the last one), serving input and signals. */
enum session_tick session_wait(struct session *s);
/* Snapshot the collector, update the model, delete what it forgot from the maps. */
void session_refresh(struct session *s);
/* After a refresh: true if it was the last (LAST, --iterations, --duration). */
bool session_done(struct session *s, enum session_tick t);

/* End COMMAND if it runs: SIGTERM, or SIGKILL if still held; reaped. */
void session_end_command(struct session *s);
/*
 * End COMMAND if it runs (SIGTERM), restore the signal mask, free the
 * snapshot. ret, or when ret is 0 and COMMAND exited with a failure, its
 * status (said on stderr).
 */
int session_end(struct session *s, int ret);

#endif
