// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "core/idmap.h"
#include "core/util.h"
#include "kernel/vcpu_reader.h"
#include "vcpu_read.skel.h"

/* Runs of one pass before giving up: a full map (8192 entries, 256 a run) takes 32. */
#define MAX_RUNS 64

struct vcpu_reader {
	struct vcpu_read_bpf *skel;
	int prog_fd, map_fd;
	const struct snapshot *last;	/* whose vCPUs the BPF side last saw delivered; NULL: none */
	struct idmap index;		/* key -> index + 1 in last->vcpus */
	bool *seen;			/* per last->vcpus entry: in this pass */
	size_t cap_seen;
	size_t copied;			/* by the last pass */
	unsigned runs;
};

_Static_assert(sizeof(struct dt_vcpu_read_entry) == sizeof(struct snap_vcpu), "a whole entry is a snap_vcpu");

int vcpu_reader_open(struct vcpu_reader **out, int vcpus_fd, char *why, size_t whylen)
{
	struct vcpu_reader *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		abort();
	r->map_fd = vcpus_fd;
	if (!(r->skel = vcpu_read_bpf__open())) {
		e = -errno;
		snprintf(why, whylen, "opening the vCPU reader failed (%s)", strerror(-e));
		goto fail;
	}
	if ((e = bpf_map__reuse_fd(r->skel->maps.vcpus, vcpus_fd))) {
		snprintf(why, whylen, "sharing the vCPU map failed (%s)", strerror(-e));
		goto fail;
	}
	if ((e = vcpu_read_bpf__load(r->skel))) {
		snprintf(why, whylen, "the vCPU reader did not load (%s)", strerror(-e));
		goto fail;
	}
	r->prog_fd = bpf_program__fd(r->skel->progs.read_vcpus);
	*out = r;
	return 0;
fail:
	vcpu_reader_close(r);
	return e;
}

/* The entry of key in s, added if new; its index. */
static size_t entry_of(struct vcpu_reader *r, struct snapshot *s, uint64_t key, bool *added)
{
	uint32_t i = idmap_get(&r->index, key);

	*added = !i;
	if (i)
		return i - 1;
	snapshot_add_vcpu_uninit(s)->key = key;
	idmap_put(&r->index, key, s->n_vcpus);
	DT_GROW(r->seen, s->n_vcpus - 1, r->cap_seen);
	r->seen[s->n_vcpus - 1] = false;
	return s->n_vcpus - 1;
}

/* Entries not seen this pass are gone: out of s, and the index rebuilt. */
static void drop_unseen(struct vcpu_reader *r, struct snapshot *s)
{
	size_t i = 0, kept = s->n_vcpus;

	while (i < s->n_vcpus) {
		if (r->seen[i]) {
			i++;
			continue;
		}
		s->vcpus[i] = s->vcpus[--s->n_vcpus];
		r->seen[i] = r->seen[s->n_vcpus];
	}
	if (s->n_vcpus == kept)
		return;
	idmap_clear(&r->index);
	for (i = 0; i < s->n_vcpus; i++)
		idmap_put(&r->index, s->vcpus[i].key, i + 1);
}

/* The entries a pass sent whole, and then the list of all: which are kept, which are gone. */
static int read_pass(struct vcpu_reader *r, struct snapshot *s)
{
	const struct vcpu_read_bpf__bss *out = r->skel->bss;
	LIBBPF_OPTS(bpf_test_run_opts, run);
	bool added;
	size_t i;

	r->copied = 0;
	r->runs = 0;
	if (s->n_vcpus)
		memset(r->seen, 0, s->n_vcpus * sizeof(*r->seen));
	do {
		if (++r->runs > MAX_RUNS)
			return -EAGAIN;
		if (bpf_prog_test_run_opts(r->prog_fd, &run))
			return -errno;
		if (r->runs == 1)	/* every key is listed: the entries to come, at once */
			snapshot_reserve_vcpus(s, out->n_keys);
		r->copied += out->n_whole;
		for (uint32_t k = 0; k < out->n_whole; k++) {
			i = entry_of(r, s, out->whole[k].key, &added);
			memcpy(&s->vcpus[i].v, &out->whole[k].v, sizeof(s->vcpus[i].v));
			r->seen[i] = true;
		}
	} while (out->more);
	/* the last run's list is the map now; an entry sent in an earlier run may be gone since */
	if (s->n_vcpus)
		memset(r->seen, 0, s->n_vcpus * sizeof(*r->seen));
	for (uint32_t k = 0; k < out->n_keys; k++) {
		const struct dt_vcpu_read_key *key = &out->keys[k];

		i = entry_of(r, s, key->key, &added);
		/* not sent, and not as we know it (a copy under a new key): read it */
		if ((added || s->vcpus[i].v.first_seen_ns != key->first_seen_ns) &&
		    bpf_map_lookup_elem(r->map_fd, &key->key, &s->vcpus[i].v))
			continue;	/* gone since */
		r->seen[i] = true;
	}
	drop_unseen(r, s);
	return 0;
}

int vcpu_reader_read(struct vcpu_reader *r, struct snapshot *s)
{
	int e;

	r->skel->bss->pass++;
	if (r->last != s) {
		/* no entries kept: every one read whole */
		s->n_vcpus = 0;
		idmap_clear(&r->index);
		r->skel->bss->whole_pass = r->skel->bss->pass;
	}
	r->last = NULL;		/* until this pass is all read */
	if ((e = read_pass(r, s))) {
		/* what BPF counts as delivered is not all here: start over next time */
		s->n_vcpus = 0;
		idmap_clear(&r->index);
		return e;
	}
	r->last = s;
	return 0;
}

void vcpu_reader_last(const struct vcpu_reader *r, size_t *copied, unsigned *runs)
{
	*copied = r->copied;
	*runs = r->runs;
}

void vcpu_reader_close(struct vcpu_reader *r)
{
	if (!r)
		return;
	vcpu_read_bpf__destroy(r->skel);
	idmap_free(&r->index);
	free(r->seen);
	free(r);
}
