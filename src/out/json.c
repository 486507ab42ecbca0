// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --json: one JSON object per interval (JSON Lines). Field names: README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "out/json_writer.h"
#include "out/views.h"

/*
 * A vCPU's fields after vcpu_id, tid and thread_name, listed once for both writers
 * (yajl's and the live view's own): X(KIND, key, value)
 */
#define VCPU_JSON_FIELDS(X, v) \
	X(U64, "ring_size", (v)->ring_size)\
	X(U64, "soft_limit", (v)->soft_limit)\
	X(U64, "pushes", (v)->pushes)\
	X(DOUBLE, "fill_rate", (v)->fill_rate)\
	X(DOUBLE, "fill_mib_s", (v)->fill_mib_s)\
	X(U64, "used", (v)->used)\
	X(DOUBLE, "used_pct", (v)->used_pct)\
	X(U64, "peak_used", (v)->peak_used)\
	X(DOUBLE, "peak_pct", (v)->peak_pct)\
	X(U64, "full_exits", (v)->full_exits)\
	X(DOUBLE, "full_exits_s", (v)->full_exits_s)\
	X(U64, "stalls", (v)->stalls)\
	X(DOUBLE, "stall_s", (v)->stall_s)\
	X(DOUBLE, "stall_frac", (v)->stall_frac)\
	X(BOOL, "stalled_now", (v)->stalled_now)\
	X(QUANTILES, "stall_us", &(v)->stall_us)\
	X(QUANTILES, "stall_us_all", &(v)->stall_us_all)\
	X(HIST, "stall_us_hist", (v)->hists ? &(v)->hists->stall_hist_all : NULL)\
	X(U64, "ring_resets", (v)->ring_resets)\
	X(DOUBLE, "ring_resets_s", (v)->ring_resets_s)\
	X(U64, "entries_reset", (v)->entries_reset)\
	X(QUANTILES, "reclaimed", &(v)->reclaimed)\
	X(QUANTILES, "reclaimed_all", &(v)->reclaimed_all)\
	X(HIST, "reclaimed_hist", (v)->hists ? &(v)->hists->reclaimed_hist_all : NULL)\
	X(QUANTILES, "reap_interval_us", &(v)->reap_interval_us)\
	X(QUANTILES, "reap_interval_us_all", &(v)->reap_interval_us_all)\
	X(QUANTILES, "reap_latency_us", &(v)->reap_latency_us)\
	X(QUANTILES, "reap_latency_us_all", &(v)->reap_latency_us_all)\
	X(U64, "reentries", (v)->reentries)\
	X(U64, "reentries_full", (v)->reentries_full)\
	X(DOUBLE, "held_s", (v)->held_s)\
	X(DOUBLE, "held_frac", (v)->held_frac)\
	X(QUANTILES, "held_us_all", &(v)->held_us_all)\
	X(U64, "userspace_exits", (v)->userspace_exits)\
	X(DOUBLE, "userspace_exits_s", (v)->userspace_exits_s)\
	X(BOOL, "seen_from_create", (v)->seen_from_create)

#define JW_U64 jw_put_u64
#define JW_DOUBLE jw_put_double
#define JW_BOOL jw_put_bool
#define JW_QUANTILES jw_put_quantiles
#define JW_HIST jw_put_hist
#define JW_FIELD(kind, k, val) JW_##kind(g, k, val);

/* vcpu_json_raw writes the same bytes for the live view (test_json_view) */
static void vcpu_json(yajl_gen g, const struct vcpu_metrics *v)
{
	yajl_gen_map_open(g);
	jw_put_int(g, "vcpu_id", v->vcpu_id);
	jw_put_u64_known(g, "tid", v->tid != 0, v->tid);	/* 0: no KVM_RUN seen or known */
	jw_put_string_known(g, "thread_name", v->thread_name);
	VCPU_JSON_FIELDS(JW_FIELD, v)
	yajl_gen_map_close(g);
}

/*
 * The live view's text: its generator prints into it (yajl_gen_print_callback),
 * and vCPU objects are written into it directly, byte for byte as vcpu_json
 * writes them through yajl: at 4096 vCPUs of ~45 fields each, a yajl call per
 * key and per value was most of the view's time. NULL outside view_json_print.
 */
struct jtext {
	char *p;
	size_t n, cap;
};

static struct jtext *g_raw;

static void jt_grow(struct jtext *t, size_t n)
{
	size_t cap = t->cap ? t->cap : 65536;

	while (cap < t->n + n)
		cap *= 2;
	if (!(t->p = realloc(t->p, cap)))
		abort();
	t->cap = cap;
}

