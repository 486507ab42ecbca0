// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop report --html OUT`: one self-contained page (inline CSS and SVG,
 * no script, no external URL) with, per VM:
 *   occupancy-vmN-vcpuI   ring occupancy over time with the soft-limit line
 *   fillrate-vmN          entries pushed per second, a line per vCPU
 *   timeline-vmN          soft-full exits, full stalls and reset calls on a timeline
 *   reaplat-vmN           reap-latency histogram (all vCPUs of the VM)
 *   heatmap-vmN-slotS     pages dirtied per 2 MiB guest-physical region of memslot S over time
 *   precopy-vmN           a migration's dirty pages per sync pass against the downtime budget
 * While the recording is replayed, the observer below bins the events into
 * NBINS (heat: HBINS) columns over the recording's span.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/hist.h"
#include "core/idmap.h"
#include "core/precopy.h"
#include "out/report.h"
#include "core/units.h"

#define NBINS 600
#define HBINS 200
#ifndef HTML_MAX_HEAT_ROWS
#define HTML_MAX_HEAT_ROWS 200000	/* (VM, slot, region) rows kept for the heat maps */
#endif
#define MAX_HEAT_ROWS HTML_MAX_HEAT_ROWS
#define HEAT_MAX_DRAWN_ROWS 160

struct ring_series {
	uint32_t id;
	uint32_t occ_max[NBINS], occ_min[NBINS];
	uint8_t have[NBINS];
	uint32_t pushes[NBINS], exits[NBINS];
	uint64_t stall_ns[NBINS];
};

struct vm_series {
	uint32_t id;
	uint32_t resets[NBINS];
};

struct heat_row {
	uint32_t vm, slot, region;
	uint32_t count[HBINS];
};

struct html_report {
	const struct recording *rec;
	uint32_t heat_shift;		/* log2 of a heat region in 4 KiB pages */
	uint64_t start, span;
	struct ring_series **rings;
	size_t n_rings, cap_rings;
	struct idmap ring_index;	/* recording id -> index + 1 */
	struct vm_series **vms;
	size_t n_vms, cap_vms;
	struct idmap vm_index;		/* recording id -> index + 1 */
	struct heat_row **heat;
	size_t n_heat, cap_heat;
	struct idmap heat_slot_index;	/* (vm, slot) -> a number + 1 */
	uint32_t n_heat_slots;
	struct idmap heat_index;	/* (that number, region) -> index + 1 */
	bool heat_full;
	struct precopy pc;		/* the migrations: fed the records in file order, as doctor */
	bool pc_finished;
	double bandwidth;		/* --bandwidth bytes/s; 0: measured from the file's TCP bytes */
	double downtime_s;		/* --downtime; 0: QEMU's default */
};

/* Text for an HTML element or attribute value. */
static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

#define PUSH_BACK(arr, n, cap, item)                                         \
	do {                                                                 \
		if ((n) == (cap)) {                                          \
			(cap) = (cap) ? (cap) * 2 : 16;                      \
			(arr) = realloc((arr), (cap) * sizeof(*(arr)));      \
			if (!(arr))                                          \
				abort();                                     \
		}                                                            \
		(arr)[(n)++] = (item);                                       \
	} while (0)

static struct ring_series *ring_series(struct html_report *h, uint32_t id, bool create)
{
	uint32_t i = idmap_get(&h->ring_index, id);
	struct ring_series *s;

	if (i)
		return h->rings[i - 1];
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->id = id;
	for (int b = 0; b < NBINS; b++)
		s->occ_min[b] = UINT32_MAX;
	PUSH_BACK(h->rings, h->n_rings, h->cap_rings, s);
	idmap_put(&h->ring_index, id, (uint32_t)h->n_rings);
	return s;
}

static struct vm_series *vm_series(struct html_report *h, uint32_t id, bool create)
{
	uint32_t i = idmap_get(&h->vm_index, id);
	struct vm_series *s;

	if (i)
		return h->vms[i - 1];
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->id = id;
	PUSH_BACK(h->vms, h->n_vms, h->cap_vms, s);
	idmap_put(&h->vm_index, id, (uint32_t)h->n_vms);
	return s;
}

static int bin_of(const struct html_report *h, uint64_t ts, int n)
{
	uint64_t d = ts > h->start ? ts - h->start : 0;
	double b = h->span ? (double)d / (double)h->span * n : 0;	/* clamped before it becomes an int */

	return !(b > 0) ? 0 : b >= n ? n - 1 : (int)b;
}

static void heat_add(struct html_report *h, uint32_t vm, uint32_t slot, uint32_t region, uint64_t ts, uint64_t pages)
{
	uint64_t slot_key = (uint64_t)vm << 32 | slot;
	uint32_t slot_no = idmap_get(&h->heat_slot_index, slot_key), i = 0;
	struct heat_row *row;

	if (slot_no)
		i = idmap_get(&h->heat_index, (uint64_t)slot_no << 32 | region);
	if (!i) {
		if (h->n_heat >= MAX_HEAT_ROWS) {
			h->heat_full = true;
			return;
		}
		row = calloc(1, sizeof(*row));
		if (!row)
			abort();
		row->vm = vm;
		row->slot = slot;
		row->region = region;
		PUSH_BACK(h->heat, h->n_heat, h->cap_heat, row);
		if (!slot_no) {
			slot_no = ++h->n_heat_slots;
			idmap_put(&h->heat_slot_index, slot_key, slot_no);
		}
		idmap_put(&h->heat_index, (uint64_t)slot_no << 32 | region, (uint32_t)h->n_heat);
		i = (uint32_t)h->n_heat;
	}
	row = h->heat[i - 1];
	row->count[bin_of(h, ts, HBINS)] += (uint32_t)(pages > UINT32_MAX ? UINT32_MAX : pages);
}

