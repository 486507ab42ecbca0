// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What the report's outputs share (out/report.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "out/report.h"

FILE *report_open_output(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s is a symbolic link: refusing to follow it", path);
		else
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

const struct vm_metrics *report_vm_metrics(const struct model *summary, uint32_t rec_vm_id)
{
	for (size_t i = 0; summary && i < summary->n_vms; i++)
		if (summary->vms[i].key == REPLAY_KEY(rec_vm_id))
			return &summary->vms[i];
	return NULL;
}

uint32_t report_vm_number(const struct model *summary, uint32_t rec_vm_id)
{
	const struct vm_metrics *vm = report_vm_metrics(summary, rec_vm_id);

	return vm ? vm->vm_id : 0;
}

const struct vcpu_metrics *report_vcpu_metrics(const struct model *summary, const struct replay_ring *ring)
{
	const struct vm_metrics *vm = report_vm_metrics(summary, ring->vm_id);

	for (size_t i = 0; vm && i < vm->n_vcpus; i++)
		if (vm->vcpus[i].key == REPLAY_KEY(ring->id))
			return &vm->vcpus[i];
	return NULL;
}
