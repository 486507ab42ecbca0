// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The bytes a process's TCP sockets had acknowledged: its sockets' inodes
 * from /proc/PID/fd, their tcp_info from sock_diag (NETLINK_SOCK_DIAG).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include "core/util.h"
#include "sys/sockdiag.h"

static size_t socket_inodes(pid_t pid, uint64_t **out)
{
	char path[64], link[64];
	struct dirent *de;
	size_t n = 0, cap = 0;
	uint64_t *v = NULL;
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
		DT_GROW(v, n, cap);
		v[n++] = ino;
	}
	closedir(d);
	dt_sort(v, n, sizeof(*v), dt_cmp_u64);
	*out = v;
	return n;
}

static int dump_family(int family, const uint64_t *inodes, size_t n, uint64_t *sum)
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
			uint64_t ino;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			m = NLMSG_DATA(h);
			ino = m->idiag_inode;
			if (!bsearch(&ino, inodes, n, sizeof(*inodes), dt_cmp_u64))
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

int sockdiag_tcp_bytes_acked(pid_t pid, uint64_t *bytes)
{
	uint64_t *inodes = NULL;
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
