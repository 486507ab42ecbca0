// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop doctor [FILE]`: watch the VMs for -d seconds (or replay a
 * recording window by window), fold every interval of the model into
 * src/doctor_rules.c, then list the findings: each with its evidence and a
 * suggested action.
 *
 * The migration bandwidth for precopy-no-converge comes from --bandwidth,
 * from QEMU's QMP socket (--qmp: the migration's throughput while it is
 * active, else its max-bandwidth), or is measured: the bytes the VMM's TCP
 * sockets had acknowledged (sock_diag) while its dirty logging was on.
 *
 * The migrations (core/precopy.c) are read from a recording: the file, or
 * live one of doctor's own. This file picks their bandwidth and downtime;
 * out/doctor_migration.c shows them, core/doctor_rules.c names them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dt_events.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/doctor_rules.h"
#include "core/precopy.h"
#include "core/recording.h"
#include "core/replay.h"
#include "core/units.h"
#include "kernel/collector.h"
#include "kernel/recorder.h"
#include "core/util.h"
#include <fcntl.h>
#include <unistd.h>
#include "out/doctor_findings.h"
#include "out/doctor_migration.h"
#include "out/json_writer.h"
#include "sys/procinfo.h"
#include "sys/qmp.h"
#include "sys/sockdiag.h"

#define PROG "dirtytop doctor"
#define MAX_PIDS 64

/* Measured traffic of one VMM process. */
struct traffic {
	uint32_t pid;
	bool have_prev;
	uint64_t prev_bytes;
	double bytes, secs;		/* while its dirty logging was on */
};

struct doctor {
	struct doc_state st;
	struct doc_thresholds th;
	struct model model;
	bool json;
	double interval;
	double bandwidth;		/* --bandwidth, bytes/s */
	const char *qmp_path;
	struct qmp *qmp;
	double qmp_mbps_sum;
	int qmp_active;
	uint64_t qmp_max_bw;
	uint32_t qmp_pid;
	char qmp_status[32];
	bool qmp_failed;
	char qmp_error[256];
	struct traffic traffic[MAX_PIDS];
	size_t n_traffic;
	const char *source;
	/* the precopy model: fed from the recording, or live from a recording of its own */
	struct precopy pc;
	double downtime_s;		/* --downtime, else QMP's downtime-limit, else QEMU's default */
	char downtime_source[48];
	struct qmp_migration qmp_last;	/* the last QMP answer */
	bool have_qmp_last;
	struct precopy_throttle throttle;	/* auto-converge, dirty limit: over all QMP answers */
	bool from_file;
	struct recorder *rec;		/* live */
	int rec_fd;
	char rec_path[512];
	bool rec_failed;
	uint64_t next_traffic_ns;
};

static void precopy_text(const struct doctor *d);
static void precopy_json(yajl_gen g, const struct doctor *d);
static void precopy_warn_stopped(const struct doctor *d);

static struct traffic *traffic_of(struct doctor *d, uint32_t pid)
{
	for (size_t i = 0; i < d->n_traffic; i++)
		if (d->traffic[i].pid == pid)
			return &d->traffic[i];
	if (d->n_traffic == MAX_PIDS)
		return NULL;
	d->traffic[d->n_traffic].pid = pid;
	return &d->traffic[d->n_traffic++];
}

/* QEMU's migration numbers over QMP, once per interval. */
static void sample_qmp(struct doctor *d)
{
	struct qmp_migration mg;
	char err[256];

	if (qmp_migration(d->qmp, &mg, err, sizeof(err))) {
		fprintf(stderr, "dirtytop doctor: %s\n", err);
		snprintf(d->qmp_error, sizeof(d->qmp_error), "%s", err);
		qmp_close(d->qmp);
		d->qmp = NULL;
		d->qmp_failed = true;
		return;
	}
	snprintf(d->qmp_status, sizeof(d->qmp_status), "%s", mg.status);
	d->qmp_last = mg;
	d->have_qmp_last = true;
	d->throttle.known = true;
	d->throttle.auto_converge = mg.auto_converge;
	d->throttle.dirty_limit = mg.dirty_limit;
	if (mg.throttle_pct > d->throttle.max_throttle_pct)
		d->throttle.max_throttle_pct = mg.throttle_pct;
	if (mg.dirty_limit_us > d->throttle.max_dirty_limit_us)
		d->throttle.max_dirty_limit_us = mg.dirty_limit_us;
	if (mg.mbps > 0) {
		d->qmp_mbps_sum += mg.mbps;
		d->qmp_active++;
	}
	if (mg.max_bandwidth)
		d->qmp_max_bw = mg.max_bandwidth;
	if (mg.pid)
		d->qmp_pid = (uint32_t)mg.pid;
}

