/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The layouts both BPF objects read: tracepoint arguments, UAPI ioctl
 * arguments and dirty ring entries, and the file behind a descriptor.
 * BPF only; include after vmlinux.h.
 */
#ifndef DT_KVM_LAYOUTS_BPF_H
#define DT_KVM_LAYOUTS_BPF_H

/* tracepoint formats (/sys/kernel/tracing/events/.../format) */
struct userspace_exit_args {
	__u64 common;
	__u32 reason;
	__s32 err;
};

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

/* UAPI argument layouts (include/uapi/linux/kvm.h) */
struct kvm_enable_cap_user {
	__u32 cap;
	__u32 flags;
	__u64 args[4];
};

/* the common prefix of kvm_userspace_memory_region and ..._region2 */
struct kvm_memory_region_user {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
};

struct kvm_dirty_log_user {
	__u32 slot;
	__u32 padding1;
	__u64 dirty_bitmap;
};

struct kvm_clear_dirty_log_user {
	__u32 slot;
	__u32 num_pages;
	__u64 first_page;
	__u64 dirty_bitmap;
};

/* an entry of a dirty ring: struct kvm_dirty_gfn (UAPI) */
struct dt_gfn {
	__u32 flags;
	__u32 slot;
	__u64 offset;
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

/*
 * The struct kvm_vcpu of fd, when fd is a KVM vCPU (its anon inode is named
 * "kvm-vcpu:N"), else 0: for an ioctl number another driver could use too.
 */
static __always_inline __u64 fd_vcpu(__u32 fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	const unsigned char *name;
	char buf[9];

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (!name || bpf_probe_read_kernel(buf, sizeof(buf), name))
		return 0;
	for (int i = 0; i < (int)sizeof(buf); i++)
		if (buf[i] != "kvm-vcpu:"[i])
			return 0;
	return (__u64)BPF_CORE_READ(file, private_data);
}

#endif /* DT_KVM_LAYOUTS_BPF_H */
