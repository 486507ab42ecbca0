// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "core/util.h"
#include "kernel/collector.h"
#include "kernel/features.h"
#include "kernel/loader.h"
#include "kernel/vcpu_reader.h"
#include "kernel/vm_recover.h"
#include "live.skel.h"
#include "live_nocb.skel.h"

/* live_nocb is bpf/live.bpf.c built without callbacks: the same maps, programs and globals */
_Static_assert(sizeof(struct live_bpf) == sizeof(struct live_nocb_bpf), "live_nocb differs from live");
_Static_assert(sizeof(*((struct live_bpf *)0)->rodata) == sizeof(*((struct live_nocb_bpf *)0)->rodata),
	       "live_nocb's globals differ from live's");

/*
 * The live skeleton holding live_nocb's object instead (for kernels without
 * bpf_for_each_map_elem): live_bpf__open() with the other ELF bytes.
 */
static struct live_bpf *live_bpf__open_nocb(void)
{
	struct live_bpf *obj = calloc(1, sizeof(*obj));
	int err;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	err = live_bpf__create_skeleton(obj);
	if (!err) {
		obj->skeleton->data = (void *)live_nocb_bpf__elf_bytes(&obj->skeleton->data_sz);
		err = bpf_object__open_skeleton(obj->skeleton, NULL);
	}
	if (err) {
		live_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

struct collector {
	struct live_bpf *skel;
	struct dt_features features;
	enum hook_mode mode;
	bool verbose;
	uint32_t heat_shift;
	uint64_t swept_ns;		/* last sweep_orphans */
	size_t ring_ts_entries, thread_entries;	/* counted by it */
	struct vcpu_reader *vcpu_reader;	/* NULL: the vCPU map read whole (changed_reads off) */
	void *dump_keys, *dump_vals;	/* map_dump's buffers, kept between refreshes */
	size_t dump_keys_size, dump_vals_size;
};

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* loader_load_fn: the live object for one hook mode, into c->skel */
static int open_and_load(void *ctx, enum hook_mode mode)
{
	struct collector *c = ctx;
	bool for_each = c->features.on[DT_FEAT_FOR_EACH];
	struct live_bpf *skel = for_each ? live_bpf__open() : live_bpf__open_nocb();
	int e;

	if (!skel)
		return -errno;
	loader_select_hooks(&(struct loader_hooks){
		.btf = { skel->progs.push_btf, skel->progs.reset_btf, skel->progs.exit_btf },
		.raw = { skel->progs.push_raw, skel->progs.reset_raw, skel->progs.exit_raw },
	}, mode);
	/* epoch tags start at 0: begin at 2 so no zeroed slot looks current */
	skel->bss->epoch = 2;
	skel->rodata->heat_shift = c->heat_shift;
	skel->rodata->use_bpf_loop = c->features.on[DT_FEAT_BPF_LOOP];
	e = live_bpf__load(skel);
	if (e) {
		live_bpf__destroy(skel);
		return e;
	}
	c->skel = skel;
	return 0;
}

/* After attaching (a change from now on is the hooks'): the memslot tables of VMs already running. */
static void recover_old_vms(struct collector *c)
{
	struct vm_recover_stats st;
	char why[160];

	if (!c->features.on[DT_FEAT_MEMSLOT_RECOVERY])
		return;
	struct live_bpf *k = c->skel;
	struct vm_recover_maps maps = {
		.vms = bpf_map__fd(k->maps.vms), .memslots = bpf_map__fd(k->maps.memslots),
		.vcpus = bpf_map__fd(k->maps.vcpus), .ring_ts = bpf_map__fd(k->maps.ring_ts),
		.threads = bpf_map__fd(k->maps.threads), .reentry_pending = bpf_map__fd(k->maps.reentry_pending),
	};

	if (vm_recover(&maps, c->verbose, &st, why, sizeof(why))) {
		char off[sizeof(why) + 64];

		snprintf(off, sizeof(off), "%s: memslots and vCPUs of VMs older than dirtytop are unknown", why);
		dt_feature_set_off(&c->features, DT_FEAT_MEMSLOT_RECOVERY, off);
		return;
	}
	if (c->verbose)
		fprintf(stderr, "dirtytop: VMs older than dirtytop: %u memslot tables recovered (%u slots), "
			"%u could not be read whole; %u vCPUs (%u with their KVM_RUN thread)\n", st.vms, st.slots,
			st.incomplete, st.vcpus, st.vcpu_tids);
}

static void open_vcpu_reader(struct collector *c)
{
	char why[160], off[sizeof(why) + 64];

	if (!c->features.on[DT_FEAT_CHANGED_READS])
		return;
	if (vcpu_reader_open(&c->vcpu_reader, bpf_map__fd(c->skel->maps.vcpus), why, sizeof(why))) {
		snprintf(off, sizeof(off), "%s: every vCPU entry read at every refresh", why);
		dt_feature_set_off(&c->features, DT_FEAT_CHANGED_READS, off);
	}
}

int collector_open(struct collector **out, const struct collect_opts *opts, char *err, size_t errlen)
{
	struct collector *c;
	int e, rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->verbose = opts->verbose;
	if ((rc = features_probe(&c->features, err, errlen))) {
		free(c);
		return rc;
	}
	/* pages per region: 2 MiB = 512 pages = 2^9 */
	c->heat_shift = 9 + dt_log2(opts->heat_region_mib > 2 ? opts->heat_region_mib / 2 : 1);
	rc = loader_load(opts->hooks, opts->verbose, open_and_load, c, &c->mode, err, errlen);
	if (rc) {
		free(c);
		return rc;
	}
	e = live_bpf__attach(c->skel);
	if (e) {
		snprintf(err, errlen, "attaching the BPF programs failed: %s", strerror(-e));
		live_bpf__destroy(c->skel);
		free(c);
		return EXIT_KERNEL;
	}
	if (opts->verbose)
		fprintf(stderr, "dirtytop: attached, hook mode %s\n", collector_hook_name(c));
	recover_old_vms(c);
	open_vcpu_reader(c);
	if (opts->verbose)
		features_print_off(&c->features);
	*out = c;
	return 0;
}

const struct dt_features *collector_features(const struct collector *c)
{
	return &c->features;
}

const char *collector_hook_name(const struct collector *c)
{
	return hook_mode_name(c->mode);
}

/* Grow *buf to hold n bytes; false if out of memory. */
static bool grow(void **buf, size_t *size, size_t n)
{
	void *p;

	if (n <= *size)
		return true;
	if (!(p = realloc(*buf, n)))
		return false;
	*buf = p;
	*size = n;
	return true;
}

typedef void (*map_entry_fn)(void *arg, const void *key, const void *value);

/*
 * Every entry of a hash map, given to fn. BPF_MAP_LOOKUP_BATCH takes a few
 * syscalls for the whole map where key by key takes two per entry, which at
 * 512 vCPUs was most of a refresh; key by key remains where batches fail.
 */
static void map_dump(struct collector *c, int fd, size_t ksz, size_t vsz, map_entry_fn fn, void *arg)
{
	__u32 n = 256, count, token = 0;
	bool first = true;
	char key[64], next[64];
	void *prev = NULL;

	for (;;) {
		int err;

		if (!grow(&c->dump_keys, &c->dump_keys_size, n * ksz) ||
		    !grow(&c->dump_vals, &c->dump_vals_size, n * vsz))
			return;
		count = n;
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, c->dump_keys, c->dump_vals,
					   &count, NULL);
		if (err && errno == ENOSPC && !count) {	/* a bucket holds more than n */
			n *= 2;
			continue;
		}
		for (__u32 i = 0; i < count; i++)
			fn(arg, (char *)c->dump_keys + i * ksz, (char *)c->dump_vals + i * vsz);
		if (!err) {
			first = false;
			continue;
		}
		if (errno == ENOENT || !first || count)
			return;		/* done (or failed midway: what was read is shown) */
		break;			/* no batches here */
	}
	if (ksz > sizeof(key) || !grow(&c->dump_vals, &c->dump_vals_size, vsz))
		return;
	for (; bpf_map_get_next_key(fd, prev, next) == 0; prev = key) {
		memcpy(key, next, ksz);
		if (!bpf_map_lookup_elem(fd, key, c->dump_vals))
			fn(arg, key, c->dump_vals);
	}
}

static bool snapshot_has_vcpu(const struct snapshot *s, const uint64_t *sorted_keys, uint64_t key)
{
	return bsearch(&key, sorted_keys, s->n_vcpus, sizeof(key), dt_cmp_u64) != NULL;
}

#define SWEEP_INTERVAL_NS 5000000000ull

/*
 * Entries nothing else frees: threads that are gone (the vCPU entry they
 * named may be long deleted), and reap-latency stamps of rings whose vCPU
 * entry BPF wiped when a new VM took over the address. Both are rare and
 * small, so every few seconds is enough; a ring_ts key is checked against
 * the snapshot just taken (and the map, for a vCPU created since). The
 * entries kept are counted for collector_map_entries on the way.
 */
static void sweep_orphans(struct collector *c, const struct snapshot *s)
{
	int tfd = bpf_map__fd(c->skel->maps.threads), rfd = bpf_map__fd(c->skel->maps.ring_ts);
	int vfd = bpf_map__fd(c->skel->maps.vcpus);
	__u32 tid, next, *prev = NULL;
	__u64 ring, rnext, *rprev = NULL;
	uint64_t *keys;
	char path[32];

	if (s->ts_ns - c->swept_ns < SWEEP_INTERVAL_NS)
		return;
	c->swept_ns = s->ts_ns;
	if ((keys = malloc((s->n_vcpus + 1) * sizeof(*keys)))) {
		for (size_t i = 0; i < s->n_vcpus; i++)
			keys[i] = s->vcpus[i].key;
		qsort(keys, s->n_vcpus, sizeof(*keys), dt_cmp_u64);
		c->ring_ts_entries = 0;
		while (bpf_map_get_next_key(rfd, rprev, &rnext) == 0) {
			if (!snapshot_has_vcpu(s, keys, rnext) &&
			    bpf_map_lookup_elem(vfd, &rnext, c->dump_vals) && errno == ENOENT) {
				bpf_map_delete_elem(rfd, &rnext);
				continue;	/* go on from the same predecessor */
			}
			ring = rnext;
			rprev = &ring;
			c->ring_ts_entries++;
		}
		free(keys);
	}
	c->thread_entries = 0;
	while (bpf_map_get_next_key(tfd, prev, &next) == 0) {
		snprintf(path, sizeof(path), "/proc/%u", next);
		if (!path_exists(path)) {
			bpf_map_delete_elem(tfd, &next);
			continue;
		}
		tid = next;
		prev = &tid;
		c->thread_entries++;
	}
}

static void add_vcpu(void *arg, const void *key, const void *value)
{
	struct snap_vcpu *sv = snapshot_add_vcpu_uninit(arg);

	_Static_assert(sizeof(*sv) == sizeof(sv->key) + sizeof(sv->v), "snap_vcpu has padding");
	memcpy(&sv->key, key, sizeof(sv->key));
	memcpy(&sv->v, value, sizeof(sv->v));
}

static void add_vm(void *arg, const void *key, const void *value)
{
	struct snap_vm *sm = snapshot_add_vm(arg);

	memcpy(&sm->key, key, sizeof(sm->key));
	memcpy(&sm->v, value, sizeof(sm->v));
}

static void add_memslot(void *arg, const void *key, const void *value)
{
	struct snap_memslot *sm = snapshot_add_memslot(arg);

	memcpy(&sm->key, key, sizeof(sm->key));
	memcpy(&sm->v, value, sizeof(sm->v));
}

static void add_heat(void *arg, const void *key, const void *value)
{
	struct snap_heat *sh = snapshot_add_heat(arg);

	memcpy(&sh->key, key, sizeof(sh->key));
	memcpy(&sh->pages, value, sizeof(sh->pages));
}

int collector_snapshot(struct collector *c, struct snapshot *s)
{
	struct live_bpf *k = c->skel;
	size_t vcpus_kept = s->n_vcpus;

	snapshot_reset(s);
	/* close the interval: BPF now writes the other epoch slot */
	s->epoch = k->bss->epoch;
	__atomic_store_n(&k->bss->epoch, s->epoch + 1, __ATOMIC_SEQ_CST);
	s->ts_ns = dt_mono_ns();

	/* the reader keeps the vCPU entries that did not change since its last read */
	s->n_vcpus = c->vcpu_reader ? vcpus_kept : 0;
	if (!c->vcpu_reader || vcpu_reader_read(c->vcpu_reader, s))
		map_dump(c, bpf_map__fd(k->maps.vcpus), sizeof(__u64), sizeof(struct dt_vcpu), add_vcpu, s);
	map_dump(c, bpf_map__fd(k->maps.vms), sizeof(__u64), sizeof(struct dt_vm), add_vm, s);
	map_dump(c, bpf_map__fd(k->maps.memslots), sizeof(struct dt_memslot_key), sizeof(struct dt_memslot),
		 add_memslot, s);
	map_dump(c, bpf_map__fd(k->maps.heat), sizeof(struct dt_heat_key), sizeof(__u64), add_heat, s);
	s->heat_shift = c->heat_shift;
	if (!c->features.on[DT_FEAT_FOR_EACH])
		snapshot_attribute_reborn(s);
	sweep_orphans(c, s);
	return 0;
}

/*
 * The generation to forget for VM key, or false if that VM is not being
 * forgotten. Its key is its live key or, once buried, its grave key (which is
 * its generation).
 */
static bool vm_forgotten(const struct key_list *vms, uint64_t key, uint64_t *gen)
{
	for (size_t i = 0; i < vms->n; i++)
		if (vms->keys[i] == key || vms->gens[i] == key) {
			*gen = vms->gens[i];
			return true;
		}
	return false;
}

/*
 * Memslots or heat under key (a VM key, or a grave key: a generation) that
 * go with the VMs forgotten: under a forgotten VM's key, unless a new VM
 * lives at its address; under a forgotten generation (a grave key, or a
 * reborn VM's heat key); for heat, under a reborn VM's live key while the
 * dead VM it replaced is forgotten (BPF writes no heat there any more).
 */
static bool entry_forgotten(const struct key_list *vms, int mfd, uint64_t key, bool heat)
{
	struct dt_vm vm;
	uint64_t gen;
	bool live = !bpf_map_lookup_elem(mfd, &key, &vm);

	if (vm_forgotten(vms, key, &gen) && (!live || vm.first_seen_ns == gen))
		return true;
	for (size_t i = 0; DT_IS_GRAVE_KEY(key) && i < vms->n; i++)
		if (vms->gens[i] == key)
			return true;
	if (heat && live && (vm.flags & DT_VM_REBORN))
		for (size_t i = 0; i < vms->n; i++)
			if (vms->gens[i] == vm.prev_grave)
				return true;
	return false;
}

/*
 * Delete what the model forgot: entries of exited VMs. Each is deleted only if
 * it is still the generation the model showed; a VM or vCPU created since at
 * the same kernel address is left alone (BPF wiped the old one's entries when
 * it saw the new KVM_CREATE_VM).
 */
void collector_forget(struct collector *c, const struct key_list *vms, const struct key_list *vcpus)
{
	int vfd = bpf_map__fd(c->skel->maps.vcpus), mfd = bpf_map__fd(c->skel->maps.vms);
	int sfd = bpf_map__fd(c->skel->maps.memslots), hfd = bpf_map__fd(c->skel->maps.heat);
	struct dt_memslot_key sk, snext, *sprev = NULL;
	struct dt_heat_key hk, hnext, *hprev = NULL;
	struct dt_vcpu v;
	struct dt_vm vm;

	/*
	 * Each entry under its live key and then under its grave key: a VM created
	 * at the same address since the snapshot made BPF bury the entries there,
	 * and left behind they would come back as a VM of their own.
	 */
	for (size_t i = 0; i < vcpus->n; i++) {
		for (int buried = 0; buried < 2; buried++) {
			uint64_t key = buried ? vcpus->gens[i] : vcpus->keys[i];

			if (bpf_map_lookup_elem(vfd, &key, &v) || v.first_seen_ns != vcpus->gens[i])
				continue;
			if (v.tid)
				bpf_map_delete_elem(bpf_map__fd(c->skel->maps.threads), &v.tid);
			bpf_map_delete_elem(vfd, &key);
			bpf_map_delete_elem(bpf_map__fd(c->skel->maps.ring_ts), &key);
		}
	}
	if (!vms->n)
		return;
	/* memslots and heat of a forgotten VM, unless a new VM lives at its address */
	while (bpf_map_get_next_key(sfd, sprev, &snext) == 0) {
		if (entry_forgotten(vms, mfd, snext.vm, false)) {
			bpf_map_delete_elem(sfd, &snext);
			continue;	/* go on from the same predecessor */
		}
		sk = snext;
		sprev = &sk;
	}
	while (bpf_map_get_next_key(hfd, hprev, &hnext) == 0) {
		if (entry_forgotten(vms, mfd, hnext.vm, true)) {
			bpf_map_delete_elem(hfd, &hnext);
			continue;
		}
		hk = hnext;
		hprev = &hk;
	}
	for (size_t i = 0; i < vms->n; i++)
		for (int buried = 0; buried < 2; buried++) {
			uint64_t key = buried ? vms->gens[i] : vms->keys[i];

			if (!bpf_map_lookup_elem(mfd, &key, &vm) && vm.first_seen_ns == vms->gens[i])
				bpf_map_delete_elem(mfd, &key);
		}
}

/*
 * The maps the snapshot holds are counted there, the two it does not read
 * at the last sweep (up to 5 s old): walking a map costs a bpf() call per
 * entry, a tenth of a refresh at 512 vCPUs.
 */
size_t collector_map_entries(struct collector *c, const struct snapshot *s)
{
	return s->n_vcpus + s->n_vms + s->n_memslots + s->n_heat + c->ring_ts_entries + c->thread_entries;
}

void collector_close(struct collector *c)
{
	if (!c)
		return;
	vcpu_reader_close(c->vcpu_reader);
	live_bpf__destroy(c->skel);
	free(c->dump_keys);
	free(c->dump_vals);
	free(c);
}
