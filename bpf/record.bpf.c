// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop record`, kernel side: stream every dirty ring event through a BPF
 * ring buffer (include/record.h). The push handler runs once per dirtied guest
 * page: one hash lookup, one reserve/submit, a handful of stores. When the
 * ring buffer is full the event is counted, per CPU and per event type, in
 * `counters`; userspace writes those counts into the file.
 *
 * Rings (vCPUs) and VMs are numbered here with small ids; events carry the
 * ids, never kernel addresses. What userspace needs to know about an id
 * (vCPU id, thread, ring size, ...) is kept in ring_meta / vm_meta, written
 * before the first event naming the id is submitted.
 *
 * Like bpf/dirtytop.bpf.c, the three dirty ring hooks exist as tp_btf and as
 * raw_tp; userspace loads one set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dirtytop.h"
#include "dt_kvm_bpf.h"
#include "record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_RINGS 65536
#define MAX_VMS 4096

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

/* vCPU thread -> its ring, for kvm_userspace_exit (which names no vCPU). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_RINGS);
	__type(key, __u32);
	__type(value, __u64);
} threads SEC(".maps");

/* vCPU threads that took a soft-full exit and have not called KVM_RUN since. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_RINGS);
	__type(key, __u32);			/* tid */
	__type(value, __u64);			/* ring */
} reentry_pending SEC(".maps");

struct rec_inflight {
	__u64 start_ns;
	__u32 cmd;
	__u32 fd;
	__u32 slot;
	__u32 flags;
	__u64 gpa;
	__u64 size;
	__u64 bitmap;		/* GET_DIRTY_LOG: user address of the bitmap (never recorded) */
};

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

struct popcount_state {
	__u64 bitmap;		/* user address */
	__u64 bytes;		/* bitmap length */
	__u64 total;
	__u32 vm_id;
	__u32 slot;
};

/* Per CPU, not on the stack: the verifier then does not track the total through bpf_loop. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct popcount_state);
} popcount_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);			/* tid */
	__type(value, struct rec_inflight);
} inflight SEC(".maps");

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

static __always_inline void count_untracked(__u32 type)
{
	__u32 zero = 0;
	struct dt_rec_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c)
		c->untracked[type & (DT_EV_NTYPES - 1)]++;
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
	struct kvm_dirty_ring *ring = (void *)ring_addr;
	struct kvm_vcpu *vcpu;
	struct dt_rec_ring_meta m = {};
	struct rec_ring r = {};
	__u32 id;

	vcpu = (void *)(ring_addr - bpf_core_field_offset(struct kvm_vcpu, dirty_ring));
	id = __sync_fetch_and_add(&next_ring_id, 1) + 1;
	m.id = id;
	m.vm_id = vm_id_get((__u64)BPF_CORE_READ(vcpu, kvm), VM_GET, -1);
	m.tgid = bpf_get_current_pid_tgid() >> 32;
	m.vcpu_id = BPF_CORE_READ(ring, index);
	m.ring_size = BPF_CORE_READ(ring, size);
	m.soft_limit = BPF_CORE_READ(ring, soft_limit);
	m.dirty_index = BPF_CORE_READ(ring, dirty_index);
	m.reset_index = BPF_CORE_READ(ring, reset_index);
	m.first_seen_ns = bpf_ktime_get_ns();
	if (from_create) {
		m.flags = DT_VCPU_FROM_CREATE;
		m.created_ns = m.first_seen_ns;
	}
	if (bpf_map_update_elem(&ring_meta, &id, &m, BPF_ANY))
		return NULL;
	r.id = id;
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
	bpf_map_update_elem(&threads, &tid, &ring, BPF_ANY);
	m = bpf_map_lookup_elem(&ring_meta, &id);
	if (m)
		m->tid = tid;
	if (!emit)
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(DT_EV_TID);
		return;
	}
	e->h.ts = bpf_ktime_get_ns();
	e->h.id = id;
	e->h.type = DT_EV_TID;
	e->h.as_id = 0;
	e->h.slot = 0;
	e->tid = tid;
	e->arg = 0;
	submit(e);
}

