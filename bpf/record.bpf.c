// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop record`, kernel side: stream every dirty ring event through a BPF
 * ring buffer (include/dt_events.h). The push handler runs once per dirtied
 * guest page, and does as the live one: in the common case one load and one
 * test; at a batch boundary the pushes since the last one are read back from
 * the ring and streamed as one BATCH event (see ring_sync). When the ring
 * buffer is full the event is counted, per CPU and per event type, in
 * `counters` (a batch's pushes as PUSH); userspace writes those counts into
 * the file.
 *
 * Rings (vCPUs) and VMs are numbered here with small ids; events carry the
 * ids, never kernel addresses. What userspace needs to know about an id
 * (vCPU id, thread, ring size, ...) is kept in ring_meta / vm_meta, written
 * before the first event naming the id is submitted.
 *
 * The hooks and the ioctl decoding are bpf/lib's, shared with live.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dt_events.h"
#include "dt_kvm.h"

#define MAX_RINGS 65536
#define MAX_VMS 4096
#define DT_MAX_VCPU_THREADS MAX_RINGS

#include "lib/kvm_layouts.bpf.h"
#include "lib/hooks.bpf.h"
#include "lib/ring.bpf.h"
#include "lib/kvm_ioctl.bpf.h"
#include "lib/kvm_run.bpf.h"
#include "lib/bitmap.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load. */
const volatile __u32 events_mask = DT_EVM_ALL;
/* Wake the reader only when this much is waiting: it also polls every few ms. */
const volatile __u64 wakeup_bytes = 1 << 20;
/* Set by userspace before it starts COMMAND (so not read-only): 0, every process. */
volatile __u32 filter_tgid = 0;

__u32 next_ring_id = 0;
__u32 next_vm_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);		/* userspace sets --ringbuf-size */
} rb SEC(".maps");

struct rec_ring {
	__u32 id;
	__u32 tid;
	__u32 synced;		/* pushes before this ring index are streamed (or counted lost) */
	__u32 ring_size;
	__u64 gfns;		/* the ring's entries */
	__u64 batch_ns;		/* no push after synced is older (see struct dt_ev_batch) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);			/* struct kvm_dirty_ring * */
	__type(value, struct rec_ring);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_RINGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);			/* ring id */
	__type(value, struct dt_rec_ring_meta);
} ring_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VMS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);			/* struct kvm * */
	__type(value, __u32);			/* VM id */
} vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VMS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);			/* VM id */
	__type(value, struct dt_rec_vm_meta);
} vm_meta SEC(".maps");

/* Memslot sizes, for counting the dirty pages of a KVM_GET_DIRTY_LOG bitmap. */
struct slot_key {
	__u32 vm_id;
	__u32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct slot_key);
	__type(value, __u64);			/* bytes */
} slot_sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_rec_counters);
} counters SEC(".maps");

/*
 * Submit without a wakeup (an irq_work per event would cost more than the
 * event) unless the reader is falling behind.
 */
static __always_inline void submit(void *e)
{
	__u64 flags = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) > wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									    : BPF_RB_NO_WAKEUP;

	bpf_ringbuf_submit(e, flags);
}

static __always_inline bool wanted(__u32 type)
{
	return events_mask & DT_EVM(type);
}

static __always_inline bool filtered_out(__u64 pid_tgid)
{
	return filter_tgid && (__u32)(pid_tgid >> 32) != filter_tgid;
}

static __always_inline void count_lost(__u32 type)
{
	__u32 zero = 0;
	struct dt_rec_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c)
		c->lost[type & (DT_EV_NTYPES - 1)]++;
}

static __always_inline void count_lost_n(__u32 type, __u32 n)
{
	__u32 zero = 0;
	struct dt_rec_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c)
		c->lost[type & (DT_EV_NTYPES - 1)] += n;
}

static __always_inline void count_untracked(__u32 type)
{
	__u32 zero = 0;
	struct dt_rec_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c)
		c->untracked[type & (DT_EV_NTYPES - 1)]++;
}

