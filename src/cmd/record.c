// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `dirtytop record`: load bpf/record.bpf.c, stream its ring buffer into a
 * recording (src/recfile.c). Ring and VM ids from the kernel side are
 * described once, with RING_INFO / VM_INFO records written before the first
 * event that names them; kernel addresses never reach this process.
 *
 * A block is written at least every --block-events events and every second,
 * each ending with a STATS record of the lost-event counters, so a file cut
 * by a crash or SIGKILL still says what the kernel could not deliver.
 * SIGINT / SIGTERM (and the end of --duration or of COMMAND) detach, drain
 * the ring buffer, and write the trailer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/features.h"
#include "kernel/collector.h"		/* EXIT_* codes and enum hook_mode */
#include "dt_events.h"
#include "core/recfile.h"
#include "cmd/commands.h"
#include "record.skel.h"

#define DEFAULT_RINGBUF (64ull << 20)
#define DEFAULT_BLOCK_EVENTS 65536
#define MAX_BLOCK_BYTES (8u << 20)
#define POLL_MS 10

/* read_stats() and on_event() take a BPF event type as the file's record kind */
#define SAME_NUMBER(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME_NUMBER(DT_EV_NTYPES, REC_EVENT_KINDS), "one lost counter per kind");
_Static_assert(SAME_NUMBER(DT_EV_PUSH, REC_PUSH) && SAME_NUMBER(DT_EV_RESET, REC_RESET) &&
	       SAME_NUMBER(DT_EV_FULL, REC_FULL) && SAME_NUMBER(DT_EV_UEXIT, REC_UEXIT) &&
	       SAME_NUMBER(DT_EV_IOCTL, REC_IOCTL) && SAME_NUMBER(DT_EV_MEMSLOT, REC_MEMSLOT) &&
	       SAME_NUMBER(DT_EV_TID, REC_TID) && SAME_NUMBER(DT_EV_DIRTYLOG, REC_DIRTYLOG) &&
	       SAME_NUMBER(DT_EV_REENTRY, REC_REENTRY), "event types are record kinds");

static volatile sig_atomic_t g_stop, g_child_exited;
static bool g_verbose;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		g_child_exited = 1;
	else
		g_stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !g_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct known_ring {
	bool known;
	struct dt_rec_ring_meta m;
};

struct known_vm {
	bool known;
	struct dt_rec_vm_meta m;
};

struct recorder {
	struct record_bpf *skel;
	struct rec_writer *w;
	enum hook_mode mode;
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
		}
	}
}

