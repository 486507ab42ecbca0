// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The keys: one binding table (htop's Action_setBindings), each row a set of
 * keys with what they do on the list and on the detail page, and the line the
 * help page shows for them. The prompts (pid, interval) are modal text input:
 * they take every key until Enter or Esc, and the screen keeps refreshing
 * meanwhile.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tui/tui_internal.h"

/* What a key does; arg comes from its binding. Returns false when the user quits. */
typedef bool key_action(struct tui *t, struct model *m, int arg);

/* ---- actions on the list ---- */

static bool cursor_move(struct tui *t, struct model *m, int lines)
{
	move_sel(t, m, lines);
	return true;
}

static bool cursor_page(struct tui *t, struct model *m, int dir)
{
	move_sel(t, m, dir * page_rows());
	return true;
}

static bool cursor_end(struct tui *t, struct model *m, int end)
{
	select_row(t, m, end ? (t->n_rows ? t->n_rows - 1 : 0) : 0);
	return true;
}

static bool toggle_vm(struct tui *t, struct model *m, int arg)
{
	const struct row *r = sel_row(t);

	(void)arg;
	if (r) {
		struct vm_metrics *vm = &m->vms[r->vm];

		set_expanded(t, vm, !vm_expanded(t, vm));
		t->sel_vcpu_key = 0;	/* on the VM row, whichever it was */
	}
	return true;
}

static bool expand_vm(struct tui *t, struct model *m, int arg)
{
	const struct row *r = sel_row(t);

	(void)arg;
	if (r && r->vcpu == NO_ROW) {
		struct vm_metrics *vm = &m->vms[r->vm];

		if (!vm_expanded(t, vm))
			set_expanded(t, vm, true);
		else if (vm->n_vcpus)
			move_sel(t, m, 1);
	}
	return true;
}

static bool collapse_vm(struct tui *t, struct model *m, int arg)
{
	const struct row *r = sel_row(t);

	(void)arg;
	if (r) {
		set_expanded(t, &m->vms[r->vm], false);
		t->sel_vcpu_key = 0;
	}
	return true;
}

static bool expand_all(struct tui *t, struct model *m, int arg)
{
	bool any = false, all = true;

	(void)arg;
	for (size_t i = 0; i < m->n_vms; i++)
		if (model_vm_visible(m, &m->vms[i]) && m->vms[i].n_vcpus) {
			any = true;
			if (!vm_expanded(t, &m->vms[i]))
				all = false;
		}
	/* every VM expanded: collapse them; else expand them (and the VMs to come) */
	t->expand_default = any ? !all : !t->expand_default;
	set_msg(t, false, t->expand_default ? "Every VM expanded" : "Every VM collapsed");
	t->n_toggled = 0;
	t->sel_vcpu_key = 0;
	return true;
}

static bool sort_by(struct tui *t, struct model *m, int key)
{
	t->sort = (enum sort_key)key;
	t->descending = true;
	model_sort(m, t->sort, true);
	return true;
}

/* The sortable column before (-1) or after (1) the one sorted by. */
static bool sort_step(struct tui *t, struct model *m, int step)
{
	for (int i = sort_col(t->sort) + step; i >= 0 && i < C_COUNT; i += step)
		if (cols[i].sort >= 0)
			return sort_by(t, m, cols[i].sort);
	return true;
}

static bool sort_reverse(struct tui *t, struct model *m, int arg)
{
	(void)arg;
	if (t->sort == SORT_VM) {
		set_msg(t, false, "VMs sorted by number are always in ascending order");
		return true;
	}
	t->descending = !t->descending;
	model_sort(m, t->sort, t->descending);
	return true;
}

static bool detail_show(struct tui *t, struct model *m, int arg)
{
	(void)arg;
	detail_open(t, m, sel_row(t));
	return true;
}

static bool msg_clear(struct tui *t, struct model *m, int arg)
{
	(void)m, (void)arg;
	t->msg[0] = 0;
	return true;
}

