// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target, structure-aware: the input is a list of records (a kind
 * byte, then its fields as little-endian integers); the writer turns them
 * into a well-formed recording (valid framing and checksums), so the fuzzer
 * explores what the replay and the report make of any record values:
 * unknown ids, wrapping indices, timestamps out of order or absurd, lost
 * counters, memslots, dirty logs.
 */
#include "harness.h"
#include "core/recfile.h"

static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && *p < end; i++, (*p)++)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct rec_header h = { .major = REC_VERSION_MAJOR, .minor = REC_VERSION_MINOR };
	struct rec_writer *w;
	struct rec_stats st = {};
	char err[256], *buf = NULL;
	size_t len = 0;
	unsigned flags;
	int fd;
	FILE *mf;

	if (size < 9)
		return 0;
	flags = (unsigned)take(&p, end, 1);
	h.start_mono_ns = take(&p, end, 4) * 1000;	/* a start the events can be before or after */
	h.events_mask = 0xffff;
	strcpy(h.hooks, "tp_btf");
	fd = memfd_create("fuzz-records", MFD_CLOEXEC);
	if (fd < 0 || recw_create(&w, fd, &h, 1, err, sizeof(err)))
		abort();
	while (p < end) {
		struct rec_record r = {};
		uint8_t k = (uint8_t)take(&p, end, 1);

		r.kind = k % 20;
		switch (r.kind) {
		case REC_RING_INFO:
			r.ring.id = (uint32_t)take(&p, end, 1);
			r.ring.vm_id = (uint32_t)take(&p, end, 1);
			r.ring.tid = (uint32_t)take(&p, end, 2);
			r.ring.vcpu_id = (int32_t)take(&p, end, 1);
			r.ring.ring_size = 1u << (take(&p, end, 1) % 20);
			r.ring.soft_limit = (uint32_t)take(&p, end, 4);
			r.ring.dirty_index = (uint32_t)take(&p, end, 4);
			r.ring.reset_index = (uint32_t)take(&p, end, 4);
			r.ring.flags = (uint32_t)take(&p, end, 1);
			r.ring.first_seen_ns = take(&p, end, 8);
			break;
		case REC_VM_INFO:
			r.vm.id = (uint32_t)take(&p, end, 1);
			r.vm.tgid = (uint32_t)take(&p, end, 2);
			r.vm.fd = (int32_t)take(&p, end, 1) - 1;
			r.vm.ring_bytes = (uint32_t)take(&p, end, 4);
			r.vm.flags = (uint32_t)take(&p, end, 1);
			r.vm.created_ns = take(&p, end, 8);
			memcpy(r.vm.comm, "fuzz\"<&>", 8);
			break;
		case REC_STATS:
			r.stats.ts = take(&p, end, 8);
			r.stats.lost[take(&p, end, 1) % REC_EVENT_KINDS] = take(&p, end, 8);
			break;
		case REC_END:
			continue;	/* the writer puts it in the trailer */
		case REC_BATCH:
			r.batch.ts = h.start_mono_ns + take(&p, end, 4) * (1 + take(&p, end, 1));
			r.batch.id = (uint32_t)take(&p, end, 1);
			r.batch.first_ts = r.batch.ts - take(&p, end, 4);	/* may wrap: a first time after the last */
			r.batch.dirty_index = (uint32_t)take(&p, end, 4);
			r.batch.reset_index = (uint32_t)take(&p, end, 4);
			r.batch.n = (uint32_t)take(&p, end, 1) % (REC_BATCH_MAX + 1);
			for (uint32_t i = 0; i < r.batch.n; i++) {
				r.batch.e[i].slot = (uint32_t)take(&p, end, 1);
				r.batch.e[i].offset = take(&p, end, 2) << (i % 4 * 8);
			}
			break;
		default:
			r.ev.ts = h.start_mono_ns + take(&p, end, 4) * (1 + take(&p, end, 1));
			r.ev.id = (uint32_t)take(&p, end, 1);
			r.ev.dirty_index = (uint32_t)take(&p, end, 4);
			r.ev.reset_index = (uint32_t)take(&p, end, 4);
			r.ev.slot = (uint32_t)take(&p, end, 3);
			r.ev.offset = take(&p, end, 8);
			r.ev.tid = (uint32_t)take(&p, end, 1);
			r.ev.cmd = 0xAE00 | (uint32_t)take(&p, end, 1);	/* 0xAEC7: KVM_RESET_DIRTY_RINGS */
			if ((r.ev.cmd & 0xff) >= 0xf0)	/* 0xf0 + 0..4: the ioctls with arguments */
				r.ev.cmd = (uint32_t[]){ 0x4020AE46, 0x40A0AE49, 0x4010AE42, 0xC018AEC0, 0x4068AEA3 }[r.ev.cmd % 5];
			r.ev.ret = (int64_t)take(&p, end, 8);
			r.ev.latency_ns = take(&p, end, 4);
			r.ev.flags = (uint32_t)take(&p, end, 1);
			r.ev.gpa = take(&p, end, 8);
			r.ev.size = take(&p, end, 8);
			r.ev.target = (uint32_t)take(&p, end, 1);
			break;
		}
		recw_add(w, &r);
		if (recw_block_records(w) >= 64 && recw_flush(w))
			abort();
	}
	if (!(flags & 4) && recw_finish(w, &st, h.start_mono_ns + 1000000000ull, 0))
		abort();
	if (flags & 4)
		recw_flush(w);	/* not finalized: a truncated recording */
	recw_free(w);
	/* the file, back into memory */
	mf = open_memstream(&buf, &len);
	{
		char tmp[4096];
		ssize_t n;
		off_t off = 0;

		while ((n = pread(fd, tmp, sizeof(tmp), off)) > 0) {
			fwrite(tmp, 1, (size_t)n, mf);
			off += n;
		}
	}
	fclose(mf);
	close(fd);
	fuzz_report((const uint8_t *)buf, len, flags);
	free(buf);
	return 0;
}
