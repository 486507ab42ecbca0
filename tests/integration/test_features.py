"""Issue 18: the fallbacks count what the primary paths count; VMs (memslots, vCPUs) that predate dirtytop.

Each fallback is forced on a kernel that has the primary path (DIRTYTOP_FORCE_NO_BPF_LOOP,
DIRTYTOP_FORCE_NO_FOR_EACH, DIRTYTOP_FORCE_NO_ITER) and checked against dirtygen's truth, exactly as the primary path
is. Workloads are small (~1000 dirtied pages/s) so they also run in an emulated guest
(scripts/guest-run) on Debian's 6.1 and 6.12 kernels.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BUILD, DIRTYGEN, DIRTYTOP, final_vm_record, missing, run_traced
from test_bitmap import check_memslots, check_syncs, vm_of
from test_counts import compare_counts

RING = ["--vms", "1", "--vcpus", "2", "--mem", "32", "--ring-size", "1024", "--rate", "600",
        "--reap-interval", "200", "--duration", "3"]
BITMAP = ["--mode", "bitmap", "--slots", "2", "--vcpus", "1", "--mem", "32", "--rate", "1000",
          "--pattern", "hot:25", "--reap-interval", "200", "--duration", "3", "--quiet"]
# no_callbacks: the live object built without callbacks, as on a kernel without bpf_for_each_map_elem (< 5.13)
LOOP_MODES = {"bpf_loop": {}, "bounded": {"DIRTYTOP_FORCE_NO_BPF_LOOP": "1"},
              "no_callbacks": {"DIRTYTOP_FORCE_NO_FOR_EACH": "1"}}


def set_env(monkeypatch, env):
    for k in ("DIRTYTOP_FORCE_NO_BPF_LOOP", "DIRTYTOP_FORCE_NO_ITER", "DIRTYTOP_FORCE_NO_FOR_EACH",
              "DIRTYTOP_FORCE_FULL_READS"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def callback_uses(obj):
    """Calls of bpf_for_each_map_elem (164) and bpf_loop (181), and callback references (a 64-bit load of a
    function's address: relocation R_BPF_64_64 against .text, BPF_PSEUDO_FUNC once loaded) in a BPF object:
    what a kernel before 5.13 refuses, used or not."""
    p = subprocess.run(["llvm-objdump", "-dr", obj], capture_output=True, text=True, check=True)
    uses = []
    for line in p.stdout.splitlines():
        words = line.split()
        if line.rstrip().endswith(("call 164", "call 181")):
            uses.append(" ".join(words[-2:]))
        elif words[-2:] == ["R_BPF_64_64", ".text"]:
            uses.append("callback")
    return uses


def test_live_object_without_callbacks():
    """live_nocb (loaded where bpf_for_each_map_elem is missing) references no callback and calls neither
    helper; the primary object does both (so the check can fail)."""
    if not shutil.which("llvm-objdump"):
        missing("llvm-objdump (Debian: llvm)")
    assert callback_uses(os.path.join(BUILD, "live_nocb.bpf.o")) == []
    primary = callback_uses(os.path.join(BUILD, "live.bpf.o"))
    assert {"call 164", "call 181", "callback"} <= set(primary), primary


def heat_pages(vm):
    return sum(h["pages"] for h in vm["heat"])


@pytest.mark.parametrize("mode", sorted(LOOP_MODES))
def test_ring_counts_and_heat_without_bpf_loop(kvm_bpf, monkeypatch, mode):
    """Every count exact either way; ring heat exact with bpf_loop, and without it off, said so, never partial.

    (A bounded loop over the ring made 6.1's verifier refuse the object: no heat beats no dirtytop.)
    """
    set_env(monkeypatch, LOOP_MODES[mode])
    records, truth = run_traced(RING, top_args=["--top", "100000"])
    feature = records[-1]["features"]["bpf_loop"]
    assert feature["on"] is (mode == "bpf_loop")
    assert records[-1]["features"]["for_each_map_elem"]["on"] is (mode != "no_callbacks")
    assert records[-1]["features"]["changed_reads"]["on"] is (mode != "no_callbacks")
    assert truth["totals"]["harvested"] > 0
    compare_counts(records, truth)
    for tvm in truth["vms"]:
        vm = final_vm_record(records, tvm)
        if feature["on"]:
            assert heat_pages(vm) == sum(c["harvested"] for c in tvm["vcpus"])
        else:
            assert heat_pages(vm) == 0 and "no dirty heat from ring pushes" in feature["why_off"]


@pytest.mark.parametrize("full", [False, True], ids=["changed", "full"])
def test_ring_counts_with_changed_or_full_reads(kvm_bpf, monkeypatch, full):
    """Refreshes that copy only the vCPU entries that changed (bpf/vcpu_read.bpf.c) count what reading every
    entry counts: exactly the truth, the thread and id of every vCPU too (tests/bpf/test_vcpu_reader.c checks
    the reader against a map it writes itself)."""
    set_env(monkeypatch, {"DIRTYTOP_FORCE_FULL_READS": "1"} if full else {})
    records, truth = run_traced(RING, top_args=["--top", "100000"])
    feature = records[-1]["features"]["changed_reads"]
    assert feature["on"] is (not full)
    assert full is ("forced off (DIRTYTOP_FORCE_FULL_READS)" in (feature["why_off"] or ""))
    assert truth["totals"]["harvested"] > 0
    compare_counts(records, truth)
    for tvm in truth["vms"]:
        vm = final_vm_record(records, tvm)
        assert heat_pages(vm) == sum(c["harvested"] for c in tvm["vcpus"])
        assert sorted(c["tid"] for c in vm["vcpus"]) == sorted(c["tid"] for c in tvm["vcpus"])


@pytest.mark.parametrize("mode", sorted(LOOP_MODES))
def test_bitmap_popcount_without_bpf_loop(kvm_bpf, monkeypatch, mode):
    """The bitmap popcount as a bounded loop (slots under 1 GiB): exact per sync and slot."""
    set_env(monkeypatch, LOOP_MODES[mode])
    records, truth = run_traced(BITMAP, top_args=["--top", "100000"])
    assert records[-1]["features"]["bpf_loop"]["on"] is (mode == "bpf_loop")
    assert records[-1]["features"]["for_each_map_elem"]["on"] is (mode != "no_callbacks")
    tvm = truth["vms"][0]
    tvm["_pid"] = truth["pid"]
    assert tvm["bitmap_dirty_pages"] > 0
    vm = vm_of(records, tvm)
    check_memslots(vm, tvm)
    check_syncs(vm, tvm)
    assert heat_pages(vm) == tvm["bitmap_dirty_pages"]


FOR_EACH_MODES = {"for_each": {}, "userspace": {"DIRTYTOP_FORCE_NO_FOR_EACH": "1"}}
# 1 MiB of dirty ring per vCPU: freed vmalloc space that soon makes the kernel reuse a dead VM's address
# (long enough that every vCPU pushes, so that dirtytop knows its thread, also under emulation)
CHURN = ["--vcpus", "4", "--ring-size", "65536", "--mem", "8", "--rate", "400", "--reap-interval", "50",
         "--duration", "0.6"]


class DestroyTrace:
    """bpftrace printing the struct kvm * of every destroyed VM (the addresses dirtytop never shows)."""

    def __init__(self):
        self.bt = subprocess.Popen(["bpftrace", "-e", 'kprobe:kvm_destroy_vm { printf("destroy %lx\\n", arg0); }'],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.bt.stdout.readline()
        if "Attaching" not in line:
            self.bt.kill()
            missing(f"a kprobe on kvm_destroy_vm for bpftrace ({line.strip()})")
        self.destroyed = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.bt.stdout:
            if line.startswith("destroy "):
                self.destroyed.append(line.split()[1])

    def reused(self):
        return len(set(self.destroyed)) < len(self.destroyed)

    def stop(self):
        self.bt.send_signal(signal.SIGINT)
        try:
            self.bt.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.bt.kill()
            self.bt.wait()


@pytest.mark.parametrize("mode", sorted(FOR_EACH_MODES))
def test_vms_one_after_another(kvm_bpf, monkeypatch, mode):
    """VMs created and destroyed one after another under one dirtytop until one took a dead VM's kernel address
    (bpftrace shows which), which BPF or, without bpf_for_each_map_elem, userspace tells apart: each VM's counts,
    memslot table and memslot operations are its own, exactly its truth."""
    set_env(monkeypatch, FOR_EACH_MODES[mode])
    bt = DestroyTrace()
    truths = []
    with tempfile.TemporaryDirectory() as d:
        out_path, err_path = os.path.join(d, "out.json"), os.path.join(d, "err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            top = subprocess.Popen([DIRTYTOP, "--json", "-v", "-d", "0.5", "--top", "100000"], stdout=out, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while not os.path.getsize(out_path):  # the first line: attached
                assert top.poll() is None and time.monotonic() < deadline, open(err_path).read()
                time.sleep(0.05)
            # 1 MiB of dirty ring per vCPU: freed vmalloc space that makes the kernel reuse an address
            while len(truths) < 80 and not (bt.reused() and len(truths) >= 4):
                t = os.path.join(d, f"truth{len(truths)}.json")
                subprocess.run([DIRTYGEN, "--quiet", "--truth", t] + CHURN, check=True, timeout=120)
                with open(t) as f:
                    truths.append(json.load(f))
                assert all(c["harvested"] for c in truths[-1]["vms"][0]["vcpus"]), "a vCPU dirtied nothing"
                deadline = time.monotonic() + 30
                while len(bt.destroyed) < len(truths):
                    assert time.monotonic() < deadline, "bpftrace did not see the VM destroyed"
                    time.sleep(0.05)
            # until dirtytop has shown the last VM exited
            last, deadline = truths[-1]["pid"], time.monotonic() + 60
            while not any(vm["pid"] == last and vm["state"] == "exited"
                          for line in open(out_path).read().splitlines()[-4:] if line.endswith("}")
                          for vm in json.loads(line)["vms"]):
                assert top.poll() is None and time.monotonic() < deadline, "dirtytop never showed the last VM exited"
                time.sleep(0.1)
        finally:
            top.send_signal(signal.SIGINT)
            top.wait(timeout=60)
            bt.stop()
        records = [json.loads(line) for line in open(out_path).read().splitlines() if line.endswith("}")]
        stderr = open(err_path).read()
    assert bt.reused(), f"no VM took a dead VM's address in {len(truths)} VMs: the case is not exercised"
    assert records[-1]["features"]["for_each_map_elem"]["on"] is (mode == "for_each"), stderr
    if mode == "userspace":
        assert "feature for_each_map_elem off: forced off (DIRTYTOP_FORCE_NO_FOR_EACH)" in stderr
    for truth in truths:
        compare_counts(records, truth)
        tvm = truth["vms"][0]
        vm = final_vm_record(records, tvm)
        assert vm["seen_from_create"] is True and vm["pid"] == truth["pid"]
        check_memslots(vm, tvm)
        ops = vm["memslot_ops"]
        assert ops["create"] == tvm["memslot_ops"]["create"] and ops["unknown"] == 0 and ops["move"] == 0, ops
        if mode == "userspace":
            assert heat_pages(vm) == 0  # no ring heat without bpf_loop
        else:  # every page once (a forgotten vCPU's held-back region once counted for a VM at its address)
            assert heat_pages(vm) == sum(c["harvested"] for c in tvm["vcpus"]), (truth["pid"], heat_pages(vm))


def vm_fds(pid):
    """The fds of pid that are KVM VMs (anon_inode:kvm-vm)."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:kvm-vm":
                out.append(int(fd))
        except OSError:
            pass
    return out


def vcpu_threads_running(pid, want):
    """dirtygen starts its vCPU threads after it has set up every memslot."""
    return len(os.listdir(f"/proc/{pid}/task")) > want


@pytest.mark.parametrize("recover", [True, False], ids=["iterator", "forced-off"])
def test_memslots_of_vms_older_than_dirtytop(kvm_bpf, monkeypatch, recover):
    """dirtygen's VMs exist before dirtytop starts: their memslot tables are read from the kernel."""
    set_env(monkeypatch, {} if recover else {"DIRTYTOP_FORCE_NO_ITER": "1"})
    with tempfile.TemporaryDirectory() as d:
        truth_path = os.path.join(d, "truth.json")
        gen = subprocess.Popen([DIRTYGEN, "--quiet", "--truth", truth_path, "--vms", "2", "--vcpus", "1",
                                "--slots", "3", "--mem", "32", "--rate", "200", "--reap-interval", "200"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not (len(vm_fds(gen.pid)) == 2 and vcpu_threads_running(gen.pid, 2)):
                assert gen.poll() is None, f"dirtygen exited: {gen.stderr.read()}"
                assert time.monotonic() < deadline, "dirtygen's VMs did not start"
                time.sleep(0.05)
            p = subprocess.run([DIRTYTOP, "--json", "-v", "-n", "2", "-d", "0.5", "-p", str(gen.pid)],
                               capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr
        finally:
            gen.send_signal(signal.SIGTERM)
            gen.wait(timeout=120)
        with open(truth_path) as f:
            truth = json.load(f)
    records = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert records[-1]["features"]["memslot_recovery"]["on"] is recover, p.stderr
    assert len(truth["vms"]) == 2
    for tvm in truth["vms"]:
        vm = next(v for v in records[-1]["vms"] if v["pid"] == truth["pid"] and v["fd"] == tvm["vm_fd"])
        assert vm["seen_from_create"] is False
        if recover:
            check_memslots(vm, tvm)  # memslots_complete, and every slot's base, size and flags
            assert vm["memslot_ops"]["unknown"] == 0
        else:
            assert vm["memslots_complete"] is False
            assert not any(s["known"] for s in vm["memslots"])


def soft_limit_of(ring):
    """KVM's soft limit (kvm_dirty_ring_get_rsvd_entries): 64 reserved entries, plus the PML buffer (512) where VMX uses PML."""
    try:
        with open("/sys/module/kvm_intel/parameters/pml") as f:
            pml = f.read().strip() in ("Y", "1")
    except OSError:
        pml = False
    return ring - 64 - (512 if pml else 0)


def vcpus_that_ran(pid):
    """Threads of pid pacing a vCPU: clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which dirtygen's vCPU
    threads call only after a KVM_RUN returned (its reaper sleeps relative, on CLOCK_REALTIME)."""
    out = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                if f.read().startswith("230 0x1 0x1 "):
                    out.add(int(tid))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("recover", [True, False], ids=["iterator", "forced-off"])
@pytest.mark.parametrize("mode", ["ring", "bitmap"])
def test_vcpus_of_vms_older_than_dirtytop(kvm_bpf, monkeypatch, mode, recover):
    """dirtygen's VMs and vCPUs exist (and ran) before dirtytop starts: each vCPU's id, ring size, soft limit and
    last KVM_RUN thread are read from the kernel, from dirtytop's first interval on. Forced off, a vCPU is
    known only once its thread enters KVM_RUN (or pushes) after dirtytop attached: halted or idle ones not at all."""
    set_env(monkeypatch, {} if recover else {"DIRTYTOP_FORCE_NO_ITER": "1"})
    nvms, nvcpus, ring = 2, 2, 1024
    args = ["--quiet", "--vms", str(nvms), "--vcpus", str(nvcpus), "--mem", "32", "--rate", "100",
            "--reap-interval", "200"]
    args += ["--ring-size", str(ring)] if mode == "ring" else ["--mode", "bitmap"]
    with tempfile.TemporaryDirectory() as d:
        truth_path = os.path.join(d, "truth.json")
        gen = subprocess.Popen([DIRTYGEN, "--truth", truth_path] + args,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ran = set()
        try:
            deadline = time.monotonic() + 120
            while len(ran) < nvms * nvcpus:
                assert gen.poll() is None, f"dirtygen exited: {gen.stderr.read()}"
                assert time.monotonic() < deadline, f"dirtygen's vCPUs did not run: {ran}"
                ran |= vcpus_that_ran(gen.pid)
                time.sleep(0.01)
            p = subprocess.run([DIRTYTOP, "--json", "-v", "-n", "2", "-d", "0.5", "-p", str(gen.pid)],
                               capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr
        finally:
            gen.send_signal(signal.SIGTERM)
            gen.wait(timeout=120)
        with open(truth_path) as f:
            truth = json.load(f)
    records = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert records[-1]["features"]["memslot_recovery"]["on"] is recover, p.stderr
    assert ran == {c["tid"] for tvm in truth["vms"] for c in tvm["vcpus"]}  # the wait's premise
    if recover:
        assert f"{nvms * nvcpus} vCPUs ({nvms * nvcpus} with their KVM_RUN thread)" in p.stderr, p.stderr
    for tvm in truth["vms"]:
        want = {(c["vcpu_id"], c["tid"]) for c in tvm["vcpus"]}
        for rec in (records[0], records[-1]):
            vm = next(v for v in rec["vms"] if v["pid"] == truth["pid"] and v["fd"] == tvm["vm_fd"])
            assert vm["seen_from_create"] is False
            if not recover:
                # no iterator: a vCPU is known once its thread enters KVM_RUN (or pushes) after attaching;
                # each one shown is a real one, and all of them run within the first interval
                got = {(c["vcpu_id"], c["tid"]) for c in vm["vcpus"]}
                assert got <= want, (got, want)
                if rec is records[-1]:
                    assert got == want and vm["vcpu_count"] == nvcpus, (got, want)
                continue
            got = {(c["vcpu_id"], c["tid"]) for c in vm["vcpus"]}
            assert got == want and vm["vcpu_count"] == nvcpus
            for c in vm["vcpus"]:
                assert c["seen_from_create"] is False
                if mode == "ring":
                    assert (c["ring_size"], c["soft_limit"]) == (ring, soft_limit_of(ring))
                else:
                    assert (c["ring_size"], c["soft_limit"]) == (0, 0)  # no ring: known, not guessed
            assert vm["ring_size"] == (ring if mode == "ring" else 0)
