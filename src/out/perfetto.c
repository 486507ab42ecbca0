// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop report --perfetto OUT`: Chrome trace-event JSON, which Perfetto's
 * UI (ui.perfetto.dev) and chrome://tracing open.
 *
 *   process      one per VM ("VM 1: pid 1234 (qemu)"), pid = the recording's VM id
 *   thread       one track per vCPU ("vCPU 0 (tid 1235)"), and the VMM threads that
 *                issued KVM ioctls
 *   counter      "vCPU N ring used": occupancy, sampled at most every span/5000
 *                and at every reset (before and after), so the sawtooth keeps its peaks
 *   instant      "soft-full exit" on the vCPU's track
 *   duration     "full stall" (soft-full exit to the reset that freed the ring) on the
 *                vCPU's track; every recorded KVM ioctl (KVM_RESET_DIRTY_RINGS with the
 *                entries it reset, memslot changes, dirty log calls) on its thread
 * Timestamps are microseconds since the recording started.
 */
#include <stdlib.h>
#include <string.h>
#include "core/idmap.h"
#include "core/util.h"
#include "out/json_writer.h"
#include "out/report.h"

#define VCPU_TRACK_BASE 10000000u	/* above any Linux tid (pid_max <= 2^22) */

struct ring_state {
	uint32_t id, vm_id;
	uint64_t last_emit, last_push_ts;
	uint32_t last_push_used;
	bool pending;			/* the last push was not emitted */
	bool emitted;
};

struct thread_seen {
	uint32_t pid, tid;
};

struct perfetto_report {
	const struct recording *rec;
	const struct vm_filter *filter;	/* report --pid */
	FILE *f;
	yajl_gen g;			/* the whole document; flushed after each event, one a line */
	uint64_t sample_ns;
	struct ring_state *rings;
	size_t n_rings, cap_rings;
	struct idmap ring_index;	/* recording id -> index + 1 */
	struct thread_seen *threads;
	size_t n_threads, cap_threads;
};

static struct ring_state *ring_state(struct perfetto_report *p, uint32_t id, uint32_t vm_id)
{
	uint32_t i = idmap_get(&p->ring_index, id);

	if (i)
		return &p->rings[i - 1];
	DT_GROW(p->rings, p->n_rings, p->cap_rings);
	p->rings[p->n_rings++] = (struct ring_state){ .id = id, .vm_id = vm_id };
	idmap_put(&p->ring_index, id, (uint32_t)p->n_rings);
	return &p->rings[p->n_rings - 1];
}

static void thread_seen(struct perfetto_report *p, uint32_t pid, uint32_t tid)
{
	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].pid == pid && p->threads[i].tid == tid)
			return;
	if (p->n_threads >= 65536)
		return;
	if (p->n_threads == p->cap_threads) {
		p->cap_threads = p->cap_threads ? p->cap_threads * 2 : 16;
		p->threads = realloc(p->threads, p->cap_threads * sizeof(*p->threads));
		if (!p->threads)
			abort();
	}
	p->threads[p->n_threads].pid = pid;
	p->threads[p->n_threads++].tid = tid;
}

static double us(const struct perfetto_report *p, uint64_t ts)
{
	return ts >= p->rec->start_ns ? (double)(ts - p->rec->start_ns) / 1000.0
				     : -(double)(p->rec->start_ns - ts) / 1000.0;
}

/* One trace event written: out to the file, so a long recording is streamed. */
static void event_end(struct perfetto_report *p)
{
	yajl_gen_map_close(p->g);
	jw_flush(p->g, p->f, true);
}

static void event_begin(struct perfetto_report *p, const char *ph, const char *name, uint32_t pid)
{
	yajl_gen_map_open(p->g);
	jw_put_string(p->g, "ph", ph);
	if (name)
		jw_put_string(p->g, "name", name);
	jw_put_u64(p->g, "pid", pid);
}

static void counter(struct perfetto_report *p, const struct replay_ring *ring, uint64_t ts, uint32_t used)
{
	char name[48];

	snprintf(name, sizeof(name), "vCPU %d ring used", ring->v[REPLAY_ALL].vcpu_id);
	event_begin(p, "C", name, ring->vm_id);
	jw_put_fixed(p->g, "ts", us(p, ts), 3);
	jw_key(p->g, "args");
	yajl_gen_map_open(p->g);
	jw_put_u64(p->g, "used", used);
	yajl_gen_map_close(p->g);
	event_end(p);
}

static const char *ioctl_name(uint32_t cmd)
{
	switch (cmd) {
	case DT_KVM_CREATE_VM: return "KVM_CREATE_VM";
	case DT_KVM_CREATE_VCPU: return "KVM_CREATE_VCPU";
	case DT_KVM_ENABLE_CAP: return "KVM_ENABLE_CAP";
	case DT_KVM_RESET_DIRTY_RINGS: return "KVM_RESET_DIRTY_RINGS";
	case DT_KVM_GET_DIRTY_LOG: return "KVM_GET_DIRTY_LOG";
	case DT_KVM_CLEAR_DIRTY_LOG: return "KVM_CLEAR_DIRTY_LOG";
	case DT_KVM_SET_USER_MEMORY_REGION: return "KVM_SET_USER_MEMORY_REGION";
	case DT_KVM_SET_USER_MEMORY_REGION2: return "KVM_SET_USER_MEMORY_REGION2";
	default: return "KVM ioctl";
	}
}

