"""Issue 4: bitmap mode, memslots, KVM ioctls and dirty heat against dirtygen's truth.

dirtygen records every KVM_GET_DIRTY_LOG with the population count of the bitmap
KVM returned, every KVM_CLEAR_DIRTY_LOG by the pages it covered, and its memslot
table; dirtytop counts the same from the ioctls it sees.
"""
import collections

import pytest

from conftest import final_vm_record, records_of_vm, run_traced

PAGE = 4096
REGION_PAGES = 512  # dirtytop's default heat region: 2 MiB, counted from each slot's start


def vm_of(records, tvm):
    """The bitmap VM has no ring entries to match by thread: match by pid (one VM per run)."""
    for rec in reversed(records):
        for vm in rec["vms"]:
            if vm["pid"] == tvm["_pid"]:
                return vm
    raise AssertionError("dirtytop never showed the VM")


def slot_table(vm):
    return {(s["as_id"], s["slot"]): s for s in vm["memslots"]}


def check_memslots(vm, tvm):
    ours = slot_table(vm)
    assert vm["memslots_complete"] is True
    for ts in tvm["memslots"]:
        s = ours.get((ts["as_id"], ts["slot"]))
        assert s is not None, f"slot {ts['slot']} missing from dirtytop's table"
        assert s["known"] and s["gpa"] == ts["gpa"] and s["size"] == ts["size"], (s, ts)
        assert s["flags"] == ts["flags"]
        assert s["dirty_logging"] == bool(ts["flags"] & 1)
    assert len(ours) == len(tvm["memslots"])


def check_syncs(vm, tvm):
    """Dirty pages per sync: per slot, the count of syncs, their sum and their max are exact."""
    per_slot = collections.defaultdict(list)
    for sync in tvm["syncs"]:
        per_slot[sync["slot"]].append(sync["dirty_pages"])
    ours = slot_table(vm)
    for slot, counts in per_slot.items():
        g = ours[(slot >> 16, slot & 0xffff)]["get_dirty_log"]
        assert g["calls"] == len(counts), f"slot {slot}: {g['calls']} syncs vs {len(counts)}"
        assert g["dirty_pages"] == sum(counts), f"slot {slot}: {g['dirty_pages']} pages vs {sum(counts)}"
        if any(counts):
            assert g["dirty_pages_per_sync"]["max"] == max(counts)
            assert g["dirty_pages_per_sync"]["count"] == len(counts)
    assert vm["bitmap"]["syncs"] == tvm["bitmap_syncs"]
    assert vm["bitmap"]["dirty_pages"] == tvm["bitmap_dirty_pages"]


