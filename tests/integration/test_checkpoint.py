"""Issue 17, checkpoint rates: every cycle of a checkpointing VMM is seen, live and recorded.

dirtygen --checkpoint-hz N pauses its vCPUs N times a second (immediate_exit + SIGUSR1),
harvests every ring, calls KVM_RESET_DIRTY_RINGS and resumes them; its truth has every
reset call (start/end, entries), each ring's reclaimed entries per reset and bounds of
the reap latency from a log of its KVM_RUNs (docs/dirtygen.md, Checkpoint mode).

Exact: reset calls and entries (per call, per ring), the number of reap intervals and
of latency samples. Reap interval and latency percentiles: dirtytop's are bucket
midpoints, within 12.5% of the exact value (README); the exact value lies between the
percentiles of dirtygen's lower and upper bounds (the reset tracepoint fires inside the
reset call; a push inside the KVM_RUN that made it), so p in [lo * 0.875, hi * 1.125];
max is exact, in [lo, hi]. Latency is measured, as README says, from the first push of
the group of max(64, ring_size / 256) entries holding the oldest reclaimed entry:
dirtygen --latency-group computes its bounds for that entry.
"""
import math
import os

import pytest

from conftest import final_vm_record, native_kvm, run_traced, vcpu_by_tid
from test_counts import compare_counts
from test_record import assert_nothing_lost, record_command, report

