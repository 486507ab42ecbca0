/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* sock_diag: a process's TCP traffic (a VMM's migration stream, for `dirtytop doctor`). */
#ifndef DT_SYS_SOCKDIAG_H
#define DT_SYS_SOCKDIAG_H

#include <stdint.h>
#include <sys/types.h>

/* Bytes the process's TCP sockets had acknowledged (its migration stream); -1 if unknown. */
int sockdiag_tcp_bytes_acked(pid_t pid, uint64_t *bytes);

#endif
