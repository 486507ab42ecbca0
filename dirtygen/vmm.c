/* dirtygen: the VMM.  VMs, memslots, vCPU threads, dirty ring harvesting
 * (QEMU style), dirty bitmap syncs, pacing, shutdown. */
#define _GNU_SOURCE
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* guest.S */
extern const unsigned char dg_guest_start[], dg_guest_end[];
extern const unsigned char dg_seq_entry[], dg_seq_write[], dg_seq_after_write[],
	dg_seq_dec[], dg_seq_out[], dg_seq_after_out[];
extern const unsigned char dg_rnd_entry[], dg_rnd_write[], dg_rnd_after_write[],
	dg_rnd_dec[], dg_rnd_out[], dg_rnd_after_out[];
extern const unsigned char dg_idle_entry[];

#define GOFF(sym) ((uint64_t)((sym) - dg_guest_start))

volatile int dg_stop;
volatile int dg_failed;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;    /* CLOCK_MONOTONIC; stop and go */
static int g_go;
static int g_vcpus_running;    /* atomic */
static struct dg_run *g_run;

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RLOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

static void fail(const char *fmt, ...)
{
	va_list ap;
	char buf[512];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (__atomic_exchange_n(&dg_failed, 1, __ATOMIC_SEQ_CST) == 0)
		fprintf(stderr, "dirtygen: %s\n", buf);
	pthread_mutex_lock(&g_mu);
	STORE(&dg_stop, 1);
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
}

static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };
	return ts;
}

/* Sleep until ns (CLOCK_MONOTONIC) unless stop is requested first.
 * Returns false if stopped. */
static bool sleep_until(uint64_t ns)
{
	bool ok;
	pthread_mutex_lock(&g_mu);
	while (!LOAD(&dg_stop) && dg_now_ns() < ns) {
		struct timespec ts = ns_to_ts(ns);
		pthread_cond_timedwait(&g_cv, &g_mu, &ts);
	}
	ok = !LOAD(&dg_stop);
	pthread_mutex_unlock(&g_mu);
	return ok;
}

static bool wait_go(void)
{
	pthread_mutex_lock(&g_mu);
	while (!g_go && !LOAD(&dg_stop))
		pthread_cond_wait(&g_cv, &g_mu);
	pthread_mutex_unlock(&g_mu);
	return !LOAD(&dg_stop);
}

static bool ring_mode(const struct dg_config *cfg)
{
	return cfg->mode == DG_MODE_RING || cfg->mode == DG_MODE_RING_ACQREL;
}

static bool checkpoint_mode(const struct dg_config *cfg)
{
	return cfg->reap_mode == DG_REAP_CHECKPOINT;
}

static void *grow(void *arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *n = realloc(arr, ncap * elem);
	if (!n)
		return NULL;
	*cap = ncap;
	return n;
}

/* ------------------------------------------------------------------ */
/* dirty ring                                                          */

static void account_entry(struct dg_vm *vm, struct dg_vcpu *c, uint32_t slot, uint64_t off)
{
	uint32_t as_id = slot >> 16, id = slot & 0xffff;
	if (as_id != 0 || id < 1 || id >= (uint32_t)vm->nslots || off >= vm->slots[id].pages) {
		vm->foreign_slot++;
		c->foreign++;
		return;
	}
	struct dg_slot *s = &vm->slots[id];
	uint64_t gpa = s->gpa + off * DG_PAGE_SIZE;
	s->harvested++;
	vm->regions[gpa >> vm->cfg->region_shift]++;
	if (gpa < c->gpa_base || gpa >= c->gpa_base + c->pages * DG_PAGE_SIZE)
		c->foreign++;
}

/* Collect every ready entry of one vCPU ring.  Caller holds vm->mu. */
static uint64_t harvest_vcpu(struct dg_vm *vm, struct dg_vcpu *c)
{
	uint32_t mask = vm->ring_entries - 1, f = c->fetch;
	uint64_t n = 0;
	while (n < vm->ring_entries) {
		struct kvm_dirty_gfn *e = &c->ring[f & mask];
		uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
		if (!(flags & KVM_DIRTY_GFN_F_DIRTY))
			break;
		account_entry(vm, c, e->slot, e->offset);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		f++;
		n++;
	}
	STORE(&c->fetch, f);
	RADD(&c->harvested, n);
	RADD(&vm->harvested, n);
	return n;
}

static void harvest_all(struct dg_vm *vm)
{
	for (int i = 0; i < vm->nvcpus; i++)
		harvest_vcpu(vm, &vm->vcpus[i]);
}

/* The KVM_RUN of vCPU c that pushed ring index x, or NULL if it is no
 * longer in the run log.  Only while c's thread is out of KVM_RUN for good
 * or paused. */
static const struct dg_run_rec *run_of_index(const struct dg_vcpu *c, uint32_t x)
{
	uint64_t n = c->nruns < DG_RUN_LOG ? c->nruns : DG_RUN_LOG;
	for (uint64_t k = 0; k < n; k++) {
		const struct dg_run_rec *r = &c->runs[(c->nruns - 1 - k) % DG_RUN_LOG];
		if (x - r->di_before < r->di_after - r->di_before)
			return r;
		if (x - r->di_before >= (1u << 31))
			continue;   /* x is older than this run */
		return NULL;        /* x is newer than the last run: not pushed */
	}
	return NULL;
}

static void reclaim_append(struct dg_vcpu *c, const struct dg_reclaim_rec *rec)
{
	if (c->nreclaims >= c->vm->cfg->max_records) {
		c->reclaims_dropped++;
		return;
	}
	if (c->nreclaims == c->reclaims_cap) {
		void *n = grow(c->reclaims, &c->reclaims_cap, sizeof(*c->reclaims));
		if (!n) {
			c->reclaims_dropped++;
			return;
		}
		c->reclaims = n;
	}
	c->reclaims[c->nreclaims++] = *rec;
}

/*
 * Checkpoint truth of reset number call_no ([t0, t1] around the ioctl):
 * per vCPU the entries it gave back (everything harvested since the last
 * reset: KVM resets the harvested entries from its reset_index on) and the
 * reap latency: the age at the reset of the entry that starts the
 * latency group holding the oldest reclaimed entry, bounded by the KVM_RUN
 * that pushed it, [t0 - its exit, t1 - its entry].  Known only when every
 * vCPU thread is out of KVM_RUN (vcpus_out: a checkpoint, or the end).
 */
static void record_reclaims(struct dg_vm *vm, uint64_t call_no, uint64_t t0, uint64_t t1,
			    bool vcpus_out)
{
	uint32_t group = vm->cfg->latency_group;
	for (int i = 0; i < vm->nvcpus; i++) {
		struct dg_vcpu *c = &vm->vcpus[i];
		uint32_t oldest = c->reset_fetch, fetch = RLOAD(&c->fetch);
		struct dg_reclaim_rec rec = { .reset_idx = call_no, .reclaimed = fetch - oldest,
					      .lat_lo_ns = -1, .lat_hi_ns = -1 };
		c->reset_fetch = fetch;
		if (rec.reclaimed) {
			const struct dg_run_rec *r = vcpus_out && c->runs
				? run_of_index(c, oldest & ~(group - 1)) : NULL;
			if (r && r->exit_ns <= t0) {
				rec.lat_lo_ns = (int64_t)(t0 - r->exit_ns);
				rec.lat_hi_ns = (int64_t)(t1 - r->enter_ns);
			} else {
				c->latency_unknown++;
			}
		}
		reclaim_append(c, &rec);
	}
}

/* KVM_RESET_DIRTY_RINGS, counted and recorded.  Caller holds vm->mu and
 * must not have an unblocked signal pending (KVM stops resetting rings
 * with -EINTR if it has).  vcpus_out: no vCPU thread can be in KVM_RUN. */
