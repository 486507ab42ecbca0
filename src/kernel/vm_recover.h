/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* VMs that predate dirtytop: their memslot tables and vCPUs, read from the kernel once at start. */
#ifndef DT_KERNEL_VM_RECOVER_H
#define DT_KERNEL_VM_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

struct vm_recover_stats {
	unsigned vms;		/* VMs whose table was read whole */
	unsigned incomplete;	/* VMs whose table could not be read whole (left unknown) */
	unsigned slots;		/* memslots written */
	unsigned vcpus;		/* vCPUs written */
	unsigned vcpu_tids;	/* ... of which the last KVM_RUN thread is known */
};

/* The live object's maps the iterator writes (their fds). */
struct vm_recover_maps {
	int vms, memslots, vcpus, ring_ts, threads, reentry_pending;
};

/*
 * Run bpf/vm_iter.bpf.c over every task's open files, writing into the live
 * object's maps. 0, or -errno with a reason in why when the iterator does not
 * load or run on this kernel.
 */
int vm_recover(const struct vm_recover_maps *maps, bool verbose, struct vm_recover_stats *st, char *why,
	       size_t whylen);

#endif
