// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* VM identity from real command lines (libvirt's QEMU, Firecracker) and cgroup files (systemd, cgroupfs, KubeVirt). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/vm_identity.h"

/* argv joined with NULs, as /proc/PID/cmdline */
static size_t cmdline(char *buf, size_t cap, const char *const *argv)
{
	size_t n = 0;

	for (; *argv; argv++) {
		size_t l = strlen(*argv) + 1;

		assert_true(n + l <= cap);
		memcpy(buf + n, *argv, l);
		n += l;
	}
	return n;
}

static void from_argv(struct vm_identity *id, const char *const *argv)
{
	char buf[4096];
	size_t n = cmdline(buf, sizeof(buf), argv);

	memset(id, 0, sizeof(*id));
	vm_identity_from_cmdline(id, buf, n);
	vm_identity_finish(id);
}

static void test_libvirt_qemu(void **state)
{
	/* how libvirt 9 starts a domain (abridged) */
	static const char *const argv[] = {
		"/usr/bin/qemu-system-x86_64", "-name", "guest=web-01,debug-threads=on", "-S", "-object",
		"{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":\"/var/lib/libvirt/qemu/domain-3-web-01/master-key.aes\"}",
		"-machine", "pc-q35-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram", "-accel",
		"kvm,dirty-ring-size=4096", "-m", "size=4194304k", "-uuid", "5A1C0D2E-6F0B-4C53-9C3B-2B7E0C9A41D7",
		"-no-user-config", "-nodefaults", NULL };
	struct vm_identity id;

	(void)state;
	from_argv(&id, argv);
	assert_string_equal(id.name, "web-01");
	assert_string_equal(id.uuid, "5a1c0d2e-6f0b-4c53-9c3b-2b7e0c9a41d7");
	assert_string_equal(id.namespace, "");	/* not in a pod */
}

static void test_qemu_name_forms(void **state)
{
	static const char *const plain[] = { "qemu-system-x86_64", "-name", "db", "-m", "512", NULL };
	static const char *const process[] = { "/usr/libexec/qemu-kvm", "--name", "db2,process=qemu:db2", NULL };
	static const char *const commas[] = { "qemu-system-aarch64", "-name", "guest=a,,b,debug-threads=on", NULL };
	static const char *const last[] = { "qemu-system-x86_64", "-m", "512", "-name", NULL };
	static const char *const bad_uuid[] = { "qemu-system-x86_64", "-uuid", "not-a-uuid", NULL };
	static const char *const none[] = { "qemu-system-x86_64", "-m", "512", "-accel", "kvm", NULL };
	struct vm_identity id;

	(void)state;
	from_argv(&id, plain);
	assert_string_equal(id.name, "db");
	from_argv(&id, process);
	assert_string_equal(id.name, "db2");
	from_argv(&id, commas);
	assert_string_equal(id.name, "a,b");
	from_argv(&id, last);
	assert_string_equal(id.name, "");
	from_argv(&id, bad_uuid);
	assert_string_equal(id.uuid, "");
	from_argv(&id, none);
	assert_false(vm_identity_known(&id));
}

static void test_other_vmms(void **state)
{
	static const char *const fc[] = { "/usr/bin/firecracker", "--id", "fc-vm-7", "--api-sock",
					  "/run/firecracker.socket", NULL };
	static const char *const fc_eq[] = { "firecracker", "--id=fc-8", NULL };
	static const char *const ch[] = { "cloud-hypervisor", "--api-socket", "/tmp/ch.sock", "--kernel",
					  "vmlinux", "--cpus", "boot=2", "--memory", "size=1G", NULL };
	static const char *const dg[] = { "build/dirtygen", "--vcpus", "2", "--name", "x", NULL };
	struct vm_identity id;

	(void)state;
	from_argv(&id, fc);
	assert_string_equal(id.name, "fc-vm-7");
	from_argv(&id, fc_eq);
	assert_string_equal(id.name, "fc-8");
	from_argv(&id, ch);	/* Cloud Hypervisor has no name on its command line */
	assert_false(vm_identity_known(&id));
	from_argv(&id, dg);	/* nor has dirtygen: a --name there is not ours to read */
	assert_false(vm_identity_known(&id));
}

static void from_cgroup(struct vm_identity *id, const char *text)
{
	memset(id, 0, sizeof(*id));
	vm_identity_from_cgroup_file(id, text);
}

