// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop report FILE`: the live view's metrics from a recording, over the
 * whole recording and per time window.
 *
 * The file is read twice: a first pass (core/recording.c) validates it and
 * finds its span (and where it ends, if it was cut), the second replays it
 * (core/replay.c) into snapshots that the model turns into metrics, printed
 * by the live view's own text and JSON views (out/); --html and --perfetto
 * (out/html.c, out/perfetto.c) observe the second pass.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd/commands.h"
#include "core/exit_status.h"
#include "core/recording.h"
#include "core/units.h"
#include "out/json_writer.h"
#include "out/report.h"
#include "out/views.h"

struct report {
	/* options */
	const char *path, *html_path, *perfetto_path;
	double window_s;
	unsigned heat_mib;
	bool json, text, summary_only, salvage;
	double bandwidth, downtime_s;	/* --html's migration budget: 0 measured / QEMU's default */
	struct view_opts vo;
	struct vm_filter filter;	/* --pid */
	struct frame_info frame;	/* the recording's hooks; the time of the window shown */

	struct recording rec;		/* what the first pass found */
	uint64_t window_ns;
	FILE *out;
	yajl_gen json_doc;		/* --json: the one document, streamed window by window */
	struct model window_model;
	uint64_t n_windows;
	FILE *html_file, *perfetto_file;
	struct html_report *html;
	struct perfetto_report *perfetto;
};

