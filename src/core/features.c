// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include "core/features.h"

static const char *const names[DT_FEAT_COUNT] = {
	[DT_FEAT_BPF_LOOP] = "bpf_loop",
	[DT_FEAT_MEMSLOT_RECOVERY] = "memslot_recovery",
	[DT_FEAT_FOR_EACH] = "for_each_map_elem",
	[DT_FEAT_CHANGED_READS] = "changed_reads",
};

const char *dt_feature_name(enum dt_feature f)
{
	return f < DT_FEAT_COUNT ? names[f] : "?";
}

void dt_feature_set_off(struct dt_features *fs, enum dt_feature f, const char *why)
{
	fs->on[f] = false;
	snprintf(fs->why_off[f], sizeof(fs->why_off[f]), "%s", why);
}

void dt_features_off_list(const struct dt_features *fs, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = 0;
	for (int f = 0; f < DT_FEAT_COUNT; f++)
		if (!fs->on[f] && n < len)
			n += snprintf(buf + n, len - n, "%s%s", n ? " " : "", names[f]);
}