RING = 4096
GROUP = max(64, RING // 256)        # README: reap latency groups
DURATION = 3
# paced vCPUs with one page per KVM_RUN: short runs give tight push-time bounds, and two
# vCPUs at 5000 pages/s leave CPU on a 2-core machine for the reaper and dirtytop
ARGS = ["--vcpus", "2", "--mem", "64", "--ring-size", str(RING), "--rate", "5000", "--batch", "1",
        "--latency-group", str(GROUP), "--duration", str(DURATION)]
# Hardware virtualization only: in the emulated guest (tests/run-integration) dirtygen
# reached 63-84 of 100 requested cycles/s, and at 20/s a 3 s run has fewer than the 100
# reclaiming resets per vCPU the percentile checks need.
HZ = [pytest.param(2500, marks=native_kvm), pytest.param(10000, marks=native_kvm)]
# dirtygen must reach this share of the requested cycles, or the test would not show the rate
MIN_ACHIEVED = 0.9


def hist_bucket(v):
    """dt_hist_bucket (include/dirtytop.h): log-linear, 4 buckets per power of two."""
    if v < 4:
        return v
    p = v.bit_length() - 1
    return (p - 1) * 4 + ((v >> (p - 2)) & 3)


def bucket_low(b):
    return b if b < 4 else (4 + b % 4) << (b // 4 + 1 - 2)


def bucket_high(b):
    return b + 1 if b < 4 else bucket_low(b) + (1 << (b // 4 - 1))


def rank(q, n):
    """hist.c: the smallest value with at least q of the n samples at or below it."""
    return max(1, int(q * n + 0.999999))


def dirtytop_quantiles(values):
    """hist.c's {count, p50, p99, max} of exact values (a histogram with its exact max)."""
    counts = {}
    for v in values:
        counts[hist_bucket(v)] = counts.get(hist_bucket(v), 0) + 1
    mx, n, out = max(values), len(values), {"count": len(values), "max": float(max(values))}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        seen = 0
        for b in sorted(counts):
            seen += counts[b]
            if seen >= rank(q, n):
                v = float(b) if b < 4 else (bucket_low(b) + bucket_high(b)) / 2
                out[name] = min(v, float(mx)) if mx else v
                break
    return out


def hist_rows(values):
    """dirtytop's [low, high, count] rows of exact values."""
    counts = {}
    for v in values:
        counts[hist_bucket(v)] = counts.get(hist_bucket(v), 0) + 1
    return [[bucket_low(b), bucket_high(b), counts[b]] for b in sorted(counts)]


def check_bracketed(what, q, lo_ns, hi_ns):
    """dirtytop's distribution q (us) against per-sample truth bounds [lo_ns, hi_ns]."""
    assert q is not None, f"{what}: dirtytop has no sample"
    assert q["count"] == len(lo_ns), f"{what}: {q['count']} samples, truth {len(lo_ns)}"
    lo_us = sorted(x // 1000 for x in lo_ns)     # dirtytop stores ns / 1000, rounded down
    hi_us = sorted(x // 1000 for x in hi_ns)
    for name, qq in (("p50", 0.5), ("p99", 0.99)):
        r = rank(qq, len(lo_us))
        lo, hi = lo_us[r - 1] * 0.875, hi_us[r - 1] * 1.125
        assert lo <= q[name] <= hi, f"{what} {name}: dirtytop {q[name]} us, truth within [{lo:.1f}, {hi:.1f}]"
    assert lo_us[-1] <= q["max"] <= hi_us[-1], \
        f"{what} max: dirtytop {q['max']} us, truth within [{lo_us[-1]}, {hi_us[-1]}]"


def check_truth_complete(truth, hz):
    """dirtygen did what was asked: the rate, nothing dropped, every reset a checkpoint or the last."""
    assert truth["config"]["reap_mode"] == "checkpoint"
    assert truth["config"]["reap_period_us"] == 1000000 // hz
    run_s = (truth["stop_ns"] - truth["start_ns"]) / 1e9
    for tvm in truth["vms"]:
        cycles = tvm["checkpoint_cycles"]
        assert cycles >= MIN_ACHIEVED * hz * run_s, (
            f"dirtygen reached {cycles / run_s:.0f} checkpoint cycles/s of {hz} requested "
            f"({tvm['reaper_ticks_missed']} ticks missed)")
        assert tvm["checkpoints_dropped"] == 0 and tvm["resets_dropped"] == 0
        assert tvm["reset_errors"] == 0
        assert tvm["reset_calls"] == cycles + 1          # the cycles and the final reset
        assert len(tvm["resets"]) == tvm["reset_calls"]
        assert [c[3] for c in tvm["checkpoints"]] == list(range(cycles))
        for tc in tvm["vcpus"]:
            assert tc["full_exits"] == 0, "a ring filled: not a pure checkpoint run"
            assert tc["reclaims_dropped"] == 0 and tc["latency_unknown"] == 0
            assert [r[0] for r in tc["reclaims"]] == list(range(tvm["reset_calls"]))
            assert sum(r[1] for r in tc["reclaims"]) == tc["harvested"] > 0
            assert tc["pauses"] >= cycles


def check_checkpoints(records, truth):
    """dirtytop's view of a checkpoint run (live records, or a report's summary) against truth."""
    compare_counts(records, truth)
    for tvm in truth["vms"]:
        vm = final_vm_record(records, tvm)
        resets = tvm["resets"]
        # entries per reset call: exact values, so dirtytop's figures are exactly computable
        want = dirtytop_quantiles([r["entries"] for r in resets])
        assert vm["reset_entries_per_call"] == pytest.approx(want), \
            f"reset_entries_per_call {vm['reset_entries_per_call']} != {want}"
        # the reset tracepoint of a ring fires inside the call: interval bounds between calls
        ivl_lo = [b["start_ns"] - a["end_ns"] for a, b in zip(resets, resets[1:])]
        ivl_hi = [b["end_ns"] - a["start_ns"] for a, b in zip(resets, resets[1:])]
        for tc in tvm["vcpus"]:
            c = vcpu_by_tid(vm, tc["tid"])
            what = f"vm {tvm['index']} vcpu {tc['vcpu_id']}"
            reclaiming = [r for r in tc["reclaims"] if r[1] > 0]
            assert c["reclaimed_hist"] == hist_rows([r[1] for r in reclaiming]), \
                f"{what}: reclaimed per reset {c['reclaimed_hist']} != truth"
            check_bracketed(f"{what} reap interval", c["reap_interval_us_all"], ivl_lo, ivl_hi)
            assert len(reclaiming) >= 100, f"{what}: only {len(reclaiming)} reclaiming resets"
            check_bracketed(f"{what} reap latency", c["reap_latency_us_all"],
                            [r[2] for r in reclaiming], [r[3] for r in reclaiming])


@pytest.mark.parametrize("hz", HZ)
def test_checkpoint_live(kvm_bpf, hz):
    """`dirtytop --json` sees every checkpoint cycle."""
    records, truth = run_traced(ARGS + ["--checkpoint-hz", str(hz)], delay=1.0)
    check_truth_complete(truth, hz)
    check_checkpoints(records, truth)


@pytest.mark.parametrize("hz", HZ)
def test_checkpoint_recorded(kvm_bpf, tmp, hz):
    """`dirtytop record` + `report --json` sees every checkpoint cycle."""
    path = tmp / "ckpt.dtr"
    truth, _ = record_command(path, ARGS + ["--checkpoint-hz", str(hz)], tmp / "truth.json")
    check_truth_complete(truth, hz)
    rc, doc, err = report(path, "--json")
    assert rc == 0, err
    assert doc["recording"]["complete"], doc["recording"]["message"]
    assert_nothing_lost(doc)
    check_checkpoints([doc["summary"]], truth)


def test_helpers_match_dirtytop_histograms():
    """The Python bucketing is dirtytop's (hist.c): bucket bounds tile the numbers."""
    for v in list(range(0, 5000)) + [10**6, 123456789]:
        b = hist_bucket(v)
        assert bucket_low(b) <= v < bucket_high(b), v
    assert dirtytop_quantiles([5, 5, 5, 100]) == {"count": 4, "max": 100.0, "p50": 5.5, "p99": 100.0}
    assert math.isclose(dirtytop_quantiles([1000] * 10)["p50"], 960.0)   # bucket [896, 1024)
