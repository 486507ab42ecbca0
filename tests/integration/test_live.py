"""Issue 3: the live metrics of `dirtytop --json` against dirtygen's truth.

Counts must be exact; rates within 2%; occupancy, stall time and reap latency
within tolerances derived from dirtygen's own timing (reset timestamps, stall
records), each documented where it is computed.
"""
import json
import queue
import statistics
import subprocess
import threading
import time

import pytest

from conftest import (DIRTYGEN, DIRTYTOP, final_vm_record, native_kvm, records_of_vm, run_traced,
                      vcpu_by_tid)
from test_counts import compare_counts

RATES = [8000, 4000, 2000, 1000]


def reset_gaps_ns(tvm, since_ns=0, until_ns=None):
    """Gaps between consecutive KVM_RESET_DIRTY_RINGS calls (end to end) of a VM."""
    ends = [r["end_ns"] for r in tvm["resets"]
            if r["end_ns"] >= since_ns and (until_ns is None or r["end_ns"] <= until_ns)]
    return [b - a for a, b in zip(ends, ends[1:])]


def pages_at(progress, t):
    """Pages a vCPU had written at time t, interpolated between its progress samples."""
    for (t0, p0), (t1, p1) in zip(progress, progress[1:]):
        if t0 <= t <= t1:
            return p0 + (p1 - p0) * (t - t0) / (t1 - t0) if t1 > t0 else p1
    raise AssertionError(f"t={t} is outside the vCPU's progress samples")


@native_kvm  # its premise, one push per page written, fails where KVM itself writes guest pages (nested SVM)
@pytest.mark.parametrize("ring", [1024, 4096, 65536])
def test_fill_rate_within_2_percent(kvm_bpf, ring):
    """Per-vCPU fill rate of each full interval equals dirtygen's achieved rate within 2%.

    Truth is what each vCPU really wrote in dirtytop's interval, from dirtygen's progress
    samples (every 10 ms; each written page is one push here), not the paced target: a
    loaded machine may hold a vCPU below its target, and that is not dirtytop's error.
    """
    args = ["--vms", "2", "--vcpus", "4", "--mem", "512", "--ring-size", str(ring),
            "--rate", ",".join(map(str, RATES)), "--reap-interval", "50", "--duration", "6"]
    records, truth = run_traced(args, delay=1.0)
    compare_counts(records, truth)
    for tvm in truth["vms"]:
        pairs = records_of_vm(records, tvm)
        # the first interval holds the VM's start, the last two its end: not full intervals
        middle = pairs[1:-2]
        assert len(middle) >= 2, f"too few full intervals: {len(pairs)}"
        for tc in tvm["vcpus"]:
            assert tc["harvested"] == tc["pages_written"]
            for rec, vm in middle:
                c = vcpu_by_tid(vm, tc["tid"])
                end = rec["ts_ns"]
                start = end - rec["interval_s"] * 1e9
                truth_rate = (pages_at(tc["progress"], end) - pages_at(tc["progress"], start)) / \
                    rec["interval_s"]
                assert abs(c["fill_rate"] - truth_rate) <= 0.02 * truth_rate, (
                    f"ring {ring} vcpu {tc['vcpu_id']}: fill_rate {c['fill_rate']:.0f}/s "
                    f"vs achieved {truth_rate:.0f}/s (paced {tc['rate']}/s)")
                assert abs(c["fill_mib_s"] - c["fill_rate"] * 4096 / 2**20) < 1e-6


