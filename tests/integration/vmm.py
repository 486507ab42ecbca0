"""Helpers for the tests that run QEMU (Debian's qemu-system-x86): the test guest, which is
QEMU's firmware (-bios: it runs its dirtying loop from the reset vector, no BIOS to boot), built
with a chosen working set and pace; QEMU's command line, a small QMP client, and waiting until the
guest runs its loop. Not a test module."""
import json
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import ROOT, missing

GUEST_DIR = os.path.join(ROOT, "tests", "guest")
QEMU = "/usr/bin/qemu-system-x86_64"
MIB = 1 << 20
PAGE = 4096
# PAUSE iterations between pages: 50 makes the guest dirty some 40-70 MiB/s here once
# dirty logging is on (2000, guest.S's default, only ~1 MiB/s). Faster guests (PAUSE 1)
# make QEMU 7.2 stop resetting a ring that overfilled to its full size (an exit storm).
FAST_PAUSE = 50
WS_START = MIB  # the working set starts above the low megabyte (ROM, VGA hole)
BIOS_BASE = 0xFFFF0000  # where QEMU maps a 64 KiB -bios image: the guest's loop runs here


@pytest.fixture
def qemu_ready(kvm_bpf):
    if not os.path.exists(QEMU):
        missing(f"{QEMU} (scripts/install-deps installs qemu-system-x86)")
    for tool in ("as", "objcopy"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            missing("binutils (as, objcopy) to build the test guest")


def build_guest(tmp, pause=FAST_PAUSE, ws_mib=16, ws_pages=None, fill_pages=0):
    """tests/guest/guest.S as a -bios image: it rewrites ws_pages pages (default ws_mib MiB) from
    1 MiB in a loop, PAUSE iterations between pages, after writing fill_pages pages from 1 MiB
    once. The VM needs RAM up to 1 MiB + the larger of the two."""
    pages = ws_pages if ws_pages is not None else ws_mib * MIB // PAGE
    name = f"guest-{pages}p-{pause}-{fill_pages}"
    obj, image = tmp / f"{name}.o", tmp / f"{name}.bin"
    subprocess.run(["as", "--32", "--defsym", f"PAUSE={pause}", "--defsym", f"WS_START={WS_START}",
                    "--defsym", f"WS_PAGES={pages}", "--defsym", f"FILL_PAGES={fill_pages}", "-o", str(obj),
                    os.path.join(GUEST_DIR, "guest.S")], check=True)
    # guest.S has no relocations: its text is the image as it is
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(obj), str(image)], check=True)
    assert os.path.getsize(image) == 64 * 1024
    return image


