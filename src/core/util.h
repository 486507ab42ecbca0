/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Small helpers every layer uses, written once: clocks, array growth, sorting, hashing. */
#ifndef DT_CORE_UTIL_H
#define DT_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* The clock c in nanoseconds (CLOCK_MONOTONIC is the BPF side's bpf_ktime_get_ns). */
uint64_t dt_clock_ns(clockid_t c);

static inline uint64_t dt_mono_ns(void)
{
	return dt_clock_ns(CLOCK_MONOTONIC);
}

/* Make room for one more element of arr (n used of cap), doubling; aborts when out of memory. */
#define DT_GROW(arr, n, cap)                                                     \
	do {                                                                     \
		if ((n) == (cap)) {                                              \
			size_t c_ = (cap) ? (cap) * 2 : 16;                      \
			void *p_ = realloc((arr), c_ * sizeof(*(arr)));          \
			if (!p_)                                                 \
				abort();                                         \
			(arr) = p_;                                              \
			(cap) = c_;                                              \
		}                                                                \
	} while (0)

/* qsort comparators */
int dt_cmp_u64(const void *a, const void *b);

/*
 * qsort, but skipped when the array is already in order (most refreshes find
 * rows in the order of the last one: a pass of compares, where qsort of 512
 * rows of ~4 KiB moves megabytes), and an empty (possibly NULL) array is fine.
 */
void dt_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* The slot of key k in an open-addressing table of cap (a power of two) slots: Fibonacci hashing. */
static inline size_t dt_hash_slot(uint64_t k, size_t cap)
{
	k *= 0x9e3779b97f4a7c15ull;
	return (size_t)(k ^ (k >> 29)) & (cap - 1);
}

#endif
