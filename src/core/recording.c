// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "core/recording.h"

#define MAX_SPAN_NS (366ull * 86400 * 1000000000ull)	/* a year: beyond it the timestamps are wrong */

enum rec_status recording_open(const char *path, FILE **f, struct rec_reader **rd, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum rec_status st;
	struct stat sb;

	*f = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return REC_ERR_IO;
	}
	if (fstat(fd, &sb)) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		close(fd);
		return REC_ERR_IO;
	}
	/* a FIFO or a device would block or read forever, and a second pass could not reread it */
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, S_ISDIR(sb.st_mode) ? "%s is a directory, not a recording"
							  : "%s is not a recording (not a regular file)", path);
		close(fd);
		return REC_ERR_FOREIGN;
	}
	*f = fdopen(fd, "rb");
	if (!*f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		close(fd);
		return REC_ERR_IO;
	}
	st = recr_open(rd, *f, err, errlen);
	if (st != REC_OK) {
		fclose(*f);
		*f = NULL;
	}
	return st;
}

static void scan_record(struct recording *rec, const struct rec_record *r, uint64_t *stats_ts)
{
	if (rec_is_event(r->kind)) {
		rec->counts[0]++;	/* events in the file */
		rec->counts[r->kind]++;
		if (r->kind == REC_BATCH)
			rec->counts[REC_PUSH] += r->batch.n;	/* push: pushes, however stored */
		return;
	}
	if (r->kind == REC_STATS) {
		for (int i = 0; i < REC_EVENT_KINDS; i++) {
			if (r->stats.lost[i] > rec->stats.lost[i])
				rec->stats.lost[i] = r->stats.lost[i];
			if (r->stats.untracked[i] > rec->stats.untracked[i])
				rec->stats.untracked[i] = r->stats.untracked[i];
			if (r->stats.missed[i] > rec->stats.missed[i])
				rec->stats.missed[i] = r->stats.missed[i];
		}
		if (r->stats.ts > *stats_ts)
			*stats_ts = r->stats.ts;
	} else if (r->kind == REC_RING_INFO && r->ring.ring_size) {
		size_t j;

		for (j = 0; j < rec->n_ring_sizes && rec->ring_sizes[j] != r->ring.ring_size; j++)
			;
		if (j == rec->n_ring_sizes && j < sizeof(rec->ring_sizes) / sizeof(rec->ring_sizes[0])) {
			rec->ring_sizes[j] = r->ring.ring_size;
			rec->soft_limits[j] = r->ring.soft_limit;
			rec->n_ring_sizes++;
		}
	}
}

enum rec_status recording_scan(const char *path, struct recording *rec, char *err, size_t errlen)
{
	struct rec_reader *rd;
	struct rec_record r;
	uint64_t stats_ts = 0;
	enum rec_status st;
	FILE *f;

	memset(rec, 0, sizeof(*rec));
	rec->path = path;
	st = recording_open(path, &f, &rd, err, errlen);
	if (st != REC_OK)
		return st;
	while ((st = recr_next(rd, &r)) == REC_OK)
		scan_record(rec, &r, &stats_ts);
	rec->status = st;
	if (st != REC_END_CLEAN)
		snprintf(rec->message, sizeof(rec->message), "%s", recr_error(rd));
	rec->blocks = recr_blocks(rd);
	rec->events = recr_events(rd);
	rec->bytes = recr_offset(rd);
	rec->h = *recr_header(rd);
	rec->start_ns = rec->h.start_mono_ns;
	if (recr_end(rd))
		rec->end_ns = recr_end(rd)->end_mono_ns;
	else
		rec->end_ns = recr_last_ts(rd) > stats_ts ? recr_last_ts(rd) : stats_ts;
	if (rec->end_ns < rec->start_ns)
		rec->end_ns = rec->start_ns;
	if (rec->end_ns - rec->start_ns > MAX_SPAN_NS)
		rec->end_ns = rec->start_ns + MAX_SPAN_NS;
	recr_free(rd);
	fclose(f);
	return REC_OK;
}

int recording_load(const char *path, struct recording *rec, const char *prog, bool salvage, FILE *diag)
{
	char err[700];

	if (recording_scan(path, rec, err, sizeof(err)) != REC_OK) {
		if (diag)
			fprintf(diag, "%s: %s\n", prog, err);
		return -1;
	}
	if (!recording_readable(rec)) {
		if (!salvage) {
			if (diag)
				fprintf(diag, "%s: %s: %s\n", prog, path, rec->message);
			if (diag && rec->status == REC_ERR_CORRUPT && rec->blocks)
				fprintf(diag, "%s: the %llu blocks before it are intact: --salvage reports them\n", prog,
					(unsigned long long)rec->blocks);
			return -1;
		}
		if (diag)
			fprintf(diag, "%s: %s: %s; reporting the %llu blocks before it (--salvage)\n", prog, path,
				rec->message, (unsigned long long)rec->blocks);
	} else if (rec->status == REC_END_TRUNCATED && diag) {
		fprintf(diag, "%s: warning: %s: %s\n", prog, path, rec->message);
	}
	return 0;
}

int recording_reopen(const struct recording *rec, FILE **f, struct rec_reader **rd, char *err, size_t errlen)
{
	if (recording_open(rec->path, f, rd, err, errlen) != REC_OK)
		return -1;
	recr_limit_blocks(*rd, rec->blocks);
	return 0;
}

uint64_t recording_lost(const struct rec_stats *s, int kind)
{
	if (kind < 0 || kind >= REC_EVENT_KINDS)
		return 0;
	return s->lost[kind] + s->untracked[kind] + s->missed[kind];
}

double recording_wall_time(const struct recording *rec, uint64_t mono_ns)
{
	int64_t d = (int64_t)(mono_ns - rec->h.start_mono_ns);

	return ((double)rec->h.start_wall_ns + (double)d) / 1e9;
}
