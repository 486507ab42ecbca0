// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dirtytop live, kernel side: aggregate KVM dirty ring activity in maps
 * (include/dt_live.h), folded as include/dt_agg.h says. The hooks and the
 * ioctl decoding are bpf/lib's, shared with record.bpf.c.
 *
 * The push handler runs once per dirtied guest page, on the hottest path KVM
 * has: in the common case one load and one test; the counting is done once
 * per batch of pushes (see vcpu_sync). Nothing is streamed per event.
 *
 * Built twice: as is, and with DT_NO_CALLBACKS for kernels without
 * bpf_for_each_map_elem (< 5.13), whose verifier refuses any callback: no
 * bpf_loop (no ring heat, bounded popcount), and a dead VM's entries at a new
 * VM's address are told apart by userspace (DT_VM_REBORN) instead of moved.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dt_live.h"
#include "dt_agg.h"

#define DT_MAX_VCPU_THREADS 8192

#include "lib/kvm_layouts.bpf.h"
#include "lib/hooks.bpf.h"
#include "lib/ring.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/live_maps.bpf.h"
#include "lib/kvm_ioctl.bpf.h"
#include "lib/kvm_run.bpf.h"
#include "lib/bitmap.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Written by userspace at every refresh (see struct dt_epoch_max). */
__u32 epoch = 0;

/* log2(pages per dirty heat region), >= 9 (2 MiB); set before load. */
const volatile __u32 heat_shift = 9;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dt_heat_key);
	__type(value, __u64);		/* pages dirtied */
} heat SEC(".maps");


