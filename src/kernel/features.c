// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "core/exit_status.h"
#include "kernel/features.h"

static bool forced_off(const char *env)
{
	const char *v = getenv(env);

	return v && *v && strcmp(v, "0");
}

/* bpf_loop and bpf_for_each_map_elem are base helpers: any tracing program type tells. */
static bool has_helper(enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, id, NULL) == 1;
}

bool features_bpf_loop(void)
{
	return !forced_off("DIRTYTOP_FORCE_NO_BPF_LOOP") && has_helper(BPF_FUNC_loop);
}

int features_probe(struct dt_features *fs, char *err, size_t errlen)
{
	for (int f = 0; f < DT_FEAT_COUNT; f++) {
		fs->on[f] = true;
		fs->why_off[f][0] = 0;
	}
	(void)err;
	(void)errlen;
	if (forced_off("DIRTYTOP_FORCE_NO_BPF_LOOP"))
		dt_feature_set_off(fs, DT_FEAT_BPF_LOOP, "forced off (DIRTYTOP_FORCE_NO_BPF_LOOP): no dirty heat from ring pushes; bounded loops; "
				   "bitmap syncs of slots over 1 GiB not counted (uncounted_syncs)");
	else if (!has_helper(BPF_FUNC_loop))
		dt_feature_set_off(fs, DT_FEAT_BPF_LOOP, "no bpf_loop helper (Linux < 5.17): no dirty heat from ring pushes; bounded loops; "
				   "bitmap syncs of slots over 1 GiB not counted (uncounted_syncs)");
	/*
	 * Without bpf_for_each_map_elem the verifier also refuses any callback
	 * (BPF_PSEUDO_FUNC came with it): the live object built without them
	 * (bpf/live.bpf.c, DT_NO_CALLBACKS) loads instead, and userspace tells a
	 * dead VM's entries from those of a new VM at its address.
	 */
	if (forced_off("DIRTYTOP_FORCE_NO_FOR_EACH"))
		dt_feature_set_off(fs, DT_FEAT_FOR_EACH, "forced off (DIRTYTOP_FORCE_NO_FOR_EACH): the live object without "
				   "callbacks; a dead VM's entries at a new VM's address told apart in userspace");
	else if (!has_helper(BPF_FUNC_for_each_map_elem))
		dt_feature_set_off(fs, DT_FEAT_FOR_EACH, "no bpf_for_each_map_elem helper (Linux < 5.13): the live object "
				   "without callbacks; a dead VM's entries at a new VM's address told apart in userspace");
	if (!fs->on[DT_FEAT_FOR_EACH] && fs->on[DT_FEAT_BPF_LOOP])
		dt_feature_set_off(fs, DT_FEAT_BPF_LOOP, "the live object without callbacks (for_each_map_elem off) has "
				   "no bpf_loop: no dirty heat from ring pushes; bounded loops; bitmap syncs of slots over "
				   "1 GiB not counted (uncounted_syncs)");
	if (forced_off("DIRTYTOP_FORCE_FULL_READS"))
		dt_feature_set_off(fs, DT_FEAT_CHANGED_READS, "forced off (DIRTYTOP_FORCE_FULL_READS): "
				   "every vCPU entry read at every refresh");
	else if (!fs->on[DT_FEAT_FOR_EACH])
		/* userspace rewrites the snapshot's vCPUs then (snapshot_attribute_reborn) */
		dt_feature_set_off(fs, DT_FEAT_CHANGED_READS, "for_each_map_elem off: "
				   "every vCPU entry read at every refresh");
	if (forced_off("DIRTYTOP_FORCE_NO_ITER"))
		dt_feature_set_off(fs, DT_FEAT_MEMSLOT_RECOVERY, "forced off (DIRTYTOP_FORCE_NO_ITER): "
				   "memslots of VMs older than dirtytop are unknown");
	/*
	 * Iterators: libbpf has no probe for a program type that needs an attach
	 * target, so vm_recover() loading its own small object is the probe; its
	 * failure leaves the live object as it was.
	 */
	return 0;
}

void features_print_off(const struct dt_features *fs)
{
	for (int f = 0; f < DT_FEAT_COUNT; f++)
		if (!fs->on[f])
			fprintf(stderr, "dirtytop: feature %s off: %s\n", dt_feature_name(f), fs->why_off[f]);
}
