/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Log-linear histogram buckets: four sub-buckets per power of two, so a
 * bucket is at most 25% wide (a percentile read from it is within 12.5% of
 * the truth). Buckets 0..3 hold the values 0..3; values >= 2^33 land in the
 * last bucket. Compiled into BPF and userspace: both bucket a value alike.
 */
#ifndef DT_HIST_BUCKET_H
#define DT_HIST_BUCKET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DT_HIST_BUCKETS 128

static inline __u32 dt_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static inline __u32 dt_hist_bucket(__u64 v)
{
	__u32 p, idx;

	if (v < 4)
		return (__u32)v;
	p = dt_log2(v);
	idx = (p - 1) * 4 + (__u32)((v >> (p - 2)) & 3);
	return idx < DT_HIST_BUCKETS ? idx : DT_HIST_BUCKETS - 1;
}

#endif /* DT_HIST_BUCKET_H */
