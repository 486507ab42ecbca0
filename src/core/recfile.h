/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The recording file format (docs/recording.md): writer and reader. Pure C
 * (zlib, stdio), no BPF: unit tests and the fuzzer link it directly.
 *
 *   file    = header block* [trailer]
 *   header  = magic "\x89DTR\r\n\x1a\n", u16 major, u16 minor, u32 len, TLV fields, u32 crc32
 *   block   = 56-byte block header (length, counts, CRC32s) + zlib payload of records
 *   record  = u8 kind, varint length, fields as varints
 *
 * The reader validates every length and checksum and yields the records of a
 * block only once the whole block proved intact, so a file cut anywhere
 * reads as its complete blocks, then REC_END_TRUNCATED.
 */
#ifndef DT_SRC_RECFILE_H
#define DT_SRC_RECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/vm_identity.h"

#define REC_MAGIC "\x89" "DTR\r\n\x1a\n"
#define REC_MAGIC_LEN 8
#define REC_VERSION_MAJOR 2		/* 2.0: pushes in batches (REC_BATCH); 1.x: one PUSH per push */
#define REC_VERSION_MINOR 0		/* 2.0 has 1.1's TRAFFIC, VM identity and thread name records */
#define REC_OLDEST_MAJOR 1		/* the oldest major version still read */

#define REC_BLOCK_MAGIC 0x4b4c4244u	/* "DBLK" little-endian */
#define REC_BLOCK_HDR_LEN 56
#define REC_BLOCK_DATA 1
#define REC_BLOCK_TRAILER 2
#define REC_MAX_RAW (16u << 20)		/* uncompressed payload of one block */
#define REC_MAX_HEADER (64u << 10)
#define REC_MAX_RECORD 4096u

/* Record kinds. 1..15 are events (the numbers of enum dt_ev_type). */
enum rec_kind {
	REC_PUSH = 1,
	REC_RESET = 2,
	REC_FULL = 3,
	REC_UEXIT = 4,
	REC_IOCTL = 5,
	REC_MEMSLOT = 6,
	REC_TID = 7,
	REC_DIRTYLOG = 8,		/* dirty pages of one 2 MiB region of a KVM_GET_DIRTY_LOG bitmap */
	REC_REENTRY = 9,		/* the first KVM_RUN of a vCPU thread after a soft-full exit */
	REC_BATCH = 10,			/* pushes read back from a ring at a batch boundary (2.0) */
	REC_EVENT_KINDS = 16,		/* lost counters are indexed by kind < this */
	REC_LAST_EVENT = 15,
	REC_RING_INFO = 16,
	REC_VM_INFO = 17,
	REC_STATS = 18,
	REC_END = 19,
	REC_TRAFFIC = 20,		/* 1.1: a VMM's sent TCP bytes (its migration stream) */
	REC_VM_IDENTITY = 21,		/* 1.1: a VM's name, uuid, cgroup, pod (once, when first seen) */
	REC_THREAD_NAME = 22,		/* 1.1: a vCPU thread's own name */
	REC_LAST_KIND = 22,
};

struct rec_header {
	uint16_t major, minor;
	uint32_t events_mask;		/* 1 << kind of each recorded event kind */
	uint64_t start_wall_ns;		/* CLOCK_REALTIME at start */
	uint64_t start_mono_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) at start */
	char kernel[65];		/* uname -r */
	char machine[65];		/* uname -m */
	char hostname[65];
	char hooks[16];			/* tp_btf or raw_tp */
	char version[32];		/* dirtytop version */
	char boot_id[40];
	char cmdline[512];		/* what was recorded (-- COMMAND), if any */
	uint32_t pid_filter;		/* 0: every process */
	uint64_t ringbuf_bytes;		/* BPF ring buffer size */
	uint32_t kvm_max_ring_bytes;	/* KVM_CAP_DIRTY_LOG_RING: per-vCPU ring size limit, 0 unknown */
	uint32_t block_events;		/* writer flushes after this many events (or 1 s) */
};