/*
 * Room for an event of size bytes in the ring buffer, its header filled
 * (time now; as_id and slot 0); NULL, counted as lost, when it is full.
 * Fill the rest and submit().
 */
static __always_inline void *ev_reserve(__u32 type, __u32 id, __u32 size)
{
	struct dt_ev_hdr *h = bpf_ringbuf_reserve(&rb, size, 0);

	if (!h) {
		count_lost(type);
		return NULL;
	}
	h->ts = bpf_ktime_get_ns();
	h->id = id;
	h->type = type;
	h->as_id = 0;
	h->slot = 0;
	return h;
}

enum vm_how { VM_LOOKUP, VM_GET, VM_CREATE };

/* The id of the VM at kvm; VM_GET creates it when unknown (a VM older than us). */
static __noinline __u32 vm_id_get(__u64 kvm, int how, __s32 fd)
{
	struct dt_rec_vm_meta m = {};
	__u32 *idp, id;

	if (!kvm)
		return 0;
	if (how != VM_CREATE) {
		idp = bpf_map_lookup_elem(&vms, &kvm);
		if (idp)
			return *idp;
		if (how == VM_LOOKUP)
			return 0;
	}
	id = __sync_fetch_and_add(&next_vm_id, 1) + 1;
	m.id = id;
	m.tgid = bpf_get_current_pid_tgid() >> 32;
	m.fd = fd;
	m.first_seen_ns = bpf_ktime_get_ns();
	if (how == VM_CREATE) {
		m.flags = DT_VM_FROM_CREATE;
		m.created_ns = m.first_seen_ns;
	}
	/* the metadata first: an event naming id may be read as soon as vms has it */
	if (bpf_map_update_elem(&vm_meta, &id, &m, BPF_ANY))
		return 0;
	if (bpf_map_update_elem(&vms, &kvm, &id, how == VM_CREATE ? BPF_ANY : BPF_NOEXIST)) {
		bpf_map_delete_elem(&vm_meta, &id);
		if (how == VM_CREATE)
			return 0;
		idp = bpf_map_lookup_elem(&vms, &kvm);	/* another CPU was first */
		return idp ? *idp : 0;
	}
	return id;
}

/* Number a ring seen for the first time (or re-created by KVM_CREATE_VCPU). Slow path. */
static __noinline struct rec_ring *ring_create(__u64 ring_addr, bool from_create)
{
	struct dt_rec_ring_meta m = {};
	struct dt_ring_fields f;
	struct rec_ring r = {};
	__u32 id;

	dt_ring_read_fields(ring_addr, &f);
	id = __sync_fetch_and_add(&next_ring_id, 1) + 1;
	m.id = id;
	m.vm_id = vm_id_get(f.kvm, VM_GET, -1);
	m.tgid = bpf_get_current_pid_tgid() >> 32;
	m.vcpu_id = f.vcpu_id;
	m.ring_size = f.size;
	m.soft_limit = f.soft_limit;
	m.dirty_index = f.dirty_index;
	m.reset_index = f.reset_index;
	m.first_seen_ns = bpf_ktime_get_ns();
	if (from_create) {
		m.flags = DT_VCPU_FROM_CREATE;
		m.created_ns = m.first_seen_ns;
	}
	if (bpf_map_update_elem(&ring_meta, &id, &m, BPF_ANY))
		return NULL;
	r.id = id;
	/* streamed from here: a new ring from its first entry, an older one from now */
	r.synced = f.dirty_index;
	r.ring_size = f.size;
	r.gfns = f.gfns;
	r.batch_ns = m.first_seen_ns;
	if (bpf_map_update_elem(&rings, &ring_addr, &r, from_create ? BPF_ANY : BPF_NOEXIST)) {
		bpf_map_delete_elem(&ring_meta, &id);
		if (from_create)
			return NULL;
	}
	return bpf_map_lookup_elem(&rings, &ring_addr);
}

static __always_inline struct rec_ring *ring_get(__u64 ring)
{
	struct rec_ring *r = bpf_map_lookup_elem(&rings, &ring);

	return r ? r : ring_create(ring, false);
}

