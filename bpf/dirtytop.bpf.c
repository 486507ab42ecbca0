// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dirtytop kernel side: aggregate KVM dirty ring activity in maps.
 *
 * The push handler runs once per dirtied guest page, on the hottest path KVM
 * has: one hash lookup, a few stores, no helper calls in the common case.
 * Nothing is streamed per event.
 *
 * Each hook exists twice: tp_btf (typed, direct loads) and raw_tp (the
 * fallback, loads through bpf_probe_read_kernel). Userspace loads one set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dirtytop.h"
#include "dt_agg.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_VCPUS 8192
#define MAX_VMS 1024

/* Written by userspace at every refresh (see struct dt_epoch_max). */
__u32 epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VCPUS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm_dirty_ring * */
	__type(value, struct dt_vcpu);
} vcpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VCPUS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm_dirty_ring * */
	__type(value, struct dt_ring_ts);
} ring_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VMS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* struct kvm * */
	__type(value, struct dt_vm);
} vms SEC(".maps");

/* vCPU thread -> its ring, for kvm_userspace_exit (which names no vCPU). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_VCPUS);
	__type(key, __u32);
	__type(value, __u64);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);		/* tid */
	__type(value, struct dt_ioctl);
} inflight SEC(".maps");

/* Zeroed templates: the values are too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_vcpu);
} zero_vcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_vm);
} zero_vm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_ring_ts);
} zero_ring_ts SEC(".maps");

static __always_inline void remember_thread(struct dt_vcpu *v, __u64 ring)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (v->tid == tid)
		return;
	v->tid = tid;
	bpf_map_update_elem(&threads, &tid, &ring, BPF_ANY);
}

/*
 * Create the entry of a ring seen for the first time (a VM that existed
 * before dirtytop, or a new vCPU). Slow path: BPF_CORE_READ is fine here.
 */
static __noinline struct dt_vcpu *vcpu_create(__u64 ring_addr, bool from_create)
{
	struct kvm_dirty_ring *ring = (void *)ring_addr;
	struct kvm_vcpu *vcpu;
	struct dt_vcpu *v;
	struct dt_ring_ts *rt;
	__u32 zero = 0, size;
	void *tmpl;

	tmpl = bpf_map_lookup_elem(&zero_vcpu, &zero);
	if (!tmpl)
		return NULL;
	/* from KVM_CREATE_VCPU: replace whatever a dead vCPU left here */
	if (bpf_map_update_elem(&vcpus, &ring_addr, tmpl,
				from_create ? BPF_ANY : BPF_NOEXIST) &&
	    !from_create)
		return bpf_map_lookup_elem(&vcpus, &ring_addr);
	v = bpf_map_lookup_elem(&vcpus, &ring_addr);
	if (!v)
		return NULL;

	vcpu = (void *)(ring_addr - bpf_core_field_offset(struct kvm_vcpu, dirty_ring));
	v->vm = (__u64)BPF_CORE_READ(vcpu, kvm);
	v->tgid = bpf_get_current_pid_tgid() >> 32;
	v->vcpu_id = BPF_CORE_READ(ring, index);
	size = BPF_CORE_READ(ring, size);
	v->ring_size = size;
	v->soft_limit = BPF_CORE_READ(ring, soft_limit);
	v->dirty_index = BPF_CORE_READ(ring, dirty_index);
	v->reset_index = BPF_CORE_READ(ring, reset_index);
	v->first_seen_ns = bpf_ktime_get_ns();
	if (from_create) {
		v->flags |= DT_VCPU_FROM_CREATE;
		v->created_ns = v->first_seen_ns;
	}

	tmpl = bpf_map_lookup_elem(&zero_ring_ts, &zero);
	if (tmpl && !bpf_map_update_elem(&ring_ts, &ring_addr, tmpl, BPF_ANY)) {
		rt = bpf_map_lookup_elem(&ring_ts, &ring_addr);
		if (rt)
			rt->shift = dt_ring_ts_shift(size);
	}
	return v;
}

static __always_inline struct dt_vcpu *vcpu_get(__u64 ring)
{
	struct dt_vcpu *v = bpf_map_lookup_elem(&vcpus, &ring);

	return v ? v : vcpu_create(ring, false);
}

static __always_inline void on_push(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	struct dt_vcpu *v = vcpu_get(ring);
	struct dt_ring_ts *rt;

	if (!v)
		return;
	if (!v->tid)
		remember_thread(v, ring);
	rt = bpf_map_lookup_elem(&ring_ts, &ring);
	if (dt_agg_push(v, rt, epoch, dirty_index, reset_index) && rt)
		dt_agg_push_stamp(rt, dirty_index, bpf_ktime_get_ns());
}

static __always_inline void on_reset(__u64 ring, __u32 dirty_index, __u32 reset_index)
{
	struct dt_vcpu *v = vcpu_get(ring);

	if (v)
		dt_agg_reset(v, bpf_map_lookup_elem(&ring_ts, &ring), epoch, dirty_index, reset_index,
			     bpf_ktime_get_ns());
}

