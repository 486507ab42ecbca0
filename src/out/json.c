// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --json: one JSON object per interval (JSON Lines). Field names: README.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>
#include "out/views.h"

/*
 * Written with yajl's streaming generator, straight into one buffer: at 512
 * vCPUs a refresh is ~400 KiB of JSON, and building a json-c object tree to
 * print it cost more than all the rest of a refresh (collect and model).
 */

static void key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void put_number(yajl_gen g, const char *s)
{
	yajl_gen_number(g, s, strlen(s));
}

/* Decimal digits of u, ending at end (exclusive); returns the first. */
static char *format_u64(char *end, uint64_t u)
{
	do
		*--end = '0' + u % 10;
	while (u /= 10);
	return end;
}

static void num_u64(yajl_gen g, uint64_t v)
{
	char buf[24];

	buf[sizeof(buf) - 1] = 0;
	put_number(g, format_u64(buf + sizeof(buf) - 1, v));
}

/*
 * A double: integral ones (most: an idle vCPU's rates are 0) as "N.0",
 * formatted here (snprintf costs ~0.5 µs a value), others "%.17g" (exact
 * round trip); not finite: null, which JSON can say and NaN it cannot.
 */
static void num_double(yajl_gen g, double v)
{
	char buf[32], *p;

	if (!isfinite(v)) {
		yajl_gen_null(g);
		return;
	}
	if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {	/* 2^53 */
		memcpy(buf + sizeof(buf) - 3, ".0", 3);
		p = format_u64(buf + sizeof(buf) - 3, (uint64_t)fabs(v));
		if (v < 0)
			*--p = '-';
		put_number(g, p);
		return;
	}
	snprintf(buf, sizeof(buf), "%.17g", v);
	put_number(g, buf);
}

static void put_u64(yajl_gen g, const char *k, uint64_t v)
{
	key(g, k);
	num_u64(g, v);
}

/* v, or null where it is not known */
static void put_u64_known(yajl_gen g, const char *k, bool known, uint64_t v)
{
	key(g, k);
	if (known)
		num_u64(g, v);
	else
		yajl_gen_null(g);
}

static void put_int(yajl_gen g, const char *k, long long v)
{
	key(g, k);
	yajl_gen_integer(g, v);
}

static void put_double(yajl_gen g, const char *k, double v)
{
	key(g, k);
	num_double(g, v);
}

static void put_bool(yajl_gen g, const char *k, bool v)
{
	key(g, k);
	yajl_gen_bool(g, v);
}

