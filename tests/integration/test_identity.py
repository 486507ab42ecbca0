"""Issue 15: VM identity. QEMU started with -name guest=web-01,debug-threads=on -uuid, and one
without: the name, uuid and vCPU thread names in JSON, text, the TUI, a recording's report and doctor;
-p web-01 selects it; the unnamed one shows no name. A VMM in a cgroup of the test's making:
the cgroup appears."""
import json
import os
import re
import subprocess
import time
import uuid

from conftest import DIRTYGEN, DIRTYTOP, missing
from test_tui import screens, table  # noqa: F401 (fixture)
from vmm import QMP, Kicker, build_guest, qemu_args, qemu_ready, stop  # noqa: F401 (fixture)

NAME = "web-01"
UUID = "5a1c0d2e-6f0b-4c53-9c3b-2b7e0c9a41d7"


def watch(top, want, deadline_s=90):
    """dirtytop's JSON lines until want(record) holds; that record."""
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        line = top.stdout.readline()
        if not line:
            break
        last = json.loads(line)
        if want(last):
            return last
    raise AssertionError(f"never as expected; last record: {json.dumps(last)[:3000]}")


def by_pid(rec, pid):
    return [vm for vm in rec["vms"] if vm["pid"] == pid]


def test_qemu_names(qemu_ready, screens, tmp):
    image = build_guest(tmp)
    named = unnamed = kicker = None
    qmps = []
    top = subprocess.Popen([DIRTYTOP, "--json", "-d", "1"], stdout=subprocess.PIPE, text=True)
    try:
        top.stdout.readline()
        named = subprocess.Popen(qemu_args(image, 64, 4096, qmp=[tmp / "n.qmp"]) +
                                 ["-name", f"guest={NAME},debug-threads=on", "-uuid", UUID.upper()],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        unnamed = subprocess.Popen(qemu_args(image, 64, 4096, qmp=[tmp / "u.qmp"]), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        qmps = [QMP(tmp / "n.qmp", named), QMP(tmp / "u.qmp", unnamed)]
        kicker = Kicker(qmps)

        def ready(rec):
            n = [vm for vm in by_pid(rec, named.pid) if len(vm["vcpus"]) == 2 and all(c["tid"] for c in vm["vcpus"])]
            u = [vm for vm in by_pid(rec, unnamed.pid) if len(vm["vcpus"]) == 2 and all(c["tid"] for c in vm["vcpus"])]
            return n and u
        rec = watch(top, ready)
        vm = next(v for v in by_pid(rec, named.pid) if v["vcpus"])
        assert vm["name"] == NAME and vm["uuid"] == UUID, json.dumps(vm)[:2000]
        assert vm["cgroup"] and vm["cgroup"].startswith("/")
        assert sorted(c["thread_name"] for c in vm["vcpus"]) == ["CPU 0/KVM", "CPU 1/KVM"]
        other = next(v for v in by_pid(rec, unnamed.pid) if v["vcpus"])
        assert other["name"] is None and other["uuid"] is None
        assert all(c["thread_name"] is None for c in other["vcpus"])

        # -p NAME (and a glob) selects the named VM only, in text with its thread names
        for sel in (NAME, "web-*"):
            p = subprocess.run([DIRTYTOP, "-b", "-V", "-d", "1", "-n", "2", "-p", sel],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            assert f" {named.pid} " in p.stdout and f" {unnamed.pid} " not in p.stdout, p.stdout
            assert NAME in p.stdout and "CPU 0/KVM" in p.stdout and f"uuid {UUID}" in p.stdout, p.stdout
        p = subprocess.run([DIRTYTOP, "--json", "-d", "1", "-n", "2", "-p", "nosuch"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and all(not json.loads(l)["vms"] for l in p.stdout.splitlines())

        # the TUI: the NAME column (the unnamed VM: "-"), the vCPU rows' thread names; -p NAME
        # keeps the named VM only, and its detail page shows the uuid and the threads
        s = screens("names", ["-d", "1"])
        s.wait_ready()

        def rows(lines):
            vms = table(lines) or []
            n = [v for v in vms if v["pid"] == named.pid]
            u = [v for v in vms if v["pid"] == unnamed.pid]
            return n and u and (n, u)
        n, u = s.wait("both QEMUs' rows", rows, 120)
        assert [v["name"] for v in n] == [NAME] and [v["name"] for v in u] == ["-"], s.dump()
        s.keys("e")  # every VM expanded: its vCPU rows

        def threads(lines):
            got = rows(lines)
            if not got or len(got[0][0]["vcpu_rows"]) != 2 or len(got[1][0]["vcpu_rows"]) != 2:
                return None
            return got
        n, u = s.wait("both QEMUs' vCPU rows", threads)
        assert sorted(m.group(0) for r in n[0]["vcpu_rows"] if (m := re.search(r"CPU \d+/KVM", r["line"]))) == \
            ["CPU 0/KVM", "CPU 1/KVM"], s.dump()
        assert not any("/KVM" in r["line"] for r in u[0]["vcpu_rows"]), s.dump()
        s.keys("q")
        assert s.wait_exit() == 0
        s = screens("by-name", ["-d", "1", "-p", NAME])
        s.wait_ready()
        s.wait("the named VM's row", lambda l: [v for v in table(l) or [] if v["pid"] == named.pid], 120)
        assert all(v["pid"] == named.pid for v in table(s.lines())), s.dump()
        s.keys("i")
        s.wait_text(f"name {NAME}   uuid {UUID}")
        s.wait_text("thread CPU 1/KVM")
        assert "thread CPU 0/KVM" in s.text(), s.dump()
        s.keys("q", "q")
        assert s.wait_exit() == 0

        # a recording by name: only that VM, its identity in report and doctor
        out = tmp / "web.dtr"
        p = subprocess.run([DIRTYTOP, "record", "-q", "-o", str(out), "-d", "4", "--vm", NAME],
                           capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, p.stderr
        p = subprocess.run([DIRTYTOP, "report", "--json", str(out)], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        rep = json.loads(p.stdout)
        vms = rep["summary"]["vms"]
        assert vms and all(v["pid"] == named.pid for v in vms), p.stdout[:2000]
        assert vms[0]["name"] == NAME and vms[0]["uuid"] == UUID
        assert sorted(c["thread_name"] for c in vms[0]["vcpus"]) == ["CPU 0/KVM", "CPU 1/KVM"]
        p = subprocess.run([DIRTYTOP, "report", str(out)], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0 and NAME in p.stdout and "CPU 1/KVM" in p.stdout, p.stdout[:3000]
        p = subprocess.run([DIRTYTOP, "doctor", str(out)], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0 and f"VM 1 {NAME} (pid {named.pid}" in p.stdout, p.stdout[:3000]
        p = subprocess.run([DIRTYTOP, "report", "--perfetto", str(tmp / "t.json"), str(out)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        trace = (tmp / "t.json").read_text()
        assert f"VM 1 {NAME}: pid {named.pid}" in trace and "CPU 0/KVM" in trace
        assert named.poll() is None and unnamed.poll() is None, "QEMU died"
    finally:
        if kicker:
            kicker.stop()
        for q in qmps:
            q.close()
        stop(named)
        stop(unnamed)
        stop(top, timeout=30)


def test_cgroup_of_vmm(kvm_bpf, tmp):
    root = "/sys/fs/cgroup"
    if not os.path.exists(os.path.join(root, "cgroup.procs")) or \
            not os.path.exists(os.path.join(root, "cgroup.controllers")):
        missing("a cgroup v2 hierarchy on /sys/fs/cgroup")
    name = f"dirtytop-test-{uuid.uuid4().hex[:8]}"
    cg = os.path.join(root, name)
    os.mkdir(cg)
    try:
        script = f"echo $$ > {cg}/cgroup.procs && exec {DIRTYGEN} --quiet --truth /dev/null --vcpus 1 --duration 3"
        p = subprocess.run([DIRTYTOP, "--json", "-d", "0.5", "--", "sh", "-c", script],
                           capture_output=True, text=True, timeout=240)
        assert p.returncode == 0, p.stderr
        vms = [vm for line in p.stdout.splitlines() if line.strip() for vm in json.loads(line)["vms"]]
        assert vms, p.stdout[:2000]
        assert all(vm["cgroup"] == "/" + name for vm in vms), json.dumps(vms[-1])[:2000]
        assert all(vm["name"] is None and vm["pod_uid"] is None and vm["namespace"] is None for vm in vms)
    finally:
        os.rmdir(cg)
