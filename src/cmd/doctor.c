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
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include "cmd/analysis.h"
#include "kernel/collector.h"
#include "core/doctor_rules.h"
#include "sys/procinfo.h"
#include "sys/qmp.h"
#include "core/replay.h"
#include "cmd/commands.h"
#include "core/units.h"

#define MAX_PIDS 64

static volatile sig_atomic_t g_stop, g_child_exited;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		g_child_exited = 1;
	else
		g_stop = 1;
}

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
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* RATE: bytes/s with an optional K, M, G (powers of 1024), "B" and "/s"; or "NNNmbit" */
static int parse_rate(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end), mul = 1;

	if (end == s || !isfinite(v) || v <= 0)
		return -1;
	if (!strncasecmp(end, "mbit", 4)) {
		*out = v * 1e6 / 8;
		return end[4] && strcmp(end + 4, "/s") ? -1 : 0;
	}
	switch (*end) {
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (!strcmp(end, "/s"))
		end += 2;
	if (*end)
		return -1;
	*out = v * mul;
	return 0;
}

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
	if (d->qmp) {
		struct qmp_migration mg;
		char err[256];

		if (qmp_migration(d->qmp, &mg, err, sizeof(err))) {
			fprintf(stderr, "dirtytop doctor: %s\n", err);
			qmp_close(d->qmp);
			d->qmp = NULL;
			d->qmp_failed = true;
			return;
		}
		snprintf(d->qmp_status, sizeof(d->qmp_status), "%s", mg.status);
		if (mg.mbps > 0) {
			d->qmp_mbps_sum += mg.mbps;
			d->qmp_active++;
		}
		if (mg.max_bandwidth)
			d->qmp_max_bw = mg.max_bandwidth;
		if (mg.pid)
			d->qmp_pid = (uint32_t)mg.pid;
		return;
	}
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
		if (!t || analysis_tcp_bytes_acked((pid_t)vm->tgid, &bytes))
			continue;
		if (t->have_prev && logging && bytes > t->prev_bytes) {
			t->bytes += (double)(bytes - t->prev_bytes);
			t->secs += d->model.interval_s;
		}
		t->prev_bytes = bytes;
		t->have_prev = true;
	}
}

static void assign_bandwidth(struct doctor *d)
{
	for (size_t i = 0; i < d->st.n_vms; i++) {
		struct doc_vm *vm = &d->st.vms[i];

		if (d->bandwidth > 0) {
			vm->bandwidth = d->bandwidth;
			snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source), "--bandwidth");
		} else if (d->qmp_path && (!d->qmp_pid || d->qmp_pid == vm->pid)) {
			if (d->qmp_active) {
				vm->bandwidth = d->qmp_mbps_sum / d->qmp_active * 1e6 / 8;
				snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source), "QMP: migration throughput");
			} else if (d->qmp_max_bw) {
				vm->bandwidth = (double)d->qmp_max_bw;
				snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source), "QMP: max-bandwidth");
			}
		} else if (!d->qmp_path) {
			for (size_t k = 0; k < d->n_traffic; k++)
				if (d->traffic[k].pid == vm->pid && d->traffic[k].secs > 0 && d->traffic[k].bytes > 0) {
					vm->bandwidth = d->traffic[k].bytes / d->traffic[k].secs;
					snprintf(vm->bandwidth_source, sizeof(vm->bandwidth_source),
						 "measured: the VMM's TCP traffic");
				}
		}
	}
}

static const char *tracking_of(enum vm_tracking t)
{
	return tracking_name(t);
}

