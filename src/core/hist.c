// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <string.h>
#include "core/hist.h"

uint64_t hist_bucket_low(uint32_t b)
{
	uint32_t p, sub;

	if (b < 4)
		return b;
	p = b / 4 + 1;
	sub = b % 4;
	return (uint64_t)(4 + sub) << (p - 2);
}

uint64_t hist_bucket_high(uint32_t b)
{
	if (b < 4)
		return b + 1;
	if (b == DT_HIST_BUCKETS - 1)
		return UINT64_MAX;
	return hist_bucket_low(b) + ((uint64_t)1 << (b / 4 - 1));
}

void hist_delta(struct hist_counts *out, const struct dt_hist *cur, const struct dt_hist *prev)
{
	for (int i = 0; i < DT_HIST_BUCKETS; i++)
		out->count[i] = cur->count[i] - (prev ? prev->count[i] : 0);
}

void hist_copy(struct hist_counts *out, const struct dt_hist *h)
{
	hist_delta(out, h, NULL);
}

uint64_t hist_total(const struct hist_counts *h)
{
	uint64_t n = 0;

	for (int i = 0; i < DT_HIST_BUCKETS; i++)
		n += h->count[i];
	return n;
}

/* hist_quantile, given hist_total(h) */
static bool quantile_of_total(const struct hist_counts *h, uint64_t total, double q, uint64_t max,
			      double *out)
{
	uint64_t seen = 0, rank;

	if (!total)
		return false;
	/* the smallest value with at least q of the samples at or below it */
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (int b = 0; b < DT_HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen < rank)
			continue;
		uint64_t lo = hist_bucket_low(b), hi = hist_bucket_high(b);
		double v = b < 4 ? (double)lo : ((double)lo + (double)hi) / 2.0;

		if (b == DT_HIST_BUCKETS - 1)
			v = (double)lo;
		if (max && v > (double)max)
			v = (double)max;
		*out = v;
		return true;
	}
	return false;
}

bool hist_quantile(const struct hist_counts *h, double q, uint64_t max, double *out)
{
	return quantile_of_total(h, hist_total(h), q, max, out);
}

bool epoch_max_get(const struct dt_epoch_max *m, uint32_t epoch, uint64_t *out)
{
	uint32_t slot = epoch & 1;

	if (m->epoch[slot] != epoch)
		return false;
	*out = m->value[slot];
	return true;
}

void quantiles_of(struct quantiles *q, const struct hist_counts *h, uint64_t max)
{
	memset(q, 0, sizeof(*q));
	q->count = hist_total(h);
	if (!q->count)
		return;
	q->valid = true;
	quantile_of_total(h, q->count, 0.50, max, &q->p50);
	quantile_of_total(h, q->count, 0.99, max, &q->p99);
	if (max) {
		q->max = (double)max;
	} else {
		for (int b = DT_HIST_BUCKETS - 1; b >= 0; b--)
			if (h->count[b]) {
				q->max = (double)hist_bucket_high(b);
				break;
			}
	}
}
