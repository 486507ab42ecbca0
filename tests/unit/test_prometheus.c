// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The Prometheus / OpenMetrics rendering of a model built from synthetic snapshots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/model.h"
#include "out/prometheus.h"

#define SEC 1000000000ull
#define VM_KEY 0xffff888000001000ull
#define RING(i) (0xffff888000100000ull + (uint64_t)(i) * 0x1000)

static bool g_alive = true;
static const char *g_comm = "vmm";

static void fake_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out)
{
	(void)ctx; (void)q;
	memset(out, 0, sizeof(*out));
	out->alive = g_alive;
	snprintf(out->comm, sizeof(out->comm), "%s", g_comm);
}

static struct dt_vcpu *add_vcpu(struct snapshot *s, int id)
{
	struct snap_vcpu *sv = snapshot_add_vcpu(s);

	sv->key = RING(id);
	sv->v.vm = VM_KEY;
	sv->v.tgid = 100;
	sv->v.tid = 200 + id;
	sv->v.vcpu_id = id;
	sv->v.ring_size = 1024;
	sv->v.soft_limit = 960;
	sv->v.first_seen_ns = 1;
	return &sv->v;
}

static struct dt_vm *add_vm(struct snapshot *s)
{
	struct snap_vm *sm = snapshot_add_vm(s);

	sm->key = VM_KEY;
	sm->v.tgid = 100;
	sm->v.fd = 5;
	sm->v.flags = DT_VM_RING;
	sm->v.ring_bytes = 1024 * 16;
	sm->v.first_seen_ns = 1;
	return &sm->v;
}

static void hist_put(struct dt_hist *h, uint64_t v, uint32_t n)
{
	h->count[dt_hist_bucket(v)] += n;
	h->sum += v * n;
	if (v > h->max)
		h->max = v;
}

static char *render(const struct model *m, const struct snapshot *s, bool per_vcpu, bool om, double ts)
{
	struct prom_opts o = { .openmetrics = om, .per_vcpu = per_vcpu };
	struct prom_writer w;
	struct prom_buf out = {};

	prom_writer_init(&w, &o);
	prom_set_timestamp(&w, ts);
	prom_render_model(&w, m, s);
	prom_finish(&w, &out);
	prom_writer_free(&w);
	return out.p;
}

/* The two-VCPU model every test starts from: baseline at 1 s, an interval to 2 s. */
static void two_vcpus(struct model *m, struct snapshot *s)
{
	struct dt_vcpu *a, *b;

	model_init(m);
	g_alive = true;
	s->ts_ns = SEC;
	add_vcpu(s, 0);
	add_vcpu(s, 1);
	add_vm(s);
	model_update(m, s, fake_lookup, NULL, NULL, NULL);
	a = &s->vcpus[0].v;
	b = &s->vcpus[1].v;
	a->pushes = 123456789012ull;	/* above 2^32: printed exactly */
	a->full_exits = 7;
	a->ring_resets = 3;
	a->entries_reset = 2000;
	a->stall_ns = 1500000000ull;
	a->stalls = 2;
	a->dirty_index = 480;		/* half the soft limit in use */
	b->pushes = 5;
	b->ring_resets = 1;		/* its reap latency sample came with a reset (dt_agg_reset) */
	hist_put(&a->reap_latency_us, 10, 4);	/* 10 us: above le=3e-06, within le=1.5e-05 */
	hist_put(&b->reap_latency_us, 100000, 1);	/* 100 ms */
	hist_put(&a->stall_us, 750000, 2);
	s->ts_ns = 2 * SEC;
	model_update(m, s, fake_lookup, NULL, NULL, NULL);
}

