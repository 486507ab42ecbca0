// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sys/procinfo.h"

/* Process start in CLOCK_MONOTONIC ns (field 22 of /proc/PID/stat, in clock ticks since boot). */
static bool start_time_ns(uint32_t tgid, uint64_t *out)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');	/* comm may contain spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return false;
	*out = start * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	return true;
}

/* A whole small /proc file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

static bool read_comm(const char *path, char *out, size_t len)
{
	char buf[64];
	size_t n;

	if (read_small(path, buf, sizeof(buf)) < 0)
		return false;
	n = strcspn(buf, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(out, buf, n);
	out[n] = 0;
	return true;
}

bool procinfo_identity(uint32_t tgid, struct vm_identity *out)
{
	char path[64], buf[8192];
	ssize_t n;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%u/cmdline", tgid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return false;	/* gone, or a kernel thread */
	vm_identity_from_cmdline(out, buf, (size_t)n);
	snprintf(path, sizeof(path), "/proc/%u/cgroup", tgid);
	if (read_small(path, buf, sizeof(buf)) > 0)
		vm_identity_from_cgroup_file(out, buf);
	vm_identity_finish(out);
	return true;
}

void procinfo_thread_name(uint32_t tgid, uint32_t tid, char *out, size_t len)
{
	char path[64], comm[VM_THREAD_NAME_LEN], name[VM_THREAD_NAME_LEN];

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	if (!read_comm(path, comm, sizeof(comm)))
		return;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", tgid, tid);
	/* a thread that never named itself carries the process's comm: no name of its own */
	if (read_comm(path, name, sizeof(name)) && strcmp(name, comm) != 0)
		memcpy(out, name, len < sizeof(name) ? len : sizeof(name));
}

size_t procinfo_find_named(const struct vm_filter *f, uint32_t *pids, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct vm_identity id;
		char *end;
		unsigned long pid = strtoul(e->d_name, &end, 10);

		if (!isdigit((unsigned char)e->d_name[0]) || *end || !pid)
			continue;
		if (!procinfo_identity((uint32_t)pid, &id) || !vm_filter_match(f, (uint32_t)pid, id.name))
			continue;
		if (n < cap)
			pids[n] = (uint32_t)pid;
		n++;
	}
	closedir(d);
	return n;
}

void procinfo_lookup(void *ctx, const struct proc_query *q, struct proc_facts *out)
{
	char path[64], link[64];
	uint32_t tgid = q->tgid;
	int32_t fd = q->fd;
	uint64_t start, first_seen_ns = q->first_seen_ns;
	ssize_t n;

	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (q->tid) {
		procinfo_thread_name(tgid, q->tid, out->thread_name, sizeof(out->thread_name));
		return;
	}
	snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	if (!read_comm(path, out->comm, sizeof(out->comm)))
		return;	/* gone */
	out->alive = true;
	if (q->want_identity)
		out->have_identity = procinfo_identity(tgid, &out->identity);

	/* a process that started after we first saw the VM reuses a dead VMM's pid */
	if (start_time_ns(tgid, &start) && start > first_seen_ns + 1000000000ull) {
		out->alive = false;
		return;
	}
	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%u/fd/%d", tgid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			out->alive = false;	/* the VM fd was closed */
		return;
	}
	link[n] = 0;
	if (strcmp(link, "anon_inode:kvm-vm") != 0)
		out->alive = false;
}

bool procinfo_alive(uint32_t tgid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* "pid (comm) S ...": the state after the last ')' (comm may hold one) */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}
