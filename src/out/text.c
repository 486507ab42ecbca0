// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Batch mode: plain text tables, one block per interval. */
#include <math.h>
#include <stdbool.h>
#include <time.h>
#include "core/units.h"
#include "out/views.h"

/* exactly +0.0 (a -0.0 would be formatted with its sign) */
static bool is_zero(double v)
{
	return v == 0.0 && !signbit(v);
}

static const char *q_or_dash(char *buf, size_t len, const struct quantiles *q, double v)
{
	if (!q->valid)
		return "-";
	return fmt_usecs(buf, len, v);
}

/* What identifies the VM beyond its name: "       uuid U  cgroup C  pod P  namespace N". */
static void print_identity(FILE *out, const struct vm_identity *id)
{
	fprintf(out, "      ");
	if (id->uuid[0])
		fprintf(out, " uuid %s", id->uuid);
	if (id->cgroup[0])
		fprintf(out, " cgroup %s", id->cgroup);
	if (id->pod_uid[0])
		fprintf(out, " pod %s", id->pod_uid);
	if (id->namespace[0])
		fprintf(out, " namespace %s", id->namespace);
	fputc('\n', out);
}

static void print_detail(FILE *out, const struct vm_metrics *vm, const struct view_opts *o)
{
	char a[16], b[16], c[16], d[16];

	fprintf(out, "  memslots%s:\n", vm->memslots_complete ? "" :
		" (the VM predates dirtytop: slots it never changed since are unknown)");
	fprintf(out, "    %-3s %-5s %-18s %-10s %-9s %8s %9s %10s %8s %9s\n", "AS", "SLOT", "BASE", "SIZE",
		"FLAGS", "GETLOG/s", "DIRTY/s", "GET-P99", "CLEAR/s", "CHUNK-P50");
	for (size_t i = 0; i < vm->n_memslots; i++) {
		const struct memslot_metrics *ms = &vm->memslots[i];
		char base[24] = "unknown", size[16] = "unknown", flags[16] = "unknown";

		if (ms->known) {
			snprintf(base, sizeof(base), "0x%llx", (unsigned long long)ms->gpa);
			snprintf(size, sizeof(size), "%lluM", (unsigned long long)(ms->size >> 20));
			snprintf(flags, sizeof(flags), "%s%s", ms->flags & DT_MEM_LOG_DIRTY_PAGES ? "log" : "-",
				 ms->flags & DT_MEM_READONLY ? ",ro" : "");
		}
		fprintf(out, "    %-3u %-5u %-18s %-10s %-9s %8.1f %9s %10s %8.1f %9s\n", ms->slot >> 16,
			ms->slot & 0xffff, base, size, flags, ms->get_calls_s, fmt_rate(a, sizeof(a), ms->dirty_pages_s),
			ms->get_latency_us.valid ? fmt_usecs(b, sizeof(b), ms->get_latency_us.p99) : "-",
			ms->clear_calls_s,
			ms->clear_chunk_pages.valid ? fmt_count(c, sizeof(c), ms->clear_chunk_pages.p50) : "-");
	}
	fprintf(out, "  memslot ops:");
	for (int op = 0; op < DT_SLOT_OPS; op++)
		fprintf(out, " %s %llu%s%s%s", slot_op_name(op), (unsigned long long)vm->slot_ops[op],
			vm->slot_op_latency_us[op].valid ? " (p99 " : "",
			vm->slot_op_latency_us[op].valid ? fmt_usecs(d, sizeof(d), vm->slot_op_latency_us[op].p99) : "",
			vm->slot_op_latency_us[op].valid ? ")" : "");
	fprintf(out, "; dirty logging on %llu, off %llu\n", (unsigned long long)vm->dirty_log_on,
		(unsigned long long)vm->dirty_log_off);
	if (vm->reset_calls)
		fprintf(out, "  KVM_RESET_DIRTY_RINGS: %.1f/s, latency p50 %s p99 %s, entries/call p50 %s\n",
			vm->reset_calls_s, fmt_usecs(a, sizeof(a), vm->reset_latency_us_all.p50),
			fmt_usecs(b, sizeof(b), vm->reset_latency_us_all.p99),
			fmt_count(c, sizeof(c), vm->reset_entries_all.p50));
	if (vm->n_heat && o->top_regions) {
		fprintf(out, "  hottest regions (%lluM):\n", (unsigned long long)(1ull << vm->heat_region_bytes_log2) >> 20);
		for (size_t i = 0; i < vm->n_heat && i < o->top_regions; i++) {
			const struct heat_region *h = &vm->heat[i];
			char base[24] = "?";

			if (h->gpa_known)
				snprintf(base, sizeof(base), "0x%llx", (unsigned long long)h->gpa);
			fprintf(out, "    slot %-3u region %-6u %-18s %9s  %s pages\n", h->slot & 0xffff, h->region, base,
				fmt_rate(a, sizeof(a), h->pages_s), fmt_count(b, sizeof(b), (double)h->pages));
		}
	}
}

