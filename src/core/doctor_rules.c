// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop doctor`'s findings: see doctor_rules.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/doctor_rules.h"

#define MIB (1024.0 * 1024.0)
#define THROTTLE_INTERVAL_FRAC 0.02	/* an interval counts as throttled from this held share on */

const char *doc_severity_name(enum doc_severity s)
{
	switch (s) {
	case DOC_INFO: return "info";
	case DOC_WARNING: return "warning";
	case DOC_CRITICAL: return "critical";
	}
	return "?";
}

void doc_thresholds_default(struct doc_thresholds *t)
{
	t->storm_exits_s = 100;
	t->storm_full_share = 0.5;
	t->stalled_s = 1.0;
	t->slow_exits_s = 1.0;
	t->throttle_held_frac = 0.05;
	t->dominant_share = 0;
	t->dominant_min_rate = 1000;
	t->converge_ratio = 1.0;
	t->get_log_ms = 10;
	t->clear_log_ms = 10;
	t->memslot_ms = 50;
	t->flapping_cycles = 3;
}

void doc_state_init(struct doc_state *s)
{
	memset(s, 0, sizeof(*s));
}

void doc_state_free(struct doc_state *s)
{
	for (size_t i = 0; i < s->n_vms; i++)
		free(s->vms[i].vcpus);
	free(s->vms);
	memset(s, 0, sizeof(*s));
}

struct doc_vm *doc_vm_find(struct doc_state *s, uint32_t vm_id)
{
	for (size_t i = 0; i < s->n_vms; i++)
		if (s->vms[i].vm_id == vm_id)
			return &s->vms[i];
	return NULL;
}

static struct doc_vm *vm_get(struct doc_state *s, const struct vm_metrics *vm)
{
	struct doc_vm *d = doc_vm_find(s, vm->vm_id);

	if (d)
		return d;
	if (s->n_vms == s->cap_vms) {
		s->cap_vms = s->cap_vms ? s->cap_vms * 2 : 8;
		s->vms = realloc(s->vms, s->cap_vms * sizeof(*s->vms));
		if (!s->vms)
			abort();
	}
	d = memset(&s->vms[s->n_vms++], 0, sizeof(*d));
	d->vm_id = vm->vm_id;
	d->key = vm->key;
	return d;
}

static struct doc_vcpu *vcpu_get(struct doc_vm *d, const struct vcpu_metrics *c)
{
	struct doc_vcpu *v;

	for (size_t i = 0; i < d->n_vcpus; i++)
		if (d->vcpus[i].key == c->key && d->vcpus[i].vcpu_id == c->vcpu_id)
			return &d->vcpus[i];
	if (d->n_vcpus == d->cap_vcpus) {
		d->cap_vcpus = d->cap_vcpus ? d->cap_vcpus * 2 : 8;
		d->vcpus = realloc(d->vcpus, d->cap_vcpus * sizeof(*d->vcpus));
		if (!d->vcpus)
			abort();
	}
	v = memset(&d->vcpus[d->n_vcpus++], 0, sizeof(*v));
	v->key = c->key;
	v->vcpu_id = c->vcpu_id;
	return v;
}

static void slot_worst(struct doc_slot_latency *w, const struct memslot_metrics *ms, const struct quantiles *q,
		       uint64_t calls)
{
	if (!q->valid || q->max <= w->max_us)
		return;
	w->slot = ms->slot;
	w->size = ms->size;
	w->calls = calls;
	w->p50_us = q->p50;
	w->p99_us = q->p99;
	w->max_us = q->max;
}