static void occ(struct ring_series *s, int b, uint32_t used)
{
	if (!s->have[b] || used > s->occ_max[b])
		s->occ_max[b] = used;
	if (used < s->occ_min[b])
		s->occ_min[b] = used;
	s->have[b] = 1;
}

static void on_event(void *ctx, struct replay *r, const struct rec_event *e, uint8_t kind,
		     struct replay_ring *ring, struct replay_vm *vm)
{
	struct html_report *h = ctx;
	struct ring_series *s;
	int b = bin_of(h, e->ts, NBINS);

	(void)r;
	switch (kind) {
	case REC_PUSH:
		s = ring_series(h, ring->id, true);
		occ(s, b, e->dirty_index - e->reset_index);
		s->pushes[b]++;
		heat_add(h, ring->vm_id, e->slot, (uint32_t)(e->offset >> h->heat_shift), e->ts, 1);
		break;
	case REC_RESET:
		occ(ring_series(h, ring->id, true), b, e->dirty_index - e->reset_index);
		break;
	case REC_FULL:
		ring_series(h, ring->id, true)->exits[b]++;
		break;
	case REC_IOCTL:
		if (vm && e->cmd == DT_KVM_RESET_DIRTY_RINGS && e->ret >= 0)
			vm_series(h, vm->id, true)->resets[b]++;
		break;
	case REC_DIRTYLOG:
		if (vm)
			heat_add(h, vm->id, e->slot, (uint32_t)(e->offset >> (h->heat_shift - 9)), e->ts, e->size);
		break;
	}
}

static void add_stall(struct html_report *h, struct ring_series *s, uint64_t from, uint64_t to)
{
	double bin_ns = h->span ? (double)h->span / NBINS : 1;
	int b0 = bin_of(h, from, NBINS), b1 = bin_of(h, to, NBINS);

	if (to <= from)
		return;
	for (int b = b0; b <= b1; b++) {
		double lo = (double)h->start + b * bin_ns, hi = lo + bin_ns;
		double a = (double)from > lo ? (double)from : lo, z = (double)to < hi ? (double)to : hi;

		if (z > a)
			s->stall_ns[b] += (uint64_t)(z - a);
	}
}

static void on_stall(void *ctx, struct replay *r, struct replay_ring *ring, uint64_t start_ns, uint64_t end_ns)
{
	struct html_report *h = ctx;

	(void)r;
	add_stall(h, ring_series(h, ring->id, true), start_ns, end_ns);
}

struct html_report *html_report_new(const struct recording *rec, uint32_t heat_shift)
{
	struct html_report *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	h->rec = rec;
	h->heat_shift = heat_shift;
	h->start = rec->start_ns;
	h->span = rec->end_ns > rec->start_ns ? rec->end_ns - rec->start_ns : 1;
	precopy_init(&h->pc);
	return h;
}

void html_report_set_budget(struct html_report *h, double bandwidth, double downtime_s)
{
	h->bandwidth = bandwidth;
	h->downtime_s = downtime_s;
}

void html_report_observer(struct html_report *h, struct replay_observer *o)
{
	o->ctx = h;
	o->event = on_event;
	o->stall = on_stall;
}

void html_report_record(struct html_report *h, const struct rec_record *rec)
{
	if (rec->kind == REC_TRAFFIC)
		precopy_traffic(&h->pc, rec->traffic.tgid, rec->traffic.ts, (double)rec->traffic.bytes_acked);
	else
		precopy_add(&h->pc, rec);
}

void html_report_free(struct html_report *h)
{
	if (!h)
		return;
	precopy_free(&h->pc);
	for (size_t i = 0; i < h->n_rings; i++)
		free(h->rings[i]);
	for (size_t i = 0; i < h->n_vms; i++)
		free(h->vms[i]);
	for (size_t i = 0; i < h->n_heat; i++)
		free(h->heat[i]);
	free(h->rings);
	free(h->vms);
	free(h->heat);
	idmap_free(&h->ring_index);
	idmap_free(&h->vm_index);
	idmap_free(&h->heat_slot_index);
	idmap_free(&h->heat_index);
	free(h);
}

/* --- SVG --- */

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define NCOLORS (sizeof(palette) / sizeof(palette[0]))

struct plot {
	FILE *f;
	int W, H, ml, mr, mt, mb;
	double x0, x1, y0, y1;
};

static double px(const struct plot *p, double x)
{
	return p->ml + (x - p->x0) / (p->x1 - p->x0) * (p->W - p->ml - p->mr);
}

static double py(const struct plot *p, double y)
{
	return p->H - p->mb - (y - p->y0) / (p->y1 - p->y0) * (p->H - p->mt - p->mb);
}

