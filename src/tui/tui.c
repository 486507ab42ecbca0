// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The interactive screen, like top/htop: a summary header, one table where a
 * VM row expands into its vCPU rows, a cursor, sorting, a pid filter, the
 * refresh interval, pause and a help page.
 *
 * Input is non-blocking: the main loop polls stdin and calls tui_input, which
 * drains every pending key; prompts (pid, interval) are modal but never block,
 * so the screen keeps refreshing while the user types.
 *
 * VMs are tracked by vm_id (never reused), vCPUs by their model key, never by
 * row index: the cursor and the expansion state survive refreshes, re-sorting
 * and filtering.
 *
 * 'i' (or 'D') opens the detail page of the VM under the cursor: its memslots,
 * memslot operations, ring resets and hottest regions, refreshed live and
 * scrolled with the cursor keys; Esc, q or 'i' return to the list.
 */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <ncurses.h>
#include "core/units.h"
#include "tui/tui.h"

#define INTERVAL_MIN 0.05
#define INTERVAL_MAX 3600.0
#define MSG_SECONDS 5
#define NO_ROW ((size_t)-1)

enum {
	PAIR_BAR = 1, PAIR_SORT, PAIR_CURSOR, PAIR_WARN, PAIR_BAD, PAIR_GOOD, PAIR_TREE,
	PAIR_PAUSED, PAIR_KEY, PAIR_TITLE,
};

/* The table: one header for VM rows and vCPU rows. */
enum col_id {
	C_ID, C_PID, C_COMM, C_STATE, C_TRACK, C_VCPUS, C_RING, C_FILL, C_MIB, C_USEDP, C_PEAKP,
	C_USED, C_PEAK, C_FULLEXS, C_FULLEX, C_STALL, C_RESETS, C_INT50, C_INT99, C_LAT50,
	C_LAT99, C_LATMAX, C_RECL50, C_RSTLAT, C_COUNT
};

struct column {
	const char *title;
	int width;
	bool left;
	int sort;		/* the enum sort_key this column sorts by, -1: none */
	const char *help;
};

static const struct column cols[C_COUNT] = {
	[C_ID] = { "VM", 6, true, SORT_VM, "dirtytop's VM number (+ collapsed, - expanded); vCPU rows: the vCPU id" },
	[C_PID] = { "PID", 7, false, -1, "VMM process id; vCPU rows: the vCPU thread id (TID)" },
	[C_COMM] = { "COMMAND", 15, true, -1, "VMM process name" },
	[C_STATE] = { "STATE", 6, true, -1, "ok; stall: a vCPU waits on a full ring now; exited: VM gone (shown once)" },
	[C_TRACK] = { "TRACKING", 11, true, -1, "dirty tracking mode: ring, ring-acqrel or bitmap" },
	[C_VCPUS] = { "VCPUS", 5, false, -1, "vCPUs with a dirty ring" },
	[C_RING] = { "RING", 11, false, -1, "ring entries per vCPU / soft limit (fill that forces a soft-full exit)" },
	[C_FILL] = { "FILL", 8, false, SORT_FILL, "ring entries pushed/s (pages dirtied); bitmap: dirty pages/s its syncs found" },
	[C_MIB] = { "FILL-MiB", 9, false, -1, "the same as guest memory dirtied, MiB/s (4 KiB pages)" },
	[C_USEDP] = { "USED%", 5, false, -1, "entries in use now, % of the soft limit (VM: max over vCPUs)" },
	[C_PEAKP] = { "PEAK%", 5, false, SORT_USED, "peak use in the interval, % of the soft limit (VM: max over vCPUs)" },
	[C_USED] = { "USED", 6, false, -1, "vCPU: ring entries in use now (dirtied, not yet reset)" },
	[C_PEAK] = { "PEAK", 6, false, -1, "vCPU: peak entries in use during the interval" },
	[C_FULLEXS] = { "FULLEX/s", 8, false, SORT_EXITS, "soft-full exits (KVM_EXIT_DIRTY_RING_FULL) per second" },
	[C_FULLEX] = { "FULLEX", 6, false, -1, "soft-full exits in total since dirtytop saw it" },
	[C_STALL] = { "STALL%", 6, false, SORT_STALL, "share of the interval stalled on a full ring (VM: mean of vCPUs)" },
	[C_RESETS] = { "RESET/s", 7, false, -1, "VM: KVM_RESET_DIRTY_RINGS calls/s (bitmap: KVM_GET_DIRTY_LOG/s); vCPU: its ring resets/s" },
	[C_INT50] = { "INT-P50", 7, false, -1, "vCPU: reap interval (time between resets of its ring), median" },
	[C_INT99] = { "INT-P99", 7, false, -1, "vCPU: reap interval, 99th percentile" },
	[C_LAT50] = { "LAT-P50", 7, false, -1, "vCPU: reap latency (push to the reset reclaiming it), median" },
	[C_LAT99] = { "LAT-P99", 7, false, SORT_LATENCY, "reap latency, 99th percentile (VM: max over vCPUs)" },
	[C_LATMAX] = { "LAT-MAX", 7, false, -1, "reap latency, maximum in the interval (VM: max over vCPUs)" },
	[C_RECL50] = { "RECL-P50", 8, false, -1, "vCPU: entries reclaimed per ring reset, median" },
	[C_RSTLAT] = { "RST-P99", 7, false, -1, "VM: KVM_RESET_DIRTY_RINGS ioctl duration, 99th percentile" },
};

/* The tables of the detail page (the memslots, the hottest regions), starting at column 2. */
struct dcol {
	const char *title;
	int width;
	bool left;
	const char *help;
};

enum mcol_id {
	M_AS, M_SLOT, M_BASE, M_SIZE, M_FLAGS, M_GET, M_DIRTY, M_MIB, M_HEAT, M_GET50, M_GET99, M_CLEAR,
	M_CHUNK, M_COUNT
};

static const struct dcol mcols[M_COUNT] = {
	[M_AS] = { "AS", 2, false, "address space (x86: 1 is SMM)" },
	[M_SLOT] = { "SLOT", 5, false, "memslot id in its address space" },
	[M_BASE] = { "BASE", 16, true, "guest-physical base address" },
	[M_SIZE] = { "SIZE", 9, false, "size of the slot" },
	[M_FLAGS] = { "FLAGS", 12, true, "dirty-log: KVM_MEM_LOG_DIRTY_PAGES, ro: KVM_MEM_READONLY" },
	[M_GET] = { "GETLOG/s", 8, false, "KVM_GET_DIRTY_LOG calls/s on the slot" },
	[M_DIRTY] = { "DIRTY/s", 8, false, "dirty pages/s in the bitmaps KVM_GET_DIRTY_LOG returned" },
	[M_MIB] = { "DIRTY-MiB", 9, false, "the same as guest memory, MiB/s (4 KiB pages)" },
	[M_HEAT] = { "HEAT/s", 8, false, "pages/s dirtied in the slot, from its heat regions (ring VMs too)" },
	[M_GET50] = { "GET-P50", 7, false, "KVM_GET_DIRTY_LOG duration, median (whole run)" },
	[M_GET99] = { "GET-P99", 7, false, "KVM_GET_DIRTY_LOG duration, 99th percentile (whole run)" },
	[M_CLEAR] = { "CLEAR/s", 8, false, "KVM_CLEAR_DIRTY_LOG calls/s on the slot" },
	[M_CHUNK] = { "CHUNK-P50", 9, false, "pages per KVM_CLEAR_DIRTY_LOG call, median (whole run)" },
};

