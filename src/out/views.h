/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Views of the model: batch text and JSON Lines (the ncurses screen: tui/tui.h). */
#ifndef DT_SRC_VIEWS_H
#define DT_SRC_VIEWS_H

#include <stdbool.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include "core/model.h"
#include "core/features.h"

struct view_opts {
	enum sort_key sort;
	bool descending;
	bool show_vcpus;		/* text: a row per vCPU under each VM */
	double interval_s;		/* the requested refresh interval */
	const char *hooks;		/* tp_btf or raw_tp */
	size_t map_entries;		/* entries in the BPF maps (collector_map_entries) */
	unsigned top_regions;		/* hottest regions shown per VM */
	bool detail;			/* text: memslots, ioctls and hottest regions per VM */
	bool no_clock_line;		/* text: no first line (the clock now, and the interval); a report prints its own */
};

/* What a refresh shows besides the model: facts of the kernel side or of the recording, not options. */
struct frame_info {
	const char *hooks;		/* tp_btf or raw_tp; NULL: "" */
	bool has_map_entries;		/* false for a recording: it has no BPF maps */
	size_t map_entries;		/* entries in the BPF maps (collector_map_entries) */
	double wall_time;		/* JSON "time" (Unix seconds); 0: the clock now */
	const struct dt_features *features;	/* what is off on this kernel; NULL: not probed (a recording) */
};

void view_text_print(FILE *out, const struct model *m, const struct view_opts *o);
/* One JSON object, one line. frame may be NULL: no hooks, no map entries, the clock now. */
void view_json_print(FILE *out, const struct model *m, const struct view_opts *o, const struct frame_info *frame);
/* Its fields, into a map g has open: for a caller that embeds the view in its own document. */
void view_json_fields(yajl_gen g, const struct model *m, const struct view_opts *o, const struct frame_info *frame);

#endif
