// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared by `dirtytop tune` and `dirtytop doctor`: the recording's span
 * (first pass, as `dirtytop report` does) and a live recording (the
 * recorder, as `dirtytop record` runs it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include "cmd/analysis.h"
#include "core/exit_status.h"
#include "cmd/record_run.h"
#include "kernel/loader.h"

uint64_t analysis_lost(const struct rec_stats *s, int kind)
{
	if (kind < 0 || kind >= REC_EVENT_KINDS)
		return 0;
	return s->lost[kind] + s->untracked[kind] + s->missed[kind];
}

static int open_file(const char *path, FILE **f, struct rec_reader **rd, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a recording (not a regular file)", path);
		close(fd);
		return -1;
	}
	*f = fdopen(fd, "rb");
	if (!*f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (recr_open(rd, *f, err, errlen) != REC_OK) {
		fclose(*f);
		*f = NULL;
		return -1;
	}
	return 0;
}

int analysis_span(const char *path, struct rec_span *out, char *err, size_t errlen)
{
	struct rec_reader *rd;
	struct rec_record rec;
	enum rec_status st;
	uint64_t stats_ts = 0;
	FILE *f;

	memset(out, 0, sizeof(*out));
	if (open_file(path, &f, &rd, err, errlen))
		return EXIT_RUNTIME;
	while ((st = recr_next(rd, &rec)) == REC_OK) {
		if (rec.kind != REC_STATS)
			continue;
		for (int i = 0; i < REC_EVENT_KINDS; i++) {
			if (rec.stats.lost[i] > out->stats.lost[i])
				out->stats.lost[i] = rec.stats.lost[i];
			if (rec.stats.untracked[i] > out->stats.untracked[i])
				out->stats.untracked[i] = rec.stats.untracked[i];
			if (rec.stats.missed[i] > out->stats.missed[i])
				out->stats.missed[i] = rec.stats.missed[i];
		}
		if (rec.stats.ts > stats_ts)
			stats_ts = rec.stats.ts;
	}
	out->status = st;
	snprintf(out->message, sizeof(out->message), "%s", recr_error(rd));
	out->blocks = recr_blocks(rd);
	out->h = *recr_header(rd);
	out->start_ns = out->h.start_mono_ns;
	if (recr_end(rd))
		out->end_ns = recr_end(rd)->end_mono_ns;
	else
		out->end_ns = recr_last_ts(rd) > stats_ts ? recr_last_ts(rd) : stats_ts;
	if (out->end_ns < out->start_ns)
		out->end_ns = out->start_ns;
	if (out->end_ns - out->start_ns > 366ull * 86400 * 1000000000ull)
		out->end_ns = out->start_ns + 366ull * 86400 * 1000000000ull;
	recr_free(rd);
	fclose(f);
	if (st != REC_END_CLEAN && st != REC_END_TRUNCATED) {
		snprintf(err, errlen, "%s: %s", path, out->message);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int analysis_open(const char *path, const struct rec_span *span, FILE **f, struct rec_reader **rd, char *err,
		  size_t errlen)
{
	if (open_file(path, f, rd, err, errlen))
		return -1;
	recr_limit_blocks(*rd, span->blocks);
	return 0;
}

int analysis_record(double secs, uint32_t pid, char **command, char *path, size_t pathlen)
{
	const char *dir = getenv("TMPDIR");
	struct record_args a = {
		.out = path, .force = true, .quiet = true, .duration = secs, .filter = { .tgid = pid },
		.ro = RECORD_DEFAULTS,
	};
	char err[512];
	bool started;
	int fd, ret;

	snprintf(path, pathlen, "%s/dirtytop-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "dirtytop: cannot create a temporary recording in %s: %s\n",
			dir && *dir ? dir : "/tmp", strerror(errno));
		return EXIT_RUNTIME;
	}
	close(fd);
	if (command && command[0]) {
		a.command = command;
		a.command_only = true;
	}
	a.ro.tgid = pid;
	a.ro.follow = a.command_only;
	if ((ret = loader_check_kernel(false, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return ret;
	}
	fd = rec_open_output(path, true, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return EXIT_RUNTIME;
	}
	ret = record_run(&a, fd, &started);
	if (close(fd) && started && !ret) {
		fprintf(stderr, "dirtytop: closing %s: %s\n", path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	return ret;
}