static double nice_step(double range, int ticks)
{
	double raw = range / ticks, mag, f;

	if (!(raw > 0) || !isfinite(raw))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void fmt_axis(char *buf, size_t len, double v, bool secs)
{
	if (secs)
		snprintf(buf, len, "%gs", round(v * 1000) / 1000);
	else if (fabs(v) >= 1000)
		fmt_count(buf, len, v);
	else
		snprintf(buf, len, "%g", round(v * 100) / 100);
}

static void plot_begin(struct plot *p, FILE *f, const char *id, int W, int H, const char *title,
		       const char *xlabel, const char *ylabel, double x0, double x1, double y0, double y1,
		       bool xticks, bool yticks)
{
	char b[32];
	double step;

	p->f = f;
	p->W = W;
	p->H = H;
	p->ml = p->ml ? p->ml : 70;	/* a caller may set a wider left margin first */
	p->mr = 20;
	p->mt = 28;
	p->mb = 38;
	p->x0 = x0;
	p->x1 = x1 > x0 ? x1 : x0 + 1;
	p->y0 = y0;
	p->y1 = y1 > y0 ? y1 : y0 + 1;
	fprintf(f, "<svg id=\"%s\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id, W, H, W, H);
	html_text(f, title);
	fprintf(f, "\"><title>");
	html_text(f, title);
	fprintf(f, "</title><rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>", W, H);
	fprintf(f, "<text x=\"%d\" y=\"18\" class=\"t\">", p->ml);
	html_text(f, title);
	fprintf(f, "</text>");
	/* frame, grid, ticks */
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbfbfb\" stroke=\"#999\"/>", p->ml, p->mt,
		W - p->ml - p->mr, H - p->mt - p->mb);
	if (xticks) {
		step = nice_step(p->x1 - p->x0, 8);
		for (double x = ceil(p->x0 / step) * step; x <= p->x1 + step * 1e-9; x += step) {
			fmt_axis(b, sizeof(b), x, true);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>"
				"<text x=\"%.1f\" y=\"%d\" class=\"xt\">%s</text>", px(p, x), p->mt, px(p, x), H - p->mb,
				px(p, x), H - p->mb + 14, b);
		}
	}
	if (yticks) {
		step = nice_step(p->y1 - p->y0, 5);
		for (double y = ceil(p->y0 / step) * step; y <= p->y1 + step * 1e-9; y += step) {
			fmt_axis(b, sizeof(b), y, false);
			fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
				"<text x=\"%d\" y=\"%.1f\" class=\"yt\">%s</text>", p->ml, py(p, y), W - p->mr, py(p, y),
				p->ml - 5, py(p, y) + 4, b);
		}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"xl\">", p->ml + (W - p->ml - p->mr) / 2, H - 4);
	html_text(f, xlabel);
	fprintf(f, "</text><text x=\"14\" y=\"%d\" class=\"yl\" transform=\"rotate(-90 14 %d)\">", p->mt + (H - p->mt - p->mb) / 2,
		p->mt + (H - p->mt - p->mb) / 2);

	html_text(f, ylabel);
	fprintf(f, "</text>");
}

static void plot_end(struct plot *p)
{
	fprintf(p->f, "</svg>\n");
}

static double bin_mid_s(const struct html_report *h, int b, int n)
{
	return ((double)b + 0.5) * (double)h->span / n / 1e9;
}

/* --- the plots --- */

static void plot_occupancy(FILE *f, struct html_report *h, const char *id, const struct replay_ring *ring,
			   const char *title)
{
	struct ring_series *s = ring_series(h, ring->id, false);
	const struct dt_vcpu *v = &ring->v[REPLAY_ALL];
	double ymax = v->ring_size, span_s = (double)h->span / 1e9;
	struct plot p = {};
	uint32_t last = 0;
	bool started = false;
	int first = -1;

	for (int b = 0; s && b < NBINS; b++)
		if (s->have[b] && s->occ_max[b] > ymax)
			ymax = s->occ_max[b];
	if (ymax <= 0)
		ymax = 1;
	plot_begin(&p, f, id, 960, 200, title, "time since the start of the recording", "entries used", 0, span_s,
		   0, ymax * 1.02, true, true);
	if (s) {
		/* the min..max band of each bin, and the max as a line; bins without events carry the last value */
		uint32_t lo[NBINS], hi[NBINS];

		for (int b = 0; b < NBINS; b++) {
			if (s->have[b]) {
				lo[b] = s->occ_min[b];
				hi[b] = s->occ_max[b];
				last = s->occ_max[b];
				if (!started)
					first = b;
				started = true;
			} else {
				lo[b] = hi[b] = last;
			}
		}
		if (first >= 0) {
			fprintf(f, "<polygon class=\"band\" fill=\"#9ecae1\" fill-opacity=\"0.6\" stroke=\"none\" points=\"");
			for (int b = first; b < NBINS; b++)
				fprintf(f, "%.1f,%.1f ", px(&p, bin_mid_s(h, b, NBINS)), py(&p, hi[b]));
			for (int b = NBINS - 1; b >= first; b--)
				fprintf(f, "%.1f,%.1f ", px(&p, bin_mid_s(h, b, NBINS)), py(&p, lo[b]));
			fprintf(f, "\"/><polyline class=\"series\" fill=\"none\" stroke=\"#08519c\" stroke-width=\"1.2\" points=\"");
			for (int b = first; b < NBINS; b++)
				fprintf(f, "%.1f,%.1f ", px(&p, bin_mid_s(h, b, NBINS)), py(&p, hi[b]));
			fprintf(f, "\"/>");
		}
	}
	if (!s || first < 0)
		fprintf(f, "<text x=\"480\" y=\"110\" class=\"nodata\">no pushes or resets recorded</text>");
	if (v->soft_limit) {
		fprintf(f, "<line class=\"softlimit\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d62728\" "
			"stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%.1f\" class=\"lim\">soft limit %u"
			"</text>", p.ml, py(&p, v->soft_limit), p.W - p.mr, py(&p, v->soft_limit), p.W - p.mr - 4,
			py(&p, v->soft_limit) - 4, v->soft_limit);
	}
	plot_end(&p);
}

