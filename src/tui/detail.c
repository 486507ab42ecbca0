// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The detail page of one VM: its memslots, memslot operations, ring resets
 * and hottest regions, refreshed live and scrolled with the cursor keys.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/units.h"
#include "tui/tui_internal.h"

const struct dcol mcols[M_COUNT] = {
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
	if (!vm->memslots_complete) {
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

/* Who the VM is: what its VMM's command line and cgroup say ("-" unknown, never guessed) */
static void draw_detail_identity(struct tui *t, const struct vm_metrics *vm, struct pen *p)
{
	const struct vm_identity *id = &vm->identity;
	char line[512];

	pput(p, 0, t->a_title, "Identity");
	p->y++;
	snprintf(line, sizeof(line), "name %s   uuid %s   cgroup %s", id->name[0] ? id->name : "-",
		 id->uuid[0] ? id->uuid : "-", id->cgroup[0] ? id->cgroup : "-");
	pput(p, 2, A_NORMAL, line);
	p->y++;
	if (id->pod_uid[0] || id->namespace[0]) {
		snprintf(line, sizeof(line), "namespace %s   pod %s   container %s", id->namespace[0] ? id->namespace : "-",
			 id->pod_uid[0] ? id->pod_uid : "-", id->container[0] ? id->container : "-");
		pput(p, 2, A_NORMAL, line);
		p->y++;
	}
	for (size_t i = 0; i < vm->n_vcpus; i++) {
		const struct vcpu_metrics *c = &vm->vcpus[i];

		if (!c->thread_name[0])
			continue;
		snprintf(line, sizeof(line), "vCPU %d   TID %u   thread %s", c->vcpu_id, c->tid, c->thread_name);
		pput(p, 2, A_NORMAL, line);
		p->y++;
	}
	p->y++;
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
	draw_detail_identity(t, vm, p);
	draw_detail_memslots(t, vm, p);
	p->y++;
	draw_detail_ops(t, vm, p);
	draw_detail_heat(t, vm, p);
}

void draw_detail(struct tui *t, const struct model *m)
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
		const char *lines[2] = { line, "Esc, q or i returns to the list" };

		snprintf(line, sizeof(line), "VM %u (PID %u, %s) has exited: dirtytop no longer tracks it",
			 t->d_vm_id, t->d_pid, t->d_comm);
		put_centred(dl.body_y, dl.body_h, 2, lines, 2, t->a_warn | A_BOLD);
	}
	{
		struct layout fl = { .footer_y = dl.footer_y };

		draw_footer(t, &fl);
	}
}

/* ---- opening and scrolling ---- */

void detail_open(struct tui *t, const struct model *m, const struct row *r)
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


/* A page of the view: its height less one line kept from the last page. */
size_t detail_page_lines(const struct tui *t)
{
	return t->d_body > 1 ? (size_t)t->d_body - 1 : 1;
}

void detail_scroll(struct tui *t, long lines)
{
	size_t max_top = t->d_total > (size_t)t->d_body ? t->d_total - (size_t)t->d_body : 0;

	if (lines == DETAIL_TOP)
		t->d_top = 0;
	else if (lines == DETAIL_END)
		t->d_top = max_top;
	else if (lines < 0)
		t->d_top = t->d_top > (size_t)-lines ? t->d_top - (size_t)-lines : 0;
	else
		t->d_top += (size_t)lines;
	if (t->d_top > max_top)
		t->d_top = max_top;
}