static __always_inline void on_push(__u64 ring, __u32 dirty_index, __u32 reset_index, __u32 slot,
				    __u64 offset)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct dt_ev_push *e;
	struct rec_ring *r;

	if (filtered_out(pid_tgid))
		return;
	r = ring_get(ring);
	if (!r) {
		count_untracked(DT_EV_PUSH);
		return;
	}
	if (!r->tid)
		set_tid(r, ring, (__u32)pid_tgid, true);
	if (!wanted(DT_EV_PUSH))
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(DT_EV_PUSH);
		return;
	}
	e->h.ts = bpf_ktime_get_ns();
	e->h.id = r->id;
	e->h.type = DT_EV_PUSH;
	e->h.as_id = slot >> 16;
	e->h.slot = slot;
	e->dirty_index = dirty_index;
	e->reset_index = reset_index;
	e->offset = offset;
	submit(e);
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
	if (!wanted(DT_EV_RESET))
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(DT_EV_RESET);
		return;
	}
	e->h.ts = bpf_ktime_get_ns();
	e->h.id = r->id;
	e->h.type = DT_EV_RESET;
	e->h.as_id = 0;
	e->h.slot = 0;
	e->dirty_index = dirty_index;
	e->reset_index = reset_index;
	submit(e);
}

static __always_inline void on_full_exit(__u64 ring)
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
	bpf_map_update_elem(&reentry_pending, &tid, &ring, BPF_ANY);
	if (!wanted(DT_EV_FULL))
		return;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(DT_EV_FULL);
		return;
	}
	e->h.ts = bpf_ktime_get_ns();
	e->h.id = r->id;
	e->h.type = DT_EV_FULL;
	e->h.as_id = 0;
	e->h.slot = 0;
	e->tid = tid;
	e->arg = 0;
	submit(e);
}

/* --- tp_btf: typed arguments, direct loads --- */

SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(push_btf, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	on_push((__u64)ring, ring->dirty_index, ring->reset_index, slot, offset);
	return 0;
}

SEC("tp_btf/kvm_dirty_ring_reset")
int BPF_PROG(reset_btf, struct kvm_dirty_ring *ring)
{
	on_reset((__u64)ring, ring->dirty_index, ring->reset_index);
	return 0;
}

SEC("tp_btf/kvm_dirty_ring_exit")
int BPF_PROG(exit_btf, struct kvm_vcpu *vcpu)
{
	on_full_exit((__u64)&vcpu->dirty_ring);
	return 0;
}

/* --- raw_tp: the fallback where tp_btf does not load --- */

SEC("raw_tp/kvm_dirty_ring_push")
int BPF_PROG(push_raw, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	on_push((__u64)ring, BPF_CORE_READ(ring, dirty_index), BPF_CORE_READ(ring, reset_index), slot,
		offset);
	return 0;
}

SEC("raw_tp/kvm_dirty_ring_reset")
int BPF_PROG(reset_raw, struct kvm_dirty_ring *ring)
{
	on_reset((__u64)ring, BPF_CORE_READ(ring, dirty_index), BPF_CORE_READ(ring, reset_index));
	return 0;
}

SEC("raw_tp/kvm_dirty_ring_exit")
int BPF_PROG(exit_raw, struct kvm_vcpu *vcpu)
{
	on_full_exit((__u64)vcpu + bpf_core_field_offset(struct kvm_vcpu, dirty_ring));
	return 0;
}

/* --- every return of KVM_RUN to userspace, for vCPU threads we know --- */

SEC("tp/kvm/kvm_userspace_exit")
int userspace_exit(struct userspace_exit_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dt_ev_tid *e;
	struct rec_ring *r;
	__u64 *ring;

	if (!wanted(DT_EV_UEXIT))
		return 0;
	ring = bpf_map_lookup_elem(&threads, &tid);
	if (!ring)
		return 0;
	r = bpf_map_lookup_elem(&rings, ring);
	if (!r || r->tid != tid)
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(DT_EV_UEXIT);
		return 0;
	}
	e->h.ts = bpf_ktime_get_ns();
	e->h.id = r->id;
	e->h.type = DT_EV_UEXIT;
	e->h.as_id = 0;
	e->h.slot = 0;
	e->tid = tid;
	e->arg = ctx->reason;
	submit(e);
	return 0;
}