/* report --pid: only that process's VMs */
static bool hidden(const struct perfetto_report *p, struct replay *r, uint32_t vm_id)
{
	const struct replay_vm *vm;

	if (!vm_filter_active(p->filter))
		return false;
	vm = replay_vm_find(r, vm_id);
	return !vm || !vm_filter_match(p->filter, vm->v[REPLAY_ALL].tgid, vm->identity.name);
}

static void on_event(void *ctx, struct replay *r, const struct rec_event *e, uint8_t kind,
		     struct replay_ring *ring, struct replay_vm *vm)
{
	struct perfetto_report *p = ctx;
	struct ring_state *rs;
	uint32_t used = e->dirty_index - e->reset_index, pid;

	if (hidden(p, r, ring ? ring->vm_id : vm ? vm->id : e->id))
		return;
	switch (kind) {
	case REC_PUSH:
		rs = ring_state(p, ring->id, ring->vm_id);
		if (!rs->emitted || e->ts - rs->last_emit >= p->sample_ns) {
			counter(p, ring, e->ts, used);
			rs->last_emit = e->ts;
			rs->emitted = true;
			rs->pending = false;
		} else {
			rs->pending = true;
		}
		rs->last_push_ts = e->ts;
		rs->last_push_used = used;
		break;
	case REC_RESET:
		rs = ring_state(p, ring->id, ring->vm_id);
		if (rs->pending)
			counter(p, ring, rs->last_push_ts, rs->last_push_used);	/* the peak before the reset */
		counter(p, ring, e->ts, used);
		rs->last_emit = e->ts;
		rs->emitted = true;
		rs->pending = false;
		break;
	case REC_FULL:
		yajl_gen_map_open(p->g);
		jw_put_string(p->g, "ph", "i");
		jw_put_string(p->g, "s", "t");
		jw_put_string(p->g, "name", "soft-full exit");
		jw_put_u64(p->g, "pid", ring->vm_id);
		jw_put_u64(p->g, "tid", VCPU_TRACK_BASE + ring->id);
		jw_put_fixed(p->g, "ts", us(p, e->ts), 3);
		event_end(p);
		break;
	case REC_IOCTL:
	case REC_MEMSLOT:
		pid = vm ? vm->id : e->id;
		if (e->cmd == DT_KVM_CREATE_VM)
			pid = e->target;	/* on the new VM's process */
		thread_seen(p, pid, e->tid);
		event_begin(p, "X", ioctl_name(e->cmd), pid);
		jw_put_u64(p->g, "tid", e->tid);
		jw_put_fixed(p->g, "ts", us(p, e->ts - e->latency_ns), 3);
		jw_put_fixed(p->g, "dur", (double)e->latency_ns / 1000.0, 3);
		jw_key(p->g, "args");
		yajl_gen_map_open(p->g);
		jw_put_int(p->g, "ret", (long long)e->ret);
		if (kind == REC_MEMSLOT) {
			char gpa[24];

			snprintf(gpa, sizeof(gpa), "0x%llx", (unsigned long long)e->gpa);
			jw_put_u64(p->g, "as_id", e->slot >> 16);
			jw_put_u64(p->g, "slot", e->slot & 0xffff);
			jw_put_string(p->g, "gpa", gpa);
			jw_put_u64(p->g, "size", e->size);
			jw_put_u64(p->g, "flags", e->flags);
		} else if (e->cmd == DT_KVM_GET_DIRTY_LOG) {
			jw_put_u64(p->g, "slot", e->slot & 0xffff);
			jw_put_u64(p->g, "dirty_pages", e->size);
		} else if (e->cmd == DT_KVM_CLEAR_DIRTY_LOG) {
			jw_put_u64(p->g, "slot", e->slot & 0xffff);
			jw_put_u64(p->g, "first_page", e->gpa);
			jw_put_u64(p->g, "pages", e->size);
		}
		yajl_gen_map_close(p->g);
		event_end(p);
		break;
	}
}

static void on_stall(void *ctx, struct replay *r, struct replay_ring *ring, uint64_t start_ns, uint64_t end_ns)
{
	struct perfetto_report *p = ctx;

	if (hidden(p, r, ring->vm_id))
		return;
	event_begin(p, "X", "full stall", ring->vm_id);
	jw_put_u64(p->g, "tid", VCPU_TRACK_BASE + ring->id);
	jw_put_fixed(p->g, "ts", us(p, start_ns), 3);
	jw_put_fixed(p->g, "dur", (double)(end_ns - start_ns) / 1000.0, 3);
	jw_key(p->g, "args");
	yajl_gen_map_open(p->g);
	jw_put_fixed(p->g, "stall_us", (double)(end_ns - start_ns) / 1000.0, 3);
	yajl_gen_map_close(p->g);
	event_end(p);
}

