// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --json: one JSON object per interval (JSON Lines). Field names: README.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "out/json_writer.h"
#include "out/views.h"

static void vcpu_json(yajl_gen g, const struct vcpu_metrics *v)
{
	yajl_gen_map_open(g);
	jw_put_int(g, "vcpu_id", v->vcpu_id);
	jw_put_u64_known(g, "tid", v->tid != 0, v->tid);	/* 0: no KVM_RUN seen or known */
	jw_put_string_known(g, "thread_name", v->thread_name);
	jw_put_u64(g, "ring_size", v->ring_size);
	jw_put_u64(g, "soft_limit", v->soft_limit);
	jw_put_u64(g, "pushes", v->pushes);
	jw_put_double(g, "fill_rate", v->fill_rate);
	jw_put_double(g, "fill_mib_s", v->fill_mib_s);
	jw_put_u64(g, "used", v->used);
	jw_put_double(g, "used_pct", v->used_pct);
	jw_put_u64(g, "peak_used", v->peak_used);
	jw_put_double(g, "peak_pct", v->peak_pct);
	jw_put_u64(g, "full_exits", v->full_exits);
	jw_put_double(g, "full_exits_s", v->full_exits_s);
	jw_put_u64(g, "stalls", v->stalls);
	jw_put_double(g, "stall_s", v->stall_s);
	jw_put_double(g, "stall_frac", v->stall_frac);
	jw_put_bool(g, "stalled_now", v->stalled_now);
	jw_put_quantiles(g, "stall_us", &v->stall_us);
	jw_put_quantiles(g, "stall_us_all", &v->stall_us_all);
	jw_put_hist(g, "stall_us_hist", v->hists ? &v->hists->stall_hist_all : NULL);
	jw_put_u64(g, "ring_resets", v->ring_resets);
	jw_put_double(g, "ring_resets_s", v->ring_resets_s);
	jw_put_u64(g, "entries_reset", v->entries_reset);
	jw_put_quantiles(g, "reclaimed", &v->reclaimed);
	jw_put_quantiles(g, "reclaimed_all", &v->reclaimed_all);
	jw_put_hist(g, "reclaimed_hist", v->hists ? &v->hists->reclaimed_hist_all : NULL);
	jw_put_quantiles(g, "reap_interval_us", &v->reap_interval_us);
	jw_put_quantiles(g, "reap_interval_us_all", &v->reap_interval_us_all);
	jw_put_quantiles(g, "reap_latency_us", &v->reap_latency_us);
	jw_put_quantiles(g, "reap_latency_us_all", &v->reap_latency_us_all);
	jw_put_u64(g, "reentries", v->reentries);
	jw_put_u64(g, "reentries_full", v->reentries_full);
	jw_put_double(g, "held_s", v->held_s);
	jw_put_double(g, "held_frac", v->held_frac);
	jw_put_quantiles(g, "held_us_all", &v->held_us_all);
	jw_put_u64(g, "userspace_exits", v->userspace_exits);
	jw_put_double(g, "userspace_exits_s", v->userspace_exits_s);
	jw_put_bool(g, "seen_from_create", v->seen_from_create);
	yajl_gen_map_close(g);
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
		vcpu_json(g, &vm->vcpus[i]);
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
	/*
	 * One generator for the whole run: its buffer (megabytes at 4096 vCPUs)
	 * is kept, not grown again by doubling at every refresh.
	 */
	static yajl_gen g;

	if (!g && !(g = jw_new())) {
		fprintf(stderr, "dirtytop: out of memory for the JSON view\n");
		return;
	}
	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	yajl_gen_map_open(g);
	view_json_fields(g, m, o, frame);
	yajl_gen_map_close(g);
	jw_flush(g, out, true);
	fflush(out);
}