static void test_counters_per_vcpu_exact(void **state)
{
	struct snapshot s = {};
	struct model m;
	char *t;

	(void)state;
	two_vcpus(&m, &s);
	t = render(&m, &s, true, false, 0);
	assert_non_null(strstr(t, "# TYPE dirtytop_ring_pushes_total counter\n"));
	assert_non_null(strstr(t, "dirtytop_ring_pushes_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 123456789012\n"));
	assert_non_null(strstr(t, "dirtytop_ring_pushes_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"1\"} 5\n"));
	assert_non_null(strstr(t, "dirtytop_ring_full_exits_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 7\n"));
	assert_non_null(strstr(t, "dirtytop_ring_full_stall_seconds_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 1.5\n"));
	assert_non_null(strstr(t, "dirtytop_ring_reset_entries_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 2000\n"));
	assert_non_null(strstr(t, "dirtytop_ring_occupancy_ratio{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 0.5\n"));
	assert_non_null(strstr(t, "dirtytop_ring_soft_limit_entries{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"1\"} 960\n"));
	assert_non_null(strstr(t, "dirtytop_vm_info{vm_id=\"1\",pid=\"100\",comm=\"vmm\",tracking=\"ring\"} 1\n"));
	assert_non_null(strstr(t, "dirtytop_memslot_operations_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",op=\"create\"} 0\n"));
	assert_non_null(strstr(t, "dirtytop_exporter_vcpus 2\n"));
	/* every family's samples in one group: its TYPE line once */
	assert_null(strstr(strstr(t, "# TYPE dirtytop_ring_pushes_total") + 1, "# TYPE dirtytop_ring_pushes_total"));
	free(t);
	model_free(&m);
	snapshot_free(&s);
}

static void test_per_vm_sums(void **state)
{
	struct snapshot s = {};
	struct model m;
	char *t;

	(void)state;
	two_vcpus(&m, &s);
	t = render(&m, &s, false, false, 0);
	assert_non_null(strstr(t, "dirtytop_ring_pushes_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\"} 123456789017\n"));
	assert_null(strstr(t, "vcpu=\""));
	/* the fullest ring */
	assert_non_null(strstr(t, "dirtytop_ring_occupancy_ratio{vm_id=\"1\",pid=\"100\",comm=\"vmm\"} 0.5\n"));
	free(t);
	model_free(&m);
	snapshot_free(&s);
}

static void test_histogram_buckets_cumulative(void **state)
{
	struct snapshot s = {};
	struct model m;
	char *t;

	(void)state;
	two_vcpus(&m, &s);
	t = render(&m, &s, true, false, 0);
	/* 4 values of 10 us and one of 100 ms, summed over the VM's rings; le = 2^p - 1 us */
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"3e-06\"} 0\n"));
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"1.5e-05\"} 4\n"));
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"0.065535\"} 4\n"));
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"0.262143\"} 5\n"));
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"+Inf\"} 5\n"));
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_sum{vm_id=\"1\",pid=\"100\",comm=\"vmm\"} 0.10004\n"));
	assert_non_null(strstr(t, "dirtytop_reap_latency_seconds_count{vm_id=\"1\",pid=\"100\",comm=\"vmm\"} 5\n"));
	assert_non_null(strstr(t, "dirtytop_ring_full_stall_duration_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"1.048575\"} 2\n"));
	assert_non_null(strstr(t, "dirtytop_ring_full_stall_duration_seconds_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"0.262143\"} 0\n"));
	free(t);
	model_free(&m);
	snapshot_free(&s);
}

static void test_exited_vm_one_more_time(void **state)
{
	struct snapshot s = {};
	struct model m;
	char *t;

	(void)state;
	two_vcpus(&m, &s);
	g_alive = false;
	s.ts_ns = 3 * SEC;
	model_update(&m, &s, fake_lookup, NULL, NULL, NULL);
	t = render(&m, &s, true, false, 0);
	assert_non_null(strstr(t, "dirtytop_ring_pushes_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 123456789012\n"));
	free(t);
	s.ts_ns = 4 * SEC;
	model_update(&m, &s, fake_lookup, NULL, NULL, NULL);
	t = render(&m, &s, true, false, 0);
	assert_null(strstr(t, "vm_id=\"1\""));
	assert_non_null(strstr(t, "dirtytop_exporter_vms 0\n"));
	free(t);
	model_free(&m);
	snapshot_free(&s);
}

