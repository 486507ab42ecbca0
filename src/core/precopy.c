// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The precopy model (precopy.h): sync passes of a migration and the
 * convergence test over them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dt_flags.h"
#include "dt_kvm.h"
#include "core/precopy.h"
#include "core/util.h"

#define PAGE 4096.0

void precopy_init(struct precopy *p)
{
	memset(p, 0, sizeof(*p));
}

static void pass_free(struct precopy_pass *ps)
{
	free(ps->regions);
	free(ps->vcpus);
}

void precopy_free(struct precopy *p)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		struct precopy_vm *v = &p->vms[i];

		for (size_t k = 0; k < v->n_passes; k++)
			pass_free(&v->passes[k]);
		free(v->passes);
		pass_free(&v->cur);
		free(v->vcpus);
		free(v->traffic_ns);
		free(v->traffic_bytes);
	}
	free(p->vms);
	memset(p, 0, sizeof(*p));
}

/* Grow *arr (of elem bytes) to hold n + 1. */
static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	arr = realloc(arr, *cap * elem);
	if (!arr)
		abort();
	return arr;
}

static struct precopy_vm *vm_get(struct precopy *p, uint32_t vm_id)
{
	struct precopy_vm *v;

	for (size_t i = 0; i < p->n_vms; i++)
		if (p->vms[i].vm_id == vm_id)
			return &p->vms[i];
	p->vms = grow(p->vms, &p->cap_vms, p->n_vms, sizeof(*p->vms));
	v = &p->vms[p->n_vms++];
	memset(v, 0, sizeof(*v));
	v->vm_id = vm_id;
	return v;
}

const struct precopy_vcpu *precopy_vcpu(const struct precopy_vm *v, uint32_t ring_id)
{
	for (size_t i = 0; i < v->n_vcpus; i++)
		if (v->vcpus[i].ring_id == ring_id)
			return &v->vcpus[i];
	return NULL;
}

static struct precopy_vm *vm_of_ring(struct precopy *p, uint32_t ring_id)
{
	for (size_t i = 0; i < p->n_vms; i++)
		if (precopy_vcpu(&p->vms[i], ring_id))
			return &p->vms[i];
	return NULL;
}

static bool is_vcpu_tid(const struct precopy_vm *v, uint32_t tid)
{
	for (size_t i = 0; i < v->n_vcpus; i++)
		if (v->vcpus[i].tid == tid)
			return true;
	return false;
}

static void count_add(struct precopy_count **arr, size_t *n, size_t *cap, uint64_t key, uint64_t pages)
{
	for (size_t i = 0; i < *n; i++)
		if ((*arr)[i].key == key) {
			(*arr)[i].pages += pages;
			return;
		}
	*arr = grow(*arr, cap, *n, sizeof(**arr));
	(*arr)[(*n)++] = (struct precopy_count){ .key = key, .pages = pages };
}

static void start(struct precopy_vm *v, uint64_t ts)
{
	if (v->started)
		return;
	v->started = true;
	v->start_ns = ts;
}

/* The gathered dirt becomes pass n + 1, ended by the sync at sync_ns. */
static void close_pass(struct precopy_vm *v)
{
	struct precopy_pass *ps;
	uint64_t prev = v->n_passes ? v->passes[v->n_passes - 1].sync_ns : v->start_ns;

	v->passes = grow(v->passes, &v->cap_passes, v->n_passes, sizeof(*v->passes));
	ps = &v->passes[v->n_passes++];
	*ps = v->cur;
	ps->index = (uint32_t)v->n_passes;
	ps->secs = ps->sync_ns > prev ? (double)(ps->sync_ns - prev) / 1e9 : 0;
	ps->sent_bytes = -1;
	memset(&v->cur, 0, sizeof(v->cur));
	v->n_cur_slots = 0;
}

static uint32_t *slot_flags(struct precopy_vm *v, uint32_t slot)
{
	for (size_t i = 0; i < v->n_slot_flags; i++)
		if (v->slot_flags_slot[i] == slot)
			return &v->slot_flags[i];
	if (v->n_slot_flags == PRECOPY_MAX_SLOTS)
		return NULL;
	v->slot_flags_slot[v->n_slot_flags] = slot;
	v->slot_flags[v->n_slot_flags] = 0;
	return &v->slot_flags[v->n_slot_flags++];
}

