// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The recorder (kernel/recorder.h): load record.bpf.c, its ring buffer into a recording. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include "dt_flags.h"
#include <bpf/libbpf.h>
#include "dt_live.h"
#include "dt_events.h"
#include "core/version.h"
#include "core/util.h"
#include "kernel/features.h"
#include "kernel/recorder.h"
#include "sys/procinfo.h"
#include "record.skel.h"

#define MAX_BLOCK_BYTES (8u << 20)
#define POLL_MS 10

/* The file's event kinds are the BPF side's event types: the lost counters are indexed by both. */
#define SAME_KIND(rec, ev) ((int)(rec) == (int)(ev))
_Static_assert(SAME_KIND(REC_PUSH, DT_EV_PUSH) && SAME_KIND(REC_RESET, DT_EV_RESET) &&
	       SAME_KIND(REC_FULL, DT_EV_FULL) && SAME_KIND(REC_UEXIT, DT_EV_UEXIT) &&
	       SAME_KIND(REC_IOCTL, DT_EV_IOCTL) && SAME_KIND(REC_MEMSLOT, DT_EV_MEMSLOT) &&
	       SAME_KIND(REC_TID, DT_EV_TID) && SAME_KIND(REC_DIRTYLOG, DT_EV_DIRTYLOG) &&
	       SAME_KIND(REC_REENTRY, DT_EV_REENTRY) && SAME_KIND(REC_BATCH, DT_EV_BATCH) &&
	       REC_BATCH_MAX == DT_PUSH_BATCH, "recfile kinds and record.bpf.c event types differ");
_Static_assert(SAME_KIND(REC_EVENT_KINDS, DT_EV_NTYPES), "lost counters of the file and of the BPF side differ");

struct known_ring {
	bool known;
	uint32_t named_tid;		/* the thread whose name was written */
	struct dt_rec_ring_meta m;
};

struct known_vm {
	bool known;
	bool exited;			/* its DT_VM_EXITED info is written */
	struct dt_rec_vm_meta m;
};

/* Which kind's counters a program's skipped runs (recursion misses) count in. */
struct prog_kind {
	struct bpf_program *prog;
	enum rec_kind kind;
};

struct recorder {
	struct recorder_opts o;
	struct record_bpf *skel;
	struct ring_buffer *rb;
	struct rec_writer *w;
	struct rec_header hdr;
	enum hook_mode mode;
	struct prog_kind progs[10];
	size_t n_progs;
	int ring_meta_fd, vm_meta_fd, counters_fd;
	int ncpus;
	struct known_ring *rings;	/* indexed by id */
	size_t n_rings;
	struct known_vm *vms;
	size_t n_vms;
	uint32_t block_events;
	uint64_t last_flush_ns, last_block_ns;
	struct rec_stats stats;		/* the latest written */
	uint64_t received[REC_EVENT_KINDS];
	int write_error;		/* -errno of the first failed write */
	uint64_t meta_refresh_for;	/* lost TID+FULL count the ring metadata was refreshed for */
};

#define MAX_TRACKED_ID (1u << 24)

static void add(struct recorder *rc, const struct rec_record *r)
{
	recw_add(rc->w, r);
}

