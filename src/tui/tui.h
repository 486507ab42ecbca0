/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The interactive ncurses screen of the live view. */
#ifndef DT_TUI_TUI_H
#define DT_TUI_TUI_H

#include <stdbool.h>
#include "out/views.h"

/*
 * The interactive screen. It owns the terminal between tui_open and
 * tui_close. It reads *o and never writes it: the sort order and the refresh interval
 * start from *o and change on the user's keys, in the screen's own state; the
 * VM filter is the model's. tui_draw sorts the model in the screen's order.
 * tui_input reads the pending keys and returns false when the user quits.
 */
struct tui;
/* frame: the hooks, map entries and features of the refresh drawn; the caller updates it */
struct tui *tui_open(const struct view_opts *o, const struct frame_info *frame);
void tui_draw(struct tui *t, struct model *m);
bool tui_input(struct tui *t, struct model *m);
bool tui_paused(const struct tui *t);
double tui_interval(const struct tui *t);	/* the refresh interval the user asked for, seconds */
void tui_resize(struct tui *t);
void tui_close(struct tui *t);

#endif
