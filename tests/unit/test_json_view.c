// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The live JSON view writes vCPU objects itself (out/json.c, vcpu_json_raw);
 * embedded in a caller's document (view_json_fields) they go through yajl.
 * Both must be the same bytes: idle and busy vCPUs, every histogram and
 * quantile, thread names that need escaping, a value JSON cannot hold.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/model.h"
#include "out/json_writer.h"
#include "out/views.h"

#define SEC 1000000000ull
#define VM_KEY 0xffff888000001000ull

static const char *g_names[] = { "CPU 0/KVM", "", "q\"uote\\back/slash", "tab\there\n", "caf\xc3\xa9", "x" };

static void fake_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	out->alive = true;
	strcpy(out->comm, "vmm");
	if (q->tid)
		snprintf(out->thread_name, sizeof(out->thread_name), "%s", g_names[(q->tid - 200) % 6]);
}

static void hist_put(struct dt_hist *h, uint32_t epoch, uint64_t v, uint32_t n)
{
	h->count[dt_hist_bucket(v)] += n;
	h->sum += v * n;
	if (v > h->max)
		h->max = v;
	h->interval_max.epoch[epoch & 1] = epoch;
	h->interval_max.value[epoch & 1] = v;
}

static void fill(struct snapshot *s, int round)
{
	uint32_t epoch = 2 + round;
	struct snap_vm *sm;

	snapshot_reset(s);
	s->ts_ns = (10 + round) * SEC + round * 333333;
	s->epoch = epoch;
	for (int i = 0; i < 12; i++) {
		struct snap_vcpu *sv = snapshot_add_vcpu(s);
		struct dt_vcpu *v = &sv->v;

		sv->key = 0xffff888000100000ull + i * 0x1000;
		v->vm = VM_KEY;
		v->tgid = 100;
		v->tid = i == 5 ? 0 : 200 + i;
		v->vcpu_id = i == 7 ? -1 : i;
		v->ring_size = 4096;
		v->soft_limit = 4032;
		v->first_seen_ns = 1;
		v->flags = i & 1 ? DT_VCPU_FROM_CREATE : 0;
		if (i % 3)	/* idle: every third vCPU works */
			continue;
		v->pushes = 1000ull * round * (i + 1) + 7;
		v->dirty_index = (uint32_t)v->pushes;
		v->reset_index = (uint32_t)v->pushes - 100 * i;
		v->full_exits = round * i;
		v->userspace_exits = 3 * round + i;
		v->ring_resets = round * 2 + i;
		v->entries_reset = 123456789012ull + round;
		v->stalls = round;
		v->stall_ns = round * 1234567ull;
		v->reentries = round;
		v->held_ns = round * 7654321ull;
		for (int r = 0; r <= round; r++) {
			hist_put(&v->reap_interval_us, epoch, 100000 + 977 * r, 2);
			hist_put(&v->reap_latency_us, epoch, 3 + 31 * r * i, 1);
			hist_put(&v->reclaimed, epoch, 1 + 100 * r, 3);
			hist_put(&v->stall_us, epoch, r ? 50000 * r : 0, 1);
			hist_put(&v->held_us, epoch, 17 * r, 1);
		}
	}
	sm = snapshot_add_vm(s);
	sm->key = VM_KEY;
	sm->v.tgid = 100;
	sm->v.fd = 5;
	sm->v.flags = DT_VM_RING;
	sm->v.ring_bytes = 4096 * 16;
	sm->v.first_seen_ns = 1;
}

/* view_json_fields through a plain yajl generator, wrapped and ended as view_json_print does */
static char *through_yajl(const struct model *m, const struct view_opts *o, const struct frame_info *f)
{
	yajl_gen g = jw_new();
	const unsigned char *buf;
	size_t len;
	char *r;

	yajl_gen_map_open(g);
	view_json_fields(g, m, o, f);
	yajl_gen_map_close(g);
	assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
	r = malloc(len + 2);
	memcpy(r, buf, len);
	memcpy(r + len, "\n", 2);
	yajl_gen_free(g);
	return r;
}

static char *through_print(const struct model *m, const struct view_opts *o, const struct frame_info *f)
{
	char *p = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&p, &n);

	view_json_print(out, m, o, f);
	fclose(out);
	return p;
}

static void test_raw_vcpus_equal_yajl(void **state)
{
	struct frame_info f = { .hooks = "tp_btf", .has_map_entries = true, .map_entries = 14,
				.wall_time = 1700000000.25 };
	struct view_opts o = { .top_regions = 4 };
	struct snapshot s = {};
	struct model m;

	(void)state;
	model_init(&m);
	for (int round = 0; round < 4; round++) {
		char *a, *b;

		fill(&s, round);
		model_update(&m, &s, fake_lookup, NULL, NULL, NULL);
		if (round == 3)
			m.vms[0].vcpus[0].fill_rate = NAN;	/* written as null either way */
		a = through_print(&m, &o, &f);
		b = through_yajl(&m, &o, &f);
		assert_non_null(strstr(a, "\"vcpus\":[{\"vcpu_id\":"));
		assert_non_null(strstr(a, "tab\\there\\n"));
		assert_non_null(strstr(a, "{\"vcpu_id\":-1,\"tid\":207,"));
		assert_non_null(strstr(a, "\"tid\":null,"));
		for (size_t i = 0; a[i] || b[i]; i++)
			if (a[i] != b[i]) {	/* say where, not only that */
				size_t from = i > 60 ? i - 60 : 0;

				print_message("round %d, byte %zu:\n view: %.120s\n yajl: %.120s\n", round, i, a + from,
					      b + from);
				break;
			}
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	model_free(&m);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_vcpus_equal_yajl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
