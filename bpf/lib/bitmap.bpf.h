/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counting the dirty pages of a bitmap KVM_GET_DIRTY_LOG just filled: a
 * bpf_loop over 64-byte chunks (512 pages, 2 MiB each) of the user's
 * bitmap, one read and eight popcounts per chunk. The object's loop
 * callback calls dt_bitmap_chunk() and does what it does with a chunk's
 * count (live: heat map; record: an event).
 *
 * Without bpf_loop (Linux < 5.17, or DIRTYTOP_FORCE_NO_BPF_LOOP) a bounded
 * loop walks slots of up to DT_BITMAP_BOUNDED_CHUNKS chunks; a larger slot's
 * sync is not counted (dt_bitmap_start returns NULL), never counted in part.
 */
#ifndef DT_BITMAP_BPF_H
#define DT_BITMAP_BPF_H

#include <bpf/bpf_helpers.h>

#include "loop.bpf.h"

/* 1 GiB slots: each chunk costs the verifier a pass of the loop body. */
#define DT_BITMAP_BOUNDED_CHUNKS 512

struct dt_bitmap_walk {
	__u64 bitmap;		/* user address */
	__u64 bytes;		/* bitmap length */
	__u64 total;		/* dirty pages counted so far */
	__u64 vm;		/* the object's VM key */
	__u32 slot;
};

/*
 * The walk's state lives in a per-CPU map, not on the stack: the verifier
 * then does not track the running total through every bpf_loop iteration.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_bitmap_walk);
} popcount_scratch SEC(".maps");

/* bpf_loop's context must be on the stack: it points to the walk. */
struct dt_bitmap_ctx {
	struct dt_bitmap_walk *w;
};

/* Start a walk over the bitmap of a slot of slot_bytes; NULL if no state or it cannot be walked whole. */
static __always_inline struct dt_bitmap_walk *dt_bitmap_start(__u64 bitmap, __u64 slot_bytes, __u64 vm,
							     __u32 slot)
{
	__u64 pages = slot_bytes >> 12;
	__u32 zero = 0;
	struct dt_bitmap_walk *w = bpf_map_lookup_elem(&popcount_scratch, &zero);

	if (!w)
		return NULL;
	if (!use_bpf_loop && pages > DT_BITMAP_BOUNDED_CHUNKS * 512ull)
		return NULL;
	w->bitmap = bitmap;
	w->bytes = ((pages + 63) / 64) * 8;
	w->total = 0;
	w->vm = vm;
	w->slot = slot;
	return w;
}

/* The last walk's total on this CPU (the walk of this program run). */
static __always_inline struct dt_bitmap_walk *dt_bitmap_last(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&popcount_scratch, &zero);
}

/* Run body(chunk index, struct dt_bitmap_ctx *) over the chunks of w (cb: its DT_LOOP_CALLBACK), until non-zero. */
#define dt_bitmap_walk(w, cb, body)							\
	({										\
		struct dt_bitmap_ctx __ctx = { .w = (w) };				\
											\
		dt_loop((__u32)(((w)->bytes + 63) / 64), DT_BITMAP_BOUNDED_CHUNKS, cb, body, &__ctx);	\
	})

/*
 * The dirty pages of chunk i, added to the walk's total; -1 past the end or
 * when the bitmap cannot be read (the callback then ends the loop).
 */
static __always_inline long dt_bitmap_chunk(struct dt_bitmap_walk *w, __u32 i)
{
	__u64 words[8] = {}, off = (__u64)i * 64, n, count = 0;

	if (off >= w->bytes)
		return -1;
	n = w->bytes - off;
	if (n > 64)
		n = 64;
	if (n == 0 || bpf_probe_read_user(words, n, (void *)(w->bitmap + off)))
		return -1;
	for (int k = 0; k < 8; k++)
		count += __builtin_popcountll(words[k]);
	w->total += count;
	return count;
}

#endif /* DT_BITMAP_BPF_H */