enum hcol_id { H_AS, H_SLOT, H_REGION, H_BASE, H_RATE, H_MIB, H_PAGES, H_COUNT };

static const struct dcol hcols[H_COUNT] = {
	[H_AS] = { "AS", 2, false, NULL },
	[H_SLOT] = { "SLOT", 5, false, NULL },
	[H_REGION] = { "REGION", 7, false, NULL },
	[H_BASE] = { "BASE", 16, true, NULL },
	[H_RATE] = { "PAGES/s", 8, false, NULL },
	[H_MIB] = { "MiB/s", 8, false, NULL },
	[H_PAGES] = { "PAGES", 8, false, NULL },
};

/* Direct sort keys, also listed on the help page. */
static const struct {
	int ch;
	enum sort_key key;
} sort_keys[] = {
	{ 'F', SORT_FILL }, { 'U', SORT_USED }, { 'X', SORT_EXITS },
	{ 'S', SORT_STALL }, { 'L', SORT_LATENCY }, { 'V', SORT_VM },
};

struct row {
	size_t vm;
	size_t vcpu;		/* NO_ROW: the VM row */
};

enum prompt_kind { PROMPT_NONE, PROMPT_PID, PROMPT_DELAY };

struct tui {
	struct view_opts *o;
	const struct frame_info *frame;
	SCREEN *scr;
	bool paused, help, colors;

	/* expansion: the VMs (by vm_id) whose state differs from expand_default */
	bool expand_default;
	uint32_t *toggled;
	size_t n_toggled, cap_toggled;

	/* the cursor: by identity; the row index is only a fallback */
	uint32_t sel_vm_id;
	uint64_t sel_vcpu_key;	/* 0: the VM row */
	size_t sel, top;
	struct row *rows;
	size_t n_rows, cap_rows;

	enum prompt_kind prompt;
	char input[24];
	size_t input_len;

	char msg[200];
	bool msg_error;
	time_t msg_until;
	time_t shown_at;	/* when the data on the screen was taken */

	/* the detail page of one VM (by vm_id), scrolled to line d_top */
	bool detail;
	uint32_t d_vm_id, d_pid;
	char d_comm[DT_COMM_LEN];
	size_t d_top, d_total;	/* d_total, d_body: lines of the page and of its view, last draw */
	int d_body;

	/* a VM's command name, kept for its last row once its process is gone */
	struct known_comm {
		uint32_t vm_id;
		char comm[DT_COMM_LEN];
	} *comms;
	size_t n_comms, cap_comms;

	attr_t a_bar, a_sort, a_cursor, a_warn, a_bad, a_good, a_tree, a_paused, a_key, a_title;
};

/* ---- small drawing helpers: everything is clipped to the screen ---- */

static void put(int y, int x, attr_t a, const char *s)
{
	int n;

	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return;
	n = COLS - x;
	attrset(a);
	mvaddnstr(y, x, s, n);
	attrset(A_NORMAL);
}

static void putf(int y, int x, attr_t a, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void putf(int y, int x, attr_t a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put(y, x, a, buf);
}

/* Change the attributes of n cells (-1: to the end of the line). */
static void paint(int y, int x, int n, attr_t a)
{
	if (y < 0 || y >= LINES || x < 0 || x >= COLS)
		return;
	if (n < 0 || n > COLS - x)
		n = COLS - x;
	mvchgat(y, x, n, a & ~A_COLOR, (short)PAIR_NUMBER(a), NULL);
}

/* put, and return the column after the text (also past the screen's edge) */
static int put_seg(int y, int x, attr_t a, const char *s)
{
	put(y, x, a, s);
	return x + (int)strlen(s);
}

static int col_x(int c)
{
	int x = 0;

	for (int i = 0; i < c; i++)
		x += cols[i].width + 1;
	return x;
}

/* ---- the layout: header lines, column header, rows, footer ---- */

struct layout {
	int hdr_lines;		/* summary lines at the top */
	int colhdr_y;		/* -1: none */
	int rows_y, n_rows;	/* the table area */
	int footer_y;		/* -1: none */
};

static void get_layout(struct layout *l)
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

static void set_msg(struct tui *t, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->msg_error = error;
	t->msg_until = time(NULL) + MSG_SECONDS;
}

static const char *fmt_interval(char *buf, size_t len, double s)
{
	snprintf(buf, len, s < 10 ? "%.2fs" : s < 100 ? "%.1fs" : "%.0fs", s);
	return buf;
}

/* ---- expansion, by vm_id ---- */

static bool toggled_find(const struct tui *t, uint32_t id, size_t *at)
{
	for (size_t i = 0; i < t->n_toggled; i++)
		if (t->toggled[i] == id) {
			if (at)
				*at = i;
			return true;
		}
	return false;
}

static bool vm_expanded(const struct tui *t, const struct vm_metrics *vm)
{
	return vm->n_vcpus && t->expand_default != toggled_find(t, vm->vm_id, NULL);
}

static void set_expanded(struct tui *t, const struct vm_metrics *vm, bool on)
{
	size_t at;

	if ((t->expand_default != toggled_find(t, vm->vm_id, NULL)) == on)
		return;
	if (toggled_find(t, vm->vm_id, &at)) {
		t->toggled[at] = t->toggled[--t->n_toggled];
		return;
	}
	if (t->n_toggled == t->cap_toggled) {
		size_t cap = t->cap_toggled ? 2 * t->cap_toggled : 16;
		uint32_t *p = realloc(t->toggled, cap * sizeof(*p));

		if (!p)
			return;
		t->toggled = p;
		t->cap_toggled = cap;
	}
	t->toggled[t->n_toggled++] = vm->vm_id;
}

/* Forget the VMs the model dropped (vm_ids are never reused). */
static void prune_toggled(struct tui *t, const struct model *m)
{
	for (size_t i = 0; i < t->n_toggled;) {
		bool found = false;

		for (size_t j = 0; j < m->n_vms && !found; j++)
			found = m->vms[j].vm_id == t->toggled[i];
		if (!found)
			t->toggled[i] = t->toggled[--t->n_toggled];
		else
			i++;
	}
}

/* ---- command names of VMs whose process is gone ---- */

static const char *known_comm(const struct tui *t, uint32_t vm_id)
{
	for (size_t i = 0; i < t->n_comms; i++)
		if (t->comms[i].vm_id == vm_id)
			return t->comms[i].comm;
	return "?";
}

static void remember_comms(struct tui *t, const struct model *m)
{
	size_t i, j;

	for (i = 0, j = 0; i < t->n_comms; i++) {	/* drop the VMs the model dropped */
		bool found = false;

		for (size_t k = 0; k < m->n_vms && !found; k++)
			found = m->vms[k].vm_id == t->comms[i].vm_id;
		if (found)
			t->comms[j++] = t->comms[i];
	}
	t->n_comms = j;
	for (i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];
		struct known_comm *kc = NULL;

		if (!vm->comm[0])
			continue;
		for (j = 0; j < t->n_comms && !kc; j++)
			if (t->comms[j].vm_id == vm->vm_id)
				kc = &t->comms[j];
		if (!kc) {
			if (t->n_comms == t->cap_comms) {
				size_t cap = t->cap_comms ? 2 * t->cap_comms : 16;
				struct known_comm *p = realloc(t->comms, cap * sizeof(*p));

				if (!p)
					continue;
				t->comms = p;
				t->cap_comms = cap;
			}
			kc = &t->comms[t->n_comms++];
			kc->vm_id = vm->vm_id;
		}
		memcpy(kc->comm, vm->comm, sizeof(kc->comm));
		kc->comm[sizeof(kc->comm) - 1] = 0;
	}
}