static void test_cgroup_systemd(void **state)
{
	struct vm_identity id;

	(void)state;
	/* libvirt's machine scope, cgroup v2 */
	from_cgroup(&id, "0::/machine.slice/machine-qemu\\x2d3\\x2dweb\\x2d01.scope/libvirt/emulator\n");
	assert_string_equal(id.cgroup, "/machine.slice/machine-qemu\\x2d3\\x2dweb\\x2d01.scope/libvirt/emulator");
	assert_string_equal(id.pod_uid, "");
	assert_string_equal(id.container, "");
	/* a user's service */
	from_cgroup(&id, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vm.service");
	assert_string_equal(id.cgroup, "/user.slice/user-1000.slice/user@1000.service/app.slice/vm.service");
}

static void test_cgroup_v1(void **state)
{
	struct vm_identity id;

	(void)state;
	from_cgroup(&id,
		    "12:pids:/system.slice/libvirtd.service\n"
		    "11:cpu,cpuacct:/machine.slice/machine-qemu\\x2d1\\x2dvm.scope\n"
		    "1:name=systemd:/machine.slice/machine-qemu\\x2d1\\x2dvm.scope\n"
		    "0::/\n");
	assert_string_equal(id.cgroup, "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope");
}

/* KubeVirt's virt-launcher pod, containerd with the systemd cgroup driver (burstable QoS), cgroup v2 */
static void test_kubevirt_systemd(void **state)
{
	static const char *const argv[] = { "/usr/libexec/qemu-kvm", "-name", "guest=vms-prod_fedora-1,debug-threads=on",
					    "-uuid", "0f6e8b4a-2d4c-5f0e-9b8e-1c2d3e4f5a6b", NULL };
	char buf[1024];
	size_t n = cmdline(buf, sizeof(buf), argv);
	struct vm_identity id;

	(void)state;
	from_cgroup(&id, "0::/kubepods.slice/kubepods-burstable.slice/"
			 "kubepods-burstable-pod5f3b1c9e_2a4d_4e8f_9b1a_7c6d5e4f3a21.slice/"
			 "cri-containerd-3f9a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8.scope\n");
	vm_identity_from_cmdline(&id, buf, n);
	vm_identity_finish(&id);
	assert_string_equal(id.pod_uid, "5f3b1c9e-2a4d-4e8f-9b1a-7c6d5e4f3a21");
	assert_string_equal(id.container, "3f9a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8");
	assert_string_equal(id.name, "vms-prod_fedora-1");
	assert_string_equal(id.namespace, "vms-prod");
}

/* guaranteed QoS (no QoS level), CRI-O; a dedicated-CPU VMI's housekeeping sub-cgroup below the container */
static void test_kubevirt_guaranteed_crio(void **state)
{
	struct vm_identity id;

	(void)state;
	from_cgroup(&id, "0::/kubepods.slice/kubepods-pod0a1b2c3d_4e5f_6a7b_8c9d_0e1f2a3b4c5d.slice/"
			 "crio-aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233.scope/housekeeping\n");
	assert_string_equal(id.pod_uid, "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d");
	assert_string_equal(id.container, "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233");
	/* the conmon scope next to a CRI-O container is not the container */
	from_cgroup(&id, "0::/kubepods.slice/kubepods-besteffort.slice/"
			 "kubepods-besteffort-pod0a1b2c3d_4e5f_6a7b_8c9d_0e1f2a3b4c5d.slice/"
			 "crio-conmon-aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233.scope\n");
	assert_string_equal(id.pod_uid, "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d");
	assert_string_equal(id.container, "");
}

/* the cgroupfs driver (cgroup v1 and v2) */
static void test_kubepods_cgroupfs(void **state)
{
	struct vm_identity id;

	(void)state;
	from_cgroup(&id, "0::/kubepods/burstable/pod7c9e6679-7425-40de-944b-e07fc1f90ae7/"
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	assert_string_equal(id.pod_uid, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
	assert_string_equal(id.container, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	from_cgroup(&id, "4:cpu,cpuacct:/kubepods/pod7c9e6679-7425-40de-944b-e07fc1f90ae7/"
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
			 "1:name=systemd:/kubepods/pod7c9e6679-7425-40de-944b-e07fc1f90ae7/"
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	assert_string_equal(id.pod_uid, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
	/* a pod-level cgroup (no container yet), and a "pod" that is no UID */
	from_cgroup(&id, "0::/kubepods/besteffort/pod7c9e6679-7425-40de-944b-e07fc1f90ae7\n");
	assert_string_equal(id.pod_uid, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
	assert_string_equal(id.container, "");
	from_cgroup(&id, "0::/kubepods/besteffort/podcast/x\n");
	assert_string_equal(id.pod_uid, "");
}

/* outside a pod a NAMESPACE_VMI-looking name is just a name; inside, a name that is no DNS label is too */
static void test_namespace_only_in_pods(void **state)
{
	struct vm_identity id;

	(void)state;
	memset(&id, 0, sizeof(id));
	strcpy(id.name, "default_vm");
	vm_identity_finish(&id);
	assert_string_equal(id.namespace, "");
	strcpy(id.pod_uid, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
	strcpy(id.name, "Default_vm");
	vm_identity_finish(&id);
	assert_string_equal(id.namespace, "");
	strcpy(id.name, "default_vm");
	vm_identity_finish(&id);
	assert_string_equal(id.namespace, "default");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libvirt_qemu),
		cmocka_unit_test(test_qemu_name_forms),
		cmocka_unit_test(test_other_vmms),
		cmocka_unit_test(test_cgroup_systemd),
		cmocka_unit_test(test_cgroup_v1),
		cmocka_unit_test(test_kubevirt_systemd),
		cmocka_unit_test(test_kubevirt_guaranteed_crio),
		cmocka_unit_test(test_kubepods_cgroupfs),
		cmocka_unit_test(test_namespace_only_in_pods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