@native_kvm  # needs paced rates of thousands of pages/s per vCPU
def test_occupancy_and_reaping(kvm_bpf):
    """Peak occupancy, reap interval and reap latency against the reaper's own timing.

    A vCPU dirtying R pages/s between two resets G apart pushes R*G entries: the
    ring's peak in an interval is R * (largest gap ending in it). Tolerance: 5% of
    that plus two pacing batches (the vCPU is paced per batch) and the bucket
    span. Reap interval and latency are read from log-linear histograms (12.5%)
    and latency is measured from a bucket's first push (ring_size/256 entries, at
    least a push batch of 64: the live handler reads the clock once per batch):
    p50 within 15% + span/R of the median reset gap.
    """
    ring, interval_ms = 4096, 200
    args = ["--vcpus", "4", "--mem", "512", "--ring-size", str(ring), "--rate",
            ",".join(map(str, RATES)), "--reap-interval", str(interval_ms), "--duration", "5"]
    records, truth = run_traced(args, delay=1.0)
    compare_counts(records, truth)
    tvm = truth["vms"][0]
    gaps = reset_gaps_ns(tvm)
    assert len(gaps) > 10
    med_gap_us = statistics.median(gaps) / 1000
    span = max(64, ring // 256)
    pairs = records_of_vm(records, tvm)
    for tc in tvm["vcpus"]:
        rate, batch = tc["rate"], tc["batch"]
        # occupancy, per full interval
        for rec, vm in pairs[1:-2]:
            c = vcpu_by_tid(vm, tc["tid"])
            end = rec["ts_ns"]
            start = end - int(rec["interval_s"] * 1e9)
            local = reset_gaps_ns(tvm, start - 10**9, end)
            expect = rate * max(local) / 1e9
            tol = 0.05 * expect + 2 * batch + span
            assert abs(c["peak_used"] - expect) <= tol, (
                f"vcpu {tc['vcpu_id']}: peak_used {c['peak_used']} vs {expect:.0f} +- {tol:.0f}")
            assert c["soft_limit"] == ring - 64
            assert c["peak_pct"] == pytest.approx(100.0 * c["peak_used"] / c["soft_limit"])
        final = vcpu_by_tid(final_vm_record(records, tvm), tc["tid"])
        ri = final["reap_interval_us_all"]
        assert ri is not None
        assert ri["p50"] == pytest.approx(med_gap_us, rel=0.13)
        assert ri["max"] == pytest.approx(max(gaps) / 1000, rel=0.05, abs=2000)
        lat = final["reap_latency_us_all"]
        assert lat is not None
        tol = 0.15 * med_gap_us + span / rate * 1e6
        assert abs(lat["p50"] - med_gap_us) <= tol, f"reap latency p50 {lat['p50']} vs {med_gap_us}"
        recl = final["reclaimed_all"]
        assert recl["p50"] == pytest.approx(rate * med_gap_us / 1e6, rel=0.15, abs=2 * batch + span)


@native_kvm  # stall time to 1 ms per stall
@pytest.mark.parametrize("action", ["wait", "reap"])
def test_stalled_reaper_stall_time(kvm_bpf, action):
    """A reaper stalled for 1.5 s: the fast vCPU fills its 1024 ring and waits.

    Truth per stall: the soft-full exit (KVM_RUN returned) and the end of the reset
    call that freed the ring. dirtytop measures from the exit tracepoint (inside
    KVM_RUN, just before it returns) to the reset tracepoint (inside that reset
    call), so each stall may differ by that call's duration plus 1 ms.
    """
    # the slow vCPUs push at most 300 * (1.5 + 0.1) s = 480 < 960 entries: they never fill
    args = ["--vcpus", "4", "--mem", "128", "--ring-size", "1024", "--rate", "20000,300,200,100",
            "--reap-interval", "100", "--stall", "500:1500", "--full-action", action,
            "--duration", "3.5"]
    records, truth = run_traced(args, delay=0.5)
    compare_counts(records, truth)
    tvm = truth["vms"][0]
    durations = {r["end_ns"]: r["end_ns"] - r["start_ns"] for r in tvm["resets"]}
    final = final_vm_record(records, tvm)
    fast = tvm["vcpus"][0]
    assert fast["full_exits"] >= 1
    stalls = [s for s in fast["stalls"] if s["reset_ns"]]
    truth_s = sum(s["reset_ns"] - s["exit_ns"] for s in stalls) / 1e9
    slack = sum(durations.get(s["reset_ns"], 0) for s in stalls) / 1e9 + 0.001 * len(stalls)
    c = vcpu_by_tid(final, fast["tid"])
    assert truth_s > 1.0, "the stall did not block the fast vCPU"
    assert c["stalls"] == len(stalls)
    assert abs(c["stall_s"] - truth_s) <= slack, f"stall_s {c['stall_s']} vs truth {truth_s} +- {slack}"
    # the slow vCPUs never filled their rings
    for tc in tvm["vcpus"][1:]:
        assert vcpu_by_tid(final, tc["tid"])["stall_s"] == 0
    # while stalled, some interval shows the fast vCPU >= 50% stalled and at its soft limit
    shares = [vcpu_by_tid(vm, fast["tid"]) for _, vm in records_of_vm(records, tvm)]
    assert max(s["stall_frac"] for s in shares) >= 0.5
    assert max(s["peak_used"] for s in shares) >= 960


def test_throttle_is_held_not_stalled(kvm_bpf):
    """A VMM that reaps at once, then holds the vCPU out 50 ms (like QEMU's dirty limit):
    dirtytop counts that as held, not as a full stall, within 1 ms per throttle."""
    args = ["--vcpus", "2", "--mem", "64", "--ring-size", "1024", "--rate", "0,500",
            "--full-action", "throttle:50", "--reap-interval", "100", "--duration", "2.5"]
    records, truth = run_traced(args, delay=0.5)
    compare_counts(records, truth)
    tvm = truth["vms"][0]
    fast = tvm["vcpus"][0]
    assert fast["throttles"] >= 5
    c = vcpu_by_tid(final_vm_record(records, tvm), fast["tid"])
    resumed = [st for st in fast["stalls"] if st["resume_ns"]]
    held_truth = sum(st["throttle_ns"] for st in resumed) / 1e9
    assert abs(c["held_s"] - held_truth) <= 0.001 * len(resumed), (c["held_s"], held_truth)
    assert c["reentries"] == len(resumed)
    assert c["reentries_full"] == 0
    # the full stall (exit to reset) is short: the vCPU thread reaps at once
    assert c["stall_s"] < 0.1 * held_truth


def test_churn_frees_map_entries(kvm_bpf):
    """100 short-lived VMs under dirtytop: each is shown, then its map entries are freed."""
    top = subprocess.Popen([DIRTYTOP, "--json", "-d", "0.2"], stdout=subprocess.PIPE, text=True)
    # read as dirtytop writes: a reader that lags (the churn is slow under emulation) would
    # block dirtytop on a full pipe, and the next lines read would be from before the churn
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in top.stdout], daemon=True).start()
    try:
        first = json.loads(lines.get(timeout=60))
        idle = first["map_entries"]
        pids = set()
        for batch in range(25):
            gens = [subprocess.Popen([DIRTYGEN, "--quiet", "--truth", "/dev/null", "--vcpus", "2",
                                      "--mem", "8", "--ring-size", "1024", "--rate", "5000",
                                      "--reap-interval", "20", "--duration", "0.1"])
                    for _ in range(4)]
            for g in gens:
                assert g.wait(timeout=60) == 0
                pids.add(g.pid)
        churn_end_ns = time.monotonic_ns()  # dirtytop's ts_ns is CLOCK_MONOTONIC too
        seen, peak, last = set(), 0, None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rec = json.loads(lines.get(timeout=30))
            peak = max(peak, rec["map_entries"])
            for vm in rec["vms"]:
                seen.add(vm["pid"])
            last = rec
            # the queue holds the lines of the whole churn first: only a later one can end it
            if rec["ts_ns"] > churn_end_ns and rec["map_entries"] <= idle and \
                    not {vm["pid"] for vm in rec["vms"]} & pids:
                break
        assert len(pids) == 100
        # (<=: entries left over from before the test may be swept meanwhile)
        assert last["map_entries"] <= idle, f"map entries {last['map_entries']} > idle {idle}"
    finally:
        top.terminate()
        top.wait(timeout=30)
    # each VM is shown at least once (as exited, if it lived between two refreshes)
    assert pids <= seen, f"{len(pids - seen)} of the 100 VMs were never shown"
    assert peak > idle, "the churn never showed up in the map entries"