static void read_stats(struct recorder *rc, struct rec_stats *s)
{
	struct dt_rec_counters *per = calloc((size_t)rc->ncpus, sizeof(*per));
	struct bpf_program *prog;
	__u32 zero = 0;

	if (!per)
		abort();
	memset(s, 0, sizeof(*s));
	s->ts = clock_ns(CLOCK_MONOTONIC);
	if (!bpf_map_lookup_elem(rc->counters_fd, &zero, per)) {
		for (int c = 0; c < rc->ncpus; c++)
			for (int i = 0; i < REC_EVENT_KINDS && i < DT_EV_NTYPES; i++) {
				s->lost[i] += per[c].lost[i];
				s->untracked[i] += per[c].untracked[i];
			}
	}
	free(per);
	/* runs the kernel skipped (a BPF program already running on that CPU) */
	bpf_object__for_each_program(prog, rc->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		const char *name = bpf_program__name(prog);
		int fd = bpf_program__fd(prog), kind;

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		if (!strncmp(name, "push", 4))
			kind = REC_PUSH;
		else if (!strncmp(name, "reset", 5))
			kind = REC_RESET;
		else if (!strncmp(name, "exit", 4))
			kind = REC_FULL;
		else if (!strcmp(name, "userspace_exit"))
			kind = REC_UEXIT;
		else
			kind = REC_IOCTL;
		s->missed[kind] += info.recursion_misses;
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
	uint64_t now = clock_ns(CLOCK_MONOTONIC), lost_meta;
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
		if ((h->type == DT_EV_FULL || h->type == DT_EV_TID) && h->id < rc->n_rings)
			rc->rings[h->id].m.tid = p->tid;	/* the map has it too: no refresh needed */
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

static struct record_bpf *open_and_load(enum hook_mode mode, uint32_t tgid, uint32_t mask, uint64_t rb_bytes,
					int *errout)
{
	struct record_bpf *skel = record_bpf__open();
	bool btf = mode == HOOK_BTF;
	int e;

	if (!skel) {
		*errout = -errno;
		return NULL;
	}
	bpf_program__set_autoload(skel->progs.push_btf, btf);
	bpf_program__set_autoload(skel->progs.reset_btf, btf);
	bpf_program__set_autoload(skel->progs.exit_btf, btf);
	bpf_program__set_autoload(skel->progs.push_raw, !btf);
	bpf_program__set_autoload(skel->progs.reset_raw, !btf);
	bpf_program__set_autoload(skel->progs.exit_raw, !btf);
	skel->bss->filter_tgid = tgid;
	skel->rodata->events_mask = mask;
	skel->rodata->wakeup_bytes = rb_bytes / 8;
	skel->rodata->use_bpf_loop = features_bpf_loop();
	bpf_map__set_max_entries(skel->maps.rb, (__u32)rb_bytes);
	e = record_bpf__load(skel);
	if (e) {
		*errout = e;
		record_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int parse_events(const char *s, uint32_t *mask)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (!copy)
		abort();
	*mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		if (!strcmp(tok, "all")) {
			*mask |= DT_EVM_ALL;
			continue;
		}
		k = rec_kind_from_name(tok);
		if (k < 0 || k == REC_TID) {
			fprintf(stderr, "dirtytop record: unknown event '%s' (push, reset, full, uexit, ioctl, "
				"memslot, dirtylog, reentry, all)\n", tok);
			rc = -1;
			break;
		}
		*mask |= DT_EVM(k);
	}
	free(copy);
	*mask |= DT_EVM(DT_EV_TID);	/* which thread runs a vCPU: always */
	return rc;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t mul = 1u << 20;	/* MiB by default */

	if (end == s || v <= 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1u << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1u << 20, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1u << 30, end++;
	if (*end)
		return -1;
	*out = (uint64_t)(v * (double)mul);
	if (*out < 4096 || *out > (1ull << 31) || (*out & (*out - 1)))
		return -1;
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

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dirtytop record -o FILE [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"Record KVM dirty ring events (pushes, resets, soft-full exits, KVM ioctls and\n"
		"their latencies, memslot changes) into FILE, for `dirtytop report`.\n\n"
		"  -o, --output FILE      the recording (created; never follows a symlink)\n"
		"  -f, --force            overwrite FILE if it exists\n"
		"  -d, --duration SECONDS stop after SECONDS (default: at SIGINT/SIGTERM, or when COMMAND ends)\n"
		"  -p, --pid PID          only the VMs of process PID\n"
		"  -c, --command-only     only the VMs of COMMAND's process\n"
		"  -e, --events LIST      push,reset,full,uexit,ioctl,memslot,dirtylog,reentry or all\n"
		"                         (default all)\n"
		"      --ringbuf-size N   BPF ring buffer, a power of two: 64M (default), 256K, 1G\n"
		"      --block-events N   write a block every N events (default %d) or every second\n"
		"      --level N          zlib level 1 (fast, default) .. 9 (small)\n"
		"      --hooks MODE       auto, btf (tp_btf) or raw (raw_tp) (default auto)\n"
		"  -q, --quiet            no messages but errors\n"
		"  -v, --verbose          say what is loaded and attached\n"
		"  -h, --help             this help\n\n"
		"Events the kernel could not deliver (ring buffer full) are counted and written\n"
		"into FILE. Exit status: 0 ok, 1 runtime error, 2 bad usage, 3 kernel feature\n"
		"missing, 4 insufficient privileges; with a COMMAND that fails, its exit status.\n",
		DEFAULT_BLOCK_EVENTS);
}

/*
 * Start COMMAND, held until release_command: with --command-only the BPF side
 * filters on its pid first, so none of its events is missed and no other
 * process's is kept; and the header names it.
 */
static pid_t fork_command(char **argv, const sigset_t *orig, struct record_bpf *skel, bool only, int *go_out)
{
	int go[2];
	pid_t pid;
	char c;

	if (pipe2(go, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		sigprocmask(SIG_SETMASK, orig, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "dirtytop: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	if (pid < 0) {
		close(go[1]);
		return -1;
	}
	if (only)
		__atomic_store_n(&skel->bss->filter_tgid, (__u32)pid, __ATOMIC_SEQ_CST);
	*go_out = go[1];
	return pid;
}

static void release_command(int go)
{
	if (write(go, "g", 1) < 0) {
		/* the child reads EOF and goes on all the same */
	}
	close(go);
}

int record_main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "command-only", no_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ "ringbuf-size", required_argument, NULL, 'R' },
		{ "block-events", required_argument, NULL, 'B' },
		{ "level", required_argument, NULL, 'L' },
		{ "hooks", required_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *out = NULL;
	bool force = false, quiet = false, command_only = false;
	double duration = 0;
	uint32_t tgid = 0, mask = DT_EVM_ALL;
	uint64_t rb_bytes = DEFAULT_RINGBUF;
	long block_events = DEFAULT_BLOCK_EVENTS, level = 1;
	enum hook_mode hooks = HOOK_AUTO;
	struct recorder rc = {};
	struct rec_header hdr = {};
	struct ring_buffer *rb = NULL;
	struct utsname un;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t mask_set, orig;
	pid_t child = 0;
	int child_status = 0, opt, fd, e = 0, ret = EXIT_OK, go = -1;
	uint64_t start_mono, deadline = 0, total = 0, end_mono, end_wall;
	char err[512], *end;
	bool created = false;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+o:fd:p:ce:qvh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		case 'q': quiet = true; break;
		case 'c': command_only = true; break;
		case 'v': g_verbose = true; break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || !isfinite(duration) || duration <= 0 || duration > 1e7) {
				fprintf(stderr, "dirtytop record: --duration takes seconds > 0, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p': {
			long p = strtol(optarg, &end, 10);

			if (*end || p < 1 || p > 0x7fffffff) {
				fprintf(stderr, "dirtytop record: --pid takes a process id, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			tgid = (uint32_t)p;
			break;
		}
		case 'e':
			if (parse_events(optarg, &mask))
				return EXIT_USAGE;
			break;
		case 'R':
			if (parse_size(optarg, &rb_bytes)) {
				fprintf(stderr, "dirtytop record: --ringbuf-size takes a power of two from 4K to 2G "
					"(e.g. 64M), not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'B':
			block_events = strtol(optarg, &end, 10);
			if (*end || block_events < 1 || block_events > 1000000) {
				fprintf(stderr, "dirtytop record: --block-events takes 1 to 1000000, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'L':
			level = strtol(optarg, &end, 10);
			if (*end || level < 1 || level > 9) {
				fprintf(stderr, "dirtytop record: --level takes 1 to 9, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			if (parse_hook_mode(optarg, &hooks)) {
				fprintf(stderr, "dirtytop record: --hooks takes auto, btf or raw, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!out) {
		fprintf(stderr, "dirtytop record: -o FILE is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (command_only && (optind >= argc || tgid)) {
		fprintf(stderr, "dirtytop record: --command-only needs a COMMAND (after --) and no --pid\n");
		return EXIT_USAGE;
	}

	if ((ret = collector_check_kernel(false, err, sizeof(err)))) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return ret;
	}
	{
		struct stat st;

		created = lstat(out, &st) != 0;
	}
	fd = rec_open_output(out, force, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "dirtytop: %s\n", err);
		return EXIT_RUNTIME;
	}

	g_verbose = g_verbose && !quiet;
	libbpf_set_print(libbpf_print);
	if (hooks != HOOK_RAW) {
		rc.mode = HOOK_BTF;
		rc.skel = open_and_load(HOOK_BTF, tgid, mask, rb_bytes, &e);
		if (!rc.skel && g_verbose)
			fprintf(stderr, "dirtytop: tp_btf programs did not load (%s)%s\n", strerror(-e),
				hooks == HOOK_AUTO ? ", falling back to raw_tp" : "");
	}
	if (!rc.skel && hooks != HOOK_BTF) {
		rc.mode = HOOK_RAW;
		rc.skel = open_and_load(HOOK_RAW, tgid, mask, rb_bytes, &e);
	}
	if (rc.skel && command_only)
		rc.skel->bss->filter_tgid = UINT32_MAX;	/* nobody, until COMMAND's pid is known */
	if (!rc.skel) {
		fprintf(stderr, "dirtytop: loading the BPF programs failed: %s (run with --verbose for the "
			"verifier log)\n", strerror(-e));
		ret = e == -EPERM ? EXIT_PRIVILEGE : EXIT_KERNEL;
		goto fail_file;
	}
	rc.ring_meta_fd = bpf_map__fd(rc.skel->maps.ring_meta);
	rc.vm_meta_fd = bpf_map__fd(rc.skel->maps.vm_meta);
	rc.counters_fd = bpf_map__fd(rc.skel->maps.counters);
	rc.ncpus = libbpf_num_possible_cpus();
	rc.block_events = (uint32_t)block_events;
	if (rc.ncpus < 1) {
		fprintf(stderr, "dirtytop: cannot count the CPUs\n");
		ret = EXIT_RUNTIME;
		goto fail_bpf;
	}

	/* what is recorded, where, with what */
	hdr.major = REC_VERSION_MAJOR;
	hdr.minor = REC_VERSION_MINOR;
	hdr.events_mask = mask;
	if (!uname(&un)) {
		snprintf(hdr.kernel, sizeof(hdr.kernel), "%s", un.release);
		snprintf(hdr.machine, sizeof(hdr.machine), "%s", un.machine);
		snprintf(hdr.hostname, sizeof(hdr.hostname), "%s", un.nodename);
	}
	read_line_file("/proc/sys/kernel/random/boot_id", hdr.boot_id, sizeof(hdr.boot_id));
	snprintf(hdr.hooks, sizeof(hdr.hooks), "%s", rc.mode == HOOK_BTF ? "tp_btf" : "raw_tp");
	snprintf(hdr.version, sizeof(hdr.version), "%s", DIRTYTOP_VERSION);
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(hdr.cmdline);

		snprintf(hdr.cmdline + n, sizeof(hdr.cmdline) - n, "%s%s", i > optind ? " " : "", argv[i]);
	}
	hdr.pid_filter = tgid;
	hdr.ringbuf_bytes = rb_bytes;
	hdr.kvm_max_ring_bytes = kvm_max_ring_bytes();
	hdr.block_events = rc.block_events;
	rb = ring_buffer__new(bpf_map__fd(rc.skel->maps.rb), on_event, &rc, NULL);
	if (!rb) {
		fprintf(stderr, "dirtytop: cannot open the BPF ring buffer: %s\n", strerror(errno));
		ret = EXIT_RUNTIME;
		goto fail_bpf;
	}
	/* before attaching: every event is later than the start */
	hdr.start_wall_ns = clock_ns(CLOCK_REALTIME);
	hdr.start_mono_ns = start_mono = clock_ns(CLOCK_MONOTONIC);
	e = record_bpf__attach(rc.skel);
	if (e) {
		fprintf(stderr, "dirtytop: attaching the BPF programs failed: %s\n", strerror(-e));
		ret = EXIT_KERNEL;
		goto fail_bpf;
	}

	sigemptyset(&mask_set);
	sigaddset(&mask_set, SIGINT);
	sigaddset(&mask_set, SIGTERM);
	sigaddset(&mask_set, SIGHUP);
	sigaddset(&mask_set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask_set, &orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	if (optind < argc) {
		child = fork_command(&argv[optind], &orig, rc.skel, command_only, &go);
		if (child < 0) {
			fprintf(stderr, "dirtytop: fork: %s\n", strerror(errno));
			ret = EXIT_RUNTIME;
			goto fail_bpf;
		}
		if (command_only)
			hdr.pid_filter = (uint32_t)child;
	}
	if (recw_create(&rc.w, fd, &hdr, (int)level, err, sizeof(err))) {
		fprintf(stderr, "dirtytop: %s: %s\n", out, err);
		ret = EXIT_RUNTIME;
		if (child > 0) {
			close(go);	/* EOF: it runs; end it */
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		}
		goto fail_bpf;
	}
	if (child > 0)
		release_command(go);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	if (!quiet)
		fprintf(stderr, "dirtytop: recording to %s (hooks %s, ring buffer %llu KiB)%s\n", out, hdr.hooks,
			(unsigned long long)(rb_bytes >> 10),
			child ? "" : duration ? "" : "; Ctrl-C to stop");
	if (duration)
		deadline = start_mono + (uint64_t)(duration * 1e9);
	rc.last_flush_ns = rc.last_block_ns = clock_ns(CLOCK_MONOTONIC);

	while (!g_stop && !rc.write_error) {
		uint64_t now;
		/* events come without wakeups unless the buffer fills: poll for them */
		int n = ring_buffer__poll(rb, POLL_MS);

		if (n >= 0)
			n = ring_buffer__consume(rb);
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "dirtytop: reading the BPF ring buffer failed: %s\n", strerror(-n));
			ret = EXIT_RUNTIME;
			break;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		if (now - rc.last_flush_ns >= 1000000000ull)
			flush(&rc, false);
		if (deadline && now >= deadline)
			break;
		if (g_child_exited && child > 0 && waitpid(child, &child_status, WNOHANG) == child) {
			child = -1;
			break;	/* all its events are in the ring buffer now */
		}
	}
	if (child > 0) {
		/* stopped by a signal or --duration: end COMMAND, keep its last events */
		kill(child, SIGTERM);
		while (waitpid(child, &child_status, 0) < 0 && errno == EINTR)
			;
		child = -1;
	}
	/* no new events, then everything the kernel did deliver */
	record_bpf__detach(rc.skel);
	ring_buffer__consume(rb);
	usleep(20000);		/* programs that were running when we detached */
	ring_buffer__consume(rb);
	end_mono = clock_ns(CLOCK_MONOTONIC);
	end_wall = clock_ns(CLOCK_REALTIME);
	flush(&rc, false);
	refresh_meta(&rc, true);
	{
		struct rec_stats final;

		read_stats(&rc, &final);
		e = rc.write_error ? rc.write_error : recw_finish(rc.w, &final, end_mono, end_wall);
		if (e) {
			fprintf(stderr, "dirtytop: writing %s failed: %s; the file holds what was written before\n",
				out, strerror(-e));
			ret = EXIT_RUNTIME;
		}
		for (int i = 1; i < REC_EVENT_KINDS; i++)
			total += rc.received[i];
		if (!quiet) {
			uint64_t lost = 0;
			double secs = (double)(end_mono - start_mono) / 1e9;

			for (int i = 1; i < REC_EVENT_KINDS; i++)
				lost += final.lost[i] + final.untracked[i] + final.missed[i];
			fprintf(stderr, "dirtytop: recorded %llu events in %.1f s (%.0f events/s) to %s: %llu bytes "
				"(%.2f bytes/event)\n", (unsigned long long)total, secs, secs > 0 ? (double)total / secs : 0,
				out, (unsigned long long)recw_bytes_written(rc.w),
				total ? (double)recw_bytes_written(rc.w) / (double)total : 0);
			if (lost) {
				fprintf(stderr, "dirtytop: LOST %llu events the kernel could not deliver:", (unsigned long long)lost);
				for (int i = 1; i < REC_EVENT_KINDS; i++)
					if (final.lost[i] + final.untracked[i] + final.missed[i])
						fprintf(stderr, " %s %llu", rec_kind_name((uint8_t)i),
							(unsigned long long)(final.lost[i] + final.untracked[i] + final.missed[i]));
				fprintf(stderr, " (written into the file; a larger --ringbuf-size helps)\n");
			}
		}
	}
	ring_buffer__free(rb);
	recw_free(rc.w);
	record_bpf__destroy(rc.skel);
	free(rc.rings);
	free(rc.vms);
	if (close(fd) && !ret) {
		fprintf(stderr, "dirtytop: closing %s: %s\n", out, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	if (!ret && WIFEXITED(child_status) && WEXITSTATUS(child_status)) {
		fprintf(stderr, "dirtytop: command exited with status %d\n", WEXITSTATUS(child_status));
		return WEXITSTATUS(child_status);
	}
	return ret;

fail_bpf:
	ring_buffer__free(rb);
	recw_free(rc.w);
	record_bpf__destroy(rc.skel);
fail_file:
	close(fd);
	if (created)
		unlink(out);
	return ret;
}
