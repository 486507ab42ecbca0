/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The vCPU map read by what changed (bpf/vcpu_read.bpf.c, iter/bpf_map_elem):
 * a snapshot's vCPUs kept from one refresh to the next, the entries that
 * changed copied in, the ones gone taken out.
 */
#ifndef DT_KERNEL_VCPU_READER_H
#define DT_KERNEL_VCPU_READER_H

#include <stddef.h>
#include "core/model.h"

struct vcpu_reader;

/* A reader of the live object's vcpus map; on failure -errno and why it is off. */
int vcpu_reader_open(struct vcpu_reader **out, int vcpus_fd, char *why, size_t whylen);
/*
 * s's vCPUs (s->vcpus, s->n_vcpus) as the map holds them now. s must be the
 * snapshot of the reader's last call for the entries kept to be right (any
 * other is read whole). On failure -errno: s's vCPUs are left empty and the
 * next call reads whole.
 */
int vcpu_reader_read(struct vcpu_reader *r, struct snapshot *s);
/* Entries the last read copied whole, and the runs of the BPF program it took. */
void vcpu_reader_last(const struct vcpu_reader *r, size_t *copied, unsigned *runs);
void vcpu_reader_close(struct vcpu_reader *r);

#endif
