// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VMs that predate dirtytop: an iterator over every task's open files finds
 * the KVM VM files ("anon_inode:kvm-vm"), and from each struct kvm writes
 * what the hooks would have seen at creation into the live object's maps
 * (src/kernel/vm_recover.c reuses them): the VM (tgid, fd, ring size) and its
 * memslot table, read from kvm->memslots[as_id]; and from each vCPU file
 * ("anon_inode:kvm-vcpu:N", private_data a struct kvm_vcpu) the vCPU: its id,
 * ring size and soft limit, and the thread that last called KVM_RUN
 * (vcpu->pid). Run once at start, after the live hooks are attached, so a
 * change from then on is the hooks'.
 *
 * Two memslot layouts, chosen by CO-RE: since 5.17 (scalable memslots) a
 * struct kvm_memslots holds the slots in a 128-bucket hash by id (id_hash,
 * linked through id_node[node_idx]); before, an array sorted by gfn
 * (memslots[used_slots]).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dt_live.h"
#include "dt_agg.h"

#define DT_MAX_VCPU_THREADS 8192
#include "lib/maps.bpf.h"
#include "lib/live_maps.bpf.h"
#include "lib/ring.bpf.h"
#include "lib/kvm_run.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* VMs whose table was recovered, and those whose table could not be read whole. */
__u32 vms_recovered = 0, vms_incomplete = 0, slots_recovered = 0;
/* vCPUs of VMs older than dirtytop, and those of them whose KVM_RUN thread is known */
__u32 vcpus_recovered = 0, vcpu_tids_recovered = 0;

/* before 5.17 (pre "scalable memslots") */
struct kvm_memslots___old {
	short id_to_index[1];	/* [KVM_MEM_SLOTS_NUM]: its size gives the count */
	int used_slots;
	struct kvm_memory_slot memslots[];
} __attribute__((preserve_access_index));

/* the ring size per vCPU in bytes (5.11; not in every build's vmlinux.h) */
struct kvm___ring {
	u32 dirty_ring_size;
} __attribute__((preserve_access_index));

#define ID_HASH_BUCKETS 128
#define MAX_CHAIN 16			/* slots per hash bucket walked */
#define MAX_OLD_SLOTS 512		/* used_slots walked in the old array */
/* x86: the last 3 ids are KVM's own (APIC access page, TSS, identity map) */
#define KVM_INTERNAL_SLOTS 3
#define KVM_MEM_SLOTS_NUM_NEW 32767	/* SHRT_MAX since 5.15 */

static __always_inline void add_slot(__u64 kvm, __u32 as_id, __u64 slot)
{
	struct kvm_memory_slot *s = (void *)slot;
	struct dt_memslot_key k = { .vm = kvm };
	struct dt_memslot *ms;

	k.slot = as_id << 16 | (__u16)BPF_CORE_READ(s, id);
	ms = bpf_map_lookup_elem(&memslots, &k);
	if (!ms) {
		dt_map_init_zero(&memslots, &k, &zero_memslot, BPF_NOEXIST);
		ms = bpf_map_lookup_elem(&memslots, &k);
		if (!ms)
			return;
		ms->first_seen_ns = bpf_ktime_get_ns();
	}
	if (ms->known)		/* a hook saw it change since attaching */
		return;
	ms->gpa = BPF_CORE_READ(s, base_gfn) << 12;
	ms->size = (__u64)BPF_CORE_READ(s, npages) << 12;
	ms->flags = BPF_CORE_READ(s, flags) & 0xffff;	/* KVM_MEM_*; above are KVM's own */
	ms->known = 1;
	slots_recovered++;
}

struct bucket_walk {
	__u64 kvm;
	__u64 slots;		/* struct kvm_memslots * */
	__u32 as_id;
	__u32 node_idx;
	bool incomplete;
};

