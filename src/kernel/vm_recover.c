// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/vm_recover.h"
#include "vm_iter.skel.h"

int vm_recover(const struct vm_recover_maps *maps, bool verbose, struct vm_recover_stats *st, char *why,
	       size_t whylen)
{
	struct vm_iter_bpf *skel = vm_iter_bpf__open();
	struct bpf_link *link = NULL;
	char buf[64];
	int e, fd = -1;

	memset(st, 0, sizeof(*st));
	if (!skel) {
		e = -errno;
		snprintf(why, whylen, "opening the iterator failed: %s", strerror(-e));
		return e;
	}
	if ((e = bpf_map__reuse_fd(skel->maps.vms, maps->vms)) ||
	    (e = bpf_map__reuse_fd(skel->maps.memslots, maps->memslots)) ||
	    (e = bpf_map__reuse_fd(skel->maps.vcpus, maps->vcpus)) ||
	    (e = bpf_map__reuse_fd(skel->maps.ring_ts, maps->ring_ts)) ||
	    (e = bpf_map__reuse_fd(skel->maps.threads, maps->threads)) ||
	    (e = bpf_map__reuse_fd(skel->maps.reentry_pending, maps->reentry_pending))) {
		snprintf(why, whylen, "sharing the live maps failed: %s", strerror(-e));
		goto out;
	}
	if ((e = vm_iter_bpf__load(skel))) {
		snprintf(why, whylen, "iter/task_file did not load (%s)%s", strerror(-e),
			 verbose ? "" : "; --verbose shows the verifier log");
		goto out;
	}
	link = bpf_program__attach_iter(skel->progs.recover_vms, NULL);
	if (!link) {
		e = -errno;
		snprintf(why, whylen, "iter/task_file did not attach (%s)", strerror(-e));
		goto out;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		e = -errno;
		snprintf(why, whylen, "the iterator did not start (%s)", strerror(-e));
		goto out;
	}
	/* the program writes into the maps; it prints nothing: read to the end */
	while ((e = read(fd, buf, sizeof(buf))) > 0)
		;
	if (e < 0) {
		e = -errno;
		snprintf(why, whylen, "the iterator failed (%s)", strerror(-e));
		goto out;
	}
	st->vms = skel->bss->vms_recovered;
	st->incomplete = skel->bss->vms_incomplete;
	st->slots = skel->bss->slots_recovered;
	st->vcpus = skel->bss->vcpus_recovered;
	st->vcpu_tids = skel->bss->vcpu_tids_recovered;
out:
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	vm_iter_bpf__destroy(skel);
	return e;
}