/* inline, and with constant n from JT_LIT, a few moves: ~180 of these per vCPU */
static inline void jt_put(struct jtext *t, const char *s, size_t n)
{
	if (t->n + n > t->cap)
		jt_grow(t, n);
	memcpy(t->p + t->n, s, n);
	t->n += n;
}

#define JT_LIT(t, lit) jt_put(t, lit, sizeof(lit) - 1)
/* ,"k": */
#define JT_KEY(t, k) JT_LIT(t, ",\"" k "\":")

static void jt_str(struct jtext *t, const char *s)
{
	jt_put(t, s, strlen(s));
}

static void jt_print(void *ctx, const char *s, size_t n)
{
	jt_put(ctx, s, n);
}

static inline void jt_u64_value(struct jtext *t, uint64_t v)
{
	char buf[24];
	const char *p = jw_format_u64(buf, v);

	jt_put(t, p, (size_t)(buf + 23 - p));
}

static void jt_double_value(struct jtext *t, double v)
{
	char buf[32];
	const char *p = jw_format_double(buf, v);

	if (p)
		jt_str(t, p);
	else
		JT_LIT(t, "null");
}

static void jt_bool_value(struct jtext *t, bool v)
{
	if (v)
		JT_LIT(t, "true");
	else
		JT_LIT(t, "false");
}

#define JT_U64(t, k, v) (JT_KEY(t, k), jt_u64_value(t, v))
#define JT_DOUBLE(t, k, v) (JT_KEY(t, k), jt_double_value(t, v))
#define JT_BOOL(t, k, v) (JT_KEY(t, k), jt_bool_value(t, v))

/* A string as yajl writes it; one that needs escaping is given to yajl itself. */
static void jt_string_known_value(struct jtext *t, const char *s)
{
	static yajl_gen one;
	const unsigned char *buf;
	size_t len;

	if (!s || !s[0]) {
		JT_LIT(t, "null");
		return;
	}
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == '"' || *c == '\\' || *c == '/' || *c >= 0x7f)
			goto escape;
	jt_put(t, "\"", 1);
	jt_str(t, s);
	jt_put(t, "\"", 1);
	return;
escape:
	if (!one && !(one = jw_new()))
		abort();
	yajl_gen_reset(one, NULL);
	yajl_gen_clear(one);
	jw_string(one, s);
	if (yajl_gen_get_buf(one, &buf, &len) != yajl_gen_status_ok)
		abort();
	jt_put(t, (const char *)buf, len);
}

static void jt_quantiles_value(struct jtext *t, const struct quantiles *q)
{
	if (!q->valid) {
		JT_LIT(t, "null");
		return;
	}
	JT_LIT(t, "{\"count\":");
	jt_u64_value(t, q->count);
	JT_LIT(t, ",\"p50\":");
	jt_double_value(t, q->p50);
	JT_LIT(t, ",\"p99\":");
	jt_double_value(t, q->p99);
	JT_LIT(t, ",\"max\":");
	jt_double_value(t, q->max);
	JT_LIT(t, "}");
}

static void jt_hist_value(struct jtext *t, const struct hist_counts *h)
{
	bool first = true;

	JT_LIT(t, "[");
	for (uint32_t b = 0; h && b < DT_HIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		if (first)
			JT_LIT(t, "[");
		else
			JT_LIT(t, ",[");
		first = false;
		jt_u64_value(t, hist_bucket_low(b));
		JT_LIT(t, ",");
		jt_u64_value(t, hist_bucket_high(b));
		JT_LIT(t, ",");
		jt_u64_value(t, h->count[b]);
		JT_LIT(t, "]");
	}
	JT_LIT(t, "]");
}

#define JT_STRING_KNOWN(t, k, v) (JT_KEY(t, k), jt_string_known_value(t, v))
#define JT_QUANTILES(t, k, v) (JT_KEY(t, k), jt_quantiles_value(t, v))
#define JT_HIST(t, k, v) (JT_KEY(t, k), jt_hist_value(t, v))
#define JT_FIELD(kind, k, val) JT_##kind(t, k, val);

/* vcpu_json's object, field for field, as element i of an array yajl holds open (and believes empty) */
static void vcpu_json_raw(struct jtext *t, const struct vcpu_metrics *v, size_t i)
{
	if (i)
		JT_LIT(t, ",");
	JT_LIT(t, "{\"vcpu_id\":");
	if (v->vcpu_id < 0)	/* as yajl_gen_integer's %lld */
		JT_LIT(t, "-");
	jt_u64_value(t, v->vcpu_id < 0 ? -(uint64_t)(int64_t)v->vcpu_id : (uint64_t)v->vcpu_id);
	JT_KEY(t, "tid");
	if (v->tid)
		jt_u64_value(t, v->tid);
	else	/* 0: no KVM_RUN seen or known */
		JT_LIT(t, "null");
	JT_STRING_KNOWN(t, "thread_name", v->thread_name);
	VCPU_JSON_FIELDS(JT_FIELD, v)
	JT_LIT(t, "}");
}

