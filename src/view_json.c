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
	add_u64(o, "userspace_exits", v->userspace_exits);
	add_double(o, "userspace_exits_s", v->userspace_exits_s);
	json_object_object_add(o, "seen_from_create", json_object_new_boolean(v->seen_from_create));
	return o;
}

static json_object *vm_json(const struct vm_metrics *vm)
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
			json_object_array_add(vms, vm_json(&m->vms[i]));
	json_object_object_add(root, "vms", vms);
	fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	fflush(out);
	json_object_put(root);
}
