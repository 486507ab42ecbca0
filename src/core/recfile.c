// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The recording file format: see recfile.h and docs/recording.md.
 * Every integer on disk is little-endian; record fields are LEB128 varints
 * (signed ones zigzag-coded). Nothing read from a file is trusted: every
 * length is bounded before it is used, and a block is yielded only after its
 * checksum, its decompressed length and every one of its records checked out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "core/recfile.h"

/* Fuzzing builds skip the checksums so the fuzzer reaches the parsers behind them. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CRC_OK(a, b) ((void)(a), (void)(b), 1)
#else
#define CRC_OK(a, b) ((a) == (b))
#endif

static const char *const kind_names[REC_EVENT_KINDS] = {
	[REC_PUSH] = "push", [REC_RESET] = "reset", [REC_FULL] = "full", [REC_UEXIT] = "uexit",
	[REC_IOCTL] = "ioctl", [REC_MEMSLOT] = "memslot", [REC_TID] = "tid", [REC_DIRTYLOG] = "dirtylog",
	[REC_REENTRY] = "reentry", [REC_BATCH] = "batch",
};

const char *rec_kind_name(uint8_t kind)
{
	return kind < REC_EVENT_KINDS ? kind_names[kind] : NULL;
}

int rec_kind_from_name(const char *name)
{
	for (int k = 1; k < REC_EVENT_KINDS; k++)
		if (kind_names[k] && !strcmp(kind_names[k], name))
			return k;
	return -1;
}

/* --- little-endian helpers --- */

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* --- growable buffer --- */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return;
	size_t c = b->cap ? b->cap : 4096;

	while (c < b->n + more)
		c *= 2;
	b->p = realloc(b->p, c);
	if (!b->p)
		abort();
	b->cap = c;
}

