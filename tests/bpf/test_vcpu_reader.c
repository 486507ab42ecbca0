// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The changed-only vCPU read (src/kernel/vcpu_reader.c, bpf/vcpu_read.bpf.c)
 * against a BPF hash map of vCPU entries this test writes itself: after every
 * step, the snapshot holds exactly what the map holds, and the read copied
 * only what changed. Needs root and BPF (tests/integration/test_reader.py runs it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/vcpu_reader.h"

#define MAX_VCPUS 8192		/* bpf/lib/vcpus_map.bpf.h */

static int map_fd;
static struct vcpu_reader *reader;

static uint64_t key_of(unsigned i)
{
	return 0xffff888000000000ull + (uint64_t)i * 0x1000;	/* kernel addresses, as rings are */
}

/* Entry i of the map: content from i and gen, as the hooks would have counted. */
static void put(unsigned i, uint64_t gen, uint64_t first_seen)
{
	struct dt_vcpu v;
	uint64_t k = key_of(i);

	if (bpf_map_lookup_elem(map_fd, &k, &v))
		memset(&v, 0, sizeof(v));	/* new: its read_* fields start at 0, as BPF's */
	v.vm = 0xffff889000000000ull + i / 64 * 0x10000;
	v.vcpu_id = i % 64;
	v.tid = 1000 + i;
	v.first_seen_ns = first_seen;
	v.pushes = gen * 100 + i;
	v.reap_latency_us.count[3] = gen;
	v.held_us.sum = gen * 7;
	assert_int_equal(bpf_map_update_elem(map_fd, &k, &v, BPF_ANY), 0);
}

/* A write that moves no counter (the contract says every write moves one). */
static void write_quietly(unsigned i, uint32_t flags)
{
	struct dt_vcpu v;
	uint64_t k = key_of(i);

	assert_int_equal(bpf_map_lookup_elem(map_fd, &k, &v), 0);
	v.flags = flags;
	assert_int_equal(bpf_map_update_elem(map_fd, &k, &v, BPF_EXIST), 0);
}

static void del(unsigned i)
{
	uint64_t k = key_of(i);

	assert_int_equal(bpf_map_delete_elem(map_fd, &k), 0);
}

/* The reader's own fields differ by design: BPF writes them after the copy. */
static void mask(struct dt_vcpu *v)
{
	v->read_sig = 0;
	v->read_changed_pass = 0;
	v->read_pass = 0;
}

/* One read; the snapshot must be the map, entry for entry; returns the entries copied. */
static size_t read_and_compare(struct snapshot *s)
{
	uint64_t k, *prev = NULL, cur;
	size_t in_map = 0, copied;
	unsigned runs;

	assert_int_equal(vcpu_reader_read(reader, s), 0);
	while (bpf_map_get_next_key(map_fd, prev, &k) == 0) {
		struct dt_vcpu v;
		size_t j;

		assert_int_equal(bpf_map_lookup_elem(map_fd, &k, &v), 0);
		for (j = 0; j < s->n_vcpus && s->vcpus[j].key != k; j++)
			;
		if (j == s->n_vcpus)
			fail_msg("key %#llx is in the map, not in the snapshot", (unsigned long long)k);
		struct dt_vcpu got = s->vcpus[j].v;

		mask(&got);
		mask(&v);
		if (memcmp(&got, &v, sizeof(v)))
			fail_msg("key %#llx: the snapshot's entry differs from the map's", (unsigned long long)k);
		in_map++;
		cur = k;
		prev = &cur;
	}
	assert_int_equal(s->n_vcpus, in_map);
	vcpu_reader_last(reader, &copied, &runs);
	return copied;
}

static int setup(void **state)
{
	char why[160];

	(void)state;
	map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "vcpus", sizeof(uint64_t), sizeof(struct dt_vcpu), MAX_VCPUS,
				&(struct bpf_map_create_opts){ .sz = sizeof(struct bpf_map_create_opts),
							       .map_flags = BPF_F_NO_PREALLOC });
	if (map_fd < 0) {
		fprintf(stderr, "cannot create a BPF map (root and BPF needed)\n");
		return -1;
	}
	if (vcpu_reader_open(&reader, map_fd, why, sizeof(why))) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	return 0;
}

static void test_changes_deletions_and_new_entries(void **state)
{
	struct snapshot s = {}, other = {};
	size_t copied;
	unsigned runs;

	(void)state;
	assert_int_equal(read_and_compare(&s), 0);
	/* more than two runs' worth (256 entries sent whole per run) */
	for (unsigned i = 0; i < 600; i++)
		put(i, 1, 10 + i);
	assert_int_equal(read_and_compare(&s), 600);
	vcpu_reader_last(reader, &copied, &runs);
	assert_int_equal(runs, 3);
	assert_int_equal(read_and_compare(&s), 600);	/* the pass after a change sends it again */
	assert_int_equal(read_and_compare(&s), 0);	/* idle: nothing copied */

	for (unsigned i = 100; i < 105; i++)
		put(i, 2, 10 + i);
	assert_int_equal(read_and_compare(&s), 5);
	/* the end of a write that was in progress during that read: the next read sends it */
	write_quietly(101, 0x40);
	assert_int_equal(read_and_compare(&s), 5);
	assert_int_equal(read_and_compare(&s), 0);

	for (unsigned i = 200; i < 210; i++)
		del(i);
	assert_int_equal(read_and_compare(&s), 0);
	assert_int_equal(s.n_vcpus, 590);

	/* a new vCPU at a deleted one's key; and one under a new key with a known entry's content */
	put(200, 1, 5000);
	assert_int_equal(read_and_compare(&s), 1);
	{
		struct dt_vcpu v;
		uint64_t k = key_of(300), grave = key_of(9000);

		assert_int_equal(bpf_map_lookup_elem(map_fd, &k, &v), 0);
		assert_int_equal(bpf_map_update_elem(map_fd, &grave, &v, BPF_NOEXIST), 0);	/* read_* copied too */
		del(300);
	}
	assert_int_equal(read_and_compare(&s), 1);	/* 200's repeat; the copy is looked up */
	assert_int_equal(read_and_compare(&s), 0);

	/* another snapshot than the last read's: read whole */
	assert_int_equal(read_and_compare(&other), 591);
	/* and back: the first one is no longer what BPF last sent, so it is read whole too */
	assert_int_equal(read_and_compare(&s), 591);

	/* the map full: all but the copy under a new key written */
	for (unsigned i = 0; i < MAX_VCPUS - 1; i++)
		if (i != 300)
			put(i, 3, 10 + i);
	assert_int_equal(read_and_compare(&s), MAX_VCPUS - 2);
	assert_int_equal(s.n_vcpus, MAX_VCPUS - 1);
	assert_int_equal(read_and_compare(&s), MAX_VCPUS - 2);
	assert_int_equal(read_and_compare(&s), 0);
	snapshot_free(&s);
	snapshot_free(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes_deletions_and_new_entries),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
