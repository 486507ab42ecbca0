// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include "core/vm_filter.h"

const char vm_filter_usage[] = "a process id";

int vm_filter_parse(struct vm_filter *f, const char *arg)
{
	char *end;
	long p = strtol(arg, &end, 10);

	if (!*arg || *end || p < 1 || p > 0x7fffffff)
		return -1;
	f->tgid = (uint32_t)p;
	return 0;
}