/* ---- rows and the cursor ---- */

static void add_row(struct tui *t, size_t vm, size_t vcpu)
{
	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? 2 * t->cap_rows : 64;
		struct row *p = realloc(t->rows, cap * sizeof(*p));

		if (!p)
			return;
		t->rows = p;
		t->cap_rows = cap;
	}
	t->rows[t->n_rows++] = (struct row){ vm, vcpu };
}

static void select_row(struct tui *t, const struct model *m, size_t i)
{
	const struct row *r;

	if (!t->n_rows) {
		t->sel = 0;
		return;
	}
	if (i >= t->n_rows)
		i = t->n_rows - 1;
	r = &t->rows[i];
	t->sel = i;
	t->sel_vm_id = m->vms[r->vm].vm_id;
	t->sel_vcpu_key = r->vcpu == NO_ROW ? 0 : m->vms[r->vm].vcpus[r->vcpu].key;
}

/* Rebuild the rows from the model and find the cursor's VM/vCPU again. */
static void build_rows(struct tui *t, const struct model *m)
{
	size_t found = NO_ROW, vm_row = NO_ROW;

	t->n_rows = 0;
	for (size_t i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];

		if (!model_vm_visible(m, vm))
			continue;
		add_row(t, i, NO_ROW);
		if (vm_expanded(t, vm))
			for (size_t j = 0; j < vm->n_vcpus; j++)
				add_row(t, i, j);
	}
	for (size_t i = 0; i < t->n_rows && found == NO_ROW; i++) {
		const struct row *r = &t->rows[i];
		const struct vm_metrics *vm = &m->vms[r->vm];

		if (vm->vm_id != t->sel_vm_id)
			continue;
		if (r->vcpu == NO_ROW) {
			vm_row = i;
			if (!t->sel_vcpu_key)
				found = i;
		} else if (vm->vcpus[r->vcpu].key == t->sel_vcpu_key) {
			found = i;
		}
	}
	if (found == NO_ROW)
		found = vm_row != NO_ROW ? vm_row : t->sel;
	select_row(t, m, found);
}

static int page_rows(void)
{
	struct layout l;

	get_layout(&l);
	return l.n_rows > 1 ? l.n_rows - 1 : 1;
}

static void move_sel(struct tui *t, const struct model *m, long delta)
{
	long i = (long)t->sel + delta;

	if (i < 0)
		i = 0;
	select_row(t, m, (size_t)i);
}

/* ---- metrics of a VM row that the model leaves to the views ---- */

struct vm_agg {
	double used_pct, peak_pct;
	bool lat_valid, stalled;
	double lat99, latmax;
};

static void vm_aggregate(const struct vm_metrics *vm, struct vm_agg *a)
{
	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < vm->n_vcpus; i++) {
		const struct vcpu_metrics *c = &vm->vcpus[i];

		if (c->used_pct > a->used_pct)
			a->used_pct = c->used_pct;
		if (c->peak_pct > a->peak_pct)
			a->peak_pct = c->peak_pct;
		if (c->stalled_now)
			a->stalled = true;
		if (c->reap_latency_us.valid) {
			if (!a->lat_valid || c->reap_latency_us.p99 > a->lat99)
				a->lat99 = c->reap_latency_us.p99;
			if (!a->lat_valid || c->reap_latency_us.max > a->latmax)
				a->latmax = c->reap_latency_us.max;
			a->lat_valid = true;
		}
	}
}

static const char *q_us(char *buf, size_t len, const struct quantiles *q, double v)
{
	return q->valid ? fmt_usecs(buf, len, v) : "-";
}

static const char *ring_text(char *buf, size_t len, uint32_t size, uint32_t soft)
{
	if (!size)
		return "-";
	if (!soft)
		snprintf(buf, len, "%u", size);
	else
		snprintf(buf, len, "%u/%u", size, soft);
	return buf;
}

/*
 * The text of one cell and its highlight (warnings). c == NULL: the VM row.
 * Returns what to show; buf is scratch space.
 */
static const char *cell(const struct tui *t, char *buf, size_t len, int col, const struct vm_metrics *vm,
			const struct vm_agg *agg, const struct vcpu_metrics *c, attr_t *hl)
{
	double pct;

	*hl = 0;
	switch (col) {
	case C_ID:
		if (c) {
			snprintf(buf, len, "   %d", c->vcpu_id);	/* the tree glyphs go at 1..2 */
		} else if (vm->n_vcpus) {
			snprintf(buf, len, vm->vm_id > 9999 ? "%c%u" : "%c %u", vm_expanded(t, vm) ? '-' : '+',
				 vm->vm_id);
		} else {
			snprintf(buf, len, "  %u", vm->vm_id);
		}
		return buf;
	case C_PID:
		snprintf(buf, len, "%u", c ? c->tid : vm->tgid);
		return buf;
	case C_COMM:
		if (c) {
			snprintf(buf, len, "vCPU %d", c->vcpu_id);
			return buf;
		}
		return vm->comm[0] ? vm->comm : known_comm(t, vm->vm_id);
	case C_STATE:
		if (c) {
			if (!c->stalled_now)
				return "ok";
			*hl = t->a_bad;
			return "stall";
		}
		if (vm->exited)
			return "exited";
		if (agg->stalled) {
			*hl = t->a_bad;
			return "stall";
		}
		return "ok";
	case C_TRACK:
		return c ? "" : tracking_name(vm->tracking);
	case C_VCPUS:
		if (c)
			return "";
		snprintf(buf, len, "%zu", vm->n_vcpus);
		return buf;
	case C_RING:
		return c ? ring_text(buf, len, c->ring_size, c->soft_limit)
			 : ring_text(buf, len, vm->ring_size, vm->soft_limit);
	case C_FILL:
		return fmt_rate(buf, len, c ? c->fill_rate : vm->fill_rate);
	case C_MIB:
		return fmt_mib_s(buf, len, c ? c->fill_mib_s : vm->fill_mib_s);
	case C_USEDP:
	case C_PEAKP:
		pct = col == C_USEDP ? (c ? c->used_pct : agg->used_pct) : (c ? c->peak_pct : agg->peak_pct);
		if (pct >= 100)
			*hl = t->a_bad;
		else if (pct >= 75)
			*hl = t->a_warn;
		return fmt_percent(buf, len, pct);
	case C_USED:
		if (!c)
			return "";
		snprintf(buf, len, "%u", c->used);
		return buf;
	case C_PEAK:
		if (!c)
			return "";
		snprintf(buf, len, "%u", c->peak_used);
		return buf;
	case C_FULLEXS: {
		double v = c ? c->full_exits_s : vm->full_exits_s;

		if (v > 0)
			*hl = t->a_warn;
		return fmt_rate(buf, len, v);
	}
	case C_FULLEX:
		return fmt_count(buf, len, (double)(c ? c->full_exits : vm->full_exits));
	case C_STALL:
		pct = 100.0 * (c ? c->stall_frac : (vm->n_vcpus ? vm->stall_frac_sum / (double)vm->n_vcpus : 0));
		if (pct >= 0.05)	/* what shows as more than 0.0% */
			*hl = t->a_bad;
		return fmt_percent(buf, len, pct);
	case C_RESETS:
		if (!c && vm->tracking == TRACK_BITMAP)
			return fmt_rate(buf, len, vm->bitmap_syncs_s);	/* its harvests: KVM_GET_DIRTY_LOG */
		return fmt_rate(buf, len, c ? c->ring_resets_s : vm->reset_calls_s);
	case C_INT50:
		return c ? q_us(buf, len, &c->reap_interval_us, c->reap_interval_us.p50) : "";
	case C_INT99:
		return c ? q_us(buf, len, &c->reap_interval_us, c->reap_interval_us.p99) : "";
	case C_LAT50:
		return c ? q_us(buf, len, &c->reap_latency_us, c->reap_latency_us.p50) : "";
	case C_LAT99:
		if (c)
			return q_us(buf, len, &c->reap_latency_us, c->reap_latency_us.p99);
		return agg->lat_valid ? fmt_usecs(buf, len, agg->lat99) : "-";
	case C_LATMAX:
		if (c)
			return q_us(buf, len, &c->reap_latency_us, c->reap_latency_us.max);
		return agg->lat_valid ? fmt_usecs(buf, len, agg->latmax) : "-";
	case C_RECL50:
		if (!c)
			return "";
		return c->reclaimed.valid ? fmt_count(buf, len, c->reclaimed.p50) : "-";
	case C_RSTLAT:
		if (c)
			return "";
		return q_us(buf, len, &vm->reset_latency_us, vm->reset_latency_us.p99);
	}
	return "";
}

