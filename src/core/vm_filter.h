/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which VMs a command looks at (-p, --vm): the one home of that choice. The
 * model holds it (model.filter) and every view, report and analysis asks the
 * model; a recording also gives it to the BPF side, so other VMs are not
 * recorded. A VM is chosen by its VMM's pid or by its name (exact, or a
 * shell glob: fnmatch(3)); a VM whose name is unknown matches no name.
 */
#ifndef DT_CORE_VM_FILTER_H
#define DT_CORE_VM_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#define VM_FILTER_NAME_LEN 128

struct vm_filter {
	uint32_t tgid;			/* the VMM's process; 0: any */
	char name[VM_FILTER_NAME_LEN];	/* a VM name or glob; "": any */
};

/* -p ARG: a process id (all digits) or a VM name / glob. 0, or -1 when ARG is neither (f unchanged). */
int vm_filter_parse(struct vm_filter *f, const char *arg);
/* --vm ARG: a VM name or glob only. 0 or -1. */
int vm_filter_parse_name(struct vm_filter *f, const char *arg);
/* What -p takes, for error messages: "a process id or a VM name". */
extern const char vm_filter_usage[];
/* The filter as the user wrote it ("pid 123", "web-*"), for headers. */
const char *vm_filter_describe(const struct vm_filter *f, char *buf, unsigned int len);

static inline bool vm_filter_active(const struct vm_filter *f)
{
	return f->tgid != 0 || f->name[0];
}

static inline bool vm_filter_by_name(const struct vm_filter *f)
{
	return f->name[0] != 0;
}

/* name: the VM's name, "" or NULL when unknown. */
bool vm_filter_match(const struct vm_filter *f, uint32_t tgid, const char *name);

#endif