static bool slot_logged(uint32_t flags)
{
	return (flags & 0x80000000u) && (flags & DT_MEM_LOG_DIRTY_PAGES) && !(flags & DT_MEM_READONLY);
}

static void memslot(struct precopy_vm *v, const struct rec_event *e)
{
	uint32_t *fl = slot_flags(v, e->slot);
	bool existed = fl && *fl != 0;	/* flags | 0x80000000: the slot exists */
	bool logged = e->size && (e->flags & DT_MEM_LOG_DIRTY_PAGES) && !(e->flags & DT_MEM_READONLY);
	bool any = false;

	if (logged && !v->started) {
		start(v, e->ts);
		/* switched on by a flags change: this thread is the migration's */
		if (existed && !(*fl & DT_MEM_LOG_DIRTY_PAGES))
			v->log_tid = e->tid;
	}
	if (fl)
		*fl = e->size ? (e->flags | 0x80000000u) : 0;
	if (e->size && (e->slot >> 16) < 32)
		v->address_spaces |= 1u << (e->slot >> 16);
	if (!v->started || v->end == PRECOPY_VMM_EXITED)
		return;
	for (size_t i = 0; i < v->n_slot_flags; i++)
		any |= slot_logged(v->slot_flags[i]);
	/* logging off on every slot: QEMU's migration ended (completed or cancelled); on again: running */
	if (!any && v->end == PRECOPY_ACTIVE) {
		v->end = PRECOPY_LOGGING_OFF;
		v->end_ns = e->ts;
	} else if (any && v->end == PRECOPY_LOGGING_OFF) {
		v->end = PRECOPY_ACTIVE;
		v->end_ns = 0;
	}
}

static void vmm_exited(struct precopy_vm *v, uint64_t ts)
{
	if (v->exited)
		return;
	v->exited = true;
	if (v->started && v->end == PRECOPY_ACTIVE) {
		v->end = PRECOPY_VMM_EXITED;
		v->end_ns = ts;
	}
}

const char *precopy_end_name(enum precopy_end e)
{
	switch (e) {
	case PRECOPY_ACTIVE: return "active";
	case PRECOPY_LOGGING_OFF: return "logging-off";
	case PRECOPY_VMM_EXITED: return "vmm-exited";
	}
	return "?";
}

static void get_dirty_log(struct precopy_vm *v, const struct rec_event *e)
{
	bool repeat = false;

	if (e->ret < 0)
		return;
	start(v, e->ts);
	for (size_t i = 0; i < v->n_cur_slots; i++)
		repeat |= v->cur_slots[i] == e->slot;
	/* a slot read again starts the next round (its regions, read first, already did) */
	if (repeat || v->n_cur_slots == PRECOPY_MAX_SLOTS)
		close_pass(v);
	if (!v->n_cur_slots)
		v->cur.sync_ns = e->ts;
	v->cur_slots[v->n_cur_slots++] = e->slot;
	v->cur.calls++;
	if (e->flags & 1)
		v->cur.dirty_pages += e->size;
}

static void reset_rings(struct precopy_vm *v, const struct rec_event *e)
{
	bool boundary;

	if (e->ret < 0 || !v->started)
		return;
	/* QEMU: the migration thread that switched logging on flushes the rings at each sync */
	if (v->log_tid)
		boundary = e->tid == v->log_tid;
	else
		boundary = !is_vcpu_tid(v, e->tid);
	v->cur.calls++;
	if (!boundary)
		return;
	/* QEMU flushes the rings once per KVM address space it listens to (x86: memory and SMM)
	 * at each sync, back to back: the sync ends with the last of them */
	if (++v->flushes < (uint32_t)__builtin_popcount(v->address_spaces))
		return;
	v->flushes = 0;
	v->cur.sync_ns = e->ts;
	close_pass(v);
}

static void push(struct precopy *p, const struct rec_event *e)
{
	struct precopy_vm *v = vm_of_ring(p, e->id);

	if (!v || !v->started)
		return;
	v->cur.dirty_pages++;
	count_add(&v->cur.regions, &v->cur.n_regions, &v->cur.cap_regions, (uint64_t)e->slot << 32 | (e->offset >> 9), 1);
	count_add(&v->cur.vcpus, &v->cur.n_vcpus, &v->cur.cap_vcpus, e->id, 1);
}