static int cmp_rings(const void *a, const void *b)
{
	const struct replay_ring *x = *(struct replay_ring *const *)a, *y = *(struct replay_ring *const *)b;

	if (x->v[1].vcpu_id != y->v[1].vcpu_id)
		return x->v[1].vcpu_id < y->v[1].vcpu_id ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void plot_fill(FILE *f, struct html_report *h, const char *id, struct replay_ring **rings, size_t n)
{
	/* FILL_GROUP occupancy bins per point: a rate over fewer, longer bins reads better */
	enum { FILL_GROUP = 4, NF = NBINS / FILL_GROUP };
	double bin_s = (double)h->span / NF / 1e9, ymax = 1, span_s = (double)h->span / 1e9;
	struct plot p = {};
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		struct ring_series *s = ring_series(h, rings[i]->id, false);

		for (int b = 0; s && b < NF; b++) {
			double v = 0;

			for (int g = 0; g < FILL_GROUP; g++)
				v += s->pushes[b * FILL_GROUP + g];
			if (v / bin_s > ymax)
				ymax = v / bin_s;
		}
	}
	plot_begin(&p, f, id, 960, 240, "Fill rate: entries pushed per second",
		   "time since the start of the recording", "entries/s", 0, span_s, 0, ymax * 1.05, true, true);
	for (size_t i = 0; i < n; i++) {
		struct ring_series *s = ring_series(h, rings[i]->id, false);

		if (!s)
			continue;
		any = true;
		fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"",
			palette[i % NCOLORS]);
		for (int b = 0; b < NF; b++) {
			double v = 0;

			for (int g = 0; g < FILL_GROUP; g++)
				v += s->pushes[b * FILL_GROUP + g];
			fprintf(f, "%.1f,%.1f ", px(&p, bin_mid_s(h, b, NF)), py(&p, v / bin_s));
		}
		fprintf(f, "\"/>");
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<text x=\"%d\" y=\"18\" class=\"lg\" fill=\"%s\">vCPU %d</text>", 400 + (int)(i % 8) * 66,
			palette[i % NCOLORS], rings[i]->v[1].vcpu_id);
	if (!any)
		fprintf(f, "<text x=\"480\" y=\"120\" class=\"nodata\">no pushes recorded</text>");
	plot_end(&p);
}

static void plot_timeline(FILE *f, struct html_report *h, const char *id, struct replay_ring **rings, size_t n,
			  uint32_t vm_id)
{
	double span_s = (double)h->span / 1e9, bin_ns = (double)h->span / NBINS;
	int row_h = 20, rows = (int)n + 1, H = 28 + 38 + rows * row_h;
	struct vm_series *vs = vm_series(h, vm_id, false);
	struct plot p = {};

	plot_begin(&p, f, id, 960, H, "Soft-full exits (red ticks), full stalls (orange: share of the time "
		   "stalled) and KVM_RESET_DIRTY_RINGS calls (blue)", "time since the start of the recording", "",
		   0, span_s, 0, rows, true, false);
	for (size_t i = 0; i < n; i++) {
		struct ring_series *s = ring_series(h, rings[i]->id, false);
		const struct dt_vcpu *v = &rings[i]->v[REPLAY_ALL];
		double top = p.mt + (double)i * row_h + 2, bw = (p.W - p.ml - p.mr) / (double)NBINS;
		uint64_t ongoing[NBINS] = {};

		fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"yt\">vCPU %d</text>", p.ml - 5, top + row_h / 2.0 + 3,
			v->vcpu_id);
		if (!s)
			continue;
		/* a stall still going on when the recording ended */
		if (v->full_since_ns && v->full_since_ns < h->start + h->span) {
			int b0 = bin_of(h, v->full_since_ns, NBINS);

			for (int b = b0; b < NBINS; b++) {
				double lo = (double)h->start + b * bin_ns, from = (double)v->full_since_ns;
				double in = bin_ns - (from > lo ? from - lo : 0);

				ongoing[b] = in > 0 ? (uint64_t)in : 0;
			}
		}
		for (int b = 0; b < NBINS; b++) {
			double frac = (double)(s->stall_ns[b] + ongoing[b]) / bin_ns;

			if (frac <= 0)
				continue;
			if (frac > 1)
				frac = 1;
			fprintf(f, "<rect class=\"stall\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"#ff7f0e\" "
				"fill-opacity=\"%.2f\"/>", p.ml + b * bw, top, bw + 0.05, row_h - 4, 0.25 + 0.75 * frac);
		}
		for (int b = 0; b < NBINS; b++)
			if (s->exits[b])
				fprintf(f, "<line class=\"exit\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
					"stroke-width=\"1.2\"/>", p.ml + (b + 0.5) * bw, top, p.ml + (b + 0.5) * bw,
					top + row_h - 4);
	}
	{
		double top = p.mt + (double)n * row_h + 2, bw = (p.W - p.ml - p.mr) / (double)NBINS;

		fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"yt\">resets</text>", p.ml - 5, top + row_h / 2.0 + 3);
		for (int b = 0; vs && b < NBINS; b++)
			if (vs->resets[b])
				fprintf(f, "<line class=\"reset\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" "
					"stroke-width=\"1\"/>", p.ml + (b + 0.5) * bw, top, p.ml + (b + 0.5) * bw,
					top + row_h - 4);
	}
	plot_end(&p);
}