static void buf_put(struct buf *b, const void *d, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

/* --- varints --- */

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* A record's fields while encoding (a full batch: 64 x 15 bytes at most, and a few fields). */
struct enc {
	uint8_t b[2048];
	size_t n;
};

static void ev(struct enc *e, uint64_t v)
{
	if (e->n + 10 <= sizeof(e->b))
		e->n += varint_put(e->b + e->n, v);
}

/* A record's fields while decoding: missing trailing fields read as 0. */
struct dec {
	const uint8_t *p;
	size_t n, pos;
	bool bad;
};

static uint64_t dv(struct dec *d)
{
	uint64_t v = 0;
	unsigned shift = 0;

	if (d->pos >= d->n)
		return 0;	/* a field an older writer did not write */
	for (;;) {
		uint8_t c;

		if (d->pos >= d->n || shift > 63) {
			d->bad = true;
			return 0;
		}
		c = d->p[d->pos++];
		if (shift == 63 && (c & 0x7e)) {
			d->bad = true;	/* more than 64 bits */
			return 0;
		}
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
}

static uint32_t dv32(struct dec *d)
{
	uint64_t v = dv(d);

	if (v > UINT32_MAX)
		d->bad = true;
	return (uint32_t)v;
}

static int32_t dvs32(struct dec *d)
{
	int64_t v = unzz(dv(d));

	if (v < INT32_MIN || v > INT32_MAX)
		d->bad = true;
	return (int32_t)v;
}

/* Printable ASCII only: strings from a file end up on terminals and in HTML. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* A string field: length, bytes (no terminator); reads back sanitized, "" when absent (an older writer). */
static void estr(struct enc *e, const char *str, size_t cap)
{
	size_t len = strnlen(str, cap - 1);

	ev(e, len);
	memcpy(e->b + e->n, str, len);
	e->n += len;
}

static bool dstr(struct dec *d, char *out, size_t cap)
{
	uint64_t len;

	out[0] = 0;
	if (d->pos >= d->n)
		return true;
	len = dv(d);
	if (d->bad || len > d->n - d->pos || len >= cap)
		return false;
	memcpy(out, d->p + d->pos, len);
	out[len] = 0;
	d->pos += len;
	sanitize(out);
	return true;
}

/* --- record encoding --- */

/*
 * What the records of one block are coded against: the previous event's
 * timestamp, and per ring (id mod PUSH_CACHE) the previous push's dirty index
 * and offset, so a vCPU writing pages in order costs a few bits per push.
 * Writer and reader start each block from the same state (zero, and the
 * block header's first timestamp).
 */
#define PUSH_CACHE 64

struct codec {
	uint64_t cursor;
	struct {
		uint32_t dirty;
		uint64_t offset;
	} pc[PUSH_CACHE];
};

static void codec_reset(struct codec *c, uint64_t first_ts)
{
	memset(c, 0, sizeof(*c));
	c->cursor = first_ts;
}

/*
 * BATCH after id, dts: zigzag(dirty_index - D), used, ts - first_ts, n, then n
 * times slot, zigzag(offset - O); D and O as for PUSH (the same per-ring state).
 */
static void encode_batch(struct enc *e, const struct rec_batch *b, struct codec *c)
{
	unsigned i = b->id % PUSH_CACHE;
	uint32_t n = b->n < REC_BATCH_MAX ? b->n : REC_BATCH_MAX;

	ev(e, zz((int32_t)(b->dirty_index - c->pc[i].dirty)));
	ev(e, (uint32_t)(b->dirty_index - b->reset_index));
	ev(e, b->ts >= b->first_ts ? b->ts - b->first_ts : 0);
	ev(e, n);
	c->pc[i].dirty = b->dirty_index;
	for (uint32_t k = 0; k < n; k++) {
		ev(e, b->e[k].slot);
		ev(e, zz((int64_t)(b->e[k].offset - c->pc[i].offset)));
		c->pc[i].offset = b->e[k].offset;
	}
}

static bool decode_batch(struct dec *d, struct rec_batch *b, struct codec *c)
{
	unsigned i = b->id % PUSH_CACHE;
	uint64_t span, n;

	b->dirty_index = c->pc[i].dirty + (uint32_t)unzz(dv(d));
	b->reset_index = b->dirty_index - dv32(d);
	span = dv(d);
	b->first_ts = span <= b->ts ? b->ts - span : 0;
	n = dv(d);
	if (n > REC_BATCH_MAX)
		return false;
	b->n = (uint32_t)n;
	c->pc[i].dirty = b->dirty_index;
	for (uint32_t k = 0; k < b->n; k++) {
		b->e[k].slot = dv32(d);
		b->e[k].offset = c->pc[i].offset + (uint64_t)unzz(dv(d));
		c->pc[i].offset = b->e[k].offset;
	}
	return true;
}

void rec_batch_push(const struct rec_batch *b, uint32_t i, struct rec_event *out)
{
	uint64_t span = b->ts >= b->first_ts ? b->ts - b->first_ts : 0;
	uint32_t n = b->n ? b->n : 1;

	memset(out, 0, sizeof(*out));
	out->id = b->id;
	/* span * i / n without overflow: span < 2^64, i < n <= 64 */
	out->ts = b->first_ts + span / n * i + span % n * i / n;
	out->dirty_index = b->dirty_index - b->n + i + 1;
	out->reset_index = b->reset_index;
	if (i < REC_BATCH_MAX) {
		out->slot = b->e[i].slot;
		out->offset = b->e[i].offset;
	}
}

uint64_t rec_pushes(const struct rec_record *r)
{
	return r->kind == REC_PUSH ? 1 : r->kind == REC_BATCH ? r->batch.n : 0;
}

static void encode_record(struct enc *e, const struct rec_record *r, struct codec *c)
{
	const struct rec_event *v = &r->ev;
	uint64_t dts;

	e->n = 0;
	if (rec_is_event(r->kind)) {
		dts = zz((int64_t)(v->ts - c->cursor));
		c->cursor = v->ts;
		ev(e, v->id);
		ev(e, dts);
	}
	switch (r->kind) {
	case REC_PUSH: {
		unsigned i = v->id % PUSH_CACHE;

		ev(e, zz((int32_t)(v->dirty_index - c->pc[i].dirty)));
		ev(e, (uint32_t)(v->dirty_index - v->reset_index));	/* occupancy: small */
		ev(e, v->slot);
		ev(e, zz((int64_t)(v->offset - c->pc[i].offset)));
		c->pc[i].dirty = v->dirty_index;
		c->pc[i].offset = v->offset;
		break;
	}
	case REC_BATCH:
		encode_batch(e, &r->batch, c);
		break;
	case REC_RESET:
		ev(e, v->dirty_index);
		ev(e, (uint32_t)(v->dirty_index - v->reset_index));
		break;
	case REC_FULL:
	case REC_TID:
	case REC_REENTRY:
		ev(e, v->tid);
		break;
	case REC_UEXIT:
		ev(e, v->tid);
		ev(e, v->arg);
		break;
	case REC_IOCTL:
	case REC_MEMSLOT:
		ev(e, v->tid);
		ev(e, v->cmd);
		ev(e, v->target);
		ev(e, zz(v->ret));
		ev(e, v->latency_ns);
		ev(e, v->slot);
		ev(e, v->flags);
		ev(e, v->gpa);
		ev(e, v->size);
		break;
	case REC_DIRTYLOG:
		ev(e, v->slot);
		ev(e, v->offset);
		ev(e, v->size);
		break;
	case REC_RING_INFO: {
		const struct rec_ring_info *g = &r->ring;

		ev(e, g->id);
		ev(e, g->vm_id);
		ev(e, g->tgid);
		ev(e, g->tid);
		ev(e, zz(g->vcpu_id));
		ev(e, g->ring_size);
		ev(e, g->soft_limit);
		ev(e, g->dirty_index);
		ev(e, g->reset_index);
		ev(e, g->flags);
		ev(e, g->first_seen_ns);
		ev(e, g->created_ns);
		break;
	}
	case REC_VM_INFO: {
		const struct rec_vm_info *m = &r->vm;
		size_t len = strnlen(m->comm, sizeof(m->comm));

		ev(e, m->id);
		ev(e, m->tgid);
		ev(e, zz(m->fd));
		ev(e, m->ring_bytes);
		ev(e, m->flags);
		ev(e, m->first_seen_ns);
		ev(e, m->created_ns);
		ev(e, len);
		memcpy(e->b + e->n, m->comm, len);
		e->n += len;
		break;
	}
	case REC_VM_IDENTITY: {
		const struct vm_identity *m = &r->ident.ident;

		ev(e, r->ident.id);
		estr(e, m->name, sizeof(m->name));
		estr(e, m->uuid, sizeof(m->uuid));
		estr(e, m->cgroup, sizeof(m->cgroup));
		estr(e, m->pod_uid, sizeof(m->pod_uid));
		estr(e, m->container, sizeof(m->container));
		estr(e, m->namespace, sizeof(m->namespace));
		break;
	}
	case REC_THREAD_NAME:
		ev(e, r->thread.id);
		ev(e, r->thread.tid);
		estr(e, r->thread.name, sizeof(r->thread.name));
		break;
	case REC_STATS: {
		const struct rec_stats *s = &r->stats;

		ev(e, s->ts);
		ev(e, REC_EVENT_KINDS);
		for (int i = 0; i < REC_EVENT_KINDS; i++)
			ev(e, s->lost[i]);
		for (int i = 0; i < REC_EVENT_KINDS; i++)
			ev(e, s->untracked[i]);
		for (int i = 0; i < REC_EVENT_KINDS; i++)
			ev(e, s->missed[i]);
		break;
	}
	case REC_END: {
		const struct rec_end *x = &r->end;

		ev(e, x->end_mono_ns);
		ev(e, x->end_wall_ns);
		ev(e, x->blocks);
		ev(e, x->records);
		ev(e, x->events);
		break;
	}
	case REC_TRAFFIC:
		ev(e, r->traffic.ts);
		ev(e, r->traffic.tgid);
		ev(e, r->traffic.bytes_acked);
		break;
	}
}

/* Decode one record's fields. false: malformed. */
static bool decode_record(uint8_t kind, const uint8_t *p, size_t n, struct codec *c, struct rec_record *r)
{
	struct dec d = { .p = p, .n = n };
	struct rec_event *v = &r->ev;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (rec_is_event(kind)) {
		v->id = dv32(&d);
		v->ts = c->cursor + (uint64_t)unzz(dv(&d));
		c->cursor = v->ts;
	}
	switch (kind) {
	case REC_PUSH: {
		unsigned i = v->id % PUSH_CACHE;
		uint32_t used;

		v->dirty_index = c->pc[i].dirty + (uint32_t)unzz(dv(&d));
		used = dv32(&d);
		v->reset_index = v->dirty_index - used;
		v->slot = dv32(&d);
		v->offset = c->pc[i].offset + (uint64_t)unzz(dv(&d));
		c->pc[i].dirty = v->dirty_index;
		c->pc[i].offset = v->offset;
		break;
	}
	case REC_BATCH:
		if (!decode_batch(&d, &r->batch, c))
			return false;
		break;
	case REC_RESET: {
		uint32_t used;

		v->dirty_index = dv32(&d);
		used = dv32(&d);
		v->reset_index = v->dirty_index - used;
		break;
	}
	case REC_FULL:
	case REC_TID:
	case REC_REENTRY:
		v->tid = dv32(&d);
		break;
	case REC_UEXIT:
		v->tid = dv32(&d);
		v->arg = dv32(&d);
		break;
	case REC_IOCTL:
	case REC_MEMSLOT:
		v->tid = dv32(&d);
		v->cmd = dv32(&d);
		v->target = dv32(&d);
		v->ret = unzz(dv(&d));
		v->latency_ns = dv(&d);
		v->slot = dv32(&d);
		v->flags = dv32(&d);
		v->gpa = dv(&d);
		v->size = dv(&d);
		break;
	case REC_DIRTYLOG:
		v->slot = dv32(&d);
		v->offset = dv(&d);
		v->size = dv(&d);
		break;
	case REC_RING_INFO: {
		struct rec_ring_info *g = &r->ring;

		g->id = dv32(&d);
		g->vm_id = dv32(&d);
		g->tgid = dv32(&d);
		g->tid = dv32(&d);
		g->vcpu_id = dvs32(&d);
		g->ring_size = dv32(&d);
		g->soft_limit = dv32(&d);
		g->dirty_index = dv32(&d);
		g->reset_index = dv32(&d);
		g->flags = dv32(&d);
		g->first_seen_ns = dv(&d);
		g->created_ns = dv(&d);
		break;
	}
	case REC_VM_INFO: {
		struct rec_vm_info *m = &r->vm;
		uint64_t len;

		m->id = dv32(&d);
		m->tgid = dv32(&d);
		m->fd = dvs32(&d);
		m->ring_bytes = dv32(&d);
		m->flags = dv32(&d);
		m->first_seen_ns = dv(&d);
		m->created_ns = dv(&d);
		len = dv(&d);
		if (len > n - d.pos || len >= sizeof(m->comm))
			return false;
		memcpy(m->comm, p + d.pos, len);
		m->comm[len] = 0;
		d.pos += len;
		sanitize(m->comm);
		break;
	}
	case REC_VM_IDENTITY: {
		struct vm_identity *m = &r->ident.ident;

		r->ident.id = dv32(&d);
		if (!dstr(&d, m->name, sizeof(m->name)) || !dstr(&d, m->uuid, sizeof(m->uuid)) ||
		    !dstr(&d, m->cgroup, sizeof(m->cgroup)) || !dstr(&d, m->pod_uid, sizeof(m->pod_uid)) ||
		    !dstr(&d, m->container, sizeof(m->container)) || !dstr(&d, m->namespace, sizeof(m->namespace)))
			return false;
		break;
	}
	case REC_THREAD_NAME:
		r->thread.id = dv32(&d);
		r->thread.tid = dv32(&d);
		if (!dstr(&d, r->thread.name, sizeof(r->thread.name)))
			return false;
		break;
	case REC_STATS: {
		struct rec_stats *s = &r->stats;
		uint64_t k;

		s->ts = dv(&d);
		k = dv(&d);
		if (k > 64)
			return false;
		for (uint64_t i = 0; i < k; i++) {
			uint64_t x = dv(&d);

			if (i < REC_EVENT_KINDS)
				s->lost[i] = x;
		}
		for (uint64_t i = 0; i < k; i++) {
			uint64_t x = dv(&d);

			if (i < REC_EVENT_KINDS)
				s->untracked[i] = x;
		}
		for (uint64_t i = 0; i < k; i++) {
			uint64_t x = dv(&d);

			if (i < REC_EVENT_KINDS)
				s->missed[i] = x;
		}
		break;
	}
	case REC_END: {
		struct rec_end *x = &r->end;

		x->end_mono_ns = dv(&d);
		x->end_wall_ns = dv(&d);
		x->blocks = dv(&d);
		x->records = dv(&d);
		x->events = dv(&d);
		break;
	}
	case REC_TRAFFIC:
		r->traffic.ts = dv(&d);
		r->traffic.tgid = dv32(&d);
		r->traffic.bytes_acked = dv(&d);
		break;
	default:
		break;	/* a kind from a newer minor version: skipped */
	}
	return !d.bad;
}

/* --- output file --- */

int rec_open_output(const char *path, bool force, char *err, size_t errlen)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (force ? 0 : O_EXCL);
	struct stat st;
	int fd = open(path, flags, 0644), e;

	if (fd < 0) {
		e = errno;
		if (e == EEXIST)
			snprintf(err, errlen, "%s already exists: use --force to overwrite it", path);
		else if (e == ELOOP)
			snprintf(err, errlen, "%s is a symbolic link: refusing to follow it (record to the real path)",
				 path);
		else
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file: refusing to record into it", path);
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --- header --- */

enum {
	H_EVENTS = 1, H_START_WALL, H_START_MONO, H_KERNEL, H_MACHINE, H_HOSTNAME, H_HOOKS, H_VERSION,
	H_BOOT_ID, H_CMDLINE, H_PID_FILTER, H_RINGBUF, H_KVM_MAX_RING, H_BLOCK_EVENTS,
};

static void tlv(struct buf *b, uint16_t tag, const void *v, size_t len)
{
	uint8_t h[4];

	if (len > 0xffff)
		len = 0xffff;
	le16(h, tag);
	le16(h + 2, (uint16_t)len);
	buf_put(b, h, 4);
	buf_put(b, v, len);
}

static void tlv_u64(struct buf *b, uint16_t tag, uint64_t v)
{
	uint8_t x[8];

	le64(x, v);
	tlv(b, tag, x, 8);
}

static void tlv_str(struct buf *b, uint16_t tag, const char *s, size_t max)
{
	tlv(b, tag, s, strnlen(s, max));
}

static void encode_header(struct buf *out, const struct rec_header *h)
{
	struct buf body = {};
	uint8_t fixed[16], c[4];
	uint32_t sum;

	tlv_u64(&body, H_EVENTS, h->events_mask);
	tlv_u64(&body, H_START_WALL, h->start_wall_ns);
	tlv_u64(&body, H_START_MONO, h->start_mono_ns);
	tlv_str(&body, H_KERNEL, h->kernel, sizeof(h->kernel));
	tlv_str(&body, H_MACHINE, h->machine, sizeof(h->machine));
	tlv_str(&body, H_HOSTNAME, h->hostname, sizeof(h->hostname));
	tlv_str(&body, H_HOOKS, h->hooks, sizeof(h->hooks));
	tlv_str(&body, H_VERSION, h->version, sizeof(h->version));
	tlv_str(&body, H_BOOT_ID, h->boot_id, sizeof(h->boot_id));
	tlv_str(&body, H_CMDLINE, h->cmdline, sizeof(h->cmdline));
	tlv_u64(&body, H_PID_FILTER, h->pid_filter);
	tlv_u64(&body, H_RINGBUF, h->ringbuf_bytes);
	tlv_u64(&body, H_KVM_MAX_RING, h->kvm_max_ring_bytes);
	tlv_u64(&body, H_BLOCK_EVENTS, h->block_events);

	memcpy(fixed, REC_MAGIC, REC_MAGIC_LEN);
	le16(fixed + 8, REC_VERSION_MAJOR);
	le16(fixed + 10, REC_VERSION_MINOR);
	le32(fixed + 12, (uint32_t)body.n);
	sum = (uint32_t)crc32(crc32(crc32(0L, Z_NULL, 0), fixed + 8, 8), body.p, (uInt)body.n);
	le32(c, sum);
	buf_put(out, fixed, sizeof(fixed));
	buf_put(out, body.p, body.n);
	buf_put(out, c, 4);
	free(body.p);
}

static uint64_t tlv_int(const uint8_t *v, uint16_t len)
{
	uint64_t x = 0;

	for (uint16_t i = 0; i < len && i < 8; i++)
		x |= (uint64_t)v[i] << (8 * i);
	return x;
}

static void tlv_copy_str(char *dst, size_t size, const uint8_t *v, uint16_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	memcpy(dst, v, n);
	dst[n] = 0;
	dst[strnlen(dst, size)] = 0;
	sanitize(dst);
}

static bool decode_header_body(struct rec_header *h, const uint8_t *p, size_t n)
{
	size_t pos = 0;

	while (pos < n) {
		uint16_t tag, len;
		const uint8_t *v;

		if (n - pos < 4)
			return false;
		tag = rd16(p + pos);
		len = rd16(p + pos + 2);
		pos += 4;
		if (len > n - pos)
			return false;
		v = p + pos;
		pos += len;
		switch (tag) {
		case H_EVENTS: h->events_mask = (uint32_t)tlv_int(v, len); break;
		case H_START_WALL: h->start_wall_ns = tlv_int(v, len); break;
		case H_START_MONO: h->start_mono_ns = tlv_int(v, len); break;
		case H_KERNEL: tlv_copy_str(h->kernel, sizeof(h->kernel), v, len); break;
		case H_MACHINE: tlv_copy_str(h->machine, sizeof(h->machine), v, len); break;
		case H_HOSTNAME: tlv_copy_str(h->hostname, sizeof(h->hostname), v, len); break;
		case H_HOOKS: tlv_copy_str(h->hooks, sizeof(h->hooks), v, len); break;
		case H_VERSION: tlv_copy_str(h->version, sizeof(h->version), v, len); break;
		case H_BOOT_ID: tlv_copy_str(h->boot_id, sizeof(h->boot_id), v, len); break;
		case H_CMDLINE: tlv_copy_str(h->cmdline, sizeof(h->cmdline), v, len); break;
		case H_PID_FILTER: h->pid_filter = (uint32_t)tlv_int(v, len); break;
		case H_RINGBUF: h->ringbuf_bytes = tlv_int(v, len); break;
		case H_KVM_MAX_RING: h->kvm_max_ring_bytes = (uint32_t)tlv_int(v, len); break;
		case H_BLOCK_EVENTS: h->block_events = (uint32_t)tlv_int(v, len); break;
		default: break;	/* a field from a newer minor version */
		}
	}
	return true;
}

/* --- writer --- */

struct rec_writer {
	int fd;
	int level;
	struct buf raw, out;
	uint32_t seq;
	size_t nrec, nev;
	uint64_t first_ts, last_ts;
	struct codec codec;
	bool have_ts;
	uint64_t bytes, events, records, blocks;
};

int recw_create(struct rec_writer **out, int fd, const struct rec_header *h, int level, char *err,
		size_t errlen)
{
	struct rec_writer *w = calloc(1, sizeof(*w));
	struct buf hb = {};
	int e;

	if (!w)
		abort();
	w->fd = fd;
	w->level = level < 1 || level > 9 ? 1 : level;
	/* --force: an existing file is emptied only now, when recording starts */
	if (ftruncate(fd, 0) && errno != EINVAL) {
		e = -errno;
		snprintf(err, errlen, "emptying the file failed: %s", strerror(-e));
		free(w);
		return e;
	}
	encode_header(&hb, h);
	e = write_all(fd, hb.p, hb.n);
	w->bytes = hb.n;
	free(hb.p);
	if (e) {
		snprintf(err, errlen, "writing the file header failed: %s", strerror(-e));
		free(w);
		return e;
	}
	*out = w;
	return 0;
}

void recw_add(struct rec_writer *w, const struct rec_record *r)
{
	struct enc e;
	uint8_t h[11];
	size_t hn;

	if (rec_is_event(r->kind)) {
		if (!w->have_ts) {
			w->have_ts = true;
			w->first_ts = w->last_ts = r->ev.ts;
			codec_reset(&w->codec, r->ev.ts);
		}
		if (r->ev.ts > w->last_ts)
			w->last_ts = r->ev.ts;
		w->nev++;
	}
	encode_record(&e, r, &w->codec);
	h[0] = r->kind;
	hn = 1 + varint_put(h + 1, e.n);
	buf_reserve(&w->raw, hn + e.n);
	memcpy(w->raw.p + w->raw.n, h, hn);
	memcpy(w->raw.p + w->raw.n + hn, e.b, e.n);
	w->raw.n += hn + e.n;
	w->nrec++;
}

size_t recw_block_records(const struct rec_writer *w)
{
	return w->nrec;
}

size_t recw_block_events(const struct rec_writer *w)
{
	return w->nev;
}

size_t recw_block_bytes(const struct rec_writer *w)
{
	return w->raw.n;
}

static int write_block(struct rec_writer *w, uint16_t kind)
{
	uLongf clen;
	uint8_t *hdr;
	int e;

	if (w->raw.n > REC_MAX_RAW)
		return -EFBIG;	/* the caller flushes long before */
	clen = compressBound(w->raw.n);
	w->out.n = 0;
	buf_reserve(&w->out, REC_BLOCK_HDR_LEN + clen);
	if (compress2(w->out.p + REC_BLOCK_HDR_LEN, &clen, w->raw.p, w->raw.n, w->level) != Z_OK)
		return -ENOMEM;
	hdr = w->out.p;
	le32(hdr + 0, REC_BLOCK_MAGIC);
	le16(hdr + 4, kind);
	le16(hdr + 6, 0);
	le32(hdr + 8, w->seq);
	le32(hdr + 12, (uint32_t)clen);
	le32(hdr + 16, (uint32_t)w->raw.n);
	le32(hdr + 20, (uint32_t)w->nrec);
	le32(hdr + 24, (uint32_t)w->nev);
	le32(hdr + 28, crc(w->out.p + REC_BLOCK_HDR_LEN, clen));
	le64(hdr + 32, w->have_ts ? w->first_ts : 0);
	le64(hdr + 40, w->have_ts ? w->last_ts : 0);
	le32(hdr + 48, 0);
	le32(hdr + 52, crc(hdr, 52));
	e = write_all(w->fd, w->out.p, REC_BLOCK_HDR_LEN + clen);
	if (e)
		return e;
	w->bytes += REC_BLOCK_HDR_LEN + clen;
	if (kind == REC_BLOCK_DATA) {
		w->events += w->nev;
		w->records += w->nrec;
		w->blocks++;
	}
	w->seq++;
	w->raw.n = 0;
	w->nrec = w->nev = 0;
	w->have_ts = false;
	return 0;
}

int recw_flush(struct rec_writer *w)
{
	return w->nrec ? write_block(w, REC_BLOCK_DATA) : 0;
}

int recw_finish(struct rec_writer *w, const struct rec_stats *final, uint64_t end_mono_ns, uint64_t end_wall_ns)
{
	struct rec_record r = { .kind = REC_STATS };
	int e = recw_flush(w);

	if (e)
		return e;
	r.stats = *final;
	recw_add(w, &r);
	memset(&r, 0, sizeof(r));
	r.kind = REC_END;
	r.end.end_mono_ns = end_mono_ns;
	r.end.end_wall_ns = end_wall_ns;
	r.end.blocks = w->blocks;
	r.end.records = w->records;
	r.end.events = w->events;
	recw_add(w, &r);
	e = write_block(w, REC_BLOCK_TRAILER);
	if (!e && fsync(w->fd) && errno != EINVAL && errno != EROFS)
		e = -errno;
	return e;
}

uint64_t recw_bytes_written(const struct rec_writer *w)
{
	return w->bytes;
}

uint64_t recw_events_written(const struct rec_writer *w)
{
	return w->events;
}

void recw_free(struct rec_writer *w)
{
	if (!w)
		return;
	free(w->raw.p);
	free(w->out.p);
	free(w);
}

/* --- reader --- */

struct rec_reader {
	FILE *f;
	struct rec_header h;
	uint64_t off;			/* end of the last complete block */
	struct buf comp, raw;
	size_t pos;			/* next record in raw */
	uint32_t left;			/* records left in the current block */
	struct codec codec;
	uint16_t block_kind;
	uint64_t blocks, records, events, last_ts;
	struct rec_end end;
	bool have_end, done;
	enum rec_status final;
	uint64_t max_blocks;		/* 0: no limit */
	char err[512];
};

void recr_limit_blocks(struct rec_reader *r, uint64_t blocks)
{
	r->max_blocks = blocks;
}

static size_t read_n(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f);
}

enum rec_status recr_open(struct rec_reader **out, FILE *f, char *err, size_t errlen)
{
	uint8_t fixed[16], c[4];
	struct rec_reader *r;
	uint32_t len, sum;
	uint8_t *body;
	size_t n;

	*out = NULL;
	n = read_n(f, fixed, sizeof(fixed));
	if (ferror(f)) {
		snprintf(err, errlen, "read error: %s", strerror(errno));
		return REC_ERR_IO;
	}
	if (n == 0) {
		snprintf(err, errlen, "the file is empty: not a dirtytop recording");
		return REC_ERR_FOREIGN;
	}
	if (memcmp(fixed, REC_MAGIC, n < REC_MAGIC_LEN ? n : REC_MAGIC_LEN)) {
		snprintf(err, errlen, "not a dirtytop recording (no \"\\x89DTR\" signature at the start; "
			 "record one with `dirtytop record -o FILE`)");
		return REC_ERR_FOREIGN;
	}
	if (n < sizeof(fixed)) {
		snprintf(err, errlen, "the file is truncated inside its header (%zu bytes): nothing was recorded", n);
		return REC_ERR_CORRUPT;
	}
	if (rd16(fixed + 8) < REC_OLDEST_MAJOR || rd16(fixed + 8) > REC_VERSION_MAJOR) {
		snprintf(err, errlen, "this recording has format version %u.%u; this dirtytop reads versions %u.x to %u.x%s",
			 rd16(fixed + 8), rd16(fixed + 10), REC_OLDEST_MAJOR, REC_VERSION_MAJOR,
			 rd16(fixed + 8) > REC_VERSION_MAJOR ? ": it was written by a newer dirtytop, upgrade to read it"
							     : "");
		return REC_ERR_VERSION;
	}
	len = rd32(fixed + 12);
	if (len > REC_MAX_HEADER) {
		snprintf(err, errlen, "corrupt header: length %u is larger than %u", len, REC_MAX_HEADER);
		return REC_ERR_CORRUPT;
	}
	body = malloc(len + 1);
	if (!body)
		abort();
	n = read_n(f, body, len);
	if (n < len || read_n(f, c, 4) < 4) {
		free(body);
		snprintf(err, errlen, "the file is truncated inside its header: nothing was recorded");
		return REC_ERR_CORRUPT;
	}
	sum = (uint32_t)crc32(crc32(crc32(0L, Z_NULL, 0), fixed + 8, 8), body, len);
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->h.major = rd16(fixed + 8);
	r->h.minor = rd16(fixed + 10);
	if (!CRC_OK(sum, rd32(c)) || !decode_header_body(&r->h, body, len)) {
		free(body);
		free(r);
		snprintf(err, errlen, "corrupt header: checksum mismatch");
		return REC_ERR_CORRUPT;
	}
	free(body);
	r->f = f;
	r->off = sizeof(fixed) + len + 4;
	*out = r;
	return REC_OK;
}

const struct rec_header *recr_header(const struct rec_reader *r)
{
	return &r->h;
}

const char *recr_error(const struct rec_reader *r)
{
	return r->err;
}

static enum rec_status fail(struct rec_reader *r, enum rec_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum rec_status fail(struct rec_reader *r, enum rec_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->done = true;
	r->final = st;
	return st;
}

static enum rec_status truncated(struct rec_reader *r, const char *where)
{
	return fail(r, REC_END_TRUNCATED,
		    "the recording was not finalized (killed, crashed, or the file was cut): it ends %s at "
		    "byte %llu; read its %llu complete blocks (%llu events)",
		    where, (unsigned long long)r->off, (unsigned long long)r->blocks,
		    (unsigned long long)r->events);
}

/* Parse one record header at pos: kind and payload bounds. */
static bool record_at(const struct buf *raw, size_t pos, uint8_t *kind, size_t *start, size_t *len)
{
	struct dec d = { .p = raw->p, .n = raw->n, .pos = pos + 1 };
	uint64_t l;

	if (pos >= raw->n)
		return false;
	*kind = raw->p[pos];
	if (d.pos >= d.n)
		return false;
	l = dv(&d);
	if (d.bad || l > REC_MAX_RECORD || l > raw->n - d.pos)
		return false;
	*start = d.pos;
	*len = (size_t)l;
	return true;
}

static enum rec_status load_block(struct rec_reader *r)
{
	uint8_t h[REC_BLOCK_HDR_LEN];
	uint32_t clen, rlen, nrec, nev, seq;
	uint16_t kind;
	uLongf dlen;
	uLong slen;
	size_t n, pos, cnt_rec = 0, cnt_ev = 0;
	struct codec codec;
	struct rec_record tmp;

	if (r->max_blocks && r->blocks >= r->max_blocks)
		return fail(r, REC_END_TRUNCATED, "stopped after %llu blocks, where the first reading stopped "
			    "(the file grew while it was read)", (unsigned long long)r->blocks);
	n = read_n(r->f, h, sizeof(h));
	if (ferror(r->f))
		return fail(r, REC_ERR_IO, "read error at byte %llu: %s", (unsigned long long)r->off,
			    strerror(errno));
	if (n == 0)
		return truncated(r, r->blocks ? "after a complete block, without its trailer," : "right after its header");
	if (n < sizeof(h))
		return truncated(r, "inside a block header");
	if (rd32(h) != REC_BLOCK_MAGIC)
		return fail(r, REC_ERR_CORRUPT, "corrupt file: no block at byte %llu (bad block signature)",
			    (unsigned long long)r->off);
	if (!CRC_OK(crc(h, 52), rd32(h + 52)))
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block %llu at byte %llu: header checksum mismatch",
			    (unsigned long long)r->blocks, (unsigned long long)r->off);
	kind = rd16(h + 4);
	seq = rd32(h + 8);
	clen = rd32(h + 12);
	rlen = rd32(h + 16);
	nrec = rd32(h + 20);
	nev = rd32(h + 24);
	if (kind != REC_BLOCK_DATA && kind != REC_BLOCK_TRAILER)
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block at byte %llu has unknown kind %u",
			    (unsigned long long)r->off, kind);
	if (seq != r->blocks)
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block at byte %llu is number %u, expected %llu",
			    (unsigned long long)r->off, seq, (unsigned long long)r->blocks);
	if (rlen > REC_MAX_RAW || clen == 0 || clen > compressBound(rlen) || nrec > rlen / 2 || nev > nrec)
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block %u at byte %llu has impossible lengths "
			    "(%u compressed, %u raw, %u records)", seq, (unsigned long long)r->off, clen, rlen, nrec);
	r->comp.n = 0;
	buf_reserve(&r->comp, clen);
	n = read_n(r->f, r->comp.p, clen);
	if (ferror(r->f))
		return fail(r, REC_ERR_IO, "read error: %s", strerror(errno));
	if (n < clen)
		return truncated(r, "inside a block");
	if (!CRC_OK(crc(r->comp.p, clen), rd32(h + 28)))
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block %u at byte %llu: payload checksum mismatch",
			    seq, (unsigned long long)r->off);
	r->raw.n = 0;
	buf_reserve(&r->raw, rlen + 1);
	dlen = rlen;
	slen = clen;
	if (uncompress2(r->raw.p, &dlen, r->comp.p, &slen) != Z_OK || dlen != rlen || slen != clen)
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block %u at byte %llu does not decompress to its "
			    "stated length", seq, (unsigned long long)r->off);
	r->raw.n = rlen;

	/* every record must parse before any is yielded */
	codec_reset(&codec, rd64(h + 32));
	for (pos = 0; pos < rlen;) {
		uint8_t k;
		size_t start, len;

		if (!record_at(&r->raw, pos, &k, &start, &len) ||
		    !decode_record(k, r->raw.p + start, len, &codec, &tmp))
			return fail(r, REC_ERR_CORRUPT, "corrupt file: block %u at byte %llu: malformed record %zu",
				    seq, (unsigned long long)r->off, cnt_rec);
		if (k == REC_END && kind != REC_BLOCK_TRAILER)
			return fail(r, REC_ERR_CORRUPT, "corrupt file: end record outside the trailer");
		cnt_rec++;
		if (rec_is_event(k))
			cnt_ev++;
		pos = start + len;
	}
	if (cnt_rec != nrec || cnt_ev != nev)
		return fail(r, REC_ERR_CORRUPT, "corrupt file: block %u at byte %llu holds %zu records (%zu events), "
			    "its header says %u (%u)", seq, (unsigned long long)r->off, cnt_rec, cnt_ev, nrec, nev);

	r->off += sizeof(h) + clen;
	r->pos = 0;
	r->left = nrec;
	codec_reset(&r->codec, rd64(h + 32));
	r->block_kind = kind;
	r->blocks++;
	if (kind == REC_BLOCK_DATA) {
		r->records += nrec;
		r->events += nev;
		if (nev && rd64(h + 40) > r->last_ts)
			r->last_ts = rd64(h + 40);
	}
	return REC_OK;
}

