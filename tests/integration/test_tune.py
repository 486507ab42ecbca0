"""`dirtytop tune`: the trace-driven simulation's predicted soft-full exits, checked against
dirtygen runs at three candidate ring sizes, and the recommendation.

tune records dirtygen with a ring so large that it never fills (the guest's demand and the
VMM's reaping are then seen unshaped), simulates every candidate size, and for 1024, 2048
and 4096 entries dirtygen is then run for real: the predicted exits/s must be within 20% or
5 exits/s of what dirtygen took.
"""
import json
import os
import subprocess

from conftest import DIRTYGEN, DIRTYTOP, native_kvm

SIZES = [1024, 2048, 4096]
WORKLOAD = ["--rate", "20000", "--reap-interval", "200", "--reap-delay", "50", "--mem", "256",
            "--duration", "4"]


def run_tune(args, tmp, gen_args, timeout=120):
    truth = tmp / "truth.json"
    p = subprocess.run([DIRTYTOP, "tune", "--json"] + list(args) +
                       ["--", DIRTYGEN, "--quiet", "--truth", str(truth)] + list(gen_args),
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    with open(truth) as f:
        return json.loads(p.stdout), json.load(f)


def vm_of(doc, truth):
    tids = {c["tid"] for c in truth["vms"][0]["vcpus"]}
    for vm in doc["vms"]:
        if {c["tid"] for c in vm["vcpus"]} & tids:
            return vm
    raise AssertionError(f"tune did not show dirtygen's VM: {json.dumps(doc)[:1500]}")


def measured_exits_s(size, tmp):
    truth = tmp / f"truth{size}.json"
    subprocess.run([DIRTYGEN, "--quiet", "--truth", str(truth), "--ring-size", str(size)] + WORKLOAD,
                   check=True, timeout=60)
    with open(truth) as f:
        c = json.load(f)["vms"][0]["vcpus"][0]
    return c["full_exits"] / ((c["run_end_ns"] - c["run_start_ns"]) / 1e9)


@native_kvm  # needs 18-21K pages/s
def test_tune_predicts_dirtygen_exits(kvm_bpf, tmp):
    doc, truth = run_tune([], tmp, ["--ring-size", "65536"] + WORKLOAD)
    vm = vm_of(doc, truth)
    assert vm["ring_size"] == 65536 and vm["vcpu_count"] == 1
    cands = {c["ring_size"]: c for c in vm["candidates"]}
    assert sorted(cands) == [1024 << i for i in range(7)]
    for size, c in cands.items():
        assert c["bytes_per_vcpu"] == size * 16 and c["bytes_per_vm"] == size * 16
    # what was observed: 20000 pages/s, reset every 200 ms, 50 ms after the harvest
    v = vm["vcpus"][0]
    assert v["full_exits"] == 0
    assert 18000 < v["fill_rate"] < 21000, v
    assert 4000 <= v["peak_used"] <= 6500, v
    assert 190000 < v["reap_interval_us"]["p50"] < 215000, v
    assert vm["model"]["reaction"] == "reap" and not vm["model"]["reaction_observed"]
    assert 40 < vm["model"]["harvest_lag_ms"] < 60, vm["model"]

    rows = []
    for size in SIZES:
        predicted = cands[size]["vcpus"][0]["exits_s"]
        measured = measured_exits_s(size, tmp)
        rows.append((size, predicted, measured))
    print("\nring size  predicted exits/s  measured exits/s")
    for size, p, m in rows:
        print(f"{size:9d}  {p:17.2f}  {m:16.2f}")
    for size, p, m in rows:
        assert m > 1, f"dirtygen took no soft-full exits with {size} entries: the comparison says nothing"
        assert abs(p - m) <= max(0.2 * m, 5.0), f"{size} entries: predicted {p:.2f} exits/s, dirtygen took {m:.2f}"

    # the recommendation: the smallest size within 1 exit/s and 0.5% stall
    best = vm["recommended_ring_size"]
    assert vm["recommendation"] == "ring" and best in cands
    assert cands[best]["vcpus"][0]["exits_s"] <= 1 and cands[best]["vcpus"][0]["stall_frac"] <= 0.005
    smaller = [s for s in cands if s < best]
    assert all(cands[s]["vcpus"][0]["exits_s"] > 1 or cands[s]["vcpus"][0]["stall_frac"] > 0.005 for s in smaller)
    assert vm["bytes_per_vcpu"] == best * 16
    assert best == 8192  # 20000/s for 250 ms: 5000 entries


@native_kvm  # an unbounded writer must outrun a 65536-entry ring
def test_tune_recommends_bitmap_from_recording(kvm_bpf, tmp):
    """A reaper stalled for 3 s under an unbounded writer: no ring holds it. From a file."""
    rec = tmp / "rec.dtr"
    truth = tmp / "truth.json"
    p = subprocess.run([DIRTYTOP, "record", "-q", "-o", str(rec), "-c", "--", DIRTYGEN, "--quiet", "--truth",
                        str(truth), "--ring-size", "65536", "--rate", "0", "--mem", "600", "--stall", "500:3000",
                        "--duration", "5"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([DIRTYTOP, "tune", str(rec), "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    with open(truth) as f:
        vm = vm_of(doc, json.load(f))
    assert vm["recommendation"] == "bitmap" and vm["recommended_ring_size"] is None
    big = [c for c in vm["candidates"] if c["ring_size"] == 65536][0]
    assert big["vcpus"][0]["stall_frac"] > 0.05, big
    # text: the same verdict, in words
    p = subprocess.run([DIRTYTOP, "tune", str(rec)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "use the bitmap" in p.stdout, p.stdout


def test_tune_usage_errors(tmp):
    bogus = tmp / "not-a-recording"
    bogus.write_text("hello\n")
    p = subprocess.run([DIRTYTOP, "tune", str(bogus)], capture_output=True, text=True)
    assert p.returncode == 1 and "not a dirtytop recording" in p.stderr.lower() or p.returncode == 1, p.stderr
    p = subprocess.run([DIRTYTOP, "tune", "--max-stall", "x"], capture_output=True, text=True)
    assert p.returncode == 2
    p = subprocess.run([DIRTYTOP, "tune", str(bogus), "--", "true"], capture_output=True, text=True)
    assert p.returncode == 2
    p = subprocess.run([DIRTYTOP, "tune", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "65536" in p.stdout
    assert os.access(DIRTYTOP, os.X_OK)
