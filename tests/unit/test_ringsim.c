// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The trace-driven ring simulation (src/ringsim.c). A reference VMM written
 * here generates traces with known behaviour (a paced vCPU that catches up,
 * in batches like dirtygen, a periodic reaper with a harvest-to-reset delay, and a reaction to
 * soft-full exits: reap, wait or retry); ringsim infers the behaviour from a
 * trace recorded with a large ring and predicts what the reference VMM does
 * with smaller rings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "core/ringsim.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define VCPU_TID 101
#define REAPER_TID 200

enum gen_react { GEN_REAP, GEN_WAIT, GEN_RETRY };

struct gen_cfg {
	uint32_t size;
	double rate;			/* pages/s, paced in wall clock */
	double capacity;		/* pages/s when behind */
	uint64_t period, delay;		/* reaper: harvest every period, reset delay later */
	enum gen_react react;
	uint64_t duration;
	uint64_t stall_from, stall_to;	/* the reaper (and the reaction) does nothing in here */
	int vcpus;
	double rate2;			/* rate of vCPU 1.. (default: rate) */
};

struct gen_vcpu {
	struct ringsim_push *pushes;
	size_t n_pushes, cap_pushes;
	struct ringsim_ring_reset *resets;
	size_t n_resets, cap_resets;
	uint64_t *exits;
	size_t n_exits, cap_exits;
	struct ringsim_reentry *reentries;
	size_t n_reentries, cap_reentries;
	/* state */
	uint32_t dirty, reset, harvested;
	uint64_t k, last;		/* pages done; last push */
	bool stalled;
	uint64_t resume_at, next_storm;
	double rate;
};

struct gen {
	struct gen_cfg cfg;
	struct gen_vcpu v[4];
	struct ringsim_vcpu_trace tv[4];
	struct ringsim_call *calls;
	size_t n_calls, cap_calls;
	struct ringsim_vm_trace trace;
	uint64_t exits_total;
};

#define PUSH(arr, n, cap, val)                                                  \
	do {                                                                    \
		if ((n) == (cap)) {                                             \
			(cap) = (cap) ? (cap) * 2 : 64;                         \
			(arr) = realloc((arr), (cap) * sizeof(*(arr)));         \
			assert_non_null(arr);                                   \
		}                                                               \
		(arr)[(n)++] = (val);                                           \
	} while (0)

static bool reaper_stalled(const struct gen_cfg *c, uint64_t t)
{
	return t >= c->stall_from && t < c->stall_to;
}

static void gen_reset_call(struct gen *g, uint64_t start, uint64_t end, uint32_t tid)
{
	struct ringsim_call call = { start, end, tid };

	PUSH(g->calls, g->n_calls, g->cap_calls, call);
	for (int i = 0; i < g->cfg.vcpus; i++) {
		struct gen_vcpu *v = &g->v[i];
		struct ringsim_ring_reset rr;

		if (v->harvested > v->reset)
			v->reset = v->harvested;
		rr.ts = start + (end - start) / 2;
		rr.dirty_index = v->dirty;
		rr.reset_index = v->reset;
		rr.call = (int32_t)g->n_calls - 1;
		PUSH(v->resets, v->n_resets, v->cap_resets, rr);
	}
}

static void gen_resume_if_free(struct gen *g, struct gen_vcpu *v, uint64_t now)
{
	if (v->stalled && v->dirty - v->reset < g->cfg.size - 64) {
		struct ringsim_reentry re = { now + 2 * US };

		v->stalled = false;
		v->resume_at = now + 2 * US;
		PUSH(v->reentries, v->n_reentries, v->cap_reentries, re);
	}
}

static uint64_t batch(double rate)
{
	return rate >= 2000 ? (uint64_t)(rate / 1000) : 1;
}

