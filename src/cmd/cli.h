/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Argument parsing every command shares: numbers in a range, seconds, rates,
 * sizes, --hooks, -p. Each cli_* check prints "PROG: FLAG takes WHAT, not 'ARG'"
 * and returns EXIT_USAGE (core/exit_status.h) on bad input, 0 on good, so a
 * getopt case reads:
 *
 *	case 'd':
 *		if ((rc = cli_seconds(prog, "--duration", optarg, 0.05, 86400, &d)))
 *			return rc;
 *		break;
 *
 * The cli_parse_* functions only parse (0, or -1), for messages of a command's own.
 */
#ifndef DT_CMD_CLI_H
#define DT_CMD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "core/exit_status.h"
#include "core/vm_filter.h"
#include "kernel/loader.h"

/* Print "PROG: " and the message, then a newline, to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A decimal integer in [lo, hi], nothing after it. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
/* A finite number in [lo, hi], nothing after it. */
int cli_parse_double(const char *s, double lo, double hi, double *out);
/* RATE in bytes/s: N with an optional K, M, G (powers of 1024), "i", "B" and "/s"; or "Nmbit[/s]". */
int cli_parse_rate(const char *s, double *bytes_s);
/* SIZE in bytes: N with K, M (the default unit) or G; a power of two in [lo, hi]. */
int cli_parse_pow2_size(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* --hooks auto|btf|raw */
int cli_parse_hooks(const char *s, enum hook_mode *out);

/* The checks: 0, or a message and EXIT_USAGE. WHAT completes "FLAG takes WHAT". */
int cli_long(const char *prog, const char *flag, const char *arg, long lo, long hi, const char *what,
	     long *out);
/* "FLAG takes a number from LO to HI" */
int cli_number(const char *prog, const char *flag, const char *arg, double lo, double hi, double *out);
/* Seconds in [lo, hi]; what: e.g. "seconds from 0.05 to 3600" */
int cli_seconds(const char *prog, const char *flag, const char *arg, double lo, double hi, const char *what,
		double *out);
/* -p / --pid: "FLAG takes a process id" (vm_filter_usage) */
int cli_pid(const char *prog, const char *arg, struct vm_filter *f);
/* --vm NAME: a VM name or glob */
int cli_vm(const char *prog, const char *arg, struct vm_filter *f);
/*
 * For the BPF side, which filters on one process: the pid of a filter by
 * name, resolved now among the running processes (exactly one must match;
 * VMs started later are not followed). 0, or the exit status (said on stderr).
 */
int cli_resolve_vm(const char *prog, const struct vm_filter *f, uint32_t *tgid);
/* --hooks: "--hooks takes auto, btf or raw" */
int cli_hooks(const char *prog, const char *arg, enum hook_mode *out);

/* -p and `-- COMMAND` exclude each other: "PROG: --pid or a COMMAND, not both". */
int cli_pid_or_command(const char *prog, const struct vm_filter *f, char **command);

#endif
