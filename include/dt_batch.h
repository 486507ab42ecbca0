/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Push batches, the same in both BPF objects: the push handler does its work
 * once per batch, at the batch's first entry (ring index a multiple of
 * DT_PUSH_BATCH). The vCPU thread's other hooks (soft-full exit, return of
 * KVM_RUN) end a batch early, so counts lag by less than a batch and are
 * exact once KVM_RUN returns. live.bpf.c counts a batch into its maps;
 * record.bpf.c streams it as one event (struct dt_ev_batch).
 */
#ifndef DT_BATCH_H
#define DT_BATCH_H

#define DT_PUSH_BATCH_SHIFT 6
#define DT_PUSH_BATCH (1u << DT_PUSH_BATCH_SHIFT)

#endif /* DT_BATCH_H */