/* The TCP bytes of each VMM acknowledged in an interval while it logged dirty pages. */
static void sample_traffic(struct doctor *d)
{
	for (size_t i = 0; i < d->model.n_vms; i++) {
		const struct vm_metrics *vm = &d->model.vms[i];
		struct traffic *t;
		uint64_t bytes;
		bool logging = false;

		if (vm->exited || !model_vm_visible(&d->model, vm))
			continue;
		for (size_t k = 0; k < vm->n_memslots; k++)
			logging |= vm->memslots[k].known && (vm->memslots[k].flags & DT_MEM_LOG_DIRTY_PAGES) &&
				   !(vm->memslots[k].flags & DT_MEM_READONLY) && vm->memslots[k].size >= (16u << 20);
		/* slots that predate doctor are unknown: syncs or pushes tell a migration too */
		logging |= vm->bitmap_syncs_s > 0 || vm->fill_rate > 0;
		t = traffic_of(d, vm->tgid);
		if (!t || sockdiag_tcp_bytes_acked((pid_t)vm->tgid, &bytes))
			continue;
		if (t->have_prev && logging && bytes > t->prev_bytes) {
			t->bytes += (double)(bytes - t->prev_bytes);
			t->secs += d->model.interval_s;
		}
		t->prev_bytes = bytes;
		t->have_prev = true;
	}
}

/* After each live interval: the QMP numbers, or the VMMs' TCP traffic while they log dirty pages. */
static void sample_bandwidth(struct doctor *d)
{
	if (d->bandwidth > 0)
		return;
	if (d->qmp_path && !d->qmp && !d->qmp_failed) {
		char err[256];

		/* COMMAND is the QEMU: its socket comes up after it starts */
		d->qmp = qmp_open(d->qmp_path, err, sizeof(err));
		snprintf(d->qmp_error, sizeof(d->qmp_error), "%s", d->qmp ? "" : err);
	}
	if (d->qmp)
		sample_qmp(d);
	else
		sample_traffic(d);
}

static void assign_bandwidth(struct doctor *d)
{
	for (size_t i = 0; i < d->st.n_vms; i++) {
		struct doc_vm *vm = &d->st.vms[i];

		if (d->bandwidth > 0) {
			vm->bandwidth = d->bandwidth;
			snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source), "--bandwidth");
		} else if (d->qmp_path && d->have_qmp_last && (!d->qmp_pid || d->qmp_pid == vm->pid)) {
			if (d->qmp_active) {
				vm->bandwidth = d->qmp_mbps_sum / d->qmp_active * 1e6 / 8;
				snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source), "QMP: migration throughput");
			} else if (d->qmp_max_bw) {
				vm->bandwidth = (double)d->qmp_max_bw;
				snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source), "QMP: max-bandwidth");
			}
		} else if (!d->qmp_path || !d->have_qmp_last) {	/* QMP never answered: measured */
			for (size_t k = 0; k < d->n_traffic; k++)
				if (d->traffic[k].pid == vm->pid && d->traffic[k].secs > 0 && d->traffic[k].bytes > 0) {
					vm->bandwidth = d->traffic[k].bytes / d->traffic[k].secs;
					snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source),
						 "measured: the VMM's TCP traffic");
				}
		}
	}
}

static void print_text(struct doctor *d, const struct doc_findings *f)
{
	doctor_vms_text(stdout, d->source, &d->st);
	precopy_text(d);
	doctor_findings_text(stdout, f);
}