static void plot_reap_latency(FILE *f, const char *id, struct replay_ring **rings, size_t n)
{
	struct hist_counts sum = {};
	uint64_t max = 0, ymax = 1;
	int lo = -1, hi = -1, nb;
	struct plot p = {};
	char a[16], b[16], c[16], title[160];
	double p50 = 0, p99 = 0, bw;

	for (size_t i = 0; i < n; i++) {
		const struct dt_hist *hs = &rings[i]->v[REPLAY_ALL].reap_latency_us;

		for (int k = 0; k < DT_HIST_BUCKETS; k++)
			sum.count[k] += hs->count[k];
		if (hs->max > max)
			max = hs->max;
	}
	for (int k = 0; k < DT_HIST_BUCKETS; k++)
		if (sum.count[k]) {
			if (lo < 0)
				lo = k;
			hi = k;
			if (sum.count[k] > ymax)
				ymax = sum.count[k];
		}
	if (lo >= 0 && hist_quantile(&sum, 0.5, max, &p50) && hist_quantile(&sum, 0.99, max, &p99))
		snprintf(title, sizeof(title), "Reap latency: age of the oldest entry a reset reclaims "
			 "(p50 %s, p99 %s, max %s, %llu resets)", fmt_usecs(a, sizeof(a), p50), fmt_usecs(b, sizeof(b), p99),
			 fmt_usecs(c, sizeof(c), (double)max), (unsigned long long)hist_total(&sum));
	else
		snprintf(title, sizeof(title), "Reap latency: age of the oldest entry a reset reclaims");
	if (lo < 0)
		lo = hi = 0;
	/* a little room on both sides */
	lo = lo > 2 ? lo - 2 : 0;
	hi = hi + 2 < DT_HIST_BUCKETS ? hi + 2 : DT_HIST_BUCKETS - 1;
	nb = hi - lo + 1;
	plot_begin(&p, f, id, 960, 240, title, "latency (log-linear buckets, 4 per power of two)", "resets",
		   0, nb, 0, (double)ymax * 1.1, false, true);
	bw = (p.W - p.ml - p.mr) / (double)nb;
	for (int k = lo; k <= hi; k++) {
		double x = p.ml + (k - lo) * bw;

		if (sum.count[k])
			fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#6baed6\" "
				"stroke=\"#2171b5\"><title>%s .. %s: %u</title></rect>", x + 1, py(&p, sum.count[k]),
				bw - 2 > 1 ? bw - 2 : 1, py(&p, 0) - py(&p, sum.count[k]),
				fmt_usecs(a, sizeof(a), (double)hist_bucket_low((uint32_t)k)),
				fmt_usecs(b, sizeof(b), (double)hist_bucket_high((uint32_t)k)), sum.count[k]);
		if ((k - lo) % (nb > 24 ? 4 : nb > 12 ? 2 : 1) == 0)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">%s</text>", x + bw / 2, p.H - p.mb + 14,
				fmt_usecs(a, sizeof(a), (double)hist_bucket_low((uint32_t)k)));
	}
	if (!hist_total(&sum))
		fprintf(f, "<text x=\"480\" y=\"120\" class=\"nodata\">no reset reclaimed entries</text>");
	plot_end(&p);
}

static int cmp_heat_rows(const void *a, const void *b)
{
	const struct heat_row *x = *(struct heat_row *const *)a, *y = *(struct heat_row *const *)b;

	if (x->vm != y->vm)
		return x->vm < y->vm ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return (x->region > y->region) - (x->region < y->region);
}

static void heat_color(char *buf, size_t len, double t)
{
	/* light yellow -> orange -> dark red */
	static const double stops[3][3] = { { 255, 237, 160 }, { 240, 59, 32 }, { 103, 0, 13 } };
	int i = t < 0.5 ? 0 : 1;
	double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;

	snprintf(buf, len, "#%02x%02x%02x", (int)(stops[i][0] + (stops[i + 1][0] - stops[i][0]) * u),
		 (int)(stops[i][1] + (stops[i + 1][1] - stops[i][1]) * u),
		 (int)(stops[i][2] + (stops[i + 1][2] - stops[i][2]) * u));
}

/* rows[0..n): the heat rows of one (VM, slot), sorted by region */
static void plot_heatmap(FILE *f, struct html_report *h, const char *id, struct heat_row **rows, size_t n,
			 const struct replay_vm *vm)
{
	uint32_t rlo = rows[0]->region, rhi = rows[n - 1]->region, group, drawn;
	uint64_t region_bytes = 1ull << (h->heat_shift + 12), maxv = 1;
	const struct replay_memslot *ms = NULL;
	double span_s = (double)h->span / 1e9, cw, rh;
	uint64_t *grid;
	struct plot p = { .ml = 110 };
	char title[200], col[16], lab[40];
	int H;

	for (size_t i = 0; vm && i < vm->n_slots; i++)
		if (vm->slots[i].slot == rows[0]->slot && vm->slots[i].v[REPLAY_ALL].known)
			ms = &vm->slots[i];
	{
		uint64_t regions = (uint64_t)rhi - rlo + 1;	/* up to 2^32 */

		group = (uint32_t)((regions + HEAT_MAX_DRAWN_ROWS - 1) / HEAT_MAX_DRAWN_ROWS);
		drawn = (uint32_t)((regions + group - 1) / group);
	}
	grid = calloc((size_t)drawn * HBINS, sizeof(*grid));
	if (!grid)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint32_t row = (rows[i]->region - rlo) / group;

		for (int b = 0; b < HBINS; b++)
			grid[(size_t)row * HBINS + b] += rows[i]->count[b];
	}
	for (size_t i = 0; i < (size_t)drawn * HBINS; i++)
		if (grid[i] > maxv)
			maxv = grid[i];
	snprintf(title, sizeof(title), "Pages dirtied per %llu MiB guest-physical region of memslot %u%s over time "
		 "(darkest: %llu pages in %.3g s)", (unsigned long long)(region_bytes >> 20), rows[0]->slot & 0xffff,
		 rows[0]->slot >> 16 ? " (address space 1)" : "", (unsigned long long)maxv, span_s / HBINS);
	rh = drawn > 60 ? 2 : drawn > 30 ? 4 : 8;
	H = 28 + 38 + (int)(drawn * rh);
	if (H < 120)
		H = 120;
	plot_begin(&p, f, id, 960, H, title, "time since the start of the recording",
		   ms ? "guest-physical address" : "offset in the slot", 0, span_s, 0, drawn, true, false);
	cw = (p.W - p.ml - p.mr) / (double)HBINS;
	rh = (p.H - p.mt - p.mb) / (double)drawn;
	for (uint32_t r = 0; r < drawn; r++)
		for (int b = 0; b < HBINS; b++) {
			uint64_t v = grid[(size_t)r * HBINS + b];

			if (!v)
				continue;
			heat_color(col, sizeof(col), log1p((double)v) / log1p((double)maxv));
			fprintf(f, "<rect class=\"cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>",
				p.ml + b * cw, p.mt + r * rh, cw + 0.05, rh + 0.05, col);
		}
	/* a few address labels (the low addresses on top) */
	for (uint32_t r = 0; r < drawn; r += (drawn + 7) / 8) {
		uint64_t off = ((uint64_t)rlo + (uint64_t)r * group) * region_bytes;

		if (ms)
			snprintf(lab, sizeof(lab), "0x%llx", (unsigned long long)(ms->v[REPLAY_ALL].gpa + off));
		else
			snprintf(lab, sizeof(lab), "+%lluM", (unsigned long long)(off >> 20));
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"yt\">%s</text>", p.ml - 5, p.mt + r * rh + 8, lab);
	}
	free(grid);
	plot_end(&p);
}

