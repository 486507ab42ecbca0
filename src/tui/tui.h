/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The interactive ncurses screen of the live view. */
#ifndef DT_TUI_TUI_H
#define DT_TUI_TUI_H

#include <stdbool.h>
#include "out/views.h"

/*
 * The interactive screen. It owns the terminal between tui_open and
 * tui_close, and changes *o (sort, filter, interval) on the user's keys.
 * tui_input reads the pending keys and returns false when the user quits.
 */
struct tui;
/* frame: the hooks and map entries of the refresh drawn; the caller updates it */
struct tui *tui_open(struct view_opts *o, const struct frame_info *frame);
void tui_draw(struct tui *t, struct model *m);
bool tui_input(struct tui *t, struct model *m);
bool tui_paused(const struct tui *t);
void tui_resize(struct tui *t);
void tui_close(struct tui *t);

#endif
