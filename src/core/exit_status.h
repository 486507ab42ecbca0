/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dirtytop's exit statuses (README.md "Exit status"). Every layer reports a
 * failure in these terms, so a command passes it on unchanged.
 */
#ifndef DT_CORE_EXIT_STATUS_H
#define DT_CORE_EXIT_STATUS_H

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_KERNEL = 3,	/* a kernel feature is missing: BTF, tracepoints, BPF */
	EXIT_PRIVILEGE = 4,	/* not root and no CAP_BPF + CAP_PERFMON */
	EXIT_LISTEN = 5,	/* exporter: cannot listen (address in use, not local, port < 1024) */
};

#endif
