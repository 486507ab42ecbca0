// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop tune [FILE]`: per VM and vCPU, what the dirty ring went through
 * (peak fill within a reap interval, soft-full exits, full-stall time), and
 * for every candidate ring size (1024 .. 65536 entries) the soft-full exits
 * and stall time a trace-driven simulation (src/ringsim.c) predicts, with
 * the smallest size that keeps within the target, or "use the bitmap".
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
#include <json-c/json.h>
#include "cmd/analysis.h"
#include "core/recording.h"
#include "core/exit_status.h"
#include "core/model.h"
#include "core/replay.h"
#include "core/ringsim.h"
#include "cmd/commands.h"
#include "core/units.h"

#define GROW(arr, n, cap)                                                        \
	do {                                                                     \
		if ((n) == (cap)) {                                              \
			size_t c_ = (cap) ? (cap) * 2 : 64;                      \
			void *p_ = realloc((arr), c_ * sizeof(*(arr)));          \
			if (!p_)                                                 \
				abort();                                         \
			(arr) = p_;                                              \
			(cap) = c_;                                              \
		}                                                                \
	} while (0)

#define MAX_ID (1u << 22)

struct tring {
	bool used;
	uint32_t id, vm_id, tid;
	int32_t vcpu_id;
	uint32_t ring_size, soft_limit;
	struct ringsim_push *pushes;
	size_t n_pushes, cap_pushes;
	struct ringsim_ring_reset *resets;
	size_t n_resets, cap_resets;
	uint64_t *exits;
	size_t n_exits, cap_exits;
	struct ringsim_reentry *reentries;
	size_t n_reentries, cap_reentries;
};

struct tvm {
	bool used;
	uint32_t id, tgid;
	struct ringsim_call *calls;
	size_t n_calls, cap_calls;
};

struct tune {
	struct tring *rings;		/* by recording id */
	size_t n_rings;
	struct tvm *vms;
	size_t n_vms;
	uint64_t dropped;		/* events of ids beyond MAX_ID */
	struct ringsim_target target;
	uint32_t filter_tgid;
	bool json;
};

static struct tring *ring_at(struct tune *t, uint32_t id)
{
	if (!id || id >= MAX_ID) {
		t->dropped++;
		return NULL;
	}
	if (id >= t->n_rings) {
		size_t n = t->n_rings ? t->n_rings : 64;

		while (n <= id)
			n *= 2;
		t->rings = realloc(t->rings, n * sizeof(*t->rings));
		if (!t->rings)
			abort();
		memset(t->rings + t->n_rings, 0, (n - t->n_rings) * sizeof(*t->rings));
		t->n_rings = n;
	}
	t->rings[id].used = true;
	t->rings[id].id = id;
	return &t->rings[id];
}

static struct tvm *vm_at(struct tune *t, uint32_t id)
{
	if (!id || id >= MAX_ID) {
		t->dropped++;
		return NULL;
	}
	if (id >= t->n_vms) {
		size_t n = t->n_vms ? t->n_vms : 16;

		while (n <= id)
			n *= 2;
		t->vms = realloc(t->vms, n * sizeof(*t->vms));
		if (!t->vms)
			abort();
		memset(t->vms + t->n_vms, 0, (n - t->n_vms) * sizeof(*t->vms));
		t->n_vms = n;
	}
	t->vms[id].used = true;
	t->vms[id].id = id;
	return &t->vms[id];
}