static void draw_row(struct tui *t, int y, const struct vm_metrics *vm, const struct vm_agg *agg,
		     const struct vcpu_metrics *c, bool last_child, bool selected)
{
	attr_t base = vm->exited ? A_DIM : (c ? A_NORMAL : A_BOLD);
	int x = 0;

	for (int i = 0; i < C_COUNT && x < COLS; i++) {
		char buf[48], text[48];
		attr_t hl;
		const char *s = cell(t, buf, sizeof(buf), i, vm, agg, c, &hl);

		if (cols[i].left)
			snprintf(text, sizeof(text), "%-*.*s", cols[i].width, cols[i].width, s);
		else
			snprintf(text, sizeof(text), "%*.*s", cols[i].width, cols[i].width, s);
		put(y, x, hl && !vm->exited ? hl : base, text);
		if (i == C_ID && c && x + 2 < COLS) {
			attr_t g = (vm->exited ? A_DIM : A_NORMAL) | t->a_tree;

			mvaddch(y, x + 1, (last_child ? ACS_LLCORNER : ACS_LTEE) | g);
			mvaddch(y, x + 2, ACS_HLINE | g);
		}
		x += cols[i].width + 1;
	}
	if (selected)
		paint(y, 0, -1, t->a_cursor | (vm->exited ? A_DIM : 0));
}

static int sort_col(enum sort_key k)
{
	for (int i = 0; i < C_COUNT; i++)
		if (cols[i].sort == (int)k)
			return i;
	return C_FILL;
}

static bool sort_descending(const struct view_opts *o)
{
	return o->descending && o->sort != SORT_VM;	/* model_sort orders vm ids ascending */
}

static void draw_col_header(struct tui *t, int y)
{
	int x = 0, sc = sort_col(t->o->sort);

	if (y < 0)
		return;
	for (int i = 0; i < C_COUNT && x < COLS; i++) {
		putf(y, x, A_NORMAL, cols[i].left ? "%-*s" : "%*s", cols[i].width, cols[i].title);
		x += cols[i].width + 1;
	}
	paint(y, 0, -1, t->a_bar);
	paint(y, col_x(sc), cols[sc].width, t->a_sort);
}

static void draw_header(struct tui *t, const struct model *m, const struct layout *l)
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
	     fmt_interval(a, sizeof(a), o->interval_s), m->interval_s > 0 ? fmt_interval(b, sizeof(b), m->interval_s) : "-",
	     t->frame->hooks ? t->frame->hooks : "?", t->frame->map_entries);
	if (t->frame->features) {	/* what this kernel cannot do: --verbose says why */
		char off[64];

		dt_features_off_list(t->frame->features, off, sizeof(off));
		if (off[0])
			putf(0, getcurx(stdscr), t->a_warn, "  off: %s", off);
	}
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
	snprintf(line, sizeof(line), " %s %s   ", cols[sort_col(o->sort)].title,
		 sort_descending(o) ? "descending" : "ascending");
	x = put_seg(2, x, A_NORMAL, line);
	x = put_seg(2, x, A_BOLD, "Filter:");
	if (vm_filter_active(&m->filter)) {
		char d[VM_FILTER_NAME_LEN + 8];

		snprintf(line, sizeof(line), " %s", vm_filter_describe(&m->filter, d, sizeof(d)));
		x = put_seg(2, x, t->a_warn | A_BOLD, line);
	} else {
		x = put_seg(2, x, A_NORMAL, " none (every VM)");
	}
	put_seg(2, x, A_NORMAL, "   h: help");
}

static void draw_banner(struct tui *t, const struct model *m, const struct layout *l)
{
	const char *lines[4];
	char buf[2][160];
	int n = 0, y;

	if (vm_filter_active(&m->filter)) {
		char d[VM_FILTER_NAME_LEN + 8];

		snprintf(buf[0], sizeof(buf[0]), "No VM of %.100s is using KVM dirty tracking",
			 vm_filter_describe(&m->filter, d, sizeof(d)));
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
	if (l->n_rows <= 0)
		return;
	y = l->rows_y + (l->n_rows - (2 * n - 1)) / 2;
	if (y < l->rows_y)
		y = l->rows_y;
	for (int i = 0; i < n && y < l->rows_y + l->n_rows; i++, y += l->n_rows >= 2 * n ? 2 : 1) {
		int len = (int)strlen(lines[i]), x = (COLS - len) / 2;

		put(y, x < 0 ? 0 : x, i == 0 ? t->a_warn | A_BOLD : A_NORMAL, lines[i]);
	}
}

static void draw_footer(struct tui *t, const struct layout *l)
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

static void draw_help(struct tui *t)
{
	static const char *keys[] = {
		"Up/Down, k/j     move the cursor",
		"PgUp/PgDn        move a page",
		"Home/End         first/last row",
		"Enter, Space     expand/collapse the VM (its vCPU rows)",
		"i, D             detail page of the VM under the cursor",
		"Right / Left     expand / collapse the VM",
		"e                expand or collapse every VM",
		"< >              sort by the previous/next sortable column",
		"F                sort by fill rate (FILL)",
		"U                sort by peak ring use (PEAK%)",
		"X                sort by soft-full exits/s (FULLEX/s)",
		"S                sort by stall share (STALL%)",
		"L                sort by reap latency p99 (LAT-P99)",
		"V                sort by VM number (VM, always ascending)",
		"r, R             reverse the sort order",
		"p                filter: only the VMs of one PID (empty: all)",
		"d, s             set the refresh interval (0.05 to 3600 s)",
		"+ / -            double / halve the refresh interval",
		"P, z             pause / resume the refresh",
		"Ctrl-L           redraw the screen",
		"h, ?, F1         this help",
		"q, F10, Ctrl-C   quit",
		"",
		"Detail page: Up/Down, k/j, PgUp/PgDn, Home/End scroll it;",
		"  Esc, q, i or D: back to the list; P, d, +/-, h work there.",
		"Prompts: Enter accepts, Esc cancels, Backspace erases.",
		"Dimmed rows: VMs that exited (shown for one last interval).",
		"\"-\": no sample in the interval for that percentile.",
	};
	int y = 2, x0 = 0, keys_w = 64;
	size_t nk = sizeof(keys) / sizeof(keys[0]);
	bool side = COLS >= keys_w + 100;

	putf(0, 0, A_NORMAL, "dirtytop help: KVM dirty ring metrics per VM and per vCPU.  Press any key to return.");
	paint(0, 0, -1, t->a_bar);
	put(y, 0, t->a_title, "Keys");
	for (size_t i = 0; i < nk; i++)
		put(y + 1 + (int)i, 2, A_NORMAL, keys[i]);
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

/* ---- the detail page of one VM ---- */

struct dlayout {
	int vm_y, sum_y;	/* the VM's header line and its summary line, -1: none */
	int body_y, body_h;	/* the scrolled part */
	int footer_y;
};

static void get_detail_layout(struct dlayout *d)
{
	d->footer_y = LINES >= 2 ? LINES - 1 : -1;
	d->vm_y = LINES >= 3 ? 1 : -1;
	d->sum_y = LINES >= 6 ? 2 : -1;
	d->body_y = d->sum_y >= 0 ? 3 : d->vm_y >= 0 ? 2 : 1;
	d->body_h = LINES - (d->footer_y >= 0) - d->body_y;
	if (d->body_h < 0)
		d->body_h = 0;
}

/* Writes line y of the page, on the screen if that line is in view (draw) */
struct pen {
	bool draw;
	size_t y, top;		/* the line being written, the first line in view */
	int y0, h;		/* the view on the screen */
};

static int pen_row(const struct pen *p)
{
	if (!p->draw || p->y < p->top || p->y - p->top >= (size_t)p->h)
		return -1;
	return p->y0 + (int)(p->y - p->top);
}

static int pput(const struct pen *p, int x, attr_t a, const char *s)
{
	int y = pen_row(p);

	if (y >= 0)
		put(y, x, a, s);
	return x + (int)strlen(s);
}

static void ppaint(const struct pen *p, int x, int n, attr_t a)
{
	int y = pen_row(p);

	if (y >= 0)
		paint(y, x, n, a);
}

/* One table row (or, text == NULL, the column titles): returns the column after it. */
static int pcells(const struct pen *p, const struct dcol *c, int n, const char *const *text, const attr_t *hl,
		  attr_t base)
{
	int x = 2;

	for (int i = 0; i < n; i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), c[i].left ? "%-*.*s" : "%*.*s", c[i].width, c[i].width,
			 text ? text[i] : c[i].title);
		pput(p, x, hl && hl[i] ? hl[i] : base, buf);
		x += c[i].width + 1;
	}
	return x;
}