void precopy_add(struct precopy *p, const struct rec_record *rec)
{
	const struct rec_event *e = &rec->ev;
	struct precopy_vm *v;

	switch (rec->kind) {
	case REC_VM_INFO:
		v = vm_get(p, rec->vm.id);
		v->tgid = rec->vm.tgid;
		if (rec->vm.comm[0])	/* a VMM's exit record has none: its process is gone */
			memcpy(v->comm, rec->vm.comm, sizeof(v->comm));
		v->ring |= rec->vm.flags & DT_VM_RING;
		if (rec->vm.flags & DT_VM_EXITED)
			vmm_exited(v, v->n_passes ? v->passes[v->n_passes - 1].sync_ns : v->start_ns);
		break;
	case REC_RING_INFO: {
		struct precopy_vcpu *c;

		v = vm_get(p, rec->ring.vm_id);
		c = (struct precopy_vcpu *)precopy_vcpu(v, rec->ring.id);
		if (!c) {
			v->vcpus = grow(v->vcpus, &v->cap_vcpus, v->n_vcpus, sizeof(*v->vcpus));
			c = &v->vcpus[v->n_vcpus++];
			c->ring_id = rec->ring.id;
		}
		c->vcpu_id = rec->ring.vcpu_id;
		if (rec->ring.tid)
			c->tid = rec->ring.tid;
		if (rec->ring.ring_size) {
			v->ring = true;
			c->ring_size = rec->ring.ring_size;
			c->soft_limit = rec->ring.soft_limit;
		}
		break;
	}
	case REC_MEMSLOT:
		if (e->ret >= 0)
			memslot(vm_get(p, e->id), e);
		break;
	case REC_IOCTL:
		v = vm_get(p, e->id);
		if (e->cmd == DT_KVM_GET_DIRTY_LOG && !v->ring)
			get_dirty_log(v, e);
		else if (e->cmd == DT_KVM_RESET_DIRTY_RINGS && v->ring)
			reset_rings(v, e);
		break;
	case REC_DIRTYLOG:
		/* before its KVM_GET_DIRTY_LOG record: it belongs to the call that comes next */
		v = vm_get(p, e->id);
		if (v->ring)
			break;
		{
			bool repeat = false;

			for (size_t i = 0; i < v->n_cur_slots; i++)
				repeat |= v->cur_slots[i] == e->slot;
			if (repeat)
				close_pass(v);
		}
		count_add(&v->cur.regions, &v->cur.n_regions, &v->cur.cap_regions,
			  (uint64_t)e->slot << 32 | e->offset, e->size);
		break;
	case REC_FULL:
		v = vm_of_ring(p, e->id);
		if (v && v->started)
			v->cur.full_exits++;
		break;
	case REC_TID: {		/* a vCPU thread known at its first push: its own reaps are no syncs */
		v = vm_of_ring(p, e->id);
		if (v && e->tid)
			((struct precopy_vcpu *)precopy_vcpu(v, e->id))->tid = e->tid;
		break;
	}
	case REC_PUSH:
		push(p, e);
		break;
	case REC_BATCH: {	/* how a recording stores pushes (format 2.0) */
		struct rec_event pe;

		for (uint32_t i = 0; i < rec->batch.n; i++) {
			rec_batch_push(&rec->batch, i, &pe);
			push(p, &pe);
		}
		break;
	}
	}
}

void precopy_traffic(struct precopy *p, uint32_t tgid, uint64_t ts, double bytes)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		struct precopy_vm *v = &p->vms[i];

		if (v->tgid != tgid)
			continue;
		v->traffic_ns = grow(v->traffic_ns, &v->cap_traffic, v->n_traffic, sizeof(*v->traffic_ns));
		v->traffic_bytes = realloc(v->traffic_bytes, v->cap_traffic * sizeof(*v->traffic_bytes));
		if (!v->traffic_bytes)
			abort();
		v->traffic_ns[v->n_traffic] = ts;
		v->traffic_bytes[v->n_traffic++] = bytes;
	}
}