def hot_regions(truth, tvm):
    """(slot, region) of every page the hot:P pattern can write, from dirtygen's layout."""
    pct = int(truth["config"]["pattern"].split(":")[1])
    slots = sorted((s for s in tvm["memslots"] if s["flags"] & 1), key=lambda s: s["gpa"])
    slot_pages = slots[0]["size"] // PAGE
    hot = set()
    for c in tvm["vcpus"]:
        n = max(1, c["pages"] * pct // 100)
        for p in range(c["first_page"], c["first_page"] + n):
            s = slots[p // slot_pages]
            hot.add((s["slot"], (p % slot_pages) // REGION_PAGES))
    return hot


def run(args, **kw):
    records, truth = run_traced(args + ["--quiet"], top_args=["--top", "100000"], **kw)
    for tvm in truth["vms"]:
        tvm["_pid"] = truth["pid"]
    return records, truth


@pytest.mark.parametrize("manual", [False, True], ids=["get-only", "manual-protect"])
def test_bitmap_syncs_exact(kvm_bpf, manual):
    args = ["--mode", "bitmap", "--slots", "3", "--vcpus", "2", "--mem", "96", "--rate", "4000",
            "--pattern", "hot:25", "--reap-interval", "100", "--duration", "2.5"]
    if manual:
        args += ["--manual-protect"]
    records, truth = run(args, delay=0.5)
    tvm = truth["vms"][0]
    vm = vm_of(records, tvm)
    assert vm["tracking"] == "bitmap"
    assert tvm["bitmap_dirty_pages"] > 0
    check_memslots(vm, tvm)
    check_syncs(vm, tvm)
    assert vm["memslot_ops"]["create"] == tvm["memslot_ops"]["create"]
    for op in ("delete", "move", "flags", "unknown"):
        assert vm["memslot_ops"][op] == tvm["memslot_ops"].get(op, 0)
    # the bitmap rate is the VM's fill rate in the live view
    mids = [v for _, v in records_of_vm_by_pid(records, truth["pid"])][1:-2]
    assert mids and all(v["fill_rate"] == pytest.approx(v["bitmap"]["dirty_pages_s"]) for v in mids)
    assert max(v["fill_rate"] for v in mids) > 0


def records_of_vm_by_pid(records, pid):
    return [(r, vm) for r in records for vm in r["vms"] if vm["pid"] == pid]


@pytest.mark.parametrize("chunk", [64, 512, 4096])
def test_chunked_clears_exact(kvm_bpf, chunk):
    """KVM_CLEAR_DIRTY_LOG in chunks like QEMU's clear-bitmap-shift: calls and pages covered exact."""
    args = ["--mode", "bitmap", "--manual-protect", "--clear-chunk", str(chunk), "--slots", "2",
            "--vcpus", "2", "--mem", "64", "--rate", "3000", "--pattern", "random",
            "--reap-interval", "100", "--duration", "2"]
    records, truth = run(args, delay=0.5)
    tvm = truth["vms"][0]
    vm = vm_of(records, tvm)
    check_syncs(vm, tvm)
    clears = [s["clear_dirty_log"] for s in vm["memslots"]]
    assert sum(c["calls"] for c in clears) == tvm["clear_calls"]
    assert vm["bitmap"]["clear_calls"] == tvm["clear_calls"]
    covered = sum(int(size) * n for size, n in tvm["clear_chunks"].items())
    assert sum(c["pages"] for c in clears) == covered
    # the chunk-size distribution: every truth chunk size lands in a bucket with its count
    ours = collections.Counter()
    for c in clears:
        for lo, hi, n in c["chunk_pages_hist"]:
            ours[(lo, hi)] += n
    expect = collections.Counter()
    for size, n in tvm["clear_chunks"].items():
        (bucket,) = [b for b in ours if b[0] <= int(size) < b[1]] or [None]
        assert bucket is not None, f"no bucket holds chunk size {size}"
        expect[bucket] += n
    assert ours == expect
    assert int(max(tvm["clear_chunks"], key=int)) <= chunk


@pytest.mark.parametrize("mode", ["bitmap", "ring"])
def test_heat_is_where_the_guest_wrote(kvm_bpf, mode):
    """Heat regions sum to the dirty pages exactly, and lie in dirtygen's hot set."""
    args = ["--mode", mode, "--slots", "4", "--vcpus", "4", "--mem", "256", "--rate", "5000",
            "--pattern", "hot:10", "--reap-interval", "100", "--duration", "2"]
    if mode == "ring":
        args += ["--ring-size", "4096"]
    records, truth = run(args, delay=0.5)
    tvm = truth["vms"][0]
    vm = final_vm_record(records, tvm) if mode == "ring" else vm_of(records, tvm)
    heat = vm["heat"]
    total = sum(h["pages"] for h in heat)
    expect = tvm["bitmap_dirty_pages"] if mode == "bitmap" else tvm["harvested"]
    assert total == expect, f"heat sums to {total} pages, truth {expect}"
    hot = hot_regions(truth, tvm)
    seen = {(h["slot"], h["region"]) for h in heat}
    assert seen <= hot, f"heat outside the hot set: {sorted(seen - hot)[:5]}"
    assert len(seen) == len(hot), f"{len(hot - seen)} hot regions never showed heat"
    slots = {s["slot"]: s for s in tvm["memslots"]}
    for h in heat:
        assert h["gpa"] == slots[h["slot"]]["gpa"] + h["region"] * REGION_PAGES * PAGE
        assert h["size"] == REGION_PAGES * PAGE


@pytest.mark.parametrize("mode", ["bitmap", "ring"])
def test_memslot_operation_classes_exact(kvm_bpf, mode):
    """dirtygen cycles a scratch slot through create, dirty logging on, off, move, delete
    (and toggles logging on the data slots): every class counted exactly."""
    args = ["--mode", mode, "--slots", "2", "--vcpus", "2", "--mem", "32", "--rate", "2000",
            "--slot-ops", "10", "--slot-ops-interval", "20", "--slot-ops-toggle-data",
            "--reap-interval", "100", "--duration", "1.5"]
    if mode == "ring":
        args += ["--ring-size", "1024"]
    records, truth = run(args, delay=0.5)
    tvm = truth["vms"][0]
    assert tvm["slot_op_errors"] == 0 and tvm["slot_op_cycles"] == 10
    vm = vm_of(records, tvm)
    for op in ("create", "delete", "move", "flags", "dirty_log_on", "dirty_log_off"):
        assert vm["memslot_ops"][op] == tvm["memslot_ops"][op], (op, vm["memslot_ops"], tvm["memslot_ops"])
    assert vm["memslot_ops"]["unknown"] == 0
    assert tvm["memslot_ops"]["move"] == 10 and tvm["memslot_ops"]["dirty_log_on"] >= 10
    # after the last delete the scratch slot is gone from the table; the rest is dirtygen's
    check_memslots(vm, tvm)
