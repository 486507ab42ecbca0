// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Prometheus text exposition / OpenMetrics rendering of the model (see prometheus.h). */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out/prometheus.h"

static const struct prom_family_desc families[PF_COUNT] = {
	[PF_VM_INFO] = { "dirtytop_vm_info", "gauge", "A VM dirtytop sees (1), with its dirty tracking mode" },
	[PF_RING_PUSHES] = { "dirtytop_ring_pushes", "counter", "Dirty ring entries pushed (pages dirtied)" },
	[PF_RING_FULL_EXITS] = { "dirtytop_ring_full_exits", "counter", "KVM_EXIT_DIRTY_RING_FULL exits (ring soft-full)" },
	[PF_RING_FULL_STALLS] = { "dirtytop_ring_full_stalls", "counter", "Completed full stalls (soft-full exit until the reset that freed the ring)" },
	[PF_RING_FULL_STALL_SECONDS] = { "dirtytop_ring_full_stall_seconds", "counter", "Time spent full-stalled, completed and ongoing" },
	[PF_RING_FULL_REENTRIES] = { "dirtytop_ring_full_reentries", "counter", "KVM_RUN re-entries after a soft-full exit made while the ring was still full" },
	[PF_VCPU_HELD_SECONDS] = { "dirtytop_vcpu_held_seconds", "counter", "Time kept out of KVM_RUN after a soft-full exit although the ring was free again (throttled)" },
	[PF_VCPU_USERSPACE_EXITS] = { "dirtytop_vcpu_userspace_exits", "counter", "Returns of KVM_RUN to the VMM" },
	[PF_RING_RESETS] = { "dirtytop_ring_resets", "counter", "Resets of the ring (one per ring per KVM_RESET_DIRTY_RINGS)" },
	[PF_RING_RESET_ENTRIES] = { "dirtytop_ring_reset_entries", "counter", "Ring entries reclaimed by resets" },
	[PF_RING_SIZE] = { "dirtytop_ring_size_entries", "gauge", "Dirty ring size" },
	[PF_RING_SOFT_LIMIT] = { "dirtytop_ring_soft_limit_entries", "gauge", "Occupancy at which KVM exits with KVM_EXIT_DIRTY_RING_FULL" },
	[PF_RING_OCCUPANCY] = { "dirtytop_ring_occupancy_ratio", "gauge", "Ring entries in use over the soft limit (per VM: the fullest ring)" },
	[PF_RING_STALLED] = { "dirtytop_ring_stalled", "gauge", "vCPUs full-stalled now" },
	[PF_RESET_RINGS_CALLS] = { "dirtytop_reset_dirty_rings_calls", "counter", "KVM_RESET_DIRTY_RINGS calls" },
	[PF_RESET_RINGS_ENTRIES] = { "dirtytop_reset_dirty_rings_entries", "counter", "Entries KVM_RESET_DIRTY_RINGS calls reported reset" },
	[PF_GET_LOG_CALLS] = { "dirtytop_get_dirty_log_calls", "counter", "KVM_GET_DIRTY_LOG calls" },
	[PF_GET_LOG_PAGES] = { "dirtytop_get_dirty_log_dirty_pages", "counter", "Dirty pages in the bitmaps KVM_GET_DIRTY_LOG returned" },
	[PF_CLEAR_LOG_CALLS] = { "dirtytop_clear_dirty_log_calls", "counter", "KVM_CLEAR_DIRTY_LOG calls" },
	[PF_CLEAR_LOG_PAGES] = { "dirtytop_clear_dirty_log_pages", "counter", "Pages covered by KVM_CLEAR_DIRTY_LOG calls" },
	[PF_MEMSLOT_OPS] = { "dirtytop_memslot_operations", "counter", "KVM_SET_USER_MEMORY_REGION(2) calls by class" },
	[PF_DIRTY_LOGGING] = { "dirtytop_dirty_logging", "gauge", "1 when a writable memslot of the VM has dirty logging on" },
	[PF_DIRTY_LOG_SWITCHES] = { "dirtytop_dirty_log_switches", "counter", "Memslot flag changes that switched dirty logging on or off" },
	[PF_H_REAP_LATENCY] = { "dirtytop_reap_latency_seconds", "histogram", "From the push of a ring entry to the reset that reclaimed it" },
	[PF_H_FULL_STALL] = { "dirtytop_ring_full_stall_duration_seconds", "histogram", "Duration of completed full stalls" },
	[PF_H_RESET_ENTRIES] = { "dirtytop_ring_reset_reclaimed_entries", "histogram", "Entries reclaimed per ring reset that reclaimed any" },
	[PF_H_RESET_RINGS_LATENCY] = { "dirtytop_reset_dirty_rings_duration_seconds", "histogram", "KVM_RESET_DIRTY_RINGS latency" },
	[PF_H_GET_LOG_LATENCY] = { "dirtytop_get_dirty_log_duration_seconds", "histogram", "KVM_GET_DIRTY_LOG latency" },
	[PF_H_CLEAR_LOG_LATENCY] = { "dirtytop_clear_dirty_log_duration_seconds", "histogram", "KVM_CLEAR_DIRTY_LOG latency" },
	[PF_DOCTOR_FINDINGS] = { "dirtytop_doctor_findings", "gauge", "Findings of dirtytop doctor's rules, by finding id" },
	[PF_DOCTOR_FINDING] = { "dirtytop_doctor_finding", "gauge", "A finding of dirtytop doctor's rules (1) for a VM or vCPU" },
	[PF_BUILD_INFO] = { "dirtytop_build_info", "gauge", "dirtytop's version (1)" },
	[PF_SCRAPE_DURATION] = { "dirtytop_exporter_scrape_duration_seconds", "gauge", "The previous scrape's collection and rendering" },
	[PF_COLLECT_DURATION] = { "dirtytop_exporter_collect_duration_seconds", "gauge", "This scrape's read of the BPF maps and model update" },
	[PF_COLLECTIONS] = { "dirtytop_exporter_collections", "counter", "Reads of the BPF maps" },
	[PF_VMS] = { "dirtytop_exporter_vms", "gauge", "VMs exported" },
	[PF_VCPUS] = { "dirtytop_exporter_vcpus", "gauge", "vCPUs exported" },
	[PF_MAP_ENTRIES] = { "dirtytop_bpf_map_entries", "gauge", "Entries in dirtytop's BPF maps (vcpus, ring_ts, vms, threads)" },
	[PF_BPF_STATS_ENABLED] = { "dirtytop_bpf_stats_enabled", "gauge", "kernel.bpf_stats_enabled (program run time and count are counted only when 1)" },
	[PF_BPF_PROG_RUN_SECONDS] = { "dirtytop_bpf_prog_run_seconds", "counter", "Run time of dirtytop's BPF programs (kernel.bpf_stats_enabled)" },
	[PF_BPF_PROG_RUNS] = { "dirtytop_bpf_prog_runs", "counter", "Runs of dirtytop's BPF programs (kernel.bpf_stats_enabled)" },
};