/* The ring's vCPU thread is tid (as the live side's remember_thread). */
static __noinline void set_tid(struct rec_ring *r, __u64 ring, __u32 tid, bool emit)
{
	struct dt_rec_ring_meta *m;
	struct dt_ev_tid *e;
	__u32 id;

	if (!r)
		return;
	id = r->id;
	r->tid = tid;
	dt_thread_set_ring(tid, ring);
	m = bpf_map_lookup_elem(&ring_meta, &id);
	if (m)
		m->tid = tid;
	if (!emit)
		return;
	e = ev_reserve(DT_EV_TID, id, sizeof(*e));
	if (!e)
		return;
	e->tid = tid;
	e->arg = 0;
	submit(e);
}

/*
 * Streaming pushes (lib/ring.bpf.h): at a batch boundary (the push of a
 * chunk's first entry, a soft-full exit, a return of KVM_RUN: the vCPU
 * thread; a ring reset: the resetting thread) the entries pushed since
 * r->synced are read back from the ring and streamed as BATCH events, one
 * per aligned chunk. Two threads can sync a ring at once (the vCPU's and the
 * resetter), so a range is claimed by a compare-and-swap of r->synced: each
 * push is streamed once. The event is reserved before its range is claimed:
 * a batch claimed before a reset's sync then precedes the reset event in the
 * ring buffer, so replay sees every push before the reset that reclaims it.
 */
/* Without bpf_loop, chunks streamed per sync: a sync spans one or two unless it fell behind. */
#define SYNC_BOUNDED_CHUNKS 4

struct batch_walk {
	struct rec_ring *r;
	__u32 from, to;		/* ring indices [from, to) to stream */
	__u32 reset_index;
	__u64 now;
};

static __always_inline long batch_chunk_body(__u32 c, struct batch_walk *w)
{
	struct dt_ring_span s = dt_ring_chunk(w->from, w->to, c);
	struct rec_ring *r = w->r;
	struct dt_ev_batch *e;
	__u32 cur, end = s.base + s.hi, lo;
	__u64 first_ns;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	for (int attempt = 0; attempt < 2; attempt++) {
		cur = r->synced;
		if ((__s32)(end - cur) <= 0)
			break;		/* another thread streamed this chunk */
		if ((__s32)(cur - s.base) < 0)
			break;		/* an earlier chunk is not streamed yet: the next sync does both */
		/* claim [cur, end) */
		if (__sync_val_compare_and_swap(&r->synced, cur, end) != cur)
			continue;
		lo = (cur - s.base) & (DT_PUSH_BATCH - 1);
		if (!e) {
			count_lost_n(DT_EV_PUSH, end - cur);
			return s.hi < DT_PUSH_BATCH;
		}
		first_ns = r->batch_ns;
		r->batch_ns = w->now;
		dt_ring_read_chunk(e->e, r->gfns, r->ring_size, s.base);	/* zeroes e->e if it fails */
		e->h.ts = w->now;
		e->h.id = r->id;
		e->h.type = DT_EV_BATCH;
		e->h.as_id = 0;
		e->h.slot = 0;
		e->first_ns = first_ns;
		e->dirty_index = end;
		e->reset_index = w->reset_index;
		e->lo = lo;
		e->n = end - cur;
		submit(e);
		return s.hi < DT_PUSH_BATCH;
	}
	if (e)
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
	return 1;
}
DT_LOOP_CALLBACK(batch_chunk, batch_chunk_body, struct batch_walk)