static void print_text(struct doctor *d, const struct doc_findings *f)
{
	size_t sev[3] = {};
	char b1[16], b2[16];

	printf("dirtytop doctor: %s, %.1f s, %zu VM%s\n", d->source, d->st.secs, d->st.n_vms,
	       d->st.n_vms == 1 ? "" : "s");
	for (size_t i = 0; i < d->st.n_vms; i++) {
		const struct doc_vm *vm = &d->st.vms[i];
		double rate = vm->secs > 0 ? vm->dirty_pages / vm->secs : 0;

		printf("  VM %u (pid %u %s): %s", vm->vm_id, vm->pid, vm->comm, tracking_of(vm->tracking));
		if (vm->ring_size)
			printf(" %u", vm->ring_size);
		printf(", %zu vCPU%s, dirtying %s pages/s (%s MiB/s)", vm->n_vcpus, vm->n_vcpus == 1 ? "" : "s",
		       fmt_count(b1, sizeof(b1), rate), fmt_count(b2, sizeof(b2), rate * DT_PAGE_SIZE / 1048576.0));
		if (vm->bandwidth > 0)
			printf(", migration bandwidth %.1f MiB/s (%s)", vm->bandwidth / 1048576.0, vm->bandwidth_source);
		printf("%s\n", vm->exited ? " [exited]" : "");
	}
	putchar('\n');
	for (size_t i = 0; i < f->n; i++) {
		const struct doc_finding *x = &f->v[i];

		sev[x->severity]++;
		printf("[%s] %s: VM %u (pid %u %s)", doc_severity_name(x->severity), x->id, x->vm_id, x->pid, x->comm);
		if (x->vcpu_id >= 0)
			printf(" vCPU %d (tid %u)", x->vcpu_id, x->tid);
		printf("\n    %s\n    evidence:", x->summary);
		for (int k = 0; k < x->n_ev; k++)
			printf("%s %s=%.4g%s%s", k ? "," : "", x->ev[k].name, x->ev[k].value,
			       x->ev[k].unit[0] ? " " : "", x->ev[k].unit);
		printf("\n    action: %s\n\n", x->action);
	}
	if (!f->n)
		printf("no findings\n");
	else
		printf("%zu finding%s: %zu critical, %zu warning, %zu info\n", f->n, f->n == 1 ? "" : "s",
		       sev[DOC_CRITICAL], sev[DOC_WARNING], sev[DOC_INFO]);
}

