// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <string.h>
#include "core/vm_identity.h"

static void copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
	for (size_t i = 0; i < len; i++)	/* shown on terminals and in files: no control bytes */
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * QEMU's -name: QemuOpts "guest=NAME,debug-threads=on,process=P" or "NAME[,...]"
 * (the first option without a key is guest=); a comma in a value is written ",,".
 */
static void qemu_name(struct vm_identity *id, const char *v)
{
	char val[VM_NAME_LEN];
	bool first = true;

	while (*v) {
		const char *key = v, *eq = NULL;
		size_t n = 0;

		/* one option up to an unescaped comma, unescaping ",," */
		for (; *v; v++) {
			if (*v == ',') {
				if (v[1] != ',')
					break;
				v++;
			} else if (*v == '=' && !eq) {
				eq = v;
				n = 0;
				continue;
			}
			if (n < sizeof(val) - 1)
				val[n++] = *v;
		}
		val[n] = 0;
		if ((!eq && first) || (eq && eq - key == 5 && !strncmp(key, "guest", 5)))
			copy(id->name, sizeof(id->name), val, n);
		first = false;
		if (*v == ',')
			v++;
	}
}

static bool uuid_shape(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == 0;
}

void vm_identity_from_cmdline(struct vm_identity *id, const char *cmdline, size_t len)
{
	const char *argv[512], *end = cmdline + len, *prog;
	size_t argc = 0;
	bool qemu, firecracker;

	for (const char *p = cmdline; p < end && argc < 512;) {
		const char *z = memchr(p, 0, (size_t)(end - p));

		if (!z)
			break;		/* an unterminated last argument: not a cmdline we trust */
		argv[argc++] = p;
		p = z + 1;
	}
	if (!argc)
		return;
	prog = basename_of(argv[0]);
	qemu = strstr(prog, "qemu") != NULL;
	firecracker = !strcmp(prog, "firecracker");
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (qemu && a[0] == '-') {
			a += a[1] == '-';	/* QEMU takes -opt and --opt alike */
			if (!strcmp(a, "-name") && v)
				qemu_name(id, v);
			else if (!strcmp(a, "-uuid") && v && uuid_shape(v)) {
				for (int k = 0; k < 36; k++)
					id->uuid[k] = (char)tolower((unsigned char)v[k]);
				id->uuid[36] = 0;
			}
		} else if (firecracker) {
			if (!strcmp(a, "--id") && v)
				copy(id->name, sizeof(id->name), v, strlen(v));
			else if (!strncmp(a, "--id=", 5))
				copy(id->name, sizeof(id->name), a + 5, strlen(a + 5));
		}
	}
}

void vm_identity_from_cgroup_file(struct vm_identity *id, const char *text)
{
	const char *best = NULL;
	size_t best_len = 0;
	int best_rank = 0;

	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n'), *c1, *c2;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		int rank = 0;

		/* HIERARCHY-ID:CONTROLLERS:PATH */
		c1 = memchr(line, ':', len);
		c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			size_t clen = (size_t)(c2 - c1 - 1);

			if (!strncmp(line, "0::", 3))
				rank = 3;	/* cgroup v2 (the unified hierarchy of a hybrid system too) */
			else if (clen == 12 && !strncmp(c1 + 1, "name=systemd", 12))
				rank = 2;
			else if (memmem(c1 + 1, clen, "cpu", 3))
				rank = 1;
		}
		/* v2's "0::/" on a hybrid system says nothing when v1 says more */
		if (rank == 3 && len - 3 == 1 && best)
			rank = 0;
		if (rank > best_rank) {
			best_rank = rank;
			best = c2 + 1;
			best_len = len - (size_t)(c2 + 1 - line);
		}
		line += len + (nl != NULL);
	}
	if (!best || !best_len)
		return;
	copy(id->cgroup, sizeof(id->cgroup), best, best_len);
	vm_identity_from_cgroup_path(id, id->cgroup);
}

static bool container_id(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "pod" + UID (systemd's slice names write its dashes as underscores) at s. */
static bool pod_uid(struct vm_identity *id, const char *s, size_t n)
{
	char uid[VM_POD_UID_LEN];

	if (n < 3 + 36 || strncmp(s, "pod", 3))
		return false;
	s += 3;
	n -= 3;
	for (int i = 0; i < 36; i++)
		uid[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	uid[36] = 0;
	if (!uuid_shape(uid))
		return false;
	/* what follows the UID: nothing (cgroupfs) or ".slice" (systemd) */
	if (n != 36 && (n != 36 + 6 || strncmp(s + 36, ".slice", 6)))
		return false;
	memcpy(id->pod_uid, uid, sizeof(uid));
	return true;
}

void vm_identity_from_cgroup_path(struct vm_identity *id, const char *path)
{
	static const char *const runtimes[] = { "cri-containerd-", "crio-", "docker-" };
	bool kubepods = false, in_pod = false;

	for (const char *p = path; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (!kubepods && n >= 8 && !strncmp(p, "kubepods", 8))
			kubepods = true;
		if (kubepods && !in_pod) {
			/* cgroupfs: "podUID"; systemd: "kubepods[-QOS]-podUID_WITH_UNDERSCORES.slice" */
			const char *pod = n >= 3 && !strncmp(p, "pod", 3) ? p : NULL;

			for (size_t i = 0; !pod && i + 4 <= n; i++)
				if (!strncmp(p + i, "-pod", 4))
					pod = p + i + 1;
			if (pod && pod_uid(id, pod, n - (size_t)(pod - p)))
				in_pod = true;
		} else if (in_pod && !id->container[0]) {
			const char *c = p;
			size_t cn = n;

			if (cn > 6 && !strncmp(c + cn - 6, ".scope", 6))
				cn -= 6;
			for (size_t r = 0; r < sizeof(runtimes) / sizeof(runtimes[0]); r++) {
				size_t rl = strlen(runtimes[r]);

				if (cn > rl && !strncmp(c, runtimes[r], rl)) {
					c += rl;
					cn -= rl;
					break;
				}
			}
			if (container_id(c, cn)) {
				memcpy(id->container, c, cn);
				id->container[cn] = 0;
			}
		}
		p += n + (slash != NULL);
	}
}

/* A Kubernetes namespace is a DNS label: [a-z0-9-], 1..63, alphanumeric at both ends. */
static bool dns_label(const char *s, size_t n)
{
	if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

void vm_identity_finish(struct vm_identity *id)
{
	const char *us = strchr(id->name, '_');

	/* KubeVirt names the libvirt domain NAMESPACE_VMINAME; a namespace has no '_' */
	if (id->pod_uid[0] && us && us[1] && dns_label(id->name, (size_t)(us - id->name))) {
		memcpy(id->namespace, id->name, (size_t)(us - id->name));
		id->namespace[us - id->name] = 0;
	}
}
