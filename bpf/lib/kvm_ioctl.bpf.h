/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The KVM ioctls both objects follow, decoded once at sys_enter_ioctl into
 * a struct dt_ioctl and kept per thread until sys_exit_ioctl, where the
 * object sees the result. KVM_RUN is not kept: see kvm_run.bpf.h.
 */
#ifndef DT_KVM_IOCTL_BPF_H
#define DT_KVM_IOCTL_BPF_H

#include <bpf/bpf_helpers.h>
#include "dt_kvm.h"
#include "kvm_layouts.bpf.h"

/* An ioctl in flight; each field has one meaning, set only by the commands named. */
struct dt_ioctl {
	__u64 start_ns;		/* sys_enter, after decoding */
	__u32 cmd;
	__u32 fd;		/* /dev/kvm (CREATE_VM), else the VM's */
	__u32 slot;		/* SET_USER_MEMORY_REGION(2), GET/CLEAR_DIRTY_LOG: as_id << 16 | id */
	__u32 flags;		/* SET_USER_MEMORY_REGION(2): KVM_MEM_* */
	__u64 gpa;		/* SET_USER_MEMORY_REGION(2): guest_phys_addr */
	__u64 size;		/* SET_USER_MEMORY_REGION(2): memory_size, 0 deletes the slot */
	__u64 bitmap;		/* GET_DIRTY_LOG: user address of the bitmap to fill */
	__u64 first_page;	/* CLEAR_DIRTY_LOG: first page cleared, in the slot */
	__u32 num_pages;	/* CLEAR_DIRTY_LOG: pages covered */
	__u32 cap;		/* ENABLE_CAP: DT_KVM_CAP_DIRTY_LOG_RING(_ACQ_REL) */
	__u64 cap_arg0;		/* ENABLE_CAP: args[0], the ring's bytes per vCPU */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);		/* tid */
	__type(value, struct dt_ioctl);
} inflight SEC(".maps");

/* Filter first: every ioctl of every process passes here. */
static __always_inline bool dt_is_kvm_ioctl(__u32 cmd)
{
	return ((cmd >> 8) & 0xff) == DT_KVMIO;
}

/*
 * Decode a KVM ioctl other than KVM_RUN into io (zeroed by the caller).
 * False for the ioctls not followed, for KVM_ENABLE_CAP of another cap,
 * and when the argument cannot be read.
 */
static __always_inline bool dt_ioctl_decode(const struct sys_enter_ioctl_args *ctx, struct dt_ioctl *io)
{
	__u32 cmd = (__u32)ctx->cmd;
	void *arg = (void *)ctx->arg;

	switch (cmd) {
	case DT_KVM_CREATE_VM:
	case DT_KVM_CREATE_VCPU:
	case DT_KVM_RESET_DIRTY_RINGS:
		break;
	case DT_KVM_ENABLE_CAP: {
		struct kvm_enable_cap_user c = {};

		if (bpf_probe_read_user(&c, sizeof(c), arg))
			return false;
		if (c.cap != DT_KVM_CAP_DIRTY_LOG_RING && c.cap != DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL)
			return false;
		io->cap = c.cap;
		io->cap_arg0 = c.args[0];
		break;
	}
	case DT_KVM_SET_USER_MEMORY_REGION:
	case DT_KVM_SET_USER_MEMORY_REGION2: {
		struct kvm_memory_region_user r = {};

		if (bpf_probe_read_user(&r, sizeof(r), arg))
			return false;
		io->slot = r.slot;
		io->flags = r.flags;
		io->gpa = r.guest_phys_addr;
		io->size = r.memory_size;
		break;
	}
	case DT_KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log_user l = {};

		if (bpf_probe_read_user(&l, sizeof(l), arg))
			return false;
		io->slot = l.slot;
		io->bitmap = l.dirty_bitmap;
		break;
	}
	case DT_KVM_CLEAR_DIRTY_LOG: {
		struct kvm_clear_dirty_log_user l = {};

		if (bpf_probe_read_user(&l, sizeof(l), arg))
			return false;
		io->slot = l.slot;
		io->first_page = l.first_page;
		io->num_pages = l.num_pages;
		break;
	}
	default:
		return false;
	}
	io->cmd = cmd;
	io->fd = (__u32)ctx->fd;
	return true;
}

static __always_inline bool dt_ioctl_is_memslot(__u32 cmd)
{
	return cmd == DT_KVM_SET_USER_MEMORY_REGION || cmd == DT_KVM_SET_USER_MEMORY_REGION2;
}

/* Keep io until the thread's sys_exit_ioctl; its latency counts from now. */
static __always_inline long dt_ioctl_begin(__u32 tid, struct dt_ioctl *io)
{
	io->start_ns = bpf_ktime_get_ns();
	return bpf_map_update_elem(&inflight, &tid, io, BPF_ANY);
}

/* At sys_exit_ioctl: the ioctl the thread began, or NULL. dt_ioctl_end() once done with it. */
static __always_inline struct dt_ioctl *dt_ioctl_pending(__u32 tid)
{
	return bpf_map_lookup_elem(&inflight, &tid);
}

static __always_inline void dt_ioctl_end(__u32 tid)
{
	bpf_map_delete_elem(&inflight, &tid);
}

#endif /* DT_KVM_IOCTL_BPF_H */
