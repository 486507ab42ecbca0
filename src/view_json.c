// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --json: one JSON object per interval (JSON Lines). Field names: README.md. */
#include <math.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "views.h"

/*
 * Every key is a string constant, added once: json-c then neither copies it
 * nor looks it up first (at 512 vCPUs, most of the time of a refresh).
 */
static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add_ex(o, k, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

/*
 * A double, printed as json-c prints it (integral ones as "N.0", others
 * "%.17g"), but integral values (most: an idle vCPU's are 0) are formatted
 * here and handed over as text: json-c's snprintf costs 0.4-0.7 µs a double,
 * a fifth of a refresh at 512 vCPUs.
 */
static json_object *new_double(double v)
{
	char buf[24], *p = buf + sizeof(buf) - 3;
	uint64_t u;

	if (!(fabs(v) < 9007199254740992.0) || v != (double)(int64_t)v)	/* 2^53; NaN too */
		return json_object_new_double(v);
	memcpy(p, ".0", 3);
	u = (uint64_t)fabs(v);
	do
		*--p = '0' + u % 10;
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	return json_object_new_double_s(v, p);
}

static void add_double(json_object *o, const char *k, double v)
{
	add(o, k, new_double(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	add(o, k, json_object_new_uint64(v));
}

static json_object *quantiles_json(const struct quantiles *q)
{
	json_object *o;

	if (!q->valid)
		return NULL;	/* JSON null: no sample */
	o = json_object_new_object();
	add_u64(o, "count", q->count);
	add_double(o, "p50", q->p50);
	add_double(o, "p99", q->p99);
	add_double(o, "max", q->max);
	return o;
}

/* Non-empty buckets as [low, high, count]; high is exclusive. */
static json_object *hist_json(const struct hist_counts *h)
{
	json_object *a = json_object_new_array();

	for (uint32_t b = 0; b < DT_HIST_BUCKETS; b++) {
		json_object *row;

		if (!h->count[b])
			continue;
		row = json_object_new_array();
		json_object_array_add(row, json_object_new_uint64(hist_bucket_low(b)));
		json_object_array_add(row, json_object_new_uint64(hist_bucket_high(b)));
		json_object_array_add(row, json_object_new_uint64(h->count[b]));
		json_object_array_add(a, row);
	}
	return a;
}

static json_object *vcpu_json(const struct vcpu_metrics *v)
{
	json_object *o = json_object_new_object();

	add(o, "vcpu_id", json_object_new_int(v->vcpu_id));
	add_u64(o, "tid", v->tid);
	add_u64(o, "ring_size", v->ring_size);
	add_u64(o, "soft_limit", v->soft_limit);
	add_u64(o, "pushes", v->pushes);
	add_double(o, "fill_rate", v->fill_rate);
	add_double(o, "fill_mib_s", v->fill_mib_s);
	add_u64(o, "used", v->used);
	add_double(o, "used_pct", v->used_pct);
	add_u64(o, "peak_used", v->peak_used);
	add_double(o, "peak_pct", v->peak_pct);
	add_u64(o, "full_exits", v->full_exits);
	add_double(o, "full_exits_s", v->full_exits_s);
	add_u64(o, "stalls", v->stalls);
	add_double(o, "stall_s", v->stall_s);
	add_double(o, "stall_frac", v->stall_frac);
	add(o, "stalled_now", json_object_new_boolean(v->stalled_now));
	add(o, "stall_us", quantiles_json(&v->stall_us));
	add(o, "stall_us_all", quantiles_json(&v->stall_us_all));
	add(o, "stall_us_hist", hist_json(&v->stall_hist_all));
	add_u64(o, "ring_resets", v->ring_resets);
	add_double(o, "ring_resets_s", v->ring_resets_s);
	add_u64(o, "entries_reset", v->entries_reset);
	add(o, "reclaimed", quantiles_json(&v->reclaimed));
	add(o, "reclaimed_all", quantiles_json(&v->reclaimed_all));
	add(o, "reclaimed_hist", hist_json(&v->reclaimed_hist_all));
	add(o, "reap_interval_us", quantiles_json(&v->reap_interval_us));
	add(o, "reap_interval_us_all", quantiles_json(&v->reap_interval_us_all));
	add(o, "reap_latency_us", quantiles_json(&v->reap_latency_us));
	add(o, "reap_latency_us_all", quantiles_json(&v->reap_latency_us_all));
	add_u64(o, "reentries", v->reentries);
	add_u64(o, "reentries_full", v->reentries_full);
	add_double(o, "held_s", v->held_s);
	add_double(o, "held_frac", v->held_frac);
	add(o, "held_us_all", quantiles_json(&v->held_us_all));
	add_u64(o, "userspace_exits", v->userspace_exits);
	add_double(o, "userspace_exits_s", v->userspace_exits_s);
	add(o, "seen_from_create", json_object_new_boolean(v->seen_from_create));
	return o;
}

static json_object *memslot_json(const struct memslot_metrics *ms)
{
	json_object *o = json_object_new_object(), *g = json_object_new_object(),
		    *c = json_object_new_object();

	add_u64(o, "as_id", ms->slot >> 16);
	add_u64(o, "slot", ms->slot & 0xffff);
	add(o, "known", json_object_new_boolean(ms->known));
	/* a slot from before dirtytop: base, size and flags are unknown, not guessed */
	add(o, "gpa", ms->known ? json_object_new_uint64(ms->gpa) : NULL);
	add(o, "size", ms->known ? json_object_new_uint64(ms->size) : NULL);
	add(o, "dirty_logging", ms->known ?
			       json_object_new_boolean(ms->flags & DT_MEM_LOG_DIRTY_PAGES) : NULL);
	add(o, "readonly", ms->known ?
			       json_object_new_boolean(ms->flags & DT_MEM_READONLY) : NULL);
	add(o, "flags", ms->known ? json_object_new_int64(ms->flags) : NULL);
	add_u64(g, "calls", ms->get_calls);
	add_double(g, "calls_s", ms->get_calls_s);
	add_u64(g, "dirty_pages", ms->get_dirty_pages);
	add_u64(g, "uncounted_syncs", ms->get_unsized);
	add_double(g, "dirty_pages_s", ms->dirty_pages_s);
	add_double(g, "dirty_mib_s", ms->dirty_mib_s);
	add(g, "dirty_pages_per_sync", quantiles_json(&ms->sync_dirty_pages));
	add(g, "latency_us", quantiles_json(&ms->get_latency_us));
	add(o, "get_dirty_log", g);
	add_u64(c, "calls", ms->clear_calls);
	add_double(c, "calls_s", ms->clear_calls_s);
	add_u64(c, "pages", ms->clear_pages);
	add(c, "chunk_pages", quantiles_json(&ms->clear_chunk_pages));
	add(c, "chunk_pages_hist", hist_json(&ms->clear_chunk_hist));
	add(c, "latency_us", quantiles_json(&ms->clear_latency_us));
	add(o, "clear_dirty_log", c);
	return o;
}

static json_object *heat_json(const struct vm_metrics *vm, unsigned top)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < vm->n_heat && i < top; i++) {
		const struct heat_region *h = &vm->heat[i];
		json_object *o = json_object_new_object();

		add_u64(o, "as_id", h->slot >> 16);
		add_u64(o, "slot", h->slot & 0xffff);
		add_u64(o, "region", h->region);
		add(o, "gpa", h->gpa_known ? json_object_new_uint64(h->gpa) : NULL);
		add_u64(o, "size", 1ull << vm->heat_region_bytes_log2);
		add_u64(o, "pages", h->pages);
		add_double(o, "pages_s", h->pages_s);
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *vm_json(const struct vm_metrics *vm, const struct view_opts *vo)
{
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();

	add_u64(o, "vm_id", vm->vm_id);
	add_u64(o, "pid", vm->tgid);
	add(o, "comm", json_object_new_string(vm->comm));
	add(o, "fd", vm->fd >= 0 ? json_object_new_int(vm->fd) : NULL);
	add(o, "tracking", json_object_new_string(tracking_name(vm->tracking)));
	add(o, "state", json_object_new_string(vm->exited ? "exited" : "running"));
	add(o, "seen_from_create", json_object_new_boolean(vm->seen_from_create));
	add_u64(o, "vcpu_count", vm->n_vcpus);
	add_u64(o, "ring_size", vm->ring_size);
	add_u64(o, "soft_limit", vm->soft_limit);
	add_u64(o, "pushes", vm->pushes);
	add_double(o, "fill_rate", vm->fill_rate);
	add_double(o, "fill_mib_s", vm->fill_mib_s);
	add_u64(o, "full_exits", vm->full_exits);
	add_double(o, "full_exits_s", vm->full_exits_s);
	add_u64(o, "stalls", vm->stalls);
	add_double(o, "stall_s", vm->stall_s);
	add_u64(o, "reset_calls", vm->reset_calls);
	add_double(o, "reset_calls_s", vm->reset_calls_s);
	add_u64(o, "reset_entries", vm->reset_entries);
	add(o, "reset_latency_us", quantiles_json(&vm->reset_latency_us));
	add(o, "reset_latency_us_all", quantiles_json(&vm->reset_latency_us_all));
	add(o, "reset_entries_per_call", quantiles_json(&vm->reset_entries_all));
	{
		json_object *b = json_object_new_object(), *ops = json_object_new_object(),
			    *lat = json_object_new_object(), *slots = json_object_new_array();

		add_u64(b, "syncs", vm->bitmap_syncs);
		add_double(b, "syncs_s", vm->bitmap_syncs_s);
		add_u64(b, "dirty_pages", vm->bitmap_dirty_pages);
		add_double(b, "dirty_pages_s", vm->bitmap_dirty_pages_s);
		add_double(b, "dirty_mib_s", vm->bitmap_dirty_pages_s * DT_PAGE_SIZE / (1024.0 * 1024.0));
		add_u64(b, "clear_calls", vm->clear_calls);
		add_double(b, "clear_calls_s", vm->clear_calls_s);
		add(o, "bitmap", b);
		for (int op = 0; op < DT_SLOT_OPS; op++) {
			add_u64(ops, slot_op_name(op), vm->slot_ops[op]);
			add(lat, slot_op_name(op), quantiles_json(&vm->slot_op_latency_us[op]));
		}
		add_u64(ops, "dirty_log_on", vm->dirty_log_on);
		add_u64(ops, "dirty_log_off", vm->dirty_log_off);
		add(ops, "latency_us", lat);
		add(o, "memslot_ops", ops);
		for (size_t i = 0; i < vm->n_memslots; i++)
			json_object_array_add(slots, memslot_json(&vm->memslots[i]));
		add(o, "memslots", slots);
		add(o, "memslots_complete", json_object_new_boolean(vm->seen_from_create));
		add_u64(o, "heat_region_size", 1ull << vm->heat_region_bytes_log2);
		add(o, "heat", heat_json(vm, vo->top_regions));
	}
	for (size_t i = 0; i < vm->n_vcpus; i++)
		json_object_array_add(cpus, vcpu_json(&vm->vcpus[i]));
	add(o, "vcpus", cpus);
	return o;
}

void view_json_print(FILE *out, const struct model *m, const struct view_opts *o)
{
	json_object *root = json_object_new_object(), *vms = json_object_new_array();
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	add_double(root, "time", (double)ts.tv_sec + ts.tv_nsec / 1e9);
	add_u64(root, "ts_ns", m->prev_ts_ns);
	add_double(root, "interval_s", m->interval_s);
	add(root, "hooks", json_object_new_string(o->hooks ? o->hooks : ""));
	add_u64(root, "map_entries", o->map_entries);
	for (size_t i = 0; i < m->n_vms; i++)
		if (view_vm_visible(&m->vms[i], o))
			json_object_array_add(vms, vm_json(&m->vms[i], o));
	add(root, "vms", vms);
	fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	fflush(out);
	json_object_put(root);
}
