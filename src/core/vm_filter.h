/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which VMs a command looks at (-p): the one home of that choice. The model
 * holds it (model.filter) and every view, report and analysis asks the model;
 * a recording also gives it to the BPF side, so other VMs are not recorded.
 */
#ifndef DT_CORE_VM_FILTER_H
#define DT_CORE_VM_FILTER_H

#include <stdbool.h>
#include <stdint.h>

struct vm_filter {
	uint32_t tgid;			/* the VMM's process; 0: every VM */
};

/* -p ARG: a process id. 0, or -1 when ARG is not one (f unchanged). */
int vm_filter_parse(struct vm_filter *f, const char *arg);
/* What -p takes, for error messages: "a process id". */
extern const char vm_filter_usage[];

static inline bool vm_filter_active(const struct vm_filter *f)
{
	return f->tgid != 0;
}

static inline bool vm_filter_match(const struct vm_filter *f, uint32_t tgid)
{
	return !f->tgid || f->tgid == tgid;
}

#endif
