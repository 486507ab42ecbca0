/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Views of the model: batch text and JSON Lines (the ncurses screen: tui/tui.h). */
#ifndef DT_SRC_VIEWS_H
#define DT_SRC_VIEWS_H

#include <stdbool.h>
#include <stdio.h>
#include "core/model.h"

struct view_opts {
	enum sort_key sort;
	bool descending;
	bool show_vcpus;		/* text: a row per vCPU under each VM */
	double interval_s;		/* the requested refresh interval */
	unsigned top_regions;		/* hottest regions shown per VM */
	bool detail;			/* text: memslots, ioctls and hottest regions per VM */
};

/* What a refresh shows besides the model: facts of the kernel side, not options. */
struct frame_info {
	const char *hooks;		/* tp_btf or raw_tp; NULL: "" */
	size_t map_entries;		/* entries in the BPF maps (collector_map_entries) */
};

void view_text_print(FILE *out, const struct model *m, const struct view_opts *o);
/* frame may be NULL: no hooks, 0 map entries */
void view_json_print(FILE *out, const struct model *m, const struct view_opts *o, const struct frame_info *frame);

#endif
