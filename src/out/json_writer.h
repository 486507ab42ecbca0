/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one JSON writer of every output (live --json, report, tune, doctor,
 * Perfetto, the data of the HTML page): yajl's streaming generator, with
 * typed "key: value" helpers. Streaming, because a live refresh at 4096
 * vCPUs is megabytes of JSON and a tree of objects would cost more than the
 * refresh itself. Parsing (QMP replies) uses yajl too: sys/qmp.c.
 */
#ifndef DT_OUT_JSON_WRITER_H
#define DT_OUT_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include "core/hist.h"
#include "core/vm_identity.h"

/* A generator writing compact JSON; NULL when out of memory. */
yajl_gen jw_new(void);
/* Write what was generated to out (and a newline when newline is set), then clear it. */
int jw_flush(yajl_gen g, FILE *out, bool newline);

/* Values */
void jw_u64(yajl_gen g, uint64_t v);
void jw_int(yajl_gen g, long long v);
/* integral values as "N.0", others "%.17g" (exact round trip), not finite: null */
void jw_double(yajl_gen g, double v);
/* v with this many decimals ("%.*f": Perfetto's microseconds), not finite: null */
void jw_fixed(yajl_gen g, double v, int decimals);
void jw_string(yajl_gen g, const char *s);
void jw_string_or_null(yajl_gen g, const char *s);	/* NULL: null */

/* "key": value */
void jw_key(yajl_gen g, const char *k);
void jw_put_u64(yajl_gen g, const char *k, uint64_t v);
void jw_put_u64_known(yajl_gen g, const char *k, bool known, uint64_t v);	/* null unless known */
void jw_put_int(yajl_gen g, const char *k, long long v);
void jw_put_double(yajl_gen g, const char *k, double v);
void jw_put_fixed(yajl_gen g, const char *k, double v, int decimals);
void jw_put_bool(yajl_gen g, const char *k, bool v);
void jw_put_string(yajl_gen g, const char *k, const char *s);
void jw_put_null(yajl_gen g, const char *k);
void jw_put_string_known(yajl_gen g, const char *k, const char *s);	/* "" or NULL: null */
/* A VM's identity: "name", "uuid", "cgroup", "pod_uid", "container", "namespace" (null when unknown). */
void jw_put_identity(yajl_gen g, const struct vm_identity *id);
/* {count, p50, p99, max}, or null with no sample */
void jw_put_quantiles(yajl_gen g, const char *k, const struct quantiles *q);
/* non-empty buckets as [low, high, count]; high is exclusive; h NULL: [] */
void jw_put_hist(yajl_gen g, const char *k, const struct hist_counts *h);
/* The text jw_double writes for v, in buf; NULL for null (not finite). */
const char *jw_format_double(char buf[32], double v);
/* The text jw_u64 writes for v, in buf. */
const char *jw_format_u64(char buf[24], uint64_t v);

#endif
