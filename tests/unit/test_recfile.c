// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The recording file format (src/recfile.c): round trip of every record kind,
 * a file cut at every byte, every single-byte corruption, foreign files and
 * future versions, and the output file's open rules (--force, symlinks).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "core/recfile.h"
#include "core/recording.h"

struct memfile {
	char *buf;
	size_t len;
};

static void header_init(struct rec_header *h)
{
	memset(h, 0, sizeof(*h));
	h->major = REC_VERSION_MAJOR;
	h->minor = REC_VERSION_MINOR;
	h->events_mask = 0x3fe;
	h->start_wall_ns = 1700000000000000000ull;
	h->start_mono_ns = 5000000000ull;
	strcpy(h->kernel, "6.1.0-test");
	strcpy(h->machine, "x86_64");
	strcpy(h->hostname, "host");
	strcpy(h->hooks, "tp_btf");
	strcpy(h->version, "0.1.0");
	strcpy(h->cmdline, "dirtygen --vcpus 2");
	h->ringbuf_bytes = 64u << 20;
	h->kvm_max_ring_bytes = 1u << 20;
	h->block_events = 7;
}

/* A sequence of every kind of record; event i at 5 s + i ms. */
static int make_record(int i, struct rec_record *r)
{
	memset(r, 0, sizeof(*r));
	switch (i % 14) {
	case 0:
		r->kind = REC_VM_INFO;
		r->vm.id = 1 + i / 13;
		r->vm.tgid = 100;
		r->vm.fd = i % 2 ? -1 : 7;
		r->vm.ring_bytes = 16384;
		r->vm.flags = 5;
		r->vm.first_seen_ns = 5000000000ull + i;
		strcpy(r->vm.comm, "dirtygen");
		return 0;
	case 1:
		r->kind = REC_RING_INFO;
		r->ring.id = 10 + i;
		r->ring.vm_id = 1;
		r->ring.tgid = 100;
		r->ring.tid = 101;
		r->ring.vcpu_id = i % 3 ? 2 : -1;
		r->ring.ring_size = 1024;
		r->ring.soft_limit = 960;
		r->ring.dirty_index = 0xfffffff0u;
		r->ring.reset_index = 0xffffff00u;
		r->ring.first_seen_ns = UINT64_MAX;
		return 0;
	case 2:
		r->kind = REC_STATS;
		r->stats.ts = 5000000000ull + i;
		for (int k = 0; k < REC_EVENT_KINDS; k++) {
			r->stats.lost[k] = (uint64_t)k * i;
			r->stats.untracked[k] = k;
			r->stats.missed[k] = UINT64_MAX - k;
		}
		return 0;
	}
	r->ev.ts = 5000000000ull + (uint64_t)i * 1000000 - (i % 5 == 0 ? 3000 : 0);	/* not always in order */
	r->ev.id = 10 + i % 4;
	switch (i % 14) {
	case 3: case 4: case 5:
		r->kind = REC_PUSH;
		r->ev.dirty_index = (uint32_t)i * 3 + 0xfffffff0u;	/* wraps */
		r->ev.reset_index = r->ev.dirty_index - (uint32_t)i;
		r->ev.slot = (1u << 16) | 3;
		r->ev.offset = i % 2 ? (uint64_t)i * 7 : UINT64_MAX - i;
		break;
	case 6:
		r->kind = REC_RESET;
		r->ev.dirty_index = (uint32_t)i;
		r->ev.reset_index = (uint32_t)i;
		break;
	case 7:
		r->kind = REC_FULL;
		r->ev.tid = 4000000 + i;
		break;
	case 8:
		r->kind = REC_UEXIT;
		r->ev.tid = 1;
		r->ev.arg = 2;
		break;
	case 9:
		r->kind = REC_IOCTL;
		r->ev.tid = 3;
		r->ev.cmd = 0xAEC7;
		r->ev.ret = i % 2 ? -22 : INT64_MAX;
		r->ev.latency_ns = 12345;
		r->ev.target = 9;
		r->ev.flags = 192;
		r->ev.gpa = 1u << 20;
		break;
	case 10:
		r->kind = REC_MEMSLOT;
		r->ev.cmd = 0x4020AE46;
		r->ev.slot = 2;
		r->ev.flags = 1;
		r->ev.gpa = 0x100000;
		r->ev.size = 64u << 20;
		r->ev.ret = 0;
		break;
	case 11:
		r->kind = REC_DIRTYLOG;
		r->ev.slot = 2;
		r->ev.offset = 5;
		r->ev.size = 512;
		break;
	case 13: {
		struct rec_batch *b = &r->batch;

		r->kind = REC_BATCH;
		b->n = (uint32_t)(i * 5) % (REC_BATCH_MAX + 1);	/* 0 .. 64 */
		b->first_ts = b->ts - (uint64_t)i * 1000;
		b->dirty_index = (uint32_t)i * 64 + 0xffffffc0u;	/* wraps */
		b->reset_index = b->dirty_index - 900;
		for (uint32_t k = 0; k < b->n; k++) {
			b->e[k].slot = k % 7 ? 1 : (1u << 16) | 2;
			b->e[k].offset = k % 5 ? (uint64_t)i * 100 + k : UINT64_MAX - k;
		}
		break;
	}
	default:
		r->kind = i % 2 ? REC_TID : REC_REENTRY;
		r->ev.tid = 77;
		break;
	}
	return 1;
}

