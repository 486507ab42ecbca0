// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop report FILE`: the live view's metrics from a recording, over the
 * whole recording and per time window.
 *
 * The file is read twice: a first pass validates it and finds its span (and
 * where it ends, if it was cut), the second replays it (src/replay.c) into
 * snapshots that model.c turns into metrics, printed by the live view's own
 * text and JSON views; --html and --perfetto observe the second pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "core/exit_status.h"
#include "out/report.h"
#include "cmd/commands.h"
#include "core/units.h"
#include "out/views.h"

struct report {
	struct report_info ri;
	struct view_opts vo;
	struct vm_filter filter;	/* --pid */
	bool json, text, summary_only;
	struct model wmodel;		/* per window */
	uint64_t nwin;
	FILE *out;
};

double report_wall_time(const struct report_info *ri, uint64_t mono_ns)
{
	int64_t d = (int64_t)(mono_ns - ri->h.start_mono_ns);

	return ((double)ri->h.start_wall_ns + (double)d) / 1e9;
}

uint64_t report_lost(const struct rec_stats *s, int kind)
{
	if (kind < 0 || kind >= REC_EVENT_KINDS)
		return 0;
	return s->lost[kind] + s->untracked[kind] + s->missed[kind];
}

FILE *report_open_output(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s is a symbolic link: refusing to follow it", path);
		else
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

const struct vm_metrics *report_vm_metrics(const struct model *summary, uint32_t rec_vm_id)
{
	for (size_t i = 0; summary && i < summary->n_vms; i++)
		if (summary->vms[i].key == REPLAY_KEY(rec_vm_id))
			return &summary->vms[i];
	return NULL;
}

uint32_t report_vm_number(const struct model *summary, uint32_t rec_vm_id)
{
	const struct vm_metrics *vm = report_vm_metrics(summary, rec_vm_id);

	return vm ? vm->vm_id : 0;
}

const struct vcpu_metrics *report_vcpu_metrics(const struct model *summary, const struct replay_ring *ring)
{
	const struct vm_metrics *vm = report_vm_metrics(summary, ring->vm_id);

	for (size_t i = 0; vm && i < vm->n_vcpus; i++)
		if (vm->vcpus[i].key == REPLAY_KEY(ring->id))
			return &vm->vcpus[i];
	return NULL;
}

void report_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void report_html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* --- the live views, fed from the replay --- */

/* view_json_print's object for this model, with the recording's clock. */
static json_object *model_json(struct report *rp, const struct model *m, uint64_t end_ns)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);
	json_object *o;

	if (!mf)
		abort();
	view_json_print(mf, m, &rp->vo, &(struct frame_info){ .hooks = rp->ri.h.hooks });
	fclose(mf);
	o = json_tokener_parse(buf);
	free(buf);
	if (!o)
		abort();
	json_object_object_add(o, "time", json_object_new_double(report_wall_time(&rp->ri, end_ns)));
	json_object_object_del(o, "map_entries");
	return o;
}

/* view_text_print without its first line (the wall clock of now). */
static void model_text(struct report *rp, const struct model *m)
{
	char *buf = NULL, *nl;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);

	if (!mf)
		abort();
	view_text_print(mf, m, &rp->vo);
	fclose(mf);
	nl = strchr(buf, '\n');
	fputs(nl ? nl + 1 : buf, rp->out);
	free(buf);
}

