/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Collect: load and attach the BPF side, read its maps into snapshots. */
#ifndef DT_SRC_COLLECT_H
#define DT_SRC_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/exit_status.h"
#include "core/model.h"
#include "core/features.h"


enum hook_mode { HOOK_AUTO, HOOK_BTF, HOOK_RAW };

struct collector;

/* --hooks auto|btf|raw: 0, or -1 for anything else. */
int parse_hook_mode(const char *s, enum hook_mode *out);

/* Run a traced COMMAND (the `-- COMMAND` of dirtytop and doctor) with no signal blocked. */
pid_t start_command(char **argv);

struct collect_opts {
	enum hook_mode hooks;
	bool verbose;
	unsigned heat_region_mib;	/* dirty heat region size, a power of two >= 2; 0: 2 */
};

/*
 * What every BPF-loading command needs before it loads: privileges, BTF,
 * tracefs (mounted if nobody did) and the tracepoints. 0, or an EXIT_* code
 * with a message for the user in err.
 */
int collector_check_kernel(bool verbose, char *err, size_t errlen);

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
