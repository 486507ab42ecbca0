/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What this kernel lets dirtytop do beyond the live view's minimum: each
 * feature is on, or off with the reason and what is done instead. Probed by
 * kernel/features.c at start; shown by --verbose, the JSON `features` object
 * and the TUI header.
 */
#ifndef DT_CORE_FEATURES_H
#define DT_CORE_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

enum dt_feature {
	DT_FEAT_BPF_LOOP,		/* ring heat walk and bitmap popcount with bpf_loop (5.17) */
	DT_FEAT_MEMSLOT_RECOVERY,	/* memslot tables and vCPUs of VMs older than dirtytop (iter/task_file) */
	DT_FEAT_FOR_EACH,		/* a dead VM's entries moved by bpf_for_each_map_elem (5.13), else told apart in userspace */
	DT_FEAT_CHANGED_READS,		/* only changed vCPU entries read at a refresh (iter/bpf_map_elem), else all */
	DT_FEAT_COUNT,
};

struct dt_features {
	bool on[DT_FEAT_COUNT];
	char why_off[DT_FEAT_COUNT][256];	/* "" while on */
};

/* The feature's name in JSON and messages, e.g. "bpf_loop". */
const char *dt_feature_name(enum dt_feature f);
void dt_feature_set_off(struct dt_features *fs, enum dt_feature f, const char *why);
/* "bpf_loop memslot_recovery": the features off, space-separated ("" if none). */
void dt_features_off_list(const struct dt_features *fs, char *buf, size_t len);

#endif