static void print_json(struct doctor *d, const struct doc_findings *f)
{
	json_object *root = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(root, "source", json_object_new_string(d->source));
	json_object_object_add(root, "duration_s", json_object_new_double(d->st.secs));
	json_object_object_add(root, "intervals", json_object_new_uint64(d->st.intervals));
	for (size_t i = 0; i < d->st.n_vms; i++) {
		const struct doc_vm *vm = &d->st.vms[i];
		json_object *o = json_object_new_object(), *vs = json_object_new_array();
		double rate = vm->secs > 0 ? vm->dirty_pages / vm->secs : 0;

		json_object_object_add(o, "vm_id", json_object_new_uint64(vm->vm_id));
		json_object_object_add(o, "pid", json_object_new_uint64(vm->pid));
		json_object_object_add(o, "comm", json_object_new_string(vm->comm));
		json_object_object_add(o, "tracking", json_object_new_string(tracking_of(vm->tracking)));
		json_object_object_add(o, "ring_size", json_object_new_uint64(vm->ring_size));
		json_object_object_add(o, "exited", json_object_new_boolean(vm->exited));
		json_object_object_add(o, "observed_s", json_object_new_double(vm->secs));
		json_object_object_add(o, "dirty_rate", json_object_new_double(rate));
		json_object_object_add(o, "dirty_mib_s", json_object_new_double(rate * DT_PAGE_SIZE / 1048576.0));
		json_object_object_add(o, "bandwidth_bytes_s", vm->bandwidth > 0 ? json_object_new_double(vm->bandwidth) : NULL);
		json_object_object_add(o, "bandwidth_source", vm->bandwidth > 0 ? json_object_new_string(vm->bandwidth_source) : NULL);
		json_object_object_add(o, "dirty_log_on", json_object_new_uint64(vm->dirty_log_on - vm->dirty_log_on0));
		json_object_object_add(o, "dirty_log_off", json_object_new_uint64(vm->dirty_log_off - vm->dirty_log_off0));
		for (size_t k = 0; k < vm->n_vcpus; k++) {
			const struct doc_vcpu *c = &vm->vcpus[k];
			json_object *v = json_object_new_object();

			json_object_object_add(v, "vcpu_id", json_object_new_int(c->vcpu_id));
			json_object_object_add(v, "tid", json_object_new_uint64(c->tid));
			json_object_object_add(v, "fill_rate", json_object_new_double(c->secs > 0 ? c->pushes / c->secs : 0));
			json_object_object_add(v, "full_exits_s", json_object_new_double(c->secs > 0 ? c->full_exits / c->secs : 0));
			json_object_object_add(v, "stall_frac", json_object_new_double(c->secs > 0 ? c->stall_s / c->secs : 0));
			json_object_object_add(v, "held_frac", json_object_new_double(c->secs > 0 ? c->held_s / c->secs : 0));
			json_object_array_add(vs, v);
		}
		json_object_object_add(o, "vcpus", vs);
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "vms", a);
	a = json_object_new_array();
	for (size_t i = 0; i < f->n; i++) {
		const struct doc_finding *x = &f->v[i];
		json_object *o = json_object_new_object(), *ev = json_object_new_object(), *un = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(x->id));
		json_object_object_add(o, "severity", json_object_new_string(doc_severity_name(x->severity)));
		json_object_object_add(o, "vm_id", json_object_new_uint64(x->vm_id));
		json_object_object_add(o, "pid", json_object_new_uint64(x->pid));
		json_object_object_add(o, "comm", json_object_new_string(x->comm));
		json_object_object_add(o, "vcpu_id", x->vcpu_id >= 0 ? json_object_new_int(x->vcpu_id) : NULL);
		json_object_object_add(o, "tid", x->vcpu_id >= 0 ? json_object_new_uint64(x->tid) : NULL);
		json_object_object_add(o, "summary", json_object_new_string(x->summary));
		for (int k = 0; k < x->n_ev; k++) {
			json_object_object_add(ev, x->ev[k].name, json_object_new_double(x->ev[k].value));
			json_object_object_add(un, x->ev[k].name, json_object_new_string(x->ev[k].unit));
		}
		json_object_object_add(o, "evidence", ev);
		json_object_object_add(o, "units", un);
		json_object_object_add(o, "action", json_object_new_string(x->action));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "findings", a);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
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
	struct rec_span span;
	struct rec_reader *rd;
	struct rec_record rec;
	struct snapshot snap = {};
	struct replay *r;
	char err[700];
	FILE *f;
	int ret = analysis_span(path, &span, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "dirtytop doctor: %s\n", err);
		return ret;
	}
	if (span.status == REC_END_TRUNCATED)
		fprintf(stderr, "dirtytop doctor: warning: %s: %s\n", path, span.message);
	r = replay_new(span.start_ns, span.end_ns, (uint64_t)(d->interval * 1e9), 9, on_window, d);
	d->model.interval_s = 0;
	replay_baseline(r, &snap);
	model_update(&d->model, &snap, NULL, NULL, NULL, NULL);
	doc_accumulate(&d->st, &d->model);
	if (analysis_open(path, &span, &f, &rd, err, sizeof(err))) {
		fprintf(stderr, "dirtytop doctor: %s\n", err);
		replay_free(r);
		snapshot_free(&snap);
		return EXIT_RUNTIME;
	}
	while (recr_next(rd, &rec) == REC_OK)
		replay_apply(r, &rec);
	recr_free(rd);
	fclose(f);
	replay_finish(r);
	replay_free(r);
	snapshot_free(&snap);
	return EXIT_OK;
}

/* --- live --- */