/* Finding ids, for a zero gauge when one does not fire (an alert then has a series to watch). */
static const char *const finding_ids[] = {
	DOC_EXIT_STORM, DOC_REAPER_STALLED, DOC_REAPER_TOO_SLOW, DOC_DOMINANT_VCPU, DOC_NO_CONVERGE,
	DOC_SLOW_GET_LOG, DOC_SLOW_CLEAR_LOG, DOC_SLOW_MEMSLOT, DOC_LOG_FLAPPING, DOC_THROTTLED,
};

const struct prom_family_desc *prom_family_desc(enum prom_family f)
{
	return f < PF_COUNT ? &families[f] : NULL;
}

void prom_buf_append(struct prom_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct prom_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		prom_buf_append(b, tmp, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big)
			abort();
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		prom_buf_append(b, big, (size_t)n);
		free(big);
	}
}

void prom_buf_free(struct prom_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void prom_writer_init(struct prom_writer *w, const struct prom_opts *o)
{
	memset(w, 0, sizeof(*w));
	w->o = *o;
}

void prom_writer_reuse(struct prom_writer *w, const struct prom_opts *o)
{
	for (int f = 0; f < PF_COUNT; f++)
		w->fam[f].len = 0;
	w->o = *o;
	w->ts[0] = '\0';
}

void prom_writer_free(struct prom_writer *w)
{
	for (int f = 0; f < PF_COUNT; f++)
		prom_buf_free(&w->fam[f]);
}

void prom_set_timestamp(struct prom_writer *w, double unix_s)
{
	if (unix_s > 0 && w->o.openmetrics)
		snprintf(w->ts, sizeof(w->ts), " %.3f", unix_s);
	else
		w->ts[0] = '\0';
}

/* A label value, escaped as both formats ask: backslash, double quote, newline. */
static void label_value(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == '"') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '?';		/* a control character in a comm */
		}
	}
	out[o] = '\0';
}