/* Write n records (a block every block_events events) to memory; returns the bytes per block end. */
static struct memfile write_file(int n, int block_events, bool finish, size_t *ends, size_t *nends)
{
	struct memfile m = {};
	struct rec_header h;
	struct rec_writer *w;
	char path[] = "/tmp/test_recfile.XXXXXX", err[256];
	int fd = mkstemp(path);
	struct stat st;

	assert_true(fd >= 0);
	unlink(path);
	header_init(&h);
	assert_int_equal(recw_create(&w, fd, &h, 6, err, sizeof(err)), 0);
	if (nends)
		*nends = 0;
	for (int i = 0; i < n; i++) {
		struct rec_record r;

		make_record(i, &r);
		recw_add(w, &r);
		if ((int)recw_block_events(w) >= block_events) {
			assert_int_equal(recw_flush(w), 0);
			if (ends)
				ends[(*nends)++] = recw_bytes_written(w);
		}
	}
	if (finish) {
		struct rec_stats s = { .ts = 9 };

		assert_int_equal(recw_flush(w), 0);
		if (ends && (!*nends || ends[*nends - 1] != recw_bytes_written(w)))
			ends[(*nends)++] = recw_bytes_written(w);

		s.lost[REC_PUSH] = 42;
		assert_int_equal(recw_finish(w, &s, 6000000000ull, 1700000001000000000ull), 0);
	} else {
		assert_int_equal(recw_flush(w), 0);
		if (ends && recw_block_records(w) == 0 && (!*nends || ends[*nends - 1] != recw_bytes_written(w)))
			ends[(*nends)++] = recw_bytes_written(w);
	}
	recw_free(w);
	assert_int_equal(fstat(fd, &st), 0);
	m.len = (size_t)st.st_size;
	m.buf = malloc(m.len + 1);
	assert_non_null(m.buf);
	assert_int_equal(pread(fd, m.buf, m.len, 0), (ssize_t)m.len);
	close(fd);
	return m;
}

struct readback {
	enum rec_status open, end;
	size_t records, events;
	struct rec_record last;
	bool end_record;
};

static struct readback read_mem(const char *buf, size_t len)
{
	struct readback rb = {};
	struct rec_reader *r;
	struct rec_record rec;
	char err[512];
	FILE *f = fmemopen((void *)buf, len ? len : 1, "rb");

	assert_non_null(f);
	if (!len)
		fseek(f, 0, SEEK_END);	/* fmemopen does not take size 0 */
	rb.open = recr_open(&r, f, err, sizeof(err));
	if (rb.open == REC_OK) {
		assert_non_null(r);
		while ((rb.end = recr_next(r, &rec)) == REC_OK) {
			rb.records++;
			if (rec_is_event(rec.kind))
				rb.events++;
			if (rec.kind == REC_END)
				rb.end_record = true;
			rb.last = rec;
		}
		assert_true(strlen(recr_error(r)) > 0 || rb.end == REC_END_CLEAN);
		recr_free(r);
	} else {
		assert_null(r);
		assert_true(strlen(err) > 0);
	}
	fclose(f);
	return rb;
}

