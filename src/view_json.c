// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --json: one JSON object per interval (JSON Lines). Field names: README.md. */
#include <time.h>
#include <json-c/json.h>
#include "views.h"

static void add_double(json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
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

	json_object_object_add(o, "vcpu_id", json_object_new_int(v->vcpu_id));
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
	json_object_object_add(o, "stalled_now", json_object_new_boolean(v->stalled_now));
	json_object_object_add(o, "stall_us", quantiles_json(&v->stall_us));
	json_object_object_add(o, "stall_us_all", quantiles_json(&v->stall_us_all));
	json_object_object_add(o, "stall_us_hist", hist_json(&v->stall_hist_all));
	add_u64(o, "ring_resets", v->ring_resets);
	add_double(o, "ring_resets_s", v->ring_resets_s);
	add_u64(o, "entries_reset", v->entries_reset);
	json_object_object_add(o, "reclaimed", quantiles_json(&v->reclaimed));
	json_object_object_add(o, "reclaimed_all", quantiles_json(&v->reclaimed_all));
	json_object_object_add(o, "reclaimed_hist", hist_json(&v->reclaimed_hist_all));
	json_object_object_add(o, "reap_interval_us", quantiles_json(&v->reap_interval_us));
	json_object_object_add(o, "reap_interval_us_all", quantiles_json(&v->reap_interval_us_all));
	json_object_object_add(o, "reap_latency_us", quantiles_json(&v->reap_latency_us));
	json_object_object_add(o, "reap_latency_us_all", quantiles_json(&v->reap_latency_us_all));
	add_u64(o, "reentries", v->reentries);
	add_u64(o, "reentries_full", v->reentries_full);
	add_double(o, "held_s", v->held_s);
	add_double(o, "held_frac", v->held_frac);
	json_object_object_add(o, "held_us_all", quantiles_json(&v->held_us_all));
	add_u64(o, "userspace_exits", v->userspace_exits);
	add_double(o, "userspace_exits_s", v->userspace_exits_s);
	json_object_object_add(o, "seen_from_create", json_object_new_boolean(v->seen_from_create));
	return o;
}

static json_object *memslot_json(const struct memslot_metrics *ms)
{
	json_object *o = json_object_new_object(), *g = json_object_new_object(),
		    *c = json_object_new_object();

	add_u64(o, "as_id", ms->slot >> 16);
	add_u64(o, "slot", ms->slot & 0xffff);
	json_object_object_add(o, "known", json_object_new_boolean(ms->known));
	/* a slot from before dirtytop: base, size and flags are unknown, not guessed */
	json_object_object_add(o, "gpa", ms->known ? json_object_new_uint64(ms->gpa) : NULL);
	json_object_object_add(o, "size", ms->known ? json_object_new_uint64(ms->size) : NULL);
	json_object_object_add(o, "dirty_logging", ms->known ?
			       json_object_new_boolean(ms->flags & DT_MEM_LOG_DIRTY_PAGES) : NULL);
	json_object_object_add(o, "readonly", ms->known ?
			       json_object_new_boolean(ms->flags & DT_MEM_READONLY) : NULL);
	json_object_object_add(o, "flags", ms->known ? json_object_new_int64(ms->flags) : NULL);
	add_u64(g, "calls", ms->get_calls);
	add_double(g, "calls_s", ms->get_calls_s);
	add_u64(g, "dirty_pages", ms->get_dirty_pages);
	add_u64(g, "uncounted_syncs", ms->get_unsized);
	add_double(g, "dirty_pages_s", ms->dirty_pages_s);
	add_double(g, "dirty_mib_s", ms->dirty_mib_s);
	json_object_object_add(g, "dirty_pages_per_sync", quantiles_json(&ms->sync_dirty_pages));
	json_object_object_add(g, "latency_us", quantiles_json(&ms->get_latency_us));
	json_object_object_add(o, "get_dirty_log", g);
	add_u64(c, "calls", ms->clear_calls);
	add_double(c, "calls_s", ms->clear_calls_s);
	add_u64(c, "pages", ms->clear_pages);
	json_object_object_add(c, "chunk_pages", quantiles_json(&ms->clear_chunk_pages));
	json_object_object_add(c, "chunk_pages_hist", hist_json(&ms->clear_chunk_hist));
	json_object_object_add(c, "latency_us", quantiles_json(&ms->clear_latency_us));
	json_object_object_add(o, "clear_dirty_log", c);
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
		json_object_object_add(o, "gpa", h->gpa_known ? json_object_new_uint64(h->gpa) : NULL);
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
	json_object_object_add(o, "comm", json_object_new_string(vm->comm));
	json_object_object_add(o, "fd", vm->fd >= 0 ? json_object_new_int(vm->fd) : NULL);
	json_object_object_add(o, "tracking", json_object_new_string(tracking_name(vm->tracking)));
	json_object_object_add(o, "state", json_object_new_string(vm->exited ? "exited" : "running"));
	json_object_object_add(o, "seen_from_create", json_object_new_boolean(vm->seen_from_create));
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
	json_object_object_add(o, "reset_latency_us", quantiles_json(&vm->reset_latency_us));
	json_object_object_add(o, "reset_latency_us_all", quantiles_json(&vm->reset_latency_us_all));
	json_object_object_add(o, "reset_entries_per_call", quantiles_json(&vm->reset_entries_all));
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
		json_object_object_add(o, "bitmap", b);
		for (int op = 0; op < DT_SLOT_OPS; op++) {
			add_u64(ops, slot_op_name(op), vm->slot_ops[op]);
			json_object_object_add(lat, slot_op_name(op), quantiles_json(&vm->slot_op_latency_us[op]));
		}
		add_u64(ops, "dirty_log_on", vm->dirty_log_on);
		add_u64(ops, "dirty_log_off", vm->dirty_log_off);
		json_object_object_add(ops, "latency_us", lat);
		json_object_object_add(o, "memslot_ops", ops);
		for (size_t i = 0; i < vm->n_memslots; i++)
			json_object_array_add(slots, memslot_json(&vm->memslots[i]));
		json_object_object_add(o, "memslots", slots);
		json_object_object_add(o, "memslots_complete", json_object_new_boolean(vm->seen_from_create));
		add_u64(o, "heat_region_size", 1ull << vm->heat_region_bytes_log2);
		json_object_object_add(o, "heat", heat_json(vm, vo->top_regions));
	}
	for (size_t i = 0; i < vm->n_vcpus; i++)
		json_object_array_add(cpus, vcpu_json(&vm->vcpus[i]));
	json_object_object_add(o, "vcpus", cpus);
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
	json_object_object_add(root, "hooks", json_object_new_string(o->hooks ? o->hooks : ""));
	add_u64(root, "map_entries", o->map_entries);
	for (size_t i = 0; i < m->n_vms; i++)
		if (view_vm_visible(&m->vms[i], o))
			json_object_array_add(vms, vm_json(&m->vms[i], o));
	json_object_object_add(root, "vms", vms);
	fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	fflush(out);
	json_object_put(root);
}