static void print_json(struct doctor *d, const struct doc_findings *f)
{
	yajl_gen g = jw_new();

	if (!g)
		abort();
	yajl_gen_map_open(g);
	jw_put_string(g, "source", d->source);
	jw_put_double(g, "duration_s", d->st.secs);
	jw_put_u64(g, "intervals", d->st.intervals);
	jw_key(g, "vms");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < d->st.n_vms; i++)
		doctor_vm_json(g, &d->st.vms[i]);
	yajl_gen_array_close(g);
	precopy_json(g, d);
	jw_key(g, "findings");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < f->n; i++)
		doctor_finding_json(g, &f->v[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	jw_flush(g, stdout, true);
	yajl_gen_free(g);
}

/* --- the precopy model: per migration, its passes and the convergence test (out/doctor_migration.c shows them) --- */

/* One record of a recording into the precopy model (TRAFFIC: the VMM's sent bytes). */
static void precopy_feed(struct doctor *d, const struct rec_record *rec)
{
	if (rec->kind == REC_TRAFFIC)
		precopy_traffic(&d->pc, rec->traffic.tgid, rec->traffic.ts, (double)rec->traffic.bytes_acked);
	else
		precopy_add(&d->pc, rec);
}

/* The doctor's VM of a precopy VM (the recording numbers VMs its own way): by process. */
static const struct doc_vm *doc_vm_of(const struct doctor *d, const struct precopy_vm *v)
{
	for (size_t i = 0; i < d->st.n_vms; i++)
		if (d->st.vms[i].pid == v->tgid)
			return &d->st.vms[i];
	return NULL;
}

static bool precopy_shown(const struct doctor *d, const struct precopy_vm *v)
{
	return v->n_passes && (!vm_filter_active(&d->model.filter) || d->model.filter.tgid == v->tgid);
}

/* The bandwidth for v: --bandwidth / QMP / measured over its passes (what the other rules use otherwise). */
static double precopy_bandwidth(const struct doctor *d, const struct precopy_vm *v, const char **source)
{
	const struct doc_vm *dv = doc_vm_of(d, v);
	double measured = precopy_measured_bandwidth(v);

	if (dv && dv->bandwidth > 0 && strncmp(dv->bandwidth_source, "measured", 8)) {
		*source = dv->bandwidth_source;
		return dv->bandwidth;
	}
	if (measured > 0) {
		*source = "measured: the VMM's TCP bytes during the passes";
		return measured;
	}
	*source = "none";
	return 0;
}

/* What the migration section shows of v: its verdict and where its numbers came from. */
static void migration_view_of(const struct doctor *d, const struct precopy_vm *v, struct migration_view *m)
{
	const char *src;

	memset(m, 0, sizeof(*m));
	m->v = v;
	precopy_evaluate(v, precopy_bandwidth(d, v, &src), d->downtime_s, &m->vd);
	m->bandwidth_source = src;
	m->downtime_source = d->downtime_source;
	m->throttle = d->qmp_pid && d->qmp_pid != v->tgid ? NULL : &d->throttle;
	m->live = !d->from_file;
}

/* The pass-based precopy-no-converge replaces the rules' rate-only one. */
static void precopy_findings(const struct doctor *d, struct doc_findings *f)
{
	doc_findings_drop(f, DOC_NO_CONVERGE);
	for (size_t i = 0; i < d->pc.n_vms; i++) {
		const struct precopy_vm *v = &d->pc.vms[i];
		const struct doc_vm *dv = doc_vm_of(d, v);
		struct migration_view m;

		if (!precopy_shown(d, v))
			continue;
		migration_view_of(d, v, &m);
		if (m.vd.outcome == PRECOPY_NO_CONVERGE)
			doc_precopy_finding(f, dv ? dv->vm_id : v->vm_id, v, &m.vd, m.bandwidth_source, m.throttle);
	}
}

static void precopy_text(const struct doctor *d)
{
	for (size_t i = 0; i < d->pc.n_vms; i++) {
		struct migration_view m;

		if (!precopy_shown(d, &d->pc.vms[i]))
			continue;
		migration_view_of(d, &d->pc.vms[i], &m);
		migration_text(stdout, &m);
	}
}

static void precopy_json(yajl_gen g, const struct doctor *d)
{
	jw_key(g, "migrations");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < d->pc.n_vms; i++) {
		struct migration_view m;

		if (!precopy_shown(d, &d->pc.vms[i]))
			continue;
		migration_view_of(d, &d->pc.vms[i], &m);
		migration_json(g, &m);
	}
	yajl_gen_array_close(g);
}

