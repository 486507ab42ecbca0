// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop tune [FILE]`: per VM and vCPU, what the dirty ring went through
 * (peak fill within a reap interval, soft-full exits, full-stall time), and
 * for every candidate ring size (1024 .. 65536 entries) the soft-full exits
 * and stall time a trace-driven simulation (core/ringsim.c) predicts, with
 * the smallest size that keeps within the target, or "use the bitmap".
 * The plan is computed in core/tune_plan.c; this file reads and prints.
 *
 * From a recording (`dirtytop record`), or live: record for -d seconds
 * (or while COMMAND runs) into a temporary file, then the same.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd/record_run.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "core/exit_status.h"
#include "core/model.h"
#include "core/recording.h"
#include "core/replay.h"
#include "core/ringsim.h"
#include "core/timeline.h"
#include "core/tune_plan.h"
#include "core/units.h"
#include "out/json_writer.h"

struct tune {
	struct ringsim_target target;
	struct vm_filter filter;	/* --pid */
	bool json;
	yajl_gen g;			/* --json */
};

static char *fmt_bytes(char *buf, size_t len, double b)
{
	if (b >= 1024.0 * 1024)
		snprintf(buf, len, "%.0f MiB", b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0f KiB", b / 1024.0);
	return buf;
}

/* --- JSON --- */

static void model_json(yajl_gen g, const struct tune_plan *p)
{
	const struct ringsim_model *m = &p->model;

	jw_key(g, "model");
	yajl_gen_map_open(g);
	jw_put_string(g, "reaction", ringsim_reaction_name(m->reaction));
	jw_put_bool(g, "reaction_observed", m->reaction_observed);
	jw_put_double(g, "react_ms", (double)m->react_ns / 1e6);
	jw_put_double(g, "storm_exits_s", m->storm_exits_s);
	jw_put_u64(g, "periodic_resets", m->n_periodic);
	jw_put_double(g, "reap_period_ms", (double)m->median_period_ns / 1e6);
	jw_put_double(g, "harvest_lag_ms", (double)m->median_lag_ns / 1e6);
	jw_put_u64(g, "demand_resets", m->demand_calls);
	jw_key(g, "stalled_reaper_windows");
	yajl_gen_array_open(g);
	for (size_t k = 0; k < m->n_blocked; k++) {
		yajl_gen_map_open(g);
		jw_put_double(g, "from_s", (double)(m->blocked[k].from - p->start_ns) / 1e9);
		jw_put_double(g, "to_s", (double)(m->blocked[k].to - p->start_ns) / 1e9);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

static void vcpus_json(yajl_gen g, const struct tune_plan *p)
{
	jw_key(g, "vcpus");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < p->n_vcpus; i++) {
		const struct tune_vcpu_plan *v = &p->vcpus[i];
		const struct vcpu_metrics *c = v->metrics;

		yajl_gen_map_open(g);
		jw_put_int(g, "vcpu_id", v->ring->vcpu_id);
		jw_put_u64(g, "tid", v->ring->tid);
		jw_put_u64(g, "pushes", v->ring->n_pushes);
		jw_put_double(g, "fill_rate", v->fill_rate);
		jw_put_u64(g, "peak_used", c ? c->peak_used : 0);
		jw_put_double(g, "peak_pct", c ? c->peak_pct : 0);
		jw_put_u64(g, "full_exits", v->ring->n_full_exits);
		jw_put_double(g, "full_exits_s", v->full_exits_s);
		jw_put_double(g, "stall_s", v->stall_s);
		jw_put_double(g, "stall_frac", c ? c->stall_frac : 0);
		jw_put_double(g, "held_s", c ? c->held_s : 0);
		if (c)
			jw_put_quantiles(g, "reap_interval_us", &c->reap_interval_us_all);
		else
			jw_put_null(g, "reap_interval_us");
		jw_put_double(g, "capacity", p->model.vcpus[i].capacity);
		jw_put_bool(g, "saturated", v->saturated);
		jw_put_u64_known(g, "recommended_ring_size", v->recommended, v->recommended);
		jw_put_string(g, "recommendation", v->recommended ? "ring" : "bitmap");
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void candidates_json(yajl_gen g, const struct tune_plan *p)
{
	jw_key(g, "candidates");
	yajl_gen_array_open(g);
	for (int i = 0; i < RINGSIM_N_SIZES; i++) {
		const struct ringsim_result *res = &p->results[i];

		yajl_gen_map_open(g);
		jw_put_u64(g, "ring_size", res->ring_size);
		jw_put_u64(g, "soft_limit", res->soft_limit);
		jw_put_u64(g, "bytes_per_vcpu", (uint64_t)res->ring_size * RINGSIM_ENTRY_BYTES);
		jw_put_u64(g, "bytes_per_vm", (uint64_t)res->ring_size * RINGSIM_ENTRY_BYTES * p->n_vcpus);
		jw_put_double(g, "exits_s", res->exits_s);
		jw_put_double(g, "stall_frac_sum", res->stall_frac_sum);
		jw_key(g, "vcpus");
		yajl_gen_array_open(g);
		for (size_t k = 0; k < res->n_vcpus; k++) {
			const struct ringsim_vcpu_result *v = &res->vcpus[k];

			yajl_gen_map_open(g);
			jw_put_int(g, "vcpu_id", p->vcpus[k].ring->vcpu_id);
			jw_put_u64(g, "exits", v->exits);
			jw_put_double(g, "exits_s", v->exits_s);
			jw_put_double(g, "stall_s", v->stall_s);
			jw_put_double(g, "stall_frac", v->stall_frac);
			jw_put_u64(g, "peak_used", v->peak_used);
			jw_put_u64(g, "behind", v->behind);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void plan_json(yajl_gen g, const struct tune_plan *p, const struct timeline_vm *tv,
		      const struct vm_metrics *vm)
{
	yajl_gen_map_open(g);
	jw_put_u64(g, "vm_id", vm ? vm->vm_id : 0);
	jw_put_u64(g, "pid", tv->tgid);
	jw_put_string(g, "comm", vm ? vm->comm : "");
	jw_put_string_known(g, "name", vm ? vm->identity.name : NULL);
	jw_put_u64(g, "ring_size", p->ring_size);
	jw_put_u64(g, "soft_limit", p->soft_limit);
	jw_put_u64(g, "vcpu_count", p->n_vcpus);
	model_json(g, p);
	vcpus_json(g, p);
	candidates_json(g, p);
	jw_key(g, "calibration");
	if (p->ring_size) {
		yajl_gen_map_open(g);
		jw_put_u64(g, "ring_size", p->ring_size);
		jw_put_double(g, "predicted_exits_s", p->calibration.exits_s);
		jw_put_double(g, "observed_exits_s", p->observed_exits_s);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	jw_put_u64_known(g, "recommended_ring_size", p->recommended, p->recommended);
	jw_put_string(g, "recommendation", p->recommended ? "ring" : "bitmap");
	jw_put_bool(g, "lower_bound", p->lower_bound);
	jw_put_u64_known(g, "bytes_per_vcpu", p->recommended, p->bytes_per_vcpu);
	jw_put_u64_known(g, "bytes_per_vm", p->recommended, p->bytes_per_vm);
	yajl_gen_map_close(g);
}

/* --- text --- */

static void reaping_text(FILE *out, const struct tune_plan *p, const struct timeline_vm *tv,
			 const struct vm_metrics *vm)
{
	const struct ringsim_model *m = &p->model;
	char b1[32], b2[32], b3[32];

	fprintf(out, "VM %u%s%s (pid %u %s): ring %u entries (soft limit %u), %zu vCPUs\n", vm ? vm->vm_id : 0,
		vm && vm->identity.name[0] ? " " : "", vm ? vm->identity.name : "", tv->tgid, vm ? vm->comm : "",
		p->ring_size, p->soft_limit, p->n_vcpus);
	fprintf(out, "  the VMM %s on a soft-full exit%s", m->reaction == RINGSIM_REACT_REAP ? "reaps" :
		m->reaction == RINGSIM_REACT_WAIT ? "waits for its reaper" : "re-enters KVM_RUN (exit storm)",
		m->reaction_observed ? "" : " (assumed: none was recorded)");
	if (m->reaction == RINGSIM_REACT_REAP)
		fprintf(out, " after %s", fmt_usecs(b1, sizeof(b1), (double)m->react_ns / 1e3));
	if (m->reaction == RINGSIM_REACT_RETRY)
		fprintf(out, ", %.0f exits/s while full", m->storm_exits_s);
	fprintf(out, "; %zu other resets, every %s, harvested %s before the reset", m->n_periodic,
		fmt_usecs(b2, sizeof(b2), (double)m->median_period_ns / 1e3),
		fmt_usecs(b3, sizeof(b3), (double)m->median_lag_ns / 1e3));
	if (m->n_blocked)
		fprintf(out, "; the reaper stalled %zu times", m->n_blocked);
	fputc('\n', out);
}

static void observed_text(FILE *out, const struct tune_plan *p)
{
	double secs = p->secs;

	fprintf(out, "\n  observed over %.1f s:\n", secs);
	fprintf(out, "  %5s %9s %13s %8s %8s %8s %9s %9s\n", "VCPU", "FILL/s", "PEAK(%soft)", "EXITS/s",
		"STALL%", "HELD%", "REAP p50", "REAP p99");
	for (size_t i = 0; i < p->n_vcpus; i++) {
		const struct tune_vcpu_plan *v = &p->vcpus[i];
		const struct vcpu_metrics *c = v->metrics;
		char f[16], p50[16] = "-", p99[16] = "-", peak[24];

		if (c && c->reap_interval_us_all.valid) {
			fmt_usecs(p50, sizeof(p50), c->reap_interval_us_all.p50);
			fmt_usecs(p99, sizeof(p99), c->reap_interval_us_all.p99);
		}
		snprintf(peak, sizeof(peak), "%u(%.0f%%)", c ? c->peak_used : 0, c ? c->peak_pct : 0);
		fprintf(out, "  %5d %9s %13s %8.1f %7.1f%% %7.1f%% %9s %9s\n", v->ring->vcpu_id,
			fmt_count(f, sizeof(f), v->fill_rate), peak, v->full_exits_s, c ? 100 * c->stall_frac : 0,
			c && secs > 0 ? 100 * c->held_s / secs : 0, p50, p99);
	}
}

static void candidates_text(FILE *out, const struct tune_plan *p)
{
	char b1[32], b2[32];

	fprintf(out, "\n  predicted per ring size (soft-full exits/s and stall time, per vCPU):\n");
	fprintf(out, "  %6s %6s %9s %9s", "SIZE", "SOFT", "MEM/VCPU", "MEM/VM");
	for (size_t i = 0; i < p->n_vcpus && i < 8; i++)
		fprintf(out, "   vCPU %-3d exits/s stall", p->vcpus[i].ring->vcpu_id);
	fprintf(out, "  VM exits/s\n");
	for (int i = 0; i < RINGSIM_N_SIZES; i++) {
		const struct ringsim_result *res = &p->results[i];

		fprintf(out, "  %6u %6u %9s %9s", res->ring_size, res->soft_limit,
			fmt_bytes(b1, sizeof(b1), (double)res->ring_size * RINGSIM_ENTRY_BYTES),
			fmt_bytes(b2, sizeof(b2), (double)res->ring_size * RINGSIM_ENTRY_BYTES * (double)p->n_vcpus));
		for (size_t k = 0; k < res->n_vcpus && k < 8; k++)
			fprintf(out, "   %16.1f %4.1f%%", res->vcpus[k].exits_s, 100 * res->vcpus[k].stall_frac);
		fprintf(out, "  %10.1f%s\n", res->exits_s, res->ring_size == p->recommended ? "  <- recommended" : "");
	}
	if (p->ring_size)
		fprintf(out, "  at the recorded size (%u) the simulation predicts %.1f exits/s; %.1f were observed\n",
			p->ring_size, p->calibration.exits_s, p->observed_exits_s);
}

static void recommendation_text(FILE *out, const struct tune_plan *p, const struct ringsim_target *target)
{
	char b1[32], b2[32];

	if (p->recommended)
		fprintf(out, "\n  recommended: %sdirty-ring-size=%u (%s per vCPU, %s per VM): the smallest ring with at "
			"most %.1f soft-full exits/s and %.1f%% stall per vCPU\n", p->lower_bound ? "at least " : "",
			p->recommended, fmt_bytes(b1, sizeof(b1), (double)p->bytes_per_vcpu),
			fmt_bytes(b2, sizeof(b2), (double)p->bytes_per_vm), target->max_exits_s,
			100 * target->max_stall_frac);
	else
		fprintf(out, "\n  recommended: use the bitmap (dirty-ring-size=0): even 65536 entries take more than "
			"%.1f soft-full exits/s or %.1f%% stall per vCPU; the ring costs more than it saves\n",
			target->max_exits_s, 100 * target->max_stall_frac);
	if (p->n_vcpus > 1) {
		fprintf(out, "  per vCPU:");
		for (size_t i = 0; i < p->n_vcpus; i++) {
			if (p->vcpus[i].recommended)
				fprintf(out, " %d: %u", p->vcpus[i].ring->vcpu_id, p->vcpus[i].recommended);
			else
				fprintf(out, " %d: bitmap", p->vcpus[i].ring->vcpu_id);
		}
		fputc('\n', out);
	}
	if (p->behind_vcpu >= 0)
		fprintf(out, "  note: vCPU %d runs behind its recorded pace even with 65536 entries\n",
			p->vcpus[p->behind_vcpu].ring->vcpu_id);
	if (p->estimate_vcpu >= 0)
		fprintf(out, "  note: vCPU %d was stalled %.0f%% of the recording: its demand is an estimate from "
			"what it could do at the recorded size%s\n", p->vcpus[p->estimate_vcpu].ring->vcpu_id,
			100 * p->model.vcpus[p->estimate_vcpu].obs_stall_s / p->secs,
			p->lower_bound ? " (a lower bound: record with a larger ring to see it)" : "");
	fputc('\n', out);
}

static void plan_text(FILE *out, const struct tune_plan *p, const struct timeline_vm *tv,
		      const struct vm_metrics *vm, const struct ringsim_target *target)
{
	reaping_text(out, p, tv, vm);
	observed_text(out, p);
	candidates_text(out, p);
	recommendation_text(out, p, target);
}

/* --- reading --- */

/* Pass 2: the timeline, and the whole-recording metrics into summary. 0, or -1 (said why). */
static int read_recording(const struct recording *rec, struct timeline *tl, struct model *summary)
{
	struct replay *r = replay_new(rec->start_ns, rec->end_ns, 0, 9, NULL, NULL);
	struct snapshot snap = {};
	struct rec_reader *rd;
	struct rec_record rr;
	char err[700];
	FILE *f;

	if (recording_reopen(rec, &f, &rd, err, sizeof(err))) {
		fprintf(stderr, "dirtytop tune: %s\n", err);
		replay_free(r);
		return -1;
	}
	while (recr_next(rd, &rr) == REC_OK) {
		replay_apply(r, &rr);
		timeline_add(tl, &rr);
	}
	recr_free(rd);
	fclose(f);
	timeline_finish(tl);

	model_init(summary);
	replay_baseline(r, &snap);
	model_update(summary, &snap, NULL, NULL, NULL, NULL);
	replay_summary(r, &snap);
	model_update(summary, &snap, replay_proc_lookup, r, NULL, NULL);
	snapshot_free(&snap);
	replay_free(r);
	return 0;
}

/* Every VM of the timeline the filter lets through: planned and printed. */
static void tune_vms(struct tune *t, const struct timeline *tl, const struct model *summary,
		     const struct recording *rec)
{
	size_t shown = 0;

	for (size_t i = 0; i < tl->n_vms; i++) {
		const struct timeline_vm *tv = &tl->vms[i];
		const struct vm_metrics *vm = NULL;
		struct tune_plan plan;

		if (!tv->used)
			continue;
		for (size_t k = 0; k < summary->n_vms; k++)
			if (summary->vms[k].key == REPLAY_KEY(tv->id))
				vm = &summary->vms[k];
		if (!vm_filter_match(&t->filter, tv->tgid, vm ? vm->identity.name : NULL))
			continue;
		if (vm && vm->tracking == TRACK_BITMAP && !vm->pushes) {
			if (!t->json)
				printf("VM %u (pid %u %s): tracks dirty pages with the bitmap (%.0f pages/s): no ring "
				       "timeline to simulate\n\n", vm->vm_id, tv->tgid, vm->comm, vm->bitmap_dirty_pages_s);
			continue;
		}
		if (tune_plan_vm(&plan, tl, tv, vm, rec->start_ns, rec->end_ns, &t->target))
			continue;
		if (t->json)
			plan_json(t->g, &plan, tv, vm);
		else
			plan_text(stdout, &plan, tv, vm, &t->target);
		tune_plan_free(&plan);
		shown++;
	}
	if (!shown && !t->json)
		printf("no VM with a dirty ring was seen\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop tune [FILE] [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"Size the dirty ring: per VM and vCPU, the observed peak fill within a reap\n"
		"interval, soft-full exits and stall time, and for every ring size from 1024\n"
		"to 65536 entries the exits and stall time a simulation of the recorded push\n"
		"and reset timeline predicts under the VMM's observed reaping; the smallest\n"
		"size within the target, or \"use the bitmap\".\n\n"
		"FILE is a recording (dirtytop record). Without it, tune records live.\n"
		"  -d, --duration SECONDS live: record this long (default 10; with COMMAND: until it ends)\n"
		"  -p, --pid PID|NAME     only the VMs of process PID, or the VM named NAME (a glob: 'web-*')\n"
		"      --vm NAME          only the VM named NAME (QEMU -name guest=NAME; a glob)\n"
		"  -j, --json             one JSON document\n"
		"      --max-exits N      target: soft-full exits/s per vCPU (default 1)\n"
		"      --max-stall PCT    target: stall time per vCPU in %% (default 0.5)\n"
		"  -h, --help             this help\n\n"
		"With a COMMAND, tune records while it runs, only its VMs.\n"
		"Exit status: 0 ok, 1 runtime error (unreadable file), 2 bad usage, 3 kernel\n"
		"feature missing, 4 insufficient privileges (live).\n");
}

/* The options into t and the run's source; -1 to go on, else the exit status. */
static int parse_args(struct tune *t, int argc, char **argv, const char **path, double *duration, char ***command)
{
	static const struct option long_opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "vm", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-exits", required_argument, NULL, 'E' },
		{ "max-stall", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	int opt, dd;

	/* options and FILE before "--", COMMAND after it */
	for (dd = 1; dd < argc && strcmp(argv[dd], "--"); dd++)
		;
	optind = 1;
	while ((opt = getopt_long(dd, argv, "d:p:jh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			*duration = strtod(optarg, &end);
			if (*end || !isfinite(*duration) || *duration <= 0 || *duration > 86400) {
				fprintf(stderr, "dirtytop tune: --duration takes seconds > 0, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (vm_filter_parse(&t->filter, optarg)) {
				fprintf(stderr, "dirtytop tune: --pid takes %s, not '%s'\n", vm_filter_usage, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'V':
			if (vm_filter_parse_name(&t->filter, optarg)) {
				fprintf(stderr, "dirtytop tune: --vm takes a VM name or a glob, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': t->json = true; break;
		case 'E':
			t->target.max_exits_s = strtod(optarg, &end);
			if (*end || !isfinite(t->target.max_exits_s) || t->target.max_exits_s < 0) {
				fprintf(stderr, "dirtytop tune: --max-exits takes exits/s >= 0, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			t->target.max_stall_frac = strtod(optarg, &end) / 100;
			if (*end || !isfinite(t->target.max_stall_frac) || t->target.max_stall_frac < 0 ||
			    t->target.max_stall_frac > 1) {
				fprintf(stderr, "dirtytop tune: --max-stall takes a percentage, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < dd)
		*path = argv[optind++];
	if (optind < dd) {
		fprintf(stderr, "dirtytop tune: one recording at a time\n");
		return EXIT_USAGE;
	}
	*command = dd + 1 < argc ? &argv[dd + 1] : NULL;
	if (*path && *command) {
		fprintf(stderr, "dirtytop tune: a recording or a COMMAND, not both\n");
		return EXIT_USAGE;
	}
	if (*path && *duration) {
		fprintf(stderr, "dirtytop tune: --duration is for a live run, not a recording\n");
		return EXIT_USAGE;
	}
	if (!*path && *command && vm_filter_active(&t->filter)) {
		fprintf(stderr, "dirtytop tune: --pid or a COMMAND, not both\n");
		return EXIT_USAGE;
	}
	return -1;
}

/*
 * Live: record into a temporary file (its name into tmp) and read its first
 * pass into rec. -1 to go on, else the exit status.
 */
static int record_live(struct tune *t, double duration, char **command, char *tmp, size_t tmplen,
		       struct recording *rec)
{
	uint32_t tgid;
	int rec_ret;

	/* the recorder filters on one pid: a name is resolved now */
	if ((rec_ret = cli_resolve_vm("dirtytop tune", &t->filter, &tgid)))
		return rec_ret;
	if (!command && !duration)
		duration = 10;
	if (!t->json)
		fprintf(stderr, "dirtytop tune: recording %s...\n", command ? "while the command runs" :
			"for the duration");
	rec_ret = record_to_temp_file(duration, tgid, command, tmp, tmplen);
	/* its own file: what went wrong writing it was said by the recorder */
	if (recording_load(tmp, rec, "dirtytop tune", false, NULL)) {
		unlink(tmp);
		return rec_ret ? rec_ret : EXIT_RUNTIME;
	}
	if (rec_ret)
		fprintf(stderr, "dirtytop tune: the recording ended with status %d; tuning from what it holds\n",
			rec_ret);
	return -1;
}

static void warn_gaps(const struct recording *rec)
{
	const struct rec_stats *st = &rec->stats;

	if (recording_lost(st, REC_PUSH) || recording_lost(st, REC_RESET) || recording_lost(st, REC_FULL))
		fprintf(stderr, "dirtytop tune: warning: the recording lost %llu pushes, %llu resets and %llu soft-full "
			"exits: the timeline has gaps\n", (unsigned long long)recording_lost(st, REC_PUSH),
			(unsigned long long)recording_lost(st, REC_RESET), (unsigned long long)recording_lost(st, REC_FULL));
}

int tune_main(int argc, char **argv)
{
	struct tune t = { .target = { .max_exits_s = 1, .max_stall_frac = 0.005 } };
	const char *path = NULL;
	char tmp[512] = "";
	double duration = 0;
	char **command = NULL;
	struct recording rec;
	struct timeline tl = {};
	struct model summary;
	int ret;

	if ((ret = parse_args(&t, argc, argv, &path, &duration, &command)) >= 0)
		return ret;
	if (!path) {
		if ((ret = record_live(&t, duration, command, tmp, sizeof(tmp), &rec)) >= 0)
			return ret;
		path = tmp;
	} else if (recording_load(path, &rec, "dirtytop tune", false, stderr)) {
		return EXIT_RUNTIME;
	}
	warn_gaps(&rec);
	if (read_recording(&rec, &tl, &summary)) {
		ret = EXIT_RUNTIME;
		goto out;
	}

	if (t.json) {
		t.g = jw_new();
		if (!t.g)
			abort();
		yajl_gen_map_open(t.g);
		jw_put_string(t.g, "source", tmp[0] ? "live" : path);
		jw_put_double(t.g, "duration_s", (double)(rec.end_ns - rec.start_ns) / 1e9);
		jw_key(t.g, "target");
		yajl_gen_map_open(t.g);
		jw_put_double(t.g, "max_exits_s", t.target.max_exits_s);
		jw_put_double(t.g, "max_stall_frac", t.target.max_stall_frac);
		yajl_gen_map_close(t.g);
		jw_put_u64(t.g, "lost_pushes", recording_lost(&rec.stats, REC_PUSH));
		jw_key(t.g, "vms");
		yajl_gen_array_open(t.g);
	} else {
		printf("dirtytop tune: %s, %.1f s\n\n", tmp[0] ? "live recording" : path,
		       (double)(rec.end_ns - rec.start_ns) / 1e9);
	}
	tune_vms(&t, &tl, &summary, &rec);
	if (t.json) {
		yajl_gen_array_close(t.g);
		yajl_gen_map_close(t.g);
		jw_flush(t.g, stdout, true);
		yajl_gen_free(t.g);
	}
	if (tl.dropped)
		fprintf(stderr, "dirtytop tune: warning: %llu events named ids beyond the table limit and were skipped\n",
			(unsigned long long)tl.dropped);
	model_free(&summary);
	ret = fflush(stdout) ? EXIT_RUNTIME : EXIT_OK;
out:
	timeline_free(&tl);
	if (tmp[0])
		unlink(tmp);
	return ret;
}