/*
 * A migration's passes: dirty pages found by each sync, against the downtime
 * budget: bandwidth (report --bandwidth, else measured from the VMM's TCP
 * bytes in the file) x downtime limit (--downtime, else QEMU's 300 ms), in
 * 4 KiB pages. No bandwidth: the passes, and "budget unknown" instead of a
 * line drawn from a guess. The numbers are in data-* attributes too.
 */
static void plot_precopy(struct html_report *h, FILE *f, const char *id, const struct precopy_vm *v)
{
	struct precopy_verdict vd;
	struct plot p = {};
	double ymax = 1, downtime = h->downtime_s > 0 ? h->downtime_s : PRECOPY_DEFAULT_DOWNTIME_S;
	char title[400], bw_from[48], dt_from[32];

	precopy_evaluate(v, h->bandwidth, downtime, &vd);
	snprintf(bw_from, sizeof(bw_from), "%s", h->bandwidth > 0 ? "--bandwidth" : "measured");
	snprintf(dt_from, sizeof(dt_from), "%s", h->downtime_s > 0 ? "--downtime" : "QEMU's default");
	for (size_t k = 0; k < v->n_passes; k++)
		if (v->passes[k].dirty_pages > ymax)
			ymax = (double)v->passes[k].dirty_pages;
	if (vd.bandwidth > 0) {
		if (vd.budget_pages > ymax)
			ymax = vd.budget_pages;
		snprintf(title, sizeof(title), "Migration (%s mode): dirty pages per pass against the downtime budget "
			 "(%.0f pages = %.2f MiB/s %s x %.0f ms %s); verdict: %s", v->ring ? "ring" : "bitmap",
			 vd.budget_pages, vd.bandwidth / 1048576.0, bw_from, vd.downtime_s * 1e3, dt_from,
			 precopy_outcome_name(vd.outcome));
	} else {
		snprintf(title, sizeof(title), "Migration (%s mode): dirty pages per pass; downtime budget unknown: no "
			 "bandwidth in the recording (no TCP traffic of the VMM; report --bandwidth RATE gives one)",
			 v->ring ? "ring" : "bitmap");
	}
	if (v->end == PRECOPY_VMM_EXITED) {
		size_t n = strlen(title);

		snprintf(title + n, sizeof(title) - n, "; the VMM exited mid-migration, after pass %zu", v->n_passes);
	}
	plot_begin(&p, f, id, 960, 260, title, "sync pass", "dirty pages", 0.5, (double)v->n_passes + 0.5, 0,
		   ymax * 1.1, false, true);
	for (size_t k = 0; k < v->n_passes; k += (v->n_passes + 19) / 20)
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">%u</text>", px(&p, v->passes[k].index), p.H - p.mb + 14,
			v->passes[k].index);
	fprintf(f, "<polyline class=\"series\" fill=\"none\" stroke=\"#08519c\" stroke-width=\"1.2\" points=\"");
	for (size_t k = 0; k < v->n_passes; k++)
		fprintf(f, "%.1f,%.1f ", px(&p, v->passes[k].index), py(&p, (double)v->passes[k].dirty_pages));
	fprintf(f, "\"/>");
	for (size_t k = 0; k < v->n_passes; k++) {
		const struct precopy_pass *ps = &v->passes[k];
		bool fits = vd.bandwidth > 0 && (double)ps->dirty_pages <= vd.budget_pages;

		fprintf(f, "<circle class=\"pass\" data-pass=\"%u\" data-pages=\"%llu\" data-fits=\"%s\" cx=\"%.1f\" "
			"cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>pass %u: %llu dirty pages in %.3f s</title></circle>",
			ps->index, (unsigned long long)ps->dirty_pages, vd.bandwidth > 0 ? (fits ? "yes" : "no") : "unknown",
			px(&p, ps->index), py(&p, (double)ps->dirty_pages), fits ? "#2ca02c" : "#08519c", ps->index,
			(unsigned long long)ps->dirty_pages, ps->secs);
	}
	if (vd.bandwidth > 0)
		fprintf(f, "<line class=\"budget\" data-budget-pages=\"%.3f\" data-bandwidth-bytes-s=\"%.3f\" "
			"data-downtime-ms=\"%.3f\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d62728\" "
			"stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%.1f\" class=\"lim\">downtime "
			"budget %.0f pages</text>", vd.budget_pages, vd.bandwidth, vd.downtime_s * 1e3, p.ml,
			py(&p, vd.budget_pages), p.W - p.mr, py(&p, vd.budget_pages), p.W - p.mr - 4,
			py(&p, vd.budget_pages) - 4, vd.budget_pages);
	else
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"lim budget-unknown\">downtime budget unknown (no "
			"bandwidth)</text>", p.W - p.mr - 4, p.mt + 14);
	plot_end(&p);
}

/* --- the page --- */

static const char *css =
	"body{font-family:sans-serif;margin:20px;color:#222;background:#f4f4f4}"
	"h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #bbb}h3{font-size:15px}"
	"table{border-collapse:collapse;background:#fff;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;"
	"text-align:right}th{background:#eee}td.l,th.l{text-align:left}"
	".warn{background:#fde0dd;border:1px solid #d62728;padding:8px;margin:10px 0;font-weight:bold}"
	".ok{color:#2ca02c}svg.plot{display:block;margin:8px 0;background:#fff;border:1px solid #ddd}"
	"svg .t{font-size:13px;font-weight:bold}svg .xt{font-size:11px;text-anchor:middle}"
	"svg .yt{font-size:11px;text-anchor:end}svg .xl,svg .yl{font-size:12px;text-anchor:middle}"
	"svg .lim{font-size:11px;text-anchor:end;fill:#d62728}svg .lg{font-size:12px;font-weight:bold}"
	"svg .nodata{font-size:14px;text-anchor:middle;fill:#888}";