/* One event. Fields a kind does not use are 0. */
struct rec_event {
	uint64_t ts;			/* CLOCK_MONOTONIC ns */
	uint32_t id;			/* ring id (PUSH RESET FULL UEXIT TID) or VM id (IOCTL MEMSLOT) */
	uint32_t slot;			/* PUSH, MEMSLOT, dirty log: as_id << 16 | slot id */
	uint32_t dirty_index, reset_index;	/* PUSH (after the push), RESET (after the reset) */
	uint64_t offset;		/* PUSH: page offset in the memslot; DIRTYLOG: region (512 pages) */
	uint32_t tid;			/* FULL UEXIT TID REENTRY IOCTL MEMSLOT */
	uint32_t arg;			/* UEXIT: exit reason */
	uint32_t cmd, target, flags;	/* IOCTL MEMSLOT */
	int64_t ret;
	uint64_t latency_ns, gpa, size;	/* size: GET_DIRTY_LOG: dirty pages (flags & 1: counted); DIRTYLOG: pages */
};

/*
 * BATCH: the pushes of ring indices dirty_index - n .. dirty_index - 1 of
 * ring id, in order. They happened between first_ts and ts (when they were
 * read back); rec_batch_push() gives each as a PUSH event. ts and id are
 * where struct rec_event has them (recw_add and the reader use them).
 */
#define REC_BATCH_MAX 64
struct rec_batch {
	uint64_t ts;
	uint32_t id;
	uint32_t n;
	uint32_t dirty_index, reset_index;	/* after the last push; the ring's at the read */
	uint64_t first_ts;
	struct {
		uint32_t slot;			/* as_id << 16 | slot id */
		uint64_t offset;		/* page offset in the memslot */
	} e[REC_BATCH_MAX];
};

struct rec_ring_info {			/* a vCPU's dirty ring, as first seen (and updates) */
	uint32_t id, vm_id, tgid, tid;
	int32_t vcpu_id;
	uint32_t ring_size, soft_limit, dirty_index, reset_index, flags;
	uint64_t first_seen_ns, created_ns;
};

struct rec_vm_info {
	uint32_t id, tgid;
	int32_t fd;
	uint32_t ring_bytes, flags;
	uint64_t first_seen_ns, created_ns;
	char comm[16];
};

struct rec_vm_identity {
	uint32_t id;			/* the VM id */
	struct vm_identity ident;
};

struct rec_thread_name {
	uint32_t id;			/* the ring id */
	uint32_t tid;
	char name[VM_THREAD_NAME_LEN];
};

struct rec_stats {			/* cumulative since the start of the recording */
	uint64_t ts;
	uint64_t lost[REC_EVENT_KINDS];		/* the BPF ring buffer was full */
	uint64_t untracked[REC_EVENT_KINDS];	/* no id could be given: a BPF map was full */
	uint64_t missed[REC_EVENT_KINDS];	/* the kernel skipped the BPF program (recursion) */
};

struct rec_traffic {			/* sampled about once a second per recorded VMM */
	uint64_t ts;			/* CLOCK_MONOTONIC ns */
	uint32_t tgid;
	uint64_t bytes_acked;		/* its TCP sockets' bytes acknowledged, cumulative */
};

struct rec_end {
	uint64_t end_mono_ns, end_wall_ns;
	uint64_t blocks;		/* data blocks before the trailer */
	uint64_t records, events;	/* in those blocks */
};

struct rec_record {
	uint8_t kind;
	union {
		struct rec_event ev;
		struct rec_batch batch;
		struct rec_ring_info ring;
		struct rec_vm_info vm;
		struct rec_vm_identity ident;
		struct rec_thread_name thread;
		struct rec_stats stats;
		struct rec_end end;
		struct rec_traffic traffic;
	};
};