/* A value: integers exactly (counts must match to the unit), others to 12 digits. */
static void fmt_value(char *out, size_t outlen, double v)
{
	if (isnan(v))
		snprintf(out, outlen, "NaN");
	else if (isinf(v))
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(out, outlen, "%.0f", v);
	else
		snprintf(out, outlen, "%.12g", v);
}

/*
 * A sample line is put together piece by piece, not with printf: at
 * thousands of vCPUs there are tens of thousands of them per scrape.
 */
static void put(struct prom_buf *b, const char *s)
{
	prom_buf_append(b, s, strlen(s));
}

static void put_u64(struct prom_buf *b, uint64_t v)
{
	char t[20];
	int i = sizeof(t);

	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	prom_buf_append(b, t + i, sizeof(t) - (size_t)i);
}

/* "name[suffix][{labels}] " */
static void series(struct prom_buf *b, enum prom_family f, const char *suffix, const char *labels)
{
	put(b, families[f].name);
	put(b, suffix);
	if (labels[0]) {
		prom_buf_append(b, "{", 1);
		put(b, labels);
		prom_buf_append(b, "}", 1);
	}
	prom_buf_append(b, " ", 1);
}

static void sample(struct prom_writer *w, enum prom_family f, const char *suffix, const char *labels, double v)
{
	struct prom_buf *b = &w->fam[f];

	series(b, f, suffix, labels);
	if (v >= 0 && !signbit(v) && v < 9007199254740992.0 && v == floor(v)) {
		put_u64(b, (uint64_t)v);	/* as fmt_value's "%.0f" */
	} else {
		char val[64];

		fmt_value(val, sizeof(val), v);
		put(b, val);
	}
	put(b, w->ts);
	prom_buf_append(b, "\n", 1);
}

static void counter(struct prom_writer *w, enum prom_family f, const char *labels, double v)
{
	sample(w, f, "_total", labels, v);
}

static void gauge(struct prom_writer *w, enum prom_family f, const char *labels, double v)
{
	sample(w, f, "", labels, v);
}

/* Integer counts, exact above 2^53 too. */
static void counter_u64(struct prom_writer *w, enum prom_family f, const char *labels, uint64_t v)
{
	struct prom_buf *b = &w->fam[f];

	series(b, f, "_total", labels);
	put_u64(b, v);
	put(b, w->ts);
	prom_buf_append(b, "\n", 1);
}

/*
 * A dt_hist summed over rings or memslots. Its buckets are log-linear over
 * integers; bucket edges at powers of two are exact, so le = 2^p - 1 units
 * counts exactly the values below 2^p (every second power of two: 4x steps).
 */
struct hist_sum {
	uint64_t count[DT_HIST_BUCKETS];
	uint64_t sum;
};

static void hist_add(struct hist_sum *h, const struct dt_hist *d)
{
	for (int b = 0; b < DT_HIST_BUCKETS; b++)
		h->count[b] += d->count[b];
	h->sum += d->sum;
}

static uint32_t buckets_below_pow2(uint32_t p)
{
	uint32_t n = p < 2 ? 1u << p : (p - 1) * 4;

	return n < DT_HIST_BUCKETS ? n : DT_HIST_BUCKETS;
}

static void histogram(struct prom_writer *w, enum prom_family f, const char *labels, const struct hist_sum *h,
		      double scale, uint32_t p_lo, uint32_t p_hi)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0, total = 0;
	uint32_t b = 0;
	char lb[600];

	for (int i = 0; i < DT_HIST_BUCKETS; i++)
		total += h->count[i];
	for (uint32_t p = p_lo; p <= p_hi; p += 2) {
		uint32_t n = buckets_below_pow2(p);
		char le[48];

		for (; b < n; b++)
			cum += h->count[b];
		fmt_value(le, sizeof(le), (double)((1ull << p) - 1) * scale);
		if (!strchr(le, '.') && !strchr(le, 'e') && w->o.openmetrics)
			strcat(le, ".0");	/* OpenMetrics: canonical floats */
		snprintf(lb, sizeof(lb), "%s%sle=\"%s\"", labels, sep, le);
		buf_printf(&w->fam[f], "%s_bucket{%s} %" PRIu64 "%s\n", families[f].name, lb, cum, w->ts);
	}
	snprintf(lb, sizeof(lb), "%s%sle=\"+Inf\"", labels, sep);
	buf_printf(&w->fam[f], "%s_bucket{%s} %" PRIu64 "%s\n", families[f].name, lb, total, w->ts);
	sample(w, f, "_sum", labels, (double)h->sum * scale);
	buf_printf(&w->fam[f], "%s_count%s%s%s %" PRIu64 "%s\n", families[f].name, labels[0] ? "{" : "", labels,
		   labels[0] ? "}" : "", total, w->ts);
}