static void fmt_wall(char *buf, size_t len, double t, bool date)
{
	time_t s = (time_t)t;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, len, date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

/* --- the live views, fed from the replay --- */

static void on_window(void *ctx, struct replay *r, const struct snapshot *s, uint64_t ws, uint64_t we)
{
	struct report *rp = ctx;
	const struct recording *rec = &rp->rec;

	model_update(&rp->window_model, s, replay_proc_lookup, r, NULL, NULL);
	model_sort(&rp->window_model, rp->vo.sort, rp->vo.descending);
	rp->n_windows++;
	if (rp->summary_only)
		return;
	rp->frame.wall_time = recording_wall_time(rec, we);
	if (rp->json) {
		yajl_gen g = rp->json_doc;

		yajl_gen_map_open(g);
		view_json_fields(g, &rp->window_model, &rp->vo, &rp->frame);
		jw_put_u64(g, "window", rp->n_windows);
		jw_put_double(g, "start_s", (double)(ws - rec->start_ns) / 1e9);
		jw_put_double(g, "end_s", (double)(we - rec->start_ns) / 1e9);
		yajl_gen_map_close(g);
		jw_flush(g, rp->out, true);	/* streamed: a long recording has many windows */
	} else if (rp->text) {
		char t[32];

		fmt_wall(t, sizeof(t), rp->frame.wall_time, false);
		fprintf(rp->out, "== window %llu: +%.2fs .. +%.2fs (%s)\n", (unsigned long long)rp->n_windows,
			(double)(ws - rec->start_ns) / 1e9, (double)(we - rec->start_ns) / 1e9, t);
		view_text_print(rp->out, &rp->window_model, &rp->vo);
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

/* {kind: v[kind]} for every named event kind */
static void put_kinds(yajl_gen g, const char *key, const uint64_t *v)
{
	jw_key(g, key);
	yajl_gen_map_open(g);
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if (rec_kind_name((uint8_t)k))
			jw_put_u64(g, rec_kind_name((uint8_t)k), v[k]);
	yajl_gen_map_close(g);
}

static void recording_json(yajl_gen g, const struct report *rp, struct replay *r)
{
	const struct recording *rec = &rp->rec;
	const struct rec_stats *st = &rec->stats;
	uint64_t lost[REC_EVENT_KINDS] = {}, lost_total = 0;
	char ver[16];

	for (int k = 1; k < REC_EVENT_KINDS; k++) {
		lost[k] = recording_lost(st, k);
		lost_total += lost[k];
	}
	snprintf(ver, sizeof(ver), "%u.%u", rec->h.major, rec->h.minor);
	yajl_gen_map_open(g);
	jw_put_string(g, "file", rec->path);
	jw_put_string(g, "format_version", ver);
	jw_put_string(g, "dirtytop_version", rec->h.version);
	jw_put_string(g, "kernel", rec->h.kernel);
	jw_put_string(g, "machine", rec->h.machine);
	jw_put_string(g, "hostname", rec->h.hostname);
	jw_put_string(g, "boot_id", rec->h.boot_id);
	jw_put_string(g, "hooks", rec->h.hooks);
	jw_put_string(g, "command", rec->h.cmdline);
	jw_put_u64_known(g, "pid_filter", rec->h.pid_filter, rec->h.pid_filter);
	jw_key(g, "events_recorded");
	yajl_gen_array_open(g);
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if ((rec->h.events_mask & (1u << k)) && rec_kind_name((uint8_t)k))
			jw_string(g, rec_kind_name((uint8_t)k));
	yajl_gen_array_close(g);
	jw_put_u64(g, "ringbuf_bytes", rec->h.ringbuf_bytes);
	jw_put_u64_known(g, "kvm_max_ring_entries", rec->h.kvm_max_ring_bytes, rec->h.kvm_max_ring_bytes / 16);
	jw_key(g, "ring_sizes");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < rec->n_ring_sizes; i++) {
		yajl_gen_map_open(g);
		jw_put_u64(g, "ring_size", rec->ring_sizes[i]);
		jw_put_u64(g, "soft_limit", rec->soft_limits[i]);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	jw_put_double(g, "start_time", (double)rec->h.start_wall_ns / 1e9);
	jw_put_u64(g, "start_ns", rec->start_ns);
	jw_put_u64(g, "end_ns", rec->end_ns);
	jw_put_double(g, "duration_s", (double)(rec->end_ns - rec->start_ns) / 1e9);
	jw_put_double(g, "window_s", (double)rp->window_ns / 1e9);
	jw_put_string(g, "status", status_name(rec->status));
	jw_put_bool(g, "complete", rec->status == REC_END_CLEAN);
	jw_put_bool(g, "truncated", rec->status != REC_END_CLEAN);
	jw_key(g, "message");
	jw_string_or_null(g, rec->message[0] ? rec->message : NULL);
	jw_put_u64(g, "blocks", rec->blocks);
	jw_put_u64(g, "bytes", rec->bytes);
	jw_put_u64(g, "events", rec->counts[0]);
	put_kinds(g, "events_by_kind", rec->counts);
	put_kinds(g, "lost", lost);
	jw_put_u64(g, "lost_total", lost_total);
	put_kinds(g, "lost_ringbuf_full", st->lost);
	put_kinds(g, "lost_untracked", st->untracked);
	put_kinds(g, "lost_missed", st->missed);
	jw_put_u64(g, "dropped_by_report", replay_dropped(r));
	yajl_gen_map_close(g);
}

static void print_warnings(FILE *o, const struct recording *rec, bool always)
{
	const struct rec_stats *st = &rec->stats;
	uint64_t ltot = 0;

	for (int k = 1; k < REC_EVENT_KINDS; k++)
		ltot += recording_lost(st, k);
	if (!ltot) {
		if (always)
			fprintf(o, "  lost events: none\n");
	} else {
		fprintf(o, "  LOST EVENTS: %llu the kernel could not deliver:", (unsigned long long)ltot);
		for (int k = 1; k < REC_EVENT_KINDS; k++)
			if (recording_lost(st, k))
				fprintf(o, " %s %llu", rec_kind_name((uint8_t)k) ? rec_kind_name((uint8_t)k) : "?",
					(unsigned long long)recording_lost(st, k));
		fprintf(o, " (the counts miss them)\n");
	}
	if (rec->status != REC_END_CLEAN)
		fprintf(o, "  TRUNCATED: %s\n", rec->message);
}

static void recording_text(struct report *rp)
{
	const struct recording *rec = &rp->rec;
	char t[32];
	FILE *o = rp->out;

	fmt_wall(t, sizeof(t), (double)rec->h.start_wall_ns / 1e9, true);
	fprintf(o, "dirtytop report: %s\n", rec->path);
	fprintf(o, "  recorded by dirtytop %s (format %u.%u) on %s, Linux %s %s, hooks %s\n", rec->h.version,
		rec->h.major, rec->h.minor, rec->h.hostname, rec->h.kernel, rec->h.machine, rec->h.hooks);
	fprintf(o, "  from %s for %.2f s%s%s%s; ring buffer %llu KiB", t, (double)(rec->end_ns - rec->start_ns) / 1e9,
		rec->h.cmdline[0] ? ", command: " : "", rec->h.cmdline, rec->h.pid_filter ? " (one process)" : "",
		(unsigned long long)(rec->h.ringbuf_bytes >> 10));
	if (rec->h.kvm_max_ring_bytes)
		fprintf(o, "; KVM's largest ring %u entries", rec->h.kvm_max_ring_bytes / 16);
	fputc('\n', o);
	if (rec->n_ring_sizes) {
		fprintf(o, "  ring sizes:");
		for (size_t i = 0; i < rec->n_ring_sizes; i++)
			fprintf(o, " %u (soft limit %u)", rec->ring_sizes[i], rec->soft_limits[i]);
		fputc('\n', o);
	}
	fprintf(o, "  %llu events in %llu blocks, %llu bytes:", (unsigned long long)rec->counts[0],
		(unsigned long long)rec->blocks, (unsigned long long)rec->bytes);
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if (rec_kind_name((uint8_t)k) && rec->counts[k])
			fprintf(o, " %s %llu", rec_kind_name((uint8_t)k), (unsigned long long)rec->counts[k]);
	fputc('\n', o);
	print_warnings(o, rec, true);
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
		"  -p, --pid PID|NAME     only the VMs of process PID, or the VM named NAME (a glob: 'web-*')\n"
		"      --vm NAME          only the VM named NAME (QEMU -name guest=NAME; a glob)\n"
		"  -V, --vcpus            text: a row per vCPU\n"
		"  -D, --detail           text: memslots, ioctls and hottest regions per VM\n"
		"      --top N            hottest regions shown per VM (default 10)\n"
		"      --heat-region MIB  dirty heat region size, a power of two >= 2 (default 2)\n"
		"      --salvage          report a corrupt file up to its first bad block\n"
		"      --bandwidth RATE   --html: the migrations' bandwidth for their downtime budget (100M = MiB/s,\n"
		"                         800mbit; default: measured from the VMM's TCP bytes in the file)\n"
		"      --downtime MS      --html: the downtime limit of that budget (default 300, QEMU's)\n"
		"  -h, --help             this help\n\n"
		"A recording that was not finalized (crash, kill, cut) is reported up to its\n"
		"last complete block, with a warning. Exit status: 0 ok (also for such a\n"
		"file), 1 the file is unreadable (not a recording, a newer format version,\n"
		"corrupt, I/O error) or an output cannot be written, 2 bad usage.\n");
}

/* --- setup: options, the first pass, the output files --- */

/* The options into rp; -1 to go on, else the exit status. */
static int parse_args(struct report *rp, int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "window", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "text", no_argument, NULL, 't' },
		{ "summary", no_argument, NULL, 'S' },
		{ "html", required_argument, NULL, 'H' },
		{ "perfetto", required_argument, NULL, 'P' },
		{ "pid", required_argument, NULL, 'p' },
		{ "vm", required_argument, NULL, 'N' },
		{ "vcpus", no_argument, NULL, 'V' },
		{ "detail", no_argument, NULL, 'D' },
		{ "top", required_argument, NULL, 'T' },
		{ "heat-region", required_argument, NULL, 'G' },
		{ "salvage", no_argument, NULL, 'X' },
		{ "bandwidth", required_argument, NULL, 'B' },
		{ "downtime", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:jtSp:VDh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			rp->window_s = strtod(optarg, &end);
			if (*end || !isfinite(rp->window_s) || rp->window_s < 0 ||
			    (rp->window_s > 0 && rp->window_s < 0.001) || rp->window_s > 1e7) {
				fprintf(stderr, "dirtytop report: --window takes seconds (0, or 0.001 and more), not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': rp->json = true; break;
		case 't': rp->text = true; break;
		case 'S': rp->summary_only = true; break;
		case 'H': rp->html_path = optarg; break;
		case 'P': rp->perfetto_path = optarg; break;
		case 'V': rp->vo.show_vcpus = true; break;
		case 'D': rp->vo.detail = true; break;
		case 'X': rp->salvage = true; break;
		case 'B':
			if (parse_rate(optarg, &rp->bandwidth)) {
				fprintf(stderr, "dirtytop report: --bandwidth takes bytes/s (e.g. 100M for 100 MiB/s, "
					"1000mbit), not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'W':
			rp->downtime_s = strtod(optarg, &end) / 1e3;
			if (*end || !isfinite(rp->downtime_s) || rp->downtime_s < 1e-3 || rp->downtime_s > 1e3) {
				fprintf(stderr, "dirtytop report: --downtime takes milliseconds from 1 to 1000000, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (vm_filter_parse(&rp->filter, optarg)) {
				fprintf(stderr, "dirtytop report: --pid takes %s, not '%s'\n", vm_filter_usage, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'N':
			if (vm_filter_parse_name(&rp->filter, optarg)) {
				fprintf(stderr, "dirtytop report: --vm takes a VM name or a glob, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T': {
			long n = strtol(optarg, &end, 10);

			if (*end || n < 0 || n > 100000) {
				fprintf(stderr, "dirtytop report: --top takes a count from 0 to 100000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			rp->vo.top_regions = (unsigned)n;
			break;
		}
		case 'G': {
			long n = strtol(optarg, &end, 10);

			if (*end || n < 2 || n > 1048576 || (n & (n - 1))) {
				fprintf(stderr, "dirtytop report: --heat-region takes MiB, a power of two from 2 to "
					"1048576, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			rp->heat_mib = (unsigned)n;
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
	rp->path = argv[optind];
	if (!rp->json && !rp->html_path && !rp->perfetto_path)
		rp->text = true;
	if (rp->json && rp->text) {
		fprintf(stderr, "dirtytop report: --json and --text are both for stdout: choose one\n");
		return EXIT_USAGE;
	}
	return -1;
}

/* Pass 1: is it a recording, is it whole, what span. -1 to go on, else the exit status. */
static int first_pass(struct report *rp)
{
	struct recording *rec = &rp->rec;

	if (recording_load(rp->path, rec, "dirtytop", rp->salvage, stderr))
		return EXIT_RUNTIME;
	rp->frame.hooks = rec->h.hooks;
	return -1;
}

/* Create --html and --perfetto's files. 0, or -1 (said why). */
static int open_outputs(struct report *rp)
{
	char err[600];

	if (rp->html_path && !(rp->html_file = report_open_output(rp->html_path, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return -1;
	}
	if (rp->perfetto_path && !(rp->perfetto_file = report_open_output(rp->perfetto_path, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return -1;
	}
	return 0;
}

/* Close --html and --perfetto's files; the first error becomes the exit status. */
static int close_outputs(struct report *rp, int ret)
{
	if (rp->html_file && fclose(rp->html_file) && !ret) {
		fprintf(stderr, "dirtytop: writing %s failed: %s\n", rp->html_path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	if (rp->perfetto_file && fclose(rp->perfetto_file) && !ret) {
		fprintf(stderr, "dirtytop: writing %s failed: %s\n", rp->perfetto_path, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	return ret;
}

/* --- pass 2: the replay, and what it prints --- */

/* --html and --perfetto watch the replay. */
static void attach_observers(struct report *rp, struct replay *r, struct fanout *fan)
{
	struct replay_observer o = { .ctx = fan, .event = fan_event, .stall = fan_stall };

	if (rp->html_file) {
		rp->html = html_report_new(&rp->rec, 9 + dt_log2(rp->heat_mib / 2));
		html_report_set_budget(rp->html, rp->bandwidth, rp->downtime_s);
		html_report_observer(rp->html, &fan->o[0]);
	}
	if (rp->perfetto_file) {
		rp->perfetto = perfetto_report_new(&rp->rec, &rp->filter, rp->perfetto_file);
		perfetto_report_observer(rp->perfetto, &fan->o[1]);
	}
	if (rp->html || rp->perfetto)
		replay_set_observer(r, &o);
}

/* Replay the blocks the first pass read; each window ends in on_window. 0, or -1 (said why). */
static int replay_file(struct report *rp, struct replay *r)
{
	struct rec_reader *rd;
	struct rec_record rec;
	char err[600];
	FILE *f;

	if (recording_reopen(&rp->rec, &f, &rd, err, sizeof(err))) {
		fprintf(stderr, "dirtytop: %s: %s\n", rp->path, err);
		return -1;
	}
	while (recr_next(rd, &rec) == REC_OK) {
		if (rp->html)
			html_report_record(rp->html, &rec);
		replay_apply(r, &rec);
	}
	recr_free(rd);
	fclose(f);
	replay_finish(r);
	return 0;
}

/* The whole recording: one interval from start to end. */
static void summarize(struct report *rp, struct replay *r, struct model *summary, struct snapshot *snap)
{
	model_init(summary);
	summary->filter = rp->filter;
	replay_baseline(r, snap);
	model_update(summary, snap, NULL, NULL, NULL, NULL);
	replay_summary(r, snap);
	model_update(summary, snap, replay_proc_lookup, r, NULL, NULL);
	model_sort(summary, SORT_VM, false);
}

static void print_summary(struct report *rp, struct replay *r, const struct model *summary)
{
	const struct recording *rec = &rp->rec;

	rp->frame.wall_time = recording_wall_time(rec, rec->end_ns);
	if (rp->json) {
		yajl_gen g = rp->json_doc;

		yajl_gen_array_close(g);
		jw_key(g, "recording");
		recording_json(g, rp, r);
		jw_key(g, "summary");
		yajl_gen_map_open(g);
		view_json_fields(g, summary, &rp->vo, &rp->frame);
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
		jw_flush(g, rp->out, true);
	} else if (rp->text) {
		struct view_opts vo = rp->vo;

		fprintf(rp->out, "== whole recording: %.2f s\n", (double)(rec->end_ns - rec->start_ns) / 1e9);
		vo.show_vcpus = true;
		vo.interval_s = (double)(rec->end_ns - rec->start_ns) / 1e9;
		view_text_print(rp->out, summary, &vo);
		print_warnings(rp->out, rec, false);
	}
}

int report_main(int argc, char **argv)
{
	struct report rp = {
		.window_s = 1.0, .heat_mib = 2,
		.vo = { .sort = SORT_VM, .interval_s = 1.0, .top_regions = 10,
			.no_clock_line = true },
		.out = stdout,
	};
	struct snapshot snap = {};
	struct fanout fan = {};
	struct model summary;
	struct replay *r;
	int ret;

	if ((ret = parse_args(&rp, argc, argv)) >= 0 || (ret = first_pass(&rp)) >= 0)
		return ret;
	if (open_outputs(&rp))
		return close_outputs(&rp, EXIT_RUNTIME);
	r = replay_new(rp.rec.start_ns, rp.rec.end_ns, (uint64_t)(rp.window_s * 1e9), 9 + dt_log2(rp.heat_mib / 2),
		       on_window, &rp);
	rp.window_ns = replay_window_ns(r);
	rp.vo.interval_s = (double)rp.window_ns / 1e9;
	attach_observers(&rp, r, &fan);
	model_init(&rp.window_model);
	rp.window_model.filter = rp.filter;
	if (rp.json) {
		/* "windows" first, streamed; "recording" and "summary" at the end */
		rp.json_doc = jw_new();
		if (!rp.json_doc)
			abort();
		yajl_gen_map_open(rp.json_doc);
		jw_key(rp.json_doc, "windows");
		yajl_gen_array_open(rp.json_doc);
		jw_flush(rp.json_doc, rp.out, true);
	}
	if (rp.text)
		recording_text(&rp);

	replay_baseline(r, &snap);
	model_update(&rp.window_model, &snap, NULL, NULL, NULL, NULL);
	if (replay_file(&rp, r)) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	summarize(&rp, r, &summary, &snap);
	print_summary(&rp, r, &summary);
	ret = EXIT_OK;
	if (rp.html && html_report_write(rp.html, r, &summary, rp.html_file)) {
		fprintf(stderr, "dirtytop: writing %s failed\n", rp.html_path);
		ret = EXIT_RUNTIME;
	}
	if (rp.perfetto && perfetto_report_finish(rp.perfetto, r, &summary)) {
		fprintf(stderr, "dirtytop: writing %s failed\n", rp.perfetto_path);
		ret = EXIT_RUNTIME;
	}
	if (fflush(stdout)) {
		fprintf(stderr, "dirtytop: writing the report failed: %s\n", strerror(errno));
		ret = EXIT_RUNTIME;
	}
	model_free(&summary);
out:
	ret = close_outputs(&rp, ret);
	html_report_free(rp.html);
	perfetto_report_free(rp.perfetto);
	if (rp.json_doc)
		yajl_gen_free(rp.json_doc);
	model_free(&rp.window_model);
	snapshot_free(&snap);
	replay_free(r);
	return ret;
}