enum rec_status recr_next(struct rec_reader *r, struct rec_record *out)
{
	for (;;) {
		if (r->left) {
			uint8_t k;
			size_t start, len;

			if (!record_at(&r->raw, r->pos, &k, &start, &len) ||
			    !decode_record(k, r->raw.p + start, len, &r->codec, out))
				return fail(r, REC_ERR_CORRUPT, "internal error: a checked record did not parse");
			r->pos = start + len;
			r->left--;
			if (k == REC_END) {
				/* the trailer's counts must be what was read */
				if (out->end.blocks != r->blocks - 1 || out->end.records != r->records ||
				    out->end.events != r->events)
					return fail(r, REC_ERR_CORRUPT, "corrupt file: the trailer counts %llu blocks, "
						    "%llu events; the file holds %llu, %llu",
						    (unsigned long long)out->end.blocks,
						    (unsigned long long)out->end.events,
						    (unsigned long long)(r->blocks - 1), (unsigned long long)r->events);
				r->end = out->end;
				r->have_end = true;
			}
			if (k > REC_LAST_KIND || (k > REC_BATCH && k < REC_RING_INFO) || k == 0)
				continue;	/* a kind this version does not know */
			return REC_OK;
		}
		if (r->done)
			return r->final;
		if (r->block_kind == REC_BLOCK_TRAILER) {
			uint8_t c;

			if (read_n(r->f, &c, 1) == 1)
				return fail(r, REC_ERR_CORRUPT, "corrupt file: data after the trailer at byte %llu",
					    (unsigned long long)r->off);
			r->done = true;
			r->final = REC_END_CLEAN;
			return REC_END_CLEAN;
		}
		if (load_block(r) != REC_OK)
			return r->final;
	}
}

uint64_t recr_blocks(const struct rec_reader *r)
{
	return r->blocks;
}

uint64_t recr_events(const struct rec_reader *r)
{
	return r->events;
}

uint64_t recr_offset(const struct rec_reader *r)
{
	return r->off;
}

uint64_t recr_last_ts(const struct rec_reader *r)
{
	return r->last_ts;
}

const struct rec_end *recr_end(const struct rec_reader *r)
{
	return r->have_end ? &r->end : NULL;
}

void recr_free(struct rec_reader *r)
{
	if (!r)
		return;
	free(r->comp.p);
	free(r->raw.p);
	free(r);
}
