/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Map helpers both objects use. */
#ifndef DT_MAPS_BPF_H
#define DT_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/* A one-entry array holding a zeroed value_type: values too large for the BPF stack start from it. */
#define DT_ZERO_TEMPLATE(name, value_type)		\
	struct {					\
		__uint(type, BPF_MAP_TYPE_ARRAY);	\
		__uint(max_entries, 1);			\
		__type(key, __u32);			\
		__type(value, value_type);		\
	} name SEC(".maps")

/*
 * Write the zeroed value of zero_map (a DT_ZERO_TEMPLATE) at key, with the
 * update flags (BPF_ANY: reset the entry; BPF_NOEXIST: create it unless it
 * exists). Returns the update's result; the caller looks the entry up.
 */
static __always_inline long dt_map_init_zero(void *map, const void *key, void *zero_map, __u64 flags)
{
	__u32 zero = 0;
	void *tmpl = bpf_map_lookup_elem(zero_map, &zero);

	if (!tmpl)
		return -1;
	return bpf_map_update_elem(map, key, tmpl, flags);
}

#endif /* DT_MAPS_BPF_H */