static void pcol_header(const struct tui *t, const struct pen *p, const struct dcol *c, int n)
{
	pcells(p, c, n, NULL, NULL, A_NORMAL);
	ppaint(p, 0, -1, t->a_bar);
}

/* 32 MiB, 1.5 GiB, 4 KiB */
static const char *fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int i = 0;

	while (i < 6 && bytes >> (10 * (i + 1)))
		i++;
	if (!(bytes & ((1ull << (10 * i)) - 1)))
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes >> (10 * i)), unit[i]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)(1ull << (10 * i)), unit[i]);
	return buf;
}

/* fmt_rate with a decimal below 10/s: calls per second are often a few */
static const char *fmt_rate1(char *buf, size_t len, double per_s)
{
	if (per_s > 0 && per_s < 9.95) {
		snprintf(buf, len, "%.1f/s", per_s);
		return buf;
	}
	return fmt_rate(buf, len, per_s);
}

static const char *q_count(char *buf, size_t len, const struct quantiles *q, double v)
{
	return q->valid ? fmt_count(buf, len, v) : "-";
}

static const struct vm_metrics *vm_by_id(const struct model *m, uint32_t vm_id)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (m->vms[i].vm_id == vm_id)
			return &m->vms[i];
	return NULL;
}

static void draw_detail_memslots(struct tui *t, const struct vm_metrics *vm, struct pen *p)
{
	char a[24], b[24], c[24], d[24], e[24], f[24], g[24], line[512];
	int x;

	x = pput(p, 0, t->a_title, "Memslots");
	pput(p, x, A_NORMAL, "   rates: this interval; latencies and chunks: since dirtytop saw the slot");
	p->y++;
	if (!vm->seen_from_create) {
		pput(p, 2, t->a_warn, "The VM predates dirtytop: this table may be incomplete (slots it has not "
		     "changed since dirtytop started are missing or \"unknown\")");
		p->y++;
	}
	pcol_header(t, p, mcols, M_COUNT);
	p->y++;
	for (size_t i = 0; i < vm->n_memslots; i++) {
		const struct memslot_metrics *ms = &vm->memslots[i];
		char as[12], id[12], base[24] = "unknown", size[24] = "unknown", flags[24] = "unknown";
		char dirty[24], mib[24], heat[24], get[24], g50[24], g99[24], clear[24], chunk[24];
		const char *text[M_COUNT];
		attr_t hl[M_COUNT] = { 0 };
		double heat_s = 0;

		for (size_t j = 0; j < vm->n_heat; j++)
			if (vm->heat[j].slot == ms->slot)
				heat_s += vm->heat[j].pages_s;
		snprintf(as, sizeof(as), "%u", ms->slot >> 16);
		snprintf(id, sizeof(id), "%u", ms->slot & 0xffff);
		if (ms->known) {
			snprintf(base, sizeof(base), "0x%llx", (unsigned long long)ms->gpa);
			fmt_size(size, sizeof(size), ms->size);
			snprintf(flags, sizeof(flags), "%s", (ms->flags & DT_MEM_LOG_DIRTY_PAGES) ?
				 ((ms->flags & DT_MEM_READONLY) ? "dirty-log,ro" : "dirty-log") :
				 ((ms->flags & DT_MEM_READONLY) ? "readonly" : "-"));
		} else {
			hl[M_BASE] = hl[M_SIZE] = hl[M_FLAGS] = t->a_warn;
		}
		text[M_AS] = as;
		text[M_SLOT] = id;
		text[M_BASE] = base;
		text[M_SIZE] = size;
		text[M_FLAGS] = flags;
		text[M_GET] = fmt_rate1(get, sizeof(get), ms->get_calls_s);
		text[M_DIRTY] = fmt_rate(dirty, sizeof(dirty), ms->dirty_pages_s);
		text[M_MIB] = fmt_mib_s(mib, sizeof(mib), ms->dirty_mib_s);
		text[M_HEAT] = fmt_rate(heat, sizeof(heat), heat_s);
		text[M_GET50] = q_us(g50, sizeof(g50), &ms->get_latency_us, ms->get_latency_us.p50);
		text[M_GET99] = q_us(g99, sizeof(g99), &ms->get_latency_us, ms->get_latency_us.p99);
		text[M_CLEAR] = fmt_rate1(clear, sizeof(clear), ms->clear_calls_s);
		text[M_CHUNK] = q_count(chunk, sizeof(chunk), &ms->clear_chunk_pages, ms->clear_chunk_pages.p50);
		pcells(p, mcols, M_COUNT, text, hl, vm->exited ? A_DIM : A_NORMAL);
		p->y++;
	}
	if (!vm->n_memslots) {
		pput(p, 2, A_DIM, "no memslot seen yet");
		p->y++;
	}
	snprintf(line, sizeof(line),
		 "all slots: KVM_GET_DIRTY_LOG %s (%s calls)   dirty pages %s %s (%s pages)   "
		 "KVM_CLEAR_DIRTY_LOG %s (%s calls)",
		 fmt_rate1(a, sizeof(a), vm->bitmap_syncs_s), fmt_count(b, sizeof(b), (double)vm->bitmap_syncs),
		 fmt_rate(c, sizeof(c), vm->bitmap_dirty_pages_s),
		 fmt_mib_s(d, sizeof(d), vm->bitmap_dirty_pages_s * DT_PAGE_SIZE / (1024.0 * 1024.0)),
		 fmt_count(e, sizeof(e), (double)vm->bitmap_dirty_pages), fmt_rate1(f, sizeof(f), vm->clear_calls_s),
		 fmt_count(g, sizeof(g), (double)vm->clear_calls));
	pput(p, 2, A_NORMAL, line);
	p->y++;
}