void doc_accumulate(struct doc_state *s, const struct model *m)
{
	double secs = m->interval_s;

	if (secs > 0) {
		s->secs += secs;
		s->intervals++;
	}
	for (size_t i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];
		struct doc_vm *d;
		double dirty;
		size_t rw = 0;
		bool logging = false;

		if (!model_vm_visible(m, vm))
			continue;
		d = vm_get(s, vm);
		d->pid = vm->tgid;
		if (vm->comm[0])	/* an exited process has none any more */
			memcpy(d->comm, vm->comm, sizeof(d->comm));
		if (vm->identity.name[0])
			memcpy(d->name, vm->identity.name, sizeof(d->name));
		d->tracking = vm->tracking;
		if (vm->ring_size) {
			d->ring_size = vm->ring_size;
			d->soft_limit = vm->soft_limit;
		}
		d->exited = vm->exited;
		if (!d->have_first) {
			/* seen at the baseline: what it did before does not count; seen later: all of it does */
			d->have_first = true;
			d->dirty_log_on0 = secs > 0 ? 0 : vm->dirty_log_on;
			d->log_on_seen = d->dirty_log_on0;
			d->first_sync_pending = secs > 0;	/* seen later: its first sync may be the full one */
			d->dirty_log_off0 = secs > 0 ? 0 : vm->dirty_log_off;
		}
		d->dirty_log_on = vm->dirty_log_on;
		d->dirty_log_off = vm->dirty_log_off;
		memcpy(d->slot_ops, vm->slot_ops, sizeof(d->slot_ops));
		memcpy(d->slot_op_latency_us, vm->slot_op_latency_us, sizeof(d->slot_op_latency_us));
		for (size_t j = 0; j < vm->n_memslots; j++) {
			const struct memslot_metrics *ms = &vm->memslots[j];

			if (ms->known && !(ms->flags & DT_MEM_READONLY)) {
				rw++;
				logging |= ms->flags & DT_MEM_LOG_DIRTY_PAGES;
			}
			slot_worst(&d->get_worst, ms, &ms->get_latency_us, ms->get_calls);
			slot_worst(&d->clear_worst, ms, &ms->clear_latency_us, ms->clear_calls);
		}
		if (rw > d->rw_slots)
			d->rw_slots = rw;

		for (size_t j = 0; j < vm->n_vcpus; j++) {
			const struct vcpu_metrics *c = &vm->vcpus[j];
			struct doc_vcpu *v = vcpu_get(d, c);
			uint64_t dre = 0, dref = 0;

			v->tid = c->tid;
			v->ring_size = c->ring_size;
			v->soft_limit = c->soft_limit;
			if (v->have_prev) {
				dre = c->reentries - v->reentries_prev;
				dref = c->reentries_full - v->reentries_full_prev;
			} else if (secs > 0) {
				dre = c->reentries;
				dref = c->reentries_full;
			}
			v->reentries_prev = c->reentries;
			v->reentries_full_prev = c->reentries_full;
			v->have_prev = true;
			if (secs <= 0)
				continue;
			v->reentries += dre;
			v->reentries_full += dref;
			v->secs += secs;
			v->pushes += c->fill_rate * secs;
			v->full_exits += c->full_exits_s * secs;
			v->ring_resets += c->ring_resets_s * secs;
			v->stall_s += c->stall_frac * secs;
			v->held_s += c->held_frac * secs;
			if (c->peak_used > v->peak_used)
				v->peak_used = c->peak_used;
			if (c->fill_rate > v->max_fill_rate)
				v->max_fill_rate = c->fill_rate;
			if (c->reap_interval_us_all.valid) {
				v->reap_interval_p50_us = c->reap_interval_us_all.p50;
				v->reap_interval_max_us = c->reap_interval_us_all.max;
			}
			if (c->stall_us_all.valid && c->stall_us_all.max > v->longest_stall_us)
				v->longest_stall_us = c->stall_us_all.max;
			if (c->stalled_now && c->stall_frac * secs * 1e6 > v->longest_stall_us)
				v->longest_stall_us = c->stall_frac * secs * 1e6;
			if ((double)dref / secs > v->storm_reentries_full_s) {
				v->storm_reentries_full_s = (double)dref / secs;
				v->storm_exits_s = c->full_exits_s;
				v->storm_resets_s = c->ring_resets_s;
				v->storm_fill_rate = c->fill_rate;
				v->storm_stall_frac = c->stall_frac;
			}
			if (c->held_frac >= THROTTLE_INTERVAL_FRAC) {
				v->throttle_secs += secs;
				v->throttle_pushes += c->fill_rate * secs;
				v->throttle_held_s += c->held_frac * secs;
				v->throttle_exits += c->full_exits_s * secs;
				v->throttle_stall_s += c->stall_frac * secs;
				v->throttle_reentries += dre;
				v->throttle_reentries_full += dref;
			}
		}
		if (secs <= 0)
			continue;
		d->secs += secs;
		dirty = vm->fill_rate;
		if (!vm->pushes && vm->bitmap_dirty_pages_s > dirty)
			dirty = vm->bitmap_dirty_pages_s;
		d->dirty_pages += dirty * secs;
		/*
		 * The first bitmap sync after dirty logging is switched on reports every page
		 * (KVM_DIRTY_LOG_INITIALLY_SET, or all written since): not the guest's rate.
		 */
		if (vm->dirty_log_on != d->log_on_seen) {
			d->log_on_seen = vm->dirty_log_on;
			d->first_sync_pending = true;
		}
		if (d->first_sync_pending && vm->bitmap_syncs_s > 0 && !vm->pushes) {
			d->first_sync_pending = false;
		} else if (logging || dirty > 0) {
			d->log_secs += secs;
			d->log_dirty_pages += dirty * secs;
		}
		if (dirty > d->max_dirty_rate)
			d->max_dirty_rate = dirty;
	}
}

