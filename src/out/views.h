/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Views of the model: batch text and JSON Lines (the ncurses screen: tui/tui.h). */
#ifndef DT_SRC_VIEWS_H
#define DT_SRC_VIEWS_H

#include <stdbool.h>
#include <stdio.h>
#include "core/model.h"
#include "core/features.h"

struct view_opts {
	enum sort_key sort;
	bool descending;
	bool show_vcpus;		/* text: a row per vCPU under each VM */
	double interval_s;		/* the requested refresh interval */
	const char *hooks;		/* tp_btf or raw_tp */
	const struct dt_features *features;	/* what is off on this kernel; NULL: not probed */
	size_t map_entries;		/* entries in the BPF maps (collector_map_entries) */
	unsigned top_regions;		/* hottest regions shown per VM */
	bool detail;			/* text: memslots, ioctls and hottest regions per VM */
};

void view_text_print(FILE *out, const struct model *m, const struct view_opts *o);
void view_json_print(FILE *out, const struct model *m, const struct view_opts *o);

#endif
