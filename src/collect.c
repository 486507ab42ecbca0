// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect.h"
#include "dirtytop.skel.h"

#define TRACEFS "/sys/kernel/tracing"

struct collector {
	struct dirtytop_bpf *skel;
	enum hook_mode mode;
	bool verbose;
	uint32_t heat_shift;
};

static bool g_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !g_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool has_caps_for_bpf(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	const int want[] = { 39 /* CAP_BPF */, 38 /* CAP_PERFMON */ };

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!(data[want[i] / 32].effective & (1u << (want[i] % 32))))
			return false;
	return true;
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* tp programs need tracefs; mount it where the kernel expects it if nobody did. */
static int ensure_tracefs(char *err, size_t errlen, bool verbose)
{
	if (path_exists(TRACEFS "/events") || path_exists("/sys/kernel/debug/tracing/events"))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0) {
		if (verbose)
			fprintf(stderr, "dirtytop: mounted tracefs on %s\n", TRACEFS);
		return 0;
	}
	snprintf(err, errlen, "tracefs is not mounted and mounting it on %s failed: %s\n"
		 "  mount it first: mount -t tracefs nodev %s", TRACEFS, strerror(errno), TRACEFS);
	return EXIT_KERNEL;
}

static const char *events_dir(void)
{
	return path_exists(TRACEFS "/events") ? TRACEFS "/events" : "/sys/kernel/debug/tracing/events";
}

static int check_tracepoints(char *err, size_t errlen)
{
	static const char *needed[] = {
		"kvm/kvm_dirty_ring_push", "kvm/kvm_dirty_ring_reset", "kvm/kvm_dirty_ring_exit",
		"kvm/kvm_userspace_exit", "syscalls/sys_enter_ioctl", "syscalls/sys_exit_ioctl",
	};
	char path[256];

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", events_dir(), needed[i]);
		if (!path_exists(path)) {
			snprintf(err, errlen, "this kernel has no tracepoint %s (looked for %s)%s", needed[i], path,
				 strncmp(needed[i], "kvm/", 4) ? "" :
				 "\n  dirtytop needs Linux >= 5.11 with KVM loaded (modprobe kvm_intel or kvm_amd)");
			return EXIT_KERNEL;
		}
	}
	return 0;
}

static void select_hooks(struct dirtytop_bpf *skel, enum hook_mode mode)
{
	bool btf = mode == HOOK_BTF;

	bpf_program__set_autoload(skel->progs.push_btf, btf);
	bpf_program__set_autoload(skel->progs.reset_btf, btf);
	bpf_program__set_autoload(skel->progs.exit_btf, btf);
	bpf_program__set_autoload(skel->progs.push_raw, !btf);
	bpf_program__set_autoload(skel->progs.reset_raw, !btf);
	bpf_program__set_autoload(skel->progs.exit_raw, !btf);
}

static struct dirtytop_bpf *open_and_load(enum hook_mode mode, uint32_t heat_shift, int *errout)
{
	struct dirtytop_bpf *skel = dirtytop_bpf__open();
	int e;

