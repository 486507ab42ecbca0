// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace-driven dirty ring simulation: see ringsim.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/ringsim.h"
#include "core/util.h"

#define NS 1000000000.0

const char *ringsim_reaction_name(enum ringsim_reaction r)
{
	switch (r) {
	case RINGSIM_REACT_REAP: return "reap";
	case RINGSIM_REACT_WAIT: return "wait";
	case RINGSIM_REACT_RETRY: return "retry";
	}
	return "?";
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		abort();
	return p;
}


/* The q-quantile of v[0..n) (sorted in place); 0 when empty. */
static uint64_t quantile(uint64_t *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), dt_cmp_u64);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static int cmp_periodic(const void *a, const void *b)
{
	const struct ringsim_periodic *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

/* First push whose dirty_index is past idx (free-running u32 indices). */
static size_t first_push_after_index(const struct ringsim_vcpu_trace *c, uint32_t idx)
{
	size_t lo = 0, hi = c->n_pushes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((int32_t)(c->pushes[mid].index - idx) > 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* An observed soft-full stall of one vCPU. */
struct obs_stall {
	uint64_t exit_ns, end_ns;	/* the exit, and the reset that brought the ring under the soft limit */
	int32_t end_call;		/* that reset's call, -1 unknown or none */
	uint64_t exits;			/* soft-full exits during the stall */
	uint64_t resume_ns;		/* first KVM_RUN after end_ns, 0 unknown */
	bool ended;
};

static size_t observe_stalls(const struct ringsim_vm_trace *t, const struct ringsim_vcpu_trace *c,
			     uint32_t soft_limit, struct obs_stall **out)
{
	struct obs_stall *s = xcalloc(c->n_full_exits, sizeof(*s));
	size_t n = 0, e = 0, r = 0, q = 0;

	while (e < c->n_full_exits) {
		struct obs_stall *st = &s[n++];
		uint64_t ex = c->full_exits[e];

		st->exit_ns = ex;
		st->end_call = -1;
		st->end_ns = t->end_ns;
		while (r < c->n_resets && c->resets[r].ts < ex)
			r++;
		for (; r < c->n_resets; r++) {
			const struct ringsim_ring_reset *rr = &c->resets[r];

			if (soft_limit && rr->dirty_index - rr->reset_index >= soft_limit)
				continue;	/* still full after this reset */
			st->end_ns = rr->ts;
			st->end_call = rr->call;
			st->ended = true;
			r++;
			break;
		}
		while (e < c->n_full_exits && c->full_exits[e] < st->end_ns + (st->ended ? 0 : 1)) {
			st->exits++;
			e++;
		}
		if (!st->exits) {	/* an exit at exactly end_ns */
			st->exits = 1;
			e++;
		}
		while (q < c->n_reentries && c->reentries[q].ts < st->end_ns)
			q++;
		if (st->ended && q < c->n_reentries)
			st->resume_ns = c->reentries[q].ts;
	}
	*out = s;
	return n;
}

/*
 * What was observed of one vCPU's stalls: their count and length (shown next
 * to the prediction, to calibrate it) and the median time from the freeing
 * reset to KVM_RUN (the simulation resumes a vCPU that much later).
 */
static void summarize_stalls(const struct ringsim_vcpu_trace *c, const struct obs_stall *stalls,
			     size_t nstalls, struct ringsim_vcpu_model *vm)
{
	uint64_t *res = xcalloc(c->n_full_exits, sizeof(*res));
	size_t nres = 0, j;

	vm->obs_exits = c->n_full_exits;
	for (j = 0; j < nstalls; j++) {
		const struct obs_stall *s = &stalls[j];

		vm->obs_stalls++;
		vm->obs_stall_s += (double)(s->end_ns - s->exit_ns) / NS;
		if (s->resume_ns > s->end_ns)
			res[nres++] = s->resume_ns - s->end_ns;
	}
	vm->resume_ns = quantile(res, nres, 0.5);
	free(res);
}

/*
 * Mark the reset calls a vCPU's own thread made while it was stalled: those
 * are its reaction to the soft-full exit, not periodic resets, so they are
 * not replayed as such.
 */
static void mark_demand_calls(const struct ringsim_vm_trace *t, const struct ringsim_vcpu_trace *c,
			      const struct obs_stall *stalls, size_t nstalls, bool *demand)
{
	/* calls by end, stalls by exit and disjoint: one pass */
	for (size_t k = 0, sj = 0; c->tid && k < t->n_calls; k++) {
		const struct ringsim_call *cl = &t->calls[k];

		if (cl->tid != c->tid)
			continue;
		while (sj < nstalls && stalls[sj].end_ns < cl->start_ns)
			sj++;
		if (sj < nstalls && stalls[sj].exit_ns <= cl->end_ns)
			demand[k] = true;
	}
}

/*
 * What a vCPU thread does after a soft-full exit, by majority of the stalls:
 * it reaps itself (the freeing reset is its own call), retries (more than one
 * exit in the stall: a storm) or waits (one exit, someone else's reset). Also
 * the reap latency and the storm's exit rate. Returns how many reap latencies
 * were seen (0: the latency is not observed, and is estimated later).
 */
static size_t infer_reaction(const struct ringsim_vm_trace *t, struct obs_stall *const *stalls,
			     const size_t *nstalls, struct ringsim_model *m)
{
	size_t nv = t->n_vcpus, i, j;
	uint64_t *lat = xcalloc(1, sizeof(*lat));
	size_t nlat = 0, n_dem = 0, n_storm = 0, n_wait = 0;
	double storm_exits = 0, storm_secs = 0;

	for (i = 0; i < nv; i++) {
		const struct ringsim_vcpu_trace *c = &t->vcpus[i];

		lat = realloc(lat, (nlat + nstalls[i] + 1) * sizeof(*lat));
		if (!lat)
			abort();
		for (j = 0; j < nstalls[i]; j++) {
			struct obs_stall *s = &stalls[i][j];
			bool own = s->end_call >= 0 && (size_t)s->end_call < t->n_calls && c->tid &&
				   t->calls[s->end_call].tid == c->tid;

			if (own) {
				n_dem++;
				lat[nlat++] = s->end_ns - s->exit_ns;
			} else if (s->exits > 1) {
				n_storm++;
			} else {
				n_wait++;
			}
			if (s->exits > 1) {
				storm_exits += (double)(s->exits - 1);
				storm_secs += (double)(s->end_ns - s->exit_ns) / NS;
			}
		}
	}
	m->reaction_observed = n_dem + n_storm + n_wait > 0;
	if (!m->reaction_observed || (n_dem >= n_storm && n_dem >= n_wait))
		m->reaction = RINGSIM_REACT_REAP;
	else if (n_storm >= n_wait)
		m->reaction = RINGSIM_REACT_RETRY;
	else
		m->reaction = RINGSIM_REACT_WAIT;
	m->storm_exits_s = storm_secs > 0 ? storm_exits / storm_secs : 0;
	m->react_ns = quantile(lat, nlat, 0.5);
	free(lat);
	return nlat;
}

/*
 * For each ring i and call k, the index of the first reset of ring i made by
 * call k (-1 none), at [i * n_calls + k]: a call resets every ring, and its
 * harvest is read from each ring's reset.
 */
static int32_t *index_resets_by_call(const struct ringsim_vm_trace *t)
{
	size_t nv = t->n_vcpus, i, j;
	int32_t *reset_of = xcalloc(nv * t->n_calls + 1, sizeof(*reset_of));

	for (size_t k = 0; k < nv * t->n_calls; k++)
		reset_of[k] = -1;
	for (i = 0; i < nv; i++)
		for (j = 0; j < t->vcpus[i].n_resets; j++) {
			int32_t call = t->vcpus[i].resets[j].call;

			if (call >= 0 && (size_t)call < t->n_calls && reset_of[i * t->n_calls + (size_t)call] < 0)
				reset_of[i * t->n_calls + (size_t)call] = (int32_t)j;
		}
	return reset_of;
}

/*
 * The harvest time of call k: the harvest came before the first entry the
 * reset left (earliest over the rings), or the call's start when no ring
 * shows it. Each such entry's age at the call's end is a harvest-to-reset lag
 * sample, appended to (*lag, *nlag).
 */
static uint64_t call_harvest(const struct ringsim_vm_trace *t, const int32_t *reset_of, size_t k,
			     uint64_t **lag, size_t *nlag)
{
	const struct ringsim_call *cl = &t->calls[k];
	uint64_t h = cl->start_ns;

	for (size_t i = 0; i < t->n_vcpus; i++) {
		const struct ringsim_vcpu_trace *c = &t->vcpus[i];
		int32_t jj = reset_of[i * t->n_calls + k];
		size_t j, p;

		if (jj < 0)
			continue;
		j = (size_t)jj;
		if (j && c->resets[j].reset_index == c->resets[j - 1].reset_index)
			continue;	/* this ring was not harvested */
		p = first_push_after_index(c, c->resets[j].reset_index);
		if (p < c->n_pushes && c->pushes[p].ts < cl->start_ns &&
		    c->pushes[p].index - c->resets[j].reset_index == 1) {
			*lag = realloc(*lag, (*nlag + 1) * sizeof(**lag));
			if (!*lag)
				abort();
			(*lag)[(*nlag)++] = cl->end_ns - c->pushes[p].ts;
			if (c->pushes[p].ts < h)
				h = c->pushes[p].ts;
		}
	}
	return h;
}

/*
 * Periodic resets: every call but the vCPUs' own reactions, with its harvest,
 * and the median harvest-to-reset lag over them.
 */
static void collect_periodic_calls(const struct ringsim_vm_trace *t, const bool *demand,
				   struct ringsim_model *m)
{
	int32_t *reset_of = index_resets_by_call(t);
	uint64_t *lag = xcalloc(1, sizeof(*lag));
	size_t nlag = 0;

	m->periodic = xcalloc(t->n_calls + 1, sizeof(*m->periodic));
	for (size_t k = 0; k < t->n_calls; k++) {
		if (demand[k])
			continue;
		m->periodic[m->n_periodic].harvest_ns = call_harvest(t, reset_of, k, &lag, &nlag);
		m->periodic[m->n_periodic].ts = t->calls[k].end_ns;
		m->n_periodic++;
	}
	m->median_lag_ns = quantile(lag, nlag, 0.5);
	free(lag);
	free(reset_of);
}

/*
 * Ring resets of no known call (the call was not recorded): taken for
 * periodic resets, harvested when they happened.
 */
static void add_uncalled_resets(const struct ringsim_vm_trace *t, struct ringsim_model *m)
{
	for (size_t i = 0; i < t->n_vcpus; i++) {
		const struct ringsim_vcpu_trace *c = &t->vcpus[i];

		for (size_t j = 0; j < c->n_resets; j++) {
			if (c->resets[j].call >= 0)
				continue;
			m->periodic = realloc(m->periodic, (m->n_periodic + 1) * sizeof(*m->periodic));
			if (!m->periodic)
				abort();
			m->periodic[m->n_periodic].ts = c->resets[j].ts;
			m->periodic[m->n_periodic].harvest_ns = c->resets[j].ts;
			m->n_periodic++;
		}
	}
}

/*
 * The periodic resets in time order, one per time (the rings of one call, or
 * uncalled resets at the same instant, are one reset), and the median period
 * between them.
 */
static void order_periodic(struct ringsim_model *m)
{
	size_t b = 0;

	qsort(m->periodic, m->n_periodic, sizeof(*m->periodic), cmp_periodic);
	for (size_t a = 0; a < m->n_periodic; a++) {	/* one per time */
		if (b && m->periodic[b - 1].ts == m->periodic[a].ts)
			continue;
		m->periodic[b++] = m->periodic[a];
	}
	m->n_periodic = b;
	if (m->n_periodic > 1) {
		uint64_t *gaps = xcalloc(m->n_periodic, sizeof(*gaps));

		for (size_t k = 1; k < m->n_periodic; k++)
			gaps[k - 1] = m->periodic[k].ts - m->periodic[k - 1].ts;
		m->median_period_ns = quantile(gaps, m->n_periodic - 1, 0.5);
		free(gaps);
	}
}

/*
 * A reap latency never seen: a reaction takes what a periodic reap takes,
 * harvest to reset (the median lag plus the median call duration), at least
 * 10 us.
 */
static void estimate_react_ns(const struct ringsim_vm_trace *t, struct ringsim_model *m)
{
	uint64_t *cl = xcalloc(t->n_calls, sizeof(*cl));

	for (size_t k = 0; k < t->n_calls; k++)
		cl[k] = t->calls[k].end_ns - t->calls[k].start_ns;
	m->react_ns = m->median_lag_ns + quantile(cl, t->n_calls, 0.5);
	free(cl);
	if (m->react_ns < 10000)
		m->react_ns = 10000;
}

/* Append the window [from, to) in which no reaction completes. */
static void add_blocked(struct ringsim_model *m, uint64_t from, uint64_t to)
{
	m->blocked = realloc(m->blocked, (m->n_blocked + 1) * sizeof(*m->blocked));
	if (!m->blocked)
		abort();
	m->blocked[m->n_blocked].from = from;
	m->blocked[m->n_blocked].to = to;
	m->n_blocked++;
}

/*
 * Stalled windows from observed reactions: a stall that ended far later than
 * the usual reap latency means the reaper could not react; no reaction
 * completes from the exit until react_ns before the stall's end.
 */
static void blocked_from_stalls(const struct ringsim_vm_trace *t, struct obs_stall *const *stalls,
				const size_t *nstalls, struct ringsim_model *m)
{
	uint64_t lim = 3 * m->react_ns + 2000000;

	for (size_t i = 0; i < t->n_vcpus; i++)
		for (size_t j = 0; j < nstalls[i]; j++) {
			struct obs_stall *s = &stalls[i][j];
			uint64_t l = s->end_ns - s->exit_ns;

			if (l <= lim || !s->ended)
				continue;
			add_blocked(m, s->exit_ns, s->end_ns - m->react_ns);
		}
}

/*
 * Stalled windows when no reaction was observed: long silences of the
 * periodic reaper (over 3 periods, and over a period plus 100 ms) are taken
 * for stalls of it.
 */
static void blocked_from_silences(struct ringsim_model *m)
{
	uint64_t lim = 3 * m->median_period_ns;

	if (lim < m->median_period_ns + 100000000ull)
		lim = m->median_period_ns + 100000000ull;
	for (size_t k = 1; k < m->n_periodic; k++)
		if (m->periodic[k].ts - m->periodic[k - 1].ts > lim)
			add_blocked(m, m->periodic[k - 1].ts + m->median_period_ns,
				    m->periodic[k].ts - m->react_ns);
}

/*
 * How fast a vCPU pushes when it runs behind: the median gap between pushes
 * (most gaps are within a burst), at least its mean rate; 1e7/s when too few
 * gaps were seen to tell.
 */
static void infer_push_capacity(const struct ringsim_vm_trace *t, const struct ringsim_vcpu_trace *c,
				struct ringsim_vcpu_model *vm)
{
	uint64_t *gaps = xcalloc(c->n_pushes, sizeof(*gaps));
	size_t ng = 0;
	double span = (double)(t->end_ns - t->start_ns) / NS;

	for (size_t j = 1; j < c->n_pushes; j++)
		if (c->pushes[j].ts > c->pushes[j - 1].ts)
			gaps[ng++] = c->pushes[j].ts - c->pushes[j - 1].ts;
	vm->mean_rate = span > 0 ? (double)c->n_pushes / span : 0;
	if (ng >= 16) {
		uint64_t g = quantile(gaps, ng, 0.5);	/* most gaps are within a burst */

		vm->capacity = g ? NS / (double)g : 1e7;
	} else {
		vm->capacity = 1e7;
	}
	if (vm->capacity < vm->mean_rate)
		vm->capacity = vm->mean_rate;
	free(gaps);
}

int ringsim_infer(const struct ringsim_vm_trace *t, struct ringsim_model *m)
{
	size_t nv = t->n_vcpus, i, nlat;
	struct obs_stall **stalls;
	size_t *nstalls;
	bool *demand;

	memset(m, 0, sizeof(*m));
	if (!nv)
		return -1;
	m->reserve = t->ring_size && t->soft_limit && t->soft_limit < t->ring_size ?
		     t->ring_size - t->soft_limit : RINGSIM_DEFAULT_RESERVE;
	m->n_vcpus = nv;
	m->vcpus = xcalloc(nv, sizeof(*m->vcpus));
	stalls = xcalloc(nv, sizeof(*stalls));
	nstalls = xcalloc(nv, sizeof(*nstalls));
	demand = xcalloc(t->n_calls, sizeof(*demand));

	for (i = 0; i < nv; i++) {
		nstalls[i] = observe_stalls(t, &t->vcpus[i], t->soft_limit, &stalls[i]);
		summarize_stalls(&t->vcpus[i], stalls[i], nstalls[i], &m->vcpus[i]);
		mark_demand_calls(t, &t->vcpus[i], stalls[i], nstalls[i], demand);
	}
	for (size_t k = 0; k < t->n_calls; k++)
		m->demand_calls += demand[k];

	nlat = infer_reaction(t, stalls, nstalls, m);
	collect_periodic_calls(t, demand, m);
	add_uncalled_resets(t, m);
	order_periodic(m);
	if (!nlat)
		estimate_react_ns(t, m);

	/* windows in which the VMM did not react (a stalled reaper) */
	m->blocked = xcalloc(1, sizeof(*m->blocked));
	if (m->reaction == RINGSIM_REACT_REAP && nlat)
		blocked_from_stalls(t, stalls, nstalls, m);
	else if (m->reaction == RINGSIM_REACT_REAP && m->n_periodic > 1 && m->median_period_ns)
		blocked_from_silences(m);

	for (i = 0; i < nv; i++)
		infer_push_capacity(t, &t->vcpus[i], &m->vcpus[i]);

	for (i = 0; i < nv; i++)
		free(stalls[i]);
	free(stalls);
	free(nstalls);
	free(demand);
	return 0;
}

void ringsim_model_free(struct ringsim_model *m)
{
	free(m->vcpus);
	free(m->periodic);
	free(m->blocked);
	memset(m, 0, sizeof(*m));
}

/* --- the simulation --- */

struct sim_vcpu {
	size_t next;			/* next recorded push (the demand) */
	uint64_t last_ts;		/* of its latest simulated push */
	uint64_t gap_ns;		/* at capacity */
	uint64_t resume_at;		/* no push before this */
	uint64_t *ring;			/* push times of the entries not yet reclaimed */
	uint32_t head, used;
	bool stalled;
	uint64_t stall_start;
};

struct request {
	size_t vcpu;
	uint64_t ts;
};

static uint64_t next_push_ts(const struct ringsim_vcpu_trace *c, const struct sim_vcpu *s)
{
	uint64_t t = c->pushes[s->next].ts;

	if (s->last_ts && s->last_ts + s->gap_ns > t)
		t = s->last_ts + s->gap_ns;
	if (s->resume_at > t)
		t = s->resume_at;
	return t;
}

static void reclaim(struct sim_vcpu *s, uint32_t size, uint64_t harvest)
{
	while (s->used && s->ring[s->head] <= harvest) {
		s->head = (s->head + 1) & (size - 1);
		s->used--;
	}
}

static void end_stall(struct sim_vcpu *s, struct ringsim_vcpu_result *r, const struct ringsim_model *m,
		      const struct ringsim_vcpu_model *vm, uint64_t now)
{
	double d = (double)(now - s->stall_start) / NS;

	r->stall_s += d;
	r->stalls++;
	if (m->reaction == RINGSIM_REACT_RETRY)
		r->exits += (uint64_t)(d * m->storm_exits_s);
	s->stalled = false;
	s->resume_at = now + vm->resume_ns;
}

/* When a reaction asked for at t can start: not inside a window of a stalled reaper. */
static uint64_t unblocked(const struct ringsim_model *m, uint64_t t)
{
	for (size_t i = 0; i < m->n_blocked; i++)
		if (t >= m->blocked[i].from && t < m->blocked[i].to)
			t = m->blocked[i].to;
	return t;
}

int ringsim_run(const struct ringsim_vm_trace *t, const struct ringsim_model *m, uint32_t ring_size,
		struct ringsim_result *out)
{
	size_t nv = t->n_vcpus, i, pi = 0, qhead = 0, qtail = 0;
	struct sim_vcpu *sv;
	struct request *queue;
	uint32_t soft;
	uint64_t busy_done = UINT64_MAX, busy_harvest = 0;
	size_t busy_vcpu = 0;

	memset(out, 0, sizeof(*out));
	if (ring_size < 64 || (ring_size & (ring_size - 1)) || ring_size <= m->reserve || nv != m->n_vcpus)
		return -1;
	soft = ring_size - m->reserve;
	out->ring_size = ring_size;
	out->soft_limit = soft;
	out->secs = (double)(t->end_ns - t->start_ns) / NS;
	out->n_vcpus = nv;
	out->vcpus = xcalloc(nv, sizeof(*out->vcpus));
	sv = xcalloc(nv, sizeof(*sv));
	queue = xcalloc(nv + 1, sizeof(*queue));
	for (i = 0; i < nv; i++) {
		sv[i].ring = xcalloc(ring_size, sizeof(uint64_t));
		sv[i].gap_ns = m->vcpus[i].capacity > 0 ? (uint64_t)(NS / m->vcpus[i].capacity) : 0;
	}

	for (;;) {
		uint64_t tp = UINT64_MAX, tper = UINT64_MAX, now;
		size_t who = 0;

		for (i = 0; i < nv; i++) {
			const struct ringsim_vcpu_trace *c = &t->vcpus[i];
			uint64_t x;

			if (sv[i].stalled || sv[i].next >= c->n_pushes)
				continue;
			x = next_push_ts(c, &sv[i]);
			if (x < tp) {
				tp = x;
				who = i;
			}
		}
		if (pi < m->n_periodic)
			tper = m->periodic[pi].ts;
		now = tp < tper ? tp : tper;
		if (busy_done < now || (busy_done == now && busy_done != UINT64_MAX))
			now = busy_done;
		if (now == UINT64_MAX || now > t->end_ns)
			break;

		if (now == busy_done) {
			/* a vCPU thread's own reap finished: every ring reclaimed up to its harvest */
			for (i = 0; i < nv; i++)
				reclaim(&sv[i], ring_size, busy_harvest);
			if (sv[busy_vcpu].stalled)
				end_stall(&sv[busy_vcpu], &out->vcpus[busy_vcpu], m, &m->vcpus[busy_vcpu], now);
			busy_done = UINT64_MAX;
		} else if (now == tper) {
			const struct ringsim_periodic *p = &m->periodic[pi++];

			for (i = 0; i < nv; i++) {
				reclaim(&sv[i], ring_size, p->harvest_ns);
				if (sv[i].stalled && m->reaction != RINGSIM_REACT_REAP && sv[i].used < soft)
					end_stall(&sv[i], &out->vcpus[i], m, &m->vcpus[i], now);
			}
		} else {
			struct sim_vcpu *s = &sv[who];
			struct ringsim_vcpu_result *r = &out->vcpus[who];

			s->ring[(s->head + s->used) & (ring_size - 1)] = now;
			s->used++;
			s->last_ts = now;
			s->next++;
			r->pushes++;
			if (s->used > r->peak_used)
				r->peak_used = s->used;
			if (s->used >= soft) {
				r->exits++;
				s->stalled = true;
				s->stall_start = now;
				if (m->reaction == RINGSIM_REACT_REAP) {
					queue[qtail].vcpu = who;
					queue[qtail].ts = now;
					qtail = (qtail + 1) % (nv + 1);
				}
			}
		}
		/* the reaper serves one reaction at a time, in order */
		if (busy_done == UINT64_MAX && qhead != qtail) {
			uint64_t start = unblocked(m, queue[qhead].ts > now ? queue[qhead].ts : now);

			busy_vcpu = queue[qhead].vcpu;
			busy_harvest = start;
			busy_done = start + m->react_ns;
			qhead = (qhead + 1) % (nv + 1);
		}
	}

	for (i = 0; i < nv; i++) {
		const struct ringsim_vcpu_trace *c = &t->vcpus[i];
		struct ringsim_vcpu_result *r = &out->vcpus[i];

		if (sv[i].stalled && sv[i].stall_start < t->end_ns) {
			end_stall(&sv[i], r, m, &m->vcpus[i], t->end_ns);
			r->stalls--;	/* not over */
		}
		r->behind = 0;
		for (size_t k = sv[i].next; k < c->n_pushes && c->pushes[k].ts <= t->end_ns; k++)
			r->behind++;
		r->exits_s = out->secs > 0 ? (double)r->exits / out->secs : 0;
		r->stall_frac = out->secs > 0 ? r->stall_s / out->secs : 0;
		if (r->stall_frac > 1)
			r->stall_frac = 1;
		out->exits_s += r->exits_s;
		out->stall_frac_sum += r->stall_frac;
		free(sv[i].ring);
	}
	free(sv);
	free(queue);
	return 0;
}

void ringsim_result_free(struct ringsim_result *r)
{
	free(r->vcpus);
	memset(r, 0, sizeof(*r));
}

static bool meets(const struct ringsim_vcpu_result *r, const struct ringsim_target *tg)
{
	return r->exits_s <= tg->max_exits_s && r->stall_frac <= tg->max_stall_frac;
}

uint32_t ringsim_recommend(const struct ringsim_result *results, int n, const struct ringsim_target *tg, int v)
{
	for (int i = 0; i < n; i++) {
		const struct ringsim_result *r = &results[i];
		bool ok = true;

		if (!r->vcpus)
			continue;
		if (v >= 0) {
			ok = (size_t)v < r->n_vcpus && meets(&r->vcpus[v], tg);
		} else {
			for (size_t k = 0; k < r->n_vcpus && ok; k++)
				ok = meets(&r->vcpus[k], tg);
		}
		if (ok)
			return r->ring_size;
	}
	return 0;
}