/* global: verified once, not again at each call site of the heat walk's loop */
__noinline int heat_add(__u64 vm, __u32 slot, __u32 region, __u64 pages)
{
	struct dt_heat_key k = { .vm = vm, .slot = slot, .region = region };
	__u64 *c;

	if (!pages)
		return 0;
	c = bpf_map_lookup_elem(&heat, &k);
	if (!c) {
		if (!bpf_map_update_elem(&heat, &k, &pages, BPF_NOEXIST))
			return 0;
		c = bpf_map_lookup_elem(&heat, &k);	/* another CPU created it */
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(c, pages);
	return 0;
}

/* Thread tid runs the vCPU of ring: noted in its entry and in the threads map. */
static __always_inline void remember_thread(struct dt_vcpu *v, __u64 ring, __u32 tid)
{
	if (v->tid == tid)
		return;
	v->tid = tid;
	v->changes++;
	dt_thread_set_ring(tid, ring);
}

/*
 * Create the entry of a ring seen for the first time (a VM that existed
 * before dirtytop, or a new vCPU). Slow path: BPF_CORE_READ is fine here.
 */
static __noinline struct dt_vcpu *vcpu_create(__u64 ring_addr, bool from_create)
{
	struct dt_vcpu *v;
	struct dt_ring_ts *rt;

	if (from_create) {
		/* a dead VM's vCPU left this entry: bury it (see bury_vcpu) */
		v = bpf_map_lookup_elem(&vcpus, &ring_addr);
		if (v) {
			__u64 grave = v->first_seen_ns;

			v->changes++;	/* a new key to the reader: read it whole */
			bpf_map_update_elem(&vcpus, &grave, v, BPF_ANY);
		}
	}
	/* BPF_NOEXIST failing: another CPU created it first */
	if (dt_map_init_zero(&vcpus, &ring_addr, &zero_vcpu, from_create ? BPF_ANY : BPF_NOEXIST) &&
	    !from_create)
		return bpf_map_lookup_elem(&vcpus, &ring_addr);
	v = bpf_map_lookup_elem(&vcpus, &ring_addr);
	if (!v)
		return NULL;

	dt_vcpu_start(v, ring_addr, bpf_get_current_pid_tgid() >> 32);
	if (from_create) {
		v->flags |= DT_VCPU_FROM_CREATE;
		v->created_ns = v->first_seen_ns;
	}

	if (!dt_map_init_zero(&ring_ts, &ring_addr, &zero_ring_ts, BPF_ANY)) {
		rt = bpf_map_lookup_elem(&ring_ts, &ring_addr);
		if (rt)
			rt->shift = dt_ring_ts_shift(v->ring_size);
	}
	return v;
}

static __always_inline struct dt_vcpu *vcpu_get(__u64 ring)
{
	struct dt_vcpu *v = bpf_map_lookup_elem(&vcpus, &ring);

	return v ? v : vcpu_create(ring, false);
}

/*
 * Counting pushes (lib/ring.bpf.h): at each batch start, at a soft-full exit
 * and when KVM_RUN returns, the vCPU thread adds the pushes since
 * v->dirty_index and reads those entries back for the heat map. Only the
 * vCPU thread syncs (KVM holds vcpu->mutex around all of them), so
 * v->dirty_index has a single writer.
 */
struct gfn_chunk {
	struct dt_gfn e[DT_PUSH_BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gfn_chunk);
} gfn_scratch SEC(".maps");

/*
 * Count entries lo .. lo+span-1 of a chunk into the vCPU's current region
 * (heat_slot/heat_region/heat_pending); the map is touched only when the
 * region changes. A global function, so the verifier checks it once, with
 * lo and span unknown: unrolled, it is a straight walk for the verifier, and
 * no branch on a value it knows (that would make it track every value).
 */
__noinline int heat_count_chunk(struct gfn_chunk *buf, struct dt_vcpu *v, __u32 lo, __u32 span)
{
	__u32 slot, region, shift = heat_shift & 63;
	__u64 pending;

	if (!buf || !v)
		return 0;
	slot = v->heat_slot;
	region = v->heat_region;
	pending = v->heat_pending;
#pragma unroll
	for (__u32 k = 0; k < DT_PUSH_BATCH; k++) {
		struct dt_gfn *e = &buf->e[k];
		__u32 r;

		if (k - lo >= span)
			continue;
		r = e->offset >> shift;
		if (e->slot != slot || r != region) {
			heat_add(v->vm, slot, region, pending);	/* ignores 0 pages */
			pending = 0;
		}
		slot = e->slot;
		region = r;
		pending++;
	}
	v->heat_slot = slot;
	v->heat_region = region;
	v->heat_pending = pending;
	return 0;
}

struct heat_walk {
	struct dt_vcpu *v;
	struct gfn_chunk *buf;
	__u32 from, to;		/* ring indices [from, to) to walk */
};

#ifndef DT_NO_CALLBACKS
/* One batch-aligned chunk of the walk (a chunk never wraps the ring): one read. */
static long heat_chunk(__u32 c, struct heat_walk *w)
{
	struct dt_vcpu *v = w->v;
	struct dt_ring_span s = dt_ring_chunk(w->from, w->to, c);

	if (dt_ring_read_chunk(w->buf, v->gfns, v->ring_size, s.base))
		return 1;
	heat_count_chunk(w->buf, v, s.lo, s.hi - s.lo);
	return s.hi < DT_PUSH_BATCH;
}
#endif

/* Count the pushes since the last sync (trusted: see dt_ring_unread). */
static __noinline void vcpu_sync(struct dt_vcpu *v, __u32 dirty_index, __u32 reset_index, bool trusted)
{
	struct heat_walk w = { .v = v };
	__u32 n, zero = 0;

	if (!v)
		return;
	n = dt_ring_unread(v->dirty_index, dirty_index, reset_index, v->ring_size, trusted, &w.from);
	if (!n)
		return;
	w.to = dirty_index;
	w.buf = bpf_map_lookup_elem(&gfn_scratch, &zero);
	/*
	 * Without bpf_loop (< 5.17) there is no ring heat: a bounded loop of
	 * 1025 chunks here made 6.1's verifier refuse the object ("back-edge").
	 */
#ifndef DT_NO_CALLBACKS
	if (use_bpf_loop && w.buf && dt_ring_chunks_ok(v->gfns, v->ring_size))
		bpf_loop(dt_ring_chunks(w.from, w.to), heat_chunk, &w, 0);
#endif
	dt_agg_pushes(v, epoch, n, dirty_index, reset_index);
}

static __always_inline void on_push_batch(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	struct dt_vcpu *v = vcpu_get(ring);
	struct dt_ring_ts *rt;

	if (!v)
		return;
	if (!v->tid)
		remember_thread(v, ring, (__u32)bpf_get_current_pid_tgid());
	/* up to the batch just completed: one aligned chunk, read at once */
	vcpu_sync(v, dirty_index - 1, reset_index, true);
	/* the clock and the second map only where a remembered bucket starts */
	if (!dt_ring_ts_starts_bucket(dt_ring_ts_shift(v->ring_size), dirty_index))
		return;
	rt = bpf_map_lookup_elem(&ring_ts, &ring);
	if (rt)
		dt_agg_push_stamp(rt, dirty_index, bpf_ktime_get_ns());
}

static __always_inline void on_reset(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	struct dt_vcpu *v = vcpu_get(ring);

	if (v)
		dt_agg_reset(v, bpf_map_lookup_elem(&ring_ts, &ring), epoch, dirty_index, reset_index,
			     bpf_ktime_get_ns());
}

static __always_inline void on_full_exit(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	struct dt_vcpu *v = vcpu_get(ring);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!v)
		return;
	remember_thread(v, ring, tid);
	vcpu_sync(v, dirty_index, reset_index, true);
	dt_agg_full_exit(v, bpf_ktime_get_ns());
	dt_reentry_arm(tid, ring);
}