static void read_comm(uint32_t tgid, char *out, size_t len)
{
	char path[64];
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static void write_vm_info(struct recorder *rc, const struct dt_rec_vm_meta *m)
{
	struct rec_record r = { .kind = REC_VM_INFO };

	r.vm.id = m->id;
	r.vm.tgid = m->tgid;
	r.vm.fd = m->fd;
	r.vm.ring_bytes = m->ring_bytes;
	r.vm.flags = m->flags;
	r.vm.first_seen_ns = m->first_seen_ns;
	r.vm.created_ns = m->created_ns;
	read_comm(m->tgid, r.vm.comm, sizeof(r.vm.comm));
	add(rc, &r);
}

static void write_ring_info(struct recorder *rc, const struct dt_rec_ring_meta *m)
{
	struct rec_record r = { .kind = REC_RING_INFO };

	r.ring.id = m->id;
	r.ring.vm_id = m->vm_id;
	r.ring.tgid = m->tgid;
	r.ring.tid = m->tid;
	r.ring.vcpu_id = m->vcpu_id;
	r.ring.ring_size = m->ring_size;
	r.ring.soft_limit = m->soft_limit;
	r.ring.dirty_index = m->dirty_index;
	r.ring.reset_index = m->reset_index;
	r.ring.flags = m->flags;
	r.ring.first_seen_ns = m->first_seen_ns;
	r.ring.created_ns = m->created_ns;
	add(rc, &r);
}

/* The VM's name, uuid, cgroup as /proc says when the recorder first sees it (format 1.1). */
static void write_vm_identity(struct recorder *rc, uint32_t id, uint32_t tgid)
{
	struct rec_record r = { .kind = REC_VM_IDENTITY };

	r.ident.id = id;
	if (procinfo_identity(tgid, &r.ident.ident))
		add(rc, &r);
}

static void write_thread_name(struct recorder *rc, uint32_t id);

static bool grow(void **arr, size_t *n, size_t want, size_t elem)
{
	size_t c;
	void *p;

	if (want < *n)
		return true;
	if (want >= MAX_TRACKED_ID)
		return false;
	for (c = *n ? *n : 64; c <= want; c *= 2)
		;
	p = realloc(*arr, c * elem);
	if (!p)
		abort();
	memset((char *)p + *n * elem, 0, (c - *n) * elem);
	*arr = p;
	*n = c;
	return true;
}

/* Describe VM id in the file before its first event. */
static void ensure_vm(struct recorder *rc, uint32_t id)
{
	struct known_vm *k;

	if (!id || !grow((void **)&rc->vms, &rc->n_vms, id, sizeof(*rc->vms)))
		return;
	k = &rc->vms[id];
	if (k->known)
		return;
	k->known = true;
	if (bpf_map_lookup_elem(rc->vm_meta_fd, &id, &k->m))
		return;	/* cannot happen: the BPF side writes it first; the report shows a placeholder */
	write_vm_info(rc, &k->m);
	write_vm_identity(rc, id, k->m.tgid);
}

size_t recorder_vmm_pids(const struct recorder *r, uint32_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_vms && n < max; i++) {
		size_t k;

		if (!r->vms[i].known || !r->vms[i].m.tgid)
			continue;
		for (k = 0; k < n && out[k] != r->vms[i].m.tgid; k++)
			;
		if (k == n)
			out[n++] = r->vms[i].m.tgid;
	}
	return n;
}

void recorder_add_traffic(struct recorder *r, uint32_t tgid, uint64_t ts, uint64_t bytes)
{
	struct rec_record rec = { .kind = REC_TRAFFIC, .traffic = { .ts = ts, .tgid = tgid, .bytes_acked = bytes } };

	add(r, &rec);
}

void recorder_vmm_exited(struct recorder *r, uint32_t tgid)
{
	for (size_t i = 0; i < r->n_vms; i++) {
		struct known_vm *k = &r->vms[i];
		struct dt_rec_vm_meta m;

		if (!k->known || k->exited || k->m.tgid != tgid)
			continue;
		k->exited = true;
		m = k->m;
		m.flags |= DT_VM_EXITED;
		write_vm_info(r, &m);
	}
}

static void ensure_ring(struct recorder *rc, uint32_t id)
{
	struct known_ring *k;

	if (!id || !grow((void **)&rc->rings, &rc->n_rings, id, sizeof(*rc->rings)))
		return;
	k = &rc->rings[id];
	if (k->known)
		return;
	k->known = true;
	if (bpf_map_lookup_elem(rc->ring_meta_fd, &id, &k->m))
		return;
	ensure_vm(rc, k->m.vm_id);
	write_ring_info(rc, &k->m);
	write_thread_name(rc, id);
}

