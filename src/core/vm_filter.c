// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/vm_filter.h"

const char vm_filter_usage[] = "a process id or a VM name (a glob: 'web-*')";

int vm_filter_parse_name(struct vm_filter *f, const char *arg)
{
	size_t n = strlen(arg);

	if (!n || n >= sizeof(f->name))
		return -1;
	f->tgid = 0;
	memcpy(f->name, arg, n + 1);
	return 0;
}

int vm_filter_parse(struct vm_filter *f, const char *arg)
{
	char *end;
	long p;

	if (!*arg || arg[strspn(arg, "0123456789")])
		return vm_filter_parse_name(f, arg);	/* not all digits: a name ("01-web" too) */
	p = strtol(arg, &end, 10);
	if (p < 1 || p > 0x7fffffff)
		return -1;
	f->tgid = (uint32_t)p;
	f->name[0] = 0;
	return 0;
}

const char *vm_filter_describe(const struct vm_filter *f, char *buf, unsigned int len)
{
	if (f->name[0])
		snprintf(buf, len, "%s", f->name);
	else if (f->tgid)
		snprintf(buf, len, "pid %u", f->tgid);
	else
		snprintf(buf, len, "all");
	return buf;
}

bool vm_filter_match(const struct vm_filter *f, uint32_t tgid, const char *name)
{
	if (f->tgid && f->tgid != tgid)
		return false;
	if (f->name[0] && (!name || !name[0] || fnmatch(f->name, name, 0) != 0))
		return false;
	return true;
}
