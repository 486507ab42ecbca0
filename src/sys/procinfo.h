/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What /proc says about a VMM process: alive, still holding its VM fd, comm. */
#ifndef DT_SRC_PROCINFO_H
#define DT_SRC_PROCINFO_H

#include "core/model.h"

void procinfo_lookup(void *ctx, uint32_t tgid, int32_t fd, uint64_t first_seen_ns, struct proc_facts *out);

#endif