static void facts_table(FILE *f, const struct recording *rec, struct replay *r)
{
	char t[40], a[32];
	time_t s = (time_t)(rec->h.start_wall_ns / 1000000000ull);
	struct tm tm;
	uint64_t lost = 0;

	localtime_r(&s, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "<table id=\"recording\"><tr><th class=\"l\">file</th><td class=\"l\">");
	html_text(f, rec->path);
	fprintf(f, "</td></tr><tr><th class=\"l\">recorded</th><td class=\"l\">%s for %.2f s on ", t,
		(double)(rec->end_ns - rec->start_ns) / 1e9);
	html_text(f, rec->h.hostname);
	fprintf(f, ", Linux ");
	html_text(f, rec->h.kernel);
	fprintf(f, " %s, hooks %s, dirtytop ", rec->h.machine, rec->h.hooks);
	html_text(f, rec->h.version);
	fprintf(f, " (format %u.%u)</td></tr>", rec->h.major, rec->h.minor);
	if (rec->h.cmdline[0]) {
		fprintf(f, "<tr><th class=\"l\">command</th><td class=\"l\">");
		html_text(f, rec->h.cmdline);
		fprintf(f, "</td></tr>");
	}
	fprintf(f, "<tr><th class=\"l\">events</th><td class=\"l\">%llu in %llu blocks (%s bytes):",
		(unsigned long long)rec->counts[0], (unsigned long long)rec->blocks, fmt_count(a, sizeof(a), (double)rec->bytes));
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if (rec_kind_name((uint8_t)k) && rec->counts[k])
			fprintf(f, " %s %llu", rec_kind_name((uint8_t)k), (unsigned long long)rec->counts[k]);
	fprintf(f, "</td></tr><tr><th class=\"l\">ring buffer</th><td class=\"l\">%llu KiB</td></tr>",
		(unsigned long long)(rec->h.ringbuf_bytes >> 10));
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		lost += recording_lost(&rec->stats, k);
	fprintf(f, "<tr><th class=\"l\">lost events</th><td class=\"l\">");
	if (!lost) {
		fprintf(f, "<span class=\"ok\">none</span>");
	} else {
		for (int k = 1; k < REC_EVENT_KINDS; k++)
			if (recording_lost(&rec->stats, k))
				fprintf(f, "%s %llu ", rec_kind_name((uint8_t)k) ? rec_kind_name((uint8_t)k) : "?",
					(unsigned long long)recording_lost(&rec->stats, k));
	}
	fprintf(f, "</td></tr></table>\n");
	if (lost)
		fprintf(f, "<div class=\"warn\" id=\"lost\">The kernel could not deliver %llu events (the BPF ring buffer "
			"was full): the counts and plots below miss them. Record with a larger --ringbuf-size.</div>\n",
			(unsigned long long)lost);
	if (rec->status != REC_END_CLEAN) {
		fprintf(f, "<div class=\"warn\" id=\"truncated\">");
		html_text(f, rec->message);
		fprintf(f, "</div>\n");
	}
	if (replay_dropped(r))
		fprintf(f, "<div class=\"warn\">%llu events name more VMs, vCPUs or regions than the report keeps track of.</div>\n",
			(unsigned long long)replay_dropped(r));
}

static void vcpu_table(FILE *f, const struct model *summary, struct replay_ring **rings, size_t n)
{
	char a[16], b[16], c[16], d[16];

	fprintf(f, "<table class=\"vcpus\"><tr><th>vCPU</th><th>thread</th><th>ring</th><th>soft limit</th><th>pushes</th>"
		"<th>fill rate</th><th>peak used</th><th>soft-full exits</th><th>stalls</th><th>stall time</th>"
		"<th>ring resets</th><th>reap latency p50</th><th>p99</th><th>userspace exits</th></tr>");
	for (size_t i = 0; i < n; i++) {
		const struct vcpu_metrics *m = report_vcpu_metrics(summary, rings[i]);

		if (!m)
			continue;
		fprintf(f, "<tr><td>%d</td><td>%u</td><td>%u</td><td>%u</td><td>%llu</td><td>%s</td><td>%u (%s)</td>"
			"<td>%llu</td><td>%llu</td><td>%.3f s</td><td>%llu</td><td>%s</td><td>%s</td><td>%llu</td></tr>",
			m->vcpu_id, m->tid, m->ring_size, m->soft_limit, (unsigned long long)m->pushes,
			fmt_rate(a, sizeof(a), m->fill_rate), m->peak_used, fmt_percent(b, sizeof(b), m->peak_pct),
			(unsigned long long)m->full_exits, (unsigned long long)m->stalls, m->stall_s,
			(unsigned long long)m->ring_resets,
			m->reap_latency_us_all.valid ? fmt_usecs(c, sizeof(c), m->reap_latency_us_all.p50) : "-",
			m->reap_latency_us_all.valid ? fmt_usecs(d, sizeof(d), m->reap_latency_us_all.p99) : "-",
			(unsigned long long)m->userspace_exits);
	}
	fprintf(f, "</table>\n");
}