/* --- findings --- */

static struct doc_finding *add(struct doc_findings *f, const char *id, enum doc_severity sev, const struct doc_vm *vm,
			       const struct doc_vcpu *c)
{
	struct doc_finding *x;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = realloc(f->v, f->cap * sizeof(*f->v));
		if (!f->v)
			abort();
	}
	x = memset(&f->v[f->n++], 0, sizeof(*x));
	x->id = id;
	x->severity = sev;
	x->vm_id = vm->vm_id;
	x->pid = vm->pid;
	memcpy(x->comm, vm->comm, sizeof(x->comm));
	memcpy(x->name, vm->name, sizeof(x->name));
	x->vcpu_id = c ? c->vcpu_id : -1;
	x->tid = c ? c->tid : 0;
	return x;
}

static void ev(struct doc_finding *x, const char *name, double value, const char *unit)
{
	if (x->n_ev >= DOC_MAX_EVIDENCE)
		return;
	x->ev[x->n_ev].name = name;
	x->ev[x->n_ev].value = value;
	x->ev[x->n_ev].unit = unit;
	x->n_ev++;
}

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

uint32_t doc_ring_size_for(double entries, uint32_t reserve)
{
	for (uint32_t s = 1024; s <= 65536; s <<= 1)
		if ((double)(s - reserve) >= entries)
			return s;
	return 0;
}

static double per_s(double v, double secs)
{
	return secs > 0 ? v / secs : 0;
}

static bool is_storm(const struct doc_vcpu *c, const struct doc_thresholds *t)
{
	return c->storm_exits_s >= t->storm_exits_s &&
	       c->storm_reentries_full_s >= t->storm_full_share * c->storm_exits_s &&
	       c->storm_resets_s < 0.1 * c->storm_exits_s;
}

static bool is_throttled(const struct doc_vcpu *c, const struct doc_thresholds *t)
{
	return c->throttle_secs > 0 && c->throttle_held_s >= t->throttle_held_frac * c->throttle_secs &&
	       c->throttle_held_s > c->throttle_stall_s && c->throttle_reentries_full * 2 <= c->throttle_reentries;
}

static void vcpu_findings(const struct doc_vm *vm, const struct doc_vcpu *c, const struct doc_thresholds *t,
			  struct doc_findings *out)
{
	struct doc_finding *x;
	bool storm = is_storm(c, t), stalled = false, throttled = is_throttled(c, t);
	double exits_s = per_s(c->full_exits, c->secs), fill = per_s(c->pushes, c->secs);