static int live(struct doctor *d, const struct collect_opts *co, double duration, char **command, int *status)
{
	struct collector *col = NULL;
	struct snapshot snap = {};
	char err[512];
	int rc;
	pid_t child = 0;
	uint64_t start, deadline;
	sigset_t mask, orig;
	struct sigaction sa = { .sa_handler = on_signal };

	rc = collector_open(&col, co, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return rc;
	}
	if (d->qmp_path && !command) {
		d->qmp = qmp_open(d->qmp_path, err, sizeof(err));
		if (!d->qmp) {
			fprintf(stderr, "dirtytop doctor: %s\n", err);
			collector_close(col);
			return EXIT_RUNTIME;
		}
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);

	collector_snapshot(col, &snap);	/* the baseline */
	model_update(&d->model, &snap, procinfo_lookup, NULL, NULL, NULL);
	doc_accumulate(&d->st, &d->model);
	sample_bandwidth(d);
	if (command) {
		child = start_command(command);
		if (child < 0) {
			fprintf(stderr, "dirtytop: fork: %s\n", strerror(errno));
			collector_close(col);
			return EXIT_RUNTIME;
		}
		d->model.filter.tgid = (uint32_t)child;
	}
	start = mono_ns();
	deadline = duration > 0 ? start + (uint64_t)(duration * 1e9) : UINT64_MAX;
	for (uint64_t k = 1; !g_stop; k++) {
		uint64_t next = start + (uint64_t)((double)k * d->interval * 1e9), now;
		bool last = false;

		if (next > deadline)
			next = deadline;
		while (!g_stop && (now = mono_ns()) < next) {
			struct timespec left = { (time_t)((next - now) / 1000000000ull), (long)((next - now) % 1000000000ull) };

			ppoll(NULL, 0, &left, &orig);
			if (g_child_exited && child > 0 && waitpid(child, status, WNOHANG) == child) {
				child = -1;
				last = true;
				break;
			}
		}
		{
			struct key_list fvms = {}, fvcpus = {};

			collector_snapshot(col, &snap);
			model_update(&d->model, &snap, procinfo_lookup, NULL, &fvms, &fvcpus);
			collector_forget(col, &fvms, &fvcpus);
			key_list_free(&fvms);
			key_list_free(&fvcpus);
		}
		doc_accumulate(&d->st, &d->model);
		sample_bandwidth(d);
		if (last || mono_ns() >= deadline)
			break;
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, status, 0);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	snapshot_free(&snap);
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
		"  -p, --pid PID          only the VMs of process PID\n"
		"  -j, --json             one JSON document\n"
		"      --bandwidth RATE   migration bandwidth: bytes/s, with K/M/G (MiB/s: 100M) or Nmbit\n"
		"      --qmp PATH         QEMU's QMP socket: bandwidth of its migration (a socket nobody else uses)\n"
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
		"Exit status: 0 ok (with or without findings), 1 runtime error, 2 bad usage,\n"
		"3 kernel feature missing, 4 insufficient privileges.\n");
}