static void do_reset(struct dg_vm *vm, bool vcpus_out)
{
	__atomic_fetch_add(&vm->reset_started, 1, __ATOMIC_SEQ_CST);
	uint64_t t0 = dg_now_ns();
	int ret = ioctl(vm->fd, KVM_RESET_DIRTY_RINGS, 0);
	int err = errno;
	uint64_t t1 = dg_now_ns();

	RADD(&vm->reset_calls, 1);
	if (ret >= 0) {
		vm->entries_reset += (uint64_t)ret;
	} else {
		if (vm->reset_errors++ == 0)
			fprintf(stderr, "dirtygen: warning: vm %d: KVM_RESET_DIRTY_RINGS: %s\n",
				vm->index, strerror(err));
	}
	if (vm->nresets < vm->cfg->max_records) {
		if (vm->nresets == vm->resets_cap) {
			void *n = grow(vm->resets, &vm->resets_cap, sizeof(*vm->resets));
			if (n)
				vm->resets = n;
		}
		if (vm->nresets < vm->resets_cap)
			vm->resets[vm->nresets++] = (struct dg_reset_rec){
				t0, t1, ret >= 0 ? ret : -err };
		else
			vm->resets_dropped++;
	} else {
		vm->resets_dropped++;
	}
	if (checkpoint_mode(vm->cfg) && ret >= 0)
		record_reclaims(vm, vm->reset_calls - 1, t0, t1, vcpus_out);
	__atomic_fetch_add(&vm->reset_gen, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->reset_cv);
}

/* One reap: harvest every ring of the VM, optionally sleep, reset. */
static void reap_vm(struct dg_vm *vm, bool block_kick)
{
	sigset_t set, old;
	if (block_kick) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, &old);
	}
	pthread_mutex_lock(&vm->mu);
	harvest_all(vm);
	if (vm->cfg->reap_delay_ms)
		sleep_until(dg_now_ns() + vm->cfg->reap_delay_ms * 1000000ULL);
	do_reset(vm, false);
	pthread_mutex_unlock(&vm->mu);
	if (block_kick)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Lower bound of KVM's dirty_index, exact while the vCPU is outside
 * KVM_RUN (only the vCPU itself pushes).  Lock-free: entries in
 * [fetch, dirty_index) have flags != 0 (DIRTY, or RESET while another
 * thread harvests), entries at/after dirty_index are 0.  If fetch moved
 * during the scan a reset may have zeroed entries: scan again. */
static uint32_t ring_dirty_index(struct dg_vcpu *c)
{
	uint32_t size = c->vm->ring_entries, mask = size - 1;
	for (;;) {
		uint32_t f1 = LOAD(&c->fetch);
		uint32_t i = (int32_t)(c->kdi - f1) > 0 ? c->kdi : f1;
		uint32_t lim = f1 + size;
		while (i != lim && __atomic_load_n(&c->ring[i & mask].flags, __ATOMIC_ACQUIRE) != 0)
			i++;
		if (LOAD(&c->fetch) == f1) {
			c->kdi = i;
			return i;
		}
	}
}

/*
 * Re-fault accounting.  A soft-full exit happens after KVM pushed the gfn
 * of a write that faulted but has not retired (the guest re-executes it
 * on the next entry).  If a reset re-protects that page before the vCPU
 * resumes, the re-executed write faults again and KVM pushes the same gfn
 * a second time.  We detect it exactly: the first entry pushed after the
 * pending one names the same gfn.
 */
static void ring_track(struct dg_vcpu *c, uint32_t reason, uint64_t gen_at_exit)
{
	uint32_t size = c->vm->ring_entries, mask = size - 1;
	if (!c->pending && reason != KVM_EXIT_DIRTY_RING_FULL)
		return;
	uint32_t d = ring_dirty_index(c);
	if (c->pending) {
		uint32_t after = c->pend_idx + 1;
		if (d != after) {
			bool refault;
			if ((uint32_t)(d - after) < size) {
				struct kvm_dirty_gfn *e = &c->ring[after & mask];
				refault = e->slot == c->pend_slot && e->offset == c->pend_off;
			} else {
				refault = gen_at_exit != c->pend_gen;
			}
			if (refault)
				c->refaults++;
			c->pending = false;
		} else if (reason == KVM_EXIT_IO) {
			c->pending = false;   /* the write retired without a new push */
		}
	}
	if (reason == KVM_EXIT_DIRTY_RING_FULL) {
		struct kvm_dirty_gfn *e = &c->ring[(d - 1) & mask];
		c->pending = true;
		c->pend_idx = d - 1;
		c->pend_slot = e->slot;
		c->pend_off = e->offset;
		c->pend_gen = gen_at_exit;
	}
}

/* ------------------------------------------------------------------ */
/* dirty bitmap                                                        */

static void add_clear_bucket(struct dg_vm *vm, uint64_t pages)
{
	for (int i = 0; i < vm->nclear_buckets; i++)
		if (vm->clear_buckets[i].pages == pages) {
			vm->clear_buckets[i].calls++;
			return;
		}
	struct dg_clear_bucket *n = realloc(vm->clear_buckets,
					    (size_t)(vm->nclear_buckets + 1) * sizeof(*n));
	if (!n)
		return;
	vm->clear_buckets = n;
	n[vm->nclear_buckets++] = (struct dg_clear_bucket){ pages, 1 };
}

static uint64_t popcount_range(const uint64_t *bm, uint64_t first, uint64_t n)
{
	uint64_t cnt = 0;
	for (uint64_t p = first; p < first + n;) {
		if ((p & 63) == 0 && p + 64 <= first + n) {
			cnt += (uint64_t)__builtin_popcountll(bm[p / 64]);
			p += 64;
		} else {
			cnt += (bm[p / 64] >> (p & 63)) & 1;
			p++;
		}
	}
	return cnt;
}

static void clear_slot(struct dg_vm *vm, struct dg_slot *s)
{
	uint64_t chunk = vm->cfg->clear_chunk ? vm->cfg->clear_chunk : s->pages;
	for (uint64_t first = 0; first < s->pages; first += chunk) {
		uint64_t n = s->pages - first < chunk ? s->pages - first : chunk;
		uint64_t bits = popcount_range(s->bitmap, first, n);
		if (!bits)
			continue;
		struct kvm_clear_dirty_log cl = {
			.slot = s->id,
			.num_pages = (uint32_t)n,
			.first_page = first,
			.dirty_bitmap = s->bitmap + first / 64,
		};
		if (ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &cl) < 0) {
			if (vm->clear_errors++ == 0)
				fprintf(stderr, "dirtygen: warning: vm %d slot %u: KVM_CLEAR_DIRTY_LOG(first %llu, %llu pages): %s\n",
					vm->index, s->id, (unsigned long long)first,
					(unsigned long long)n, strerror(errno));
			continue;
		}
		vm->clear_calls++;
		vm->clear_pages += bits;
		add_clear_bucket(vm, n);
	}
}

/* One sync of every data slot: KVM_GET_DIRTY_LOG, popcount, attribute,
 * then (manual protect) sleep --reap-delay and KVM_CLEAR_DIRTY_LOG. */