static void test_label_escaping(void **state)
{
	struct snapshot s = {};
	struct model m;
	char *t;

	(void)state;
	g_comm = "q\"e\\mu\n";
	two_vcpus(&m, &s);
	g_comm = "vmm";
	t = render(&m, &s, false, false, 0);
	assert_non_null(strstr(t, "comm=\"q\\\"e\\\\mu\\n\""));
	free(t);
	model_free(&m);
	snapshot_free(&s);
}

static void test_openmetrics(void **state)
{
	struct snapshot s = {};
	struct model m;
	char *t;
	size_t n;

	(void)state;
	two_vcpus(&m, &s);
	t = render(&m, &s, true, true, 1700000000.5);
	n = strlen(t);
	assert_true(n > 6 && !strcmp(t + n - 6, "# EOF\n"));
	assert_non_null(strstr(t, "# TYPE dirtytop_ring_pushes counter\n"));
	assert_null(strstr(t, "# TYPE dirtytop_ring_pushes_total"));
	assert_non_null(strstr(t, "dirtytop_ring_pushes_total{vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"1\"} 5 1700000000.500\n"));
	assert_non_null(strstr(t, "dirtytop_ring_reset_reclaimed_entries_bucket{vm_id=\"1\",pid=\"100\",comm=\"vmm\",le=\"3.0\"} 0 1700000000.500\n"));
	free(t);
	model_free(&m);
	snapshot_free(&s);
}

static void test_findings_gauges(void **state)
{
	struct doc_finding f[3] = {
		{ .id = DOC_EXIT_STORM, .severity = DOC_CRITICAL, .vm_id = 1, .pid = 100, .comm = "vmm", .vcpu_id = 0 },
		{ .id = DOC_EXIT_STORM, .severity = DOC_CRITICAL, .vm_id = 1, .pid = 100, .comm = "vmm", .vcpu_id = 0 },
		{ .id = DOC_NO_CONVERGE, .severity = DOC_WARNING, .vm_id = 1, .pid = 100, .comm = "vmm", .vcpu_id = -1 },
	};
	struct doc_findings fs = { .v = f, .n = 3, .cap = 3 };
	struct prom_opts o = {};
	struct prom_writer w;
	struct prom_buf out = {};

	(void)state;
	prom_writer_init(&w, &o);
	prom_render_findings(&w, &fs);
	prom_finish(&w, &out);
	prom_writer_free(&w);
	assert_non_null(strstr(out.p, "dirtytop_doctor_findings{id=\"exit-storm\"} 2\n"));
	assert_non_null(strstr(out.p, "dirtytop_doctor_findings{id=\"vcpu-throttled\"} 0\n"));
	assert_non_null(strstr(out.p, "dirtytop_doctor_finding{id=\"exit-storm\",severity=\"critical\",vm_id=\"1\",pid=\"100\",comm=\"vmm\",vcpu=\"0\"} 1\n"));
	/* one series for the duplicate */
	assert_null(strstr(strstr(out.p, "dirtytop_doctor_finding{id=\"exit-storm\"") + 1, "dirtytop_doctor_finding{id=\"exit-storm\""));
	assert_non_null(strstr(out.p, "dirtytop_doctor_finding{id=\"precopy-no-converge\",severity=\"warning\",vm_id=\"1\",pid=\"100\",comm=\"vmm\"} 1\n"));
	prom_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_per_vcpu_exact),
		cmocka_unit_test(test_per_vm_sums),
		cmocka_unit_test(test_histogram_buckets_cumulative),
		cmocka_unit_test(test_exited_vm_one_more_time),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_openmetrics),
		cmocka_unit_test(test_findings_gauges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