static void draw_detail_ops(struct tui *t, const struct vm_metrics *vm, struct pen *p)
{
	char a[24], b[24], c[24], d[24], e[24], f[24], g[24], line[512];
	int x;

	x = pput(p, 0, t->a_title, "Memslot operations");
	pput(p, x, A_NORMAL, "   KVM_SET_USER_MEMORY_REGION by class since dirtytop started, with its duration p99");
	p->y++;
	x = 2;
	for (int op = 0; op <= DT_SLOT_OPS; op++) {
		int len;

		if (op < DT_SLOT_OPS)
			snprintf(line, sizeof(line), "%s %llu%s%s%s", slot_op_name(op),
				 (unsigned long long)vm->slot_ops[op], vm->slot_op_latency_us[op].valid ? " (p99 " : "",
				 vm->slot_op_latency_us[op].valid ?
				 fmt_usecs(a, sizeof(a), vm->slot_op_latency_us[op].p99) : "",
				 vm->slot_op_latency_us[op].valid ? ")" : "");
		else
			snprintf(line, sizeof(line), "  dirty logging on %llu, off %llu",
				 (unsigned long long)vm->dirty_log_on, (unsigned long long)vm->dirty_log_off);
		len = (int)strlen(line);
		if (x > 2 && x + len > COLS) {	/* wrap */
			p->y++;
			x = 2;
		}
		pput(p, x, op < DT_SLOT_OPS && vm->slot_ops[op] ? A_BOLD : A_NORMAL, line);
		x += len + 3;
	}
	p->y += 2;

	x = pput(p, 0, t->a_title, "Dirty ring resets");
	pput(p, x, A_NORMAL, "   KVM_RESET_DIRTY_RINGS: rate this interval; latency and entries since dirtytop saw the VM");
	p->y++;
	if (!vm->reset_calls) {
		pput(p, 2, A_DIM, vm->tracking == TRACK_BITMAP ? "none: the VM tracks dirty pages with bitmaps"
							       : "none yet");
	} else {
		snprintf(line, sizeof(line),
			 "%s   %s calls, %s entries   latency p50 %s p99 %s (this interval p99 %s)   "
			 "entries per call p50 %s",
			 fmt_rate1(a, sizeof(a), vm->reset_calls_s), fmt_count(b, sizeof(b), (double)vm->reset_calls),
			 fmt_count(c, sizeof(c), (double)vm->reset_entries),
			 q_us(d, sizeof(d), &vm->reset_latency_us_all, vm->reset_latency_us_all.p50),
			 q_us(e, sizeof(e), &vm->reset_latency_us_all, vm->reset_latency_us_all.p99),
			 q_us(f, sizeof(f), &vm->reset_latency_us, vm->reset_latency_us.p99),
			 q_count(g, sizeof(g), &vm->reset_entries_all, vm->reset_entries_all.p50));
		pput(p, 2, A_NORMAL, line);
	}
	p->y += 2;
}

static void draw_detail_heat(struct tui *t, const struct vm_metrics *vm, struct pen *p)
{
	char size[24], line[256];
	size_t n, avail;
	double top_s = 0;
	int x;

	x = pput(p, 0, t->a_title, "Hottest regions");
	snprintf(line, sizeof(line), "   %s each, by pages dirtied this interval; PAGES: since dirtytop saw them",
		 fmt_size(size, sizeof(size), 1ull << vm->heat_region_bytes_log2));
	pput(p, x, A_NORMAL, line);
	p->y++;
	if (!vm->n_heat) {
		pput(p, 2, A_DIM, "no page dirtied yet");
		p->y++;
		return;
	}
	pcol_header(t, p, hcols, H_COUNT);
	p->y++;
	/* as many as fill the view (keeping a line to say how many more), at least --top */
	avail = p->y < (size_t)p->h ? (size_t)p->h - p->y : 0;
	if (avail < vm->n_heat && avail)
		avail--;
	n = avail > t->o->top_regions ? avail : t->o->top_regions;
	if (n > vm->n_heat)
		n = vm->n_heat;
	for (size_t i = 0; i < n; i++)
		if (vm->heat[i].pages_s > top_s)
			top_s = vm->heat[i].pages_s;
	for (size_t i = 0; i < n; i++) {
		const struct heat_region *h = &vm->heat[i];
		char as[12], id[12], region[12], base[24] = "?", rate[24], mib[24], pages[24], bar[64];
		const char *text[H_COUNT];
		int w, len;

		snprintf(as, sizeof(as), "%u", h->slot >> 16);
		snprintf(id, sizeof(id), "%u", h->slot & 0xffff);
		snprintf(region, sizeof(region), "%u", h->region);
		if (h->gpa_known)
			snprintf(base, sizeof(base), "0x%llx", (unsigned long long)h->gpa);
		text[H_AS] = as;
		text[H_SLOT] = id;
		text[H_REGION] = region;
		text[H_BASE] = base;
		text[H_RATE] = fmt_rate(rate, sizeof(rate), h->pages_s);
		text[H_MIB] = fmt_mib_s(mib, sizeof(mib), h->pages_s * DT_PAGE_SIZE / (1024.0 * 1024.0));
		text[H_PAGES] = fmt_count(pages, sizeof(pages), (double)h->pages);
		x = pcells(p, hcols, H_COUNT, text, NULL, vm->exited ? A_DIM : A_NORMAL);
		/* a bar: this interval's rate against the hottest one's */
		w = COLS - x - 1;
		if (w > 40)
			w = 40;
		len = top_s > 0 && w > 0 ? (int)lround(h->pages_s / top_s * w) : 0;
		if (!len && h->pages_s > 0 && w > 0)
			len = 1;
		if (len > 0) {
			memset(bar, '#', (size_t)len);
			bar[len] = 0;
			pput(p, x, t->a_good, bar);
		}
		p->y++;
	}
	if (n < vm->n_heat) {
		snprintf(line, sizeof(line), "%zu more region%s", vm->n_heat - n, vm->n_heat - n == 1 ? "" : "s");
		pput(p, 2, A_DIM, line);
		p->y++;
	}
}

static void draw_detail_body(struct tui *t, const struct vm_metrics *vm, struct pen *p)
{
	char line[160];

	if (vm->exited) {
		snprintf(line, sizeof(line), "VM %u has exited: this is its last interval (Esc returns to the list)",
			 vm->vm_id);
		pput(p, 0, t->a_bad, line);
		p->y += 2;
	}
	draw_detail_memslots(t, vm, p);
	p->y++;
	draw_detail_ops(t, vm, p);
	draw_detail_heat(t, vm, p);
}