static void bitmap_sync(struct dg_vm *vm)
{
	const struct dg_layout *lay = vm->lay;
	pthread_mutex_lock(&vm->mu);
	for (int i = 1; i < vm->nslots; i++) {
		struct dg_slot *s = &vm->slots[i];
		struct kvm_dirty_log log = { .slot = s->id, .dirty_bitmap = s->bitmap };
		if (!(s->flags & KVM_MEM_LOG_DIRTY_PAGES))
			continue;   /* only after a failed --slot-ops-toggle-data "on" */
		uint64_t t0 = dg_now_ns();
		int ret = ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log);
		uint64_t t1 = dg_now_ns();
		if (ret < 0) {
			pthread_mutex_unlock(&vm->mu);
			fail("vm %d slot %u: KVM_GET_DIRTY_LOG: %s", vm->index, s->id, strerror(errno));
			return;
		}
		uint64_t words = (s->pages + 63) / 64, pop = 0;
		for (uint64_t w = 0; w < words; w++) {
			uint64_t x = s->bitmap[w];
			pop += (uint64_t)__builtin_popcountll(x);
			while (x) {
				uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(x);
				x &= x - 1;
				uint64_t dp = s->first_data_page + p;
				uint64_t v = dp / lay->pages_per_vcpu;
				if (v < (uint64_t)vm->nvcpus)
					vm->vcpus[v].bitmap_dirty++;
				vm->regions[(s->gpa + p * DG_PAGE_SIZE) >> vm->cfg->region_shift]++;
			}
		}
		vm->bitmap_syncs++;
		RADD(&vm->bitmap_dirty_pages, pop);
		if (vm->nsyncs < vm->cfg->max_records) {
			if (vm->nsyncs == vm->syncs_cap) {
				void *n = grow(vm->syncs, &vm->syncs_cap, sizeof(*vm->syncs));
				if (n)
					vm->syncs = n;
			}
			if (vm->nsyncs < vm->syncs_cap)
				vm->syncs[vm->nsyncs++] = (struct dg_sync_rec){ s->id, t0, t1, pop };
			else
				vm->syncs_dropped++;
		} else {
			vm->syncs_dropped++;
		}
	}
	if (vm->cfg->manual_protect) {
		if (vm->cfg->reap_delay_ms)
			sleep_until(dg_now_ns() + vm->cfg->reap_delay_ms * 1000000ULL);
		for (int i = 1; i < vm->nslots; i++)
			if (vm->slots[i].flags & KVM_MEM_LOG_DIRTY_PAGES)
				clear_slot(vm, &vm->slots[i]);
	}
	pthread_mutex_unlock(&vm->mu);
}

/* ------------------------------------------------------------------ */
/* memslot operations                                                  */

const char *dg_slot_op_name(enum dg_slot_op op)
{
	switch (op) {
	case DG_OP_CREATE: return "create";
	case DG_OP_DELETE: return "delete";
	case DG_OP_MOVE: return "move";
	case DG_OP_FLAGS: return "flags";
	}
	return "?";
}

/*
 * One KVM_SET_USER_MEMORY_REGION for slot s: gpa, size (0 = delete) and
 * flags; op is how KVM classifies it (the caller knows the slot's state).
 * Every call is recorded; one that succeeded is counted as op and updates
 * s (a delete leaves s as it was, to be created again).  Only the setup
 * and the slot-op thread of the VM call this.  Returns 0 or -errno.
 */
static int memslot_op(struct dg_vm *vm, struct dg_slot *s, enum dg_slot_op op,
		      uint64_t gpa, uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region reg = {
		.slot = s->id, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)(uintptr_t)s->hva,
	};
	uint64_t t0 = dg_now_ns();
	int ret = ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &reg);
	int err = errno;
	uint64_t t1 = dg_now_ns();

	if (vm->nslot_ops < vm->cfg->max_records) {
		if (vm->nslot_ops == vm->slot_ops_cap) {
			void *n = grow(vm->slot_ops, &vm->slot_ops_cap, sizeof(*vm->slot_ops));
			if (n)
				vm->slot_ops = n;
		}
		if (vm->nslot_ops < vm->slot_ops_cap)
			vm->slot_ops[vm->nslot_ops++] = (struct dg_slot_op_rec){
				.op = op, .slot = s->id, .gpa = gpa, .size = size, .flags = flags,
				.start_ns = t0, .end_ns = t1, .ret = ret < 0 ? -err : 0,
			};
		else
			vm->slot_ops_dropped++;
	} else {
		vm->slot_ops_dropped++;
	}
	if (ret < 0) {
		vm->slot_op_errors++;
		errno = err;
		return -err;
	}
	/* only what changed is written: harvesters read a data slot's gpa
	 * and size while the slot-op thread toggles its flags */
	switch (op) {
	case DG_OP_CREATE:
		vm->ms_create++;
		s->gpa = gpa;
		s->size = size;
		break;
	case DG_OP_DELETE:
		vm->ms_delete++;
		return 0;
	case DG_OP_MOVE:
		vm->ms_move++;
		s->gpa = gpa;
		break;
	case DG_OP_FLAGS: {
		uint32_t was = s->flags & KVM_MEM_LOG_DIRTY_PAGES, now = flags & KVM_MEM_LOG_DIRTY_PAGES;
		vm->ms_flags++;
		if (now && !was)
			vm->ms_log_on++;
		else if (was && !now)
			vm->ms_log_off++;
		break;
	}
	}
	s->flags = flags;
	return 0;
}

/* A memslot op of the slot-op thread: a failure is counted (slot_op_errors,
 * and its record), reported once per VM, and not fatal. */
static bool slot_op_ok(struct dg_vm *vm, struct dg_slot *s, enum dg_slot_op op,
		       uint64_t gpa, uint64_t size, uint32_t flags)
{
	int e = memslot_op(vm, s, op, gpa, size, flags);
	if (e && vm->slot_op_errors == 1)
		fprintf(stderr, "dirtygen: warning: vm %d: KVM_SET_USER_MEMORY_REGION (%s slot %u, gpa 0x%llx, %llu bytes, flags %u): %s\n",
			vm->index, dg_slot_op_name(op), s->id, (unsigned long long)gpa,
			(unsigned long long)size, flags, strerror(-e));
	return e == 0;
}

/*
 * One --slot-ops cycle on the scratch slot: create (no flags), dirty
 * logging on, off, move (same userspace_addr and size, flags unchanged, as
 * KVM requires), delete.  A failed step ends the cycle (deleting the slot
 * if it exists).  With --slot-ops-toggle-data, then dirty logging off on
 * every data slot and on again, under vm->mu in bitmap mode so that no
 * sync or clear sees a data slot without its dirty bitmap.
 */
static void slot_cycle(struct dg_vm *vm)
{
	const struct dg_config *cfg = vm->cfg;
	struct dg_slot *s = &vm->scratch;
	uint64_t a = dg_scratch_gpa(cfg, 0), b = dg_scratch_gpa(cfg, 1);

	if (!vm->scratch_present) {
		if (!slot_op_ok(vm, s, DG_OP_CREATE, a, DG_SCRATCH_SIZE, 0))
			goto data;
		vm->scratch_present = true;
	}
	if (slot_op_ok(vm, s, DG_OP_FLAGS, s->gpa, s->size, s->flags | KVM_MEM_LOG_DIRTY_PAGES) &&
	    slot_op_ok(vm, s, DG_OP_FLAGS, s->gpa, s->size, s->flags & ~KVM_MEM_LOG_DIRTY_PAGES))
		slot_op_ok(vm, s, DG_OP_MOVE, s->gpa == a ? b : a, s->size, s->flags);
	if (slot_op_ok(vm, s, DG_OP_DELETE, s->gpa, 0, s->flags))
		vm->scratch_present = false;
data:
	if (cfg->slot_ops_toggle_data) {
		bool lock = cfg->mode == DG_MODE_BITMAP;
		if (lock)
			pthread_mutex_lock(&vm->mu);
		for (int i = 1; i < vm->nslots; i++) {
			struct dg_slot *d = &vm->slots[i];
			if (d->flags & KVM_MEM_LOG_DIRTY_PAGES)
				slot_op_ok(vm, d, DG_OP_FLAGS, d->gpa, d->size, d->flags & ~KVM_MEM_LOG_DIRTY_PAGES);
		}
		for (int i = 1; i < vm->nslots; i++) {
			struct dg_slot *d = &vm->slots[i];
			if (!(d->flags & KVM_MEM_LOG_DIRTY_PAGES))
				slot_op_ok(vm, d, DG_OP_FLAGS, d->gpa, d->size, d->flags | KVM_MEM_LOG_DIRTY_PAGES);
		}
		if (lock)
			pthread_mutex_unlock(&vm->mu);
	}
	vm->slot_op_cycles++;
}

