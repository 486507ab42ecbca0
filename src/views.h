/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Views of the model: batch text, JSON Lines, and the ncurses screen. */
#ifndef DT_SRC_VIEWS_H
#define DT_SRC_VIEWS_H

#include <stdbool.h>
#include <stdio.h>
#include "model.h"

struct view_opts {
	uint32_t filter_tgid;		/* 0: every VM */
	enum sort_key sort;
	bool descending;
	bool show_vcpus;		/* text: a row per vCPU under each VM */
	double interval_s;		/* the requested refresh interval */
	const char *hooks;		/* tp_btf or raw_tp */
	size_t map_entries;		/* entries in the BPF maps (collector_map_entries) */
	unsigned top_regions;		/* hottest regions shown per VM */
	bool detail;			/* text: memslots, ioctls and hottest regions per VM */
};

bool view_vm_visible(const struct vm_metrics *vm, const struct view_opts *o);

void view_text_print(FILE *out, const struct model *m, const struct view_opts *o);
void view_json_print(FILE *out, const struct model *m, const struct view_opts *o);

/*
 * The interactive screen. It owns the terminal between tui_open and
 * tui_close, and changes *o (sort, filter, interval) on the user's keys.
 * tui_input reads the pending keys and returns false when the user quits.
 */
struct tui;
struct tui *tui_open(struct view_opts *o);
void tui_draw(struct tui *t, struct model *m);
bool tui_input(struct tui *t, struct model *m);
bool tui_paused(const struct tui *t);
void tui_resize(struct tui *t);
void tui_close(struct tui *t);

#endif