/* The VMM's sent bytes at ts, linear between samples; < 0 outside them. */
static double bytes_at(const struct precopy_vm *v, uint64_t ts)
{
	if (!v->n_traffic || ts < v->traffic_ns[0] || ts > v->traffic_ns[v->n_traffic - 1])
		return -1;
	for (size_t i = 1; i < v->n_traffic; i++)
		if (ts <= v->traffic_ns[i]) {
			double span = (double)(v->traffic_ns[i] - v->traffic_ns[i - 1]);
			double f = span > 0 ? (double)(ts - v->traffic_ns[i - 1]) / span : 1;

			return v->traffic_bytes[i - 1] + f * (v->traffic_bytes[i] - v->traffic_bytes[i - 1]);
		}
	return v->traffic_bytes[0];
}

void precopy_finish(struct precopy *p)
{
	for (size_t i = 0; i < p->n_vms; i++) {
		struct precopy_vm *v = &p->vms[i];

		/* bitmap: the last round read is a sync; ring: dirt after the last sync is no pass */
		if (!v->ring && v->n_cur_slots)
			close_pass(v);
		for (size_t k = 0; k < v->n_passes; k++) {
			struct precopy_pass *ps = &v->passes[k];
			uint64_t from = k ? v->passes[k - 1].sync_ns : v->start_ns;
			double a = bytes_at(v, from), b = bytes_at(v, ps->sync_ns);

			ps->sent_bytes = a >= 0 && b >= a ? b - a : -1;
		}
	}
}

const char *precopy_outcome_name(enum precopy_outcome o)
{
	switch (o) {
	case PRECOPY_NO_PASSES: return "no-passes";
	case PRECOPY_NO_BANDWIDTH: return "no-bandwidth";
	case PRECOPY_TOO_FEW: return "too-few-passes";
	case PRECOPY_FITS: return "converges";
	case PRECOPY_SHRINKING: return "shrinking";
	case PRECOPY_NO_CONVERGE: return "no-converge";
	}
	return "?";
}

double precopy_measured_bandwidth(const struct precopy_vm *v)
{
	double bytes = 0, secs = 0;

	for (size_t k = 1; k < v->n_passes; k++)
		if (v->passes[k].sent_bytes >= 0) {
			bytes += v->passes[k].sent_bytes;
			secs += v->passes[k].secs;
		}
	return secs > 0 && bytes > 0 ? bytes / secs : 0;
}

