/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Views of the model: batch text and JSON Lines (the ncurses screen: tui/tui.h). */
#ifndef DT_SRC_VIEWS_H
#define DT_SRC_VIEWS_H

#include <stdbool.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include "core/model.h"

struct view_opts {
	enum sort_key sort;
	bool descending;
	bool show_vcpus;		/* text: a row per vCPU under each VM */
	double interval_s;		/* the requested refresh interval */
	const char *hooks;		/* tp_btf or raw_tp */
	size_t map_entries;		/* entries in the BPF maps (collector_map_entries) */
	unsigned top_regions;		/* hottest regions shown per VM */
	bool detail;			/* text: memslots, ioctls and hottest regions per VM */
	/* a report of a recording sets these; the live view leaves them 0 */
	double wall_time;		/* JSON "time": this instead of the clock now (0: now) */
	bool no_map_entries;		/* JSON: no map_entries (a recording has no BPF maps) */
	bool no_clock_line;		/* text: no first line (the clock now, and the interval) */
};

void view_text_print(FILE *out, const struct model *m, const struct view_opts *o);
/* One JSON object, one line. */
void view_json_print(FILE *out, const struct model *m, const struct view_opts *o);
/* Its fields, into a map g has open: for a caller that embeds the view in its own document. */
void view_json_fields(yajl_gen g, const struct model *m, const struct view_opts *o);

#endif
