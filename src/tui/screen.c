// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The terminal: colours, resizing, the clipped drawing primitives, the
 * layout of the list, messages and the footer (key hints, a prompt or a
 * message). It knows nothing of the table, the detail page or the keys.
 */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "tui/tui_internal.h"

#define MSG_SECONDS 5

enum {
	PAIR_BAR = 1, PAIR_SORT, PAIR_CURSOR, PAIR_WARN, PAIR_BAD, PAIR_GOOD, PAIR_TREE,
	PAIR_PAUSED, PAIR_KEY, PAIR_TITLE,
};


/* ---- small drawing helpers: everything is clipped to the screen ---- */

void put(int y, int x, attr_t a, const char *s)
{
	int n;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return;
	n = COLS - x;
	attrset(a);
	mvaddnstr(y, x, s, n);
	attrset(A_NORMAL);
}

void putf(int y, int x, attr_t a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(y, x, a, buf);
}

void paint(int y, int x, int n, attr_t a)
{
	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return;
	if (n < 0 || n > COLS - x)
		n = COLS - x;
	mvchgat(y, x, n, a & ~A_COLOR, (short)PAIR_NUMBER(a), NULL);
}

/* also past the screen's edge */
int put_seg(int y, int x, attr_t a, const char *s)
{
	put(y, x, a, s);
	return x + (int)strlen(s);
}

/*
 * Lines centred in the h lines from y0, gap lines apart (the first in attribute
 * first): the banners of an empty list and of a VM that is gone.
 */
void put_centred(int y0, int h, int gap, const char *const *lines, int n, attr_t first)
{
	int y = y0 + (h - (2 * n - 1)) / 2;

	if (y < y0)
		y = y0;
	for (int i = 0; i < n && y < y0 + h; i++, y += gap) {
		int len = (int)strlen(lines[i]), x = (COLS - len) / 2;

		put(y, x < 0 ? 0 : x, i == 0 ? first : A_NORMAL, lines[i]);
	}
}

/* ---- the layout of the list: header lines, column header, rows, footer ---- */

void get_layout(struct layout *l)
{
	l->footer_y = LINES >= 2 ? LINES - 1 : -1;
	l->hdr_lines = LINES >= 7 ? 3 : (LINES >= 1 ? 1 : 0);
	l->colhdr_y = LINES - (l->footer_y >= 0) - l->hdr_lines >= 1 ? l->hdr_lines : -1;
	l->rows_y = l->hdr_lines + 1;
	l->n_rows = LINES - (l->footer_y >= 0) - l->rows_y;
	if (l->n_rows < 0)
		l->n_rows = 0;
}

/* ---- messages ---- */

void set_msg(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_error = error;
	t->msg_until = time(NULL) + MSG_SECONDS;
}

const char *fmt_interval(char *buf, size_t len, double s)
{
	snprintf(buf, len, s < 10 ? "%.2fs" : s < 100 ? "%.1fs" : "%.0fs", s);
	return buf;
}

/* ---- the footer: key hints, a prompt or a message ---- */

void draw_footer(struct tui *t, const struct layout *l)
{
	static const char *list_hints[][2] = {
		{ "h", "Help" }, { "Enter", "Expand" }, { "i", "Detail" }, { "e", "All" }, { "<>", "Column" },
		{ "F/U/X/S/L/V", "Sort" }, { "r", "Reverse" }, { "p", "PID" }, { "d", "Delay" }, { "P", "Pause" },
		{ "q", "Quit" }, { NULL, NULL },
	};
	static const char *detail_hints[][2] = {
		{ "Esc/q/i", "Back" }, { "Up/Down", "Scroll" }, { "PgUp/PgDn", "Page" }, { "Home/End", "Top/End" },
		{ "h", "Help" }, { "d", "Delay" }, { "P", "Pause" }, { "F10", "Quit" }, { NULL, NULL },
	};
	const char *(*hints)[2] = t->detail ? detail_hints : list_hints;
	int y = l->footer_y, x = 0;

	if (y < 0)
		return;
	if (t->prompt) {
		const char *label = t->prompt == PROMPT_PID ? "Show only the VMs of PID (empty: every VM): "
							     : "Refresh interval in seconds (0.05 to 3600): ";

		put(y, 0, A_BOLD, label);
		put(y, (int)strlen(label), A_NORMAL, t->input);
		move(y, (int)(strlen(label) + t->input_len) < COLS ? (int)(strlen(label) + t->input_len) : COLS - 1);
		return;
	}
	if (t->msg[0] && time(NULL) < t->msg_until) {
		put(y, 0, t->msg_error ? t->a_bad | A_BOLD : t->a_good, t->msg);
		return;
	}
	t->msg[0] = 0;
	for (size_t i = 0; hints[i][0] && x < COLS; i++) {
		put(y, x, t->a_key, hints[i][0]);
		x += (int)strlen(hints[i][0]);
		putf(y, x, A_NORMAL, " %s  ", hints[i][1]);
		x += (int)strlen(hints[i][1]) + 3;
	}
}

