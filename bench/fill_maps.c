// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fill a running dirtytop's own BPF maps with VMS x VCPUS vCPUs, as if that
 * many dirty-ring vCPUs existed, for benchmarks on a host without KVM:
 *
 *   fill_maps PID VMS VCPUS [BUSY_PAGES_S]
 *
 * PID is a running `dirtytop` (live view or exporter); its maps are found
 * through /proc/PID/fdinfo (map_id) by name, so other dirtytops on the host
 * are left alone. Every VM and vCPU belongs to this process (the VM fd
 * unknown), so dirtytop keeps them alive while this runs and sees them exit
 * when it ends. Once a second vCPU 0 of each VM moves as a busy vCPU would
 * (BUSY_PAGES_S pushes, default 2000; one ring reset per 100 ms of them,
 * their reclaimed entries, reap latency and interval histograms); the other
 * vCPUs stay idle. Occupancy peaks (epoch slots) stay zero and the vCPUs have
 * no thread: thread names are not looked up. Runs until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dt_hist_bucket.h"
#include "dt_live.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The fd of map NAME held by process pid, opened by id. */
static int find_map(int pid, const char *name)
{
	char dir[64], path[320], line[128];
	struct dirent *e;
	DIR *d;
	int found = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
	if (!(d = opendir(dir)))
		return -1;
	while (found < 0 && (e = readdir(d))) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			unsigned id;
			int fd;

			if (sscanf(line, "map_id: %u", &id) != 1)
				continue;
			fd = bpf_map_get_fd_by_id(id);
			if (fd < 0)
				break;
			if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, name))
				found = fd;
			else
				close(fd);
			break;
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static void hist_add(struct dt_hist *h, uint64_t v, uint32_t n)
{
	h->count[dt_hist_bucket(v)] += n;
	h->sum += v * n;
	if (v > h->max)
		h->max = v;
}

int main(int argc, char **argv)
{
	unsigned vms, vcpus;
	uint64_t busy = 2000, now;
	int pid, vfd, mfd, sfd;
	struct dt_vcpu *cpu;
	struct dt_vm *vm;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: fill_maps PID VMS VCPUS [BUSY_PAGES_S]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	vms = (unsigned)atoi(argv[2]);
	vcpus = (unsigned)atoi(argv[3]);
	if (argc == 5)
		busy = strtoull(argv[4], NULL, 10);
	vfd = find_map(pid, "vcpus");
	mfd = find_map(pid, "vms");
	sfd = find_map(pid, "memslots");
	if (vfd < 0 || mfd < 0 || sfd < 0) {
		fprintf(stderr, "fill_maps: process %d holds no dirtytop maps (vcpus, vms, memslots)\n", pid);
		return 1;
	}
	cpu = calloc((size_t)vms * vcpus, sizeof(*cpu));
	vm = calloc(vms, sizeof(*vm));
	if (!cpu || !vm)
		abort();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	now = mono_ns();
	for (unsigned v = 0; v < vms; v++) {
		uint64_t key = 0xffff888100000000ull + ((uint64_t)v << 24);

		vm[v] = (struct dt_vm){ .tgid = (__u32)getpid(), .fd = -1, .created_ns = now, .first_seen_ns = now,
					.ring_bytes = 4096 * 16, .flags = DT_VM_RING | DT_VM_FROM_CREATE };
		if (bpf_map_update_elem(mfd, &key, &vm[v], BPF_ANY)) {
			fprintf(stderr, "fill_maps: vms: %s\n", strerror(errno));
			return 1;
		}
		for (unsigned s = 0; s < 2; s++) {	/* RAM below and above 4 GiB, as QEMU lays it out */
			struct dt_memslot_key sk = { .vm = key, .slot = s };
			struct dt_memslot sm = { .gpa = s ? 1ull << 32 : 0, .size = s ? 1ull << 30 : 3ull << 30,
						 .known = 1, .first_seen_ns = now };

			bpf_map_update_elem(sfd, &sk, &sm, BPF_ANY);
		}
		for (unsigned c = 0; c < vcpus; c++) {
			struct dt_vcpu *x = &cpu[v * vcpus + c];
			uint64_t ck = key + 0x1000 + (uint64_t)c * 0x2000;

			*x = (struct dt_vcpu){ .vm = key, .tgid = (__u32)getpid(), .vcpu_id = (int)c, .ring_size = 4096,
					       .soft_limit = 4096 - 64, .flags = DT_VCPU_FROM_CREATE,
					       .created_ns = now, .first_seen_ns = now };
			if (bpf_map_update_elem(vfd, &ck, x, BPF_ANY)) {
				fprintf(stderr, "fill_maps: vcpus (%u entries so far): %s\n", v * vcpus + c,
					strerror(errno));
				return 1;
			}
		}
	}
	printf("filled %u VMs x %u vCPUs\n", vms, vcpus);
	fflush(stdout);

	while (!stop) {
		struct timespec one = { 1, 0 };
		uint64_t per_reset = busy / 10;

		nanosleep(&one, NULL);
		now = mono_ns();
		for (unsigned v = 0; v < vms && !stop; v++) {
			uint64_t key = 0xffff888100000000ull + ((uint64_t)v << 24);
			struct dt_vcpu *x = &cpu[v * vcpus];

			x->pushes += busy;
			x->dirty_index += (uint32_t)busy;
			x->reset_index = x->dirty_index;
			x->reset_dirty_index = x->dirty_index;
			x->userspace_exits += busy / 64;	/* a push batch exits every 64 pages */
			x->ring_resets += 10;
			x->entries_reset += busy;
			x->last_reset_ns = now;
			hist_add(&x->reap_interval_us, 100000, 10);
			hist_add(&x->reap_latency_us, 100000 + (now / 1000) % 20000, 10);
			hist_add(&x->reclaimed, per_reset, 10);
			bpf_map_update_elem(vfd, &(uint64_t){ key + 0x1000 }, x, BPF_EXIST);
			vm[v].reset_calls += 10;
			vm[v].reset_entries += busy;
			hist_add(&vm[v].reset_latency_ns, 20000 + (now / 1000) % 5000, 10);
			hist_add(&vm[v].reset_entries_hist, per_reset, 10);
			bpf_map_update_elem(mfd, &key, &vm[v], BPF_EXIST);
		}
	}
	return 0;
}
