// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cmd/cli.h"
#include "core/units.h"
#include "sys/procinfo.h"

int cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_rate(const char *s, double *bytes_s)
{
	return parse_rate(s, bytes_s);
}

int cli_parse_pow2_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t mul = 1u << 20, n;	/* MiB by default */

	if (end == s || v <= 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1u << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1u << 20, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1u << 30, end++;
	if (*end)
		return -1;
	n = (uint64_t)(v * (double)mul);
	if (n < lo || n > hi || (n & (n - 1)))
		return -1;
	*out = n;
	return 0;
}

int cli_parse_hooks(const char *s, enum hook_mode *out)
{
	if (!strcmp(s, "auto"))
		*out = HOOK_AUTO;
	else if (!strcmp(s, "btf"))
		*out = HOOK_BTF;
	else if (!strcmp(s, "raw"))
		*out = HOOK_RAW;
	else
		return -1;
	return 0;
}

int cli_long(const char *prog, const char *flag, const char *arg, long lo, long hi, const char *what, long *out)
{
	if (cli_parse_long(arg, lo, hi, out))
		return cli_usage_error(prog, "%s takes %s, not '%s'", flag, what, arg);
	return 0;
}

int cli_number(const char *prog, const char *flag, const char *arg, double lo, double hi, double *out)
{
	if (cli_parse_double(arg, lo, hi, out))
		return cli_usage_error(prog, "%s takes a number from %g to %g, not '%s'", flag, lo, hi, arg);
	return 0;
}

int cli_seconds(const char *prog, const char *flag, const char *arg, double lo, double hi, const char *what,
		double *out)
{
	if (cli_parse_double(arg, lo, hi, out))
		return cli_usage_error(prog, "%s takes %s, not '%s'", flag, what, arg);
	return 0;
}

int cli_pid(const char *prog, const char *arg, struct vm_filter *f)
{
	if (vm_filter_parse(f, arg))
		return cli_usage_error(prog, "--pid takes %s, not '%s'", vm_filter_usage, arg);
	return 0;
}

int cli_vm(const char *prog, const char *arg, struct vm_filter *f)
{
	if (vm_filter_parse_name(f, arg))
		return cli_usage_error(prog, "--vm takes a VM name or a glob, not '%s'", arg);
	return 0;
}

int cli_resolve_vm(const char *prog, const struct vm_filter *f, uint32_t *tgid)
{
	uint32_t pids[8];
	size_t n;

	if (!vm_filter_by_name(f)) {
		*tgid = f->tgid;
		return 0;
	}
	n = procinfo_find_named(f, pids, 8);
	if (n == 1) {
		*tgid = pids[0];
		return 0;
	}
	if (!n) {
		fprintf(stderr, "%s: no running process is a VM named '%s'\n", prog, f->name);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "%s: '%s' names %zu processes (pid", prog, f->name, n);
	for (size_t i = 0; i < n && i < 8; i++)
		fprintf(stderr, " %u", pids[i]);
	fprintf(stderr, "%s): give one, -p PID\n", n > 8 ? " ..." : "");
	return EXIT_USAGE;
}

int cli_hooks(const char *prog, const char *arg, enum hook_mode *out)
{
	if (cli_parse_hooks(arg, out))
		return cli_usage_error(prog, "--hooks takes auto, btf or raw, not '%s'", arg);
	return 0;
}

int cli_pid_or_command(const char *prog, const struct vm_filter *f, char **command)
{
	if (vm_filter_active(f) && command && command[0])
		return cli_usage_error(prog, "--pid or a COMMAND, not both");
	return 0;
}
