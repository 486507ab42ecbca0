/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Log-linear histograms (struct dt_hist): deltas and percentiles. Pure C. */
#ifndef DT_SRC_HIST_H
#define DT_SRC_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include "dt_hist_bucket.h"
#include "dt_live.h"

/* Bucket b holds the values [hist_bucket_low(b), hist_bucket_high(b)). */
uint64_t hist_bucket_low(uint32_t b);
uint64_t hist_bucket_high(uint32_t b);

/* Counts only: what one interval added (cur - prev, u32 wrap-safe). */
struct hist_counts {
	uint32_t count[DT_HIST_BUCKETS];
};

void hist_delta(struct hist_counts *out, const struct dt_hist *cur, const struct dt_hist *prev);
void hist_copy(struct hist_counts *out, const struct dt_hist *h);
uint64_t hist_total(const struct hist_counts *h);

/*
 * The q-quantile (0 < q <= 1): the midpoint of the bucket holding it,
 * clamped to max (the exact maximum, when known; 0 = unknown).
 * Returns false when the histogram is empty.
 */
bool hist_quantile(const struct hist_counts *h, double q, uint64_t max, double *out);

/* The exact maximum of the interval that just ended (epoch), if any value was seen. */
bool epoch_max_get(const struct dt_epoch_max *m, uint32_t epoch, uint64_t *out);

struct quantiles {
	bool valid;
	uint64_t count;
	double p50, p99, max;
};

void quantiles_of(struct quantiles *q, const struct hist_counts *h, uint64_t max);

#endif