/* --- the dirty ring tracepoints, as tp_btf and raw_tp (lib/hooks.bpf.h) --- */

#include "lib/ring_hooks.bpf.h"

/* --- every return of KVM_RUN to userspace: the vCPU thread catches up --- */

SEC("tp/kvm/kvm_userspace_exit")
int userspace_exit(struct userspace_exit_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *ring = dt_thread_ring(tid);
	struct kvm_dirty_ring *r;
	struct dt_vcpu *v;

	if (!ring)
		return 0;
	v = bpf_map_lookup_elem(&vcpus, ring);
	if (!v || v->tid != tid)
		return 0;
	v->userspace_exits++;
	r = (void *)*ring;
	vcpu_sync(v, dt_ring_dirty_index(r, false), dt_ring_reset_index(r, false), false);
	return 0;
}

/* --- KVM ioctls --- */

/*
 * A new VM at the address of a dead one that userspace has not shown as
 * exited yet: move what the dead VM left to grave keys (DT_IS_GRAVE_KEY), so
 * it is still shown once and not counted as the new VM's.
 */
struct bury_ctx {
	__u64 kvm;		/* the live key */
	__u64 grave;		/* the dead VM's grave key */
};

#ifndef DT_NO_CALLBACKS

static long bury_vcpu(struct bpf_map *map, __u64 *key, struct dt_vcpu *v, struct bury_ctx *b)
{
	__u64 grave = v->first_seen_ns;

	if (v->vm != b->kvm || DT_IS_GRAVE_KEY(*key))
		return 0;
	v->vm = b->grave;
	v->changes++;
	bpf_map_update_elem(map, &grave, v, BPF_ANY);
	bpf_map_delete_elem(map, key);
	return 0;
}

static long bury_memslot(struct bpf_map *map, struct dt_memslot_key *key, struct dt_memslot *v,
			 struct bury_ctx *b)
{
	struct dt_memslot_key grave = *key;

	if (key->vm != b->kvm)
		return 0;
	grave.vm = b->grave;
	bpf_map_update_elem(map, &grave, v, BPF_ANY);
	bpf_map_delete_elem(map, key);
	return 0;
}

static long bury_heat(struct bpf_map *map, struct dt_heat_key *key, __u64 *v, struct bury_ctx *b)
{
	struct dt_heat_key grave = *key;

	if (key->vm != b->kvm)
		return 0;
	grave.vm = b->grave;
	bpf_map_update_elem(map, &grave, v, BPF_ANY);
	bpf_map_delete_elem(map, key);
	return 0;
}

