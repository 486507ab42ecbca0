"""Issue 4: a real VMM. QEMU boots the project's tiny guest (tests/guest) with the dirty
ring and with the bitmap; dirtytop's memslot table shows the guest's RAM slots."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import DIRTYTOP, ROOT, missing, native_kvm

GUEST_DIR = os.path.join(ROOT, "tests", "guest")
MIB = 1 << 20
QEMU = "/usr/bin/qemu-system-x86_64"


def build_guest(tmp):
    """The multiboot guest image: assembled and linked here, from tests/guest."""
    obj, elf = tmp / "guest.o", tmp / "guest.elf"
    subprocess.run(["as", "--32", "-o", str(obj), os.path.join(GUEST_DIR, "guest.S")], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-T", os.path.join(GUEST_DIR, "guest.ld"), "-o", str(elf),
                    str(obj)], check=True)
    return elf


def qemu_args(elf, mem_mib, ring, qmp=None):
    accel = "kvm" + (f",dirty-ring-size={ring}" if ring else "")
    # -arch-capabilities: this nested AMD host rejects the MSR QEMU would set for it
    args = [QEMU, "-accel", accel, "-cpu", "host,-arch-capabilities", "-m", str(mem_mib), "-smp", "2",
            "-kernel", str(elf), "-display", "none", "-serial", "none", "-monitor", "none",
            "-no-reboot", "-nodefaults"]
    if qmp:
        args += ["-qmp", f"unix:{qmp},server,nowait"]
    return args


@pytest.fixture
def qemu_ready(kvm_bpf):
    if not os.path.exists(QEMU):
        missing(f"{QEMU} (scripts/install-deps installs qemu-system-x86 and seabios)")
    if not os.path.exists("/usr/share/seabios/bios-256k.bin"):
        missing("seabios (without it QEMU hangs in the firmware)")
    if not shutil.which("as") or not shutil.which("ld"):
        missing("binutils (as, ld) to build the test guest")


def watch_vm(top, pid, want, deadline_s=90):
    """Read dirtytop's JSON lines until want(vm) holds for QEMU's VM; returns that VM record."""
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        line = top.stdout.readline()
        if not line:
            break
        for vm in json.loads(line)["vms"]:
            if vm["pid"] == pid:
                last = vm
                if want(vm):
                    return vm
    raise AssertionError(f"QEMU's VM never showed as expected; last record: {json.dumps(last)[:2000]}")


def ram_slots(vm):
    """Guest RAM: writable, not the VGA framebuffer (QEMU logs dirty pages on it), below 4 GiB."""
    return [s for s in vm["memslots"] if s["known"] and not s["readonly"] and not s["dirty_logging"]
            and s["gpa"] < 0xf0000000]


@native_kvm  # SeaBIOS must program the chipset within 90 s
@pytest.mark.parametrize("ring", [4096, 0], ids=["dirty-ring", "bitmap"])
def test_qemu_memslot_table(qemu_ready, tmp, ring):
    mem = 128
    elf = build_guest(tmp)
    top = subprocess.Popen([DIRTYTOP, "--json", "-d", "0.5"], stdout=subprocess.PIPE, text=True)
    qemu = None
    try:
        top.stdout.readline()  # attached: the first refresh is out
        qemu = subprocess.Popen(qemu_args(elf, mem, ring), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        # QEMU first maps RAM as one slot; once SeaBIOS programs the chipset (PAM), the
        # low megabyte is split off and RAM from 1 MiB is a slot of its own
        vm = watch_vm(top, qemu.pid,
                      lambda v: any(s["gpa"] == MIB for s in ram_slots(v)) and v["vcpu_count"] == 2
                      and sum(s["size"] for s in ram_slots(v)) == mem * MIB)
        assert qemu.poll() is None, "QEMU died: " + qemu.stderr.read()
    finally:
        if qemu:
            qemu.kill()
            qemu.wait()
        top.terminate()
        top.wait(timeout=30)
    slots = ram_slots(vm)
    by_base = {s["gpa"]: s for s in slots}
    # the pc machine: 640 KiB of low RAM, the rest from 1 MiB; the 128 KiB VGA hole is not RAM
    # the pc machine without VGA (-nodefaults): RAM from 1 MiB is one slot, the low
    # megabyte is RAM in pieces around the ROMs; together exactly the guest's RAM
    assert by_base[MIB]["size"] == (mem - 1) * MIB, json.dumps(vm["memslots"])
    assert 0 in by_base and by_base[0]["size"] < MIB
    assert sum(s["size"] for s in slots) == mem * MIB, json.dumps(vm["memslots"])
    # the firmware's ROM is mapped read-only
    assert any(s["readonly"] and s["gpa"] == 0xfffc0000 for s in vm["memslots"])
    assert vm["memslots_complete"] is True
    assert vm["comm"].startswith("qemu-system")
    if ring:
        assert vm["tracking"] == "ring"
        assert vm["ring_size"] == ring
    else:
        assert vm["tracking"] != "ring" and vm["ring_size"] == 0
    assert vm["memslot_ops"]["create"] >= len(slots)