static void test_round_trip(void **state)
{
	struct memfile m;
	struct rec_reader *r;
	struct rec_record got, want;
	char err[256];
	FILE *f;
	int i = 0;

	(void)state;
	m = write_file(200, 7, true, NULL, NULL);
	f = fmemopen(m.buf, m.len, "rb");
	assert_int_equal(recr_open(&r, f, err, sizeof(err)), REC_OK);
	assert_string_equal(recr_header(r)->kernel, "6.1.0-test");
	assert_string_equal(recr_header(r)->cmdline, "dirtygen --vcpus 2");
	assert_int_equal(recr_header(r)->start_mono_ns, 5000000000ull);
	assert_int_equal(recr_header(r)->ringbuf_bytes, 64u << 20);
	while (recr_next(r, &got) == REC_OK) {
		if (got.kind == REC_STATS && i >= 200)
			break;	/* the trailer's */
		make_record(i++, &want);
		assert_int_equal(got.kind, want.kind);
		assert_memory_equal(&got, &want, sizeof(got));
	}
	assert_int_equal(i, 200);
	assert_int_equal(got.stats.lost[REC_PUSH], 42);
	assert_int_equal(recr_next(r, &got), REC_OK);
	assert_int_equal(got.kind, REC_END);
	assert_int_equal(got.end.end_mono_ns, 6000000000ull);
	assert_int_equal(recr_next(r, &got), REC_END_CLEAN);
	assert_non_null(recr_end(r));
	assert_int_equal(recr_events(r), got.end.events);
	recr_free(r);
	fclose(f);
	free(m.buf);
}

/* Cut anywhere: never a crash; exactly the records of the complete blocks; then TRUNCATED. */
static void test_truncated_at_every_byte(void **state)
{
	size_t ends[256], nends, full_records = 0;
	struct memfile m;
	struct readback all;

	(void)state;
	m = write_file(120, 9, true, ends, &nends);
	all = read_mem(m.buf, m.len);
	assert_int_equal(all.end, REC_END_CLEAN);
	full_records = all.records;
	for (size_t cut = 0; cut < m.len; cut++) {
		struct readback rb = read_mem(m.buf, cut);
		size_t blocks = 0, want = 0;

		if (rb.open != REC_OK) {
			/* only inside the header: empty/too short -> foreign, else the header is cut */
			assert_true(cut < ends[0]);
			assert_true(rb.open == REC_ERR_FOREIGN || rb.open == REC_ERR_CORRUPT);
			continue;
		}
		assert_int_equal(rb.end, REC_END_TRUNCATED);
		for (size_t b = 0; b < nends; b++)
			if (ends[b] <= cut)
				blocks = b + 1;
		/* records of the first `blocks` blocks: recount by reading the file cut at that end */
		if (blocks) {
			struct readback pre = read_mem(m.buf, ends[blocks - 1]);

			want = pre.records;
		}
		assert_int_equal(rb.records, want);
		assert_true(rb.records < full_records);
		assert_false(rb.end_record);
	}
	free(m.buf);
}

/* Any single changed byte is noticed: an error, or a truncation, never a clean different file. */
static void test_every_byte_flipped(void **state)
{
	struct memfile m;

	(void)state;
	m = write_file(60, 9, true, NULL, NULL);
	for (size_t i = 0; i < m.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			struct readback rb;

			m.buf[i] ^= (char)(1 << bit);
			rb = read_mem(m.buf, m.len);
			m.buf[i] ^= (char)(1 << bit);
			if (rb.open != REC_OK)
				continue;
			assert_true(rb.end == REC_ERR_CORRUPT || rb.end == REC_END_TRUNCATED);
		}
	}
	free(m.buf);
}

static void test_foreign_and_future(void **state)
{
	struct memfile m;
	struct readback rb;
	struct rec_reader *r;
	char err[512];
	FILE *f;
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

	(void)state;
	assert_int_equal(read_mem("", 0).open, REC_ERR_FOREIGN);
	assert_int_equal(read_mem("hello, world\n", 13).open, REC_ERR_FOREIGN);
	assert_int_equal(read_mem(png, sizeof(png) - 1).open, REC_ERR_FOREIGN);
	assert_int_equal(read_mem(REC_MAGIC, 4).open, REC_ERR_CORRUPT);	/* cut inside the header */

	m = write_file(10, 100, true, NULL, NULL);
	m.buf[8] = REC_VERSION_MAJOR + 1;	/* the next major version */
	f = fmemopen(m.buf, m.len, "rb");
	assert_int_equal(recr_open(&r, f, err, sizeof(err)), REC_ERR_VERSION);
	assert_non_null(strstr(err, "newer"));
	fclose(f);
	m.buf[8] = 0;	/* older than any dirtytop wrote */
	f = fmemopen(m.buf, m.len, "rb");
	assert_int_equal(recr_open(&r, f, err, sizeof(err)), REC_ERR_VERSION);
	assert_null(strstr(err, "newer"));
	fclose(f);
	m.buf[8] = REC_VERSION_MAJOR;
	m.buf[10] = 7;	/* minor 7: readable, but the header checksum now fails */
	rb = read_mem(m.buf, m.len);
	assert_int_equal(rb.open, REC_ERR_CORRUPT);
	free(m.buf);
}