static void memslot_json(yajl_gen g, const struct memslot_metrics *ms)
{
	yajl_gen_map_open(g);
	jw_put_u64(g, "as_id", ms->slot >> 16);
	jw_put_u64(g, "slot", ms->slot & 0xffff);
	jw_put_bool(g, "known", ms->known);
	/* a slot from before dirtytop: base, size and flags are unknown, not guessed */
	jw_put_u64_known(g, "gpa", ms->known, ms->gpa);
	jw_put_u64_known(g, "size", ms->known, ms->size);
	jw_key(g, "dirty_logging");
	ms->known ? yajl_gen_bool(g, ms->flags & DT_MEM_LOG_DIRTY_PAGES) : yajl_gen_null(g);
	jw_key(g, "readonly");
	ms->known ? yajl_gen_bool(g, ms->flags & DT_MEM_READONLY) : yajl_gen_null(g);
	jw_put_u64_known(g, "flags", ms->known, ms->flags);

	jw_key(g, "get_dirty_log");
	yajl_gen_map_open(g);
	jw_put_u64(g, "calls", ms->get_calls);
	jw_put_double(g, "calls_s", ms->get_calls_s);
	jw_put_u64(g, "dirty_pages", ms->get_dirty_pages);
	jw_put_u64(g, "uncounted_syncs", ms->get_unsized);
	jw_put_double(g, "dirty_pages_s", ms->dirty_pages_s);
	jw_put_double(g, "dirty_mib_s", ms->dirty_mib_s);
	jw_put_quantiles(g, "dirty_pages_per_sync", &ms->sync_dirty_pages);
	jw_put_quantiles(g, "latency_us", &ms->get_latency_us);
	yajl_gen_map_close(g);

	jw_key(g, "clear_dirty_log");
	yajl_gen_map_open(g);
	jw_put_u64(g, "calls", ms->clear_calls);
	jw_put_double(g, "calls_s", ms->clear_calls_s);
	jw_put_u64(g, "pages", ms->clear_pages);
	jw_put_quantiles(g, "chunk_pages", &ms->clear_chunk_pages);
	jw_put_hist(g, "chunk_pages_hist", &ms->clear_chunk_hist);
	jw_put_quantiles(g, "latency_us", &ms->clear_latency_us);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void heat_json(yajl_gen g, const struct vm_metrics *vm, unsigned top)
{
	jw_key(g, "heat");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < vm->n_heat && i < top; i++) {
		const struct heat_region *h = &vm->heat[i];

		yajl_gen_map_open(g);
		jw_put_u64(g, "as_id", h->slot >> 16);
		jw_put_u64(g, "slot", h->slot & 0xffff);
		jw_put_u64(g, "region", h->region);
		jw_put_u64_known(g, "gpa", h->gpa_known, h->gpa);
		jw_put_u64(g, "size", 1ull << vm->heat_region_bytes_log2);
		jw_put_u64(g, "pages", h->pages);
		jw_put_double(g, "pages_s", h->pages_s);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void vm_json(yajl_gen g, const struct vm_metrics *vm, const struct view_opts *vo)
{
	yajl_gen_map_open(g);
	jw_put_u64(g, "vm_id", vm->vm_id);
	jw_put_u64(g, "pid", vm->tgid);
	jw_put_string(g, "comm", vm->comm);
	jw_put_identity(g, &vm->identity);
	jw_key(g, "fd");
	vm->fd >= 0 ? yajl_gen_integer(g, vm->fd) : yajl_gen_null(g);
	jw_put_string(g, "tracking", tracking_name(vm->tracking));
	jw_put_string(g, "state", vm->exited ? "exited" : "running");
	jw_put_bool(g, "seen_from_create", vm->seen_from_create);
	jw_put_u64(g, "vcpu_count", vm->n_vcpus);
	jw_put_u64(g, "ring_size", vm->ring_size);
	jw_put_u64(g, "soft_limit", vm->soft_limit);
	jw_put_u64(g, "pushes", vm->pushes);
	jw_put_double(g, "fill_rate", vm->fill_rate);
	jw_put_double(g, "fill_mib_s", vm->fill_mib_s);
	jw_put_u64(g, "full_exits", vm->full_exits);
	jw_put_double(g, "full_exits_s", vm->full_exits_s);
	jw_put_u64(g, "stalls", vm->stalls);
	jw_put_double(g, "stall_s", vm->stall_s);
	jw_put_u64(g, "reset_calls", vm->reset_calls);
	jw_put_double(g, "reset_calls_s", vm->reset_calls_s);
	jw_put_u64(g, "reset_entries", vm->reset_entries);
	jw_put_quantiles(g, "reset_latency_us", &vm->reset_latency_us);
	jw_put_quantiles(g, "reset_latency_us_all", &vm->reset_latency_us_all);
	jw_put_quantiles(g, "reset_entries_per_call", &vm->reset_entries_all);

	jw_key(g, "bitmap");
	yajl_gen_map_open(g);
	jw_put_u64(g, "syncs", vm->bitmap_syncs);
	jw_put_double(g, "syncs_s", vm->bitmap_syncs_s);
	jw_put_u64(g, "dirty_pages", vm->bitmap_dirty_pages);
	jw_put_double(g, "dirty_pages_s", vm->bitmap_dirty_pages_s);
	jw_put_double(g, "dirty_mib_s", vm->bitmap_dirty_pages_s * DT_PAGE_SIZE / (1024.0 * 1024.0));
	jw_put_u64(g, "clear_calls", vm->clear_calls);
	jw_put_double(g, "clear_calls_s", vm->clear_calls_s);
	yajl_gen_map_close(g);

	jw_key(g, "memslot_ops");
	yajl_gen_map_open(g);
	for (int op = 0; op < DT_SLOT_OPS; op++)
		jw_put_u64(g, slot_op_name(op), vm->slot_ops[op]);
	jw_put_u64(g, "dirty_log_on", vm->dirty_log_on);
	jw_put_u64(g, "dirty_log_off", vm->dirty_log_off);
	jw_key(g, "latency_us");
	yajl_gen_map_open(g);
	for (int op = 0; op < DT_SLOT_OPS; op++)
		jw_put_quantiles(g, slot_op_name(op), &vm->slot_op_latency_us[op]);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);

	jw_key(g, "memslots");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < vm->n_memslots; i++)
		memslot_json(g, &vm->memslots[i]);
	yajl_gen_array_close(g);
	jw_put_bool(g, "memslots_complete", vm->memslots_complete);
	jw_put_u64(g, "heat_region_size", 1ull << vm->heat_region_bytes_log2);
	heat_json(g, vm, vo->top_regions);

	jw_key(g, "vcpus");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < vm->n_vcpus; i++)
		g_raw ? vcpu_json_raw(g_raw, &vm->vcpus[i], i) : vcpu_json(g, &vm->vcpus[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

/* "features": {"bpf_loop": {"on": true, "why_off": null}, ...} */
static void put_features(yajl_gen g, const struct dt_features *fs)
{
	jw_key(g, "features");
	yajl_gen_map_open(g);
	for (int f = 0; f < DT_FEAT_COUNT; f++) {
		jw_key(g, dt_feature_name(f));
		yajl_gen_map_open(g);
		jw_put_bool(g, "on", fs->on[f]);
		jw_key(g, "why_off");
		jw_string_or_null(g, fs->on[f] ? NULL : fs->why_off[f]);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

void view_json_fields(yajl_gen g, const struct model *m, const struct view_opts *o, const struct frame_info *frame)
{
	double now = frame ? frame->wall_time : 0;

	if (!now) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	}
	jw_put_double(g, "time", now);
	jw_put_u64(g, "ts_ns", m->prev_ts_ns);
	jw_put_double(g, "interval_s", m->interval_s);
	jw_put_string(g, "hooks", frame && frame->hooks ? frame->hooks : "");
	if (frame && frame->has_map_entries)
		jw_put_u64(g, "map_entries", frame->map_entries);
	if (frame && frame->features)
		put_features(g, frame->features);
	jw_key(g, "vms");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < m->n_vms; i++)
		if (model_vm_visible(m, &m->vms[i]))
			vm_json(g, &m->vms[i], o);
	yajl_gen_array_close(g);
}

void view_json_print(FILE *out, const struct model *m, const struct view_opts *o, const struct frame_info *frame)
{
	/* one generator and text for the whole run: megabytes at 4096 vCPUs, not regrown each refresh */
	static struct jtext text;
	static yajl_gen g;

	if (!g) {
		if (!(g = jw_new())) {
			fprintf(stderr, "dirtytop: out of memory for the JSON view\n");
			return;
		}
		yajl_gen_config(g, yajl_gen_print_callback, jt_print, &text);
	}
	yajl_gen_reset(g, NULL);
	text.n = 0;
	g_raw = &text;
	yajl_gen_map_open(g);
	view_json_fields(g, m, o, frame);
	yajl_gen_map_close(g);
	g_raw = NULL;
	JT_LIT(&text, "\n");
	fwrite(text.p, 1, text.n, out);
	fflush(out);
}