@native_kvm  # dirtytop must attach within the VM's 4 s run
@pytest.mark.parametrize("hooks", ["btf", "raw"])
def test_attach_to_running_vm(kvm_bpf, tmp, hooks):
    """dirtytop started while a VM already runs counts its pushes from then on.

    The vCPUs are first seen mid-run (at a push batch start, or a return of
    KVM_RUN): the counts start there. Truth is dirtygen's progress samples:
    at most what was written after dirtytop started, at least what was written
    after its first refresh, less a batch (DT_PUSH_BATCH) and a sample period.
    """
    truth_path = tmp / "truth.json"
    rates = [4000, 1500]
    gen = subprocess.Popen([DIRTYGEN, "--quiet", "--truth", str(truth_path), "--vcpus", "2",
                            "--mem", "128", "--ring-size", "4096", "--rate", ",".join(map(str, rates)),
                            "--reap-interval", "50", "--duration", "4"])
    try:
        time.sleep(1.0)  # not a wait for readiness: the VM must simply be running before dirtytop
        started_ns = time.monotonic_ns()
        top = subprocess.run([DIRTYTOP, "--json", "-d", "0.5", "-n", "9", "-p", str(gen.pid),
                              "--hooks", hooks], capture_output=True, text=True, timeout=60)
        assert gen.wait(timeout=30) == 0
    finally:
        gen.kill()
    assert top.returncode == 0, top.stderr
    records = [json.loads(line) for line in top.stdout.splitlines() if line.strip()]
    truth = json.loads(truth_path.read_text())
    tvm = truth["vms"][0]
    first_ts = records_of_vm(records, tvm)[0][0]["ts_ns"]
    vm = final_vm_record(records, tvm)
    for tc in tvm["vcpus"]:
        assert tc["progress"][0][0] < started_ns, "the VM was not running before dirtytop"
        c = vcpu_by_tid(vm, tc["tid"])
        slack = tc["rate"] * 0.010 + 1
        most = tc["pages_written"] - pages_at(tc["progress"], started_ns) + slack
        least = tc["pages_written"] - pages_at(tc["progress"], first_ts) - 64 - slack
        assert least <= c["pushes"] <= most, (
            f"vcpu {tc['vcpu_id']}: {c['pushes']} pushes counted, truth {least:.0f}..{most:.0f}")
