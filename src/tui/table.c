// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The table of the list: VM rows that expand into their vCPU rows, their
 * cells, the sort column and the cursor.
 *
 * VMs are tracked by vm_id (never reused), vCPUs by their model key, never by
 * row index: the cursor and the expansion state survive refreshes, re-sorting
 * and filtering.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/units.h"
#include "tui/tui_internal.h"

const struct column cols[C_COUNT] = {
	[C_ID] = { "VM", 6, true, SORT_VM, "dirtytop's VM number (+ collapsed, - expanded); vCPU rows: the vCPU id" },
	[C_NAME] = { "NAME", 16, true, -1, "the VM's name (QEMU -name guest=NAME, libvirt's domain), - unknown" },
	[C_FILL] = { "FILL", 8, false, SORT_FILL, "ring entries pushed/s (pages dirtied); bitmap: dirty pages/s its syncs found" },
	[C_USEDP] = { "USED%", 5, false, -1, "entries in use now, % of the soft limit (VM: max over vCPUs)" },
	[C_PEAKP] = { "PEAK%", 5, false, SORT_USED, "peak use in the interval, % of the soft limit (VM: max over vCPUs)" },
	[C_FULLEXS] = { "FULLEX/s", 8, false, SORT_EXITS, "soft-full exits (KVM_EXIT_DIRTY_RING_FULL) per second" },
	[C_STALL] = { "STALL%", 6, false, SORT_STALL, "share of the interval stalled on a full ring (VM: mean of vCPUs)" },
	[C_LAT99] = { "LAT-P99", 7, false, SORT_LATENCY, "reap latency, 99th percentile (VM: max over vCPUs)" },
	[C_PID] = { "PID", 7, false, -1, "VMM process id; vCPU rows: the vCPU thread id (TID)" },
	[C_COMM] = { "COMMAND", 15, true, -1, "VMM process name" },
	[C_STATE] = { "STATE", 6, true, -1, "ok; stall: a vCPU waits on a full ring now; exited: VM gone (shown once)" },
	[C_TRACK] = { "TRACKING", 11, true, -1, "dirty tracking mode: ring, ring-acqrel or bitmap" },
	[C_VCPUS] = { "VCPUS", 5, false, -1, "vCPUs with a dirty ring" },
	[C_RING] = { "RING", 11, false, -1, "ring entries per vCPU / soft limit (fill that forces a soft-full exit)" },
	[C_MIB] = { "FILL-MiB", 9, false, -1, "the same as guest memory dirtied, MiB/s (4 KiB pages)" },
	[C_USED] = { "USED", 6, false, -1, "vCPU: ring entries in use now (dirtied, not yet reset)" },
	[C_PEAK] = { "PEAK", 6, false, -1, "vCPU: peak entries in use during the interval" },
	[C_FULLEX] = { "FULLEX", 6, false, -1, "soft-full exits in total since dirtytop saw it" },
	[C_RESETS] = { "RESET/s", 7, false, -1, "VM: KVM_RESET_DIRTY_RINGS calls/s (bitmap: KVM_GET_DIRTY_LOG/s); vCPU: its ring resets/s" },
	[C_INT50] = { "INT-P50", 7, false, -1, "vCPU: reap interval (time between resets of its ring), median" },
	[C_INT99] = { "INT-P99", 7, false, -1, "vCPU: reap interval, 99th percentile" },
	[C_LAT50] = { "LAT-P50", 7, false, -1, "vCPU: reap latency (push to the reset reclaiming it), median" },
	[C_LATMAX] = { "LAT-MAX", 7, false, -1, "reap latency, maximum in the interval (VM: max over vCPUs)" },
	[C_RECL50] = { "RECL-P50", 8, false, -1, "vCPU: entries reclaimed per ring reset, median" },
	[C_RSTLAT] = { "RST-P99", 7, false, -1, "VM: KVM_RESET_DIRTY_RINGS ioctl duration, 99th percentile" },
};

