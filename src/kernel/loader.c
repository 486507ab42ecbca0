// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "kernel/loader.h"

#define TRACEFS "/sys/kernel/tracing"

/* Where to look; the environment may point elsewhere (tests of the error paths). */
static const char *btf_path(void)
{
	const char *p = getenv("DIRTYTOP_BTF");

	return p ? p : "/sys/kernel/btf/vmlinux";
}

static const char *tracefs_override(void)
{
	return getenv("DIRTYTOP_TRACEFS");
}

const char *hook_mode_name(enum hook_mode m)
{
	return m == HOOK_BTF ? "tp_btf" : "raw_tp";
}

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
	if (tracefs_override() || path_exists(TRACEFS "/events") ||
	    path_exists("/sys/kernel/debug/tracing/events"))
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
	static char dir[256];

	if (tracefs_override()) {
		snprintf(dir, sizeof(dir), "%s/events", tracefs_override());
		return dir;
	}
	return path_exists(TRACEFS "/events") ? TRACEFS "/events" : "/sys/kernel/debug/tracing/events";
}

static int check_tracepoints(char *err, size_t errlen)
{
	static const char *needed[] = {
		"kvm/kvm_dirty_ring_push", "kvm/kvm_dirty_ring_reset", "kvm/kvm_dirty_ring_exit",
		"kvm/kvm_userspace_exit", "syscalls/sys_enter_ioctl", "syscalls/sys_exit_ioctl",
	};
	char path[512];

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

int loader_check_kernel(bool verbose, char *err, size_t errlen)
{
	int rc;

	if (!has_caps_for_bpf()) {
		char self[256] = "dirtytop";
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n > 0)
			self[n] = 0;
		snprintf(err, errlen, "not enough privilege to load BPF programs: run as root, or with the "
			 "capabilities CAP_BPF and CAP_PERFMON (Linux >= 5.8):\n  sudo %s\n"
			 "  or grant them once: sudo setcap cap_bpf,cap_perfmon+ep %s", self, self);
		return EXIT_PRIVILEGE;
	}
	if (!path_exists(btf_path())) {
		snprintf(err, errlen, "this kernel has no BTF (%s is missing): "
			 "dirtytop needs a kernel built with CONFIG_DEBUG_INFO_BTF=y", btf_path());
		return EXIT_KERNEL;
	}
	if ((rc = ensure_tracefs(err, errlen, verbose)) || (rc = check_tracepoints(err, errlen)))
		return rc;
	return 0;
}

void loader_select_hooks(const struct loader_hooks *h, enum hook_mode mode)
{
	bool btf = mode == HOOK_BTF;

	for (int i = 0; i < LOADER_HOOKS; i++) {
		bpf_program__set_autoload(h->btf[i], btf);
		bpf_program__set_autoload(h->raw[i], !btf);
	}
}

int loader_load(enum hook_mode want, bool verbose, loader_load_fn load, void *ctx, enum hook_mode *got,
		char *err, size_t errlen)
{
	int e = -ENOENT, rc;

	g_verbose = verbose;
	libbpf_set_print(libbpf_print);
	if ((rc = loader_check_kernel(verbose, err, errlen)))
		return rc;
	/* tp_btf first: it reads the tracepoint's arguments without copying them */
	if (want != HOOK_RAW) {
		e = load(ctx, HOOK_BTF);
		if (!e) {
			*got = HOOK_BTF;
			return 0;
		}
		if (verbose)
			fprintf(stderr, "dirtytop: tp_btf programs did not load (%s)%s\n", strerror(-e),
				want == HOOK_AUTO ? ", falling back to raw_tp" : "");
	}
	if (want != HOOK_BTF) {
		e = load(ctx, HOOK_RAW);
		if (!e) {
			*got = HOOK_RAW;
			return 0;
		}
	}
	snprintf(err, errlen, "loading the BPF programs failed: %s (run with --verbose for the verifier log)",
		 strerror(-e));
	return e == -EPERM ? EXIT_PRIVILEGE : EXIT_KERNEL;
}