static void collect(struct tune *t, const struct rec_record *rec)
{
	const struct rec_event *e = &rec->ev;
	struct tring *r;
	struct tvm *vm;

	switch (rec->kind) {
	case REC_RING_INFO:
		if (!(r = ring_at(t, rec->ring.id)))
			return;
		r->vm_id = rec->ring.vm_id;
		r->vcpu_id = rec->ring.vcpu_id;
		if (rec->ring.tid)
			r->tid = rec->ring.tid;
		r->ring_size = rec->ring.ring_size;
		r->soft_limit = rec->ring.soft_limit;
		if ((vm = vm_at(t, rec->ring.vm_id)))
			vm->tgid = rec->ring.tgid;
		return;
	case REC_VM_INFO:
		if ((vm = vm_at(t, rec->vm.id)))
			vm->tgid = rec->vm.tgid;
		return;
	case REC_PUSH:
		if (!(r = ring_at(t, e->id)))
			return;
		GROW(r->pushes, r->n_pushes, r->cap_pushes);
		r->pushes[r->n_pushes++] = (struct ringsim_push){ e->ts, e->dirty_index };
		return;
	case REC_RESET:
		if (!(r = ring_at(t, e->id)))
			return;
		GROW(r->resets, r->n_resets, r->cap_resets);
		r->resets[r->n_resets++] = (struct ringsim_ring_reset){ e->ts, e->dirty_index, e->reset_index, -1 };
		return;
	case REC_FULL:
		if (!(r = ring_at(t, e->id)))
			return;
		if (e->tid)
			r->tid = e->tid;
		GROW(r->exits, r->n_exits, r->cap_exits);
		r->exits[r->n_exits++] = e->ts;
		return;
	case REC_TID:
		if ((r = ring_at(t, e->id)) && e->tid)
			r->tid = e->tid;
		return;
	case REC_REENTRY:
		if (!(r = ring_at(t, e->id)))
			return;
		GROW(r->reentries, r->n_reentries, r->cap_reentries);
		r->reentries[r->n_reentries++] = (struct ringsim_reentry){ e->ts };
		return;
	case REC_IOCTL:
		if (e->cmd != DT_KVM_RESET_DIRTY_RINGS || e->ret < 0 || !(vm = vm_at(t, e->id)))
			return;
		GROW(vm->calls, vm->n_calls, vm->cap_calls);
		vm->calls[vm->n_calls++] = (struct ringsim_call){
			e->ts > e->latency_ns ? e->ts - e->latency_ns : 0, e->ts, e->tid };
		return;
	default:
		return;
	}
}

static int cmp_push(const void *a, const void *b)
{
	const struct ringsim_push *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int cmp_reset(const void *a, const void *b)
{
	const struct ringsim_ring_reset *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_call(const void *a, const void *b)
{
	const struct ringsim_call *x = a, *y = b;

	return (x->end_ns > y->end_ns) - (x->end_ns < y->end_ns);
}

/* The events of a ring come from its vCPU thread and the reapers; put each list in time order. */
static void sort_ring(struct tring *r)
{
	qsort(r->pushes, r->n_pushes, sizeof(*r->pushes), cmp_push);
	qsort(r->resets, r->n_resets, sizeof(*r->resets), cmp_reset);
	qsort(r->exits, r->n_exits, sizeof(*r->exits), cmp_u64);
	qsort(r->reentries, r->n_reentries, sizeof(*r->reentries), cmp_u64);
}

/* Each ring reset happens inside the KVM_RESET_DIRTY_RINGS call that ended first after it. */
static void link_calls(struct tring *r, const struct tvm *vm)
{
	for (size_t i = 0; i < r->n_resets; i++) {
		uint64_t ts = r->resets[i].ts;
		size_t lo = 0, hi = vm->n_calls;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (vm->calls[mid].end_ns < ts)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < vm->n_calls && vm->calls[lo].start_ns <= ts)
			r->resets[i].call = (int32_t)lo;
	}
}

static void free_tune(struct tune *t)
{
	for (size_t i = 0; i < t->n_rings; i++) {
		free(t->rings[i].pushes);
		free(t->rings[i].resets);
		free(t->rings[i].exits);
		free(t->rings[i].reentries);
	}
	for (size_t i = 0; i < t->n_vms; i++)
		free(t->vms[i].calls);
	free(t->rings);
	free(t->vms);
}

static const struct vcpu_metrics *summary_vcpu(const struct vm_metrics *vm, uint32_t ring_id)
{
	for (size_t i = 0; vm && i < vm->n_vcpus; i++)
		if (vm->vcpus[i].key == REPLAY_KEY(ring_id))
			return &vm->vcpus[i];
	return NULL;
}

static int cmp_ring_vcpu(const void *a, const void *b)
{
	const struct tring *x = *(const struct tring *const *)a, *y = *(const struct tring *const *)b;

	return (x->vcpu_id > y->vcpu_id) - (x->vcpu_id < y->vcpu_id);
}

static json_object *quant_json(const struct quantiles *q)
{
	json_object *o;

	if (!q->valid)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_uint64(q->count));
	json_object_object_add(o, "p50", json_object_new_double(q->p50));
	json_object_object_add(o, "p99", json_object_new_double(q->p99));
	json_object_object_add(o, "max", json_object_new_double(q->max));
	return o;
}