	if (!skel) {
		*errout = -errno;
		return NULL;
	}
	select_hooks(skel, mode);
	/* epoch tags start at 0: begin at 2 so no zeroed slot looks current */
	skel->bss->epoch = 2;
	skel->rodata->heat_shift = heat_shift;
	e = dirtytop_bpf__load(skel);
	if (e) {
		*errout = e;
		dirtytop_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

int collector_open(struct collector **out, const struct collect_opts *opts, char *err, size_t errlen)
{
	struct collector *c;
	int e = 0, rc;

	g_verbose = opts->verbose;
	libbpf_set_print(libbpf_print);
	if (!has_caps_for_bpf()) {
		snprintf(err, errlen, "dirtytop needs root, or the capabilities CAP_BPF and CAP_PERFMON "
			 "(Linux >= 5.8):\n  run it with sudo, or grant them once: "
			 "sudo setcap cap_bpf,cap_perfmon+ep %s", "$(command -v dirtytop)");
		return EXIT_PRIVILEGE;
	}
	if (!path_exists("/sys/kernel/btf/vmlinux")) {
		snprintf(err, errlen, "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): "
			 "dirtytop needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return EXIT_KERNEL;
	}
	if ((rc = ensure_tracefs(err, errlen, opts->verbose)) || (rc = check_tracepoints(err, errlen)))
		return rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->verbose = opts->verbose;
	/* pages per region: 2 MiB = 512 pages = 2^9 */
	c->heat_shift = 9 + dt_log2(opts->heat_region_mib > 2 ? opts->heat_region_mib / 2 : 1);
	if (opts->hooks != HOOK_RAW) {
		c->mode = HOOK_BTF;
		c->skel = open_and_load(HOOK_BTF, c->heat_shift, &e);
		if (!c->skel && opts->verbose)
			fprintf(stderr, "dirtytop: tp_btf programs did not load (%s)%s\n", strerror(-e),
				opts->hooks == HOOK_AUTO ? ", falling back to raw_tp" : "");
	}
	if (!c->skel && opts->hooks != HOOK_BTF) {
		c->mode = HOOK_RAW;
		c->skel = open_and_load(HOOK_RAW, c->heat_shift, &e);
	}
	if (!c->skel) {
		snprintf(err, errlen, "loading the BPF programs failed: %s (run with --verbose for the verifier log)",
			 strerror(-e));
		free(c);
		return e == -EPERM ? EXIT_PRIVILEGE : EXIT_KERNEL;
	}
	e = dirtytop_bpf__attach(c->skel);
	if (e) {
		snprintf(err, errlen, "attaching the BPF programs failed: %s", strerror(-e));
		dirtytop_bpf__destroy(c->skel);
		free(c);
		return EXIT_KERNEL;
	}
	if (opts->verbose)
		fprintf(stderr, "dirtytop: attached, hook mode %s\n", collector_hook_name(c));
	*out = c;
	return 0;
}

const char *collector_hook_name(const struct collector *c)
{
	return c->mode == HOOK_BTF ? "tp_btf" : "raw_tp";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int collector_snapshot(struct collector *c, struct snapshot *s)
{
	int vfd = bpf_map__fd(c->skel->maps.vcpus), mfd = bpf_map__fd(c->skel->maps.vms);
	uint64_t key, next, *prev;

	snapshot_reset(s);
	/* close the interval: BPF now writes the other epoch slot */
	s->epoch = c->skel->bss->epoch;
	__atomic_store_n(&c->skel->bss->epoch, s->epoch + 1, __ATOMIC_SEQ_CST);
	s->ts_ns = now_ns();

	for (prev = NULL; bpf_map_get_next_key(vfd, prev, &next) == 0; prev = &key) {
		struct snap_vcpu *sv = snapshot_add_vcpu(s);

		key = next;
		sv->key = key;
		if (bpf_map_lookup_elem(vfd, &key, &sv->v))
			s->n_vcpus--;	/* deleted meanwhile */
	}
	for (prev = NULL; bpf_map_get_next_key(mfd, prev, &next) == 0; prev = &key) {
		struct snap_vm *sm = snapshot_add_vm(s);

		key = next;
		sm->key = key;
		if (bpf_map_lookup_elem(mfd, &key, &sm->v))
			s->n_vms--;
	}
	{
		int sfd = bpf_map__fd(c->skel->maps.memslots), hfd = bpf_map__fd(c->skel->maps.heat);
		struct dt_memslot_key sk, snext, *sprev;
		struct dt_heat_key hk, hnext, *hprev;

		for (sprev = NULL; bpf_map_get_next_key(sfd, sprev, &snext) == 0; sprev = &sk) {
			struct snap_memslot *sm = snapshot_add_memslot(s);

			sk = snext;
			sm->key = sk;
			if (bpf_map_lookup_elem(sfd, &sk, &sm->v))
				s->n_memslots--;
		}
		for (hprev = NULL; bpf_map_get_next_key(hfd, hprev, &hnext) == 0; hprev = &hk) {
			struct snap_heat *sh = snapshot_add_heat(s);

			hk = hnext;
			sh->key = hk;
			if (bpf_map_lookup_elem(hfd, &hk, &sh->pages))
				s->n_heat--;
		}
	}
	s->heat_shift = c->heat_shift;
	return 0;
}

static bool key_listed(const struct key_list *l, uint64_t key)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->keys[i] == key)
			return true;
	return false;
}

void collector_forget(struct collector *c, const struct key_list *vms, const struct key_list *vcpus)
{
	int vfd = bpf_map__fd(c->skel->maps.vcpus);
	struct dt_vcpu v;

	for (size_t i = 0; i < vcpus->n; i++) {
		if (!bpf_map_lookup_elem(vfd, &vcpus->keys[i], &v) && v.tid)
			bpf_map_delete_elem(bpf_map__fd(c->skel->maps.threads), &v.tid);
		bpf_map_delete_elem(vfd, &vcpus->keys[i]);
		bpf_map_delete_elem(bpf_map__fd(c->skel->maps.ring_ts), &vcpus->keys[i]);
	}
	for (size_t i = 0; i < vms->n; i++)
		bpf_map_delete_elem(bpf_map__fd(c->skel->maps.vms), &vms->keys[i]);
	if (!vms->n)
		return;
	/* the memslots and heat regions of those VMs */
	{
		int sfd = bpf_map__fd(c->skel->maps.memslots), hfd = bpf_map__fd(c->skel->maps.heat);
		struct dt_memslot_key sk, snext, *sprev = NULL;
		struct dt_heat_key hk, hnext, *hprev = NULL;

		while (bpf_map_get_next_key(sfd, sprev, &snext) == 0) {
			if (key_listed(vms, snext.vm)) {
				bpf_map_delete_elem(sfd, &snext);
				continue;	/* restart from the same predecessor */
			}
			sk = snext;
			sprev = &sk;
		}
		while (bpf_map_get_next_key(hfd, hprev, &hnext) == 0) {
			if (key_listed(vms, hnext.vm)) {
				bpf_map_delete_elem(hfd, &hnext);
				continue;
			}
			hk = hnext;
			hprev = &hk;
		}
	}
}

static size_t count_entries(int fd, size_t keysz)
{
	char key[32], next[32];
	void *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, keysz);
		prev = key;
		n++;
	}
	return n;
}

size_t collector_map_entries(struct collector *c)
{
	return count_entries(bpf_map__fd(c->skel->maps.vcpus), 8) +
	       count_entries(bpf_map__fd(c->skel->maps.ring_ts), 8) +
	       count_entries(bpf_map__fd(c->skel->maps.vms), 8) +
	       count_entries(bpf_map__fd(c->skel->maps.threads), 4) +
	       count_entries(bpf_map__fd(c->skel->maps.memslots), sizeof(struct dt_memslot_key)) +
	       count_entries(bpf_map__fd(c->skel->maps.heat), sizeof(struct dt_heat_key));
}

void collector_close(struct collector *c)
{
	if (!c)
		return;
	dirtytop_bpf__destroy(c->skel);
	free(c);
}