static inline bool rec_is_event(uint8_t kind)
{
	return kind >= 1 && kind <= REC_LAST_EVENT;
}

_Static_assert(offsetof(struct rec_batch, ts) == offsetof(struct rec_event, ts) &&
	       offsetof(struct rec_batch, id) == offsetof(struct rec_event, id), "events share ts and id");

/*
 * Push i (< b->n) of a batch as a PUSH event. Its time is interpolated:
 * first_ts + (ts - first_ts) * i / n (docs/recording.md: timing in a batch).
 */
void rec_batch_push(const struct rec_batch *b, uint32_t i, struct rec_event *out);
/* Pushes an event record stands for: 1 for PUSH, n for BATCH, else 0. */
uint64_t rec_pushes(const struct rec_record *r);

const char *rec_kind_name(uint8_t kind);	/* "push", ...; NULL if not an event kind we know */
int rec_kind_from_name(const char *name);	/* -1 if unknown */

/* --- writer --- */

struct rec_writer;

/*
 * Create path for writing: never follows a symlink (O_NOFOLLOW), fails if
 * the file exists unless force, refuses what is not a regular file. On
 * failure returns -errno and writes a message for the user into err.
 */
int rec_open_output(const char *path, bool force, char *err, size_t errlen);

/* Empty fd and write the header (fd stays the caller's). level: zlib level (1 fast .. 9 small). */
int recw_create(struct rec_writer **out, int fd, const struct rec_header *h, int level, char *err,
		size_t errlen);
/* Append a record to the current block. */
void recw_add(struct rec_writer *w, const struct rec_record *r);
size_t recw_block_records(const struct rec_writer *w);
size_t recw_block_events(const struct rec_writer *w);
size_t recw_block_bytes(const struct rec_writer *w);	/* uncompressed */
/* Compress and write the current block (nothing if empty). 0 or -errno. */
int recw_flush(struct rec_writer *w);
/* Flush, then write the trailer (the final stats and the end record). 0 or -errno. */
int recw_finish(struct rec_writer *w, const struct rec_stats *final, uint64_t end_mono_ns, uint64_t end_wall_ns);
uint64_t recw_bytes_written(const struct rec_writer *w);
uint64_t recw_events_written(const struct rec_writer *w);
void recw_free(struct rec_writer *w);

/* --- reader --- */

enum rec_status {
	REC_OK = 0,		/* a record */
	REC_END_CLEAN,		/* the trailer: the recording was finalized */
	REC_END_TRUNCATED,	/* the file ends before its trailer (crash, kill, cut): all complete blocks read */
	REC_ERR_FOREIGN,	/* not a dirtytop recording */
	REC_ERR_VERSION,	/* a format version this dirtytop does not read */
	REC_ERR_CORRUPT,	/* a checksum, length or record is wrong */
	REC_ERR_IO,
};

struct rec_reader;

/* Reads the header; on an error status *out is NULL and err says why. */
enum rec_status recr_open(struct rec_reader **out, FILE *f, char *err, size_t errlen);
const struct rec_header *recr_header(const struct rec_reader *r);
/* The next record: REC_OK, or an end / error status (then recr_error says why). */
enum rec_status recr_next(struct rec_reader *r, struct rec_record *out);
const char *recr_error(const struct rec_reader *r);
/* Blocks, records and events fully read so far; the trailer's end record if seen. */
uint64_t recr_blocks(const struct rec_reader *r);
uint64_t recr_events(const struct rec_reader *r);
uint64_t recr_offset(const struct rec_reader *r);	/* end of the last complete block */
uint64_t recr_last_ts(const struct rec_reader *r);	/* largest timestamp in complete blocks */
const struct rec_end *recr_end(const struct rec_reader *r);	/* NULL before the trailer */
/* Read at most this many blocks (a second pass over a file that may still grow). */
void recr_limit_blocks(struct rec_reader *r, uint64_t blocks);
void recr_free(struct rec_reader *r);

#endif