	if (storm) {
		x = add(out, DOC_EXIT_STORM, DOC_CRITICAL, vm, c);
		say(x->summary, sizeof(x->summary),
		    "vCPU %d takes %.0f soft-full exits/s and re-enters KVM_RUN with its ring still full; the ring "
		    "is not reset (%.1f resets/s) and the guest makes no progress (%.0f pages/s)",
		    c->vcpu_id, c->storm_exits_s, c->storm_resets_s, c->storm_fill_rate);
		say(x->action, sizeof(x->action),
		    "The VMM keeps calling KVM_RUN without resetting the ring: its reaper is stalled or does not "
		    "call KVM_RESET_DIRTY_RINGS after harvesting. Look at the thread that should reap (QEMU: the "
		    "vCPU thread's KVM_EXIT_DIRTY_RING_FULL handler and the dirty ring reaper; is it blocked on a "
		    "lock?) and make the vCPU wait for the reset instead of retrying.");
		ev(x, "full_exits_s", c->storm_exits_s, "1/s");
		ev(x, "reentries_full_s", c->storm_reentries_full_s, "1/s");
		ev(x, "ring_resets_s", c->storm_resets_s, "1/s");
		ev(x, "fill_rate", c->storm_fill_rate, "pages/s");
		ev(x, "stall_frac", c->storm_stall_frac, "");
		ev(x, "soft_limit", c->soft_limit, "entries");
	}
	if (!storm && c->longest_stall_us >= t->stalled_s * 1e6) {
		stalled = true;
		x = add(out, DOC_REAPER_STALLED, DOC_CRITICAL, vm, c);
		say(x->summary, sizeof(x->summary),
		    "vCPU %d waited %.2f s with a full ring for a reset: the reaper stalled", c->vcpu_id,
		    c->longest_stall_us / 1e6);
		say(x->action, sizeof(x->action),
		    "Nobody called KVM_RESET_DIRTY_RINGS while the vCPU could not run. Find what blocks the VMM's "
		    "reaper (a lock, a slow migration thread, a stopped process).");
		ev(x, "longest_stall_s", c->longest_stall_us / 1e6, "s");
		ev(x, "stall_frac", per_s(c->stall_s, c->secs), "");
		ev(x, "full_exits_s", exits_s, "1/s");
		ev(x, "ring_resets_s", per_s(c->ring_resets, c->secs), "1/s");
		ev(x, "reentries_full", (double)c->reentries_full, "");
	}
	if (throttled) {
		double held_frac = c->throttle_held_s / c->throttle_secs;
		double rate = c->throttle_pushes / c->throttle_secs;

		x = add(out, DOC_THROTTLED, DOC_INFO, vm, c);
		say(x->summary, sizeof(x->summary),
		    "vCPU %d is throttled on purpose: after its ring was reset the VMM kept it out of KVM_RUN %.0f%% "
		    "of the time, holding it to %.0f pages/s (%.1f MiB/s)",
		    c->vcpu_id, 100 * held_frac, rate, rate * DT_PAGE_SIZE / MIB);
		say(x->action, sizeof(x->action),
		    "This is deliberate, not a reaper stall: the ring was already reset while the vCPU stayed out. "
		    "QEMU's dirty limit (set-vcpu-dirty-limit, the migration dirty-limit capability) sleeps the vCPU "
		    "in its KVM_EXIT_DIRTY_RING_FULL handler; query-vcpu-dirty-limit shows the limit, "
		    "cancel-vcpu-dirty-limit lifts it.");
		ev(x, "held_frac", held_frac, "");
		ev(x, "held_s_per_s", held_frac, "s/s");
		ev(x, "held_per_exit_ms", c->throttle_exits > 0 ? 1e3 * c->throttle_held_s / c->throttle_exits : 0, "ms");
		ev(x, "held_rate", rate, "pages/s");
		ev(x, "held_mib_s", rate * DT_PAGE_SIZE / MIB, "MiB/s");
		ev(x, "full_exits_s", c->throttle_exits / c->throttle_secs, "1/s");
		ev(x, "stall_frac", c->throttle_stall_s / c->throttle_secs, "");
		ev(x, "throttled_s", c->throttle_secs, "s");
	}
	if (!storm && !stalled && !throttled && exits_s >= t->slow_exits_s && c->ring_resets > 0) {
		double interval = c->reap_interval_max_us > 0 ? c->reap_interval_max_us / 1e6 : 0;
		double others_s = per_s(c->ring_resets, c->secs) - exits_s;
		double need;
		uint32_t reserve = c->ring_size > c->soft_limit ? c->ring_size - c->soft_limit : 64;
		uint32_t sz;
		double stall_frac = per_s(c->stall_s, c->secs);

		/*
		 * A VMM that reaps on each soft-full exit resets the ring as often as it fills:
		 * its own reaper's period shows in the resets no exit caused.
		 */
		if (others_s > 0.1 && 1 / others_s > interval)
			interval = fmin(1 / others_s, 10);
		need = fill * interval * 1.25;
		sz = doc_ring_size_for(need, reserve);
		x = add(out, DOC_REAPER_TOO_SLOW, stall_frac >= 0.1 ? DOC_CRITICAL : DOC_WARNING, vm, c);
		say(x->summary, sizeof(x->summary),
		    "vCPU %d fills its %u-entry ring in %.0f ms (%.0f pages/s) but it is reset only every %.0f ms: "
		    "%.1f soft-full exits/s, stalled %.1f%% of the time",
		    c->vcpu_id, c->ring_size, fill > 0 ? 1e3 * c->soft_limit / fill : 0, fill, interval * 1e3,
		    exits_s, 100 * stall_frac);
		if (sz)
			say(x->action, sizeof(x->action),
			    "The ring is too small for the reap interval: use a dirty ring of at least %u entries "
			    "(QEMU: -accel kvm,dirty-ring-size=%u; `dirtytop tune` predicts the exits of every size), "
			    "or reap more often.", sz, sz);
		else
			say(x->action, sizeof(x->action),
			    "No ring size holds %.0f entries per reap interval: reap more often, or track this VM "
			    "with the dirty bitmap (dirty-ring-size=0).", need);
		ev(x, "fill_rate", fill, "pages/s");
		ev(x, "reap_interval_ms", interval * 1e3, "ms");
		ev(x, "entries_per_reap", fill * interval, "entries");
		ev(x, "soft_limit", c->soft_limit, "entries");
		ev(x, "peak_used", c->peak_used, "entries");
		ev(x, "full_exits_s", exits_s, "1/s");
		ev(x, "stall_frac", stall_frac, "");
		ev(x, "suggested_ring_size", sz, "entries");
	}
}