/* A vCPU thread's own name ("CPU 0/KVM"), once per thread, when it has one. */
static void write_thread_name(struct recorder *rc, uint32_t id)
{
	struct known_ring *k = &rc->rings[id];
	struct rec_record r = { .kind = REC_THREAD_NAME };

	if (!k->m.tid || k->named_tid == k->m.tid)
		return;
	k->named_tid = k->m.tid;
	procinfo_thread_name(k->m.tgid, k->m.tid, r.thread.name, sizeof(r.thread.name));
	if (!r.thread.name[0])
		return;
	r.thread.id = id;
	r.thread.tid = k->m.tid;
	add(rc, &r);
}

/* Metadata that changed after it was written (events that carried the change were lost). */
static void refresh_meta(struct recorder *rc, bool rings)
{
	for (uint32_t id = 1; id < rc->n_vms; id++) {
		struct known_vm *k = &rc->vms[id];
		struct dt_rec_vm_meta m;

		if (!k->known || bpf_map_lookup_elem(rc->vm_meta_fd, &id, &m))
			continue;
		if (memcmp(&m, &k->m, sizeof(m))) {
			k->m = m;
			write_vm_info(rc, &m);
		}
	}
	for (uint32_t id = 1; rings && id < rc->n_rings; id++) {
		struct known_ring *k = &rc->rings[id];
		struct dt_rec_ring_meta m;

		if (!k->known || bpf_map_lookup_elem(rc->ring_meta_fd, &id, &m))
			continue;
		if (memcmp(&m, &k->m, sizeof(m))) {
			k->m = m;
			write_ring_info(rc, &m);
			write_thread_name(rc, id);
		}
	}
}