/* One bucket of id_hash: its chain of slots. */
static long walk_bucket(__u32 b, struct bucket_walk *w)
{
	__u64 node_off = bpf_core_field_offset(struct kvm_memory_slot, id_node) +
			 (w->node_idx & 1) * sizeof(struct hlist_node);
	struct hlist_node *node = NULL;
	__u64 head = w->slots + bpf_core_field_offset(struct kvm_memslots, id_hash) +
		     (__u64)(b & (ID_HASH_BUCKETS - 1)) * sizeof(struct hlist_head);

	bpf_probe_read_kernel(&node, sizeof(node), (void *)head);
	for (int i = 0; i < MAX_CHAIN && node; i++) {
		__u64 slot = (__u64)node - node_off;
		short id = BPF_CORE_READ((struct kvm_memory_slot *)slot, id);

		if (id >= 0 && id < KVM_MEM_SLOTS_NUM_NEW - KVM_INTERNAL_SLOTS)
			add_slot(w->kvm, w->as_id, slot);
		node = BPF_CORE_READ(node, next);
	}
	if (node)
		w->incomplete = true;
	return 0;
}

/*
 * Before 5.17. Not inlined: its relocations must stay behind the
 * bpf_core_field_exists() test (libbpf poisons them on newer kernels).
 */
static __noinline bool walk_old_array(__u64 kvm, __u32 as_id, __u64 slots)
{
	struct kvm_memslots___old *old = (void *)slots;
	int used = BPF_CORE_READ(old, used_slots);
	__u32 nr_ids = bpf_core_field_size(struct kvm_memslots___old, id_to_index) / sizeof(short);
	__u64 base = slots + bpf_core_field_offset(struct kvm_memslots___old, memslots);
	__u64 size = bpf_core_type_size(struct kvm_memory_slot);

	for (int i = 0; i < MAX_OLD_SLOTS && i < used; i++) {
		__u64 slot = base + i * size;
		short id = BPF_CORE_READ((struct kvm_memory_slot *)slot, id);

		if (id >= 0 && id < nr_ids - KVM_INTERNAL_SLOTS)
			add_slot(kvm, as_id, slot);
	}
	return used <= MAX_OLD_SLOTS;
}

/* All slots of one address space; false if they could not all be read. */
static __always_inline bool walk_slots(__u64 kvm, __u32 as_id, __u64 slots)
{
	if (bpf_core_field_exists(struct kvm_memslots, id_hash)) {
		struct bucket_walk w = { .kvm = kvm, .slots = slots, .as_id = as_id };

		w.node_idx = BPF_CORE_READ((struct kvm_memslots *)slots, node_idx);
		/* the hash layout came with 5.17, as did bpf_loop */
		bpf_loop(ID_HASH_BUCKETS, walk_bucket, &w, 0);
		return !w.incomplete;
	}
	if (bpf_core_field_exists(struct kvm_memslots___old, used_slots))
		return walk_old_array(kvm, as_id, slots);
	return false;
}

enum kvm_file { NOT_KVM, KVM_VM_FILE, KVM_VCPU_FILE };

/* "kvm-vm", or "kvm-vcpu:<id>" (the anon inode names kvm_main.c gives them) */
static __always_inline enum kvm_file kvm_file_kind(struct file *file)
{
	const unsigned char *name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	char buf[16] = {};
	long n = bpf_probe_read_kernel_str(buf, sizeof(buf), name);

	if (n < 7 || buf[0] != 'k' || buf[1] != 'v' || buf[2] != 'm' || buf[3] != '-' || buf[4] != 'v')
		return NOT_KVM;
	if (n == 7 && buf[5] == 'm')
		return KVM_VM_FILE;
	if (n > 10 && buf[5] == 'c' && buf[6] == 'p' && buf[7] == 'u' && buf[8] == ':')
		return KVM_VCPU_FILE;
	return NOT_KVM;
}

/* struct kvm_vcpu's pid: the thread of the last KVM_RUN (NULL before the first), since 2.6.x */
struct kvm_vcpu___pid {
	struct pid *pid;
} __attribute__((preserve_access_index));

/* The global tid of the vCPU's last KVM_RUN thread, 0 if none or unknown. */
static __always_inline __u32 vcpu_last_run_tid(__u64 vcpu)
{
	struct pid *pid;

	if (!bpf_core_field_exists(struct kvm_vcpu___pid, pid))
		return 0;
	pid = BPF_CORE_READ((struct kvm_vcpu___pid *)vcpu, pid);
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);	/* level 0: the initial pid namespace */
}