static void *slotop_thread(void *arg)
{
	struct dg_vm *vm = arg;
	const struct dg_config *cfg = vm->cfg;
	if (!wait_go())
		return NULL;
	uint64_t interval = cfg->slot_ops_interval_ms * 1000000ULL;
	uint64_t next = g_run->start_ns + interval;
	for (uint64_t i = 0; i < cfg->slot_ops && !LOAD(&dg_stop); i++) {
		if (!sleep_until(next))
			break;
		slot_cycle(vm);
		uint64_t now = dg_now_ns();
		next += interval;
		while (next <= now)
			next += interval;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* threads                                                             */

/* Retired writes of a vCPU that is outside KVM_RUN, from its registers:
 * pages_io plus the part of the current batch the guest has done (see
 * guest.S).  *at_write: RIP is at the write instruction. */
static uint64_t pages_from_regs(const struct dg_vcpu *c, const struct kvm_regs *regs, bool *at_write)
{
	bool seq = c->vm->cfg->pattern == DG_PAT_SEQ;
	uint64_t rip = regs->rip - DG_CODE_GPA;
	uint64_t ecx = regs->rcx & 0xffffffffULL;
	uint64_t w = GOFF(seq ? dg_seq_write : dg_rnd_write);
	uint64_t aw = GOFF(seq ? dg_seq_after_write : dg_rnd_after_write);
	uint64_t dec = GOFF(seq ? dg_seq_dec : dg_rnd_dec);
	uint64_t o = GOFF(seq ? dg_seq_out : dg_rnd_out);
	uint64_t ao = GOFF(seq ? dg_seq_after_out : dg_rnd_after_out);
	uint64_t partial = ecx <= c->batch ? c->batch - ecx : 0;
	if (rip >= aw && rip <= dec)
		partial += 1;
	else if (rip == o)
		partial = c->last_exit_io ? 0 : c->batch;
	else if (rip == ao)
		partial = 0;
	if (at_write)
		*at_write = rip == w;
	return c->pages_io + partial;
}

/* Exact retired writes now, for a vCPU thread between two KVM_RUNs. */
static uint64_t pages_now(struct dg_vcpu *c)
{
	struct kvm_regs regs;
	if (c->idle)
		return 0;
	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return c->pages_io;
	return pages_from_regs(c, &regs, NULL);
}

static void progress_append(struct dg_vcpu *c, uint64_t t, uint64_t pages)
{
	if (c->nprogress >= c->vm->cfg->max_records) {
		c->progress_dropped++;
		return;
	}
	if (c->nprogress == c->progress_cap) {
		void *n = grow(c->progress, &c->progress_cap, sizeof(*c->progress));
		if (!n) {
			c->progress_dropped++;
			return;
		}
		c->progress = n;
	}
	c->progress[c->nprogress++] = (struct dg_progress_rec){ t, pages };
}

/* A periodic sample: keeps room for the final one under --max-records. */
static void progress_sample(struct dg_vcpu *c, uint64_t t, uint64_t pages)
{
	c->last_sample_ns = t;
	if (c->nprogress + 1 >= c->vm->cfg->max_records) {
		c->progress_dropped++;
		return;
	}
	progress_append(c, t, pages);
}

/* ------------------------------------------------------------------ */
/* checkpoint: pause every vCPU thread, harvest, reset, resume          */

/* A vCPU thread no longer takes part in pauses (idle, or leaving). */
static void ckpt_leave(struct dg_vcpu *c)
{
	struct dg_vm *vm = c->vm;
	pthread_mutex_lock(&vm->ckpt_mu);
	vm->ckpt_active--;
	pthread_cond_broadcast(&vm->paused_cv);
	pthread_mutex_unlock(&vm->ckpt_mu);
}

/* Called with ckpt_mu held: wait out every pause requested from now on
 * (a new cycle may begin before this thread woke from the last one). */
static void ckpt_pause_locked(struct dg_vcpu *c)
{
	struct dg_vm *vm = c->vm;
	while (RLOAD(&vm->ckpt_req) && !LOAD(&dg_stop)) {
		uint64_t gen = vm->ckpt_gen;
		/* out of KVM_RUN: the kick's immediate_exit has done its job */
		__atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (++vm->ckpt_paused == vm->ckpt_active)
			pthread_cond_broadcast(&vm->paused_cv);
		c->pauses++;
		while (vm->ckpt_gen == gen && !LOAD(&dg_stop))
			pthread_cond_wait(&vm->ckpt_cv, &vm->ckpt_mu);
		vm->ckpt_paused--;
	}
}

static void ckpt_pause(struct dg_vcpu *c)
{
	pthread_mutex_lock(&c->vm->ckpt_mu);
	ckpt_pause_locked(c);
	pthread_mutex_unlock(&c->vm->ckpt_mu);
}

/* Pacing sleep of a checkpoint-mode vCPU: a pause request ends it at once
 * (the thread pauses, then sleeps on to the same target). */
static void ckpt_pace(struct dg_vcpu *c, uint64_t target)
{
	struct dg_vm *vm = c->vm;
	struct timespec ts = ns_to_ts(target);
	pthread_mutex_lock(&vm->ckpt_mu);
	while (!LOAD(&dg_stop) && dg_now_ns() < target) {
		if (RLOAD(&vm->ckpt_req))
			ckpt_pause_locked(c);
		else
			pthread_cond_timedwait(&vm->ckpt_cv, &vm->ckpt_mu, &ts);
	}
	pthread_mutex_unlock(&vm->ckpt_mu);
}

static void ckpt_append(struct dg_vm *vm, const struct dg_ckpt_rec *rec)
{
	if (vm->nckpts >= vm->cfg->max_records) {
		vm->ckpts_dropped++;
		return;
	}
	if (vm->nckpts == vm->ckpts_cap) {
		void *n = grow(vm->ckpts, &vm->ckpts_cap, sizeof(*vm->ckpts));
		if (!n) {
			vm->ckpts_dropped++;
			return;
		}
		vm->ckpts = n;
	}
	vm->ckpts[vm->nckpts++] = *rec;
}

/*
 * One checkpoint cycle, as a VMM does it: kick every vCPU out of KVM_RUN
 * (immediate_exit + SIGUSR1, so a kick that lands just before KVM_RUN is
 * not lost), wait until every vCPU thread is paused, harvest every ring,
 * KVM_RESET_DIRTY_RINGS, resume them.
 */
static void checkpoint_cycle(struct dg_vm *vm)
{
	struct dg_ckpt_rec rec = { .reset_idx = -1 };
	bool stopped;

	pthread_mutex_lock(&vm->ckpt_mu);
	rec.kick_ns = dg_now_ns();
	STORE(&vm->ckpt_req, 1);
	for (int i = 0; i < vm->nvcpus; i++) {
		struct dg_vcpu *c = &vm->vcpus[i];
		if (!c->thread_started || c->idle)
			continue;
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, SIGUSR1);
	}
	pthread_cond_broadcast(&vm->ckpt_cv);   /* pacing sleeps */
	while (vm->ckpt_paused < vm->ckpt_active && !LOAD(&dg_stop))
		pthread_cond_wait(&vm->paused_cv, &vm->ckpt_mu);
	rec.paused_ns = dg_now_ns();
	stopped = LOAD(&dg_stop);
	pthread_mutex_unlock(&vm->ckpt_mu);

	if (!stopped) {
		pthread_mutex_lock(&vm->mu);
		harvest_all(vm);
		if (vm->cfg->reap_delay_ms)
			sleep_until(dg_now_ns() + vm->cfg->reap_delay_ms * 1000000ULL);
		do_reset(vm, true);
		rec.reset_idx = (int64_t)vm->reset_calls - 1;
		pthread_mutex_unlock(&vm->mu);
	}

	pthread_mutex_lock(&vm->ckpt_mu);
	STORE(&vm->ckpt_req, 0);
	vm->ckpt_gen++;
	pthread_cond_broadcast(&vm->ckpt_cv);
	rec.resume_ns = dg_now_ns();
	pthread_mutex_unlock(&vm->ckpt_mu);
	if (!stopped) {
		vm->ckpt_cycles++;
		ckpt_append(vm, &rec);
	}
}

static void *reaper_thread(void *arg)
{
	struct dg_vm *vm = arg;
	const struct dg_config *cfg = vm->cfg;
	/* the default 50 us timer slack would dominate sub-millisecond periods */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (!wait_go())
		return NULL;
	uint64_t start = g_run->start_ns, interval = cfg->reap_period_us * 1000ULL;
	uint64_t next = start + interval;
	while (!LOAD(&dg_stop)) {
		if (!sleep_until(next))
			break;
		uint64_t now = dg_now_ns(), se = dg_stall_end(cfg, start, now);
		if (se && !sleep_until(se))
			break;
		if (checkpoint_mode(cfg))
			checkpoint_cycle(vm);
		else if (ring_mode(cfg))
			reap_vm(vm, false);
		else
			bitmap_sync(vm);
		now = dg_now_ns();
		next += interval;
		/* a late cycle skips the ticks it missed */
		while (next <= now) {
			next += interval;
			vm->reaper_ticks_missed++;
		}
	}
	return NULL;
}

static void sigusr1_handler(int sig)
{
	(void)sig;
}

static void stall_append(struct dg_vcpu *c, const struct dg_stall_rec *rec)
{
	if (c->nstalls >= c->vm->cfg->max_records) {
		c->stalls_dropped++;
		return;
	}
	if (c->nstalls == c->stalls_cap) {
		void *n = grow(c->stalls, &c->stalls_cap, sizeof(*c->stalls));
		if (!n) {
			c->stalls_dropped++;
			return;
		}
		c->stalls = n;
	}
	c->stalls[c->nstalls++] = *rec;
}

/* The first reset that can have freed the ring of a vCPU whose KVM_RUN
 * began when vm->reset_gen was gen is reset number gen (resets complete in
 * order under vm->mu).  It counts if it had at least begun by now (the
 * vCPU's next exit): KVM frees ring space while the ioctl runs, so a vCPU
 * can resume and exit again before the ioctl returns.  -1 = none. */
static int64_t first_reset_since(struct dg_vm *vm, uint64_t gen)
{
	return __atomic_load_n(&vm->reset_started, __ATOMIC_SEQ_CST) > gen ? (int64_t)gen : -1;
}

static void describe_exit(struct dg_vcpu *c, const char *what)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;
	if (ioctl(c->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	fail("vm %d vcpu %d: %s (rip 0x%llx)", c->vm->index, c->index, what, rip);
}

static void *vcpu_thread(void *arg)
{
	struct dg_vcpu *c = arg;
	struct dg_vm *vm = c->vm;
	const struct dg_config *cfg = vm->cfg;
	bool ring = ring_mode(cfg);
	struct dg_stall_rec cur = { .reset_idx = -1 };
	uint64_t progress_ns = cfg->progress_ms * 1000000ULL;
	bool need_resume = false, ckpt = checkpoint_mode(cfg);
	uint32_t last_di = 0;   /* ring index after the last KVM_RUN (checkpoint) */
	sigset_t set;

	c->tid = (pid_t)syscall(SYS_gettid);
	if (ckpt)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (!wait_go())
		goto out;
	c->run_start_ns = dg_now_ns();
	c->last_exit_ns = c->run_start_ns;
	if (progress_ns)
		progress_sample(c, c->run_start_ns, 0);   /* nothing ran yet */

	while (!LOAD(&dg_stop)) {
		if (ckpt && LOAD(&vm->ckpt_req)) {
			ckpt_pause(c);
			if (LOAD(&dg_stop))
				break;
		}
		if (need_resume) {
			cur.resume_ns = dg_now_ns();
			c->stall_ns_total += cur.resume_ns - cur.exit_ns;
			need_resume = false;
		}
		/* resets counted from here on may have freed the ring after KVM
		 * decided to exit: they belong to this exit's stall */
		uint64_t gen = LOAD(&vm->reset_gen);
		uint64_t t_enter = ckpt ? dg_now_ns() : 0;
		int ret = ioctl(c->fd, KVM_RUN, 0);
		int err = errno;
		uint64_t t = dg_now_ns();
		uint32_t reason;

		c->last_exit_ns = t;
		if (ckpt) {
			uint32_t di = ring_dirty_index(c);
			c->runs[c->nruns++ % DG_RUN_LOG] = (struct dg_run_rec){ t_enter, t, last_di, di };
			last_di = di;
		}

		if (ret < 0) {
			if (err != EINTR && err != EAGAIN) {
				fail("vm %d vcpu %d: KVM_RUN: %s", vm->index, c->index, strerror(err));
				break;
			}
			reason = KVM_EXIT_INTR;
		} else {
			reason = c->run->exit_reason;
		}

		/* a stall record stays open until the next exit, so that a reset
		 * done while the vCPU retried inside KVM_RUN is still seen */
		if (c->stall_open) {
			cur.reset_idx = first_reset_since(vm, c->stall_gen);
			c->stall_open = false;
			stall_append(c, &cur);
		}
		if (ring)
			ring_track(c, reason, gen);
		c->last_exit_io = reason == KVM_EXIT_IO;

		switch (reason) {
		case KVM_EXIT_IO:
			if (c->run->io.direction != KVM_EXIT_IO_OUT || c->run->io.port != DG_IO_PORT) {
				describe_exit(c, "unexpected I/O exit");
				goto out;
			}
			c->exit_io++;
			RADD(&c->pages_io, c->batch);
			/* the batch's `out` was the last instruction: exact */
			if (progress_ns && t - c->last_sample_ns >= progress_ns)
				progress_sample(c, t, c->pages_io);
			if (c->rate > 0 && ckpt) {
				ckpt_pace(c, dg_pace_target_ns(c->run_start_ns, c->pages_io,
							       (uint64_t)c->rate));
			} else if (c->rate > 0) {
				struct timespec ts = ns_to_ts(dg_pace_target_ns(
					c->run_start_ns, c->pages_io, (uint64_t)c->rate));
				while (!LOAD(&dg_stop)) {
					int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
					if (r != EINTR)
						break;
				}
			}
			break;
		case KVM_EXIT_INTR:
			c->exit_intr++;
			break;
		case KVM_EXIT_HLT:
			c->exit_hlt++;
			if (!c->idle) {
				describe_exit(c, "unexpected hlt");
				goto out;
			}
			/* idle vCPU: never run it again */
			if (ckpt) {
				ckpt_leave(c);
				ckpt = false;
			}
			sleep_until(UINT64_MAX);
			goto out;
		case KVM_EXIT_DIRTY_RING_FULL:
			RADD(&c->exit_full, 1);
			cur = (struct dg_stall_rec){ .exit_ns = t, .reset_idx = -1 };
			c->stall_open = true;
			c->stall_gen = gen;
			need_resume = true;
			switch (cfg->full_action) {
			case DG_FULL_REAP: {
				uint64_t se = dg_stall_end(cfg, g_run->start_ns, dg_now_ns());
				if (se && !sleep_until(se))
					break;
				if (!LOAD(&dg_stop))
					reap_vm(vm, true);
				break;
			}
			case DG_FULL_THROTTLE: {
				/* reap like DG_FULL_REAP, so the ring is back under the
				 * soft limit, then stay out on purpose */
				uint64_t se = dg_stall_end(cfg, g_run->start_ns, dg_now_ns());
				if (se && !sleep_until(se))
					break;
				if (LOAD(&dg_stop))
					break;
				reap_vm(vm, true);
				uint64_t t0 = dg_now_ns(), until;
				if (cfg->throttle_rate)
					until = dg_pace_target_ns(c->run_start_ns, pages_now(c), cfg->throttle_rate);
				else
					until = t0 + cfg->throttle_ms * 1000000ULL;
				if (until <= t0)
					break;
				sleep_until(until);
				uint64_t t1 = dg_now_ns();
				cur.throttle_start_ns = t0;
				cur.throttle_ns = t1 - t0;
				c->throttles++;
				c->throttle_ns_total += t1 - t0;
				break;
			}
			case DG_FULL_WAIT:
				pthread_mutex_lock(&vm->mu);
				while (RLOAD(&vm->reset_gen) == gen && !LOAD(&dg_stop)) {
					struct timespec ts = ns_to_ts(dg_now_ns() + 20000000ULL);
					pthread_cond_timedwait(&vm->reset_cv, &vm->mu, &ts);
				}
				pthread_mutex_unlock(&vm->mu);
				break;
			case DG_FULL_RETRY:
				if (cfg->retry_delay_us)
					usleep((useconds_t)cfg->retry_delay_us);
				else
					sched_yield();
				break;
			}
			break;
		case KVM_EXIT_SHUTDOWN:
			describe_exit(c, "guest shutdown (triple fault)");
			goto out;
		case KVM_EXIT_FAIL_ENTRY: {
			char m[96];
			snprintf(m, sizeof(m), "VM entry failed (reason 0x%llx)",
				 (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
			describe_exit(c, m);
			goto out;
		}
		case KVM_EXIT_INTERNAL_ERROR: {
			char m[96];
			snprintf(m, sizeof(m), "KVM internal error (suberror %u)",
				 c->run->internal.suberror);
			describe_exit(c, m);
			goto out;
		}
		case KVM_EXIT_MMIO: {
			char m[96];
			snprintf(m, sizeof(m), "unexpected MMIO at 0x%llx",
				 (unsigned long long)c->run->mmio.phys_addr);
			describe_exit(c, m);
			goto out;
		}
		default: {
			char m[64];
			c->exit_other++;
			snprintf(m, sizeof(m), "unexpected exit reason %u", reason);
			describe_exit(c, m);
			goto out;
		}
		}
	}
out:
	if (c->stall_open) {
		/* stopped during a soft-full stall: never resumed.  The reset that
		 * frees the ring is the first one after the exit, at the latest
		 * the final reset at shutdown (resolved in finalize_vcpu). */
		cur.resume_ns = 0;
		cur.reset_idx = (int64_t)c->stall_gen;
		c->stall_open = false;
		stall_append(c, &cur);
	}
	if (ckpt)
		ckpt_leave(c);
	c->run_end_ns = dg_now_ns();
	RADD(&g_vcpus_running, -1);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* setup                                                               */

static int kvm_open_error(const char *dev, int err)
{
	if (err == ENOENT || err == ENXIO || err == ENODEV)
		fprintf(stderr, "dirtygen: cannot open %s: %s (no KVM here: is the kvm module loaded and virtualization enabled?)\n",
			dev, strerror(err));
	else if (err == EACCES || err == EPERM)
		fprintf(stderr, "dirtygen: cannot open %s: %s (run as root or as a member of group kvm)\n",
			dev, strerror(err));
	else
		fprintf(stderr, "dirtygen: cannot open %s: %s\n", dev, strerror(err));
	return 1;
}

static int setup_vcpu(struct dg_run *r, struct dg_vm *vm, struct dg_vcpu *c, int mmap_size)
{
	const struct dg_config *cfg = r->cfg;
	const struct dg_layout *lay = &r->lay;

	c->vm = vm;
	c->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)c->index);
	if (c->fd < 0) {
		fprintf(stderr, "dirtygen: vm %d: KVM_CREATE_VCPU %d: %s\n", vm->index, c->index, strerror(errno));
		return 1;
	}
	c->resets_at_create = vm->reset_calls;
	c->run_size = (size_t)mmap_size;
	c->run = mmap(NULL, c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		fprintf(stderr, "dirtygen: vm %d vcpu %d: mmap kvm_run: %s\n", vm->index, c->index, strerror(errno));
		return 1;
	}
	if (ring_mode(cfg)) {
		long psz = sysconf(_SC_PAGESIZE);
		c->ring = mmap(NULL, (size_t)vm->ring_entries * sizeof(struct kvm_dirty_gfn),
			       PROT_READ | PROT_WRITE, MAP_SHARED, c->fd,
			       (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * psz);
		if (c->ring == MAP_FAILED) {
			c->ring = NULL;
			fprintf(stderr, "dirtygen: vm %d vcpu %d: mmap dirty ring: %s\n", vm->index, c->index, strerror(errno));
			return 1;
		}
	}

	if (checkpoint_mode(cfg)) {
		c->runs = calloc(DG_RUN_LOG, sizeof(*c->runs));
		if (!c->runs) {
			fprintf(stderr, "dirtygen: out of memory\n");
			return 1;
		}
	}

	c->rate = dg_rate_for(cfg, c->index);
	c->idle = c->rate == DG_RATE_IDLE;
	c->batch = dg_batch_for(cfg, c->rate);
	c->pages = lay->pages_per_vcpu;
	c->first_page = (uint64_t)c->index * lay->pages_per_vcpu;
	c->gpa_base = DG_DATA_GPA + c->first_page * DG_PAGE_SIZE;
	c->write_pages = lay->hot_pages;
	c->seed = cfg->seed + 1000003u * (uint32_t)(vm->index * DG_MAX_VCPUS + c->index);

	struct kvm_sregs sregs;
	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "dirtygen: KVM_GET_SREGS: %s\n", strerror(errno));
		return 1;
	}
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 11,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment ds = cs;
	ds.selector = 0x10;
	ds.type = 3;
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.cr0 = 0x11;   /* PE | ET; caches on, no paging */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0) {
		fprintf(stderr, "dirtygen: KVM_SET_SREGS: %s\n", strerror(errno));
		return 1;
	}
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	if (c->idle)
		regs.rip = DG_CODE_GPA + GOFF(dg_idle_entry);
	else if (cfg->pattern == DG_PAT_SEQ)
		regs.rip = DG_CODE_GPA + GOFF(dg_seq_entry);
	else
		regs.rip = DG_CODE_GPA + GOFF(dg_rnd_entry);
	regs.rbx = c->gpa_base;
	if (cfg->pattern == DG_PAT_SEQ) {
		regs.rdx = c->gpa_base + c->write_pages * DG_PAGE_SIZE;
		regs.rdi = c->gpa_base;
	} else {
		regs.rsp = c->write_pages;
		regs.rsi = c->seed;
	}
	regs.rbp = c->batch;
	regs.rcx = c->batch;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0) {
		fprintf(stderr, "dirtygen: KVM_SET_REGS: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int set_region(struct dg_vm *vm, struct dg_slot *s)
{
	int e = memslot_op(vm, s, DG_OP_CREATE, s->gpa, s->size, s->flags);
	if (e) {
		fprintf(stderr, "dirtygen: vm %d: KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %llu bytes): %s\n",
			vm->index, s->id, (unsigned long long)s->gpa, (unsigned long long)s->size, strerror(-e));
		return 1;
	}
	return 0;
}

static int setup_vm(struct dg_run *r, struct dg_vm *vm, int mmap_size)
{
	const struct dg_config *cfg = r->cfg;
	const struct dg_layout *lay = &r->lay;

	vm->cfg = cfg;
	vm->lay = lay;
	pthread_mutex_init(&vm->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->reset_cv, &ca);
	pthread_mutex_init(&vm->ckpt_mu, NULL);
	pthread_cond_init(&vm->ckpt_cv, &ca);
	pthread_cond_init(&vm->paused_cv, &ca);
	pthread_condattr_destroy(&ca);

	vm->fd = ioctl(r->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		fprintf(stderr, "dirtygen: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)DG_TSS_GPA) < 0) {
		fprintf(stderr, "dirtygen: vm %d: KVM_SET_TSS_ADDR: %s\n", vm->index, strerror(errno));
		return 1;
	}
	if (ring_mode(cfg)) {
		struct kvm_enable_cap cap = {
			.cap = cfg->mode == DG_MODE_RING_ACQREL ? KVM_CAP_DIRTY_LOG_RING_ACQ_REL
								: KVM_CAP_DIRTY_LOG_RING,
		};
		cap.args[0] = (uint64_t)cfg->ring_size * sizeof(struct kvm_dirty_gfn);
		if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0) {
			fprintf(stderr, "dirtygen: vm %d: KVM_ENABLE_CAP(%s, %llu bytes): %s\n", vm->index,
				cfg->mode == DG_MODE_RING_ACQREL ? "KVM_CAP_DIRTY_LOG_RING_ACQ_REL" : "KVM_CAP_DIRTY_LOG_RING",
				(unsigned long long)cap.args[0], strerror(errno));
			return 1;
		}
		vm->ring_entries = cfg->ring_size;
	}
	if (cfg->mode == DG_MODE_BITMAP && cfg->manual_protect) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
		cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
			      (cfg->initially_set ? KVM_DIRTY_LOG_INITIALLY_SET : 0);
		if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0) {
			fprintf(stderr, "dirtygen: vm %d: KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0x%llx): %s\n",
				vm->index, (unsigned long long)cap.args[0], strerror(errno));
			return 1;
		}
	}

	/* memory */
	vm->code_mem = mmap(NULL, DG_CODE_SLOT_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->code_mem == MAP_FAILED) {
		vm->code_mem = NULL;
		fprintf(stderr, "dirtygen: vm %d: mmap of the 1 MiB code slot failed: %s (out of memory)\n",
			vm->index, strerror(errno));
		return 1;
	}
	memcpy(vm->code_mem + DG_CODE_GPA, dg_guest_start, (size_t)(dg_guest_end - dg_guest_start));
	vm->data_size = (size_t)(cfg->mem_mib << 20);
	vm->data_mem = mmap(NULL, vm->data_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->data_mem == MAP_FAILED) {
		vm->data_mem = NULL;
		fprintf(stderr, "dirtygen: vm %d: mmap of %llu MiB data memory failed: %s (out of memory; lower --mem or --vms)\n",
			vm->index, (unsigned long long)cfg->mem_mib, strerror(errno));
		return 1;
	}
	madvise(vm->data_mem, vm->data_size, MADV_NOHUGEPAGE);

	vm->nslots = cfg->slots + 1;
	vm->slots = calloc((size_t)vm->nslots, sizeof(*vm->slots));
	vm->nregions = ((DG_DATA_GPA + vm->data_size - 1) >> cfg->region_shift) + 1;
	vm->regions = calloc(vm->nregions, sizeof(*vm->regions));
	vm->nvcpus = cfg->vcpus;
	vm->vcpus = calloc((size_t)vm->nvcpus, sizeof(*vm->vcpus));
	if (!vm->slots || !vm->regions || !vm->vcpus) {
		fprintf(stderr, "dirtygen: out of memory\n");
		return 1;
	}
	vm->slots[0] = (struct dg_slot){
		.id = 0, .gpa = 0, .size = DG_CODE_SLOT_SIZE, .pages = DG_CODE_SLOT_SIZE / DG_PAGE_SIZE,
		.flags = 0, .hva = vm->code_mem,
	};
	if (set_region(vm, &vm->slots[0]))
		return 1;
	uint32_t log = cfg->mode == DG_MODE_NONE ? 0 : KVM_MEM_LOG_DIRTY_PAGES;
	for (int i = 0; i < cfg->slots; i++) {
		struct dg_slot *s = &vm->slots[i + 1];
		uint64_t first = dg_slot_first_page(lay, i), pages = dg_slot_pages(cfg, lay, i);
		s->id = (uint32_t)(i + 1);
		s->first_data_page = first;
		s->pages = pages;
		s->gpa = DG_DATA_GPA + first * DG_PAGE_SIZE;
		s->size = pages * DG_PAGE_SIZE;
		s->flags = log;
		s->hva = vm->data_mem + first * DG_PAGE_SIZE;
		if (cfg->mode == DG_MODE_BITMAP) {
			s->bitmap = calloc((size_t)((pages + 63) / 64), sizeof(uint64_t));
			if (!s->bitmap) {
				fprintf(stderr, "dirtygen: out of memory\n");
				return 1;
			}
		}
		if (set_region(vm, s))
			return 1;
	}

	if (cfg->slot_ops) {
		/* never touched by the guest, so never faulted in */
		void *m = mmap(NULL, DG_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED) {
			fprintf(stderr, "dirtygen: vm %d: mmap of the scratch slot failed: %s (out of memory)\n",
				vm->index, strerror(errno));
			return 1;
		}
		vm->scratch = (struct dg_slot){
			.id = (uint32_t)(cfg->slots + 1), .gpa = dg_scratch_gpa(cfg, 0),
			.size = DG_SCRATCH_SIZE, .pages = DG_SCRATCH_SIZE / DG_PAGE_SIZE,
			.flags = 0, .hva = m,
		};
	}

	for (int i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].index = i;
		if (setup_vcpu(r, vm, &vm->vcpus[i], mmap_size))
			return 1;
	}
	return 0;
}

