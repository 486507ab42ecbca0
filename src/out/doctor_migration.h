/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `dirtytop doctor`'s per-migration section (README "Precopy passes"): the
 * passes of one migration, its verdict and the fix, as text and as one
 * object of the JSON's migrations[]. doctor (cmd/) decides the bandwidth and
 * downtime and evaluates; this only shows.
 */
#ifndef DT_OUT_DOCTOR_MIGRATION_H
#define DT_OUT_DOCTOR_MIGRATION_H

#include <stdbool.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include "core/precopy.h"

struct migration_view {
	const struct precopy_vm *v;
	struct precopy_verdict vd;		/* precopy_evaluate's */
	const char *bandwidth_source;		/* "none" when vd.bandwidth is 0 */
	const char *downtime_source;
	const struct precopy_throttle *throttle;	/* NULL or !known: no QMP */
	bool live;				/* watched, not read from a file */
};

void migration_text(FILE *f, const struct migration_view *m);
void migration_json(yajl_gen g, const struct migration_view *m);
/* The line said on stderr when the VMM exited mid-migration ("" otherwise). */
const char *migration_stopped_text(const struct migration_view *m, char *buf, size_t len);

#endif
