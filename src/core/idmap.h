/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one hash table of the offline side: a 64-bit key to a 32-bit value,
 * open addressing with linear probing, kept at most half full. Callers store
 * an array index + 1, so 0 can mean "absent" and no slot needs a flag.
 */
#ifndef DT_CORE_IDMAP_H
#define DT_CORE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t *keys;
	uint32_t *vals;			/* 0: empty slot */
	size_t cap, n;			/* cap: 0 or a power of two */
};

/* The value of key, 0 if none. */
uint32_t idmap_get(const struct idmap *m, uint64_t key);
/* Set key's value (val != 0), replacing an earlier one; aborts when out of memory. */
void idmap_put(struct idmap *m, uint64_t key, uint32_t val);
/* Empty it, keeping its memory for the next fill. */
void idmap_clear(struct idmap *m);
void idmap_free(struct idmap *m);

#endif