#endif /* !DT_NO_CALLBACKS */

static __noinline struct dt_vm *vm_get(__u64 kvm, bool from_create, __s32 fd)
{
	struct bury_ctx b = { .kvm = kvm };
	__u64 __attribute__((unused)) prev_created_ns = 0;
	struct dt_vm *vm;

	if (!kvm)
		return NULL;
	vm = bpf_map_lookup_elem(&vms, &kvm);
	if (vm && !from_create)
		return vm;
	if (vm || from_create) {
		if (vm) {
			b.grave = vm->first_seen_ns;
			prev_created_ns = vm->created_ns;
			bpf_map_update_elem(&vms, &b.grave, vm, BPF_ANY);
		}
#ifndef DT_NO_CALLBACKS
		bpf_for_each_map_elem(&vcpus, bury_vcpu, &b, 0);
		bpf_for_each_map_elem(&memslots, bury_memslot, &b, 0);
		bpf_for_each_map_elem(&heat, bury_heat, &b, 0);
#endif
	}
	if (dt_map_init_zero(&vms, &kvm, &zero_vm, BPF_ANY))
		return NULL;
	vm = bpf_map_lookup_elem(&vms, &kvm);
	if (!vm)
		return NULL;
	vm->tgid = bpf_get_current_pid_tgid() >> 32;
	vm->fd = fd;
	vm->first_seen_ns = bpf_ktime_get_ns();
	if (from_create) {
		vm->flags |= DT_VM_FROM_CREATE;
		vm->created_ns = vm->first_seen_ns;
	}
#ifdef DT_NO_CALLBACKS
	/*
	 * Nothing moved: userspace tells a dead VM's entries apart, also those
	 * left when its VM entry was already freed (a vCPU buried in place).
	 */
	if (from_create) {
		vm->flags |= DT_VM_REBORN;
		vm->prev_grave = b.grave;
		vm->prev_created_ns = prev_created_ns;
	}
#endif
	return vm;
}

/*
 * KVM_RUN on fd by thread tid: if fd is a vCPU, that thread runs it. A vCPU of
 * a VM older than dirtytop that has not pushed yet is seen here first.
 */
static __noinline void learn_thread(__u32 fd, __u32 tid)
{
	__u64 priv = fd_vcpu(fd), ring;
	struct dt_vcpu *v;

	if (!priv)
		return;
	ring = dt_vcpu_ring_addr(priv);
	v = vcpu_get(ring);
	if (v)
		remember_thread(v, ring, tid);
}

SEC("tp/syscalls/sys_enter_ioctl")
int ioctl_enter(struct sys_enter_ioctl_args *ctx)
{
	__u32 cmd = (__u32)ctx->cmd;
	struct dt_ioctl io = {};

	if (!dt_is_kvm_ioctl(cmd))
		return 0;
	if (cmd == DT_KVM_RUN) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u64 ring = dt_reentry_take(tid);
		struct dt_vcpu *v;

		if (!ring) {
			/* a thread not yet known to run a vCPU (one that has not pushed: no dirty
			 * logging, bitmap mode, or idle): its vCPU from the fd, once */
			if (!dt_thread_ring(tid))
				learn_thread((__u32)ctx->fd, tid);
			return 0;
		}
		v = bpf_map_lookup_elem(&vcpus, &ring);
		if (v)
			dt_agg_reentry(v, epoch, bpf_ktime_get_ns());
		return 0;
	}
	if (dt_ioctl_decode(ctx, &io))
		dt_ioctl_begin((__u32)bpf_get_current_pid_tgid(), &io);
	return 0;
}

/*
 * The memslot entry at k of VM vm (may be NULL). In a reborn VM an entry
 * first seen before the VM was created is the dead VM's: moved to its grave
 * key (or dropped, if older than the dead VM too) when the new VM first
 * touches that slot, so no operation of the new VM is classified against it.
 */