/*
 * A vCPU file: the vCPU as the live object's vcpu_create would have made it.
 * A hook may have made it since attaching (a ring reset names every ring of
 * the VM, from the reaper's thread): then only its thread is filled in.
 * Counting starts at the ring's indices now.
 */
static __always_inline int recover_vcpu(__u64 vcpu, __u32 tgid)
{
	__u64 ring = dt_vcpu_ring_addr(vcpu);
	struct dt_ring_ts *rt;
	struct dt_vcpu *v = bpf_map_lookup_elem(&vcpus, &ring);

	if (!v) {
		/* fails if a hook created it just now: then fill in below */
		dt_map_init_zero(&vcpus, &ring, &zero_vcpu, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&vcpus, &ring);
		if (!v)
			return 0;
		if (!v->first_seen_ns) {
			dt_vcpu_start(v, ring, tgid);
			v->flags |= DT_VCPU_RECOVERED;
			v->changes++;
			if (!dt_map_init_zero(&ring_ts, &ring, &zero_ring_ts, BPF_NOEXIST)) {
				rt = bpf_map_lookup_elem(&ring_ts, &ring);
				if (rt)
					rt->shift = dt_ring_ts_shift(v->ring_size);
			}
		}
	}
	if (v->flags & DT_VCPU_FROM_CREATE)
		return 0;
	vcpus_recovered++;
	if (!v->tid) {
		__u32 tid = vcpu_last_run_tid(vcpu);

		if (tid) {
			v->tid = tid;
			v->changes++;
			/* what remember_thread would have noted: kvm_userspace_exit names no vCPU */
			dt_thread_set_ring(tid, ring);
		}
	}
	if (v->tid)
		vcpu_tids_recovered++;
	return 0;
}

SEC("iter/task_file")
int recover_vms(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	__u64 kvm, ms_off = bpf_core_field_offset(struct kvm, memslots);
	__u32 nr_as = bpf_core_field_size(struct kvm, memslots) / sizeof(void *);
	bool complete = true;
	struct dt_vm *vm;

	enum kvm_file kind;

	if (!file || !task)
		return 0;
	kind = kvm_file_kind(file);
	if (kind == NOT_KVM)
		return 0;
	kvm = (__u64)BPF_CORE_READ(file, private_data);
	if (!kvm)
		return 0;
	if (kind == KVM_VCPU_FILE)
		return recover_vcpu(kvm, BPF_CORE_READ(task, tgid));
	vm = bpf_map_lookup_elem(&vms, &kvm);
	if (vm && (vm->flags & (DT_VM_FROM_CREATE | DT_VM_SLOTS_RECOVERED)))
		return 0;	/* seen from creation, or recovered through another fd */
	if (!vm) {
		dt_map_init_zero(&vms, &kvm, &zero_vm, BPF_NOEXIST);
		vm = bpf_map_lookup_elem(&vms, &kvm);
		if (!vm)
			return 0;
		vm->tgid = BPF_CORE_READ(task, tgid);
		vm->fd = ctx->fd;
		vm->first_seen_ns = bpf_ktime_get_ns();
	}
	if (bpf_core_field_exists(struct kvm___ring, dirty_ring_size) && !vm->ring_bytes) {
		vm->ring_bytes = BPF_CORE_READ((struct kvm___ring *)kvm, dirty_ring_size);
		if (vm->ring_bytes)
			vm->flags |= DT_VM_RING;
	}
	for (__u32 as_id = 0; as_id < 4 && as_id < nr_as; as_id++) {
		__u64 slots = 0;

		bpf_probe_read_kernel(&slots, sizeof(slots), (void *)(kvm + ms_off + as_id * sizeof(void *)));
		if (slots && !walk_slots(kvm, as_id, slots))
			complete = false;
	}
	if (complete) {
		vm->flags |= DT_VM_SLOTS_RECOVERED;
		vms_recovered++;
	} else {
		vms_incomplete++;
	}
	return 0;
}
