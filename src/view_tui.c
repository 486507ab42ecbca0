// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The ncurses screen (being written). */
#include <stdlib.h>
#include <ncurses.h>
#include "views.h"

struct tui {
	struct view_opts *o;
	bool paused;
};

struct tui *tui_open(struct view_opts *o)
{
	struct tui *t = calloc(1, sizeof(*t));

	t->o = o;
	initscr();
	return t;
}

void tui_draw(struct tui *t, struct model *m)
{
	(void)t; (void)m;
	refresh();
}

bool tui_input(struct tui *t, struct model *m)
{
	(void)t; (void)m;
	return getch() != 'q';
}

bool tui_paused(const struct tui *t) { return t->paused; }
void tui_resize(struct tui *t) { (void)t; }
void tui_close(struct tui *t) { endwin(); free(t); }