static void draw_detail(struct tui *t, struct model *m)
{
	struct layout hl = { .hdr_lines = LINES >= 1 ? 1 : 0 };
	const struct vm_metrics *vm = vm_by_id(m, t->d_vm_id);
	char a[24], b[24], c[24], d[24], e[24], line[512];
	struct dlayout dl;
	struct pen p;

	get_detail_layout(&dl);
	draw_header(t, m, &hl);
	if (vm) {
		t->d_pid = vm->tgid;
		snprintf(t->d_comm, sizeof(t->d_comm), "%s", vm->comm[0] ? vm->comm : known_comm(t, vm->vm_id));
	}

	/* the page, measured, then drawn from line d_top */
	p = (struct pen){ .draw = false, .y0 = dl.body_y, .h = dl.body_h };
	if (vm)
		draw_detail_body(t, vm, &p);
	t->d_total = p.y;
	t->d_body = dl.body_h;
	if (t->d_top + (size_t)dl.body_h > t->d_total)
		t->d_top = t->d_total > (size_t)dl.body_h ? t->d_total - (size_t)dl.body_h : 0;
	p = (struct pen){ .draw = true, .top = t->d_top, .y0 = dl.body_y, .h = dl.body_h };

	if (dl.vm_y >= 0) {
		char pos[64] = "";
		const char *origin = "";
		int len;

		if (vm) {
			struct vm_agg agg;

			vm_aggregate(vm, &agg);
			snprintf(line, sizeof(line), "VM %u  PID %u  COMMAND %s  TRACKING %s  VCPUS %zu  RING %s  STATE %s",
				 vm->vm_id, vm->tgid, t->d_comm, tracking_name(vm->tracking), vm->n_vcpus,
				 ring_text(a, sizeof(a), vm->ring_size, vm->soft_limit),
				 vm->exited ? "exited" : agg.stalled ? "stall" : "ok");
			origin = vm->seen_from_create ? "  seen from its creation" : "  older than dirtytop";
		} else {
			snprintf(line, sizeof(line), "VM %u  PID %u  COMMAND %s  STATE gone", t->d_vm_id, t->d_pid,
				 t->d_comm);
		}
		if (t->d_total > (size_t)dl.body_h) {	/* where the view is */
			size_t last = t->d_top + (size_t)dl.body_h;

			snprintf(pos, sizeof(pos), " lines %zu-%zu of %zu%s ", t->d_top + 1,
				 last < t->d_total ? last : t->d_total, t->d_total,
				 last < t->d_total ? ", more below" : "");
		}
		/* the VM's origin goes first when space is short, then the position covers the tail */
		len = (int)strlen(line);
		if (len + (int)strlen(origin) + 2 + (int)strlen(pos) <= COLS)
			snprintf(line + len, sizeof(line) - (size_t)len, "%s", origin);
		put(dl.vm_y, 0, A_BOLD, line);
		paint(dl.vm_y, 0, -1, t->a_bar | A_BOLD);
		if (pos[0] && (int)strlen(pos) <= COLS)
			put(dl.vm_y, COLS - (int)strlen(pos), t->a_bar, pos);
	}
	if (dl.sum_y >= 0 && vm) {
		struct vm_agg agg;
		size_t stalled = 0;

		vm_aggregate(vm, &agg);
		for (size_t j = 0; j < vm->n_vcpus; j++)
			stalled += vm->vcpus[j].stalled_now;
		snprintf(line, sizeof(line), "dirtied %s %s   soft-full exits %s (%s in total)   stalled vCPUs %zu   "
			 "reap latency p99 %s", fmt_rate(a, sizeof(a), vm->fill_rate),
			 fmt_mib_s(b, sizeof(b), vm->fill_mib_s), fmt_rate1(c, sizeof(c), vm->full_exits_s),
			 fmt_count(d, sizeof(d), (double)vm->full_exits), stalled,
			 agg.lat_valid ? fmt_usecs(e, sizeof(e), agg.lat99) : "-");
		put(dl.sum_y, 0, A_NORMAL, line);
	}

	if (vm) {
		draw_detail_body(t, vm, &p);
	} else if (dl.body_h > 0) {
		const char *lines[2];
		int y = dl.body_y + (dl.body_h - 3) / 2;

		snprintf(line, sizeof(line), "VM %u (PID %u, %s) has exited: dirtytop no longer tracks it",
			 t->d_vm_id, t->d_pid, t->d_comm);
		lines[0] = line;
		lines[1] = "Esc, q or i returns to the list";
		if (y < dl.body_y)
			y = dl.body_y;
		for (int i = 0; i < 2 && y < dl.body_y + dl.body_h; i++, y += 2) {
			int len = (int)strlen(lines[i]), x = (COLS - len) / 2;

			put(y, x < 0 ? 0 : x, i == 0 ? t->a_warn | A_BOLD : A_NORMAL, lines[i]);
		}
	}
	{
		struct layout fl = { .footer_y = dl.footer_y };

		draw_footer(t, &fl);
	}
}

static void check_size(void);

/* ---- the API ---- */

struct tui *tui_open(struct view_opts *o, const struct frame_info *frame)
{
	struct tui *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = o;
	t->frame = frame;
	setlocale(LC_CTYPE, "");
	t->scr = newterm(NULL, stdout, stdin);
	if (!t->scr) {
		free(t);
		return NULL;
	}
	set_term(t->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	/* the cursor keys in both modes, whichever the terminal is in (see tui_resize) */
	{
		static const struct {
			const char *seq;
			int key;
		} cursor_keys[] = {
			{ "\033[A", KEY_UP }, { "\033[B", KEY_DOWN }, { "\033[C", KEY_RIGHT }, { "\033[D", KEY_LEFT },
			{ "\033[H", KEY_HOME }, { "\033[F", KEY_END }, { "\033OA", KEY_UP }, { "\033OB", KEY_DOWN },
			{ "\033OC", KEY_RIGHT }, { "\033OD", KEY_LEFT }, { "\033OH", KEY_HOME }, { "\033OF", KEY_END },
		};

		for (size_t i = 0; i < sizeof(cursor_keys) / sizeof(cursor_keys[0]); i++)
			if (key_defined(cursor_keys[i].seq) != cursor_keys[i].key)
				define_key(cursor_keys[i].seq, cursor_keys[i].key);
	}
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
	return t;
}

void tui_draw(struct tui *t, struct model *m)
{
	struct layout l;

	prune_toggled(t, m);
	remember_comms(t, m);
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
		if (t->prompt)
			curs_set(1);
		refresh();
		return;
	}
	draw_header(t, m, &l);
	draw_col_header(t, l.colhdr_y);

	/* keep the cursor in view */
	if (t->sel < t->top)
		t->top = t->sel;
	if (l.n_rows > 0 && t->sel >= t->top + (size_t)l.n_rows)
		t->top = t->sel - (size_t)l.n_rows + 1;
	if (l.n_rows > 0 && t->top + (size_t)l.n_rows > t->n_rows)
		t->top = t->n_rows > (size_t)l.n_rows ? t->n_rows - (size_t)l.n_rows : 0;

	if (!t->n_rows) {
		draw_banner(t, m, &l);
	} else {
		for (int i = 0; i < l.n_rows && t->top + (size_t)i < t->n_rows; i++) {
			size_t ri = t->top + (size_t)i;
			const struct row *r = &t->rows[ri];
			const struct vm_metrics *vm = &m->vms[r->vm];
			const struct vcpu_metrics *c = r->vcpu == NO_ROW ? NULL : &vm->vcpus[r->vcpu];
			struct vm_agg agg;

			vm_aggregate(vm, &agg);
			draw_row(t, l.rows_y + i, vm, &agg, c, c && r->vcpu + 1 == vm->n_vcpus, ri == t->sel);
		}
	}
	draw_footer(t, &l);
	if (t->prompt)
		curs_set(1);
	refresh();
}

