/* dirtygen: the ground-truth JSON (json-c). */
#define _GNU_SOURCE
#include "vmm.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void add_i(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_u(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void add_s(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_b(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static json_object *pair(uint64_t a, uint64_t b)
{
	json_object *p = json_object_new_array();
	json_object_array_add(p, json_object_new_int64((int64_t)a));
	json_object_array_add(p, json_object_new_int64((int64_t)b));
	return p;
}

static json_object *config_json(const struct dg_run *r)
{
	const struct dg_config *cfg = r->cfg;
	char pat[32];
	json_object *o = json_object_new_object();
	add_i(o, "vms", cfg->vms);
	add_i(o, "vcpus", cfg->vcpus);
	add_u(o, "mem_mib", cfg->mem_mib);
	add_i(o, "slots", cfg->slots);
	add_s(o, "mode", dg_mode_name(cfg->mode));
	add_u(o, "ring_size", cfg->ring_size);
	add_s(o, "pattern", dg_pattern_name(cfg, pat, sizeof(pat)));
	add_u(o, "reap_interval_ms", cfg->reap_interval_ms);
	add_u(o, "reap_period_us", cfg->reap_period_us);
	add_s(o, "reap_mode", dg_reap_mode_name(cfg->reap_mode));
	add_u(o, "latency_group", cfg->latency_group);
	add_s(o, "full_action", dg_full_action_name(cfg->full_action));
	add_u(o, "throttle_ms", cfg->throttle_ms);
	add_u(o, "throttle_rate", cfg->throttle_rate);
	add_u(o, "reap_delay_ms", cfg->reap_delay_ms);
	if (cfg->duration_s > 0)
		json_object_object_add(o, "duration_s", json_object_new_double(cfg->duration_s));
	else
		json_object_object_add(o, "duration_s", NULL);
	add_b(o, "manual_protect", cfg->manual_protect);
	add_b(o, "initially_set", cfg->initially_set);
	add_u(o, "clear_chunk", cfg->clear_chunk);
	json_object *st = json_object_new_array();
	for (int i = 0; i < cfg->nstalls; i++)
		json_object_array_add(st, pair(cfg->stalls[i].at_ms, cfg->stalls[i].for_ms));
	json_object_object_add(o, "stalls", st);
	json_object *rates = json_object_new_array();
	for (int i = 0; i < cfg->nrates; i++)
		json_object_array_add(rates, json_object_new_int64(cfg->rates[i]));
	json_object_object_add(o, "rates", rates);
	add_u(o, "batch", cfg->batch);
	add_u(o, "region_shift", cfg->region_shift);
	add_u(o, "seed", cfg->seed);
	add_u(o, "retry_delay_us", cfg->retry_delay_us);
	add_u(o, "max_records", cfg->max_records);
	add_u(o, "progress_ms", cfg->progress_ms);
	add_u(o, "slot_ops", cfg->slot_ops);
	add_u(o, "slot_ops_interval_ms", cfg->slot_ops_interval_ms);
	add_b(o, "slot_ops_toggle_data", cfg->slot_ops_toggle_data);
	add_u(o, "data_pages", r->lay.data_pages);
	add_u(o, "pages_per_vcpu", r->lay.pages_per_vcpu);
	return o;
}