static __always_inline void on_full_exit(__u64 ring)
{
	struct dt_vcpu *v = vcpu_get(ring);

	if (!v)
		return;
	remember_thread(v, ring);
	dt_agg_full_exit(v, bpf_ktime_get_ns());
}

/* --- tp_btf: typed arguments, direct loads --- */

SEC("tp_btf/kvm_dirty_ring_push")
int BPF_PROG(push_btf, struct kvm_dirty_ring *ring, u32 slot, u64 offset)
{
	on_push((__u64)ring, ring->dirty_index, ring->reset_index);
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
	on_push((__u64)ring, BPF_CORE_READ(ring, dirty_index),
		BPF_CORE_READ(ring, reset_index));
	return 0;
}

SEC("raw_tp/kvm_dirty_ring_reset")
int BPF_PROG(reset_raw, struct kvm_dirty_ring *ring)
{
	on_reset((__u64)ring, BPF_CORE_READ(ring, dirty_index),
		 BPF_CORE_READ(ring, reset_index));
	return 0;
}

SEC("raw_tp/kvm_dirty_ring_exit")
int BPF_PROG(exit_raw, struct kvm_vcpu *vcpu)
{
	on_full_exit((__u64)vcpu + bpf_core_field_offset(struct kvm_vcpu, dirty_ring));
	return 0;
}

/* --- every return of KVM_RUN to userspace --- */

struct userspace_exit_args {
	__u64 common;
	__u32 reason;
	__s32 err;
};

SEC("tp/kvm/kvm_userspace_exit")
int userspace_exit(struct userspace_exit_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *ring = bpf_map_lookup_elem(&threads, &tid);
	struct dt_vcpu *v;

	if (!ring)
		return 0;
	v = bpf_map_lookup_elem(&vcpus, ring);
	if (v && v->tid == tid)
		v->userspace_exits++;
	return 0;
}

/* --- KVM ioctls --- */

struct sys_enter_ioctl_args {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 fd;
	__u64 cmd;
	__u64 arg;
};

struct sys_exit_ioctl_args {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

/* The private_data of the file behind fd in the current task: struct kvm * or struct kvm_vcpu *. */
static __always_inline __u64 fd_private_data(__u32 fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	return (__u64)BPF_CORE_READ(file, private_data);
}

static __noinline struct dt_vm *vm_get(__u64 kvm, bool from_create, __s32 fd)
{
	struct dt_vm *vm;
	__u32 zero = 0;
	void *tmpl;

	if (!kvm)
		return NULL;
	vm = bpf_map_lookup_elem(&vms, &kvm);
	if (vm && !from_create)
		return vm;
	tmpl = bpf_map_lookup_elem(&zero_vm, &zero);
	if (!tmpl || bpf_map_update_elem(&vms, &kvm, tmpl, BPF_ANY))
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
	return vm;
}

struct kvm_enable_cap_user {
	__u32 cap;
	__u32 flags;
	__u64 args[4];
};

SEC("tp/syscalls/sys_enter_ioctl")
int ioctl_enter(struct sys_enter_ioctl_args *ctx)
{
	__u32 cmd = (__u32)ctx->cmd;
	struct dt_ioctl io = {};
	__u32 tid;

	/* Only KVM ioctls, and never KVM_RUN (once per guest exit): filter first. */
	if (((cmd >> 8) & 0xff) != DT_KVMIO || cmd == DT_KVM_RUN)
		return 0;
	switch (cmd) {
	case DT_KVM_CREATE_VM:
	case DT_KVM_CREATE_VCPU:
	case DT_KVM_ENABLE_CAP:
	case DT_KVM_RESET_DIRTY_RINGS:
		break;
	default:
		return 0;
	}
	io.start_ns = bpf_ktime_get_ns();
	io.cmd = cmd;
	io.fd = (__u32)ctx->fd;
	io.arg = ctx->arg;
	if (cmd == DT_KVM_ENABLE_CAP) {
		struct kvm_enable_cap_user cap = {};

		if (bpf_probe_read_user(&cap, sizeof(cap), (void *)ctx->arg))
			return 0;
		if (cap.cap != DT_KVM_CAP_DIRTY_LOG_RING &&
		    cap.cap != DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
			return 0;
		io.cap = cap.cap;
		io.cap_arg0 = cap.args[0];
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&inflight, &tid, &io, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_ioctl")
int ioctl_exit(struct sys_exit_ioctl_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dt_ioctl *io = bpf_map_lookup_elem(&inflight, &tid);
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
			vcpu_create(priv + bpf_core_field_offset(struct kvm_vcpu, dirty_ring), true);
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
		if (vm)
			dt_agg_reset_call(vm, epoch, ret, now - io->start_ns);
		break;
	}
out:
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}