/* ---- actions on the detail page ---- */

static bool scroll_lines(struct tui *t, struct model *m, int lines)
{
	(void)m;
	detail_scroll(t, lines);
	return true;
}

static bool scroll_page(struct tui *t, struct model *m, int dir)
{
	(void)m;
	detail_scroll(t, dir * (long)detail_page_lines(t));
	return true;
}

static bool scroll_end(struct tui *t, struct model *m, int end)
{
	(void)m;
	detail_scroll(t, end ? DETAIL_END : DETAIL_TOP);
	return true;
}

static bool detail_back(struct tui *t, struct model *m, int arg)
{
	(void)m, (void)arg;
	t->detail = false;	/* the cursor is still on the VM, if it is still there */
	t->msg[0] = 0;
	return true;
}

/* ---- actions on both ---- */

static void start_prompt(struct tui *t, enum prompt_kind k)
{
	t->prompt = k;
	t->input_len = 0;
	t->input[0] = 0;
	t->msg[0] = 0;
}

static bool pid_prompt(struct tui *t, struct model *m, int arg)
{
	(void)m, (void)arg;
	start_prompt(t, PROMPT_PID);
	return true;
}

static bool delay_prompt(struct tui *t, struct model *m, int arg)
{
	(void)m, (void)arg;
	start_prompt(t, PROMPT_DELAY);
	return true;
}

/* Double (1) or halve (-1) the refresh interval. */
static bool interval_scale(struct tui *t, struct model *m, int dir)
{
	double f = dir > 0 ? 2 : 0.5, v = t->interval_s * f;
	char a[16];

	(void)m;
	if (v < INTERVAL_MIN)
		v = INTERVAL_MIN;
	if (v > INTERVAL_MAX)
		v = INTERVAL_MAX;
	if (v == t->interval_s)
		set_msg(t, false, "The refresh interval is already the %s (%s)", f < 1 ? "shortest" : "longest",
			fmt_interval(a, sizeof(a), v));
	else
		set_msg(t, false, "Refresh every %s", fmt_interval(a, sizeof(a), v));
	t->interval_s = v;
	return true;
}

static bool pause_toggle(struct tui *t, struct model *m, int arg)
{
	(void)m, (void)arg;
	t->paused = !t->paused;
	set_msg(t, false, t->paused ? "Paused: P or z resumes" : "Resumed");
	return true;
}

static bool redraw(struct tui *t, struct model *m, int arg)
{
	(void)t, (void)m, (void)arg;
	clearok(curscr, TRUE);
	return true;
}

static bool help_show(struct tui *t, struct model *m, int arg)
{
	(void)m, (void)arg;
	t->help = true;
	return true;
}

static bool quit(struct tui *t, struct model *m, int arg)
{
	(void)t, (void)m, (void)arg;
	return false;
}

/* ---- the binding table ---- */

#define KEYS_PER_BINDING 5

struct key_binding {
	int keys[KEYS_PER_BINDING];	/* 0 ends the list */
	key_action *list, *detail;	/* NULL: the keys do nothing there */
	int arg;
	const char *label, *help;	/* the help page's line; NULL: none (the line above tells) */
};

#define NO_HELP NULL, NULL

/*
 * In the order of the help page. A key may be in two rows when it does one
 * thing on the list and another on the detail page (Space); the first row with
 * an action for the page in view wins.
 */