static json_object *vcpu_json(const struct dg_vm *vm, const struct dg_vcpu *c)
{
	json_object *o = json_object_new_object();
	add_i(o, "index", c->index);
	add_i(o, "vcpu_id", c->index);
	add_i(o, "tid", c->tid);
	add_i(o, "rate", c->rate);
	add_b(o, "idle", c->idle);
	add_u(o, "batch", c->batch);
	add_u(o, "first_page", c->first_page);
	add_u(o, "pages", c->pages);
	add_u(o, "gpa", c->gpa_base);
	add_u(o, "write_pages", c->write_pages);
	add_u(o, "seed", c->seed);
	add_u(o, "run_start_ns", c->run_start_ns);
	add_u(o, "run_end_ns", c->run_end_ns);
	add_u(o, "pages_written", c->pages_written);
	add_u(o, "pages_written_io", c->pages_io);
	add_u(o, "harvested", c->harvested);
	add_u(o, "refaults", c->refaults);
	add_u(o, "unretired", c->unretired);
	add_u(o, "foreign", c->foreign);
	add_u(o, "full_exits", c->exit_full);
	add_u(o, "rings_reset", vm->ring_entries ? vm->reset_calls - c->resets_at_create : 0);
	add_u(o, "stall_ns_total", c->stall_ns_total);
	add_u(o, "throttles", c->throttles);
	add_u(o, "throttle_ns_total", c->throttle_ns_total);
	add_u(o, "stalls_dropped", c->stalls_dropped);
	json_object *st = json_object_new_array();
	for (size_t i = 0; i < c->nstalls; i++) {
		json_object *s = json_object_new_object();
		add_u(s, "exit_ns", c->stalls[i].exit_ns);
		add_u(s, "reset_ns", c->stalls[i].reset_ns);
		add_u(s, "resume_ns", c->stalls[i].resume_ns);
		add_u(s, "throttle_start_ns", c->stalls[i].throttle_start_ns);
		add_u(s, "throttle_ns", c->stalls[i].throttle_ns);
		json_object_array_add(st, s);
	}
	json_object_object_add(o, "stalls", st);
	add_u(o, "progress_dropped", c->progress_dropped);
	json_object *pr = json_object_new_array();
	for (size_t i = 0; i < c->nprogress; i++)
		json_object_array_add(pr, pair(c->progress[i].t_ns, c->progress[i].pages));
	json_object_object_add(o, "progress", pr);
	json_object *ex = json_object_new_object();
	add_u(ex, "io", c->exit_io);
	add_u(ex, "dirty_ring_full", c->exit_full);
	add_u(ex, "intr", c->exit_intr);
	add_u(ex, "hlt", c->exit_hlt);
	add_u(ex, "other", c->exit_other);
	json_object_object_add(o, "exits", ex);
	add_u(o, "bitmap_dirty_pages", c->bitmap_dirty);
	add_u(o, "pauses", c->pauses);
	add_u(o, "latency_unknown", c->latency_unknown);
	add_u(o, "reclaims_dropped", c->reclaims_dropped);
	json_object *rc = json_object_new_array();
	for (size_t i = 0; i < c->nreclaims; i++) {
		const struct dg_reclaim_rec *x = &c->reclaims[i];
		json_object *a = json_object_new_array();
		json_object_array_add(a, json_object_new_int64((int64_t)x->reset_idx));
		json_object_array_add(a, json_object_new_int64((int64_t)x->reclaimed));
		json_object_array_add(a, json_object_new_int64(x->lat_lo_ns));
		json_object_array_add(a, json_object_new_int64(x->lat_hi_ns));
		json_object_array_add(rc, a);
	}
	json_object_object_add(o, "reclaims", rc);
	return o;
}