/* Value ranges: us histograms 3 us .. 16.8 s, ns ones 1.02 us .. 4.29 s, entries 3 .. 65535. */
#define US_HIST 1e-6, 2, 24
#define NS_HIST 1e-9, 10, 32
#define ENTRY_HIST 1.0, 2, 16

/*
 * The labels of a VM. The VM's name and uuid (from the VMM, another issue)
 * belong here, next to dirtytop's own number, so every series carries them.
 */
static void vm_labels(char *out, size_t outlen, const struct vm_metrics *vm)
{
	char comm[4 * DT_COMM_LEN];

	label_value(comm, sizeof(comm), vm->comm);
	snprintf(out, outlen, "vm_id=\"%u\",pid=\"%u\",comm=\"%s\"", vm->vm_id, vm->tgid, comm);
}

struct ring_sums {
	uint64_t pushes, full_exits, stalls, reentries_full, userspace_exits, resets, entries_reset;
	double stall_s, held_s, occupancy;
	uint32_t ring_size, soft_limit, stalled;
};

static void ring_sums_add(struct ring_sums *r, const struct vcpu_metrics *c)
{
	double occ = c->soft_limit ? (double)c->used / c->soft_limit : 0;

	r->pushes += c->pushes;
	r->full_exits += c->full_exits;
	r->stalls += c->stalls;
	r->reentries_full += c->reentries_full;
	r->userspace_exits += c->userspace_exits;
	r->resets += c->ring_resets;
	r->entries_reset += c->entries_reset;
	r->stall_s += c->stall_s;
	r->held_s += c->held_s;
	if (occ > r->occupancy)
		r->occupancy = occ;
	if (c->ring_size) {
		r->ring_size = c->ring_size;
		r->soft_limit = c->soft_limit;
	}
	r->stalled += c->stalled_now;
}

static void render_rings(struct prom_writer *w, const char *labels, const struct ring_sums *r)
{
	counter_u64(w, PF_RING_PUSHES, labels, r->pushes);
	counter_u64(w, PF_RING_FULL_EXITS, labels, r->full_exits);
	counter_u64(w, PF_RING_FULL_STALLS, labels, r->stalls);
	counter(w, PF_RING_FULL_STALL_SECONDS, labels, r->stall_s);
	counter_u64(w, PF_RING_FULL_REENTRIES, labels, r->reentries_full);
	counter(w, PF_VCPU_HELD_SECONDS, labels, r->held_s);
	counter_u64(w, PF_VCPU_USERSPACE_EXITS, labels, r->userspace_exits);
	counter_u64(w, PF_RING_RESETS, labels, r->resets);
	counter_u64(w, PF_RING_RESET_ENTRIES, labels, r->entries_reset);
	if (r->ring_size) {
		gauge(w, PF_RING_SIZE, labels, r->ring_size);
		gauge(w, PF_RING_SOFT_LIMIT, labels, r->soft_limit);
		gauge(w, PF_RING_OCCUPANCY, labels, r->occupancy);
	}
	gauge(w, PF_RING_STALLED, labels, r->stalled);
}