static const struct key_binding bindings[] = {
	{ { KEY_UP, 'k' }, cursor_move, scroll_lines, -1, "Up/Down, k/j", "move the cursor" },
	{ { KEY_DOWN, 'j' }, cursor_move, scroll_lines, 1, NO_HELP },
	{ { KEY_PPAGE }, cursor_page, scroll_page, -1, "PgUp/PgDn", "move a page" },
	{ { KEY_NPAGE }, cursor_page, scroll_page, 1, NO_HELP },
	{ { ' ' }, NULL, scroll_page, 1, NO_HELP },
	{ { KEY_HOME, 'g' }, cursor_end, scroll_end, 0, "Home/End", "first/last row" },
	{ { KEY_END, 'G' }, cursor_end, scroll_end, 1, NO_HELP },
	{ { '\n', '\r', KEY_ENTER, ' ' }, toggle_vm, NULL, 0, "Enter, Space",
	  "expand/collapse the VM (its vCPU rows)" },
	{ { 'i', 'D' }, detail_show, detail_back, 0, "i, D", "detail page of the VM under the cursor" },
	{ { KEY_RIGHT }, expand_vm, NULL, 0, "Right / Left", "expand / collapse the VM" },
	{ { KEY_LEFT }, collapse_vm, detail_back, 0, NO_HELP },
	{ { 'e' }, expand_all, NULL, 0, "e", "expand or collapse every VM" },
	{ { '<' }, sort_step, NULL, -1, "< >", "sort by the previous/next sortable column" },
	{ { '>' }, sort_step, NULL, 1, NO_HELP },
	{ { 'F' }, sort_by, NULL, SORT_FILL, "F", "sort by fill rate (FILL)" },
	{ { 'U' }, sort_by, NULL, SORT_USED, "U", "sort by peak ring use (PEAK%)" },
	{ { 'X' }, sort_by, NULL, SORT_EXITS, "X", "sort by soft-full exits/s (FULLEX/s)" },
	{ { 'S' }, sort_by, NULL, SORT_STALL, "S", "sort by stall share (STALL%)" },
	{ { 'L' }, sort_by, NULL, SORT_LATENCY, "L", "sort by reap latency p99 (LAT-P99)" },
	{ { 'V' }, sort_by, NULL, SORT_VM, "V", "sort by VM number (VM, always ascending)" },
	{ { 'r', 'R' }, sort_reverse, NULL, 0, "r, R", "reverse the sort order" },
	{ { 'p', '\\' }, pid_prompt, NULL, 0, "p", "filter: only the VMs of one PID (empty: all)" },
	{ { 'd', 's' }, delay_prompt, delay_prompt, 0, "d, s", "set the refresh interval (0.05 to 3600 s)" },
	{ { '+', '=' }, interval_scale, interval_scale, 1, "+ / -", "double / halve the refresh interval" },
	{ { '-', '_' }, interval_scale, interval_scale, -1, NO_HELP },
	{ { 'P', 'z' }, pause_toggle, pause_toggle, 0, "P, z", "pause / resume the refresh" },
	{ { 12 }, redraw, redraw, 0, "Ctrl-L", "redraw the screen" },
	{ { 'h', '?', KEY_F(1) }, help_show, help_show, 0, "h, ?, F1", "this help" },
	/* Ctrl-C is SIGINT, which ends the main loop */
	{ { 'q' }, quit, detail_back, 0, "q, F10, Ctrl-C", "quit" },
	{ { KEY_F(10) }, quit, quit, 0, NO_HELP },
	{ { 27 }, msg_clear, detail_back, 0, NO_HELP },	/* Esc */
};

#define N_BINDINGS (sizeof(bindings) / sizeof(bindings[0]))

/* After the keys, on the help page. */
static const char *const help_notes[] = {
	"",
	"Detail page: Up/Down, k/j, PgUp/PgDn, Home/End scroll it;",
	"  Esc, q, i or D: back to the list; P, d, +/-, h work there.",
	"Prompts: Enter accepts, Esc cancels, Backspace erases.",
	"Dimmed rows: VMs that exited (shown for one last interval).",
	"\"-\": no sample in the interval for that percentile.",
};

static key_action *bound(int ch, bool detail, int *arg)
{
	for (size_t i = 0; i < N_BINDINGS; i++) {
		const struct key_binding *b = &bindings[i];
		key_action *act = detail ? b->detail : b->list;

		if (!act)
			continue;
		for (int k = 0; k < KEYS_PER_BINDING && b->keys[k]; k++)
			if (b->keys[k] == ch) {
				*arg = b->arg;
				return act;
			}
	}
	return NULL;
}