/* --- KVM ioctls --- */

struct popcount_ctx {
	struct popcount_state *st;
};

/* One 64-byte chunk of a dirty bitmap: 512 pages, one 2 MiB region: count it, record it. */
static long popcount_chunk(__u32 i, struct popcount_ctx *ctx)
{
	struct popcount_state *c = ctx->st;
	__u64 words[8] = {}, off = (__u64)i * 64, n, count = 0;
	struct dt_ev_region *e;

	if (off >= c->bytes)
		return 1;
	n = c->bytes - off;
	if (n > 64)
		n = 64;
	if (n == 0 || bpf_probe_read_user(words, n, (void *)(c->bitmap + off)))
		return 1;
	for (int w = 0; w < 8; w++)
		count += __builtin_popcountll(words[w]);
	if (!count)
		return 0;
	c->total += count;
	if (!wanted(DT_EV_DIRTYLOG))
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(DT_EV_DIRTYLOG);
		return 0;
	}
	e->h.ts = bpf_ktime_get_ns();
	e->h.id = c->vm_id;
	e->h.type = DT_EV_DIRTYLOG;
	e->h.as_id = c->slot >> 16;
	e->h.slot = c->slot;
	e->region = i;
	e->pages = count;
	submit(e);
	return 0;
}

/*
 * The dirty pages of a KVM_GET_DIRTY_LOG bitmap that was just filled, per 2 MiB
 * region and in total (popcount_scratch.total). Global, so it is verified on its
 * own. Returns 0 when counted, -1 when the slot's size is unknown.
 */
