/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A minimal QMP client (QEMU's JSON monitor on a unix socket), for `dirtytop doctor --qmp`. */
#ifndef DT_SRC_QMP_H
#define DT_SRC_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qmp;

/* Connect and leave capabilities negotiation; NULL with a message in err. */
struct qmp *qmp_open(const char *path, char *err, size_t errlen);
void qmp_close(struct qmp *q);

struct qmp_migration {
	bool ok;			/* the queries answered */
	char status[32];		/* query-migrate: "none", "active", "completed", ... */
	double mbps;			/* ram.mbps while active, else 0 */
	uint64_t max_bandwidth;		/* query-migrate-parameters: bytes/s, 0 unknown */
	pid_t pid;			/* QEMU's process, from its vCPU threads; 0 unknown */
	double downtime_limit_ms;	/* query-migrate-parameters downtime-limit; 0 unknown */
	double throttle_pct;		/* query-migrate cpu-throttle-percentage: auto-converge biting */
	double dirty_limit_us;		/* query-migrate dirty-limit-throttle-time-per-round */
	bool auto_converge, dirty_limit;	/* query-migrate-capabilities */
	double remaining;		/* ram.remaining, bytes */
};

/* query-migrate, query-migrate-parameters and query-cpus-fast. */
int qmp_migration(struct qmp *q, struct qmp_migration *out, char *err, size_t errlen);

#endif
