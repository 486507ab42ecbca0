/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What /proc says about a VMM process: alive, still holding its VM fd, comm, identity, thread names. */
#ifndef DT_SRC_PROCINFO_H
#define DT_SRC_PROCINFO_H

#include "core/model.h"

void procinfo_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out);

/* Process tgid runs (not gone, not a zombie waiting for its parent). */
bool procinfo_alive(uint32_t tgid);
/* The VM identity of process tgid from its cmdline and cgroup; false if it is gone. */
bool procinfo_identity(uint32_t tgid, struct vm_identity *out);
/* A thread's own name; "" when it has none (it carries the process's comm) or is gone. */
void procinfo_thread_name(uint32_t tgid, uint32_t tid, char *out, size_t len);
/* The processes whose VM name the filter matches (every process with a name on its command line). */
size_t procinfo_find_named(const struct vm_filter *f, uint32_t *pids, size_t cap);

#endif