/* The reference VMM, stepped in 1 us increments where something happens. */
static void gen_run(struct gen *g, const struct gen_cfg *cfg)
{
	uint64_t next_harvest, pending_reset = 0, react_done[4] = {}, t;
	uint32_t soft = cfg->size - 64;

	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	if (!g->cfg.vcpus)
		g->cfg.vcpus = 1;
	for (int i = 0; i < g->cfg.vcpus; i++)
		g->v[i].rate = i && cfg->rate2 ? cfg->rate2 : cfg->rate;
	next_harvest = cfg->period;
	for (;;) {
		uint64_t tn = UINT64_MAX;
		int who = -1;

		/* the next thing to happen */
		for (int i = 0; i < g->cfg.vcpus; i++) {
			struct gen_vcpu *v = &g->v[i];
			uint64_t due;

			if (v->stalled) {
				if (cfg->react == GEN_RETRY && v->next_storm < tn)
					tn = v->next_storm, who = 100 + i;
				if (react_done[i] && react_done[i] < tn)
					tn = react_done[i], who = 200 + i;
				continue;
			}
			/* paced per batch of rate/1000 pages, as dirtygen: a batch at capacity */
			due = (uint64_t)((double)(v->k - v->k % batch(v->rate)) * 1e9 / v->rate);
			if (v->last && v->last + (uint64_t)(1e9 / cfg->capacity) > due)
				due = v->last + (uint64_t)(1e9 / cfg->capacity);
			if (v->resume_at > due)
				due = v->resume_at;
			if (due < tn)
				tn = due, who = i;
		}
		if (next_harvest < tn)
			tn = next_harvest, who = 300;
		if (pending_reset && pending_reset < tn)
			tn = pending_reset, who = 400;
		if (tn >= cfg->duration)
			break;
		t = tn;
		if (who == 300) {
			if (!reaper_stalled(cfg, t)) {
				for (int i = 0; i < g->cfg.vcpus; i++)
					g->v[i].harvested = g->v[i].dirty;
				pending_reset = t + cfg->delay + 1;
			}
			next_harvest += cfg->period;
		} else if (who == 400) {
			gen_reset_call(g, t - 1, t, REAPER_TID);
			pending_reset = 0;
			for (int i = 0; i < g->cfg.vcpus; i++)
				if (cfg->react != GEN_REAP)
					gen_resume_if_free(g, &g->v[i], t);
		} else if (who >= 200) {
			struct gen_vcpu *v = &g->v[who - 200];

			gen_reset_call(g, t - 1, t, VCPU_TID + (uint32_t)(who - 200));
			react_done[who - 200] = 0;
			gen_resume_if_free(g, v, t);
		} else if (who >= 100) {
			struct gen_vcpu *v = &g->v[who - 100];

			PUSH(v->exits, v->n_exits, v->cap_exits, t);
			g->exits_total++;
			v->next_storm = t + 50 * US;
		} else {
			struct gen_vcpu *v = &g->v[who];
			struct ringsim_push p;

			v->dirty++;
			v->k++;
			v->last = t;
			p.ts = t;
			p.index = v->dirty;
			PUSH(v->pushes, v->n_pushes, v->cap_pushes, p);
			if (v->dirty - v->reset >= soft) {
				v->stalled = true;
				PUSH(v->exits, v->n_exits, v->cap_exits, t + 1);
				g->exits_total++;
				v->next_storm = t + 50 * US;
				if (cfg->react == GEN_REAP) {
					uint64_t start = t + 1;

					if (reaper_stalled(cfg, start))
						start = cfg->stall_to;
					for (int i = 0; i < g->cfg.vcpus; i++)
						g->v[i].harvested = g->v[i].dirty;
					react_done[who] = start + cfg->delay + 1;
				}
			}
		}
	}
	for (int i = 0; i < g->cfg.vcpus; i++) {
		struct gen_vcpu *v = &g->v[i];

		g->tv[i] = (struct ringsim_vcpu_trace){
			.vcpu_id = i, .tid = VCPU_TID + (uint32_t)i,
			.pushes = v->pushes, .n_pushes = v->n_pushes,
			.resets = v->resets, .n_resets = v->n_resets,
			.full_exits = v->exits, .n_full_exits = v->n_exits,
			.reentries = v->reentries, .n_reentries = v->n_reentries,
		};
	}
	g->trace = (struct ringsim_vm_trace){
		.start_ns = 0, .end_ns = cfg->duration, .ring_size = cfg->size, .soft_limit = cfg->size - 64,
		.vcpus = g->tv, .n_vcpus = (size_t)g->cfg.vcpus, .calls = g->calls, .n_calls = g->n_calls,
	};
}