/* Stream the pushes up to dirty_index (trusted: see dt_ring_unread). */
static __noinline void ring_sync(struct rec_ring *r, __u32 dirty_index, __u32 reset_index, bool trusted)
{
	struct batch_walk w = { .r = r, .to = dirty_index, .reset_index = reset_index };
	__u32 cur, n;

	if (!r || !wanted(DT_EV_PUSH))
		return;
	cur = r->synced;
	n = dt_ring_unread(cur, dirty_index, reset_index, r->ring_size, trusted, &w.from);
	if (!n)
		return;
	if (!dt_ring_chunks_ok(r->gfns, r->ring_size))
		w.from = dirty_index;	/* cannot be read back: all are lost */
	if (w.from != cur && __sync_val_compare_and_swap(&r->synced, cur, w.from) == cur)
		count_lost_n(DT_EV_PUSH, w.from - cur);	/* overwritten before they were read */
	if (w.from == w.to)
		return;
	w.now = bpf_ktime_get_ns();
	dt_ring_walk(w.from, w.to, SYNC_BOUNDED_CHUNKS, batch_chunk, batch_chunk_body, &w);
}

/* The push of a chunk's first entry (dirty_index - 1): stream the chunk before it. */
static __always_inline void on_push_batch(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct rec_ring *r;

	if (filtered_out(pid_tgid))
		return;
	r = ring_get(ring);
	if (!r) {
		count_untracked(DT_EV_BATCH);
		return;
	}
	if (!r->tid)
		set_tid(r, ring, (__u32)pid_tgid, true);
	ring_sync(r, dirty_index - 1, reset_index, true);
	/* the new batch starts with this push: stamp it (unless another thread synced since) */
	if (r->synced == dirty_index - 1)
		r->batch_ns = bpf_ktime_get_ns();
}

static __always_inline void on_reset(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	struct dt_ev_reset *e;
	struct rec_ring *r;

	if (filtered_out(bpf_get_current_pid_tgid()))
		return;
	r = ring_get(ring);
	if (!r) {
		count_untracked(DT_EV_RESET);
		return;
	}
	/* the pushes it reclaims are streamed before it */
	ring_sync(r, dirty_index, reset_index, true);
	if (!wanted(DT_EV_RESET))
		return;
	e = ev_reserve(DT_EV_RESET, r->id, sizeof(*e));
	if (!e)
		return;
	e->dirty_index = dirty_index;
	e->reset_index = reset_index;
	submit(e);
}

static __always_inline void on_full_exit(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct dt_ev_tid *e;
	struct rec_ring *r;

	if (filtered_out(pid_tgid))
		return;
	r = ring_get(ring);
	if (!r) {
		count_untracked(DT_EV_FULL);
		return;
	}
	if (r->tid != tid)
		set_tid(r, ring, tid, false);
	ring_sync(r, dirty_index, reset_index, true);
	dt_reentry_arm(tid, ring);
	if (!wanted(DT_EV_FULL))
		return;
	e = ev_reserve(DT_EV_FULL, r->id, sizeof(*e));
	if (!e)
		return;
	e->tid = tid;
	e->arg = 0;
	submit(e);
}

/* --- the dirty ring tracepoints, as tp_btf and raw_tp (lib/hooks.bpf.h) --- */

#include "lib/ring_hooks.bpf.h"

/* --- every return of KVM_RUN to userspace, for vCPU threads we know: the thread catches up --- */

SEC("tp/kvm/kvm_userspace_exit")
int userspace_exit(struct userspace_exit_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct kvm_dirty_ring *kr;
	struct dt_ev_tid *e;
	struct rec_ring *r;
	__u64 *ring;

	ring = dt_thread_ring(tid);
	if (!ring)
		return 0;
	r = bpf_map_lookup_elem(&rings, ring);
	if (!r || r->tid != tid)
		return 0;
	kr = (void *)*ring;
	ring_sync(r, dt_ring_dirty_index(kr, false), dt_ring_reset_index(kr, false), false);
	if (!wanted(DT_EV_UEXIT))
		return 0;
	e = ev_reserve(DT_EV_UEXIT, r->id, sizeof(*e));
	if (!e)
		return 0;
	e->tid = tid;
	e->arg = ctx->reason;
	submit(e);
	return 0;
}

/* --- KVM ioctls --- */