static char *fmt_bytes(char *buf, size_t len, double b)
{
	if (b >= 1024.0 * 1024)
		snprintf(buf, len, "%.0f MiB", b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0f KiB", b / 1024.0);
	return buf;
}

/* One VM: simulate, print. */
static void tune_vm(struct tune *t, const struct tvm *tv, const struct vm_metrics *vm, uint64_t start_ns,
		    uint64_t end_ns, json_object *jvms, FILE *out)
{
	struct tring **rings = NULL;
	size_t nr = 0, cap = 0;
	struct ringsim_vcpu_trace *vt;
	struct ringsim_vm_trace trace = { .start_ns = start_ns, .end_ns = end_ns };
	struct ringsim_model model;
	struct ringsim_result res[RINGSIM_N_SIZES], cal = {};
	bool cal_own = false, saturated = false;
	uint32_t rec_size = 0, rec_soft = 0, best;
	double secs = (double)(end_ns - start_ns) / 1e9;
	json_object *jvm = NULL, *a;
	char b1[32], b2[32], b3[32];

	for (size_t i = 0; i < t->n_rings; i++)
		if (t->rings[i].used && t->rings[i].vm_id == tv->id) {
			GROW(rings, nr, cap);
			rings[nr++] = &t->rings[i];
		}
	if (!nr) {
		free(rings);
		return;
	}
	qsort(rings, nr, sizeof(*rings), cmp_ring_vcpu);
	vt = calloc(nr, sizeof(*vt));
	if (!vt)
		abort();
	for (size_t i = 0; i < nr; i++) {
		struct tring *r = rings[i];

		sort_ring(r);
		link_calls(r, tv);
		if (r->ring_size) {
			rec_size = r->ring_size;
			rec_soft = r->soft_limit;
		}
		vt[i] = (struct ringsim_vcpu_trace){
			.vcpu_id = r->vcpu_id, .tid = r->tid,
			.pushes = r->pushes, .n_pushes = r->n_pushes,
			.resets = r->resets, .n_resets = r->n_resets,
			.full_exits = r->exits, .n_full_exits = r->n_exits,
			.reentries = r->reentries, .n_reentries = r->n_reentries,
		};
	}
	/* the span the VM was active in (a COMMAND's VM starts after the recording does) */
	{
		uint64_t lo = UINT64_MAX, hi = 0;

		for (size_t i = 0; i < nr; i++) {
			const struct tring *r = rings[i];

			if (r->n_pushes) {
				lo = r->pushes[0].ts < lo ? r->pushes[0].ts : lo;
				hi = r->pushes[r->n_pushes - 1].ts > hi ? r->pushes[r->n_pushes - 1].ts : hi;
			}
			if (r->n_resets) {
				lo = r->resets[0].ts < lo ? r->resets[0].ts : lo;
				hi = r->resets[r->n_resets - 1].ts > hi ? r->resets[r->n_resets - 1].ts : hi;
			}
		}
		if (lo < hi && hi - lo > (end_ns - start_ns) / 10) {
			trace.start_ns = start_ns = lo > start_ns ? lo : start_ns;
			trace.end_ns = end_ns = hi < end_ns ? hi : end_ns;
			secs = (double)(end_ns - start_ns) / 1e9;
		}
	}
	trace.ring_size = rec_size;
	trace.soft_limit = rec_soft;
	trace.vcpus = vt;
	trace.n_vcpus = nr;
	trace.calls = tv->calls;
	trace.n_calls = tv->n_calls;
	ringsim_infer(&trace, &model);
	for (int i = 0; i < RINGSIM_N_SIZES; i++) {
		ringsim_run(&trace, &model, ringsim_size(i), &res[i]);
		if (ringsim_size(i) == rec_size)
			cal = res[i];
	}
	if (rec_size && !cal.vcpus && ringsim_run(&trace, &model, rec_size, &cal) == 0)
		cal_own = true;
	best = ringsim_recommend(res, RINGSIM_N_SIZES, &t->target, -1);
	/*
	 * A vCPU stalled much of the recording did not show its demand: replayed, its
	 * recorded pushes are what it could do with the recorded ring, so the sizes above
	 * that are predicted too few exits and the recommendation is a lower bound.
	 */
	for (size_t i = 0; i < nr; i++)
		if (model.vcpus[i].obs_stall_s > 0.25 * secs)
			saturated = true;

	if (t->json) {
		json_object *jm = json_object_new_object(), *jc;

		jvm = json_object_new_object();
		json_object_object_add(jvm, "vm_id", json_object_new_uint64(vm ? vm->vm_id : 0));
		json_object_object_add(jvm, "pid", json_object_new_uint64(tv->tgid));
		json_object_object_add(jvm, "comm", json_object_new_string(vm ? vm->comm : ""));
		json_object_object_add(jvm, "ring_size", json_object_new_uint64(rec_size));
		json_object_object_add(jvm, "soft_limit", json_object_new_uint64(rec_soft));
		json_object_object_add(jvm, "vcpu_count", json_object_new_uint64(nr));
		json_object_object_add(jm, "reaction", json_object_new_string(ringsim_reaction_name(model.reaction)));
		json_object_object_add(jm, "reaction_observed", json_object_new_boolean(model.reaction_observed));
		json_object_object_add(jm, "react_ms", json_object_new_double((double)model.react_ns / 1e6));
		json_object_object_add(jm, "storm_exits_s", json_object_new_double(model.storm_exits_s));
		json_object_object_add(jm, "periodic_resets", json_object_new_uint64(model.n_periodic));
		json_object_object_add(jm, "reap_period_ms", json_object_new_double((double)model.median_period_ns / 1e6));
		json_object_object_add(jm, "harvest_lag_ms", json_object_new_double((double)model.median_lag_ns / 1e6));
		json_object_object_add(jm, "demand_resets", json_object_new_uint64(model.demand_calls));
		a = json_object_new_array();
		for (size_t k = 0; k < model.n_blocked; k++) {
			json_object *w = json_object_new_object();

			json_object_object_add(w, "from_s", json_object_new_double((double)(model.blocked[k].from - start_ns) / 1e9));
			json_object_object_add(w, "to_s", json_object_new_double((double)(model.blocked[k].to - start_ns) / 1e9));
			json_object_array_add(a, w);
		}
		json_object_object_add(jm, "stalled_reaper_windows", a);
		json_object_object_add(jvm, "model", jm);

		a = json_object_new_array();
		for (size_t i = 0; i < nr; i++) {
			const struct vcpu_metrics *c = summary_vcpu(vm, rings[i]->id);
			json_object *jv = json_object_new_object();
			uint32_t own = ringsim_recommend(res, RINGSIM_N_SIZES, &t->target, (int)i);

			json_object_object_add(jv, "vcpu_id", json_object_new_int(rings[i]->vcpu_id));
			json_object_object_add(jv, "tid", json_object_new_uint64(rings[i]->tid));
			json_object_object_add(jv, "pushes", json_object_new_uint64(rings[i]->n_pushes));
			json_object_object_add(jv, "fill_rate", json_object_new_double(secs > 0 ? (double)rings[i]->n_pushes / secs : 0));
			json_object_object_add(jv, "peak_used", json_object_new_uint64(c ? c->peak_used : 0));
			json_object_object_add(jv, "peak_pct", json_object_new_double(c ? c->peak_pct : 0));
			json_object_object_add(jv, "full_exits", json_object_new_uint64(rings[i]->n_exits));
			json_object_object_add(jv, "full_exits_s", json_object_new_double(secs > 0 ? (double)rings[i]->n_exits / secs : 0));
			json_object_object_add(jv, "stall_s", json_object_new_double(c ? c->stall_s : model.vcpus[i].obs_stall_s));
			json_object_object_add(jv, "stall_frac", json_object_new_double(c ? c->stall_frac : 0));
			json_object_object_add(jv, "held_s", json_object_new_double(c ? c->held_s : 0));
			json_object_object_add(jv, "reap_interval_us", c ? quant_json(&c->reap_interval_us_all) : NULL);
			json_object_object_add(jv, "capacity", json_object_new_double(model.vcpus[i].capacity));
			json_object_object_add(jv, "saturated", json_object_new_boolean(model.vcpus[i].obs_stall_s > 0.25 * secs));
			json_object_object_add(jv, "recommended_ring_size", own ? json_object_new_uint64(own) : NULL);
			json_object_object_add(jv, "recommendation", json_object_new_string(own ? "ring" : "bitmap"));
			json_object_array_add(a, jv);
		}
		json_object_object_add(jvm, "vcpus", a);

		a = json_object_new_array();
		for (int i = 0; i < RINGSIM_N_SIZES; i++) {
			json_object *jr = json_object_new_object(), *pv = json_object_new_array();

			json_object_object_add(jr, "ring_size", json_object_new_uint64(res[i].ring_size));
			json_object_object_add(jr, "soft_limit", json_object_new_uint64(res[i].soft_limit));
			json_object_object_add(jr, "bytes_per_vcpu", json_object_new_uint64((uint64_t)res[i].ring_size * RINGSIM_ENTRY_BYTES));
			json_object_object_add(jr, "bytes_per_vm", json_object_new_uint64((uint64_t)res[i].ring_size * RINGSIM_ENTRY_BYTES * nr));
			json_object_object_add(jr, "exits_s", json_object_new_double(res[i].exits_s));
			json_object_object_add(jr, "stall_frac_sum", json_object_new_double(res[i].stall_frac_sum));
			for (size_t k = 0; k < res[i].n_vcpus; k++) {
				const struct ringsim_vcpu_result *v = &res[i].vcpus[k];
				json_object *x = json_object_new_object();

				json_object_object_add(x, "vcpu_id", json_object_new_int(rings[k]->vcpu_id));
				json_object_object_add(x, "exits", json_object_new_uint64(v->exits));
				json_object_object_add(x, "exits_s", json_object_new_double(v->exits_s));
				json_object_object_add(x, "stall_s", json_object_new_double(v->stall_s));
				json_object_object_add(x, "stall_frac", json_object_new_double(v->stall_frac));
				json_object_object_add(x, "peak_used", json_object_new_uint64(v->peak_used));
				json_object_object_add(x, "behind", json_object_new_uint64(v->behind));
				json_object_array_add(pv, x);
			}
			json_object_object_add(jr, "vcpus", pv);
			json_object_array_add(a, jr);
		}
		json_object_object_add(jvm, "candidates", a);
		jc = json_object_new_object();
		json_object_object_add(jc, "ring_size", json_object_new_uint64(rec_size));
		json_object_object_add(jc, "predicted_exits_s", json_object_new_double(cal.exits_s));
		{
			uint64_t ex = 0;

			for (size_t i = 0; i < nr; i++)
				ex += rings[i]->n_exits;
			json_object_object_add(jc, "observed_exits_s", json_object_new_double(secs > 0 ? (double)ex / secs : 0));
		}
		json_object_object_add(jvm, "calibration", rec_size ? jc : NULL);
		if (!rec_size)
			json_object_put(jc);
		json_object_object_add(jvm, "recommended_ring_size", best ? json_object_new_uint64(best) : NULL);
		json_object_object_add(jvm, "recommendation", json_object_new_string(best ? "ring" : "bitmap"));
		json_object_object_add(jvm, "lower_bound", json_object_new_boolean(saturated));
		json_object_object_add(jvm, "bytes_per_vcpu", best ? json_object_new_uint64((uint64_t)best * RINGSIM_ENTRY_BYTES) : NULL);
		json_object_object_add(jvm, "bytes_per_vm", best ? json_object_new_uint64((uint64_t)best * RINGSIM_ENTRY_BYTES * nr) : NULL);
		json_object_array_add(jvms, jvm);
	} else {
		uint64_t ex = 0;

		fprintf(out, "VM %u (pid %u %s): ring %u entries (soft limit %u), %zu vCPUs\n", vm ? vm->vm_id : 0,
			tv->tgid, vm ? vm->comm : "", rec_size, rec_soft, nr);
		fprintf(out, "  the VMM %s on a soft-full exit%s", model.reaction == RINGSIM_REACT_REAP ? "reaps" :
			model.reaction == RINGSIM_REACT_WAIT ? "waits for its reaper" : "re-enters KVM_RUN (exit storm)",
			model.reaction_observed ? "" : " (assumed: none was recorded)");
		if (model.reaction == RINGSIM_REACT_REAP)
			fprintf(out, " after %s", fmt_usecs(b1, sizeof(b1), (double)model.react_ns / 1e3));
		if (model.reaction == RINGSIM_REACT_RETRY)
			fprintf(out, ", %.0f exits/s while full", model.storm_exits_s);
		fprintf(out, "; %zu other resets, every %s, harvested %s before the reset", model.n_periodic,
			fmt_usecs(b2, sizeof(b2), (double)model.median_period_ns / 1e3),
			fmt_usecs(b3, sizeof(b3), (double)model.median_lag_ns / 1e3));
		if (model.n_blocked)
			fprintf(out, "; the reaper stalled %zu times", model.n_blocked);
		fprintf(out, "\n\n  observed over %.1f s:\n", secs);
		fprintf(out, "  %5s %9s %13s %8s %8s %8s %9s %9s\n", "VCPU", "FILL/s", "PEAK(%soft)", "EXITS/s",
			"STALL%", "HELD%", "REAP p50", "REAP p99");
		for (size_t i = 0; i < nr; i++) {
			const struct vcpu_metrics *c = summary_vcpu(vm, rings[i]->id);
			char f[16], p50[16] = "-", p99[16] = "-", peak[24];

			ex += rings[i]->n_exits;
			if (c && c->reap_interval_us_all.valid) {
				fmt_usecs(p50, sizeof(p50), c->reap_interval_us_all.p50);
				fmt_usecs(p99, sizeof(p99), c->reap_interval_us_all.p99);
			}
			snprintf(peak, sizeof(peak), "%u(%.0f%%)", c ? c->peak_used : 0, c ? c->peak_pct : 0);
			fprintf(out, "  %5d %9s %13s %8.1f %7.1f%% %7.1f%% %9s %9s\n", rings[i]->vcpu_id,
				fmt_count(f, sizeof(f), secs > 0 ? (double)rings[i]->n_pushes / secs : 0), peak,
				secs > 0 ? (double)rings[i]->n_exits / secs : 0, c ? 100 * c->stall_frac : 0,
				c && secs > 0 ? 100 * c->held_s / secs : 0, p50, p99);
		}
		fprintf(out, "\n  predicted per ring size (soft-full exits/s and stall time, per vCPU):\n");
		fprintf(out, "  %6s %6s %9s %9s", "SIZE", "SOFT", "MEM/VCPU", "MEM/VM");
		for (size_t i = 0; i < nr && i < 8; i++)
			fprintf(out, "   vCPU %-3d exits/s stall", rings[i]->vcpu_id);
		fprintf(out, "  VM exits/s\n");
		for (int i = 0; i < RINGSIM_N_SIZES; i++) {
			fprintf(out, "  %6u %6u %9s %9s", res[i].ring_size, res[i].soft_limit,
				fmt_bytes(b1, sizeof(b1), (double)res[i].ring_size * RINGSIM_ENTRY_BYTES),
				fmt_bytes(b2, sizeof(b2), (double)res[i].ring_size * RINGSIM_ENTRY_BYTES * (double)nr));
			for (size_t k = 0; k < res[i].n_vcpus && k < 8; k++)
				fprintf(out, "   %16.1f %4.1f%%", res[i].vcpus[k].exits_s, 100 * res[i].vcpus[k].stall_frac);
			fprintf(out, "  %10.1f%s\n", res[i].exits_s, res[i].ring_size == best ? "  <- recommended" : "");
		}
		if (rec_size)
			fprintf(out, "  at the recorded size (%u) the simulation predicts %.1f exits/s; %.1f were observed\n",
				rec_size, cal.exits_s, secs > 0 ? (double)ex / secs : 0);
		if (best)
			fprintf(out, "\n  recommended: %sdirty-ring-size=%u (%s per vCPU, %s per VM): the smallest ring with at "
				"most %.1f soft-full exits/s and %.1f%% stall per vCPU\n", saturated ? "at least " : "", best,
				fmt_bytes(b1, sizeof(b1), (double)best * RINGSIM_ENTRY_BYTES),
				fmt_bytes(b2, sizeof(b2), (double)best * RINGSIM_ENTRY_BYTES * (double)nr),
				t->target.max_exits_s, 100 * t->target.max_stall_frac);
		else
			fprintf(out, "\n  recommended: use the bitmap (dirty-ring-size=0): even 65536 entries take more than "
				"%.1f soft-full exits/s or %.1f%% stall per vCPU; the ring costs more than it saves\n",
				t->target.max_exits_s, 100 * t->target.max_stall_frac);
		if (nr > 1) {
			fprintf(out, "  per vCPU:");
			for (size_t i = 0; i < nr; i++) {
				uint32_t own = ringsim_recommend(res, RINGSIM_N_SIZES, &t->target, (int)i);

				if (own)
					fprintf(out, " %d: %u", rings[i]->vcpu_id, own);
				else
					fprintf(out, " %d: bitmap", rings[i]->vcpu_id);
			}
			fputc('\n', out);
		}
		for (size_t i = 0; i < nr; i++)
			if (res[RINGSIM_N_SIZES - 1].vcpus && res[RINGSIM_N_SIZES - 1].vcpus[i].behind > rings[i]->n_pushes / 20) {
				fprintf(out, "  note: vCPU %d runs behind its recorded pace even with 65536 entries\n",
					rings[i]->vcpu_id);
				break;
			}
		for (size_t i = 0; i < nr; i++)
			if (model.vcpus[i].obs_stall_s > 0.05 * secs) {
				fprintf(out, "  note: vCPU %d was stalled %.0f%% of the recording: its demand is an estimate from "
					"what it could do at the recorded size%s\n", rings[i]->vcpu_id,
					100 * model.vcpus[i].obs_stall_s / secs,
					saturated ? " (a lower bound: record with a larger ring to see it)" : "");
				break;
			}
		fputc('\n', out);
	}
	for (int i = 0; i < RINGSIM_N_SIZES; i++)
		ringsim_result_free(&res[i]);
	if (cal_own)
		ringsim_result_free(&cal);
	ringsim_model_free(&model);
	free(vt);
	free(rings);
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
		"  -p, --pid PID          only the VMs of process PID\n"
		"  -j, --json             one JSON document\n"
		"      --max-exits N      target: soft-full exits/s per vCPU (default 1)\n"
		"      --max-stall PCT    target: stall time per vCPU in %% (default 0.5)\n"
		"  -h, --help             this help\n\n"
		"With a COMMAND, tune records while it runs, only its VMs.\n"
		"Exit status: 0 ok, 1 runtime error (unreadable file), 2 bad usage, 3 kernel\n"
		"feature missing, 4 insufficient privileges (live).\n");
}

