/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Who a VM is, as an operator names it: what the VMM's command line says
 * (QEMU -name/-uuid, Firecracker --id) and the cgroup the VMM runs in
 * (Kubernetes pods: the pod's UID and container; KubeVirt: the namespace
 * from its libvirt domain name). Pure parsers over the bytes of
 * /proc/PID/cmdline and /proc/PID/cgroup. Unknown stays "" (never guessed).
 */
#ifndef DT_CORE_VM_IDENTITY_H
#define DT_CORE_VM_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define VM_NAME_LEN 128
#define VM_UUID_LEN 37
#define VM_CGROUP_LEN 256
#define VM_NAMESPACE_LEN 64
#define VM_POD_UID_LEN 37
#define VM_CONTAINER_LEN 65
#define VM_THREAD_NAME_LEN 16

struct vm_identity {
	char name[VM_NAME_LEN];		/* QEMU -name guest=NAME (libvirt's domain), Firecracker --id */
	char uuid[VM_UUID_LEN];		/* QEMU -uuid, lower case */
	char cgroup[VM_CGROUP_LEN];	/* the VMM's cgroup (v2, or v1's systemd/cpu hierarchy) */
	char pod_uid[VM_POD_UID_LEN];	/* a Kubernetes pod's UID, from its cgroup */
	char container[VM_CONTAINER_LEN];	/* the container id (cri-containerd, crio, docker) */
	char namespace[VM_NAMESPACE_LEN];	/* KubeVirt: the VMI's namespace (domain "NAMESPACE_VMI") */
};

/* The VMM's command line: argv as /proc/PID/cmdline gives it (NUL separated, len bytes). */
void vm_identity_from_cmdline(struct vm_identity *id, const char *cmdline, size_t len);

/* /proc/PID/cgroup: the v2 entry ("0::PATH"), else v1's name=systemd or cpu hierarchy. */
void vm_identity_from_cgroup_file(struct vm_identity *id, const char *text);

/* A cgroup path: the pod UID and container of kubepods paths (systemd and cgroupfs drivers). */
void vm_identity_from_cgroup_path(struct vm_identity *id, const char *path);

/* After both: the KubeVirt namespace, when the VMM is in a pod and its name is NAMESPACE_VMI. */
void vm_identity_finish(struct vm_identity *id);

static inline bool vm_identity_known(const struct vm_identity *id)
{
	return id->name[0] || id->uuid[0] || id->cgroup[0];
}

#endif
