/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A loop over chunks run by bpf_loop where the kernel has it (5.17), else by
 * a bounded loop. The body is an always-inline function and the bpf_loop
 * callback a wrapper around it: the bounded loop calls the body, never the
 * callback, since 6.1's verifier refuses a function that is both a callback
 * and called directly ("back-edge").
 */
#ifndef DT_BPF_LIB_LOOP_H
#define DT_BPF_LIB_LOOP_H

/* Set by userspace before load: false where the kernel lacks bpf_loop (5.17). */
const volatile bool use_bpf_loop = true;

/* static long NAME(__u32 i, CTX_TYPE *ctx): the bpf_loop callback running BODY(i, ctx). */
#ifdef DT_NO_CALLBACKS
#define DT_LOOP_CALLBACK(name, body, ctx_type)
#else
#define DT_LOOP_CALLBACK(name, body, ctx_type)					\
	static long name(__u32 i, ctx_type *ctx)				\
	{									\
		return body(i, ctx);						\
	}
#endif

/*
 * BODY(i, ctx) for i in [0, n), at most max times without bpf_loop, until it returns non-zero.
 * DT_NO_CALLBACKS (the live object for kernels without bpf_for_each_map_elem, < 5.13, whose
 * verifier refuses any reference to a callback, used or not): the bounded loop only.
 */
#ifdef DT_NO_CALLBACKS
#define dt_loop(n, max, callback, body, ctx)					\
	({									\
		for (__u32 __i = 0; __i < (max) && __i < (n); __i++)		\
			if (body(__i, (ctx)))					\
				break;						\
	})
#else
#define dt_loop(n, max, callback, body, ctx)					\
	({									\
		if (use_bpf_loop) {						\
			bpf_loop((n), callback, (ctx), 0);			\
		} else {							\
			for (__u32 __i = 0; __i < (max) && __i < (n); __i++)	\
				if (body(__i, (ctx)))				\
					break;				\
		}								\
	})
#endif

#endif