static void set_sort(struct tui *t, struct model *m, enum sort_key k)
{
	t->o->sort = k;
	t->o->descending = true;
	model_sort(m, k, true);
}

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
			set_msg(t, true, "'%s' is neither a PID nor a VM name: type one, or nothing to show every VM", s);
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
			t->o->interval_s = v;
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

static void start_prompt(struct tui *t, enum prompt_kind k)
{
	t->prompt = k;
	t->input_len = 0;
	t->input[0] = 0;
	t->msg[0] = 0;
}

static void scale_interval(struct tui *t, double f)
{
	double v = t->o->interval_s * f;
	char a[16];

	if (v < INTERVAL_MIN)
		v = INTERVAL_MIN;
	if (v > INTERVAL_MAX)
		v = INTERVAL_MAX;
	if (v == t->o->interval_s)
		set_msg(t, false, "The refresh interval is already the %s (%s)", f < 1 ? "shortest" : "longest",
			fmt_interval(a, sizeof(a), v));
	else
		set_msg(t, false, "Refresh every %s", fmt_interval(a, sizeof(a), v));
	t->o->interval_s = v;
}

static void open_detail(struct tui *t, const struct model *m, const struct row *r)
{
	const struct vm_metrics *vm;

	if (!r) {
		set_msg(t, true, "No VM to show: the list is empty");
		return;
	}
	vm = &m->vms[r->vm];
	t->detail = true;
	t->d_vm_id = vm->vm_id;
	t->d_pid = vm->tgid;
	snprintf(t->d_comm, sizeof(t->d_comm), "%s", vm->comm[0] ? vm->comm : known_comm(t, vm->vm_id));
	t->d_top = 0;
	t->d_total = 0;
	t->msg[0] = 0;
}

/* The keys of the detail page. Returns false when the user quits. */
static bool detail_key(struct tui *t, int ch)
{
	size_t page = t->d_body > 1 ? (size_t)t->d_body - 1 : 1;
	size_t max_top = t->d_total > (size_t)t->d_body ? t->d_total - (size_t)t->d_body : 0;

	switch (ch) {
	case 27: case 'q': case 'i': case 'D': case KEY_LEFT:
		t->detail = false;	/* the cursor is still on the VM, if it is still there */
		t->msg[0] = 0;
		break;
	case KEY_F(10):
		return false;
	case 'h': case '?': case KEY_F(1):
		t->help = true;
		break;
	case KEY_UP: case 'k':
		if (t->d_top)
			t->d_top--;
		break;
	case KEY_DOWN: case 'j':
		t->d_top++;
		break;
	case KEY_PPAGE:
		t->d_top = t->d_top > page ? t->d_top - page : 0;
		break;
	case KEY_NPAGE: case ' ':
		t->d_top += page;
		break;
	case KEY_HOME: case 'g':
		t->d_top = 0;
		break;
	case KEY_END: case 'G':
		t->d_top = max_top;
		break;
	case 'd': case 's':
		start_prompt(t, PROMPT_DELAY);
		break;
	case '+': case '=':
		scale_interval(t, 2);
		break;
	case '-': case '_':
		scale_interval(t, 0.5);
		break;
	case 'P': case 'z':
		t->paused = !t->paused;
		set_msg(t, false, t->paused ? "Paused: P or z resumes" : "Resumed");
		break;
	case 12:		/* Ctrl-L */
		clearok(curscr, TRUE);
		break;
	default:
		if (ch >= 32 && ch < 127)
			set_msg(t, true, "Key '%c' does nothing on the detail page: Esc, q or i return to the list, "
				"h shows the keys", ch);
		break;
	}
	if (t->d_top > max_top)
		t->d_top = max_top;
	return true;
}

static const struct row *sel_row(const struct tui *t)
{
	return t->n_rows ? &t->rows[t->sel] : NULL;
}

/* Returns false when the user quits. */
static bool handle_key(struct tui *t, struct model *m, int ch)
{
	const struct row *r;

	if (ch == KEY_RESIZE) {
		check_size();
		return true;
	}
	build_rows(t, m);
	if (t->prompt) {
		prompt_key(t, m, ch);
		return true;
	}
	if (t->help) {
		t->help = false;
		return true;
	}
	if (t->detail)
		return detail_key(t, ch);
	r = sel_row(t);
	switch (ch) {
	case 'q': case KEY_F(10):
		return false;
	case 'h': case '?': case KEY_F(1):
		t->help = true;
		break;
	case KEY_UP: case 'k':
		move_sel(t, m, -1);
		break;
	case KEY_DOWN: case 'j':
		move_sel(t, m, 1);
		break;
	case KEY_PPAGE:
		move_sel(t, m, -page_rows());
		break;
	case KEY_NPAGE:
		move_sel(t, m, page_rows());
		break;
	case KEY_HOME: case 'g':
		select_row(t, m, 0);
		break;
	case KEY_END: case 'G':
		select_row(t, m, t->n_rows ? t->n_rows - 1 : 0);
		break;
	case '\n': case '\r': case KEY_ENTER: case ' ':
		if (r) {
			struct vm_metrics *vm = &m->vms[r->vm];

			set_expanded(t, vm, !vm_expanded(t, vm));
			t->sel_vcpu_key = 0;	/* on the VM row, whichever it was */
		}
		break;
	case KEY_RIGHT:
		if (r && r->vcpu == NO_ROW) {
			struct vm_metrics *vm = &m->vms[r->vm];

			if (!vm_expanded(t, vm))
				set_expanded(t, vm, true);
			else if (vm->n_vcpus)
				move_sel(t, m, 1);
		}
		break;
	case KEY_LEFT:
		if (r) {
			set_expanded(t, &m->vms[r->vm], false);
			t->sel_vcpu_key = 0;
		}
		break;
	case 'e': {
		bool any = false, all = true;

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
		break;
	}
	case '<': case '>': {
		int cur = sort_col(t->o->sort), step = ch == '<' ? -1 : 1;

		for (int i = cur + step; i >= 0 && i < C_COUNT; i += step)
			if (cols[i].sort >= 0) {
				set_sort(t, m, (enum sort_key)cols[i].sort);
				break;
			}
		break;
	}
	case 'r': case 'R':
		if (t->o->sort == SORT_VM) {
			set_msg(t, false, "VMs sorted by number are always in ascending order");
			break;
		}
		t->o->descending = !t->o->descending;
		model_sort(m, t->o->sort, t->o->descending);
		break;
	case 'i': case 'D':
		open_detail(t, m, r);
		break;
	case 'p': case '\\':
		start_prompt(t, PROMPT_PID);
		break;
	case 'd': case 's':
		start_prompt(t, PROMPT_DELAY);
		break;
	case '+': case '=':
		scale_interval(t, 2);
		break;
	case '-': case '_':
		scale_interval(t, 0.5);
		break;
	case 'P': case 'z':
		t->paused = !t->paused;
		set_msg(t, false, t->paused ? "Paused: P or z resumes" : "Resumed");
		break;
	case 12:		/* Ctrl-L */
		clearok(curscr, TRUE);
		break;
	case 27:
		t->msg[0] = 0;
		break;
	default:
		for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
			if (sort_keys[i].ch == ch) {
				set_sort(t, m, sort_keys[i].key);
				break;
			}
		if (ch >= 32 && ch < 127 && !strchr("FUXSLV", ch))
			set_msg(t, true, "Unknown key '%c': h shows the keys", ch);
		break;
	}
	build_rows(t, m);
	return true;
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

/* Follow the terminal's size (resizeterm also queues a KEY_RESIZE, handled here too). */
static void check_size(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != LINES || ws.ws_col != COLS))
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
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
	check_size();
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