static int col_x(int c)
{
	int x = 0;

	for (int i = 0; i < c; i++)
		x += cols[i].width + 1;
	return x;
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

bool vm_expanded(const struct tui *t, const struct vm_metrics *vm)
{
	return vm->n_vcpus && t->expand_default != toggled_find(t, vm->vm_id, NULL);
}

void set_expanded(struct tui *t, const struct vm_metrics *vm, bool on)
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

const char *known_comm(const struct tui *t, uint32_t vm_id)
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

void table_update(struct tui *t, const struct model *m)
{
	prune_toggled(t, m);
	remember_comms(t, m);
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

void select_row(struct tui *t, const struct model *m, size_t i)
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
void build_rows(struct tui *t, const struct model *m)
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

int page_rows(void)
{
	struct layout l;

	get_layout(&l);
	return l.n_rows > 1 ? l.n_rows - 1 : 1;
}

const struct row *sel_row(const struct tui *t)
{
	return t->n_rows ? &t->rows[t->sel] : NULL;
}

void move_sel(struct tui *t, const struct model *m, long delta)
{
	long i = (long)t->sel + delta;

	if (i < 0)
		i = 0;
	select_row(t, m, (size_t)i);
}

/* ---- metrics of a VM row that the model leaves to the views ---- */

void vm_aggregate(const struct vm_metrics *vm, struct vm_agg *a)
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

const char *q_us(char *buf, size_t len, const struct quantiles *q, double v)
{
	return q->valid ? fmt_usecs(buf, len, v) : "-";
}

const char *ring_text(char *buf, size_t len, uint32_t size, uint32_t soft)
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
	case C_NAME:
		if (c)	/* the vCPU thread's own name (QEMU -name ...,debug-threads=on: "CPU 0/KVM") */
			return c->thread_name;
		return vm->identity.name[0] ? vm->identity.name : "-";
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

int sort_col(enum sort_key k)
{
	for (int i = 0; i < C_COUNT; i++)
		if (cols[i].sort == (int)k)
			return i;
	return C_FILL;
}

static bool sort_descending(const struct tui *t)
{
	return t->descending && t->sort != SORT_VM;	/* model_sort orders vm ids ascending */
}

static void draw_col_header(const struct tui *t, int y)
{
	int x = 0, sc = sort_col(t->sort);

	if (y < 0)
		return;
	for (int i = 0; i < C_COUNT && x < COLS; i++) {
		putf(y, x, A_NORMAL, cols[i].left ? "%-*s" : "%*s", cols[i].width, cols[i].title);
		x += cols[i].width + 1;
	}
	paint(y, 0, -1, t->a_bar);
	paint(y, col_x(sc), cols[sc].width, t->a_sort);
}

/* ---- the summary above the table, and what shows when it is empty ---- */

void draw_header(struct tui *t, const struct model *m, const struct layout *l)
{
	char tbuf[16], a[16], b[16], c[16], d[16], e[16], f[16], line[256];
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
	snprintf(line, sizeof(line), " %s %s   ", cols[sort_col(t->sort)].title,
		 sort_descending(t) ? "descending" : "ascending");
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
	int n = 0;

	if (vm_filter_active(&m->filter)) {
		if (m->filter.name[0])
			snprintf(buf[0], sizeof(buf[0]), "No VM named %.100s is using KVM dirty tracking", m->filter.name);
		else
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

/* The column header and the rows in view (the banner when there is none), keeping the cursor in view. */
void draw_table(struct tui *t, const struct model *m, const struct layout *l)
{
	draw_col_header(t, l->colhdr_y);
	if (t->sel < t->top)
		t->top = t->sel;
	if (l->n_rows > 0 && t->sel >= t->top + (size_t)l->n_rows)
		t->top = t->sel - (size_t)l->n_rows + 1;
	if (l->n_rows > 0 && t->top + (size_t)l->n_rows > t->n_rows)
		t->top = t->n_rows > (size_t)l->n_rows ? t->n_rows - (size_t)l->n_rows : 0;

	if (!t->n_rows) {
		draw_banner(t, m, l);
		return;
	}
	for (int i = 0; i < l->n_rows && t->top + (size_t)i < t->n_rows; i++) {
		size_t ri = t->top + (size_t)i;
		const struct row *r = &t->rows[ri];
		const struct vm_metrics *vm = &m->vms[r->vm];
		const struct vcpu_metrics *c = r->vcpu == NO_ROW ? NULL : &vm->vcpus[r->vcpu];
		struct vm_agg agg;

		vm_aggregate(vm, &agg);
		draw_row(t, l->rows_y + i, vm, &agg, c, c && r->vcpu + 1 == vm->n_vcpus, ri == t->sel);
	}
}