static __always_inline struct dt_memslot *memslot_lookup(struct dt_vm *vm, struct dt_memslot_key *k)
{
	struct dt_memslot *ms = bpf_map_lookup_elem(&memslots, k);

	if (ms && vm && (vm->flags & DT_VM_REBORN) && ms->first_seen_ns < vm->created_ns) {
		struct dt_memslot_key grave = *k;

		grave.vm = vm->prev_grave;
		if (vm->prev_grave && ms->first_seen_ns >= vm->prev_created_ns)
			bpf_map_update_elem(&memslots, &grave, ms, BPF_ANY);
		bpf_map_delete_elem(&memslots, k);
		return NULL;
	}
	return ms;
}

static __noinline struct dt_memslot *memslot_get(struct dt_vm *vm, __u64 kvm, __u32 slot)
{
	struct dt_memslot_key k = { .vm = kvm, .slot = slot };
	struct dt_memslot *ms = memslot_lookup(vm, &k);

	if (ms || !kvm)
		return ms;
	dt_map_init_zero(&memslots, &k, &zero_memslot, BPF_NOEXIST);	/* fails if another CPU was first */
	ms = bpf_map_lookup_elem(&memslots, &k);
	if (ms && !ms->first_seen_ns)
		ms->first_seen_ns = bpf_ktime_get_ns();
	return ms;
}

/*
 * A KVM_SET_USER_MEMORY_REGION(2) that succeeded: classify it as KVM does, update the table.
 * Global (verified once, on its own) to keep ioctl_exit within the verifier's limits.
 */
__noinline int memslot_op(struct dt_vm *vm, __u64 kvm, struct dt_ioctl *io, __u64 latency)
{
	struct dt_memslot_key k = { .vm = kvm };
	struct dt_memslot *old;
	__u32 op;

	if (!vm || !io)
		return 0;
	k.slot = io->slot;
	old = memslot_lookup(vm, &k);
	/* the whole table is known: seen from creation, or read from the kernel (vm_iter.bpf.c) */
	bool whole = vm->flags & (DT_VM_FROM_CREATE | DT_VM_SLOTS_RECOVERED);

	if (!io->size)
		op = old && old->known ? DT_SLOT_DELETE : whole ? DT_SLOT_NOOP : DT_SLOT_UNKNOWN;
	else if (!old || !old->known)
		op = whole && !old ? DT_SLOT_CREATE : DT_SLOT_UNKNOWN;
	else if (old->gpa != io->gpa)
		op = DT_SLOT_MOVE;
	else if (old->flags != io->flags)
		op = DT_SLOT_FLAGS;
	else
		op = DT_SLOT_NOOP;

	if (op == DT_SLOT_FLAGS && old) {
		__u32 was = old->flags & DT_MEM_LOG_DIRTY_PAGES, now = io->flags & DT_MEM_LOG_DIRTY_PAGES;

		if (now && !was)
			vm->dirty_log_on++;
		else if (was && !now)
			vm->dirty_log_off++;
	}
	barrier_var(op);
	if (op >= DT_SLOT_OPS)
		return 0;
	vm->slot_ops[op]++;
	dt_hist_add(&vm->slot_op_latency_ns[op], epoch, latency);

	if (!io->size) {
		bpf_map_delete_elem(&memslots, &k);
		return 0;
	}
	old = memslot_get(vm, kvm, io->slot);
	if (!old)
		return 0;
	old->gpa = io->gpa;
	old->size = io->size;
	old->flags = io->flags;
	old->known = 1;
	return 0;
}

/* One 64-byte chunk of a dirty bitmap: 512 pages, one 2 MiB region, into the heat map. */
static __always_inline long popcount_chunk_body(__u32 i, struct dt_bitmap_ctx *ctx)
{
	struct dt_bitmap_walk *w = ctx->w;
	long count = dt_bitmap_chunk(w, i);

	if (count < 0)
		return 1;
	if (count)
		heat_add(w->vm, w->slot, i >> ((heat_shift - 9) & 31), count);
	return 0;
}
DT_LOOP_CALLBACK(popcount_chunk, popcount_chunk_body, struct dt_bitmap_ctx)