struct perfetto_report *perfetto_report_new(const struct recording *rec, const struct vm_filter *filter, FILE *out)
{
	struct perfetto_report *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->rec = rec;
	p->filter = filter;
	p->f = out;
	p->sample_ns = (rec->end_ns - rec->start_ns) / 5000;
	if (p->sample_ns < 20000)
		p->sample_ns = 20000;
	p->g = jw_new();
	if (!p->g)
		abort();
	yajl_gen_map_open(p->g);
	jw_put_string(p->g, "displayTimeUnit", "ms");
	jw_key(p->g, "traceEvents");
	yajl_gen_array_open(p->g);
	jw_flush(p->g, out, true);
	return p;
}

void perfetto_report_observer(struct perfetto_report *p, struct replay_observer *o)
{
	o->ctx = p;
	o->event = on_event;
	o->stall = on_stall;
}

/* Metadata: a track's name or its sort index (args {key: a string or a number}). */
static void meta(struct perfetto_report *p, const char *what, uint32_t pid, const uint32_t *tid, const char *name,
		 int sort_index)
{
	event_begin(p, "M", what, pid);
	if (tid)
		jw_put_u64(p->g, "tid", *tid);
	jw_key(p->g, "args");
	yajl_gen_map_open(p->g);
	if (name)
		jw_put_string(p->g, "name", name);
	else
		jw_put_int(p->g, "sort_index", sort_index);
	yajl_gen_map_close(p->g);
	event_end(p);
}

int perfetto_report_finish(struct perfetto_report *p, struct replay *r, const struct model *summary)
{
	char name[128];

	for (size_t i = 0; i < replay_n_vms(r); i++) {
		const struct replay_vm *vm = replay_vm_at(r, i);
		uint32_t n = report_vm_number(summary, vm->id);

		if (hidden(p, r, vm->id))
			continue;
		if (n)
			snprintf(name, sizeof(name), "VM %u%s%.*s: pid %u (%s)", n, vm->identity.name[0] ? " " : "", 64,
				 vm->identity.name, vm->v[REPLAY_ALL].tgid, vm->comm[0] ? vm->comm : "?");
		else
			snprintf(name, sizeof(name), "VM (recording id %u)%s%.*s: pid %u (%s)", vm->id,
				 vm->identity.name[0] ? " " : "", 64, vm->identity.name, vm->v[REPLAY_ALL].tgid,
				 vm->comm[0] ? vm->comm : "?");
		meta(p, "process_name", vm->id, NULL, name, 0);
		meta(p, "process_sort_index", vm->id, NULL, NULL, n ? (int)n : 100000 + (int)i);
	}
	for (size_t i = 0; i < replay_n_rings(r); i++) {
		const struct replay_ring *ring = replay_ring_at(r, i);
		uint32_t tid = VCPU_TRACK_BASE + ring->id;

		if (hidden(p, r, ring->vm_id))
			continue;
		if (ring->thread_name[0])	/* QEMU's debug-threads name, "CPU 0/KVM" */
			snprintf(name, sizeof(name), "vCPU %d %s (tid %u)", ring->v[REPLAY_ALL].vcpu_id, ring->thread_name,
				 ring->v[REPLAY_ALL].tid);
		else
			snprintf(name, sizeof(name), "vCPU %d (tid %u)", ring->v[REPLAY_ALL].vcpu_id,
				 ring->v[REPLAY_ALL].tid);
		meta(p, "thread_name", ring->vm_id, &tid, name, 0);
		meta(p, "thread_sort_index", ring->vm_id, &tid, NULL, ring->v[REPLAY_ALL].vcpu_id);
	}
	for (size_t i = 0; i < p->n_threads; i++) {
		snprintf(name, sizeof(name), "thread %u (KVM ioctls)", p->threads[i].tid);
		meta(p, "thread_name", p->threads[i].pid, &p->threads[i].tid, name, 0);
		meta(p, "thread_sort_index", p->threads[i].pid, &p->threads[i].tid, NULL, 1000000);
	}
	yajl_gen_array_close(p->g);
	jw_key(p->g, "otherData");
	yajl_gen_map_open(p->g);
	jw_put_string(p->g, "tool", "dirtytop report");
	jw_put_string(p->g, "recording", p->rec->path);
	jw_put_string(p->g, "kernel", p->rec->h.kernel);
	jw_put_bool(p->g, "complete", p->rec->status == REC_END_CLEAN);
	yajl_gen_map_close(p->g);
	yajl_gen_map_close(p->g);
	if (jw_flush(p->g, p->f, true))
		return -1;
	return ferror(p->f) ? -1 : 0;
}

void perfetto_report_free(struct perfetto_report *p)
{
	if (!p)
		return;
	if (p->g)
		yajl_gen_free(p->g);
	free(p->rings);
	idmap_free(&p->ring_index);
	free(p->threads);
	free(p);
}
