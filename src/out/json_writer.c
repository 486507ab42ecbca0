// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <math.h>
#include <string.h>
#include "out/json_writer.h"

yajl_gen jw_new(void)
{
	return yajl_gen_alloc(NULL);
}

int jw_flush(yajl_gen g, FILE *out, bool newline)
{
	const unsigned char *buf;
	size_t len;

	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		return -1;
	if (fwrite(buf, 1, len, out) != len || (newline && fputc('\n', out) == EOF))
		return -1;
	yajl_gen_clear(g);
	return 0;
}

static void put_number(yajl_gen g, const char *s)
{
	yajl_gen_number(g, s, strlen(s));
}

/* Decimal digits of u, ending at end (exclusive); returns the first. */
static char *format_u64(char *end, uint64_t u)
{
	do
		*--end = '0' + u % 10;
	while (u /= 10);
	return end;
}

void jw_u64(yajl_gen g, uint64_t v)
{
	char buf[24];

	buf[sizeof(buf) - 1] = 0;
	put_number(g, format_u64(buf + sizeof(buf) - 1, v));
}

void jw_int(yajl_gen g, long long v)
{
	yajl_gen_integer(g, v);
}

/* Integral values formatted here: snprintf costs ~0.5 µs a value, and most are integral (idle rates are 0). */
const char *jw_format_double(char buf[32], double v)
{
	char *p;

	if (!isfinite(v))
		return NULL;	/* JSON can say null, not NaN */
	if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {	/* 2^53 */
		memcpy(buf + 32 - 3, ".0", 3);
		p = format_u64(buf + 32 - 3, (uint64_t)fabs(v));
		if (v < 0)
			*--p = '-';
		return p;
	}
	snprintf(buf, 32, "%.17g", v);
	return buf;
}

const char *jw_format_u64(char buf[24], uint64_t v)
{
	buf[23] = 0;
	return format_u64(buf + 23, v);
}

void jw_double(yajl_gen g, double v)
{
	char buf[32];
	const char *p = jw_format_double(buf, v);

	if (!p)
		yajl_gen_null(g);
	else
		put_number(g, p);
}

void jw_fixed(yajl_gen g, double v, int decimals)
{
	char buf[64];

	if (!isfinite(v)) {
		yajl_gen_null(g);
		return;
	}
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	put_number(g, buf);
}

void jw_string(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void jw_string_or_null(yajl_gen g, const char *s)
{
	if (s)
		jw_string(g, s);
	else
		yajl_gen_null(g);
}

void jw_key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

void jw_put_u64(yajl_gen g, const char *k, uint64_t v)
{
	jw_key(g, k);
	jw_u64(g, v);
}

void jw_put_u64_known(yajl_gen g, const char *k, bool known, uint64_t v)
{
	jw_key(g, k);
	if (known)
		jw_u64(g, v);
	else
		yajl_gen_null(g);
}

void jw_put_int(yajl_gen g, const char *k, long long v)
{
	jw_key(g, k);
	yajl_gen_integer(g, v);
}

void jw_put_double(yajl_gen g, const char *k, double v)
{
	jw_key(g, k);
	jw_double(g, v);
}

void jw_put_fixed(yajl_gen g, const char *k, double v, int decimals)
{
	jw_key(g, k);
	jw_fixed(g, v, decimals);
}

void jw_put_bool(yajl_gen g, const char *k, bool v)
{
	jw_key(g, k);
	yajl_gen_bool(g, v);
}

void jw_put_string(yajl_gen g, const char *k, const char *s)
{
	jw_key(g, k);
	jw_string(g, s);
}

void jw_put_string_known(yajl_gen g, const char *k, const char *s)
{
	jw_key(g, k);
	jw_string_or_null(g, s && s[0] ? s : NULL);
}

void jw_put_identity(yajl_gen g, const struct vm_identity *id)
{
	jw_put_string_known(g, "name", id->name);
	jw_put_string_known(g, "uuid", id->uuid);
	jw_put_string_known(g, "cgroup", id->cgroup);
	jw_put_string_known(g, "pod_uid", id->pod_uid);
	jw_put_string_known(g, "container", id->container);
	jw_put_string_known(g, "namespace", id->namespace);
}

void jw_put_null(yajl_gen g, const char *k)
{
	jw_key(g, k);
	yajl_gen_null(g);
}

void jw_put_quantiles(yajl_gen g, const char *k, const struct quantiles *q)
{
	jw_key(g, k);
	if (!q->valid) {
		yajl_gen_null(g);
		return;
	}
	yajl_gen_map_open(g);
	jw_put_u64(g, "count", q->count);
	jw_put_double(g, "p50", q->p50);
	jw_put_double(g, "p99", q->p99);
	jw_put_double(g, "max", q->max);
	yajl_gen_map_close(g);
}

void jw_put_hist(yajl_gen g, const char *k, const struct hist_counts *h)
{
	jw_key(g, k);
	yajl_gen_array_open(g);
	for (uint32_t b = 0; h && b < DT_HIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		yajl_gen_array_open(g);
		jw_u64(g, hist_bucket_low(b));
		jw_u64(g, hist_bucket_high(b));
		jw_u64(g, h->count[b]);
		yajl_gen_array_close(g);
	}
	yajl_gen_array_close(g);
}