static void gen_free(struct gen *g)
{
	for (int i = 0; i < 4; i++) {
		free(g->v[i].pushes);
		free(g->v[i].resets);
		free(g->v[i].exits);
		free(g->v[i].reentries);
	}
	free(g->calls);
}

static double predict_exits_s(const struct gen *rec, uint32_t size, struct ringsim_model *mout)
{
	struct ringsim_model m;
	struct ringsim_result r;
	double x;

	assert_int_equal(ringsim_infer(&rec->trace, &m), 0);
	assert_int_equal(ringsim_run(&rec->trace, &m, size, &r), 0);
	x = r.exits_s;
	ringsim_result_free(&r);
	if (mout)
		*mout = m;
	else
		ringsim_model_free(&m);
	return x;
}

static double measured_exits_s(const struct gen_cfg *base, uint32_t size)
{
	struct gen g;
	struct gen_cfg c = *base;
	double x;

	c.size = size;
	gen_run(&g, &c);
	x = (double)g.exits_total / ((double)c.duration / 1e9);
	gen_free(&g);
	return x;
}

static void assert_close(double predicted, double measured)
{
	double tol = fmax(0.2 * measured, 5.0);

	if (fabs(predicted - measured) > tol)
		fail_msg("predicted %.2f exits/s, the reference VMM took %.2f", predicted, measured);
}

/* A large ring: no exit; the harvest lag and the period are inferred, the reaction assumed. */
static void test_infer_periodic(void **state)
{
	struct gen_cfg c = { .size = 65536, .rate = 20000, .capacity = 100000, .period = 100 * MS,
			     .delay = 5 * MS, .react = GEN_REAP, .duration = 2 * SEC };
	struct gen g;
	struct ringsim_model m;

	(void)state;
	gen_run(&g, &c);
	assert_int_equal(g.exits_total, 0);
	assert_int_equal(ringsim_infer(&g.trace, &m), 0);
	assert_false(m.reaction_observed);
	assert_int_equal(m.reaction, RINGSIM_REACT_REAP);
	assert_int_equal(m.reserve, 64);
	assert_true(m.median_lag_ns > 4 * MS && m.median_lag_ns < 6 * MS);
	assert_true(m.median_period_ns > 99 * MS && m.median_period_ns < 101 * MS);
	assert_true(m.react_ns >= 4 * MS && m.react_ns < 6 * MS);
	assert_true(m.n_periodic >= 18);
	assert_true(m.vcpus[0].capacity > 90000 && m.vcpus[0].capacity < 110000);
	assert_true(fabs(m.vcpus[0].mean_rate - 20000) < 200);
	assert_int_equal(m.n_blocked, 0);
	ringsim_model_free(&m);
	gen_free(&g);
}

/* From a recording without exits, the exits of three smaller rings. */
static void test_predict_smaller_rings(void **state)
{
	struct gen_cfg c = { .size = 65536, .rate = 20000, .capacity = 100000, .period = 200 * MS,
			     .delay = 50 * MS, .react = GEN_REAP, .duration = 4 * SEC };
	struct gen rec;
	uint32_t sizes[] = { 1024, 2048, 4096 };

	(void)state;
	gen_run(&rec, &c);
	for (size_t i = 0; i < 3; i++) {
		double p = predict_exits_s(&rec, sizes[i], NULL), x = measured_exits_s(&c, sizes[i]);

		assert_true(x > 1);
		assert_close(p, x);
	}
	/* large rings: none */
	assert_true(predict_exits_s(&rec, 16384, NULL) < 0.01);
	gen_free(&rec);
}