static void fmt_wall(char *buf, size_t len, double t, bool date)
{
	time_t s = (time_t)t;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, len, date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

static void on_window(void *ctx, struct replay *r, const struct snapshot *s, uint64_t ws, uint64_t we)
{
	struct report *rp = ctx;

	model_update(&rp->wmodel, s, replay_proc_lookup, r, NULL, NULL);
	model_sort(&rp->wmodel, rp->vo.sort, rp->vo.descending);
	rp->nwin++;
	if (rp->summary_only)
		return;
	if (rp->json) {
		json_object *o = model_json(rp, &rp->wmodel, we);

		json_object_object_add(o, "window", json_object_new_uint64(rp->nwin));
		json_object_object_add(o, "start_s", json_object_new_double((double)(ws - rp->ri.start_ns) / 1e9));
		json_object_object_add(o, "end_s", json_object_new_double((double)(we - rp->ri.start_ns) / 1e9));
		/* streamed: a long recording has many windows */
		fprintf(rp->out, "%s%s", rp->nwin > 1 ? ",\n" : "",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else if (rp->text) {
		char t[32];

		fmt_wall(t, sizeof(t), report_wall_time(&rp->ri, we), false);
		fprintf(rp->out, "== window %llu: +%.2fs .. +%.2fs (%s)\n", (unsigned long long)rp->nwin,
			(double)(ws - rp->ri.start_ns) / 1e9, (double)(we - rp->ri.start_ns) / 1e9, t);
		model_text(rp, &rp->wmodel);
	}
}

/* --- the recording's own facts --- */

static const char *status_name(enum rec_status st)
{
	switch (st) {
	case REC_END_CLEAN: return "complete";
	case REC_END_TRUNCATED: return "truncated";
	case REC_ERR_CORRUPT: return "corrupt";
	case REC_ERR_IO: return "read error";
	default: return "unreadable";
	}
}

static json_object *kinds_json(const uint64_t *v)
{
	json_object *o = json_object_new_object();

	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if (rec_kind_name((uint8_t)k))
			json_object_object_add(o, rec_kind_name((uint8_t)k), json_object_new_uint64(v[k]));
	return o;
}

static json_object *recording_json(struct report *rp, struct replay *r)
{
	const struct report_info *ri = &rp->ri;
	const struct rec_stats *st = &ri->stats;
	json_object *o = json_object_new_object(), *a;
	uint64_t lost[REC_EVENT_KINDS] = {}, ltot = 0;
	char ver[16];

	for (int k = 1; k < REC_EVENT_KINDS; k++) {
		lost[k] = report_lost(st, k);
		ltot += lost[k];
	}
	snprintf(ver, sizeof(ver), "%u.%u", ri->h.major, ri->h.minor);
	json_object_object_add(o, "file", json_object_new_string(ri->path));
	json_object_object_add(o, "format_version", json_object_new_string(ver));
	json_object_object_add(o, "dirtytop_version", json_object_new_string(ri->h.version));
	json_object_object_add(o, "kernel", json_object_new_string(ri->h.kernel));
	json_object_object_add(o, "machine", json_object_new_string(ri->h.machine));
	json_object_object_add(o, "hostname", json_object_new_string(ri->h.hostname));
	json_object_object_add(o, "boot_id", json_object_new_string(ri->h.boot_id));
	json_object_object_add(o, "hooks", json_object_new_string(ri->h.hooks));
	json_object_object_add(o, "command", json_object_new_string(ri->h.cmdline));
	json_object_object_add(o, "pid_filter", ri->h.pid_filter ? json_object_new_uint64(ri->h.pid_filter) : NULL);
	a = json_object_new_array();
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if ((ri->h.events_mask & (1u << k)) && rec_kind_name((uint8_t)k))
			json_object_array_add(a, json_object_new_string(rec_kind_name((uint8_t)k)));
	json_object_object_add(o, "events_recorded", a);
	json_object_object_add(o, "ringbuf_bytes", json_object_new_uint64(ri->h.ringbuf_bytes));
	json_object_object_add(o, "kvm_max_ring_entries", ri->h.kvm_max_ring_bytes ?
			       json_object_new_uint64(ri->h.kvm_max_ring_bytes / 16) : NULL);
	a = json_object_new_array();
	for (size_t i = 0; i < ri->n_ring_sizes; i++) {
		json_object *rs = json_object_new_object();

		json_object_object_add(rs, "ring_size", json_object_new_uint64(ri->ring_sizes[i]));
		json_object_object_add(rs, "soft_limit", json_object_new_uint64(ri->soft_limits[i]));
		json_object_array_add(a, rs);
	}
	json_object_object_add(o, "ring_sizes", a);
	json_object_object_add(o, "start_time", json_object_new_double((double)ri->h.start_wall_ns / 1e9));
	json_object_object_add(o, "start_ns", json_object_new_uint64(ri->start_ns));
	json_object_object_add(o, "end_ns", json_object_new_uint64(ri->end_ns));
	json_object_object_add(o, "duration_s", json_object_new_double((double)(ri->end_ns - ri->start_ns) / 1e9));
	json_object_object_add(o, "window_s", json_object_new_double((double)ri->window_ns / 1e9));
	json_object_object_add(o, "status", json_object_new_string(status_name(ri->status)));
	json_object_object_add(o, "complete", json_object_new_boolean(ri->status == REC_END_CLEAN));
	json_object_object_add(o, "truncated", json_object_new_boolean(ri->status != REC_END_CLEAN));
	json_object_object_add(o, "message", ri->message[0] ? json_object_new_string(ri->message) : NULL);
	json_object_object_add(o, "blocks", json_object_new_uint64(ri->blocks));
	json_object_object_add(o, "bytes", json_object_new_uint64(ri->bytes));
	json_object_object_add(o, "events", json_object_new_uint64(ri->counts[0]));
	json_object_object_add(o, "events_by_kind", kinds_json(ri->counts));
	json_object_object_add(o, "lost", kinds_json(lost));
	json_object_object_add(o, "lost_total", json_object_new_uint64(ltot));
	json_object_object_add(o, "lost_ringbuf_full", kinds_json(st->lost));
	json_object_object_add(o, "lost_untracked", kinds_json(st->untracked));
	json_object_object_add(o, "lost_missed", kinds_json(st->missed));
	json_object_object_add(o, "dropped_by_report", json_object_new_uint64(replay_dropped(r)));
	return o;
}

static void print_warnings(FILE *o, const struct report_info *ri, bool always)
{
	const struct rec_stats *st = &ri->stats;
	uint64_t ltot = 0;

	for (int k = 1; k < REC_EVENT_KINDS; k++)
		ltot += report_lost(st, k);
	if (!ltot) {
		if (always)
			fprintf(o, "  lost events: none\n");
	} else {
		fprintf(o, "  LOST EVENTS: %llu the kernel could not deliver:", (unsigned long long)ltot);
		for (int k = 1; k < REC_EVENT_KINDS; k++)
			if (report_lost(st, k))
				fprintf(o, " %s %llu", rec_kind_name((uint8_t)k) ? rec_kind_name((uint8_t)k) : "?",
					(unsigned long long)report_lost(st, k));
		fprintf(o, " (the counts miss them)\n");
	}
	if (ri->status != REC_END_CLEAN)
		fprintf(o, "  TRUNCATED: %s\n", ri->message);
}

static void recording_text(struct report *rp)
{
	const struct report_info *ri = &rp->ri;
	char t[32];
	FILE *o = rp->out;

	fmt_wall(t, sizeof(t), (double)ri->h.start_wall_ns / 1e9, true);
	fprintf(o, "dirtytop report: %s\n", ri->path);
	fprintf(o, "  recorded by dirtytop %s (format %u.%u) on %s, Linux %s %s, hooks %s\n", ri->h.version,
		ri->h.major, ri->h.minor, ri->h.hostname, ri->h.kernel, ri->h.machine, ri->h.hooks);
	fprintf(o, "  from %s for %.2f s%s%s%s; ring buffer %llu KiB", t, (double)(ri->end_ns - ri->start_ns) / 1e9,
		ri->h.cmdline[0] ? ", command: " : "", ri->h.cmdline, ri->h.pid_filter ? " (one process)" : "",
		(unsigned long long)(ri->h.ringbuf_bytes >> 10));
	if (ri->h.kvm_max_ring_bytes)
		fprintf(o, "; KVM's largest ring %u entries", ri->h.kvm_max_ring_bytes / 16);
	fputc('\n', o);
	if (ri->n_ring_sizes) {
		fprintf(o, "  ring sizes:");
		for (size_t i = 0; i < ri->n_ring_sizes; i++)
			fprintf(o, " %u (soft limit %u)", ri->ring_sizes[i], ri->soft_limits[i]);
		fputc('\n', o);
	}
	fprintf(o, "  %llu events in %llu blocks, %llu bytes:", (unsigned long long)ri->counts[0],
		(unsigned long long)ri->blocks, (unsigned long long)ri->bytes);
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if (rec_kind_name((uint8_t)k) && ri->counts[k])
			fprintf(o, " %s %llu", rec_kind_name((uint8_t)k), (unsigned long long)ri->counts[k]);
	fputc('\n', o);
	print_warnings(o, ri, true);
	fputc('\n', o);
}

/* --html and --perfetto both watch the replay */
struct fanout {
	struct replay_observer o[2];
};

static void fan_event(void *ctx, struct replay *r, const struct rec_event *ev, uint8_t kind,
		      struct replay_ring *ring, struct replay_vm *vm)
{
	struct fanout *f = ctx;

	for (int i = 0; i < 2; i++)
		if (f->o[i].event)
			f->o[i].event(f->o[i].ctx, r, ev, kind, ring, vm);
}

static void fan_stall(void *ctx, struct replay *r, struct replay_ring *ring, uint64_t start_ns, uint64_t end_ns)
{
	struct fanout *f = ctx;

	for (int i = 0; i < 2; i++)
		if (f->o[i].stall)
			f->o[i].stall(f->o[i].ctx, r, ring, start_ns, end_ns);
}

/* --- reading --- */

struct pass1 {
	enum rec_status status;
	char message[600];
	uint64_t blocks, events, bytes, last_ts, stats_ts;
	bool have_end;
	struct rec_end end;
};

static void pass1_record(struct report_info *ri, struct pass1 *p1, const struct rec_record *rec)
{
	if (rec_is_event(rec->kind)) {
		ri->counts[0]++;
		ri->counts[rec->kind]++;
		return;
	}
	if (rec->kind == REC_STATS) {
		for (int i = 0; i < REC_EVENT_KINDS; i++) {
			/* cumulative: the largest seen */
			if (rec->stats.lost[i] > ri->stats.lost[i])
				ri->stats.lost[i] = rec->stats.lost[i];
			if (rec->stats.untracked[i] > ri->stats.untracked[i])
				ri->stats.untracked[i] = rec->stats.untracked[i];
			if (rec->stats.missed[i] > ri->stats.missed[i])
				ri->stats.missed[i] = rec->stats.missed[i];
		}
		if (rec->stats.ts > p1->stats_ts)
			p1->stats_ts = rec->stats.ts;
	} else if (rec->kind == REC_RING_INFO && rec->ring.ring_size) {
		size_t j;

		for (j = 0; j < ri->n_ring_sizes && ri->ring_sizes[j] != rec->ring.ring_size; j++)
			;
		if (j == ri->n_ring_sizes && j < sizeof(ri->ring_sizes) / sizeof(ri->ring_sizes[0])) {
			ri->ring_sizes[j] = rec->ring.ring_size;
			ri->soft_limits[j] = rec->ring.soft_limit;
			ri->n_ring_sizes++;
		}
	}
}

static int open_recording(const char *path, FILE **f, struct rec_reader **rd, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), st;
	struct stat sb;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return REC_ERR_IO;
	}
	if (fstat(fd, &sb) || S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is a directory, not a recording", path);
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

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop report FILE [OPTIONS]\n"
		"The live view's metrics from a recording (`dirtytop record`): over the whole\n"
		"recording and per time window.\n\n"
		"  -d, --window SECONDS   window length (default 1); 0: the whole recording only\n"
		"  -j, --json             one JSON document: recording, summary, windows\n"
		"  -t, --text             text tables (the default without --html/--perfetto)\n"
		"  -S, --summary          only the whole recording, no windows\n"
		"      --html OUT         one self-contained HTML page with plots\n"
		"      --perfetto OUT     Chrome/Perfetto trace-event JSON (ui.perfetto.dev)\n"
		"  -p, --pid PID          only the VMs of process PID\n"
		"  -V, --vcpus            text: a row per vCPU\n"
		"  -D, --detail           text: memslots, ioctls and hottest regions per VM\n"
		"      --top N            hottest regions shown per VM (default 10)\n"
		"      --heat-region MIB  dirty heat region size, a power of two >= 2 (default 2)\n"
		"      --salvage          report a corrupt file up to its first bad block\n"
		"  -h, --help             this help\n\n"
		"A recording that was not finalized (crash, kill, cut) is reported up to its\n"
		"last complete block, with a warning. Exit status: 0 ok (also for such a\n"
		"file), 1 the file is unreadable (not a recording, a newer format version,\n"
		"corrupt, I/O error) or an output cannot be written, 2 bad usage.\n");
}

int report_main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "window", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "text", no_argument, NULL, 't' },
		{ "summary", no_argument, NULL, 'S' },
		{ "html", required_argument, NULL, 'H' },
		{ "perfetto", required_argument, NULL, 'P' },
		{ "pid", required_argument, NULL, 'p' },
		{ "vcpus", no_argument, NULL, 'V' },
		{ "detail", no_argument, NULL, 'D' },
		{ "top", required_argument, NULL, 'T' },
		{ "heat-region", required_argument, NULL, 'G' },
		{ "salvage", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct report rp = { .vo = { .sort = SORT_VM, .interval_s = 1.0, .top_regions = 10 } };
	const char *html_path = NULL, *pf_path = NULL, *path;
	double window = 1.0;
	bool salvage = false;
	unsigned heat_mib = 2;
	struct pass1 p1 = {};
	struct rec_reader *rd = NULL;
	struct rec_record rec;
	struct replay *r;
	struct html_report *hr = NULL;
	struct perfetto_report *pr = NULL;
	FILE *f = NULL, *hf = NULL, *pf = NULL;
	struct snapshot snap = {};
	struct model summary;
	struct fanout fan = {};
	char err[600], *end;
	int opt, ret = EXIT_OK;
	enum rec_status st;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:jtSp:VDh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			window = strtod(optarg, &end);
			if (*end || !isfinite(window) || window < 0 || (window > 0 && window < 0.001) || window > 1e7) {
				fprintf(stderr, "dirtytop report: --window takes seconds (0, or 0.001 and more), not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': rp.json = true; break;
		case 't': rp.text = true; break;
		case 'S': rp.summary_only = true; break;
		case 'H': html_path = optarg; break;
		case 'P': pf_path = optarg; break;
		case 'V': rp.vo.show_vcpus = true; break;
		case 'D': rp.vo.detail = true; break;
		case 'X': salvage = true; break;
		case 'p':
			if (vm_filter_parse(&rp.filter, optarg)) {
				fprintf(stderr, "dirtytop report: --pid takes %s, not '%s'\n", vm_filter_usage, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T': {
			long n = strtol(optarg, &end, 10);

			if (*end || n < 0 || n > 100000) {
				fprintf(stderr, "dirtytop report: --top takes a count from 0 to 100000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			rp.vo.top_regions = (unsigned)n;
			break;
		}
		case 'G': {
			long n = strtol(optarg, &end, 10);

			if (*end || n < 2 || n > 1048576 || (n & (n - 1))) {
				fprintf(stderr, "dirtytop report: --heat-region takes MiB, a power of two from 2 to "
					"1048576, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			heat_mib = (unsigned)n;
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "dirtytop report: %s\n", optind >= argc ? "which recording? dirtytop report FILE"
								: "one recording at a time");
		usage(stderr);
		return EXIT_USAGE;
	}
	path = argv[optind];
	if (!rp.json && !html_path && !pf_path)
		rp.text = true;
	if (rp.json && rp.text) {
		fprintf(stderr, "dirtytop report: --json and --text are both for stdout: choose one\n");
		return EXIT_USAGE;
	}
	rp.out = stdout;

	/* pass 1: is it a recording, is it whole, what span */
	st = open_recording(path, &f, &rd, err, sizeof(err));
	if (st != REC_OK) {
		fprintf(stderr, "dirtytop: %s: %s\n", path, err);
		return EXIT_RUNTIME;
	}
	while ((st = recr_next(rd, &rec)) == REC_OK)
		pass1_record(&rp.ri, &p1, &rec);
	p1.status = st;
	snprintf(p1.message, sizeof(p1.message), "%s", recr_error(rd));
	p1.blocks = recr_blocks(rd);
	p1.events = recr_events(rd);
	p1.bytes = recr_offset(rd);
	p1.last_ts = recr_last_ts(rd);
	if (recr_end(rd)) {
		p1.have_end = true;
		p1.end = *recr_end(rd);
	}
	rp.ri.h = *recr_header(rd);
	recr_free(rd);
	fclose(f);
	if (st != REC_END_CLEAN && st != REC_END_TRUNCATED) {
		if (!salvage) {
			fprintf(stderr, "dirtytop: %s: %s\n", path, p1.message);
			if (st == REC_ERR_CORRUPT && p1.blocks)
				fprintf(stderr, "dirtytop: the %llu blocks before it are intact: --salvage reports them\n",
					(unsigned long long)p1.blocks);
			return EXIT_RUNTIME;
		}
		fprintf(stderr, "dirtytop: %s: %s; reporting the %llu blocks before it (--salvage)\n", path,
			p1.message, (unsigned long long)p1.blocks);
	} else if (st == REC_END_TRUNCATED) {
		fprintf(stderr, "dirtytop: warning: %s: %s\n", path, p1.message);
	}

	rp.ri.path = path;
	rp.ri.status = st;
	if (st != REC_END_CLEAN)
		snprintf(rp.ri.message, sizeof(rp.ri.message), "%s", p1.message);
	rp.ri.blocks = p1.blocks;
	rp.ri.events = p1.events;
	rp.ri.bytes = p1.bytes;
	rp.ri.start_ns = rp.ri.h.start_mono_ns;
	rp.ri.end_ns = p1.have_end ? p1.end.end_mono_ns : p1.last_ts > p1.stats_ts ? p1.last_ts : p1.stats_ts;
	if (rp.ri.end_ns < rp.ri.start_ns)
		rp.ri.end_ns = rp.ri.start_ns;
	if (rp.ri.end_ns - rp.ri.start_ns > 366ull * 86400 * 1000000000ull)
		rp.ri.end_ns = rp.ri.start_ns + 366ull * 86400 * 1000000000ull;	/* a year: timestamps are wrong */
	rp.ri.heat_shift = 9 + dt_log2(heat_mib / 2);
	rp.ri.filter_tgid = rp.filter.tgid;

	if (html_path) {
		hf = report_open_output(html_path, err, sizeof(err));
		if (!hf) {
			fprintf(stderr, "dirtytop: %s\n", err);
			return EXIT_RUNTIME;
		}
	}
	if (pf_path) {
		pf = report_open_output(pf_path, err, sizeof(err));
		if (!pf) {
			fprintf(stderr, "dirtytop: %s\n", err);
			if (hf)
				fclose(hf);
			return EXIT_RUNTIME;
		}
	}

	/* pass 2: replay */
	r = replay_new(rp.ri.start_ns, rp.ri.end_ns, (uint64_t)(window * 1e9), rp.ri.heat_shift, on_window, &rp);
	rp.ri.window_ns = replay_window_ns(r);
	rp.vo.interval_s = (double)rp.ri.window_ns / 1e9;
	if (hf) {
		hr = html_report_new(&rp.ri);
		html_report_observer(hr, &fan.o[0]);
	}
	if (pf) {
		pr = perfetto_report_new(&rp.ri, pf);
		perfetto_report_observer(pr, &fan.o[1]);
	}
	if (hf || pf) {
		struct replay_observer o = { .ctx = &fan, .event = fan_event, .stall = fan_stall };

		replay_set_observer(r, &o);
	}
	model_init(&rp.wmodel);
	rp.wmodel.filter = rp.filter;
	if (rp.json)
		fprintf(rp.out, "{\"windows\":[\n");	/* then "recording" and "summary", at the end */
	if (rp.text)
		recording_text(&rp);

	replay_baseline(r, &snap);
	model_update(&rp.wmodel, &snap, NULL, NULL, NULL, NULL);
	st = open_recording(path, &f, &rd, err, sizeof(err));
	if (st != REC_OK) {
		fprintf(stderr, "dirtytop: %s: %s\n", path, err);
		ret = EXIT_RUNTIME;
		goto out;
	}
	recr_limit_blocks(rd, p1.blocks);
	while (recr_next(rd, &rec) == REC_OK)
		replay_apply(r, &rec);
	recr_free(rd);
	fclose(f);
	replay_finish(r);

	/* the whole recording: one interval from start to end */
	model_init(&summary);
	summary.filter = rp.filter;
	replay_baseline(r, &snap);
	model_update(&summary, &snap, NULL, NULL, NULL, NULL);
	replay_summary(r, &snap);
	model_update(&summary, &snap, replay_proc_lookup, r, NULL, NULL);
	model_sort(&summary, SORT_VM, false);

	if (rp.json) {
		json_object *rec = recording_json(&rp, r), *s = model_json(&rp, &summary, rp.ri.end_ns);

		fprintf(rp.out, "\n],\n\"recording\":%s,\n\"summary\":%s}\n",
			json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN),
			json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
		json_object_put(rec);
		json_object_put(s);
	} else if (rp.text) {
		bool v = rp.vo.show_vcpus;

		fprintf(rp.out, "== whole recording: %.2f s\n", (double)(rp.ri.end_ns - rp.ri.start_ns) / 1e9);
		rp.vo.show_vcpus = true;
		rp.vo.interval_s = (double)(rp.ri.end_ns - rp.ri.start_ns) / 1e9;
		model_text(&rp, &summary);
		rp.vo.show_vcpus = v;
		print_warnings(rp.out, &rp.ri, false);
	}
	if (hr && html_report_write(hr, r, &summary, hf)) {
		fprintf(stderr, "dirtytop: writing %s failed\n", html_path);
		ret = EXIT_RUNTIME;
	}
	if (pr && perfetto_report_finish(pr, r, &summary)) {
		fprintf(stderr, "dirtytop: writing %s failed\n", pf_path);
		ret = EXIT_RUNTIME;
	}
	if (fflush(stdout)) {
		fprintf(stderr, "dirtytop: writing the report failed: %s\n", strerror(errno));
		ret = EXIT_RUNTIME;
	}
	model_free(&summary);
out:
	if (hf && fclose(hf) && !ret) {
		fprintf(stderr, "dirtytop: writing %s failed: %s\n", html_path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	if (pf && fclose(pf) && !ret) {
		fprintf(stderr, "dirtytop: writing %s failed: %s\n", pf_path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	html_report_free(hr);
	perfetto_report_free(pr);
	model_free(&rp.wmodel);
	snapshot_free(&snap);
	replay_free(r);
	return ret;
}