int dg_setup(struct dg_run *r)
{
	const struct dg_config *cfg = r->cfg;
	g_run = r;

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g_cv, &ca);
	pthread_condattr_destroy(&ca);

	if (dg_compute_layout(cfg, &r->lay))
		return 2;

	r->kvm_fd = open(cfg->kvm_dev, O_RDWR | O_CLOEXEC);
	if (r->kvm_fd < 0)
		return kvm_open_error(cfg->kvm_dev, errno);
	int api = ioctl(r->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "dirtygen: %s: KVM_GET_API_VERSION returned %d, need %d (not a KVM device?)\n",
			cfg->kvm_dev, api, KVM_API_VERSION);
		return 1;
	}
	static const struct { int cap; const char *name; } need[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			fprintf(stderr, "dirtygen: missing capability %s\n", need[i].name);
			return 1;
		}
	int mmap_size = ioctl(r->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0) {
		fprintf(stderr, "dirtygen: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		return 1;
	}
	int max_vcpus = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus > 0 && cfg->vcpus > max_vcpus) {
		fprintf(stderr, "dirtygen: --vcpus: %d is above the kernel limit of %d vCPUs per VM (KVM_CAP_MAX_VCPUS)\n",
			cfg->vcpus, max_vcpus);
		return 2;
	}
	int nr_slots = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (nr_slots > 0 && cfg->slots + 1 > nr_slots) {
		fprintf(stderr, "dirtygen: --slots: %d data slots plus the code slot exceed the kernel limit of %d memslots (KVM_CAP_NR_MEMSLOTS)\n",
			cfg->slots, nr_slots);
		return 2;
	}
	if (nr_slots > 0 && cfg->slot_ops && cfg->slots + 2 > nr_slots) {
		fprintf(stderr, "dirtygen: --slot-ops: %d data slots plus the code slot and the scratch slot exceed the kernel limit of %d memslots (KVM_CAP_NR_MEMSLOTS)\n",
			cfg->slots, nr_slots);
		return 2;
	}
	if (ring_mode(cfg)) {
		int cap = cfg->mode == DG_MODE_RING_ACQREL ? KVM_CAP_DIRTY_LOG_RING_ACQ_REL : KVM_CAP_DIRTY_LOG_RING;
		const char *name = cfg->mode == DG_MODE_RING_ACQREL ? "KVM_CAP_DIRTY_LOG_RING_ACQ_REL" : "KVM_CAP_DIRTY_LOG_RING";
		int max_bytes = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, cap);
		if (max_bytes <= 0) {
			fprintf(stderr, "dirtygen: missing capability %s (--mode %s needs a kernel with the dirty ring)\n",
				name, dg_mode_name(cfg->mode));
			return 1;
		}
		uint64_t max_entries = (uint64_t)max_bytes / sizeof(struct kvm_dirty_gfn);
		if (cfg->ring_size > max_entries) {
			fprintf(stderr, "dirtygen: --ring-size: %u entries is above the kernel limit of %llu entries (%s = %d bytes, %zu bytes per entry)\n",
				cfg->ring_size, (unsigned long long)max_entries, name, max_bytes,
				sizeof(struct kvm_dirty_gfn));
			return 2;
		}
	}
	if (cfg->mode == DG_MODE_BITMAP && cfg->manual_protect) {
		int flags = ioctl(r->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
		if (flags <= 0 || !(flags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
			fprintf(stderr, "dirtygen: missing capability KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (--manual-protect)\n");
			return 1;
		}
		if (cfg->initially_set && !(flags & KVM_DIRTY_LOG_INITIALLY_SET)) {
			fprintf(stderr, "dirtygen: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 lacks KVM_DIRTY_LOG_INITIALLY_SET (--initially-set)\n");
			return 1;
		}
	}

	r->nvms = cfg->vms;
	r->vms = calloc((size_t)r->nvms, sizeof(*r->vms));
	if (!r->vms) {
		fprintf(stderr, "dirtygen: out of memory\n");
		return 1;
	}
	for (int i = 0; i < r->nvms; i++) {
		r->vms[i].index = i;
		r->vms[i].fd = -1;
		int rc = setup_vm(r, &r->vms[i], mmap_size);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* run                                                                 */

static void finalize_vcpu(struct dg_vcpu *c)
{
	const struct dg_config *cfg = c->vm->cfg;
	struct kvm_regs regs;
	for (size_t i = 0; i < c->nstalls; i++) {
		int64_t k = c->stalls[i].reset_idx;
		c->stalls[i].reset_ns = k >= 0 && (uint64_t)k < c->vm->nresets ? c->vm->resets[k].end_ns : 0;
	}
	c->pages_written = c->pages_io;
	if (!c->idle && ioctl(c->fd, KVM_GET_REGS, &regs) < 0) {
		fprintf(stderr, "dirtygen: warning: vm %d vcpu %d: KVM_GET_REGS: %s\n",
			c->vm->index, c->index, strerror(errno));
		return;
	}
	bool at_write = false;
	if (!c->idle)
		c->pages_written = pages_from_regs(c, &regs, &at_write);
	/* the final progress sample: the vCPU has not run since its last exit */
	if (cfg->progress_ms && c->run_start_ns &&
	    !(c->nprogress && c->progress[c->nprogress - 1].t_ns == c->last_exit_ns))
		progress_append(c, c->last_exit_ns, c->pages_written);
	if (c->idle)
		return;
	if (c->pending) {
		if (at_write)
			c->unretired = 1;
		else if (!cfg->quiet)
			fprintf(stderr, "dirtygen: warning: vm %d vcpu %d: soft-full write pending but rip 0x%llx\n",
				c->vm->index, c->index, (unsigned long long)regs.rip);
	}
}

static void progress(const struct dg_run *r, uint64_t now)
{
	uint64_t pages = 0, harv = 0, full = 0, resets = 0, bdirty = 0;
	for (int i = 0; i < r->nvms; i++) {
		struct dg_vm *vm = &r->vms[i];
		harv += RLOAD(&vm->harvested);
		resets += RLOAD(&vm->reset_calls);
		bdirty += RLOAD(&vm->bitmap_dirty_pages);
		for (int j = 0; j < vm->nvcpus; j++) {
			pages += RLOAD(&vm->vcpus[j].pages_io);
			full += RLOAD(&vm->vcpus[j].exit_full);
		}
	}
	fprintf(stderr, "dirtygen: %.1fs pages_written~%llu harvested=%llu full_exits=%llu resets=%llu bitmap_dirty=%llu\n",
		(double)(now - r->start_ns) / 1e9, (unsigned long long)pages, (unsigned long long)harv,
		(unsigned long long)full, (unsigned long long)resets, (unsigned long long)bdirty);
}

int dg_execute(struct dg_run *r)
{
	const struct dg_config *cfg = r->cfg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1_handler;   /* no SA_RESTART: interrupt KVM_RUN and sleeps */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < r->nvms; i++) {
		struct dg_vm *vm = &r->vms[i];
		for (int j = 0; j < vm->nvcpus; j++) {
			struct dg_vcpu *c = &vm->vcpus[j];
			RADD(&g_vcpus_running, 1);
			int e = pthread_create(&c->thread, &attr, vcpu_thread, c);
			if (e) {
				RADD(&g_vcpus_running, -1);
				fail("pthread_create (vm %d vcpu %d): %s", i, j, strerror(e));
				break;
			}
			c->thread_started = true;
			if (checkpoint_mode(cfg))
				vm->ckpt_active++;   /* before the reaper exists */
		}
		if (cfg->mode != DG_MODE_NONE && !LOAD(&dg_failed)) {
			int e = pthread_create(&vm->reaper, &attr, reaper_thread, vm);
			if (e)
				fail("pthread_create (vm %d reaper): %s", i, strerror(e));
			else
				vm->reaper_started = true;
		}
		if (cfg->slot_ops && !LOAD(&dg_failed)) {
			int e = pthread_create(&vm->slotop, &attr, slotop_thread, vm);
			if (e)
				fail("pthread_create (vm %d slot-op thread): %s", i, strerror(e));
			else
				vm->slotop_started = true;
		}
		if (LOAD(&dg_failed))
			break;
	}
	pthread_attr_destroy(&attr);

	pthread_mutex_lock(&g_mu);
	r->start_ns = dg_now_ns();
	g_go = 1;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	uint64_t deadline = cfg->duration_s > 0 ? r->start_ns + (uint64_t)(cfg->duration_s * 1e9) : 0;
	uint64_t next_progress = r->start_ns + 1000000000ULL;
	while (!LOAD(&dg_stop)) {
		uint64_t now = dg_now_ns();
		if (deadline && now >= deadline)
			break;
		if (!cfg->quiet && now >= next_progress) {
			progress(r, now);
			next_progress += 1000000000ULL;
		}
		uint64_t wait = 100000000ULL;
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		struct timespec ts = ns_to_ts(wait);
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			r->stop_signal = sig;
			break;
		}
	}

	/* stop: kick every vCPU out of KVM_RUN until all threads are gone */
	r->stop_ns = dg_now_ns();
	pthread_mutex_lock(&g_mu);
	STORE(&dg_stop, 1);
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
	while (RLOAD(&g_vcpus_running) > 0) {
		for (int i = 0; i < r->nvms; i++) {
			struct dg_vm *vm = &r->vms[i];
			for (int j = 0; j < vm->nvcpus; j++) {
				struct dg_vcpu *c = &vm->vcpus[j];
				if (!c->thread_started)
					continue;
				__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
				pthread_kill(c->thread, SIGUSR1);
			}
			pthread_cond_broadcast(&vm->reset_cv);
			pthread_mutex_lock(&vm->ckpt_mu);
			pthread_cond_broadcast(&vm->ckpt_cv);
			pthread_cond_broadcast(&vm->paused_cv);
			pthread_mutex_unlock(&vm->ckpt_mu);
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < r->nvms; i++) {
		struct dg_vm *vm = &r->vms[i];
		for (int j = 0; j < vm->nvcpus; j++)
			if (vm->vcpus[j].thread_started)
				pthread_join(vm->vcpus[j].thread, NULL);
		if (vm->reaper_started)
			pthread_join(vm->reaper, NULL);
		if (vm->slotop_started)
			pthread_join(vm->slotop, NULL);
	}

	/* final harvest: every ring completely, one last counted reset; or a
	 * last bitmap sync so every dirtied page is counted */
	for (int i = 0; i < r->nvms; i++) {
		struct dg_vm *vm = &r->vms[i];
		if (ring_mode(cfg)) {
			pthread_mutex_lock(&vm->mu);
			harvest_all(vm);
			do_reset(vm, true);
			pthread_mutex_unlock(&vm->mu);
		} else if (cfg->mode == DG_MODE_BITMAP) {
			bitmap_sync(vm);
		}
		for (int j = 0; j < vm->nvcpus; j++)
			finalize_vcpu(&vm->vcpus[j]);
	}
	r->end_ns = dg_now_ns();
	if (!cfg->quiet)
		progress(r, r->end_ns);
	return LOAD(&dg_failed) ? 1 : 0;
}
