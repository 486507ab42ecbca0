// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>
#include "core/idmap.h"
#include "core/util.h"

uint32_t idmap_get(const struct idmap *m, uint64_t key)
{
	if (!m->cap)
		return 0;
	for (size_t i = dt_hash_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i])
			return 0;
		if (m->keys[i] == key)
			return m->vals[i];
	}
}

static void idmap_grow(struct idmap *m)
{
	struct idmap bigger = { .cap = m->cap ? m->cap * 2 : 64 };

	bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
	bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals));
	if (!bigger.keys || !bigger.vals)
		abort();
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			idmap_put(&bigger, m->keys[i], m->vals[i]);
	idmap_free(m);
	*m = bigger;
}

void idmap_put(struct idmap *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		idmap_grow(m);
	for (i = dt_hash_slot(key, m->cap); m->vals[i] && m->keys[i] != key; i = (i + 1) & (m->cap - 1))
		;
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
}

void idmap_clear(struct idmap *m)
{
	if (m->cap)
		memset(m->vals, 0, m->cap * sizeof(*m->vals));
	m->n = 0;
}

void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct idmap){};
}