/* The same from a recording that had exits (the reaction is observed). */
static void test_predict_from_exits(void **state)
{
	struct gen_cfg c = { .size = 2048, .rate = 10000, .capacity = 100000, .period = 200 * MS,
			     .delay = 20 * MS, .react = GEN_REAP, .duration = 4 * SEC };
	struct gen rec;
	struct ringsim_model m;
	double p;

	(void)state;
	gen_run(&rec, &c);
	assert_true(rec.exits_total > 10);
	p = predict_exits_s(&rec, 1024, &m);
	assert_true(m.reaction_observed);
	assert_int_equal(m.reaction, RINGSIM_REACT_REAP);
	assert_true(m.react_ns >= 20 * MS && m.react_ns < 22 * MS);
	assert_true(m.demand_calls + 1 >= rec.exits_total && m.demand_calls <= rec.exits_total);
	assert_close(p, measured_exits_s(&c, 1024));
	/* at its own size the simulation reproduces the recording */
	assert_close(predict_exits_s(&rec, 2048, NULL), (double)rec.exits_total / 4.0);
	assert_true(predict_exits_s(&rec, 8192, NULL) < 0.01);
	ringsim_model_free(&m);
	gen_free(&rec);
}

/* A VMM that waits for its reaper: stalls last until the periodic reset. */
static void test_wait_reaction(void **state)
{
	struct gen_cfg c = { .size = 4096, .rate = 30000, .capacity = 100000, .period = 200 * MS,
			     .delay = 1 * MS, .react = GEN_WAIT, .duration = 4 * SEC };
	struct gen rec;
	struct ringsim_model m;
	struct ringsim_result r;

	(void)state;
	gen_run(&rec, &c);
	assert_true(rec.exits_total > 5);
	assert_int_equal(ringsim_infer(&rec.trace, &m), 0);
	assert_int_equal(m.reaction, RINGSIM_REACT_WAIT);
	assert_int_equal(m.demand_calls, 0);
	assert_int_equal(ringsim_run(&rec.trace, &m, 2048, &r), 0);
	assert_close(r.exits_s, measured_exits_s(&c, 2048));
	/* waiting for a 200 ms reaper: a large part of the time stalled */
	assert_true(r.vcpus[0].stall_frac > 0.3);
	ringsim_result_free(&r);
	ringsim_model_free(&m);
	gen_free(&rec);
}

/* A VMM that re-enters KVM_RUN while full: an exit storm at the observed rate. */
static void test_retry_storm(void **state)
{
	struct gen_cfg c = { .size = 4096, .rate = 30000, .capacity = 100000, .period = 200 * MS,
			     .delay = 1 * MS, .react = GEN_RETRY, .duration = 3 * SEC };
	struct gen rec;
	struct ringsim_model m;

	(void)state;
	gen_run(&rec, &c);
	assert_true(rec.exits_total > 1000);
	assert_int_equal(ringsim_infer(&rec.trace, &m), 0);
	assert_int_equal(m.reaction, RINGSIM_REACT_RETRY);
	assert_true(m.storm_exits_s > 15000 && m.storm_exits_s < 25000);
	ringsim_model_free(&m);
	assert_close(predict_exits_s(&rec, 2048, NULL), measured_exits_s(&c, 2048));
	assert_true(predict_exits_s(&rec, 16384, NULL) < 0.01);
	gen_free(&rec);
}