static int by_pages_desc(const void *a, const void *b)
{
	const struct precopy_count *x = a, *y = b;

	if (x->pages != y->pages)
		return x->pages < y->pages ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * Over passes [from, to): per key the largest count of any one pass (regions:
 * pages a region held at once, at least that many distinct pages), summed.
 */
static double window_counts(const struct precopy_vm *v, size_t from, size_t to, bool vcpus,
			    struct precopy_count *top, size_t *n_top, uint32_t *n_keys)
{
	struct precopy_count *all = NULL;
	size_t n = 0, cap = 0;
	double total = 0;

	for (size_t k = from; k < to; k++) {
		const struct precopy_pass *ps = &v->passes[k];
		const struct precopy_count *c = vcpus ? ps->vcpus : ps->regions;
		size_t nc = vcpus ? ps->n_vcpus : ps->n_regions;

		for (size_t i = 0; i < nc; i++) {
			size_t j;

			for (j = 0; j < n && all[j].key != c[i].key; j++)
				;
			if (j == n) {
				all = grow(all, &cap, n, sizeof(*all));
				all[n++] = c[i];
			} else if (c[i].pages > all[j].pages) {
				all[j].pages = c[i].pages;
			}
		}
	}
	if (n)
		qsort(all, n, sizeof(*all), by_pages_desc);
	for (size_t j = 0; j < n; j++)
		total += (double)all[j].pages;
	*n_top = n < PRECOPY_TOP ? n : PRECOPY_TOP;
	memcpy(top, all, *n_top * sizeof(*top));
	if (n_keys)
		*n_keys = (uint32_t)n;
	free(all);
	return total;
}

/*
 * Walk the passes as they came: the first pass after the bulk one whose dirty
 * set fits the budget converges (QEMU would stop and copy there); the first
 * pass k >= 1 + N whose last N passes all missed it and shrank by less than
 * PRECOPY_MIN_SHRINK a pass names the migration.
 */
void precopy_evaluate(const struct precopy_vm *v, double bandwidth, double downtime_s,
		      struct precopy_verdict *out)
{
	size_t n = v->n_passes, from, last;
	double rate_secs = 0, rate_pages = 0;

	memset(out, 0, sizeof(*out));
	out->downtime_s = downtime_s;
	if (!n) {
		out->outcome = PRECOPY_NO_PASSES;
		return;
	}
	if (bandwidth <= 0)
		bandwidth = precopy_measured_bandwidth(v);
	out->bandwidth = bandwidth;
	out->budget_pages = bandwidth * downtime_s / PAGE;
	last = n;
	out->outcome = bandwidth > 0 ? PRECOPY_TOO_FEW : PRECOPY_NO_BANDWIDTH;
	for (size_t k = 1; k < n && bandwidth > 0; k++) {
		const struct precopy_pass *ps = &v->passes[k];

		if ((double)ps->dirty_pages <= out->budget_pages) {
			out->outcome = PRECOPY_FITS;
			out->pass = ps->index;
			last = k + 1;
			break;
		}
		if (k >= PRECOPY_NAME_PASSES) {
			double first = (double)v->passes[k + 1 - PRECOPY_NAME_PASSES].dirty_pages;
			double q = pow((double)ps->dirty_pages / first, 1.0 / (PRECOPY_NAME_PASSES - 1));

			out->shrink = 1 - q;
			if (out->shrink < PRECOPY_MIN_SHRINK) {
				out->outcome = PRECOPY_NO_CONVERGE;
				out->pass = ps->index;
				last = k + 1;
				break;
			}
			out->outcome = PRECOPY_SHRINKING;
		}
	}
	/* the window the numbers describe: the last N passes up to the verdict, the bulk one left out */
	from = last > PRECOPY_NAME_PASSES + 1 ? last - PRECOPY_NAME_PASSES : (n > 1 ? 1 : 0);
	if (from >= last)
		from = last - 1;
	for (size_t k = from; k < last; k++) {
		out->plateau_pages = fmax(out->plateau_pages, (double)v->passes[k].dirty_pages);
		rate_pages += (double)v->passes[k].dirty_pages;
		rate_secs += v->passes[k].secs;
	}
	out->dirty_rate = rate_secs > 0 ? rate_pages / rate_secs : 0;
	out->working_set_pages = window_counts(v, from, last, false, out->top_regions, &out->n_top_regions, NULL);
	if (v->ring) {
		double exits = 0;

		window_counts(v, from, last, true, out->top_vcpus, &out->n_top_vcpus, &out->dirtying_vcpus);
		for (size_t k = from; k < last; k++)
			exits += v->passes[k].full_exits;
		out->full_exits_per_pass = last > from ? exits / (double)(last - from) : 0;
		for (size_t i = 0; i < v->n_vcpus; i++) {
			if (v->vcpus[i].ring_size > out->ring_size)
				out->ring_size = v->vcpus[i].ring_size;
			if (v->vcpus[i].soft_limit > out->soft_limit)
				out->soft_limit = v->vcpus[i].soft_limit;
		}
		out->ring_pages_between_throttles = (double)out->soft_limit * out->dirtying_vcpus;
	}
	/* a pass never finds more than the plateau: that must fit in the downtime */
	out->need_bandwidth = out->plateau_pages * PAGE / downtime_s;
	out->need_downtime_s = bandwidth > 0 ? out->plateau_pages * PAGE / bandwidth : 0;
	/* dirtying at half the bandwidth, each pass is at most half the one before */
	out->dirty_limit = bandwidth / 2;
}

const char *precopy_throttle_text(const struct precopy_throttle *t, char *buf, size_t len)
{
	if (!t || !t->known) {
		snprintf(buf, len, "%s", "");
	} else if (t->dirty_limit) {
		if (t->max_dirty_limit_us > 0)
			snprintf(buf, len, "dirty-limit is on and biting (up to %.0f us of throttle per round)",
				 t->max_dirty_limit_us);
		else
			snprintf(buf, len, "dirty-limit is on but not biting (no throttle time seen)");
	} else if (t->auto_converge) {
		if (t->max_throttle_pct > 0)
			snprintf(buf, len, "auto-converge is on and biting (vCPUs throttled up to %.0f%%)",
				 t->max_throttle_pct);
		else
			snprintf(buf, len, "auto-converge is on but not biting (cpu-throttle-percentage 0: it acts after "
				 "syncs that outpace the transfer)");
	} else {
		snprintf(buf, len, "auto-converge and dirty-limit are off (migrate-set-capabilities)");
	}
	return buf;
}