static void read_stats(struct recorder *rc, struct rec_stats *s)
{
	struct dt_rec_counters *per = calloc((size_t)rc->ncpus, sizeof(*per));
	__u32 zero = 0;

	if (!per)
		abort();
	memset(s, 0, sizeof(*s));
	s->ts = dt_mono_ns();
	if (!bpf_map_lookup_elem(rc->counters_fd, &zero, per)) {
		for (int c = 0; c < rc->ncpus; c++)
			for (int i = 0; i < REC_EVENT_KINDS && i < DT_EV_NTYPES; i++) {
				s->lost[i] += per[c].lost[i];
				s->untracked[i] += per[c].untracked[i];
			}
	}
	free(per);
	/* runs the kernel skipped (a BPF program already running on that CPU) */
	for (size_t i = 0; i < rc->n_progs; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(rc->progs[i].prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		s->missed[rc->progs[i].kind] += info.recursion_misses;
	}
}

static bool stats_changed(const struct rec_stats *a, const struct rec_stats *b)
{
	return memcmp(a->lost, b->lost, sizeof(a->lost)) || memcmp(a->untracked, b->untracked, sizeof(a->untracked)) ||
	       memcmp(a->missed, b->missed, sizeof(a->missed));
}

/* End the current block with the counters as they are now. */
static void flush(struct recorder *rc, bool force)
{
	struct rec_record r = { .kind = REC_STATS };
	uint64_t now = dt_mono_ns(), lost_meta;
	int e;

	read_stats(rc, &r.stats);
	lost_meta = r.stats.lost[REC_TID] + r.stats.lost[REC_FULL];
	if (lost_meta != rc->meta_refresh_for) {
		refresh_meta(rc, true);
		rc->meta_refresh_for = lost_meta;
	} else {
		refresh_meta(rc, false);
	}
	rc->last_flush_ns = now;
	if (!recw_block_records(rc->w) && !stats_changed(&r.stats, &rc->stats) &&
	    !force && now - rc->last_block_ns < 10000000000ull)
		return;	/* idle: a heartbeat block every 10 s is enough */
	add(rc, &r);
	rc->stats = r.stats;
	e = recw_flush(rc->w);
	if (e && !rc->write_error)
		rc->write_error = e;
	rc->last_block_ns = now;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct recorder *rc = ctx;
	const struct dt_ev_hdr *h = data;
	struct rec_record r = {};
	struct rec_event *e = &r.ev;

	if (size < sizeof(*h) || !h->type || h->type >= REC_EVENT_KINDS)
		return 0;
	r.kind = h->type;
	e->ts = h->ts;
	e->id = h->id;
	switch (h->type) {
	case DT_EV_PUSH: {
		const struct dt_ev_push *p = data;

		if (size < sizeof(*p))
			return 0;
		ensure_ring(rc, h->id);
		e->slot = (uint32_t)h->as_id << 16 | h->slot;
		e->dirty_index = p->dirty_index;
		e->reset_index = p->reset_index;
		e->offset = p->offset;
		break;
	}
	case DT_EV_BATCH: {
		const struct dt_ev_batch *p = data;
		struct rec_batch *b = &r.batch;

		if (size < sizeof(*p) || p->n > DT_PUSH_BATCH || p->lo + p->n > DT_PUSH_BATCH)
			return 0;
		ensure_ring(rc, h->id);
		b->first_ts = p->first_ns;
		b->dirty_index = p->dirty_index;
		b->reset_index = p->reset_index;
		b->n = p->n;
		for (uint32_t i = 0; i < p->n; i++) {
			b->e[i].slot = p->e[p->lo + i].slot;
			b->e[i].offset = p->e[p->lo + i].offset;
		}
		break;
	}
	case DT_EV_RESET: {
		const struct dt_ev_reset *p = data;

		if (size < sizeof(*p))
			return 0;
		ensure_ring(rc, h->id);
		e->dirty_index = p->dirty_index;
		e->reset_index = p->reset_index;
		break;
	}
	case DT_EV_FULL:
	case DT_EV_UEXIT:
	case DT_EV_TID:
	case DT_EV_REENTRY: {
		const struct dt_ev_tid *p = data;

		if (size < sizeof(*p))
			return 0;
		ensure_ring(rc, h->id);
		e->tid = p->tid;
		e->arg = p->arg;
		if ((h->type == DT_EV_FULL || h->type == DT_EV_TID) && h->id < rc->n_rings) {
			rc->rings[h->id].m.tid = p->tid;	/* the map has it too: no refresh needed */
			write_thread_name(rc, h->id);
		}
		break;
	}
	case DT_EV_DIRTYLOG: {
		const struct dt_ev_region *p = data;

		if (size < sizeof(*p))
			return 0;
		ensure_vm(rc, h->id);
		e->slot = (uint32_t)h->as_id << 16 | h->slot;
		e->offset = p->region;
		e->size = p->pages;
		break;
	}
	case DT_EV_IOCTL:
	case DT_EV_MEMSLOT: {
		const struct dt_ev_ioctl *p = data;

		if (size < sizeof(*p))
			return 0;
		ensure_vm(rc, h->id);
		if (p->cmd == DT_KVM_CREATE_VM)
			ensure_vm(rc, p->target);
		else if (p->cmd == DT_KVM_CREATE_VCPU)
			ensure_ring(rc, p->target);
		e->tid = p->tid;
		e->cmd = p->cmd;
		e->target = p->target;
		e->ret = p->ret;
		e->latency_ns = p->latency_ns;
		e->slot = p->slot;
		e->flags = p->flags;
		e->gpa = p->gpa;
		e->size = p->size;
		if (p->cmd == DT_KVM_ENABLE_CAP && h->id < rc->n_vms && rc->vms[h->id].known &&
		    p->ret >= 0) {
			/* mirror what the BPF side did to vm_meta, so the refresh does not repeat it */
			struct dt_rec_vm_meta *m = &rc->vms[h->id].m;

			m->flags |= DT_VM_RING | (p->flags == DT_KVM_CAP_DIRTY_LOG_RING_ACQ_REL ? DT_VM_RING_ACQ_REL : 0);
			m->ring_bytes = (uint32_t)p->gpa;
		}
		break;
	}
	default:
		return 0;
	}
	add(rc, &r);
	rc->received[h->type]++;
	if (recw_block_events(rc->w) >= rc->block_events || recw_block_bytes(rc->w) >= MAX_BLOCK_BYTES)
		flush(rc, true);
	return 0;
}

static void read_line_file(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static uint32_t kvm_max_ring_bytes(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return 0;
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
	close(fd);
	return r > 0 ? (uint32_t)r : 0;
}


/* loader_load_fn: the record object for one hook mode, into r->skel */
static int open_and_load(void *ctx, enum hook_mode mode)
{
	struct recorder *r = ctx;
	struct record_bpf *skel = record_bpf__open();
	int e;

	if (!skel)
		return -errno;
	loader_select_hooks(&(struct loader_hooks){
		.btf = { skel->progs.push_btf, skel->progs.reset_btf, skel->progs.exit_btf },
		.raw = { skel->progs.push_raw, skel->progs.reset_raw, skel->progs.exit_raw },
	}, mode);
	skel->bss->filter_tgid = r->o.tgid;
	skel->rodata->events_mask = r->o.events_mask;
	skel->rodata->wakeup_bytes = r->o.ringbuf_bytes / 8;
	skel->rodata->use_bpf_loop = features_bpf_loop();
	bpf_map__set_max_entries(skel->maps.rb, (__u32)r->o.ringbuf_bytes);
	e = record_bpf__load(skel);
	if (e) {
		record_bpf__destroy(skel);
		return e;
	}
	r->skel = skel;
	return 0;
}

/* Each program and the kind its skipped runs are counted in. */
static void classify_programs(struct recorder *r)
{
	const struct prog_kind kinds[] = {
		{ r->skel->progs.push_btf, REC_PUSH }, { r->skel->progs.push_raw, REC_PUSH },
		{ r->skel->progs.reset_btf, REC_RESET }, { r->skel->progs.reset_raw, REC_RESET },
		{ r->skel->progs.exit_btf, REC_FULL }, { r->skel->progs.exit_raw, REC_FULL },
		{ r->skel->progs.userspace_exit, REC_UEXIT },
		{ r->skel->progs.ioctl_enter, REC_IOCTL }, { r->skel->progs.ioctl_exit, REC_IOCTL },
	};
	_Static_assert(sizeof(kinds) / sizeof(kinds[0]) <= sizeof(r->progs) / sizeof(r->progs[0]),
		       "recorder.progs is too small");

	memcpy(r->progs, kinds, sizeof(kinds));
	r->n_progs = sizeof(kinds) / sizeof(kinds[0]);
}

int recorder_open(struct recorder **out, const struct recorder_opts *o, char *err, size_t errlen)
{
	struct recorder *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		abort();
	r->o = *o;
	r->o.events_mask |= DT_EVM(DT_EV_TID);	/* which thread runs a vCPU: always */
	if (r->o.events_mask & DT_EVM(DT_EV_PUSH))
		r->o.events_mask |= DT_EVM(DT_EV_BATCH);	/* pushes are streamed in batches */
	rc = loader_load(o->hooks, o->verbose, open_and_load, r, &r->mode, err, errlen);
	if (rc) {
		free(r);
		return rc;
	}
	if (o->follow)
		r->skel->bss->filter_tgid = UINT32_MAX;	/* nobody, until COMMAND's pid is known */
	classify_programs(r);
	r->ring_meta_fd = bpf_map__fd(r->skel->maps.ring_meta);
	r->vm_meta_fd = bpf_map__fd(r->skel->maps.vm_meta);
	r->counters_fd = bpf_map__fd(r->skel->maps.counters);
	r->ncpus = libbpf_num_possible_cpus();
	r->block_events = o->block_events;
	if (r->ncpus < 1) {
		snprintf(err, errlen, "cannot count the CPUs");
		recorder_close(r);
		return EXIT_RUNTIME;
	}
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.rb), on_event, r, NULL);
	if (!r->rb) {
		snprintf(err, errlen, "cannot open the BPF ring buffer: %s", strerror(errno));
		recorder_close(r);
		return EXIT_RUNTIME;
	}
	*out = r;
	return 0;
}