/* A reaper stalled for a second: reactions wait for its end. */
static void test_stalled_reaper(void **state)
{
	struct gen_cfg c = { .size = 65536, .rate = 10000, .capacity = 100000, .period = 100 * MS,
			     .delay = 1 * MS, .react = GEN_REAP, .duration = 4 * SEC,
			     .stall_from = 1000 * MS, .stall_to = 2000 * MS };
	struct gen rec;
	struct ringsim_model m;
	struct ringsim_result r;
	struct gen g2;
	struct gen_cfg c2 = c;

	(void)state;
	gen_run(&rec, &c);
	assert_int_equal(rec.exits_total, 0);
	assert_int_equal(ringsim_infer(&rec.trace, &m), 0);
	assert_int_equal(m.n_blocked, 1);	/* the silence of the reaper */
	assert_int_equal(ringsim_run(&rec.trace, &m, 4096, &r), 0);
	c2.size = 4096;
	gen_run(&g2, &c2);
	/* one exit in the stall, waiting for its end: ~0.6 s stalled */
	assert_true(r.vcpus[0].exits >= 1 && r.vcpus[0].exits <= g2.exits_total + 2);
	assert_true(fabs(r.vcpus[0].stall_s - 0.6) < 0.1);
	ringsim_result_free(&r);
	ringsim_model_free(&m);
	gen_free(&g2);
	gen_free(&rec);
}

/* Two vCPUs: the hot one needs a larger ring than the cold one. */
static void test_recommend(void **state)
{
	struct gen_cfg c = { .size = 65536, .rate = 20000, .rate2 = 1000, .capacity = 100000,
			     .period = 200 * MS, .delay = 10 * MS, .react = GEN_REAP, .duration = 3 * SEC,
			     .vcpus = 2 };
	struct gen rec;
	struct ringsim_model m;
	struct ringsim_result res[RINGSIM_N_SIZES];
	struct ringsim_target tg = { .max_exits_s = 1, .max_stall_frac = 0.005 };
	struct ringsim_target none = { .max_exits_s = -1, .max_stall_frac = -1 };

	(void)state;
	gen_run(&rec, &c);
	assert_int_equal(ringsim_infer(&rec.trace, &m), 0);
	for (int i = 0; i < RINGSIM_N_SIZES; i++)
		assert_int_equal(ringsim_run(&rec.trace, &m, ringsim_size(i), &res[i]), 0);
	/* 20000/s for 210 ms: 4200 entries; 1000/s: 210 */
	assert_int_equal(ringsim_recommend(res, RINGSIM_N_SIZES, &tg, 0), 8192);
	assert_int_equal(ringsim_recommend(res, RINGSIM_N_SIZES, &tg, 1), 1024);
	assert_int_equal(ringsim_recommend(res, RINGSIM_N_SIZES, &tg, -1), 8192);
	assert_int_equal(ringsim_recommend(res, RINGSIM_N_SIZES, &none, -1), 0);
	assert_true(res[0].vcpus[0].exits_s > 5);
	assert_true(res[0].vcpus[1].exits_s < 0.01);
	for (int i = 0; i < RINGSIM_N_SIZES; i++)
		ringsim_result_free(&res[i]);
	ringsim_model_free(&m);
	gen_free(&rec);
}

static void test_bad_input(void **state)
{
	struct ringsim_vm_trace t = { 0 };
	struct ringsim_model m;
	struct gen g;
	struct gen_cfg c = { .size = 4096, .rate = 1000, .capacity = 100000, .period = 100 * MS,
			     .react = GEN_REAP, .duration = SEC / 2 };
	struct ringsim_result r;

	(void)state;
	assert_int_equal(ringsim_infer(&t, &m), -1);
	gen_run(&g, &c);
	assert_int_equal(ringsim_infer(&g.trace, &m), 0);
	assert_int_equal(ringsim_run(&g.trace, &m, 3000, &r), -1);
	assert_int_equal(ringsim_run(&g.trace, &m, 64, &r), -1);
	assert_int_equal(ringsim_size(0), 1024);
	assert_int_equal(ringsim_size(RINGSIM_N_SIZES - 1), 65536);
	assert_string_equal(ringsim_reaction_name(RINGSIM_REACT_RETRY), "retry");
	ringsim_model_free(&m);
	gen_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_infer_periodic),
		cmocka_unit_test(test_predict_smaller_rings),
		cmocka_unit_test(test_predict_from_exits),
		cmocka_unit_test(test_wait_reaction),
		cmocka_unit_test(test_retry_storm),
		cmocka_unit_test(test_stalled_reaper),
		cmocka_unit_test(test_recommend),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
