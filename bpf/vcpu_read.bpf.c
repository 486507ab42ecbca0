// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A refresh's read of the live object's vCPU map (src/kernel/vcpu_reader.c
 * shares the map and runs this with BPF_PROG_TEST_RUN): every entry's key
 * goes into keys[], and only the entries that changed since the reader's last
 * pass are copied, into whole[], which userspace reads through the mmapped
 * .bss. A big host's vCPUs are mostly idle: BPF_MAP_LOOKUP_BATCH copied every
 * entry (3 KiB) at every refresh, each under its hash bucket's lock.
 *
 * An entry is also sent at the pass after the one that saw it change: a
 * write in progress then (the counter moved, other fields not yet) may have
 * been copied half done, and it is long done a pass later.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "dt_live.h"
#include "lib/vcpus_map.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define READ_BATCH 256			/* entries sent whole per run: 754 KiB */

__u32 pass = 0;			/* userspace counts its passes from 1 */
__u32 whole_pass = 0;		/* a pass that sends every entry whole (userspace lost track) */
/* a run's output */
__u32 n_keys = 0, n_whole = 0;
bool more = false;		/* entries left to send whole: run again (same pass) */
struct dt_vcpu_read_key keys[MAX_VCPUS];
struct dt_vcpu_read_entry whole[READ_BATCH];

static long visit(struct bpf_map *map, __u64 *key, struct dt_vcpu *v, void *ctx)
{
	__u32 i = n_keys;
	__u64 sig;
	bool changed;

	if (i >= MAX_VCPUS)
		return 1;
	keys[i].key = *key;
	keys[i].first_seen_ns = v->first_seen_ns;
	n_keys = i + 1;
	if (v->read_pass == pass)	/* sent in an earlier run of this pass */
		return 0;
	sig = dt_vcpu_change_sig(v);	/* before the copy: a write from now on shows next pass */
	changed = sig != v->read_sig;
	if (!changed && v->read_changed_pass + 1 != pass && pass != whole_pass)
		return 0;
	i = n_whole;
	if (i >= READ_BATCH) {
		more = true;
		return 0;
	}
	whole[i].key = *key;
	if (bpf_probe_read_kernel(&whole[i].v, sizeof(*v), v))
		return 0;
	n_whole = i + 1;
	v->read_pass = pass;
	if (changed) {
		v->read_sig = sig;
		v->read_changed_pass = pass;
	}
	return 0;
}

SEC("raw_tp")
int read_vcpus(void *ctx)
{
	n_keys = 0;
	n_whole = 0;
	more = false;
	bpf_for_each_map_elem(&vcpus, visit, NULL, 0);
	return 0;
}
