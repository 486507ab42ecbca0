/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The live collector: load and attach bpf/dirtytop.bpf.c, read its maps into snapshots. */
#ifndef DT_SRC_COLLECT_H
#define DT_SRC_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/exit_status.h"
#include "core/model.h"
#include "core/features.h"
#include "kernel/loader.h"

struct collector;

struct collect_opts {
	enum hook_mode hooks;
	bool verbose;
	unsigned heat_region_mib;	/* dirty heat region size, a power of two >= 2; 0: 2 */
};

/* On failure returns an EXIT_* code and writes a message for the user into err. */
int collector_open(struct collector **out, const struct collect_opts *opts, char *err, size_t errlen);
const char *collector_hook_name(const struct collector *c);
/* What this kernel lets the collector do (probed at collector_open). */
const struct dt_features *collector_features(const struct collector *c);
int collector_snapshot(struct collector *c, struct snapshot *s);
void collector_forget(struct collector *c, const struct key_list *vms, const struct key_list *vcpus);
/* Entries in the vcpus, ring_ts, vms and threads maps: for the churn test. */
size_t collector_map_entries(struct collector *c, const struct snapshot *s);
void collector_close(struct collector *c);

#endif
