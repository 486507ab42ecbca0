// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The interactive screen, like top/htop: a summary header, one table where a
 * VM row expands into its vCPU rows, a cursor, sorting, a pid filter, the
 * refresh interval, pause and a help page; 'i' (or 'D') opens the detail page
 * of the VM under the cursor.
 *
 * Input is non-blocking: the main loop polls stdin and calls tui_input, which
 * drains every pending key; prompts (pid, interval) are modal but never block,
 * so the screen keeps refreshing while the user types.
 *
 * The parts: screen.c (terminal, drawing, header, footer, help), table.c (the
 * list), detail.c (the detail page), keys.c (the key bindings and prompts).
 */
#include <stdlib.h>
#include "tui/tui_internal.h"

struct tui *tui_open(const struct view_opts *o, const struct frame_info *frame)
{
	struct tui *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = o;
	t->frame = frame;
	t->sort = o->sort;
	t->descending = o->descending;
	t->interval_s = o->interval_s;
	if (!screen_open(t)) {
		free(t);
		return NULL;
	}
	return t;
}

void tui_draw(struct tui *t, struct model *m)
{
	struct layout l;

	model_sort(m, t->sort, t->descending);	/* the order chosen here, whatever the caller sorted by */
	table_update(t, m);
	build_rows(t, m);
	get_layout(&l);
	erase();
	curs_set(0);
	if (t->help) {
		draw_help(t);
		refresh();
		return;
	}
	if (t->detail) {
		draw_detail(t, m);
	} else {
		draw_header(t, m, &l);
		draw_table(t, m, &l);
		draw_footer(t, &l);
	}
	if (t->prompt)
		curs_set(1);
	refresh();
}

bool tui_input(struct tui *t, struct model *m)
{
	int ch;

	while ((ch = getch()) != ERR)
		if (!handle_key(t, m, ch))
			return false;
	return true;
}

bool tui_paused(const struct tui *t)
{
	return t->paused;
}

double tui_interval(const struct tui *t)
{
	return t->interval_s;
}

void tui_resize(struct tui *t)
{
	(void)t;
	endwin();
	refresh();
	/*
	 * endwin switched the terminal's keypad transmit mode off, and curses only
	 * switches it on again at the next getch: a key typed before that (an arrow
	 * as ESC [ B, not ESC O B) would be read as Esc, '[', 'B'. Switch it on now.
	 */
	keypad(stdscr, TRUE);
	screen_check_size();
}

void tui_close(struct tui *t)
{
	if (!t)
		return;
	endwin();
	delscreen(t->scr);
	free(t->rows);
	free(t->toggled);
	free(t->comms);
	free(t);
}