int tune_main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-exits", required_argument, NULL, 'E' },
		{ "max-stall", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct tune t = { .target = { .max_exits_s = 1, .max_stall_frac = 0.005 } };
	const char *path = NULL;
	char tmp[512] = "", err[700], *end;
	double duration = 0;
	int opt, ret, dd;
	char **command;
	struct rec_span span;
	struct rec_reader *rd;
	struct rec_record rec;
	struct replay *r;
	struct snapshot snap = {};
	struct model summary;
	FILE *f;
	json_object *root = NULL, *jvms = NULL;

	/* options and FILE before "--", COMMAND after it */
	for (dd = 1; dd < argc && strcmp(argv[dd], "--"); dd++)
		;
	optind = 1;
	while ((opt = getopt_long(dd, argv, "d:p:jh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !isfinite(duration) || duration <= 0 || duration > 86400) {
				fprintf(stderr, "dirtytop tune: --duration takes seconds > 0, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p': {
			long p = strtol(optarg, &end, 10);

			if (*end || p < 1 || p > 0x7fffffff) {
				fprintf(stderr, "dirtytop tune: --pid takes a process id, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			t.filter_tgid = (uint32_t)p;
			break;
		}
		case 'j': t.json = true; break;
		case 'E':
			t.target.max_exits_s = strtod(optarg, &end);
			if (*end || !isfinite(t.target.max_exits_s) || t.target.max_exits_s < 0) {
				fprintf(stderr, "dirtytop tune: --max-exits takes exits/s >= 0, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			t.target.max_stall_frac = strtod(optarg, &end) / 100;
			if (*end || !isfinite(t.target.max_stall_frac) || t.target.max_stall_frac < 0 ||
			    t.target.max_stall_frac > 1) {
				fprintf(stderr, "dirtytop tune: --max-stall takes a percentage, not '%s'\n", optarg);
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
		fprintf(stderr, "dirtytop tune: one recording at a time\n");
		return EXIT_USAGE;
	}
	command = dd + 1 < argc ? &argv[dd + 1] : NULL;
	if (path && command) {
		fprintf(stderr, "dirtytop tune: a recording or a COMMAND, not both\n");
		return EXIT_USAGE;
	}
	if (path && duration) {
		fprintf(stderr, "dirtytop tune: --duration is for a live run, not a recording\n");
		return EXIT_USAGE;
	}
	if (!path) {
		int rec_ret;

		if (!command && !duration)
			duration = 10;
		if (command && t.filter_tgid) {
			fprintf(stderr, "dirtytop tune: --pid or a COMMAND, not both\n");
			return EXIT_USAGE;
		}
		if (!t.json)
			fprintf(stderr, "dirtytop tune: recording %s...\n", command ? "while the command runs" :
				"for the duration");
		rec_ret = analysis_record(duration, t.filter_tgid, command, tmp, sizeof(tmp));
		path = tmp;
		if (analysis_span(path, &span, err, sizeof(err))) {
			unlink(tmp);
			return rec_ret ? rec_ret : EXIT_RUNTIME;
		}
		if (rec_ret)
			fprintf(stderr, "dirtytop tune: the recording ended with status %d; tuning from what it holds\n",
				rec_ret);
	}

	ret = tmp[0] ? EXIT_OK : analysis_span(path, &span, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "dirtytop tune: %s\n", err);
		goto out_tmp;
	}
	if (span.status == REC_END_TRUNCATED)
		fprintf(stderr, "dirtytop tune: warning: %s: %s\n", path, span.message);
	if (recording_lost(&span.stats, REC_PUSH) || recording_lost(&span.stats, REC_RESET) ||
	    recording_lost(&span.stats, REC_FULL))
		fprintf(stderr, "dirtytop tune: warning: the recording lost %llu pushes, %llu resets and %llu soft-full "
			"exits: the timeline has gaps\n", (unsigned long long)recording_lost(&span.stats, REC_PUSH),
			(unsigned long long)recording_lost(&span.stats, REC_RESET),
			(unsigned long long)recording_lost(&span.stats, REC_FULL));

	/* pass 2: the timeline, and the whole-recording metrics */
	r = replay_new(span.start_ns, span.end_ns, 0, 9, NULL, NULL);
	if (analysis_open(path, &span, &f, &rd, err, sizeof(err))) {
		fprintf(stderr, "dirtytop tune: %s\n", err);
		replay_free(r);
		ret = EXIT_RUNTIME;
		goto out_tmp;
	}
	while (recr_next(rd, &rec) == REC_OK) {
		replay_apply(r, &rec);
		collect(&t, &rec);
	}
	recr_free(rd);
	fclose(f);
	for (size_t i = 0; i < t.n_vms; i++)
		if (t.vms[i].used)
			qsort(t.vms[i].calls, t.vms[i].n_calls, sizeof(*t.vms[i].calls), cmp_call);

	model_init(&summary);
	replay_baseline(r, &snap);
	model_update(&summary, &snap, NULL, NULL, NULL, NULL);
	replay_summary(r, &snap);
	model_update(&summary, &snap, replay_proc_lookup, r, NULL, NULL);

	if (t.json) {
		root = json_object_new_object();
		jvms = json_object_new_array();
		json_object_object_add(root, "source", json_object_new_string(tmp[0] ? "live" : path));
		json_object_object_add(root, "duration_s", json_object_new_double((double)(span.end_ns - span.start_ns) / 1e9));
		{
			json_object *tg = json_object_new_object();

			json_object_object_add(tg, "max_exits_s", json_object_new_double(t.target.max_exits_s));
			json_object_object_add(tg, "max_stall_frac", json_object_new_double(t.target.max_stall_frac));
			json_object_object_add(root, "target", tg);
		}
		json_object_object_add(root, "lost_pushes", json_object_new_uint64(recording_lost(&span.stats, REC_PUSH)));
	} else {
		printf("dirtytop tune: %s, %.1f s\n\n", tmp[0] ? "live recording" : path,
		       (double)(span.end_ns - span.start_ns) / 1e9);
	}
	{
		size_t shown = 0;

		for (size_t i = 0; i < t.n_vms; i++) {
			const struct tvm *tv = &t.vms[i];
			const struct vm_metrics *vm = NULL;

			if (!tv->used || (t.filter_tgid && tv->tgid != t.filter_tgid))
				continue;
			for (size_t k = 0; k < summary.n_vms; k++)
				if (summary.vms[k].key == REPLAY_KEY(tv->id))
					vm = &summary.vms[k];
			if (vm && vm->tracking == TRACK_BITMAP && !vm->pushes) {
				if (!t.json)
					printf("VM %u (pid %u %s): tracks dirty pages with the bitmap (%.0f pages/s): no ring "
					       "timeline to simulate\n\n", vm->vm_id, tv->tgid, vm->comm, vm->bitmap_dirty_pages_s);
				continue;
			}
			tune_vm(&t, tv, vm, span.start_ns, span.end_ns, jvms, stdout);
			shown++;
		}
		if (!shown && !t.json)
			printf("no VM with a dirty ring was seen\n");
	}
	if (t.json) {
		json_object_object_add(root, "vms", jvms);
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
		json_object_put(root);
	}
	if (t.dropped)
		fprintf(stderr, "dirtytop tune: warning: %llu events named ids beyond the table limit and were skipped\n",
			(unsigned long long)t.dropped);
	model_free(&summary);
	snapshot_free(&snap);
	replay_free(r);
	ret = fflush(stdout) ? EXIT_RUNTIME : EXIT_OK;
out_tmp:
	free_tune(&t);
	if (tmp[0])
		unlink(tmp);
	return ret;
}