const char *recorder_hook_name(const struct recorder *r)
{
	return hook_mode_name(r->mode);
}

int recorder_attach(struct recorder *r, char *err, size_t errlen)
{
	int e;

	/* before attaching: every event is later than the start */
	r->hdr.start_wall_ns = dt_clock_ns(CLOCK_REALTIME);
	r->hdr.start_mono_ns = dt_mono_ns();
	e = record_bpf__attach(r->skel);
	if (e) {
		snprintf(err, errlen, "attaching the BPF programs failed: %s", strerror(-e));
		return EXIT_KERNEL;
	}
	return 0;
}

void recorder_follow(struct recorder *r, uint32_t pid)
{
	__atomic_store_n(&r->skel->bss->filter_tgid, pid, __ATOMIC_SEQ_CST);
	r->o.tgid = pid;
}

/* What is recorded, where, with what. */
static void fill_header(struct recorder *r, const char *cmdline)
{
	struct rec_header *h = &r->hdr;
	struct utsname un;

	h->major = REC_VERSION_MAJOR;
	h->minor = REC_VERSION_MINOR;
	h->events_mask = r->o.events_mask;
	if (!uname(&un)) {
		snprintf(h->kernel, sizeof(h->kernel), "%s", un.release);
		snprintf(h->machine, sizeof(h->machine), "%s", un.machine);
		snprintf(h->hostname, sizeof(h->hostname), "%s", un.nodename);
	}
	read_line_file("/proc/sys/kernel/random/boot_id", h->boot_id, sizeof(h->boot_id));
	snprintf(h->hooks, sizeof(h->hooks), "%s", recorder_hook_name(r));
	snprintf(h->version, sizeof(h->version), "%s", DIRTYTOP_VERSION);
	snprintf(h->cmdline, sizeof(h->cmdline), "%s", cmdline);
	h->pid_filter = r->o.tgid;
	h->ringbuf_bytes = r->o.ringbuf_bytes;
	h->kvm_max_ring_bytes = kvm_max_ring_bytes();
	h->block_events = r->block_events;
}