/* A VMM that exited mid-migration: said on stderr (the report still shows its passes). */
static void precopy_warn_stopped(const struct doctor *d)
{
	char b[320];

	for (size_t i = 0; i < d->pc.n_vms; i++) {
		struct migration_view m;

		if (!precopy_shown(d, &d->pc.vms[i]) || d->pc.vms[i].end != PRECOPY_VMM_EXITED)
			continue;
		migration_view_of(d, &d->pc.vms[i], &m);
		fprintf(stderr, "%s: %s\n", PROG, migration_stopped_text(&m, b, sizeof(b)));
	}
}

/* A recording's precopy records (a second read of the file). */
static int precopy_from_file(struct doctor *d, const char *path)
{
	struct recording span;
	struct rec_reader *rd;
	struct rec_record rec;
	char err[700];
	FILE *f;

	/* the doctor's own file: its errors are said by what wrote it */
	if (recording_load(path, &span, PROG, false, NULL) || recording_reopen(&span, &f, &rd, err, sizeof(err)))
		return -1;
	while (recr_next(rd, &rec) == REC_OK)
		precopy_feed(d, &rec);
	recr_free(rd);
	fclose(f);
	precopy_finish(&d->pc);
	return 0;
}

/*
 * Live: the doctor records the ioctls, memslots, bitmaps and pushes into a
 * temporary file as `dirtytop record` would (with the VMMs' TCP bytes each
 * second), and reads it through the same precopy model as `doctor FILE`: live
 * and offline give the same passes.
 */