/* A KVM_GET_DIRTY_LOG that succeeded: count the dirty pages in the returned bitmap. Global, as above. */
__noinline int bitmap_sync(struct dt_vm *vm, __u64 kvm, struct dt_ioctl *io, __u64 latency)
{
	struct dt_bitmap_walk *w;
	struct dt_memslot *ms;

	if (!vm || !io)
		return 0;
	ms = memslot_get(vm, kvm, io->slot);
	vm->flags |= DT_VM_BITMAP;
	vm->bitmap_syncs++;
	if (!ms)
		return 0;
	ms->get_calls++;
	dt_hist_add(&ms->get_latency_ns, epoch, latency);
	if (!ms->known || !ms->size) {
		ms->get_unsized++;	/* a slot from before dirtytop: its size is unknown */
		return 0;
	}
	w = dt_bitmap_start(io->bitmap, ms->size, DT_VM_HEAT_KEY(vm, kvm), io->slot);
	if (!w) {
		ms->get_unsized++;	/* too large for the walk without bpf_loop: not counted */
		return 0;
	}
	dt_bitmap_walk(w, popcount_chunk, popcount_chunk_body);
	ms->get_dirty_pages += w->total;
	dt_hist_add(&ms->sync_dirty_pages, epoch, w->total);
	vm->bitmap_dirty_pages += w->total;
	return 0;
}

SEC("tp/syscalls/sys_exit_ioctl")
int ioctl_exit(struct sys_exit_ioctl_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dt_ioctl *io = dt_ioctl_pending(tid);
	__s64 ret = ctx->ret;
	struct dt_vm *vm;
	__u64 now, priv;

	if (!io)
		return 0;
	now = bpf_ktime_get_ns();
	if (ret < 0)
		goto out;

	switch (io->cmd) {
	case DT_KVM_CREATE_VM:
		vm_get(fd_private_data((__u32)ret), true, (__s32)ret);
		break;
	case DT_KVM_CREATE_VCPU:
		priv = fd_private_data((__u32)ret);
		if (priv)
			vcpu_create(dt_vcpu_ring_addr(priv), true);
		break;
	case DT_KVM_ENABLE_CAP:
		vm = vm_get(fd_private_data(io->fd), false, (__s32)io->fd);
		if (vm) {
			vm->flags |= DT_VM_RING;
			if (io->cap == DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
				vm->flags |= DT_VM_RING_ACQ_REL;
			vm->ring_bytes = (__u32)io->cap_arg0;
		}
		break;
	case DT_KVM_RESET_DIRTY_RINGS:
		vm = vm_get(fd_private_data(io->fd), false, (__s32)io->fd);
		if (vm) {
			dt_agg_reset_call(vm, epoch, ret, now - io->start_ns);
			dt_hist_add(&vm->reset_entries_hist, epoch, ret);
		}
		break;
	case DT_KVM_SET_USER_MEMORY_REGION:
	case DT_KVM_SET_USER_MEMORY_REGION2:
		priv = fd_private_data(io->fd);
		vm = vm_get(priv, false, (__s32)io->fd);
		if (vm)
			memslot_op(vm, priv, io, now - io->start_ns);
		break;
	case DT_KVM_GET_DIRTY_LOG:
		priv = fd_private_data(io->fd);
		vm = vm_get(priv, false, (__s32)io->fd);
		if (vm)
			bitmap_sync(vm, priv, io, now - io->start_ns);
		break;
	case DT_KVM_CLEAR_DIRTY_LOG: {
		struct dt_memslot *ms;

		priv = fd_private_data(io->fd);
		vm = vm_get(priv, false, (__s32)io->fd);
		ms = memslot_get(vm, priv, io->slot);
		if (vm)
			vm->clear_calls++;
		if (ms) {
			ms->clear_calls++;
			ms->clear_pages += io->num_pages;
			dt_hist_add(&ms->clear_latency_ns, epoch, now - io->start_ns);
			dt_hist_add(&ms->clear_chunk_pages, epoch, io->num_pages);
		}
		break;
	}
	}
out:
	dt_ioctl_end(tid);
	return 0;
}