static void vm_findings(const struct doc_vm *vm, const struct doc_thresholds *t, struct doc_findings *out)
{
	struct doc_finding *x;
	double rate = per_s(vm->dirty_pages, vm->secs);

	for (size_t i = 0; i < vm->n_vcpus; i++)
		vcpu_findings(vm, &vm->vcpus[i], t, out);

	/* one vCPU dominating the dirty rate */
	if (vm->n_vcpus >= 2) {
		double total = 0, best = 0, second = 0, share_min;
		const struct doc_vcpu *top = NULL;

		for (size_t i = 0; i < vm->n_vcpus; i++) {
			double r = per_s(vm->vcpus[i].pushes, vm->vcpus[i].secs);

			total += r;
			if (r > best) {
				second = best;
				best = r;
				top = &vm->vcpus[i];
			} else if (r > second) {
				second = r;
			}
		}
		share_min = t->dominant_share > 0 ? t->dominant_share : fmax(0.6, 1.5 / (double)vm->n_vcpus);
		if (top && total >= t->dominant_min_rate && best >= share_min * total) {
			x = add(out, DOC_DOMINANT_VCPU, DOC_WARNING, vm, top);
			say(x->summary, sizeof(x->summary),
			    "vCPU %d dirties %.0f%% of the VM's pages (%.0f of %.0f pages/s over %zu vCPUs)",
			    top->vcpu_id, 100 * best / total, best, total, vm->n_vcpus);
			say(x->action, sizeof(x->action),
			    "One guest thread does most of the writing: look at what runs on vCPU %d. A per-vCPU dirty "
			    "limit on it alone (QEMU: set-vcpu-dirty-limit cpu-index=%d) slows the writer without "
			    "throttling the other vCPUs, and its ring needs the most room.", top->vcpu_id, top->vcpu_id);
			ev(x, "vcpu_rate", best, "pages/s");
			ev(x, "vm_rate", total, "pages/s");
			ev(x, "share", best / total, "");
			ev(x, "next_vcpu_rate", second, "pages/s");
			ev(x, "vcpus", (double)vm->n_vcpus, "");
		}
	}

	/* precopy cannot converge: the dirty rate while the VM's memory was being logged */
	if (vm->log_secs > 0)
		rate = vm->log_dirty_pages / vm->log_secs;
	if (vm->bandwidth > 0 && rate * DT_PAGE_SIZE >= t->converge_ratio * vm->bandwidth && rate > 0) {
		double mib = rate * DT_PAGE_SIZE / MIB, bw = vm->bandwidth / MIB;

		x = add(out, DOC_NO_CONVERGE, DOC_CRITICAL, vm, NULL);
		say(x->summary, sizeof(x->summary),
		    "the guest dirties %.1f MiB/s, more than the %.1f MiB/s migration bandwidth (%s): precopy "
		    "cannot converge", mib, bw, vm->bandwidth_source[0] ? vm->bandwidth_source : "given");
		say(x->action, sizeof(x->action),
		    "Each precopy pass finds more dirty pages than it sent. Raise the bandwidth (QMP "
		    "migrate-set-parameters max-bandwidth), slow the writers (the dirty-limit capability or "
		    "set-vcpu-dirty-limit, auto-converge), or switch to postcopy.");
		ev(x, "dirty_mib_s", mib, "MiB/s");
		ev(x, "bandwidth_mib_s", bw, "MiB/s");
		ev(x, "ratio", mib / bw, "");
		ev(x, "peak_dirty_mib_s", vm->max_dirty_rate * DT_PAGE_SIZE / MIB, "MiB/s");
		ev(x, "logged_s", vm->log_secs, "s");
	}

	/* long dirty log and memslot ioctls */
	if (vm->get_worst.calls && vm->get_worst.max_us >= t->get_log_ms * 1e3) {
		x = add(out, DOC_SLOW_GET_LOG, DOC_WARNING, vm, NULL);
		say(x->summary, sizeof(x->summary), "KVM_GET_DIRTY_LOG of memslot %u took up to %.1f ms (p99 %.1f ms)",
		    vm->get_worst.slot & 0xffff, vm->get_worst.max_us / 1e3, vm->get_worst.p99_us / 1e3);
		say(x->action, sizeof(x->action),
		    "Without manual protection KVM_GET_DIRTY_LOG write-protects every page it reports under the MMU "
		    "lock, and vCPUs faulting meanwhile wait: enable KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (QEMU does "
		    "when the kernel has it) and clear in chunks, or split large memslots.");
		ev(x, "max_ms", vm->get_worst.max_us / 1e3, "ms");
		ev(x, "p99_ms", vm->get_worst.p99_us / 1e3, "ms");
		ev(x, "p50_ms", vm->get_worst.p50_us / 1e3, "ms");
		ev(x, "calls", (double)vm->get_worst.calls, "");
		ev(x, "slot", vm->get_worst.slot, "");
		ev(x, "slot_mib", (double)vm->get_worst.size / MIB, "MiB");
	}
	if (vm->clear_worst.calls && vm->clear_worst.max_us >= t->clear_log_ms * 1e3) {
		x = add(out, DOC_SLOW_CLEAR_LOG, DOC_WARNING, vm, NULL);
		say(x->summary, sizeof(x->summary), "KVM_CLEAR_DIRTY_LOG of memslot %u took up to %.1f ms (p99 %.1f ms)",
		    vm->clear_worst.slot & 0xffff, vm->clear_worst.max_us / 1e3, vm->clear_worst.p99_us / 1e3);
		say(x->action, sizeof(x->action),
		    "Each clear re-protects its chunk under the MMU lock: clear smaller chunks (QEMU: a smaller "
		    "x-clear-bitmap-shift) so vCPUs wait less per call.");
		ev(x, "max_ms", vm->clear_worst.max_us / 1e3, "ms");
		ev(x, "p99_ms", vm->clear_worst.p99_us / 1e3, "ms");
		ev(x, "p50_ms", vm->clear_worst.p50_us / 1e3, "ms");
		ev(x, "calls", (double)vm->clear_worst.calls, "");
		ev(x, "slot", vm->clear_worst.slot, "");
		ev(x, "slot_mib", (double)vm->clear_worst.size / MIB, "MiB");
	}
	{
		static const int ops[] = { DT_SLOT_CREATE, DT_SLOT_DELETE, DT_SLOT_MOVE, DT_SLOT_FLAGS };
		static const char *names[] = { "create_max_ms", "delete_max_ms", "move_max_ms", "flags_max_ms" };
		static const char *opname[] = { "creating", "deleting", "moving", "changing the flags of" };
		int worst = -1;

		for (int k = 0; k < 4; k++) {
			const struct quantiles *q = &vm->slot_op_latency_us[ops[k]];

			if (q->valid && q->max >= t->memslot_ms * 1e3 &&
			    (worst < 0 || q->max > vm->slot_op_latency_us[ops[worst]].max))
				worst = k;
		}
		if (worst >= 0) {
			x = add(out, DOC_SLOW_MEMSLOT, DOC_WARNING, vm, NULL);
			say(x->summary, sizeof(x->summary), "a KVM_SET_USER_MEMORY_REGION %s a memslot took %.1f ms",
			    opname[worst], vm->slot_op_latency_us[ops[worst]].max / 1e3);
			say(x->action, sizeof(x->action),
			    "Memslot changes zap or write-protect the slot's mappings and wait for every vCPU: "
			    "switching dirty logging on for a large, populated slot costs the most. Use huge pages "
			    "and KVM_DIRTY_LOG_INITIALLY_SET (write-protection is then done lazily), and avoid "
			    "changing memslots while the guest is busy.");
			for (int k = 0; k < 4; k++)
				if (vm->slot_op_latency_us[ops[k]].valid)
					ev(x, names[k], vm->slot_op_latency_us[ops[k]].max / 1e3, "ms");
			ev(x, "ops", (double)(vm->slot_ops[DT_SLOT_CREATE] + vm->slot_ops[DT_SLOT_DELETE] +
					      vm->slot_ops[DT_SLOT_MOVE] + vm->slot_ops[DT_SLOT_FLAGS]), "");
		}
	}

	/* dirty logging switched on and off again and again */
	{
		double on = (double)(vm->dirty_log_on - vm->dirty_log_on0);
		double off = (double)(vm->dirty_log_off - vm->dirty_log_off0);
		double slots = vm->rw_slots ? (double)vm->rw_slots : 1;
		double cycles = fmin(on, off) / slots;

		if (on >= 2 && off >= 2 && cycles >= t->flapping_cycles) {
			x = add(out, DOC_LOG_FLAPPING, DOC_WARNING, vm, NULL);
			say(x->summary, sizeof(x->summary),
			    "dirty logging was switched on %.0f and off %.0f times (%.1f times per RAM slot) in %.0f s",
			    on, off, cycles, vm->secs);
			say(x->action, sizeof(x->action),
			    "Each switch write-protects (on) or remaps (off) the whole slot. Migrations started and "
			    "cancelled again and again, or repeated dirty rate measurements (calc-dirty-rate), do "
			    "this: check the management layer's retries.");
			ev(x, "dirty_log_on", on, "");
			ev(x, "dirty_log_off", off, "");
			ev(x, "ram_slots", slots, "");
			ev(x, "cycles_per_slot", cycles, "");
			ev(x, "per_minute", vm->secs > 0 ? 60 * fmin(on, off) / slots / vm->secs : 0, "1/min");
		}
	}
}

