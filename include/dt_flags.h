/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What dirtytop saw of a VM or a vCPU, as flag bits: in the live maps
 * (dt_vm.flags, dt_vcpu.flags) and in a recording's metadata (VM and ring
 * info). The values are in recordings already: never renumber them.
 */
#ifndef DT_FLAGS_H
#define DT_FLAGS_H

#define DT_VM_RING		(1u << 0)	/* dirty ring enabled (KVM_ENABLE_CAP seen) */
#define DT_VM_RING_ACQ_REL	(1u << 1)	/* ... with acquire/release ordering */
#define DT_VM_FROM_CREATE	(1u << 2)	/* seen from KVM_CREATE_VM on */
#define DT_VM_BITMAP		(1u << 3)	/* KVM_GET_DIRTY_LOG seen */
#define DT_VM_SLOTS_RECOVERED	(1u << 4)	/* predates dirtytop; memslot table read from the kernel at start */
#define DT_VM_EXITED		(1u << 5)	/* recording only: a VM info record written when its VMM was seen gone */
#define DT_VM_REBORN		(1u << 6)	/* created under the live object without callbacks: entries under its key from before are not its own */

#define DT_VCPU_FROM_CREATE	(1u << 0)	/* seen from KVM_CREATE_VCPU on */
#define DT_VCPU_RECOVERED	(1u << 1)	/* predates dirtytop; read from the kernel at start */

#endif /* DT_FLAGS_H */