static void render_vm(struct prom_writer *w, const struct vm_metrics *vm, const struct snapshot *snap)
{
	struct hist_sum *h = calloc(4, sizeof(*h));
	struct hist_sum *reap = &h[0], *stall = &h[1], *reclaimed = &h[2], *tmp = &h[3];
	struct ring_sums vm_rings = {};
	char labels[512], vl[600], info[700], tr[64];
	uint64_t clear_pages = 0;
	bool logging = false;

	if (!h)
		abort();
	vm_labels(labels, sizeof(labels), vm);
	label_value(tr, sizeof(tr), tracking_name(vm->tracking));
	snprintf(info, sizeof(info), "%s,tracking=\"%s\"", labels, tr);
	gauge(w, PF_VM_INFO, info, 1);

	for (size_t j = 0; j < vm->n_vcpus; j++) {
		const struct vcpu_metrics *c = &vm->vcpus[j];
		const struct vcpu_hists *ch = vcpu_hists_of(c);

		if (w->o.per_vcpu) {
			struct ring_sums one = {};

			ring_sums_add(&one, c);
			snprintf(vl, sizeof(vl), "%s,vcpu=\"%d\"", labels, c->vcpu_id);
			render_rings(w, vl, &one);
		}
		ring_sums_add(&vm_rings, c);
		if (!c->hists)
			continue;	/* empty: nothing to add */
		hist_add(reap, &ch->prev_reap_latency);
		hist_add(stall, &ch->prev_stall);
		hist_add(reclaimed, &ch->prev_reclaimed);
	}
	if (!w->o.per_vcpu && vm->n_vcpus)
		render_rings(w, labels, &vm_rings);
	if (vm->n_vcpus) {
		histogram(w, PF_H_REAP_LATENCY, labels, reap, US_HIST);
		histogram(w, PF_H_FULL_STALL, labels, stall, US_HIST);
		histogram(w, PF_H_RESET_ENTRIES, labels, reclaimed, ENTRY_HIST);
	}

	counter_u64(w, PF_RESET_RINGS_CALLS, labels, vm->reset_calls);
	counter_u64(w, PF_RESET_RINGS_ENTRIES, labels, vm->reset_entries);
	memset(tmp, 0, sizeof(*tmp));
	hist_add(tmp, &vm->prev_reset_latency);
	if (vm->reset_calls)
		histogram(w, PF_H_RESET_RINGS_LATENCY, labels, tmp, NS_HIST);

	counter_u64(w, PF_GET_LOG_CALLS, labels, vm->bitmap_syncs);
	counter_u64(w, PF_GET_LOG_PAGES, labels, vm->bitmap_dirty_pages);
	counter_u64(w, PF_CLEAR_LOG_CALLS, labels, vm->clear_calls);
	for (size_t j = 0; j < vm->n_memslots; j++) {
		const struct memslot_metrics *ms = &vm->memslots[j];

		clear_pages += ms->clear_pages;
		if (ms->known && !(ms->flags & DT_MEM_READONLY) && (ms->flags & DT_MEM_LOG_DIRTY_PAGES))
			logging = true;
	}
	counter_u64(w, PF_CLEAR_LOG_PAGES, labels, clear_pages);
	gauge(w, PF_DIRTY_LOGGING, labels, logging);
	snprintf(vl, sizeof(vl), "%s,to=\"on\"", labels);
	counter_u64(w, PF_DIRTY_LOG_SWITCHES, vl, vm->dirty_log_on);
	snprintf(vl, sizeof(vl), "%s,to=\"off\"", labels);
	counter_u64(w, PF_DIRTY_LOG_SWITCHES, vl, vm->dirty_log_off);
	for (int op = 0; op < DT_SLOT_OPS; op++) {
		snprintf(vl, sizeof(vl), "%s,op=\"%s\"", labels, slot_op_name((enum dt_slot_op)op));
		counter_u64(w, PF_MEMSLOT_OPS, vl, vm->slot_ops[op]);
	}

	/* the dirty-log ioctl latency: the model keeps quantiles only, the snapshot the histograms */
	if (snap && (vm->bitmap_syncs || vm->clear_calls)) {
		struct hist_sum *get = tmp, *clr = reap;

		memset(get, 0, sizeof(*get));
		memset(clr, 0, sizeof(*clr));
		for (size_t i = 0; i < snap->n_memslots; i++) {
			if (snap->memslots[i].key.vm != vm->key)
				continue;
			hist_add(get, &snap->memslots[i].v.get_latency_ns);
			hist_add(clr, &snap->memslots[i].v.clear_latency_ns);
		}
		if (vm->bitmap_syncs)
			histogram(w, PF_H_GET_LOG_LATENCY, labels, get, NS_HIST);
		if (vm->clear_calls)
			histogram(w, PF_H_CLEAR_LOG_LATENCY, labels, clr, NS_HIST);
	}
	free(h);
}

void prom_render_model(struct prom_writer *w, const struct model *m, const struct snapshot *snap)
{
	size_t vms = 0, vcpus = 0;

	for (size_t i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];

		if (!model_vm_visible(m, vm))
			continue;
		render_vm(w, vm, snap);
		vms++;
		vcpus += vm->n_vcpus;
	}
	gauge(w, PF_VMS, "", (double)vms);
	gauge(w, PF_VCPUS, "", (double)vcpus);
}