__noinline int dirtylog_count(__u32 vm_id, __u32 slot, __u64 bitmap)
{
	struct slot_key k = { .vm_id = vm_id, .slot = slot };
	struct popcount_state *c;
	struct popcount_ctx ctx;
	__u32 zero = 0;
	__u64 *size, pages;

	size = bpf_map_lookup_elem(&slot_sizes, &k);
	if (!size || !*size)
		return -1;
	c = bpf_map_lookup_elem(&popcount_scratch, &zero);
	if (!c)
		return -1;
	pages = *size >> 12;
	c->bitmap = bitmap;
	c->bytes = ((pages + 63) / 64) * 8;
	c->total = 0;
	c->vm_id = vm_id;
	c->slot = slot;
	ctx.st = c;
	bpf_loop((__u32)((c->bytes + 63) / 64), popcount_chunk, &ctx, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_ioctl")
int ioctl_enter(struct sys_enter_ioctl_args *ctx)
{
	__u32 cmd = (__u32)ctx->cmd, tid;
	__u64 pid_tgid;
	struct rec_inflight io = {};
	void *arg = (void *)ctx->arg;

	/* Only KVM ioctls: filter first. */
	if (((cmd >> 8) & 0xff) != DT_KVMIO)
		return 0;
	if (cmd == DT_KVM_RUN) {
		/* once per return to userspace: one lookup, a hit only after a soft-full exit */
		struct dt_ev_tid *e;
		struct rec_ring *r;
		__u64 *ringp;

		tid = (__u32)bpf_get_current_pid_tgid();
		ringp = bpf_map_lookup_elem(&reentry_pending, &tid);
		if (!ringp)
			return 0;
		r = bpf_map_lookup_elem(&rings, ringp);
		bpf_map_delete_elem(&reentry_pending, &tid);
		if (!r || !wanted(DT_EV_REENTRY))
			return 0;
		e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
		if (!e) {
			count_lost(DT_EV_REENTRY);
			return 0;
		}
		e->h.ts = bpf_ktime_get_ns();
		e->h.id = r->id;
		e->h.type = DT_EV_REENTRY;
		e->h.as_id = 0;
		e->h.slot = 0;
		e->tid = tid;
		e->arg = 0;
		submit(e);
		return 0;
	}
	switch (cmd) {
	case DT_KVM_CREATE_VM:
	case DT_KVM_CREATE_VCPU:
	case DT_KVM_RESET_DIRTY_RINGS:
		break;
	case DT_KVM_ENABLE_CAP: {
		struct kvm_enable_cap_user cap = {};

		if (bpf_probe_read_user(&cap, sizeof(cap), arg))
			return 0;
		if (cap.cap != DT_KVM_CAP_DIRTY_LOG_RING && cap.cap != DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
			return 0;
		io.flags = cap.cap;
		io.gpa = cap.args[0];
		break;
	}
	case DT_KVM_SET_USER_MEMORY_REGION:
	case DT_KVM_SET_USER_MEMORY_REGION2: {
		struct kvm_memory_region_user r = {};

		if (bpf_probe_read_user(&r, sizeof(r), arg))
			return 0;
		io.slot = r.slot;
		io.flags = r.flags;
		io.gpa = r.guest_phys_addr;
		io.size = r.memory_size;
		break;
	}
	case DT_KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log_user l = {};

		if (bpf_probe_read_user(&l, sizeof(l), arg))
			return 0;
		io.slot = l.slot;
		io.bitmap = l.dirty_bitmap;
		break;
	}
	case DT_KVM_CLEAR_DIRTY_LOG: {
		struct kvm_clear_dirty_log_user c = {};

		if (bpf_probe_read_user(&c, sizeof(c), arg))
			return 0;
		io.slot = c.slot;
		io.gpa = c.first_page;
		io.size = c.num_pages;
		break;
	}
	default:
		return 0;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	if (filtered_out(pid_tgid))
		return 0;
	io.start_ns = bpf_ktime_get_ns();
	io.cmd = cmd;
	io.fd = (__u32)ctx->fd;
	tid = (__u32)pid_tgid;
	if (bpf_map_update_elem(&inflight, &tid, &io, BPF_ANY))
		count_untracked(cmd == DT_KVM_SET_USER_MEMORY_REGION || cmd == DT_KVM_SET_USER_MEMORY_REGION2 ?
				DT_EV_MEMSLOT : DT_EV_IOCTL);
	return 0;
}

SEC("tp/syscalls/sys_exit_ioctl")
int ioctl_exit(struct sys_exit_ioctl_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rec_inflight *io = bpf_map_lookup_elem(&inflight, &tid);
	struct dt_rec_vm_meta *vm;
	struct dt_ev_ioctl *e;
	struct rec_ring *r;
	__s64 ret = ctx->ret;
	__u32 vm_id = 0, target = 0, type, zero = 0;
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
				r = ring_create(priv + bpf_core_field_offset(struct kvm_vcpu, dirty_ring), true);
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
				if (io->flags == DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
					vm->flags |= DT_VM_RING_ACQ_REL;
				vm->ring_bytes = (__u32)io->gpa;
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
			struct popcount_state *c = bpf_map_lookup_elem(&popcount_scratch, &zero);

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
	type = io->cmd == DT_KVM_SET_USER_MEMORY_REGION || io->cmd == DT_KVM_SET_USER_MEMORY_REGION2 ?
	       DT_EV_MEMSLOT : DT_EV_IOCTL;
	if (!wanted(type))
		goto out;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count_lost(type);
		goto out;
	}
	e->h.ts = now;
	e->h.id = vm_id;
	e->h.type = type;
	e->h.as_id = 0;
	e->h.slot = 0;
	e->cmd = io->cmd;
	e->tid = tid;
	e->ret = ret;
	e->latency_ns = now - io->start_ns;
	e->target = target;
	e->slot = io->slot;
	e->flags = io->flags;
	e->pad = 0;
	e->gpa = io->gpa;
	e->size = io->size;
	if (io->cmd == DT_KVM_GET_DIRTY_LOG) {
		e->flags = counted ? DT_EV_DIRTYLOG_COUNTED : 0;
		e->size = dirty;
	}
	submit(e);
out:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}
