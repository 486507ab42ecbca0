/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loops over chunks (of a ring, of a bitmap): bpf_loop where the kernel has
 * it (5.17), else a bounded loop the verifier walks pass by pass.
 */
#ifndef DT_LOOP_BPF_H
#define DT_LOOP_BPF_H

#include <bpf/bpf_helpers.h>

/* Set by userspace before load: false where the kernel lacks bpf_loop (5.17). */
const volatile bool use_bpf_loop = true;

/* cb(i, ctx) for i in 0 .. n-1 until it returns non-zero; without bpf_loop at most max of them. */
#define dt_loop(n, max, cb, ctx)							\
	({										\
		__u32 __n = (n);							\
											\
		if (use_bpf_loop) {							\
			bpf_loop(__n, cb, ctx, 0);					\
		} else {								\
			for (__u32 __i = 0; __i < (max) && __i < __n; __i++)		\
				if (cb(__i, ctx))					\
					break;					\
		}									\
	})

#endif /* DT_LOOP_BPF_H */