void view_text_print(FILE *out, const struct model *m, const struct view_opts *o)
{
	char tbuf[32], a[16], b[16], c[16], d[16], e[16], f[16], g[16], h[16];
	char zero_rate[16], zero_pct[16];
	time_t now = time(NULL);
	size_t shown = 0;

	/* most of 4096 vCPUs are idle: their zeros formatted once, as fmt_* format them */
	fmt_rate(zero_rate, sizeof(zero_rate), 0.0);
	fmt_percent(zero_pct, sizeof(zero_pct), 0.0);
	if (!o->no_clock_line) {
		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
		fprintf(out, "%s  interval %.2fs\n", tbuf, m->interval_s);
	}
	for (size_t i = 0; i < m->n_vms; i++) {
		const struct vm_metrics *vm = &m->vms[i];

		if (!model_vm_visible(m, vm))
			continue;
		if (!shown++)
			fprintf(out, "%-6s %-8s %-16s %-16s %-11s %5s %6s %9s %10s %9s %8s %7s\n", "VM", "PID",
				"COMMAND", "NAME", "TRACKING", "VCPUS", "RING", "FILL", "FILL-MIB", "FULLEX/s",
				"STALL%", "RESET/s");
		fprintf(out, "%-6u %-8u %-16s %-16s %-11s %5zu %6u %9s %10s %9.1f %8s %7.1f%s\n", vm->vm_id, vm->tgid,
			vm->comm[0] ? vm->comm : "?", vm->identity.name[0] ? vm->identity.name : "-",
			tracking_name(vm->tracking), vm->n_vcpus, vm->ring_size,
			fmt_rate(a, sizeof(a), vm->fill_rate), fmt_mib_s(b, sizeof(b), vm->fill_mib_s),
			vm->full_exits_s,
			fmt_percent(c, sizeof(c), vm->n_vcpus ? 100.0 * vm->stall_frac_sum / vm->n_vcpus : 0),
			vm->reset_calls_s, vm->exited ? "  (exited)" : "");
		if (vm->identity.uuid[0] || vm->identity.cgroup[0])
			print_identity(out, &vm->identity);
		if (o->detail)
			print_detail(out, vm, o);
		if (!o->show_vcpus || !vm->n_vcpus)
			continue;
		fprintf(out, "  %-5s %-8s %-15s %9s %6s %6s %6s %8s %7s %9s %9s %9s %9s\n", "VCPU", "TID", "THREAD",
			"FILL", "USED", "PEAK", "PEAK%", "FULLEX/s", "STALL%", "REAP-P50", "REAP-P99", "LAT-P50",
			"LAT-P99");
		for (size_t j = 0; j < vm->n_vcpus; j++) {
			const struct vcpu_metrics *v = &vm->vcpus[j];

			fprintf(out, "  %-5d %-8u %-15s %9s %6u %6u %6s %8.1f %7s %9s %9s %9s %9s\n", v->vcpu_id,
				v->tid, v->thread_name[0] ? v->thread_name : "-",
				is_zero(v->fill_rate) ? zero_rate : fmt_rate(a, sizeof(a), v->fill_rate), v->used,
				v->peak_used, is_zero(v->peak_pct) ? zero_pct : fmt_percent(b, sizeof(b), v->peak_pct),
				v->full_exits_s,
				is_zero(v->stall_frac) ? zero_pct : fmt_percent(c, sizeof(c), 100.0 * v->stall_frac),
				q_or_dash(d, sizeof(d), &v->reap_interval_us, v->reap_interval_us.p50),
				q_or_dash(e, sizeof(e), &v->reap_interval_us, v->reap_interval_us.p99),
				q_or_dash(f, sizeof(f), &v->reap_latency_us, v->reap_latency_us.p50),
				q_or_dash(g, sizeof(g), &v->reap_latency_us, v->reap_latency_us.p99));
		}
		(void)h;
	}
	if (!shown)
		fprintf(out, "no VM is using KVM dirty tracking yet (waiting for kvm_dirty_ring events)\n");
	fputc('\n', out);
	fflush(out);
}