static json_object *vm_json(const struct dg_run *r, const struct dg_vm *vm)
{
	const struct dg_config *cfg = r->cfg;
	json_object *o = json_object_new_object();
	char key[32];
	add_i(o, "index", vm->index);
	add_i(o, "vm_fd", vm->fd);
	add_s(o, "mode", dg_mode_name(cfg->mode));
	add_u(o, "ring_entries", vm->ring_entries);
	add_u(o, "ring_bytes", (uint64_t)vm->ring_entries * sizeof(struct kvm_dirty_gfn));

	json_object *ms = json_object_new_array();
	for (int i = 0; i <= vm->nslots; i++) {
		const struct dg_slot *s = i < vm->nslots ? &vm->slots[i] : &vm->scratch;
		if (i == vm->nslots && !vm->scratch_present)
			break;
		json_object *m = json_object_new_object();
		add_u(m, "slot", s->id);
		add_u(m, "as_id", 0);
		add_u(m, "gpa", s->gpa);
		add_u(m, "size", s->size);
		add_u(m, "flags", s->flags);
		json_object_array_add(ms, m);
	}
	json_object_object_add(o, "memslots", ms);
	json_object *ops = json_object_new_object();
	add_u(ops, "create", vm->ms_create);
	add_u(ops, "delete", vm->ms_delete);
	add_u(ops, "move", vm->ms_move);
	add_u(ops, "flags", vm->ms_flags);
	add_u(ops, "dirty_log_on", vm->ms_log_on);
	add_u(ops, "dirty_log_off", vm->ms_log_off);
	json_object_object_add(o, "memslot_ops", ops);
	add_u(o, "slot_op_errors", vm->slot_op_errors);
	add_u(o, "slot_op_cycles", vm->slot_op_cycles);
	add_u(o, "slot_op_records_dropped", vm->slot_ops_dropped);
	json_object *sr = json_object_new_array();
	for (size_t i = 0; i < vm->nslot_ops; i++) {
		const struct dg_slot_op_rec *x = &vm->slot_ops[i];
		json_object *m = json_object_new_object();
		add_s(m, "op", dg_slot_op_name(x->op));
		add_u(m, "slot", x->slot);
		add_u(m, "gpa", x->gpa);
		add_u(m, "size", x->size);
		add_u(m, "flags", x->flags);
		add_u(m, "start_ns", x->start_ns);
		add_u(m, "end_ns", x->end_ns);
		add_i(m, "ret", x->ret);
		json_object_array_add(sr, m);
	}
	json_object_object_add(o, "slot_op_records", sr);

	add_u(o, "reset_calls", vm->reset_calls);
	add_u(o, "entries_reset", vm->entries_reset);
	add_u(o, "reset_errors", vm->reset_errors);
	add_u(o, "resets_dropped", vm->resets_dropped);
	json_object *rs = json_object_new_array();
	for (size_t i = 0; i < vm->nresets; i++) {
		json_object *x = json_object_new_object();
		add_u(x, "start_ns", vm->resets[i].start_ns);
		add_u(x, "end_ns", vm->resets[i].end_ns);
		add_i(x, "entries", vm->resets[i].entries);
		json_object_array_add(rs, x);
	}
	json_object_object_add(o, "resets", rs);
	add_u(o, "harvested", vm->harvested);
	add_u(o, "reaper_ticks_missed", vm->reaper_ticks_missed);
	add_u(o, "checkpoint_cycles", vm->ckpt_cycles);
	add_u(o, "checkpoints_dropped", vm->ckpts_dropped);
	json_object *cp = json_object_new_array();
	for (size_t i = 0; i < vm->nckpts; i++) {
		const struct dg_ckpt_rec *x = &vm->ckpts[i];
		json_object *a = json_object_new_array();
		json_object_array_add(a, json_object_new_int64((int64_t)x->kick_ns));
		json_object_array_add(a, json_object_new_int64((int64_t)x->paused_ns));
		json_object_array_add(a, json_object_new_int64((int64_t)x->resume_ns));
		json_object_array_add(a, json_object_new_int64(x->reset_idx));
		json_object_array_add(cp, a);
	}
	json_object_object_add(o, "checkpoints", cp);
	json_object *bs = json_object_new_object();
	for (int i = 1; i < vm->nslots; i++) {
		snprintf(key, sizeof(key), "%u", vm->slots[i].id);
		add_u(bs, key, vm->slots[i].harvested);
	}
	json_object_object_add(o, "harvested_by_slot", bs);
	add_u(o, "foreign_slot", vm->foreign_slot);
	add_u(o, "region_shift", cfg->region_shift);
	json_object *rg = json_object_new_array();
	for (uint64_t i = 0; i < vm->nregions; i++)
		if (vm->regions[i])
			json_object_array_add(rg, pair(i, vm->regions[i]));
	json_object_object_add(o, "regions", rg);

	add_u(o, "bitmap_syncs", vm->bitmap_syncs);
	add_u(o, "bitmap_dirty_pages", vm->bitmap_dirty_pages);
	add_u(o, "syncs_dropped", vm->syncs_dropped);
	json_object *sy = json_object_new_array();
	for (size_t i = 0; i < vm->nsyncs; i++) {
		json_object *x = json_object_new_object();
		add_u(x, "slot", vm->syncs[i].slot);
		add_u(x, "start_ns", vm->syncs[i].start_ns);
		add_u(x, "end_ns", vm->syncs[i].end_ns);
		add_u(x, "dirty_pages", vm->syncs[i].dirty_pages);
		json_object_array_add(sy, x);
	}
	json_object_object_add(o, "syncs", sy);
	add_u(o, "clear_calls", vm->clear_calls);
	add_u(o, "clear_pages", vm->clear_pages);
	add_u(o, "clear_errors", vm->clear_errors);
	json_object *cc = json_object_new_object();
	for (int i = 0; i < vm->nclear_buckets; i++) {
		snprintf(key, sizeof(key), "%llu", (unsigned long long)vm->clear_buckets[i].pages);
		add_u(cc, key, vm->clear_buckets[i].calls);
	}
	json_object_object_add(o, "clear_chunks", cc);

	json_object *vc = json_object_new_array();
	for (int i = 0; i < vm->nvcpus; i++)
		json_object_array_add(vc, vcpu_json(vm, &vm->vcpus[i]));
	json_object_object_add(o, "vcpus", vc);
	return o;
}

