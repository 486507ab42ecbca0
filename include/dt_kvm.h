/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * KVM UAPI numbers dirtytop uses (include/uapi/linux/kvm.h), for the BPF side
 * (decoding ioctls) and userspace (naming them in a recording): ioctl
 * numbers, capabilities, an exit reason, memslot flags. Numbers only.
 */
#ifndef DT_KVM_H
#define DT_KVM_H

/* ioctl numbers: type byte 0xAE */
#define DT_KVMIO			0xAE
#define DT_KVM_CREATE_VM		0xAE01
#define DT_KVM_CREATE_VCPU		0xAE41
#define DT_KVM_RUN			0xAE80
#define DT_KVM_ENABLE_CAP		0x4068AEA3
#define DT_KVM_RESET_DIRTY_RINGS	0xAEC7
#define DT_KVM_GET_DIRTY_LOG		0x4010AE42
#define DT_KVM_CLEAR_DIRTY_LOG		0xC018AEC0
#define DT_KVM_SET_USER_MEMORY_REGION	0x4020AE46
#define DT_KVM_SET_USER_MEMORY_REGION2	0x40A0AE49

#define DT_KVM_CAP_DIRTY_LOG_RING		192
#define DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL	223
#define DT_KVM_EXIT_DIRTY_RING_FULL		31

/* KVM_MEM_* flags of a memslot */
#define DT_MEM_LOG_DIRTY_PAGES	(1u << 0)
#define DT_MEM_READONLY		(1u << 1)

#endif /* DT_KVM_H */