static int num_arg(const char *name, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || !isfinite(v) || v < lo || v > hi) {
		fprintf(stderr, "dirtytop doctor: %s takes a number from %g to %g, not '%s'\n", name, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

int doctor_main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "bandwidth", required_argument, NULL, 'B' },
		{ "qmp", required_argument, NULL, 'Q' },
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
	struct doctor d = { .interval = 1.0 };
	struct collect_opts co = { .hooks = HOOK_AUTO };
	struct doc_findings findings = {};
	const char *path = NULL;
	char **command;
	double duration = 0, v, pid = 0;
	int opt, dd, ret, status = 0;

	doc_state_init(&d.st);
	doc_thresholds_default(&d.th);
	model_init(&d.model);
	for (dd = 1; dd < argc && strcmp(argv[dd], "--"); dd++)
		;
	optind = 1;
	while ((opt = getopt_long(dd, argv, "d:i:p:jh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd': if (num_arg("--duration", optarg, 0.05, 86400, &duration)) return EXIT_USAGE; break;
		case 'i': if (num_arg("--interval", optarg, 0.05, 3600, &d.interval)) return EXIT_USAGE; break;
		case 'p': if (num_arg("--pid", optarg, 1, 0x7fffffff, &pid)) return EXIT_USAGE; break;
		case 'j': d.json = true; break;
		case 'B':
			if (parse_rate(optarg, &d.bandwidth)) {
				fprintf(stderr, "dirtytop doctor: --bandwidth takes bytes/s (e.g. 100M for 100 MiB/s, "
					"1000mbit), not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'Q': d.qmp_path = optarg; break;
		case 1: if (num_arg("--storm-exits", optarg, 0, 1e9, &d.th.storm_exits_s)) return EXIT_USAGE; break;
		case 2: if (num_arg("--stall-s", optarg, 0, 1e6, &d.th.stalled_s)) return EXIT_USAGE; break;
		case 3: if (num_arg("--slow-exits", optarg, 0, 1e9, &d.th.slow_exits_s)) return EXIT_USAGE; break;
		case 4:
			if (num_arg("--held-pct", optarg, 0, 100, &v)) return EXIT_USAGE;
			d.th.throttle_held_frac = v / 100;
			break;
		case 5:
			if (num_arg("--dominant-pct", optarg, 1, 100, &v)) return EXIT_USAGE;
			d.th.dominant_share = v / 100;
			break;
		case 6:
			if (num_arg("--ioctl-ms", optarg, 0, 1e6, &v)) return EXIT_USAGE;
			d.th.get_log_ms = d.th.clear_log_ms = v;
			break;
		case 7: if (num_arg("--memslot-ms", optarg, 0, 1e6, &d.th.memslot_ms)) return EXIT_USAGE; break;
		case 8: if (num_arg("--flapping", optarg, 0, 1e6, &d.th.flapping_cycles)) return EXIT_USAGE; break;
		case 'H':
			if (parse_hook_mode(optarg, &co.hooks)) {
				fprintf(stderr, "dirtytop doctor: --hooks takes auto, btf or raw, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < dd)
		path = argv[optind++];
	if (optind < dd) {
		fprintf(stderr, "dirtytop doctor: one recording at a time\n");
		return EXIT_USAGE;
	}
	command = dd + 1 < argc ? &argv[dd + 1] : NULL;
	if (path && (command || duration || d.qmp_path)) {
		fprintf(stderr, "dirtytop doctor: a recording goes without COMMAND, --duration and --qmp\n");
		return EXIT_USAGE;
	}
	if (command && pid) {
		fprintf(stderr, "dirtytop doctor: --pid or a COMMAND, not both\n");
		return EXIT_USAGE;
	}
	if (d.qmp_path && d.bandwidth > 0) {
		fprintf(stderr, "dirtytop doctor: --bandwidth or --qmp, not both\n");
		return EXIT_USAGE;
	}
	d.model.filter.tgid = (uint32_t)pid;
	if (path) {
		d.source = path;
		ret = from_recording(&d, path);
	} else {
		if (!command && !duration)
			duration = 10;
		d.source = "live";
		ret = live(&d, &co, duration, command, &status);
	}
	if (!ret && d.qmp_path && !d.qmp_pid && d.qmp_error[0])
		fprintf(stderr, "dirtytop doctor: no bandwidth from QMP: %s\n", d.qmp_error);
	if (!ret) {
		if (d.model.filter.tgid)
			doc_state_keep_pid(&d.st, d.model.filter.tgid);
		assign_bandwidth(&d);
		doc_evaluate(&d.st, &d.th, &findings);
		if (d.json)
			print_json(&d, &findings);
		else
			print_text(&d, &findings);
		if (fflush(stdout))
			ret = EXIT_RUNTIME;
	}
	doc_findings_free(&findings);
	doc_state_free(&d.st);
	model_free(&d.model);
	qmp_close(d.qmp);
	if (!ret && command && WIFEXITED(status) && WEXITSTATUS(status)) {
		fprintf(stderr, "dirtytop: command exited with status %d\n", WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	return ret;
}
