// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>
#include "core/replay.h"
#include "core/tune_plan.h"

static const struct vcpu_metrics *vcpu_metrics_of(const struct vm_metrics *vm, uint32_t ring_id)
{
	for (size_t i = 0; vm && i < vm->n_vcpus; i++)
		if (vm->vcpus[i].key == REPLAY_KEY(ring_id))
			return &vm->vcpus[i];
	return NULL;
}

/*
 * The span the VM was active in: a COMMAND's VM starts after the recording
 * does. Kept when the VM's own events cover more than a tenth of it.
 */
static void active_span(struct timeline_ring *const *rings, size_t n, uint64_t *start_ns, uint64_t *end_ns)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		const struct timeline_ring *r = rings[i];

		if (r->n_pushes) {
			lo = r->pushes[0].ts < lo ? r->pushes[0].ts : lo;
			hi = r->pushes[r->n_pushes - 1].ts > hi ? r->pushes[r->n_pushes - 1].ts : hi;
		}
		if (r->n_resets) {
			lo = r->resets[0].ts < lo ? r->resets[0].ts : lo;
			hi = r->resets[r->n_resets - 1].ts > hi ? r->resets[r->n_resets - 1].ts : hi;
		}
	}
	if (lo < hi && hi - lo > (*end_ns - *start_ns) / 10) {
		*start_ns = lo > *start_ns ? lo : *start_ns;
		*end_ns = hi < *end_ns ? hi : *end_ns;
	}
}

/* Simulate every candidate size, and the recorded one when it is not a candidate. */
static void simulate(struct tune_plan *p, const struct ringsim_vm_trace *trace)
{
	for (int i = 0; i < RINGSIM_N_SIZES; i++) {
		ringsim_run(trace, &p->model, ringsim_size(i), &p->results[i]);
		if (ringsim_size(i) == p->ring_size)
			p->calibration = p->results[i];
	}
	if (p->ring_size && !p->calibration.vcpus && ringsim_run(trace, &p->model, p->ring_size, &p->calibration) == 0)
		p->calibration_own = true;
}

/* Per vCPU: the observed figures, its own recommendation, the notes. */
static void plan_vcpus(struct tune_plan *p, const struct vm_metrics *metrics, const struct ringsim_target *target)
{
	uint64_t exits = 0;

	p->behind_vcpu = p->estimate_vcpu = -1;
	for (size_t i = 0; i < p->n_vcpus; i++) {
		struct tune_vcpu_plan *v = &p->vcpus[i];
		const struct ringsim_vcpu_model *vm = &p->model.vcpus[i];
		const struct ringsim_result *largest = &p->results[RINGSIM_N_SIZES - 1];

		v->metrics = vcpu_metrics_of(metrics, v->ring->id);
		v->fill_rate = p->secs > 0 ? (double)v->ring->n_pushes / p->secs : 0;
		v->full_exits_s = p->secs > 0 ? (double)v->ring->n_full_exits / p->secs : 0;
		v->stall_s = v->metrics ? v->metrics->stall_s : vm->obs_stall_s;
		v->saturated = vm->obs_stall_s > TUNE_SATURATED_FRAC * p->secs;
		v->recommended = ringsim_recommend(p->results, RINGSIM_N_SIZES, target, (int)i);
		exits += v->ring->n_full_exits;
		if (v->saturated)
			p->lower_bound = true;
		if (p->behind_vcpu < 0 && largest->vcpus && largest->vcpus[i].behind > v->ring->n_pushes / 20)
			p->behind_vcpu = (int)i;
		if (p->estimate_vcpu < 0 && vm->obs_stall_s > TUNE_ESTIMATE_FRAC * p->secs)
			p->estimate_vcpu = (int)i;
	}
	p->observed_exits_s = p->secs > 0 ? (double)exits / p->secs : 0;
}

int tune_plan_vm(struct tune_plan *p, const struct timeline *t, const struct timeline_vm *vm,
		 const struct vm_metrics *metrics, uint64_t start_ns, uint64_t end_ns,
		 const struct ringsim_target *target)
{
	struct ringsim_vm_trace trace = {};
	struct ringsim_vcpu_trace *vt;
	struct timeline_ring **rings;
	size_t n;

	rings = timeline_vm_rings(t, vm->id, &n);
	if (!n) {
		free(rings);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	p->n_vcpus = n;
	p->vcpus = calloc(n, sizeof(*p->vcpus));
	vt = calloc(n, sizeof(*vt));
	if (!p->vcpus || !vt)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct timeline_ring *r = rings[i];

		p->vcpus[i].ring = r;
		if (r->ring_size) {
			p->ring_size = r->ring_size;
			p->soft_limit = r->soft_limit;
		}
		vt[i] = (struct ringsim_vcpu_trace){
			.vcpu_id = r->vcpu_id, .tid = r->tid,
			.pushes = r->pushes, .n_pushes = r->n_pushes,
			.resets = r->resets, .n_resets = r->n_resets,
			.full_exits = r->full_exits, .n_full_exits = r->n_full_exits,
			.reentries = r->reentries, .n_reentries = r->n_reentries,
		};
	}
	active_span(rings, n, &start_ns, &end_ns);
	p->start_ns = start_ns;
	p->end_ns = end_ns;
	p->secs = (double)(end_ns - start_ns) / 1e9;
	trace = (struct ringsim_vm_trace){
		.start_ns = start_ns, .end_ns = end_ns,
		.ring_size = p->ring_size, .soft_limit = p->soft_limit,
		.vcpus = vt, .n_vcpus = n,
		.calls = vm->resets, .n_calls = vm->n_resets,
	};
	ringsim_infer(&trace, &p->model);
	simulate(p, &trace);
	p->recommended = ringsim_recommend(p->results, RINGSIM_N_SIZES, target, -1);
	plan_vcpus(p, metrics, target);
	if (p->recommended) {
		p->bytes_per_vcpu = (uint64_t)p->recommended * RINGSIM_ENTRY_BYTES;
		p->bytes_per_vm = p->bytes_per_vcpu * n;
	}
	free(vt);
	free(rings);
	return 0;
}

void tune_plan_free(struct tune_plan *p)
{
	for (int i = 0; i < RINGSIM_N_SIZES; i++)
		ringsim_result_free(&p->results[i]);
	if (p->calibration_own)
		ringsim_result_free(&p->calibration);
	ringsim_model_free(&p->model);
	free(p->vcpus);
	memset(p, 0, sizeof(*p));
}