static void test_open_output(void **state)
{
	char dir[] = "/tmp/test_recout.XXXXXX", path[128], link[128], err[256];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rec", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	fd = rec_open_output(path, false, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(rec_open_output(path, false, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "--force"));
	fd = rec_open_output(path, true, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(rec_open_output(link, true, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(rec_open_output(link, false, err, sizeof(err)), -EEXIST);
	assert_true(rec_open_output(dir, true, err, sizeof(err)) < 0);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

/* An unknown kind (from a newer minor version) is skipped, the rest still read. */
static void test_unknown_kinds_skipped(void **state)
{
	struct rec_header h;
	struct rec_writer *w;
	struct rec_record r = {}, got;
	struct rec_reader *rd;
	char path[] = "/tmp/test_recfile.XXXXXX", err[256], buf[4096];
	int fd = mkstemp(path), n = 0;
	ssize_t len;
	FILE *f;

	(void)state;
	unlink(path);
	header_init(&h);
	assert_int_equal(recw_create(&w, fd, &h, 1, err, sizeof(err)), 0);
	r.kind = 14;		/* an event kind this version does not know */
	r.ev.ts = 1;
	recw_add(w, &r);
	r.kind = 40;		/* a metadata kind it does not know */
	recw_add(w, &r);
	r.kind = REC_FULL;
	r.ev.ts = 2;
	r.ev.tid = 5;
	recw_add(w, &r);
	assert_int_equal(recw_finish(w, &(struct rec_stats){ 0 }, 3, 3), 0);
	recw_free(w);
	len = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	f = fmemopen(buf, (size_t)len, "rb");
	assert_int_equal(recr_open(&rd, f, err, sizeof(err)), REC_OK);
	while (recr_next(rd, &got) == REC_OK)
		if (got.kind == REC_FULL) {
			assert_int_equal(got.ev.tid, 5);
			assert_int_equal(got.ev.ts, 2);
			n++;
		}
	assert_int_equal(recr_next(rd, &got), REC_END_CLEAN);
	assert_int_equal(n, 1);
	recr_free(rd);
	fclose(f);
}

/* Format 1.1: the VM identity and thread name records read back as written. */
static void test_identity_records(void **state)
{
	struct rec_header h;
	struct rec_writer *w;
	struct rec_record r = {}, got;
	struct rec_reader *rd;
	char path[] = "/tmp/test_recfile.XXXXXX", err[256], buf[8192];
	int fd = mkstemp(path), seen = 0;
	ssize_t len;
	FILE *f;

	(void)state;
	unlink(path);
	header_init(&h);
	assert_int_equal(recw_create(&w, fd, &h, 1, err, sizeof(err)), 0);
	r.kind = REC_VM_IDENTITY;
	r.ident.id = 3;
	strcpy(r.ident.ident.name, "vms-prod_fedora-1");
	strcpy(r.ident.ident.uuid, "0f6e8b4a-2d4c-5f0e-9b8e-1c2d3e4f5a6b");
	memset(r.ident.ident.cgroup, 'c', sizeof(r.ident.ident.cgroup) - 1);	/* the longest */
	strcpy(r.ident.ident.pod_uid, "5f3b1c9e-2a4d-4e8f-9b1a-7c6d5e4f3a21");
	memset(r.ident.ident.container, 'a', 64);
	strcpy(r.ident.ident.namespace, "vms-prod");
	recw_add(w, &r);
	memset(&r, 0, sizeof(r));
	r.kind = REC_THREAD_NAME;
	r.thread.id = 7;
	r.thread.tid = 4242;
	strcpy(r.thread.name, "CPU 1/KVM");
	recw_add(w, &r);
	assert_int_equal(recw_finish(w, &(struct rec_stats){ 0 }, 3, 3), 0);
	recw_free(w);
	len = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	f = fmemopen(buf, (size_t)len, "rb");
	assert_int_equal(recr_open(&rd, f, err, sizeof(err)), REC_OK);
	assert_int_equal(recr_header(rd)->major, REC_VERSION_MAJOR);
	while (recr_next(rd, &got) == REC_OK) {
		if (got.kind == REC_VM_IDENTITY) {
			assert_int_equal(got.ident.id, 3);
			assert_string_equal(got.ident.ident.name, "vms-prod_fedora-1");
			assert_string_equal(got.ident.ident.uuid, "0f6e8b4a-2d4c-5f0e-9b8e-1c2d3e4f5a6b");
			assert_int_equal(strlen(got.ident.ident.cgroup), sizeof(got.ident.ident.cgroup) - 1);
			assert_string_equal(got.ident.ident.pod_uid, "5f3b1c9e-2a4d-4e8f-9b1a-7c6d5e4f3a21");
			assert_int_equal(strlen(got.ident.ident.container), 64);
			assert_string_equal(got.ident.ident.namespace, "vms-prod");
			seen |= 1;
		} else if (got.kind == REC_THREAD_NAME) {
			assert_int_equal(got.thread.id, 7);
			assert_int_equal(got.thread.tid, 4242);
			assert_string_equal(got.thread.name, "CPU 1/KVM");
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	recr_free(rd);
	fclose(f);
}

/* A batch's pushes: ring indices in order, the entries, times from first_ts towards ts. */
static void test_batch_push(void **state)
{
	struct rec_record r = { .kind = REC_BATCH };
	struct rec_batch *b = &r.batch;
	struct rec_event e;

	(void)state;
	b->id = 3;
	b->ts = 1000640;
	b->first_ts = 1000000;
	b->n = 64;
	b->dirty_index = 10;		/* pushes of indices 2^32 - 54 .. 9: wraps */
	b->reset_index = 0xfffffff0u;
	for (uint32_t k = 0; k < 64; k++) {
		b->e[k].slot = k < 32 ? 1 : 2;
		b->e[k].offset = 1000 + k;
	}
	assert_int_equal(rec_pushes(&r), 64);
	rec_batch_push(b, 0, &e);
	assert_int_equal(e.ts, 1000000);		/* the first push: first_ts */
	assert_int_equal(e.dirty_index, 10u - 63);
	assert_int_equal(e.reset_index, 0xfffffff0u);
	assert_int_equal(e.id, 3);
	assert_int_equal(e.slot, 1);
	assert_int_equal(e.offset, 1000);
	rec_batch_push(b, 63, &e);
	assert_int_equal(e.ts, 1000630);		/* (640 / 64) * 63: before the read */
	assert_int_equal(e.dirty_index, 10);
	assert_int_equal(e.slot, 2);
	assert_int_equal(e.offset, 1063);
	rec_batch_push(b, 32, &e);
	assert_int_equal(e.ts, 1000320);
	b->first_ts = 0;
	b->ts = UINT64_MAX;		/* no overflow in the interpolation */
	rec_batch_push(b, 63, &e);
	assert_true(e.ts < UINT64_MAX && e.ts > UINT64_MAX / 64 * 62);
	r.kind = REC_PUSH;
	assert_int_equal(rec_pushes(&r), 1);
	r.kind = REC_RESET;
	assert_int_equal(rec_pushes(&r), 0);
}

/*
 * A file of format 1.0 (one PUSH record per push), written by the dirtytop
 * of that version (tests/data/README), still reads: header, records, trailer.
 */
static void test_reads_version_1_0(void **state)
{
	FILE *f = fopen("tests/data/v1.0.dtr", "rb");
	uint64_t pushes[3] = { 0 }, resets = 0, batches = 0;
	struct rec_reader *r;
	struct rec_record rec;
	char err[256];

	(void)state;
	assert_non_null(f);
	assert_int_equal(recr_open(&r, f, err, sizeof(err)), REC_OK);
	assert_int_equal(recr_header(r)->major, 1);
	assert_int_equal(recr_header(r)->minor, 0);
	assert_string_equal(recr_header(r)->hostname, "v1host");
	while (recr_next(r, &rec) == REC_OK) {
		if (rec.kind == REC_PUSH && rec.ev.id < 3) {
			pushes[rec.ev.id] += rec_pushes(&rec);
			assert_int_equal(rec.ev.slot, 1);
		}
		resets += rec.kind == REC_RESET;
		batches += rec.kind == REC_BATCH;
	}
	assert_non_null(recr_end(r));
	assert_int_equal(pushes[1], 300);
	assert_int_equal(pushes[2], 200);
	assert_int_equal(resets, 2);
	assert_int_equal(batches, 0);
	assert_int_equal(recr_events(r), 504);
	recr_free(r);
	fclose(f);
}

/* Write buf[0..len) to a new temporary file; its path into path. */
static void temp_file(char *path, const char *buf, size_t len)
{
	int fd;

	strcpy(path, "/tmp/test_recording_load.XXXXXX");
	fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* What recording_load said on diag. */
static const char *load_said(const char *path, struct recording *rec, bool salvage, int *ret, char *out, size_t len)
{
	FILE *diag = fmemopen(out, len, "w");

	assert_non_null(diag);
	memset(out, 0, len);
	*ret = recording_load(path, rec, "prog", salvage, diag);
	fclose(diag);
	return out;
}

/* One first pass for every offline command: clean is silent, truncated warns, the rest is refused. */
static void test_recording_load(void **state)
{
	char path[] = "/tmp/test_recording_load.XXXXXX", said[2048], want[1024];
	size_t ends[256], nends;
	struct recording rec;
	struct memfile m;
	int ret;

	(void)state;
	m = write_file(120, 9, true, ends, &nends);
	temp_file(path, m.buf, m.len);
	assert_string_equal(load_said(path, &rec, false, &ret, said, sizeof(said)), "");
	assert_int_equal(ret, 0);
	assert_int_equal(rec.status, REC_END_CLEAN);
	assert_int_equal(recording_load(path, &rec, "prog", false, NULL), 0);	/* no diag: silent */
	unlink(path);

	/* cut after its second block: loaded, with a warning naming the file */
	temp_file(path, m.buf, ends[1] + 5);
	load_said(path, &rec, false, &ret, said, sizeof(said));
	assert_int_equal(ret, 0);
	assert_int_equal(rec.status, REC_END_TRUNCATED);
	assert_int_equal(rec.blocks, 2);
	snprintf(want, sizeof(want), "prog: warning: %s: ", path);
	assert_memory_equal(said, want, strlen(want));
	assert_non_null(strchr(said, '\n'));
	assert_int_equal(strchr(said, '\n')[1], 0);	/* one line */
	unlink(path);

	/* a byte of the third block flipped: refused, said where the intact part ends; --salvage takes it */
	m.buf[ends[2] - 3] ^= 0x40;
	temp_file(path, m.buf, m.len);
	load_said(path, &rec, false, &ret, said, sizeof(said));
	assert_int_equal(ret, -1);
	assert_int_equal(rec.status, REC_ERR_CORRUPT);
	snprintf(want, sizeof(want), "prog: %s: ", path);
	assert_memory_equal(said, want, strlen(want));
	assert_non_null(strstr(said, "prog: the 2 blocks before it are intact: --salvage reports them\n"));
	load_said(path, &rec, true, &ret, said, sizeof(said));
	assert_int_equal(ret, 0);
	assert_int_equal(rec.blocks, 2);
	assert_non_null(strstr(said, "; reporting the 2 blocks before it (--salvage)\n"));
	unlink(path);
	free(m.buf);

	/* not there, a directory */
	load_said("/nonexistent/x.dtr", &rec, false, &ret, said, sizeof(said));
	assert_int_equal(ret, -1);
	assert_string_equal(said, "prog: cannot open /nonexistent/x.dtr: No such file or directory\n");
	load_said("/tmp", &rec, false, &ret, said, sizeof(said));
	assert_int_equal(ret, -1);
	assert_string_equal(said, "prog: /tmp is a directory, not a recording\n");
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(rec_kind_name(REC_PUSH), "push");
	assert_string_equal(rec_kind_name(REC_BATCH), "batch");
	assert_int_equal(rec_kind_from_name("memslot"), REC_MEMSLOT);
	assert_int_equal(rec_kind_from_name("nope"), -1);
	assert_null(rec_kind_name(REC_RING_INFO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_every_byte_flipped),
		cmocka_unit_test(test_foreign_and_future),
		cmocka_unit_test(test_open_output),
		cmocka_unit_test(test_unknown_kinds_skipped),
		cmocka_unit_test(test_identity_records),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_recording_load),
		cmocka_unit_test(test_batch_push),
		cmocka_unit_test(test_reads_version_1_0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
