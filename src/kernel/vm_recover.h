/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* VMs that predate dirtytop: their memslot tables, read from the kernel once at start. */
#ifndef DT_KERNEL_VM_RECOVER_H
#define DT_KERNEL_VM_RECOVER_H

#include <stdbool.h>
#include <stddef.h>

struct vm_recover_stats {
	unsigned vms;		/* VMs whose table was read whole */
	unsigned incomplete;	/* VMs whose table could not be read whole (left unknown) */
	unsigned slots;		/* memslots written */
};

/*
 * Run bpf/vm_iter.bpf.c over every task's open files, writing into the live
 * object's vms and memslots maps (their fds). 0, or -errno with a reason in
 * why when the iterator does not load or run on this kernel.
 */
int vm_recover(int vms_fd, int memslots_fd, bool verbose, struct vm_recover_stats *st, char *why,
	       size_t whylen);

#endif
