// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A minimal QMP client: one command at a time, events skipped. QEMU serves
 * one client per QMP socket: give QEMU a second -qmp socket for dirtytop
 * when something else holds the first.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <yajl/yajl_tree.h>
#include "sys/qmp.h"

#define QMP_TIMEOUT_MS 5000

struct qmp {
	int fd;
	char buf[65536];
	size_t len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The member name of object o, or NULL. */
static yajl_val member(yajl_val o, const char *name)
{
	const char *path[] = { name, NULL };

	return o ? yajl_tree_get(o, path, yajl_t_any) : NULL;
}

static double number_of(yajl_val v)
{
	if (YAJL_IS_INTEGER(v))
		return (double)YAJL_GET_INTEGER(v);
	return YAJL_IS_DOUBLE(v) ? YAJL_GET_DOUBLE(v) : 0;
}

/* A reply's member that is a string, or dflt. */
static const char *string_of(yajl_val v, const char *dflt)
{
	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : dflt;
}

/* The next line QEMU sent, as JSON; NULL on timeout, EOF or garbage. */
static yajl_val read_msg(struct qmp *q, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + QMP_TIMEOUT_MS;

	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);

		if (nl) {
			yajl_val o;

			*nl = 0;
			o = yajl_tree_parse(q->buf, NULL, 0);
			q->len -= (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->len);
			if (!o) {
				snprintf(err, errlen, "QMP sent something that is not JSON");
				return NULL;
			}
			return o;
		}
		if (q->len >= sizeof(q->buf) - 1) {
			snprintf(err, errlen, "QMP sent a line longer than %zu bytes", sizeof(q->buf));
			return NULL;
		}
		{
			struct pollfd p = { .fd = q->fd, .events = POLLIN };
			int64_t left = deadline - now_ms();
			ssize_t n;

			if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
				snprintf(err, errlen, "QMP did not answer within %d ms", QMP_TIMEOUT_MS);
				return NULL;
			}
			n = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
			if (n <= 0) {
				snprintf(err, errlen, "QMP closed the connection%s",
					 n < 0 ? "" : " (is another client connected? QEMU serves one per socket)");
				return NULL;
			}
			q->len += (size_t)n;
		}
	}
}

/* Run a command; the reply (free with yajl_tree_free; its "return" is the value), NULL on error. */
static yajl_val command(struct qmp *q, const char *cmd, char *err, size_t errlen)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);

	if (send(q->fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		snprintf(err, errlen, "writing to QMP: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		yajl_val o = read_msg(q, err, errlen), v;

		if (!o)
			return NULL;
		if ((v = member(o, "return")))
			return o;
		if ((v = member(o, "error"))) {
			snprintf(err, errlen, "QMP %s: %s", cmd, string_of(member(v, "desc"), "error"));
			yajl_tree_free(o);
			return NULL;
		}
		yajl_tree_free(o);	/* an event */
	}
}

struct qmp *qmp_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp *q;
	yajl_val o;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "QMP socket path too long: %s", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "cannot connect to the QMP socket %s: %s", path, strerror(errno));
		qmp_close(q);
		return NULL;
	}
	o = read_msg(q, err, errlen);	/* the greeting */
	if (!o || !member(o, "QMP")) {
		char why[200];

		snprintf(why, sizeof(why), "%s", o ? "its greeting has no \"QMP\"" : err);
		snprintf(err, errlen, "%s is not a QMP socket: %s", path, why);
		yajl_tree_free(o);
		qmp_close(q);
		return NULL;
	}
	yajl_tree_free(o);
	o = command(q, "qmp_capabilities", err, errlen);
	if (!o) {
		qmp_close(q);
		return NULL;
	}
	yajl_tree_free(o);
	return q;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}

static pid_t tgid_of(long tid)
{
	char path[64], line[128];
	FILE *f;
	pid_t pid = 0;

	snprintf(path, sizeof(path), "/proc/%ld/status", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Tgid:", 5)) {
			pid = (pid_t)atol(line + 5);
			break;
		}
	fclose(f);
	return pid;
}

int qmp_migration(struct qmp *q, struct qmp_migration *out, char *err, size_t errlen)
{
	yajl_val o, r, v;

	memset(out, 0, sizeof(*out));
	o = command(q, "query-migrate", err, errlen);
	if (!o)
		return -1;
	r = member(o, "return");
	snprintf(out->status, sizeof(out->status), "%s", string_of(member(r, "status"), "none"));
	if (!strcmp(out->status, "active") && (v = member(member(r, "ram"), "mbps")))
		out->mbps = number_of(v);
	if ((v = member(member(r, "ram"), "remaining")))
		out->remaining = number_of(v);
	if ((v = member(r, "cpu-throttle-percentage")))
		out->throttle_pct = number_of(v);
	if ((v = member(r, "dirty-limit-throttle-time-per-round")))
		out->dirty_limit_us = number_of(v);
	yajl_tree_free(o);
	o = command(q, "query-migrate-parameters", err, errlen);
	if (!o)
		return -1;
	if ((v = member(member(o, "return"), "max-bandwidth")))
		out->max_bandwidth = YAJL_IS_INTEGER(v) ? (uint64_t)YAJL_GET_INTEGER(v) : (uint64_t)number_of(v);
	if ((v = member(member(o, "return"), "downtime-limit")))
		out->downtime_limit_ms = number_of(v);
	yajl_tree_free(o);
	o = command(q, "query-migrate-capabilities", err, errlen);
	if (o) {
		r = member(o, "return");
		for (size_t i = 0; YAJL_IS_ARRAY(r) && i < r->u.array.len; i++) {
			const char *cap = string_of(member(r->u.array.values[i], "capability"), "");
			bool on = YAJL_IS_TRUE(member(r->u.array.values[i], "state"));

			if (!strcmp(cap, "auto-converge"))
				out->auto_converge = on;
			else if (!strcmp(cap, "dirty-limit"))
				out->dirty_limit = on;
		}
		yajl_tree_free(o);
	}
	o = command(q, "query-cpus-fast", err, errlen);
	if (o) {
		r = member(o, "return");
		for (size_t i = 0; YAJL_IS_ARRAY(r) && i < r->u.array.len; i++)
			if ((v = member(r->u.array.values[i], "thread-id")) &&
			    (out->pid = tgid_of((long)number_of(v))))
				break;
		yajl_tree_free(o);
	}
	out->ok = true;
	return 0;
}