def qemu_args(image, mem_mib=128, ring=0, qmp=(), incoming=None, smp=2):
    accel = "kvm" + (f",dirty-ring-size={ring}" if ring else "")
    # -arch-capabilities: this nested AMD host rejects the MSR QEMU would set for it.
    # The destination of a migration gets the same -bios: QEMU migrates the firmware's ROM too.
    args = [QEMU, "-accel", accel, "-cpu", "host,-arch-capabilities", "-m", str(mem_mib), "-smp", str(smp),
            "-bios", str(image), "-display", "none", "-serial", "none", "-monitor", "none",
            "-no-reboot", "-nodefaults"]
    for q in qmp:
        args += ["-qmp", f"unix:{q},server,nowait"]
    if incoming:
        args += ["-incoming", incoming]
    return args


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QMP:
    """One QMP connection: commands in order, events skipped."""

    def __init__(self, path, proc=None, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(f"QEMU exited ({proc.returncode}) before its QMP socket was up")
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(30)
        self.f = self.sock.makefile("rw")
        self.greeting = json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise AssertionError(f"QMP closed the connection during {name}")
            r = json.loads(line)
            if "event" in r:
                continue
            if "error" in r:
                raise RuntimeError(f"QMP {name}: {r['error']}")
            return r["return"]

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


def wait_guest_running(qmp, timeout=60):
    """Until vCPU 0 executes the guest's loop in protected mode (EIP in the image, not the real-mode
    reset path). QEMU starts the firmware at once; this waits out a slow first KVM_RUN."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        regs = qmp.cmd("human-monitor-command", **{"command-line": "info registers"})
        m = re.search(r"EIP=([0-9a-f]+)", regs)
        if m and BIOS_BASE <= int(m.group(1), 16) < BIOS_BASE + 0x100:
            return
        time.sleep(0.2)
    raise AssertionError("the guest never reached its dirtying loop")


def wait_migration(qmp, statuses=("completed", "failed", "cancelled"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = qmp.cmd("query-migrate")
        if r.get("status") in statuses:
            return r
        time.sleep(0.1)
    raise AssertionError(f"migration did not reach {statuses}: {json.dumps(r)[:600]}")


def calc_dirty_rate(qmp, secs=2):
    """QEMU's own per-vCPU dirty rate (dirty-ring mode): (t0, t1, {cpu: MiB/s}) in CLOCK_MONOTONIC ns."""
    t0 = time.monotonic_ns()
    qmp.cmd("calc-dirty-rate", **{"calc-time": secs, "mode": "dirty-ring"})
    while True:
        r = qmp.cmd("query-dirty-rate")
        if r["status"] == "measured":
            break
        time.sleep(0.02)
    t1 = time.monotonic_ns()
    return t0, t1, {v["id"]: v["dirty-rate"] for v in r["vcpu-dirty-rate"]}


def stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ram_slots(vm):
    """Guest RAM: known, writable slots below 4 GiB (not the firmware's ROM)."""
    return [s for s in vm["memslots"] if s["known"] and not s["readonly"] and s["gpa"] < 0xf0000000]


class Watcher:
    """`dirtytop --json -d DELAY` in the background; its records, with a lock-free append."""

    def __init__(self, dirtytop, delay=0.1):
        import threading

        self.proc = subprocess.Popen([dirtytop, "--json", "-d", str(delay)], stdout=subprocess.PIPE, text=True)
        self.records = []
        self.proc.stdout.readline()  # attached: the first refresh is out
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
                self.records.append(json.loads(line))

    def vm_records(self, pid):
        """(ts_ns, vm) for every record of pid's VM (the one with the guest's memory, should the
        process show another)."""
        recs = [(r["ts_ns"], vm) for r in list(self.records) for vm in r["vms"] if vm["pid"] == pid]
        if not recs:
            return recs
        size = {}
        for _, vm in recs:
            size[vm["vm_id"]] = max(size.get(vm["vm_id"], 0), sum(s["size"] or 0 for s in vm["memslots"]))
        main = max(size, key=lambda k: size[k])
        return [(ts, vm) for ts, vm in recs if vm["vm_id"] == main]

    def stop(self):
        stop(self.proc)
        self.thread.join(timeout=10)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def pushes_at(records, vcpu_id, t_ns, after):
    """vCPU vcpu_id's cumulative pushes in the last record before t_ns (or the first after)."""
    best = None
    for ts, vm in records:
        c = [c for c in vm["vcpus"] if c["vcpu_id"] == vcpu_id]
        if not c:
            continue
        if after and ts >= t_ns:
            return c[0]["pushes"]
        if not after and ts <= t_ns:
            best = c[0]["pushes"]
    return 0 if best is None and not after else best


class Kicker:
    """Makes QEMUs' vCPU threads return from KVM_RUN and call it again, every `every` seconds
    (QMP `info registers -a` reads every vCPU's state on its thread). A real guest's vCPUs come
    back to the VMM now and then (I/O); the test guest's never do, and a halted one (the second
    vCPU) sleeps in KVM_RUN for good: dirtytop started after them would not see their threads."""

    def __init__(self, qmps, every=0.5):
        import threading

        self.qmps, self.every = qmps, every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(self.every):
            for q in self.qmps:
                try:
                    q.cmd("human-monitor-command", **{"command-line": "info registers -a"})
                except (OSError, AssertionError, RuntimeError):
                    return

    def stop(self):
        self.done.set()
        self.thread.join(timeout=30)