int recorder_begin(struct recorder *r, int fd, const char *cmdline, char *err, size_t errlen)
{
	fill_header(r, cmdline);
	if (recw_create(&r->w, fd, &r->hdr, r->o.level, err, errlen))
		return -1;
	r->last_flush_ns = r->last_block_ns = dt_mono_ns();
	return 0;
}

int recorder_poll(struct recorder *r)
{
	/* events come without wakeups unless the buffer fills: poll for them */
	int n = ring_buffer__poll(r->rb, POLL_MS);

	if (n >= 0)
		n = ring_buffer__consume(r->rb);
	if (n < 0 && n != -EINTR)
		return n;
	if (dt_mono_ns() - r->last_flush_ns >= 1000000000ull)
		flush(r, false);
	return r->write_error;
}

bool recorder_write_failed(const struct recorder *r)
{
	return r->write_error != 0;
}

int recorder_finish(struct recorder *r, struct recorder_result *res)
{
	uint64_t end_wall;
	int e;

	/* no new events, then everything the kernel did deliver */
	record_bpf__detach(r->skel);
	ring_buffer__consume(r->rb);
	usleep(20000);		/* programs that were running when we detached */
	ring_buffer__consume(r->rb);
	memset(res, 0, sizeof(*res));
	res->start_mono_ns = r->hdr.start_mono_ns;
	res->end_mono_ns = dt_mono_ns();
	end_wall = dt_clock_ns(CLOCK_REALTIME);
	flush(r, false);
	refresh_meta(r, true);
	read_stats(r, &res->final);
	e = r->write_error ? r->write_error : recw_finish(r->w, &res->final, res->end_mono_ns, end_wall);
	for (int i = 1; i < REC_EVENT_KINDS; i++)
		res->events += r->received[i];
	res->bytes = recw_bytes_written(r->w);
	return e;
}

void recorder_close(struct recorder *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	recw_free(r->w);
	record_bpf__destroy(r->skel);
	free(r->rings);
	free(r->vms);
	free(r);
}