void prom_render_findings(struct prom_writer *w, const struct doc_findings *f)
{
	char labels[700], comm[4 * DT_COMM_LEN], vcpu[32];

	for (size_t k = 0; k < sizeof(finding_ids) / sizeof(finding_ids[0]); k++) {
		size_t n = 0;

		for (size_t i = 0; i < f->n; i++)
			n += !strcmp(f->v[i].id, finding_ids[k]);
		snprintf(labels, sizeof(labels), "id=\"%s\"", finding_ids[k]);
		gauge(w, PF_DOCTOR_FINDINGS, labels, (double)n);
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct doc_finding *x = &f->v[i];
		bool dup = false;

		/* one series per (id, VM, vCPU): a rule may report the same one twice */
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(f->v[j].id, x->id) && f->v[j].vm_id == x->vm_id && f->v[j].vcpu_id == x->vcpu_id;
		if (dup)
			continue;
		label_value(comm, sizeof(comm), x->comm);
		vcpu[0] = '\0';
		if (x->vcpu_id >= 0)
			snprintf(vcpu, sizeof(vcpu), ",vcpu=\"%d\"", x->vcpu_id);
		snprintf(labels, sizeof(labels), "id=\"%s\",severity=\"%s\",vm_id=\"%u\",pid=\"%u\",comm=\"%s\"%s", x->id,
			 doc_severity_name(x->severity), x->vm_id, x->pid, comm, vcpu);
		gauge(w, PF_DOCTOR_FINDING, labels, 1);
	}
}

void prom_render_self(struct prom_writer *w, const struct prom_self *s)
{
	char labels[64];

	gauge(w, PF_SCRAPE_DURATION, "", s->scrape_s);
	gauge(w, PF_COLLECT_DURATION, "", s->collect_s);
	counter_u64(w, PF_COLLECTIONS, "", s->collections);
	gauge(w, PF_MAP_ENTRIES, "", (double)s->map_entries);
	if (s->bpf_stats_enabled >= 0)
		gauge(w, PF_BPF_STATS_ENABLED, "", s->bpf_stats_enabled);
	for (size_t i = 0; i < s->n_progs; i++) {
		char name[48];

		label_value(name, sizeof(name), s->progs[i].name);
		snprintf(labels, sizeof(labels), "prog=\"%s\"", name);
		counter(w, PF_BPF_PROG_RUN_SECONDS, labels, (double)s->progs[i].run_time_ns / 1e9);
		counter_u64(w, PF_BPF_PROG_RUNS, labels, s->progs[i].run_cnt);
	}
}

void prom_render_build_info(struct prom_writer *w, const char *version)
{
	char labels[128], v[64];

	label_value(v, sizeof(v), version);
	snprintf(labels, sizeof(labels), "version=\"%s\"", v);
	gauge(w, PF_BUILD_INFO, labels, 1);
}

/* Grow b to hold at least n more bytes (and the terminating NUL). */
static void buf_reserve(struct prom_buf *b, size_t n)
{
	char *p;

	if (b->len + n + 1 <= b->cap)
		return;
	p = realloc(b->p, b->len + n + 1);
	if (!p)
		abort();
	b->p = p;
	b->cap = b->len + n + 1;
}

void prom_finish(struct prom_writer *w, struct prom_buf *out)
{
	size_t total = 64;

	/* one allocation for the whole text: at thousands of vCPUs it is megabytes, copied once */
	for (int f = 0; f < PF_COUNT; f++)
		total += w->fam[f].len + (w->fam[f].len ? 2 * strlen(families[f].name) + strlen(families[f].help) + 48 : 0);
	buf_reserve(out, total);
	for (int f = 0; f < PF_COUNT; f++) {
		const struct prom_family_desc *d = &families[f];
		bool ctr = !strcmp(d->type, "counter");
		/* 0.0.4 names a counter's family with _total, OpenMetrics without */
		const char *suffix = ctr && !w->o.openmetrics ? "_total" : "";

		if (!w->fam[f].len)
			continue;
		buf_printf(out, "# HELP %s%s %s.\n# TYPE %s%s %s\n", d->name, suffix, d->help, d->name, suffix,
			   d->type);
		prom_buf_append(out, w->fam[f].p, w->fam[f].len);
		w->fam[f].len = 0;
	}
	if (w->o.openmetrics)
		prom_buf_append(out, "# EOF\n", 6);
	else if (!out->p)
		prom_buf_append(out, "", 0);
}
