/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The state the parts of the screen share. Each part uses only the ones
 * listed before it: screen.c (terminal, colours, drawing primitives, layout,
 * messages, footer), table.c (the summary header and the VM/vCPU table with
 * its cursor), detail.c (the detail page of one VM), keys.c (the key-binding
 * table, prompts and the help page) and tui.c (the public tui_* API).
 */
#ifndef DT_TUI_TUI_INTERNAL_H
#define DT_TUI_TUI_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <ncurses.h>
#include "tui/tui.h"

#define INTERVAL_MIN 0.05
#define INTERVAL_MAX 3600.0
#define NO_ROW ((size_t)-1)

/*
 * The table: one header for VM rows and vCPU rows, in screen order. The
 * columns ring tuning is about come first, so that an 80-column terminal
 * shows them (up to C_LAT99: 68 columns); wider terminals add the rest.
 * PEAK% sits beside USED% so that < and > walk the sortable columns in the
 * order of their sort keys.
 */
enum col_id {
	C_ID, C_NAME, C_FILL, C_USEDP, C_PEAKP, C_FULLEXS, C_STALL, C_LAT99, C_PID, C_COMM, C_STATE,
	C_TRACK, C_VCPUS, C_RING, C_MIB, C_USED, C_PEAK, C_FULLEX, C_RESETS, C_INT50, C_INT99,
	C_LAT50, C_LATMAX, C_RECL50, C_RSTLAT, C_COUNT
};

struct column {
	const char *title;
	int width;
	bool left;
	int sort;		/* the enum sort_key this column sorts by, -1: none */
	const char *help;
};

extern const struct column cols[C_COUNT];

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

extern const struct dcol mcols[M_COUNT];

struct row {
	size_t vm;
	size_t vcpu;		/* NO_ROW: the VM row */
};

enum prompt_kind { PROMPT_NONE, PROMPT_PID, PROMPT_DELAY };

struct tui {
	const struct view_opts *o;	/* read only: --top, and where sort and interval start */
	const struct frame_info *frame;	/* the refresh drawn: hooks, map entries, features (the caller updates it) */
	SCREEN *scr;
	bool paused, help, colors;

	/* what the user chose on the screen; starts from the options */
	enum sort_key sort;
	bool descending;
	double interval_s;

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

/* ---- screen.c ---- */

/* The list's layout: header lines, column header, rows, footer. */
struct layout {
	int hdr_lines;		/* summary lines at the top */
	int colhdr_y;		/* -1: none */
	int rows_y, n_rows;	/* the table area */
	int footer_y;		/* -1: none */
};

bool screen_open(struct tui *t);
void screen_check_size(void);

/* Drawing, clipped to the screen. */
void put(int y, int x, attr_t a, const char *s);
void putf(int y, int x, attr_t a, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void paint(int y, int x, int n, attr_t a);	/* change the attributes of n cells (-1: to the end) */
int put_seg(int y, int x, attr_t a, const char *s);	/* put; returns the column after the text */
void put_centred(int y0, int h, int gap, const char *const *lines, int n, attr_t first);

void get_layout(struct layout *l);
void set_msg(struct tui *t, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *fmt_interval(char *buf, size_t len, double s);
void draw_footer(struct tui *t, const struct layout *l);

/* ---- table.c ---- */

struct vm_agg {
	double used_pct, peak_pct;
	bool lat_valid, stalled;
	double lat99, latmax;
};

void vm_aggregate(const struct vm_metrics *vm, struct vm_agg *a);
const char *q_us(char *buf, size_t len, const struct quantiles *q, double v);
const char *ring_text(char *buf, size_t len, uint32_t size, uint32_t soft);
const char *known_comm(const struct tui *t, uint32_t vm_id);
int sort_col(enum sort_key k);

bool vm_expanded(const struct tui *t, const struct vm_metrics *vm);
void set_expanded(struct tui *t, const struct vm_metrics *vm, bool on);
void table_update(struct tui *t, const struct model *m);	/* forget dropped VMs, remember names */
void build_rows(struct tui *t, const struct model *m);
void select_row(struct tui *t, const struct model *m, size_t i);
void move_sel(struct tui *t, const struct model *m, long delta);
int page_rows(void);
const struct row *sel_row(const struct tui *t);
void draw_header(struct tui *t, const struct model *m, const struct layout *l);	/* the summary lines */
void draw_table(struct tui *t, const struct model *m, const struct layout *l);

/* ---- detail.c ---- */

void detail_open(struct tui *t, const struct model *m, const struct row *r);
#define DETAIL_TOP LONG_MIN
#define DETAIL_END LONG_MAX
void detail_scroll(struct tui *t, long lines);	/* by lines, or to DETAIL_TOP/END; never past the end */
size_t detail_page_lines(const struct tui *t);
void draw_detail(struct tui *t, const struct model *m);

/* ---- keys.c ---- */

bool handle_key(struct tui *t, struct model *m, int ch);	/* false: the user quits */
void draw_help(struct tui *t);

#endif
