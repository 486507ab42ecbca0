"""Issue 4: a real VMM. QEMU runs the project's tiny guest (tests/guest, QEMU's firmware) with
the dirty ring and with the bitmap; dirtytop's memslot table shows the guest's memory slots."""
import json
import subprocess
import time

import pytest

from conftest import DIRTYTOP
from vmm import MIB, build_guest, qemu_args, qemu_ready  # noqa: F401 (fixture)


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


def tiles(slots, end):
    """The slots (sorted) cover [0, end) without gap or overlap."""
    at = 0
    for s in slots:
        if s["gpa"] != at:
            return False
        at = s["gpa"] + s["size"]
    return at == end


def low_slots(vm):
    """The slots of address space 0 below 4 GiB (QEMU also maps them in SMM's address space 1)."""
    return sorted((s for s in vm["memslots"] if s["known"] and s["as_id"] == 0 and s["gpa"] < 0xf0000000),
                  key=lambda s: s["gpa"])


@pytest.mark.parametrize("ring", [4096, 0], ids=["dirty-ring", "bitmap"])
def test_qemu_memslot_table(qemu_ready, tmp, ring):
    mem = 128
    image = build_guest(tmp)
    top = subprocess.Popen([DIRTYTOP, "--json", "-d", "0.5"], stdout=subprocess.PIPE, text=True)
    qemu = None
    try:
        top.stdout.readline()  # attached: the first refresh is out
        qemu = subprocess.Popen(qemu_args(image, mem, ring), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        # both vCPUs created and the guest's memory mapped as it stays: QEMU maps it in steps
        # (a slot from 1 MiB once the low megabyte's ROM windows are split off)
        vm = watch_vm(top, qemu.pid,
                      lambda v: v["vcpu_count"] == 2 and tiles(low_slots(v), mem * MIB)
                      and any(s["gpa"] == MIB for s in low_slots(v))
                      and any(s["gpa"] == 0xffff0000 for s in v["memslots"]))
        assert qemu.poll() is None, "QEMU died: " + qemu.stderr.read()
    finally:
        if qemu:
            qemu.kill()
            qemu.wait()
        top.terminate()
        top.wait(timeout=30)
    slots = low_slots(vm)
    # the pc machine with no BIOS programming its chipset (-nodefaults: no VGA), once the slots
    # tile the guest's memory: RAM from 1 MiB is one slot; below it, 768 KiB of RAM, the
    # option-ROM window and the firmware's low alias read-only
    by_base = {s["gpa"]: s for s in slots}
    assert by_base[MIB]["size"] == (mem - 1) * MIB and not by_base[MIB]["readonly"], json.dumps(slots)
    assert by_base[0]["size"] == 768 << 10 and not by_base[0]["readonly"]
    assert all(b in by_base and by_base[b]["readonly"] for b in (0xc0000, 0xf0000)), json.dumps(slots)
    # the firmware image (64 KiB) is mapped read-only below 4 GiB, where the CPU starts
    fw = [s for s in vm["memslots"] if s["gpa"] == 0xffff0000 and s["as_id"] == 0]
    assert len(fw) == 1 and fw[0]["readonly"] and fw[0]["size"] == 64 << 10, json.dumps(vm["memslots"])
    assert vm["memslots_complete"] is True
    assert vm["comm"].startswith("qemu-system")
    if ring:
        assert vm["tracking"] == "ring"
        assert vm["ring_size"] == ring
    else:
        assert vm["tracking"] != "ring" and vm["ring_size"] == 0
    assert vm["memslot_ops"]["create"] >= len(slots)