static const char *help_key_line(size_t i, char *buf, size_t len)
{
	for (size_t j = 0; j < N_BINDINGS; j++) {
		if (!bindings[j].label)
			continue;
		if (!i) {
			snprintf(buf, len, "%-16s %s", bindings[j].label, bindings[j].help);
			return buf;
		}
		i--;
	}
	return i < sizeof(help_notes) / sizeof(help_notes[0]) ? help_notes[i] : NULL;
}

/* The help page: the keys from the binding table, the columns from theirs. */
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

/* ---- prompts ---- */

static void commit_prompt(struct tui *t, struct model *m)
{
	char *s = t->input, *end;

	while (*s == ' ')
		s++;
	for (size_t n = strlen(s); n && s[n - 1] == ' '; n--)
		s[n - 1] = 0;
	if (t->prompt == PROMPT_PID) {
		if (!*s) {
			m->filter = (struct vm_filter){ 0 };
			set_msg(t, false, "Filter cleared: every VM is shown");
		} else if (vm_filter_parse(&m->filter, s)) {
			set_msg(t, true, "'%s' is not a PID, nor a VM name: type one, or nothing to show every VM", s);
		} else {
			char d[VM_FILTER_NAME_LEN + 8];

			set_msg(t, false, "Showing only the VMs of %s", vm_filter_describe(&m->filter, d, sizeof(d)));
		}
	} else if (t->prompt == PROMPT_DELAY) {
		double v = strtod(s, &end);
		char a[16];

		if (!*s || *end || !isfinite(v) || v < INTERVAL_MIN || v > INTERVAL_MAX) {
			set_msg(t, true, "The refresh interval is 0.05 to 3600 seconds, not '%s'", s);
		} else {
			t->interval_s = v;
			set_msg(t, false, "Refresh every %s", fmt_interval(a, sizeof(a), v));
		}
	}
	t->prompt = PROMPT_NONE;
	build_rows(t, m);
}

static void prompt_key(struct tui *t, struct model *m, int ch)
{
	switch (ch) {
	case '\n': case '\r': case KEY_ENTER:
		commit_prompt(t, m);
		return;
	case 27: case 7:	/* Esc, Ctrl-G */
		t->prompt = PROMPT_NONE;
		set_msg(t, false, "Cancelled");
		return;
	case KEY_BACKSPACE: case 127: case 8:
		if (t->input_len)
			t->input[--t->input_len] = 0;
		return;
	case 21:		/* Ctrl-U */
		t->input_len = 0;
		t->input[0] = 0;
		return;
	default:
		if (ch >= 32 && ch < 127 && t->input_len + 1 < sizeof(t->input)) {
			t->input[t->input_len++] = (char)ch;
			t->input[t->input_len] = 0;
		}
	}
}

/* ---- dispatch ---- */

bool handle_key(struct tui *t, struct model *m, int ch)
{
	key_action *act;
	int arg = 0;

	if (ch == KEY_RESIZE) {
		screen_check_size();
		return true;
	}
	build_rows(t, m);
	if (t->prompt) {
		prompt_key(t, m, ch);
		return true;
	}
	if (t->help) {		/* any key closes it */
		t->help = false;
		return true;
	}
	act = bound(ch, t->detail, &arg);
	if (t->detail) {
		if (act && !act(t, m, arg))
			return false;
		if (!act && ch >= 32 && ch < 127)
			set_msg(t, true, "Key '%c' does nothing on the detail page: Esc, q or i return to the list, "
				"h shows the keys", ch);
		detail_scroll(t, 0);	/* the page may have shrunk */
		return true;
	}
	if (act && !act(t, m, arg))
		return false;
	if (!act && ch >= 32 && ch < 127)
		set_msg(t, true, "Unknown key '%c': h shows the keys", ch);
	build_rows(t, m);
	return true;
}