int dg_write_truth(const struct dg_run *r)
{
	const struct dg_config *cfg = r->cfg;
	json_object *root = json_object_new_object();
	add_s(root, "tool", "dirtygen");
	add_i(root, "version", DG_VERSION);
	add_i(root, "pid", getpid());
	add_u(root, "start_ns", r->start_ns);
	add_u(root, "stop_ns", r->stop_ns);
	add_u(root, "end_ns", r->end_ns);
	add_s(root, "stop_reason", dg_failed ? "error" : r->stop_signal == SIGINT ? "SIGINT"
				   : r->stop_signal == SIGTERM ? "SIGTERM" : "duration");
	json_object_object_add(root, "config", config_json(r));

	uint64_t harv = 0, full = 0, resets = 0, rings = 0, pages = 0, pages_io = 0, bdirty = 0,
		 refaults = 0, unretired = 0, foreign = 0, ereset = 0, syncs = 0, clears = 0,
		 slot_ops = 0, slot_errors = 0, throttles = 0, throttle_ns = 0;
	json_object *vms = json_object_new_array();
	for (int i = 0; i < r->nvms; i++) {
		const struct dg_vm *vm = &r->vms[i];
		json_object_array_add(vms, vm_json(r, vm));
		harv += vm->harvested;
		resets += vm->reset_calls;
		ereset += vm->entries_reset;
		bdirty += vm->bitmap_dirty_pages;
		syncs += vm->bitmap_syncs;
		clears += vm->clear_calls;
		slot_ops += vm->ms_create + vm->ms_delete + vm->ms_move + vm->ms_flags;
		slot_errors += vm->slot_op_errors;
		for (int j = 0; j < vm->nvcpus; j++) {
			const struct dg_vcpu *c = &vm->vcpus[j];
			full += c->exit_full;
			if (vm->ring_entries)
				rings += vm->reset_calls - c->resets_at_create;
			pages += c->pages_written;
			pages_io += c->pages_io;
			refaults += c->refaults;
			unretired += c->unretired;
			foreign += c->foreign;
			throttles += c->throttles;
			throttle_ns += c->throttle_ns_total;
		}
	}
	json_object_object_add(root, "vms", vms);
	json_object *t = json_object_new_object();
	add_u(t, "harvested", harv);
	add_u(t, "full_exits", full);
	add_u(t, "reset_calls", resets);
	add_u(t, "rings_reset", rings);
	add_u(t, "entries_reset", ereset);
	add_u(t, "pages_written", pages);
	add_u(t, "pages_written_io", pages_io);
	add_u(t, "refaults", refaults);
	add_u(t, "unretired", unretired);
	add_u(t, "foreign", foreign);
	add_u(t, "bitmap_syncs", syncs);
	add_u(t, "bitmap_dirty_pages", bdirty);
	add_u(t, "clear_calls", clears);
	add_u(t, "memslot_ops", slot_ops);
	add_u(t, "slot_op_errors", slot_errors);
	add_u(t, "throttles", throttles);
	add_u(t, "throttle_ns_total", throttle_ns);
	json_object_object_add(root, "totals", t);

	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	FILE *f = r->truth;
	bool to_stdout = f == stdout;
	int bad = fputs(s, f) < 0 || fputc('\n', f) < 0;
	if (to_stdout)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	json_object_put(root);
	if (bad) {
		fprintf(stderr, "dirtygen: writing --truth %s: %s\n", cfg->truth_path, strerror(errno));
		return 1;
	}
	return 0;
}