static void live_record_start(struct doctor *d, uint32_t tgid, bool follow)
{
	struct recorder_opts o = {
		.hooks = HOOK_AUTO, .tgid = tgid, .follow = follow,
		.events_mask = DT_EVM(DT_EV_IOCTL) | DT_EVM(DT_EV_MEMSLOT) | DT_EVM(DT_EV_DIRTYLOG) | DT_EVM(DT_EV_PUSH) |
			       DT_EVM(DT_EV_FULL) | DT_EVM(DT_EV_TID),
		.ringbuf_bytes = RECORDER_DEFAULT_RINGBUF, .block_events = RECORDER_DEFAULT_BLOCK_EVENTS, .level = 1,
	};
	const char *dir = getenv("TMPDIR");
	char err[512];
	int fd;

	snprintf(d->rec_path, sizeof(d->rec_path), "%s/dirtytop-doctor-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(d->rec_path);
	if (fd < 0 || recorder_open(&d->rec, &o, err, sizeof(err)) || recorder_attach(d->rec, err, sizeof(err)) ||
	    recorder_begin(d->rec, fd, "", err, sizeof(err))) {
		fprintf(stderr, "dirtytop doctor: no precopy passes: %s\n", fd < 0 ? strerror(errno) : err);
		if (fd >= 0) {
			close(fd);
			unlink(d->rec_path);
		}
		recorder_close(d->rec);
		d->rec = NULL;
		d->rec_failed = true;
		return;
	}
	d->rec_fd = fd;
	d->next_traffic_ns = 0;
}

/* last: at the end, whether or not a second has passed (a VMM gone since is marked) */
static void live_record_poll(struct doctor *d, bool last)
{
	uint32_t pids[MAX_PIDS];
	uint64_t now = dt_mono_ns(), bytes;
	size_t n;

	if (!d->rec)
		return;
	if (recorder_poll(d->rec) && recorder_write_failed(d->rec)) {
		fprintf(stderr, "dirtytop doctor: writing %s failed: no precopy passes\n", d->rec_path);
		d->rec_failed = true;
	}
	if (now < d->next_traffic_ns && !last)
		return;
	d->next_traffic_ns = now + 1000000000ull;
	n = recorder_vmm_pids(d->rec, pids, MAX_PIDS);
	for (size_t i = 0; i < n; i++)
		if (!procinfo_alive(pids[i]))	/* in the file: doctor FILE knows it too */
			recorder_vmm_exited(d->rec, pids[i]);
		else if (!sockdiag_tcp_bytes_acked((pid_t)pids[i], &bytes))
			recorder_add_traffic(d->rec, pids[i], dt_mono_ns(), bytes);
}

static void live_record_finish(struct doctor *d)
{
	struct recorder_result res;

	if (!d->rec)
		return;
	live_record_poll(d, true);
	if (recorder_finish(d->rec, &res))
		d->rec_failed = true;
	recorder_close(d->rec);
	d->rec = NULL;
	close(d->rec_fd);
	if (!d->rec_failed)
		precopy_from_file(d, d->rec_path);
	unlink(d->rec_path);
}

/* --- from a recording --- */

static void on_window(void *ctx, struct replay *r, const struct snapshot *s, uint64_t ws, uint64_t we)
{
	struct doctor *d = ctx;

	(void)ws;
	(void)we;
	model_update(&d->model, s, replay_proc_lookup, r, NULL, NULL);
	doc_accumulate(&d->st, &d->model);
}

static int from_recording(struct doctor *d, const char *path)
{
	struct recording span;
	struct rec_reader *rd;
	struct rec_record rec;
	struct snapshot snap = {};
	struct replay *r;
	char err[700];
	FILE *f;

	if (recording_load(path, &span, PROG, false, stderr))
		return EXIT_RUNTIME;
	r = replay_new(span.start_ns, span.end_ns, (uint64_t)(d->interval * 1e9), 9, on_window, d);
	d->model.interval_s = 0;
	replay_baseline(r, &snap);
	model_update(&d->model, &snap, NULL, NULL, NULL, NULL);
	doc_accumulate(&d->st, &d->model);
	if (recording_reopen(&span, &f, &rd, err, sizeof(err))) {
		fprintf(stderr, "dirtytop doctor: %s\n", err);
		replay_free(r);
		snapshot_free(&snap);
		return EXIT_RUNTIME;
	}
	while (recr_next(rd, &rec) == REC_OK) {
		replay_apply(r, &rec);
		precopy_feed(d, &rec);
	}
	recr_free(rd);
	fclose(f);
	replay_finish(r);
	precopy_finish(&d->pc);
	replay_free(r);
	snapshot_free(&snap);
	return EXIT_OK;
}

/* --- live --- */

/* One interval of the live model folded into the rules, and the bandwidth sampled after it. */
static void fold_interval(struct doctor *d)
{
	doc_accumulate(&d->st, &d->model);
	sample_bandwidth(d);
	live_record_poll(d, false);
}

static int live(struct doctor *d, const struct collect_opts *co, double duration, char **command, int *ret)
{
	struct collector *col = NULL;
	struct session s;
	enum session_tick t;
	char err[512];
	int rc;

	rc = collector_open(&col, co, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return rc;
	}
	if (d->qmp_path && !command) {
		/* no QMP (missing, not QMP): said at the end; the rest of the report measures the bandwidth */
		d->qmp = qmp_open(d->qmp_path, d->qmp_error, sizeof(d->qmp_error));
		d->qmp_failed = !d->qmp;
	}
	live_record_start(d, d->model.filter.tgid, command != NULL);
	session_begin(&s, &(struct session_opts){ .interval_s = d->interval, .duration_s = duration,
						   .input_fd = -1 });
	session_baseline(&s, col, &d->model);
	fold_interval(d);
	if (command) {
		if (session_spawn(&s, command, false) < 0) {
			fprintf(stderr, "dirtytop: fork: %s\n", strerror(errno));
			session_end(&s, EXIT_RUNTIME);
			live_record_finish(d);
			collector_close(col);
			return EXIT_RUNTIME;
		}
		d->model.filter.tgid = (uint32_t)s.child;
		if (d->rec)
			recorder_follow(d->rec, (uint32_t)s.child);
	}
	/* a signal ends it too, with the interval so far */
	do {
		t = session_wait(&s);
		session_refresh(&s);
		fold_interval(d);
	} while (!session_done(&s, t));
	*ret = session_end(&s, EXIT_OK);
	live_record_finish(d);
	collector_close(col);
	return EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop doctor [FILE] [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"Watch the VMs (or replay a recording) and list what is wrong with their dirty\n"
		"page tracking, each finding with the numbers that triggered it and what to do:\n"
		"exit-storm, reaper-stalled, reaper-too-slow, vcpu-throttled, dominant-vcpu,\n"
		"precopy-no-converge, slow-get-dirty-log, slow-clear-dirty-log, slow-memslot-ioctl,\n"
		"dirty-log-flapping.\n\n"
		"  -d, --duration SECONDS watch this long (default 10; with COMMAND: until it ends)\n"
		"  -i, --interval SECONDS the intervals the rules look at (default 1)\n"
		"  -p, --pid PID|NAME     only the VMs of process PID, or the VM named NAME (a glob: 'web-*')\n"
		"      --vm NAME          only the VM named NAME (QEMU -name guest=NAME; a glob)\n"
		"  -j, --json             one JSON document\n"
		"      --bandwidth RATE   migration bandwidth: bytes/s, with K/M/G (MiB/s: 100M) or Nmbit\n"
		"      --qmp PATH         QEMU's QMP socket: bandwidth of its migration (a socket nobody else uses)\n"
		"      --downtime MS      precopy-no-converge: the downtime limit (default: QMP's downtime-limit, else 300)\n"
		"      --storm-exits N    exit-storm: soft-full exits/s in an interval (default 100)\n"
		"      --stall-s S        reaper-stalled: a stall this long (default 1)\n"
		"      --slow-exits N     reaper-too-slow: soft-full exits/s (default 1)\n"
		"      --held-pct PCT     vcpu-throttled: time held out with a free ring (default 5)\n"
		"      --dominant-pct PCT dominant-vcpu: one vCPU's share (default max(60, 150/vCPUs))\n"
		"      --ioctl-ms MS      slow-*-dirty-log: longest call (default 10)\n"
		"      --memslot-ms MS    slow-memslot-ioctl: longest call (default 50)\n"
		"      --flapping N       dirty-log-flapping: on/off cycles per RAM slot (default 3)\n"
		"      --hooks MODE       auto, btf or raw (default auto)\n"
		"  -h, --help             this help\n\n"
		"Without --bandwidth or --qmp, the bandwidth is measured from the VMM's TCP\n"
		"traffic while its dirty logging is on (a migration). With a COMMAND, only its VMs.\n"
		"Exit status: 0 ok (with or without findings; also when a VMM exited mid-migration:\n"
		"said on stderr and in its migration's section), 1 runtime error, 2 bad usage,\n"
		"3 kernel feature missing, 4 insufficient privileges.\n");
}

struct doctor_args {
	const char *path;		/* a recording, or NULL: live */
	char **command;			/* NULL: none */
	double duration;
	struct vm_filter filter;
	struct collect_opts co;
};

/* A threshold of the rules: "FLAG takes a number from LO to HI" */
#define NUM(flag, lo, hi, out)                                                  \
	do {                                                                    \
		if ((rc = cli_number(PROG, flag, optarg, lo, hi, out)))         \
			return rc;                                              \
	} while (0)

/* -1: go on; else the exit status (--help, a bad flag or combination) */
static int parse_args(int argc, char **argv, struct doctor *d, struct doctor_args *a)
{
	static const struct option long_opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "pid", required_argument, NULL, 'p' },
		{ "vm", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "bandwidth", required_argument, NULL, 'B' },
		{ "qmp", required_argument, NULL, 'Q' },
		{ "downtime", required_argument, NULL, 9 },
		{ "storm-exits", required_argument, NULL, 1 },
		{ "stall-s", required_argument, NULL, 2 },
		{ "slow-exits", required_argument, NULL, 3 },
		{ "held-pct", required_argument, NULL, 4 },
		{ "dominant-pct", required_argument, NULL, 5 },
		{ "ioctl-ms", required_argument, NULL, 6 },
		{ "memslot-ms", required_argument, NULL, 7 },
		{ "flapping", required_argument, NULL, 8 },
		{ "hooks", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int opt, dd, rc;
	double v;

	/* options stop at "--": what follows is COMMAND */
	for (dd = 1; dd < argc && strcmp(argv[dd], "--"); dd++)
		;
	optind = 1;
	while ((opt = getopt_long(dd, argv, "d:i:p:jh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd': NUM("--duration", 0.05, 86400, &a->duration); break;
		case 'i': NUM("--interval", 0.05, 3600, &d->interval); break;
		case 'p':
			if ((rc = cli_pid(PROG, optarg, &a->filter)))
				return rc;
			break;
		case 'V':
			if ((rc = cli_vm(PROG, optarg, &a->filter)))
				return rc;
			break;
		case 'j': d->json = true; break;
		case 'B':
			if (cli_parse_rate(optarg, &d->bandwidth))
				return cli_usage_error(PROG, "--bandwidth takes bytes/s (e.g. 100M for 100 MiB/s, "
						       "1000mbit), not '%s'", optarg);
			break;
		case 'Q': d->qmp_path = optarg; break;
		case 1: NUM("--storm-exits", 0, 1e9, &d->th.storm_exits_s); break;
		case 2: NUM("--stall-s", 0, 1e6, &d->th.stalled_s); break;
		case 3: NUM("--slow-exits", 0, 1e9, &d->th.slow_exits_s); break;
		case 4:
			NUM("--held-pct", 0, 100, &v);
			d->th.throttle_held_frac = v / 100;
			break;
		case 5:
			NUM("--dominant-pct", 1, 100, &v);
			d->th.dominant_share = v / 100;
			break;
		case 6:
			NUM("--ioctl-ms", 0, 1e6, &v);
			d->th.get_log_ms = d->th.clear_log_ms = v;
			break;
		case 7: NUM("--memslot-ms", 0, 1e6, &d->th.memslot_ms); break;
		case 8: NUM("--flapping", 0, 1e6, &d->th.flapping_cycles); break;
		case 9:
			NUM("--downtime", 1, 1e6, &v);
			d->downtime_s = v / 1e3;
			snprintf(d->downtime_source, sizeof(d->downtime_source), "--downtime");
			break;
		case 'H':
			if ((rc = cli_hooks(PROG, optarg, &a->co.hooks)))
				return rc;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < dd)
		a->path = argv[optind++];
	if (optind < dd)
		return cli_usage_error(PROG, "one recording at a time");
	a->command = dd + 1 < argc ? &argv[dd + 1] : NULL;
	if (a->path && (a->command || a->duration || d->qmp_path))
		return cli_usage_error(PROG, "a recording goes without COMMAND, --duration and --qmp");
	if ((rc = cli_pid_or_command(PROG, &a->filter, a->command)))
		return rc;
	if (d->qmp_path && d->bandwidth > 0)
		return cli_usage_error(PROG, "--bandwidth or --qmp, not both");
	return -1;
}

/* The findings, on stdout: EXIT_OK, or EXIT_RUNTIME when stdout fails. */
static int report_findings(struct doctor *d)
{
	struct doc_findings findings = {};
	int ret = EXIT_OK;

	if (d->qmp_path && !d->have_qmp_last && d->qmp_error[0])
		fprintf(stderr, "dirtytop doctor: no bandwidth from QMP (measuring the VMMs' TCP traffic instead): %s\n",
			d->qmp_error);
	if (d->model.filter.tgid)	/* a name: only visible VMs were folded */
		doc_state_keep_pid(&d->st, d->model.filter.tgid);
	assign_bandwidth(d);
	if (!d->downtime_s && d->have_qmp_last && d->qmp_last.downtime_limit_ms > 0) {
		d->downtime_s = d->qmp_last.downtime_limit_ms / 1e3;
		snprintf(d->downtime_source, sizeof(d->downtime_source), "QMP: downtime-limit");
	}
	if (!d->downtime_s) {
		d->downtime_s = PRECOPY_DEFAULT_DOWNTIME_S;
		snprintf(d->downtime_source, sizeof(d->downtime_source), "QEMU's default");
	}
	doc_evaluate(&d->st, &d->th, &findings);
	precopy_findings(d, &findings);
	precopy_warn_stopped(d);
	if (d->json)
		print_json(d, &findings);
	else
		print_text(d, &findings);
	if (fflush(stdout))
		ret = EXIT_RUNTIME;
	doc_findings_free(&findings);
	return ret;
}

int doctor_main(int argc, char **argv)
{
	struct doctor d = { .interval = 1.0 };
	struct doctor_args a = { .co = { .hooks = HOOK_AUTO } };
	int ret, command_ret = 0;

	doc_state_init(&d.st);
	precopy_init(&d.pc);
	doc_thresholds_default(&d.th);
	model_init(&d.model);
	ret = parse_args(argc, argv, &d, &a);
	if (ret >= 0)
		goto out;
	d.model.filter = a.filter;
	if (a.path) {
		d.source = a.path;
		d.from_file = true;
		ret = from_recording(&d, a.path);
	} else {
		d.source = "live";
		ret = live(&d, &a.co, a.command || a.duration ? a.duration : 10, a.command, &command_ret);
	}
	if (!ret)
		ret = report_findings(&d);
	if (!ret)
		ret = command_ret;	/* COMMAND's failure (said on stderr) */
out:
	doc_state_free(&d.st);
	precopy_free(&d.pc);
	model_free(&d.model);
	qmp_close(d.qmp);
	return ret;
}