/* One 64-byte chunk of a dirty bitmap: 512 pages, one 2 MiB region: count it, record it. */
static __always_inline long popcount_chunk_body(__u32 i, struct dt_bitmap_ctx *ctx)
{
	struct dt_bitmap_walk *w = ctx->w;
	long count = dt_bitmap_chunk(w, i);
	struct dt_ev_region *e;

	if (count < 0)
		return 1;
	if (!count || !wanted(DT_EV_DIRTYLOG))
		return 0;
	e = ev_reserve(DT_EV_DIRTYLOG, (__u32)w->vm, sizeof(*e));
	if (!e)
		return 0;
	e->h.as_id = w->slot >> 16;
	e->h.slot = w->slot;
	e->region = i;
	e->pages = count;
	submit(e);
	return 0;
}
DT_LOOP_CALLBACK(popcount_chunk, popcount_chunk_body, struct dt_bitmap_ctx)

/*
 * The dirty pages of a KVM_GET_DIRTY_LOG bitmap that was just filled, per 2 MiB
 * region and in total (dt_bitmap_last()->total). Global, so it is verified on
 * its own. Returns 0 when counted, -1 when the slot's size is unknown.
 */
__noinline int dirtylog_count(__u32 vm_id, __u32 slot, __u64 bitmap)
{
	struct slot_key k = { .vm_id = vm_id, .slot = slot };
	struct dt_bitmap_walk *w;
	__u64 *size;

	size = bpf_map_lookup_elem(&slot_sizes, &k);
	if (!size || !*size)
		return -1;
	w = dt_bitmap_start(bitmap, *size, vm_id, slot);
	if (!w)
		return -1;
	dt_bitmap_walk(w, popcount_chunk, popcount_chunk_body);
	return 0;
}

/* KVM_RUN on fd by thread tid: if fd is a vCPU, that thread runs it (live.bpf.c) */
static __noinline void learn_thread(__u32 fd, __u32 tid)
{
	__u64 priv = fd_vcpu(fd), ring;
	struct rec_ring *r;

	if (!priv)
		return;
	ring = dt_vcpu_ring_addr(priv);
	r = ring_get(ring);
	if (r && r->tid != tid)
		set_tid(r, ring, tid, true);
}

SEC("tp/syscalls/sys_enter_ioctl")
int ioctl_enter(struct sys_enter_ioctl_args *ctx)
{
	__u32 cmd = (__u32)ctx->cmd;
	struct dt_ioctl io = {};
	__u64 pid_tgid;

	if (!dt_is_kvm_ioctl(cmd))
		return 0;
	if (cmd == DT_KVM_RUN) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u64 ring = dt_reentry_take(tid);
		struct dt_ev_tid *e;
		struct rec_ring *r;

		if (!ring) {
			/* a thread not yet known to run a vCPU: its vCPU from the fd, once (live.bpf.c) */
			if (!dt_thread_ring(tid) && !filtered_out(bpf_get_current_pid_tgid()))
				learn_thread((__u32)ctx->fd, tid);
			return 0;
		}
		r = bpf_map_lookup_elem(&rings, &ring);
		if (!r || !wanted(DT_EV_REENTRY))
			return 0;
		e = ev_reserve(DT_EV_REENTRY, r->id, sizeof(*e));
		if (!e)
			return 0;
		e->tid = tid;
		e->arg = 0;
		submit(e);
		return 0;
	}
	if (!dt_ioctl_decode(ctx, &io))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (filtered_out(pid_tgid))
		return 0;
	if (dt_ioctl_begin((__u32)pid_tgid, &io))
		count_untracked(dt_ioctl_is_memslot(cmd) ? DT_EV_MEMSLOT : DT_EV_IOCTL);
	return 0;
}

