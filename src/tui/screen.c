// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The terminal and what is drawn on every page: colours, resizing, the
 * clipped drawing primitives, the summary header, the footer with its key
 * hints, prompt or message, the no-VM banner and the help page.
 */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "core/units.h"
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

/* ---- what every page shows ---- */

void draw_header(struct tui *t, const struct model *m, const struct layout *l)
{
	char tbuf[16], a[16], b[16], c[16], d[16], e[16], f[16], line[256];
	const struct view_opts *o = t->o;
	size_t shown = 0, exited = 0, vcpus = 0, stalled = 0;
	double fill = 0, mib = 0, fullex = 0, resets = 0;
	int x;

	for (size_t i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];

		if (!model_vm_visible(m, vm))
			continue;
		shown++;
		exited += vm->exited;
		vcpus += vm->n_vcpus;
		fill += vm->fill_rate;
		mib += vm->fill_mib_s;
		fullex += vm->full_exits_s;
		resets += vm->reset_calls_s;
		for (size_t j = 0; j < vm->n_vcpus; j++)
			stalled += vm->vcpus[j].stalled_now;
	}
	/* paused: the time of the data on the screen */
	if (!t->paused || !t->shown_at)
		t->shown_at = time(NULL);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&t->shown_at));
	if (l->hdr_lines < 1)
		return;

	x = put_seg(0, 0, t->a_title, "dirtytop ");
	putf(0, x, A_NORMAL, "%s  refresh %s (last %s)  hooks %s  map entries %zu", tbuf,
	     fmt_interval(a, sizeof(a), t->interval_s), m->interval_s > 0 ? fmt_interval(b, sizeof(b), m->interval_s) : "-",
	     o->hooks ? o->hooks : "?", o->map_entries);
	if (t->paused)
		put(0, COLS > 8 ? COLS - 8 : 0, t->a_paused, " PAUSED ");
	if (l->hdr_lines < 3)
		return;

	x = put_seg(1, 0, A_BOLD, "VMs:");
	if (vm_filter_active(&m->filter))
		snprintf(line, sizeof(line), " %zu shown of %zu", shown, m->n_vms);
	else
		snprintf(line, sizeof(line), " %zu shown", shown);
	x = put_seg(1, x, A_NORMAL, line);
	if (exited) {
		snprintf(line, sizeof(line), " (%zu exited)", exited);
		x = put_seg(1, x, A_NORMAL, line);
	}
	snprintf(line, sizeof(line), "  vCPUs: %zu  fill %s %s  soft-full exits %s  resets %s  stalled vCPUs %zu",
		 vcpus, fmt_rate(c, sizeof(c), fill), fmt_mib_s(d, sizeof(d), mib), fmt_rate(e, sizeof(e), fullex),
		 fmt_rate(f, sizeof(f), resets), stalled);
	put_seg(1, x, A_NORMAL, line);

	x = put_seg(2, 0, A_BOLD, "Sort:");
	snprintf(line, sizeof(line), " %s %s   ", cols[sort_col(t->sort)].title,
		 sort_descending(t) ? "descending" : "ascending");
	x = put_seg(2, x, A_NORMAL, line);
	x = put_seg(2, x, A_BOLD, "Filter:");
	if (vm_filter_active(&m->filter)) {
		snprintf(line, sizeof(line), " pid %u", m->filter.tgid);
		x = put_seg(2, x, t->a_warn | A_BOLD, line);
	} else {
		x = put_seg(2, x, A_NORMAL, " none (every VM)");
	}
	put_seg(2, x, A_NORMAL, "   h: help");
}

void draw_banner(struct tui *t, const struct model *m, const struct layout *l)
{
	const char *lines[4];
	char buf[2][160];
	int n = 0;

	if (vm_filter_active(&m->filter)) {
		snprintf(buf[0], sizeof(buf[0]), "No VM of PID %u is using KVM dirty tracking", m->filter.tgid);
		lines[n++] = buf[0];
		if (m->n_vms) {
			snprintf(buf[1], sizeof(buf[1]), "%zu other VM%s hidden by the filter", m->n_vms,
				 m->n_vms == 1 ? " is" : "s are");
			lines[n++] = buf[1];
		}
		lines[n++] = "press p, then Enter on an empty line, to show every VM";
	} else {
		lines[n++] = "No VM is using KVM dirty tracking yet";
		lines[n++] = "start a VM with a dirty ring (QEMU: -accel kvm,dirty-ring-size=4096), or run the demo:";
		lines[n++] = "dirtygen --vms 2 --vcpus 4 --rate 20000,5000 --duration 60";
	}
	if (l->n_rows > 0)
		put_centred(l->rows_y, l->n_rows, l->n_rows >= 2 * n ? 2 : 1, lines, n, t->a_warn | A_BOLD);
}

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

void draw_help(struct tui *t)
{
	int y = 2, x0 = 0, keys_w = 64;
	size_t nk = 0;
	bool side = COLS >= keys_w + 100;
	const char *line;
	char buf[128];

	putf(0, 0, A_NORMAL, "dirtytop help: KVM dirty ring metrics per VM and per vCPU.  Press any key to return.");
	paint(0, 0, -1, t->a_bar);
	put(y, 0, t->a_title, "Keys");
	for (; (line = help_key_line(nk, buf, sizeof(buf))); nk++)
		put(y + 1 + (int)nk, 2, A_NORMAL, line);
	if (side) {
		x0 = keys_w;
	} else {
		y += (int)nk + 2;
	}
	put(y, x0, t->a_title, "Columns (VM rows; vCPU rows under their VM)");
	for (int i = 0; i < C_COUNT; i++) {
		putf(y + 1 + i, x0 + 2, A_BOLD, "%-9s", cols[i].title);
		put(y + 1 + i, x0 + 12, A_NORMAL, cols[i].help);
	}
	y += C_COUNT + 2;
	put(y, x0, t->a_title, "Detail page (i): memslots, memslot operations, ring resets, hottest regions");
	for (int i = 0; i < M_COUNT; i++) {
		putf(y + 1 + i, x0 + 2, A_BOLD, "%-9s", mcols[i].title);
		put(y + 1 + i, x0 + 12, A_NORMAL, mcols[i].help);
	}
	put(y + 2 + M_COUNT, x0 + 2, A_NORMAL,
	    "Hottest regions: the guest-physical regions of a slot with the most pages dirtied this interval.");
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