int html_report_write(struct html_report *h, struct replay *r, const struct model *summary, FILE *f)
{
	struct replay_ring **rings = calloc(replay_n_rings(r) + 1, sizeof(*rings));
	char id[96], title[200];

	if (!rings)
		abort();
	qsort(h->heat, h->n_heat, sizeof(*h->heat), cmp_heat_rows);
	if (!h->pc_finished)
		precopy_finish(&h->pc);
	h->pc_finished = true;
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dirtytop report: ");
	html_text(f, h->rec->path);
	fprintf(f, "</title><style>%s</style></head><body>\n<h1>dirtytop report</h1>\n", css);
	facts_table(f, h->rec, r);

	for (size_t vi = 0; vi < summary->n_vms; vi++) {
		const struct vm_metrics *vmm = &summary->vms[vi];
		uint32_t rec_id = (uint32_t)(vmm->key & 0xffffffffu);
		struct replay_vm *vm = replay_vm_find(r, rec_id);
		size_t n = 0, n_ring = 0;

		if (!model_vm_visible(summary, vmm))
			continue;
		for (size_t i = 0; i < replay_n_rings(r); i++) {
			struct replay_ring *ring = replay_ring_at(r, i);

			/*
			 * A vCPU without a ring (bitmap mode, or tracking not yet known) that
			 * dirtytop never saw created or running has no id or thread: not listed.
			 */
			if (ring->vm_id == rec_id && (ring->v[REPLAY_ALL].ring_size || ring->v[REPLAY_ALL].tid))
				rings[n++] = ring;
			if (ring->vm_id == rec_id && ring->v[REPLAY_ALL].ring_size)
				n_ring++;
		}
		qsort(rings, n, sizeof(*rings), cmp_rings);
		fprintf(f, "<section class=\"vm\" id=\"vm%u\"><h2>VM %u", vmm->vm_id, vmm->vm_id);
		if (vmm->identity.name[0]) {
			fputc(' ', f);
			html_text(f, vmm->identity.name);
		}
		fprintf(f, ": pid %u (", vmm->tgid);
		html_text(f, vmm->comm[0] ? vmm->comm : "?");
		fprintf(f, "), %zu vCPUs, %s tracking", n_ring ? vmm->n_vcpus : n, tracking_name(vmm->tracking));
		if (vmm->ring_size)
			fprintf(f, ", ring %u entries (soft limit %u)", vmm->ring_size, vmm->soft_limit);
		fprintf(f, "; %llu pushes, %llu soft-full exits, %llu KVM_RESET_DIRTY_RINGS</h2>\n",
			(unsigned long long)vmm->pushes, (unsigned long long)vmm->full_exits,
			(unsigned long long)vmm->reset_calls);
		if (n)
			vcpu_table(f, summary, rings, n);

		if (n_ring) {
			fprintf(f, "<h3>Ring occupancy</h3>\n");
			for (size_t i = 0; i < n; i++) {
				snprintf(id, sizeof(id), "occupancy-vm%u-vcpu%d", vmm->vm_id, rings[i]->v[1].vcpu_id);
				for (size_t j = 0; j < i; j++)
					if (rings[j]->v[1].vcpu_id == rings[i]->v[1].vcpu_id)
						snprintf(id, sizeof(id), "occupancy-vm%u-vcpu%d-ring%u", vmm->vm_id,
							 rings[i]->v[1].vcpu_id, rings[i]->id);
				snprintf(title, sizeof(title), "vCPU %d: ring occupancy (band: min..max per %.3g s, "
					 "line: max)", rings[i]->v[1].vcpu_id, (double)h->span / NBINS / 1e9);
				plot_occupancy(f, h, id, rings[i], title);
			}
			fprintf(f, "<h3>Fill rate</h3>\n");
			snprintf(id, sizeof(id), "fillrate-vm%u", vmm->vm_id);
			plot_fill(f, h, id, rings, n);
			fprintf(f, "<h3>Soft-full exits and stalls</h3>\n");
			snprintf(id, sizeof(id), "timeline-vm%u", vmm->vm_id);
			plot_timeline(f, h, id, rings, n, rec_id);
			fprintf(f, "<h3>Reap latency</h3>\n");
			snprintf(id, sizeof(id), "reaplat-vm%u", vmm->vm_id);
			plot_reap_latency(f, id, rings, n);
		}
		for (size_t i = 0; i < h->pc.n_vms; i++)
			if (h->pc.vms[i].vm_id == rec_id && h->pc.vms[i].n_passes) {
				fprintf(f, "<h3>Migration passes</h3>\n");
				snprintf(id, sizeof(id), "precopy-vm%u", vmm->vm_id);
				plot_precopy(h, f, id, &h->pc.vms[i]);
			}
		fprintf(f, "<h3>Dirtied guest-physical regions</h3>\n");
		{
			size_t i = 0, shown = 0;

			while (i < h->n_heat) {
				size_t j = i;

				while (j < h->n_heat && h->heat[j]->vm == h->heat[i]->vm && h->heat[j]->slot == h->heat[i]->slot)
					j++;
				if (h->heat[i]->vm == rec_id) {
					uint32_t slot = h->heat[i]->slot;

					if (slot >> 16)
						snprintf(id, sizeof(id), "heatmap-vm%u-as%u-slot%u", vmm->vm_id, slot >> 16,
							 slot & 0xffff);
					else
						snprintf(id, sizeof(id), "heatmap-vm%u-slot%u", vmm->vm_id, slot & 0xffff);
					plot_heatmap(f, h, id, &h->heat[i], j - i, vm);
					shown++;
				}
				i = j;
			}
			if (!shown)
				fprintf(f, "<p>No dirtied page was recorded for this VM.</p>\n");
			if (h->heat_full)
				fprintf(f, "<p>(More regions were dirtied than the heat maps keep: some are missing.)</p>\n");
		}
		fprintf(f, "</section>\n");
	}
	if (!summary->n_vms)
		fprintf(f, "<p id=\"novm\">The recording holds no VM using KVM dirty tracking.</p>\n");
	fprintf(f, "<p style=\"font-size:11px;color:#777\">Written by dirtytop report. Times are seconds since the "
		"recording started; one column of the occupancy, fill-rate and timeline plots is %.3g s.</p>\n"
		"</body></html>\n", (double)h->span / NBINS / 1e9);
	free(rings);
	return ferror(f) ? -1 : 0;
}