SEC("tp/syscalls/sys_exit_ioctl")
int ioctl_exit(struct sys_exit_ioctl_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dt_ioctl *io = dt_ioctl_pending(tid);
	struct dt_rec_vm_meta *vm;
	struct dt_ev_ioctl *e;
	struct rec_ring *r;
	__s64 ret = ctx->ret;
	__u32 vm_id = 0, target = 0, type;
	__u64 now, priv, dirty = 0;
	bool counted = false;

	if (!io)
		return 0;
	now = bpf_ktime_get_ns();
	switch (io->cmd) {
	case DT_KVM_CREATE_VM:
		/* the fd is /dev/kvm's; the new VM is the return value */
		if (ret >= 0)
			target = vm_id_get(fd_private_data((__u32)ret), VM_CREATE, (__s32)ret);
		vm_id = target;
		break;
	case DT_KVM_CREATE_VCPU:
		vm_id = vm_id_get(fd_private_data(io->fd), ret >= 0 ? VM_GET : VM_LOOKUP, (__s32)io->fd);
		if (ret >= 0) {
			priv = fd_private_data((__u32)ret);
			if (priv) {
				r = ring_create(dt_vcpu_ring_addr(priv), true);
				if (r)
					target = r->id;
			}
		}
		break;
	case DT_KVM_ENABLE_CAP:
		vm_id = vm_id_get(fd_private_data(io->fd), ret >= 0 ? VM_GET : VM_LOOKUP, (__s32)io->fd);
		if (ret >= 0 && vm_id) {
			vm = bpf_map_lookup_elem(&vm_meta, &vm_id);
			if (vm) {
				vm->flags |= DT_VM_RING;
				if (io->cap == DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
					vm->flags |= DT_VM_RING_ACQ_REL;
				vm->ring_bytes = (__u32)io->cap_arg0;
			}
		}
		break;
	case DT_KVM_SET_USER_MEMORY_REGION:
	case DT_KVM_SET_USER_MEMORY_REGION2:
		vm_id = vm_id_get(fd_private_data(io->fd), ret >= 0 ? VM_GET : VM_LOOKUP, (__s32)io->fd);
		if (ret >= 0 && vm_id) {
			struct slot_key k = { .vm_id = vm_id, .slot = io->slot };

			if (io->size)
				bpf_map_update_elem(&slot_sizes, &k, &io->size, BPF_ANY);
			else
				bpf_map_delete_elem(&slot_sizes, &k);
		}
		break;
	case DT_KVM_GET_DIRTY_LOG:
		vm_id = vm_id_get(fd_private_data(io->fd), ret >= 0 ? VM_GET : VM_LOOKUP, (__s32)io->fd);
		if (ret >= 0 && vm_id && !dirtylog_count(vm_id, io->slot, io->bitmap)) {
			struct dt_bitmap_walk *c = dt_bitmap_last();

			if (c) {
				dirty = c->total;
				counted = true;
			}
		}
		break;
	default:
		vm_id = vm_id_get(fd_private_data(io->fd), ret >= 0 ? VM_GET : VM_LOOKUP, (__s32)io->fd);
		break;
	}
	type = dt_ioctl_is_memslot(io->cmd) ? DT_EV_MEMSLOT : DT_EV_IOCTL;
	if (!wanted(type))
		goto out;
	e = ev_reserve(type, vm_id, sizeof(*e));
	if (!e)
		goto out;
	e->h.ts = now;		/* the call's end, as its latency */
	e->cmd = io->cmd;
	e->tid = tid;
	e->ret = ret;
	e->latency_ns = now - io->start_ns;
	e->target = target;
	e->slot = io->slot;
	e->pad = 0;
	/* the event's fields by command: docs/recording.md */
	switch (io->cmd) {
	case DT_KVM_ENABLE_CAP:
		e->flags = io->cap;
		e->gpa = io->cap_arg0;
		e->size = 0;
		break;
	case DT_KVM_GET_DIRTY_LOG:
		e->flags = counted ? DT_EV_DIRTYLOG_COUNTED : 0;
		e->gpa = 0;
		e->size = dirty;
		break;
	case DT_KVM_CLEAR_DIRTY_LOG:
		e->flags = 0;
		e->gpa = io->first_page;
		e->size = io->num_pages;
		break;
	default:	/* memslots: the region; others: 0 */
		e->flags = io->flags;
		e->gpa = io->gpa;
		e->size = io->size;
		break;
	}
	submit(e);
out:
	dt_ioctl_end(tid);
	return 0;
}