static void put_string(yajl_gen g, const char *k, const char *s)
{
	key(g, k);
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void put_quantiles(yajl_gen g, const char *k, const struct quantiles *q)
{
	key(g, k);
	if (!q->valid) {
		yajl_gen_null(g);	/* no sample */
		return;
	}
	yajl_gen_map_open(g);
	put_u64(g, "count", q->count);
	put_double(g, "p50", q->p50);
	put_double(g, "p99", q->p99);
	put_double(g, "max", q->max);
	yajl_gen_map_close(g);
}

/* Non-empty buckets as [low, high, count]; high is exclusive. */
static void put_hist(yajl_gen g, const char *k, const struct hist_counts *h)
{
	key(g, k);
	yajl_gen_array_open(g);
	for (uint32_t b = 0; b < DT_HIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		yajl_gen_array_open(g);
		num_u64(g, hist_bucket_low(b));
		num_u64(g, hist_bucket_high(b));
		num_u64(g, h->count[b]);
		yajl_gen_array_close(g);
	}
	yajl_gen_array_close(g);
}

static void vcpu_json(yajl_gen g, const struct vcpu_metrics *v)
{
	yajl_gen_map_open(g);
	put_int(g, "vcpu_id", v->vcpu_id);
	put_u64(g, "tid", v->tid);
	put_u64(g, "ring_size", v->ring_size);
	put_u64(g, "soft_limit", v->soft_limit);
	put_u64(g, "pushes", v->pushes);
	put_double(g, "fill_rate", v->fill_rate);
	put_double(g, "fill_mib_s", v->fill_mib_s);
	put_u64(g, "used", v->used);
	put_double(g, "used_pct", v->used_pct);
	put_u64(g, "peak_used", v->peak_used);
	put_double(g, "peak_pct", v->peak_pct);
	put_u64(g, "full_exits", v->full_exits);
	put_double(g, "full_exits_s", v->full_exits_s);
	put_u64(g, "stalls", v->stalls);
	put_double(g, "stall_s", v->stall_s);
	put_double(g, "stall_frac", v->stall_frac);
	put_bool(g, "stalled_now", v->stalled_now);
	put_quantiles(g, "stall_us", &v->stall_us);
	put_quantiles(g, "stall_us_all", &v->stall_us_all);
	put_hist(g, "stall_us_hist", &v->stall_hist_all);
	put_u64(g, "ring_resets", v->ring_resets);
	put_double(g, "ring_resets_s", v->ring_resets_s);
	put_u64(g, "entries_reset", v->entries_reset);
	put_quantiles(g, "reclaimed", &v->reclaimed);
	put_quantiles(g, "reclaimed_all", &v->reclaimed_all);
	put_hist(g, "reclaimed_hist", &v->reclaimed_hist_all);
	put_quantiles(g, "reap_interval_us", &v->reap_interval_us);
	put_quantiles(g, "reap_interval_us_all", &v->reap_interval_us_all);
	put_quantiles(g, "reap_latency_us", &v->reap_latency_us);
	put_quantiles(g, "reap_latency_us_all", &v->reap_latency_us_all);
	put_u64(g, "reentries", v->reentries);
	put_u64(g, "reentries_full", v->reentries_full);
	put_double(g, "held_s", v->held_s);
	put_double(g, "held_frac", v->held_frac);
	put_quantiles(g, "held_us_all", &v->held_us_all);
	put_u64(g, "userspace_exits", v->userspace_exits);
	put_double(g, "userspace_exits_s", v->userspace_exits_s);
	put_bool(g, "seen_from_create", v->seen_from_create);
	yajl_gen_map_close(g);
}

static void memslot_json(yajl_gen g, const struct memslot_metrics *ms)
{
	yajl_gen_map_open(g);
	put_u64(g, "as_id", ms->slot >> 16);
	put_u64(g, "slot", ms->slot & 0xffff);
	put_bool(g, "known", ms->known);
	/* a slot from before dirtytop: base, size and flags are unknown, not guessed */
	put_u64_known(g, "gpa", ms->known, ms->gpa);
	put_u64_known(g, "size", ms->known, ms->size);
	key(g, "dirty_logging");
	ms->known ? yajl_gen_bool(g, ms->flags & DT_MEM_LOG_DIRTY_PAGES) : yajl_gen_null(g);
	key(g, "readonly");
	ms->known ? yajl_gen_bool(g, ms->flags & DT_MEM_READONLY) : yajl_gen_null(g);
	put_u64_known(g, "flags", ms->known, ms->flags);

	key(g, "get_dirty_log");
	yajl_gen_map_open(g);
	put_u64(g, "calls", ms->get_calls);
	put_double(g, "calls_s", ms->get_calls_s);
	put_u64(g, "dirty_pages", ms->get_dirty_pages);
	put_u64(g, "uncounted_syncs", ms->get_unsized);
	put_double(g, "dirty_pages_s", ms->dirty_pages_s);
	put_double(g, "dirty_mib_s", ms->dirty_mib_s);
	put_quantiles(g, "dirty_pages_per_sync", &ms->sync_dirty_pages);
	put_quantiles(g, "latency_us", &ms->get_latency_us);
	yajl_gen_map_close(g);

	key(g, "clear_dirty_log");
	yajl_gen_map_open(g);
	put_u64(g, "calls", ms->clear_calls);
	put_double(g, "calls_s", ms->clear_calls_s);
	put_u64(g, "pages", ms->clear_pages);
	put_quantiles(g, "chunk_pages", &ms->clear_chunk_pages);
	put_hist(g, "chunk_pages_hist", &ms->clear_chunk_hist);
	put_quantiles(g, "latency_us", &ms->clear_latency_us);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void heat_json(yajl_gen g, const struct vm_metrics *vm, unsigned top)
{
	key(g, "heat");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < vm->n_heat && i < top; i++) {
		const struct heat_region *h = &vm->heat[i];

		yajl_gen_map_open(g);
		put_u64(g, "as_id", h->slot >> 16);
		put_u64(g, "slot", h->slot & 0xffff);
		put_u64(g, "region", h->region);
		put_u64_known(g, "gpa", h->gpa_known, h->gpa);
		put_u64(g, "size", 1ull << vm->heat_region_bytes_log2);
		put_u64(g, "pages", h->pages);
		put_double(g, "pages_s", h->pages_s);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void vm_json(yajl_gen g, const struct vm_metrics *vm, const struct view_opts *vo)
{
	yajl_gen_map_open(g);
	put_u64(g, "vm_id", vm->vm_id);
	put_u64(g, "pid", vm->tgid);
	put_string(g, "comm", vm->comm);
	key(g, "fd");
	vm->fd >= 0 ? yajl_gen_integer(g, vm->fd) : yajl_gen_null(g);
	put_string(g, "tracking", tracking_name(vm->tracking));
	put_string(g, "state", vm->exited ? "exited" : "running");
	put_bool(g, "seen_from_create", vm->seen_from_create);
	put_u64(g, "vcpu_count", vm->n_vcpus);
	put_u64(g, "ring_size", vm->ring_size);
	put_u64(g, "soft_limit", vm->soft_limit);
	put_u64(g, "pushes", vm->pushes);
	put_double(g, "fill_rate", vm->fill_rate);
	put_double(g, "fill_mib_s", vm->fill_mib_s);
	put_u64(g, "full_exits", vm->full_exits);
	put_double(g, "full_exits_s", vm->full_exits_s);
	put_u64(g, "stalls", vm->stalls);
	put_double(g, "stall_s", vm->stall_s);
	put_u64(g, "reset_calls", vm->reset_calls);
	put_double(g, "reset_calls_s", vm->reset_calls_s);
	put_u64(g, "reset_entries", vm->reset_entries);
	put_quantiles(g, "reset_latency_us", &vm->reset_latency_us);
	put_quantiles(g, "reset_latency_us_all", &vm->reset_latency_us_all);
	put_quantiles(g, "reset_entries_per_call", &vm->reset_entries_all);

	key(g, "bitmap");
	yajl_gen_map_open(g);
	put_u64(g, "syncs", vm->bitmap_syncs);
	put_double(g, "syncs_s", vm->bitmap_syncs_s);
	put_u64(g, "dirty_pages", vm->bitmap_dirty_pages);
	put_double(g, "dirty_pages_s", vm->bitmap_dirty_pages_s);
	put_double(g, "dirty_mib_s", vm->bitmap_dirty_pages_s * DT_PAGE_SIZE / (1024.0 * 1024.0));
	put_u64(g, "clear_calls", vm->clear_calls);
	put_double(g, "clear_calls_s", vm->clear_calls_s);
	yajl_gen_map_close(g);

	key(g, "memslot_ops");
	yajl_gen_map_open(g);
	for (int op = 0; op < DT_SLOT_OPS; op++)
		put_u64(g, slot_op_name(op), vm->slot_ops[op]);
	put_u64(g, "dirty_log_on", vm->dirty_log_on);
	put_u64(g, "dirty_log_off", vm->dirty_log_off);
	key(g, "latency_us");
	yajl_gen_map_open(g);
	for (int op = 0; op < DT_SLOT_OPS; op++)
		put_quantiles(g, slot_op_name(op), &vm->slot_op_latency_us[op]);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);

	key(g, "memslots");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < vm->n_memslots; i++)
		memslot_json(g, &vm->memslots[i]);
	yajl_gen_array_close(g);
	put_bool(g, "memslots_complete", vm->seen_from_create);
	put_u64(g, "heat_region_size", 1ull << vm->heat_region_bytes_log2);
	heat_json(g, vm, vo->top_regions);

	key(g, "vcpus");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < vm->n_vcpus; i++)
		vcpu_json(g, &vm->vcpus[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

void view_json_print(FILE *out, const struct model *m, const struct view_opts *o)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	struct timespec ts;
	size_t len;

	if (!g) {
		fprintf(stderr, "dirtytop: out of memory for the JSON view\n");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	yajl_gen_map_open(g);
	put_double(g, "time", (double)ts.tv_sec + ts.tv_nsec / 1e9);
	put_u64(g, "ts_ns", m->prev_ts_ns);
	put_double(g, "interval_s", m->interval_s);
	put_string(g, "hooks", o->hooks ? o->hooks : "");
	put_u64(g, "map_entries", o->map_entries);
	key(g, "vms");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < m->n_vms; i++)
		if (view_vm_visible(&m->vms[i], o))
			vm_json(g, &m->vms[i], o);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		fwrite(buf, 1, len, out);
		fputc('\n', out);
	}
	fflush(out);
	yajl_gen_free(g);
}
