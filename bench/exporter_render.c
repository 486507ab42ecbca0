// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The exporter's per-scrape userspace cost without the BPF map read: a
 * synthetic snapshot of VMS x VCPUS busy rings (histograms filled, two
 * memslots per VM) goes through model_update, the doctor's rules and the
 * Prometheus rendering, as a scrape does. Prints ms per scrape and bytes.
 *   exporter_render VMS VCPUS SCRAPES
 * DIRTYTOP_BENCH_DUMP=FILE writes the last rendering (per vCPU, then per VM) to FILE.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/doctor_rules.h"
#include "core/model.h"
#include "out/prometheus.h"

static void lookup(void *ctx, const struct proc_query *q, struct proc_facts *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	out->alive = true;
	snprintf(out->comm, sizeof(out->comm), "qemu-%u", q->tgid);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void fill(struct snapshot *s, unsigned vms, unsigned vcpus, unsigned k)
{
	snapshot_reset(s);
	s->ts_ns = (uint64_t)(k + 1) * 15000000000ull;
	s->epoch = k;
	for (unsigned v = 0; v < vms; v++) {
		uint64_t vm = 0xffff888000000000ull + ((uint64_t)v << 24);
		struct snap_vm *sm = snapshot_add_vm(s);

		sm->key = vm;
		sm->v.tgid = 1000 + v;
		sm->v.fd = 10;
		sm->v.flags = DT_VM_RING;
		sm->v.ring_bytes = 4096 * 16;
		sm->v.first_seen_ns = 1;
		sm->v.reset_calls = k * 150;
		sm->v.reset_latency_ns.count[40 + k % 8] = k * 150;
		for (unsigned sl = 0; sl < 2; sl++) {
			struct snap_memslot *ms = snapshot_add_memslot(s);

			ms->key.vm = vm;
			ms->key.slot = sl;
			ms->v.known = 1;
			ms->v.size = 1ull << 30;
		}
		for (unsigned c = 0; c < vcpus; c++) {
			struct snap_vcpu *sv = snapshot_add_vcpu(s);
			uint64_t pushes = (uint64_t)k * 15 * 20000 + c;	/* one busy vCPU: 20000 pages/s */

			sv->key = vm + 0x1000 + c * 0x100;
			sv->v.vm = vm;
			sv->v.tgid = 1000 + v;
			sv->v.tid = 100000 + v * 1000 + c;
			sv->v.vcpu_id = (int)c;
			sv->v.ring_size = 4096;
			sv->v.soft_limit = 4032;
			sv->v.first_seen_ns = 1;
			sv->v.pushes = c == 0 ? pushes : k;
			sv->v.ring_resets = k * 150;
			sv->v.entries_reset = sv->v.pushes;
			sv->v.dirty_index = (uint32_t)sv->v.pushes;
			sv->v.reset_index = (uint32_t)sv->v.pushes - (c == 0 ? 1000 : 0);
			for (unsigned b = 0; b < 24; b++) {
				sv->v.reap_latency_us.count[20 + b] = k * (b + 1);
				sv->v.reclaimed.count[30 + b] = k * (b + 1);
			}
		}
	}
}

int main(int argc, char **argv)
{
	unsigned vms = argc > 1 ? (unsigned)atoi(argv[1]) : 64, vcpus = argc > 2 ? (unsigned)atoi(argv[2]) : 64;
	unsigned scrapes = argc > 3 ? (unsigned)atoi(argv[3]) : 20;

	/* as dirtytop's main does (src/cmd/main.c); DIRTYTOP_BENCH_GLIBC_DEFAULT=1 measures without */
	if (!getenv("DIRTYTOP_BENCH_GLIBC_DEFAULT")) {
		mallopt(M_MMAP_THRESHOLD, 64 << 20);
		mallopt(M_TRIM_THRESHOLD, 256 << 20);
	}

	for (int per_vcpu = 1; per_vcpu >= 0; per_vcpu--) {
		struct prom_opts po = { .per_vcpu = per_vcpu };
		struct snapshot s = {};
		struct model m;
		struct doc_state ds;
		struct doc_thresholds th;
		double wall = 0, cpu = 0, model_s = 0, max_wall = 0;
		size_t bytes = 0;
		struct prom_writer w;

		prom_writer_init(&w, &po);

		model_init(&m);
		doc_state_init(&ds);
		doc_thresholds_default(&th);
		fill(&s, vms, vcpus, 0);
		model_update(&m, &s, lookup, NULL, NULL, NULL);
		doc_accumulate(&ds, &m);
		for (unsigned k = 1; k <= scrapes; k++) {
			struct doc_findings f = {};
			struct prom_buf out = {};
			double t0, c0, t1, dt;

			fill(&s, vms, vcpus, k);	/* the BPF map read, not measured */
			t0 = now_s();
			c0 = cpu_s();
			model_update(&m, &s, lookup, NULL, NULL, NULL);
			doc_accumulate(&ds, &m);
			doc_evaluate(&ds, &th, &f);
			t1 = now_s();
			prom_writer_reuse(&w, &po);	/* as the exporter: buffers kept */
			prom_render_model(&w, &m, &s);
			prom_render_findings(&w, &f);
			prom_finish(&w, &out);
			dt = now_s() - t0;
			wall += dt;
			if (dt > max_wall)
				max_wall = dt;
			cpu += cpu_s() - c0;
			model_s += t1 - t0;
			bytes = out.len;
			if (k == scrapes && getenv("DIRTYTOP_BENCH_DUMP")) {	/* the last text, to compare renderings */
				FILE *d = fopen(getenv("DIRTYTOP_BENCH_DUMP"), per_vcpu ? "w" : "a");

				if (d) {
					fwrite(out.p, 1, out.len, d);
					fclose(d);
				}
			}
			prom_buf_free(&out);
			doc_findings_free(&f);
		}
		printf("%u VMs x %u vCPUs = %u vCPUs, per-vCPU series %s: %.2f ms/scrape (max %.2f; model+doctor %.2f, "
		       "render %.2f), CPU %.2f ms/scrape = %.3f%% of a core at a 15 s scrape interval, %zu KiB\n",
		       vms, vcpus, vms * vcpus, per_vcpu ? "on " : "off", 1e3 * wall / scrapes, 1e3 * max_wall,
		       1e3 * model_s / scrapes, 1e3 * (wall - model_s) / scrapes, 1e3 * cpu / scrapes,
		       100 * cpu / scrapes / 15.0, bytes / 1024);
		prom_writer_free(&w);
		model_free(&m);
		doc_state_free(&ds);
		snapshot_free(&s);
	}
	return 0;
}
