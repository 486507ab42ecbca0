// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
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

void procinfo_lookup(void *ctx, uint32_t tgid, int32_t fd, uint64_t first_seen_ns, struct proc_facts *out)
{
	char path[64], link[64];
	uint64_t start;
	ssize_t n;
	FILE *f;

	(void)ctx;
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	f = fopen(path, "re");
	if (!f)
		return;	/* gone */
	if (fgets(out->comm, sizeof(out->comm), f))
		out->comm[strcspn(out->comm, "\n")] = 0;
	fclose(f);
	out->alive = true;

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