void doc_evaluate(const struct doc_state *s, const struct doc_thresholds *t, struct doc_findings *out)
{
	for (size_t i = 0; i < s->n_vms; i++)
		vm_findings(&s->vms[i], t, out);
}

void doc_state_keep_pid(struct doc_state *s, uint32_t tgid)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_vms; i++) {
		if (s->vms[i].pid == tgid) {
			s->vms[j++] = s->vms[i];
			continue;
		}
		free(s->vms[i].vcpus);
	}
	s->n_vms = j;
}

void doc_findings_free(struct doc_findings *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}

void doc_precopy_finding(struct doc_findings *f, uint32_t vm_id, const struct precopy_vm *v,
			 const struct precopy_verdict *vd, const char *bandwidth_source, const struct precopy_throttle *t)
{
	struct doc_vm vm = { .vm_id = vm_id, .pid = v->tgid };
	struct doc_finding *x;
	char fix[640] = "", thr[160];
	int n = 0;

	memcpy(vm.comm, v->comm, sizeof(vm.comm));
	x = add(f, DOC_NO_CONVERGE, DOC_CRITICAL, &vm, NULL);
	snprintf(x->summary, sizeof(x->summary),
		 "the migration cannot converge: after pass %u, %d passes in a row found %.0f+ dirty pages, the "
		 "downtime budget is %.0f pages (%.1f MiB/s from %s x %.0f ms), shrinking %.0f%% a pass",
		 vd->pass, PRECOPY_NAME_PASSES, vd->plateau_pages, vd->budget_pages, vd->bandwidth / 1048576.0,
		 bandwidth_source, vd->downtime_s * 1e3, vd->shrink * 100);
	n += snprintf(fix + n, sizeof(fix) - (size_t)n,
		      "bandwidth >= %.1f MiB/s (migrate-set-parameters max-bandwidth), or downtime-limit >= %.0f ms, "
		      "or a dirty limit <= %.1f MiB/s for the VM", vd->need_bandwidth / 1048576.0,
		      vd->need_downtime_s * 1e3, vd->dirty_limit / 1048576.0);
	if (v->ring && vd->dirtying_vcpus)
		n += snprintf(fix + n, sizeof(fix) - (size_t)n, " (set-vcpu-dirty-limit %.1f MB/s per vCPU)",
			      vd->dirty_limit / 1e6 / vd->dirtying_vcpus);
	/* QEMU's dirty limit sleeps a vCPU at its ring-full exits: a soft limit above the budget outruns it */
	if (v->ring && vd->soft_limit && vd->ring_pages_between_throttles > vd->budget_pages)
		n += snprintf(fix + n, sizeof(fix) - (size_t)n, "; the rings (%u entries) let %.0f pages be dirtied "
			      "between two dirty-limit sleeps, more than the budget: a smaller dirty-ring-size",
			      vd->ring_size, vd->ring_pages_between_throttles);
	if (precopy_throttle_text(t, thr, sizeof(thr))[0])
		n += snprintf(fix + n, sizeof(fix) - (size_t)n, "; %s", thr);
	snprintf(x->action, sizeof(x->action), "%s; postcopy (migrate-start-postcopy) as the last resort", fix);
	ev(x, "named_at_pass", vd->pass, "");
	ev(x, "dirty_pages_per_pass", vd->plateau_pages, "pages");
	ev(x, "budget_pages", vd->budget_pages, "pages");
	ev(x, "shrink_per_pass", vd->shrink, "");
	ev(x, "bandwidth_mib_s", vd->bandwidth / 1048576.0, "MiB/s");
	ev(x, "dirty_mib_s", vd->dirty_rate * 4096 / 1048576.0, "MiB/s");
	ev(x, "downtime_limit", vd->downtime_s * 1e3, "ms");
	ev(x, "working_set", vd->working_set_pages, "pages");
	ev(x, "need_bandwidth", vd->need_bandwidth / 1048576.0, "MiB/s");
	ev(x, "need_downtime", vd->need_downtime_s * 1e3, "ms");
	ev(x, "dirty_limit", vd->dirty_limit / 1048576.0, "MiB/s");
}

void doc_findings_drop(struct doc_findings *f, const char *id)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].id, id))
			f->v[k++] = f->v[i];
	f->n = k;
}
