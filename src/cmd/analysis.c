// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared by `dirtytop tune` and `dirtytop doctor`: the recording's span
 * (first pass, as `dirtytop report` does), a live recording through
 * `dirtytop record`, and the VMM's TCP traffic (sock_diag) for a measured
 * migration bandwidth.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include "cmd/analysis.h"
#include "core/recording.h"
#include "core/exit_status.h"
#include "cmd/commands.h"

/* The recording module (core/recording.h) under the names doctor.c uses. */
int analysis_span(const char *path, struct rec_span *out, char *err, size_t errlen)
{
	struct recording rec;

	memset(out, 0, sizeof(*out));
	if (recording_scan(path, &rec, err, errlen) != REC_OK)
		return EXIT_RUNTIME;
	out->h = rec.h;
	out->start_ns = rec.start_ns;
	out->end_ns = rec.end_ns;
	out->blocks = rec.blocks;
	out->status = rec.status;
	snprintf(out->message, sizeof(out->message), "%s", rec.message);
	out->stats = rec.stats;
	if (!recording_readable(&rec)) {
		snprintf(err, errlen, "%s: %s", path, rec.message);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int analysis_open(const char *path, const struct rec_span *span, FILE **f, struct rec_reader **rd, char *err,
		  size_t errlen)
{
	if (recording_open(path, f, rd, err, errlen) != REC_OK)
		return -1;
	recr_limit_blocks(*rd, span->blocks);
	return 0;
}

int analysis_record(double secs, uint32_t pid, char **command, char *path, size_t pathlen)
{
	const char *dir = getenv("TMPDIR");
	char *argv[64], dur[32], pidbuf[16];
	int argc = 0, fd;

	snprintf(path, pathlen, "%s/dirtytop-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "dirtytop: cannot create a temporary recording in %s: %s\n",
			dir && *dir ? dir : "/tmp", strerror(errno));
		return EXIT_RUNTIME;
	}
	close(fd);
	argv[argc++] = "record";
	argv[argc++] = "-o";
	argv[argc++] = path;
	argv[argc++] = "-f";
	argv[argc++] = "-q";
	if (secs > 0) {
		snprintf(dur, sizeof(dur), "%.3f", secs);
		argv[argc++] = "-d";
		argv[argc++] = dur;
	}
	if (pid) {
		snprintf(pidbuf, sizeof(pidbuf), "%u", pid);
		argv[argc++] = "-p";
		argv[argc++] = pidbuf;
	}
	if (command && command[0]) {
		argv[argc++] = "-c";
		argv[argc++] = "--";
		for (int i = 0; command[i] && argc < 63; i++)
			argv[argc++] = command[i];
	}
	argv[argc] = NULL;
	return record_main(argc, argv);
}

/* --- the VMM's TCP traffic --- */

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

static size_t socket_inodes(pid_t pid, unsigned long **out)
{
	char path[64], link[64];
	struct dirent *de;
	size_t n = 0, cap = 0;
	unsigned long *v = NULL;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char fp[320];
		ssize_t l;
		unsigned long ino;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "%s/%s", path, de->d_name);
		l = readlink(fp, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		v[n++] = ino;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_ul);
	*out = v;
	return n;
}

static int dump_family(int family, const unsigned long *inodes, size_t n, uint64_t *sum)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = (__u8)family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_ext = 1 << (INET_DIAG_INFO - 1), .idiag_states = ~0u },
	};
	char buf[32768];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), done = 0;

	if (fd < 0)
		return -1;
	if (send(fd, &msg, sizeof(msg), 0) != sizeof(msg)) {
		close(fd);
		return -1;
	}
	while (!done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len <= 0)
			break;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			struct inet_diag_msg *m;
			struct rtattr *a;
			int alen;
			unsigned long ino;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			m = NLMSG_DATA(h);
			ino = m->idiag_inode;
			if (!bsearch(&ino, inodes, n, sizeof(*inodes), cmp_ul))
				continue;
			alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (a = (struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				struct tcp_info ti = {};

				if (a->rta_type != INET_DIAG_INFO)
					continue;
				memcpy(&ti, RTA_DATA(a), (size_t)RTA_PAYLOAD(a) < sizeof(ti) ? (size_t)RTA_PAYLOAD(a) : sizeof(ti));
				*sum += ti.tcpi_bytes_acked;
			}
		}
	}
	close(fd);
	return 0;
}

int analysis_tcp_bytes_acked(pid_t pid, uint64_t *bytes)
{
	unsigned long *inodes = NULL;
	size_t n = socket_inodes(pid, &inodes);
	int r4, r6;

	*bytes = 0;
	if (!n) {
		free(inodes);
		return -1;
	}
	r4 = dump_family(AF_INET, inodes, n, bytes);
	r6 = dump_family(AF_INET6, inodes, n, bytes);
	free(inodes);
	return r4 && r6 ? -1 : 0;
}