/* ---- the terminal ---- */

bool screen_open(struct tui *t)
{
	/* the cursor keys in both modes, whichever the terminal is in (see tui_resize) */
	static const struct {
		const char *seq;
		int key;
	} cursor_keys[] = {
		{ "\033[A", KEY_UP }, { "\033[B", KEY_DOWN }, { "\033[C", KEY_RIGHT }, { "\033[D", KEY_LEFT },
		{ "\033[H", KEY_HOME }, { "\033[F", KEY_END }, { "\033OA", KEY_UP }, { "\033OB", KEY_DOWN },
		{ "\033OC", KEY_RIGHT }, { "\033OD", KEY_LEFT }, { "\033OH", KEY_HOME }, { "\033OF", KEY_END },
	};

	setlocale(LC_CTYPE, "");
	t->scr = newterm(NULL, stdout, stdin);
	if (!t->scr)
		return false;
	set_term(t->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	for (size_t i = 0; i < sizeof(cursor_keys) / sizeof(cursor_keys[0]); i++)
		if (key_defined(cursor_keys[i].seq) != cursor_keys[i].key)
			define_key(cursor_keys[i].seq, cursor_keys[i].key);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);

	t->a_bar = A_REVERSE;
	t->a_sort = A_BOLD | A_UNDERLINE;
	t->a_cursor = A_REVERSE | A_BOLD;
	t->a_warn = A_BOLD;
	t->a_bad = A_BOLD;
	t->a_good = A_NORMAL;
	t->a_tree = 0;
	t->a_paused = A_REVERSE | A_BOLD;
	t->a_key = A_BOLD;
	t->a_title = A_BOLD;
	if (has_colors() && start_color() == OK) {
		short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;

		t->colors = true;
		init_pair(PAIR_BAR, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_SORT, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_CURSOR, COLOR_WHITE, COLOR_BLUE);
		init_pair(PAIR_WARN, COLOR_YELLOW, bg);
		init_pair(PAIR_BAD, COLOR_RED, bg);
		init_pair(PAIR_GOOD, COLOR_GREEN, bg);
		init_pair(PAIR_TREE, COLOR_CYAN, bg);
		init_pair(PAIR_PAUSED, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_KEY, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_TITLE, COLOR_CYAN, bg);
		t->a_bar = COLOR_PAIR(PAIR_BAR);
		t->a_sort = COLOR_PAIR(PAIR_SORT) | A_BOLD;
		t->a_cursor = COLOR_PAIR(PAIR_CURSOR) | A_BOLD;
		t->a_warn = COLOR_PAIR(PAIR_WARN) | A_BOLD;
		t->a_bad = COLOR_PAIR(PAIR_BAD) | A_BOLD;
		t->a_good = COLOR_PAIR(PAIR_GOOD);
		t->a_tree = COLOR_PAIR(PAIR_TREE);
		t->a_paused = COLOR_PAIR(PAIR_PAUSED) | A_BOLD;
		t->a_key = COLOR_PAIR(PAIR_KEY);
		t->a_title = COLOR_PAIR(PAIR_TITLE) | A_BOLD;
	}
	return true;
}

/* Follow the terminal's size (resizeterm also queues a KEY_RESIZE, handled here too). */
void screen_check_size(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != LINES || ws.ws_col != COLS))
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}
