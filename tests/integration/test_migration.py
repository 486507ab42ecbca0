"""A real VMM end to end: QEMU (Debian's qemu-system-x86, seabios) boots the test guest, which
dirties memory, and migrates it live to a second QEMU on 127.0.0.1, once with the dirty ring
and once with the bitmap, while dirtytop (live JSON) and dirtytop doctor watch.

dirtytop must see the migration start: dirty logging switched on for the RAM slots. With the
ring, dirtytop's per-vCPU fill rates must agree within 10% with QEMU's own calc-dirty-rate in
dirty-ring mode over the same window (dirty logging is on only while QEMU measures, so the
pushes dirtytop counted between the command and its result are the ones QEMU counted).
"""
import json
import subprocess
import time

import pytest

from conftest import DIRTYTOP, native_kvm
from vmm import (MIB, QMP, Watcher, build_guest, calc_dirty_rate, children, free_port, pushes_at, qemu_args,
                 qemu_ready, ram_slots, stop, wait_guest_running, wait_migration)

MEM = 128
# healthy-run counterparts: none of these may fire on a plain migration that converges
# (dominant-vcpu may: the guest runs on its boot vCPU only, which is right to report)
QUIET = ["exit-storm", "reaper-stalled", "vcpu-throttled", "precopy-no-converge", "dirty-log-flapping",
         "slow-get-dirty-log", "slow-clear-dirty-log", "slow-memslot-ioctl"]


@native_kvm  # QEMU boots SeaBIOS and migrates within deadlines set for hardware speed
@pytest.mark.parametrize("ring", [4096, 0], ids=["dirty-ring", "bitmap"])
def test_live_migration(qemu_ready, tmp, ring):
    elf = build_guest(tmp)
    src_qmp, doc_qmp, dst_qmp = tmp / "src.qmp", tmp / "doc.qmp", tmp / "dst.qmp"
    port = free_port()
    watcher = Watcher(DIRTYTOP)
    dst = doctor = None
    q = qd = None
    try:
        dst = subprocess.Popen(qemu_args(elf, MEM, ring, qmp=[dst_qmp], incoming=f"tcp:127.0.0.1:{port}"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # doctor starts the source QEMU itself: it sees every memslot from its creation on
        doctor = subprocess.Popen([DIRTYTOP, "doctor", "--json", "-i", "0.5", "--qmp", str(doc_qmp), "--"] +
                                  qemu_args(elf, MEM, ring, qmp=[src_qmp, doc_qmp]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        q = QMP(src_qmp, doctor)
        qd = QMP(dst_qmp, dst)
        pid = children(doctor.pid)[0]
        wait_guest_running(q)
        time.sleep(1)

        rates = None
        if ring:
            t0, t1, rates = calc_dirty_rate(q, 2)
            time.sleep(0.3)  # dirtytop's next refresh is out

        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        t_mig = time.monotonic_ns()
        q.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
        r = wait_migration(q)
        assert r["status"] == "completed", json.dumps(r)[:800]
        assert qd.cmd("query-status")["status"] == "running"
        time.sleep(0.5)
        q.cmd("quit")
        out, err = doctor.communicate(timeout=60)
        assert doctor.returncode == 0, err
    finally:
        for c in (q, qd):
            if c:
                c.close()
        stop(doctor)
        stop(dst)
        watcher.stop()

    recs = watcher.vm_records(pid)
    assert recs, "dirtytop never showed the source QEMU's VM"
    last = recs[-1][1]
    slots = ram_slots(last)
    big = [s for s in slots if s["size"] >= 16 * MIB]
    assert big and sum(s["size"] for s in slots) == MEM * MIB, json.dumps(last["memslots"])

    # the migration start: dirty logging switched on for every RAM slot
    assert last["memslot_ops"]["dirty_log_on"] >= len(slots), json.dumps(last["memslot_ops"])
    logged = [vm for ts, vm in recs if ts >= t_mig and
              all(s["dirty_logging"] for s in ram_slots(vm) if s["size"] >= 16 * MIB)]
    assert logged, "dirtytop never showed dirty logging on for the RAM slots during the migration"
    assert last["memslots_complete"] is True

    if ring:
        assert last["tracking"] == "ring" and last["ring_size"] == ring
        during = [vm for ts, vm in recs if ts >= t_mig]
        assert during[-1]["pushes"] > during[0]["pushes"] or during[-1]["reset_calls"] > during[0]["reset_calls"]
        # per-vCPU fill rates against QEMU's calc-dirty-rate (MiB/s, truncated) over the same window
        for cpu, qemu_mib in rates.items():
            before, after = pushes_at(recs, cpu, t0, False), pushes_at(recs, cpu, t1, True)
            assert after is not None, f"no dirtytop record after the measurement for vCPU {cpu}"
            ours = (after - before) * 4096 / MIB / 2.0
            print(f"vCPU {cpu}: QEMU calc-dirty-rate {qemu_mib} MiB/s, dirtytop {ours:.2f} MiB/s")
            if qemu_mib == 0:
                assert ours < 1.0
            else:
                assert abs(ours - qemu_mib) <= 0.1 * qemu_mib, (cpu, ours, qemu_mib)
        assert rates[0] >= 10, f"the guest dirtied too little to compare: {rates}"
    else:
        assert last["tracking"] == "bitmap"
        assert last["bitmap"]["syncs"] > 0 and last["bitmap"]["dirty_pages"] > 0

    doc = json.loads(out)
    print("doctor:", [(f["id"], f["vcpu_id"], f["summary"]) for f in doc["findings"] if f["pid"] == pid])
    vms = [v for v in doc["vms"] if v["pid"] == pid]
    assert vms and vms[0]["dirty_log_on"] >= len(slots)
    fired = [f["id"] for f in doc["findings"] if f["pid"] == pid and f["id"] in QUIET]
    assert not fired, json.dumps(doc["findings"], indent=1)[:3000]
