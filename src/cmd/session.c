// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "cmd/session.h"
#include "core/util.h"
#include "kernel/collector.h"
#include "sys/procinfo.h"

static volatile sig_atomic_t g_stop, g_child_exited, g_winch;
static int g_output_fd = -1;	/* stdout when not a terminal */

static void on_signal(int sig)
{
	if (sig == SIGCHLD) {
		g_child_exited = 1;
	} else if (sig == SIGWINCH) {
		g_winch = 1;
	} else {
		g_stop = 1;
		/*
		 * A write to a pipe nobody reads any more must not hold the stop:
		 * one cut short by this signal after it wrote a part is carried on
		 * by stdio, and exit flushes. Not for a terminal: its file is the
		 * shell's too. (fcntl is async-signal-safe.)
		 */
		if (g_output_fd >= 0) {
			int fl = fcntl(g_output_fd, F_GETFL);

			if (fl >= 0)
				fcntl(g_output_fd, F_SETFL, fl | O_NONBLOCK);
		}
	}
}

void session_begin(struct session *s, const struct session_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGINT, SIGTERM, SIGCHLD, SIGWINCH, SIGHUP };
	size_t n = o->hangup_stops ? 5 : 4;
	sigset_t mask;

	memset(s, 0, sizeof(*s));
	s->o = *o;
	g_output_fd = isatty(STDOUT_FILENO) ? -1 : STDOUT_FILENO;
	s->go = -1;
	/*
	 * Blocked but for ppoll/poll: no signal lands between a check and the
	 * wait. The stop signals only while session_wait decides: elsewhere one
	 * interrupts a write blocked on a full pipe (no SA_RESTART), or dirtytop
	 * under a reader that stopped reading could not be stopped.
	 */
	sigemptyset(&mask);
	for (size_t i = 0; i < n; i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, &s->orig);
	for (size_t i = 0; i < n; i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&s->stop_mask);
	sigaddset(&s->stop_mask, SIGINT);
	sigaddset(&s->stop_mask, SIGTERM);
	if (o->hangup_stops)
		sigaddset(&s->stop_mask, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &s->stop_mask, NULL);
	s->start_ns = s->tick_ns = dt_mono_ns();
	s->deadline_ns = o->duration_s > 0 ? s->start_ns + (uint64_t)(o->duration_s * 1e9) : UINT64_MAX;
}

pid_t session_spawn(struct session *s, char **argv, bool hold)
{
	int go[2] = { -1, -1 };
	pid_t pid;
	char c;

	if (hold && pipe2(go, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (hold) {
			close(go[1]);
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
		}
		sigprocmask(SIG_SETMASK, &s->orig, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "dirtytop: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (hold) {
		close(go[0]);
		if (pid < 0)
			close(go[1]);
		else
			s->go = go[1];
	}
	if (pid > 0)
		s->child = pid;
	return pid;
}

void session_release(struct session *s)
{
	if (s->go < 0)
		return;
	if (write(s->go, "g", 1) < 0) {
		/* the child reads EOF and goes on all the same */
	}
	close(s->go);
	s->go = -1;
}

void session_unblock(struct session *s)
{
	sigprocmask(SIG_SETMASK, &s->orig, NULL);
}

bool session_stopping(const struct session *s)
{
	(void)s;
	return g_stop;
}

bool session_child_ended(struct session *s)
{
	if (s->child > 0 && g_child_exited && waitpid(s->child, &s->child_status, WNOHANG) == s->child)
		s->child = -1;
	return s->child < 0;
}

void session_set_interval(struct session *s, double secs)
{
	s->o.interval_s = secs;
}

double session_interval(const struct session *s)
{
	return s->o.interval_s;
}

void session_baseline(struct session *s, struct collector *col, struct model *model)
{
	s->col = col;
	s->model = model;
	collector_snapshot(col, &s->snap);	/* counts before now are not this interval's */
	model_update(model, &s->snap, procinfo_lookup, NULL, NULL, NULL);
}

static enum session_tick wait_tick(struct session *s);

enum session_tick session_wait(struct session *s)
{
	enum session_tick t;

	sigprocmask(SIG_BLOCK, &s->stop_mask, NULL);
	t = wait_tick(s);
	sigprocmask(SIG_UNBLOCK, &s->stop_mask, NULL);
	return t;
}

static enum session_tick wait_tick(struct session *s)
{
	for (;;) {
		struct pollfd pfd = { .fd = s->o.input_fd, .events = POLLIN };
		bool input = s->o.input_fd >= 0 && s->o.on_input;
		/* from the last tick: an interval changed meanwhile counts at once */
		uint64_t next = s->tick_ns + (uint64_t)(s->o.interval_s * 1e9), now = dt_mono_ns();
		struct timespec left;
		int n;

		if (next > s->deadline_ns)
			next = s->deadline_ns;
		if (g_stop)
			return SESSION_STOP;
		if (now >= next) {
			/* the next interval starts where this one ended, unless refreshing fell behind */
			s->tick_ns = next + (uint64_t)(s->o.interval_s * 1e9) > now ? next : now;
			return next >= s->deadline_ns ? SESSION_LAST : SESSION_TICK;
		}
		left.tv_sec = (time_t)((next - now) / 1000000000ull);
		left.tv_nsec = (long)((next - now) % 1000000000ull);
		n = ppoll(input ? &pfd : NULL, input ? 1 : 0, &left, &s->orig);
		if (g_winch) {
			g_winch = 0;
			if (s->o.on_resize)
				s->o.on_resize(s->o.ctx);
		}
		if (s->child > 0 && session_child_ended(s)) {
			s->tick_ns = dt_mono_ns();
			return SESSION_LAST;
		}
		if (n > 0 && input && (pfd.revents & POLLIN) && !s->o.on_input(s->o.ctx))
			g_stop = 1;
	}
}

void session_refresh(struct session *s)
{
	struct key_list fvms = {}, fvcpus = {};

	collector_snapshot(s->col, &s->snap);
	model_update(s->model, &s->snap, procinfo_lookup, NULL, &fvms, &fvcpus);
	collector_forget(s->col, &fvms, &fvcpus);
	key_list_free(&fvms);
	key_list_free(&fvcpus);
}

bool session_done(struct session *s, enum session_tick t)
{
	s->done++;
	return t != SESSION_TICK || (s->o.iterations > 0 && s->done >= s->o.iterations) ||
	       dt_mono_ns() >= s->deadline_ns;
}

void session_end_command(struct session *s)
{
	if (s->go >= 0) {
		close(s->go);	/* EOF: it runs; end it */
		s->go = -1;
		kill(s->child, SIGKILL);
	} else if (s->child > 0) {
		kill(s->child, SIGTERM);
	}
	if (s->child > 0) {
		while (waitpid(s->child, &s->child_status, 0) < 0 && errno == EINTR)
			;
		s->child = -1;
	}
}

int session_end(struct session *s, int ret)
{
	/*
	 * Stopped by a signal: drop output a reader may never take (a write cut
	 * short by the signal leaves the rest buffered, and exit's flush would
	 * block on the full pipe again, with no signal left to end it).
	 */
	if (g_stop)
		__fpurge(stdout);
	session_end_command(s);
	sigprocmask(SIG_SETMASK, &s->orig, NULL);
	snapshot_free(&s->snap);
	if (!ret && WIFEXITED(s->child_status) && WEXITSTATUS(s->child_status)) {
		fprintf(stderr, "dirtytop: command exited with status %d\n", WEXITSTATUS(s->child_status));
		return WEXITSTATUS(s->child_status);
	}
	return ret;
}
