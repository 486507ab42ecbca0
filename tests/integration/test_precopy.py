"""The precopy model against dirtygen's truth, in bitmap mode: one vCPU rewriting all of a 1 MiB
slot (256 pages, sequential) faster than the reaper syncs, so every sync after the first finds
exactly the working set. doctor watching live and doctor on a recording of the same run must
list one pass per dirtygen sync with its exact dirty pages, and the verdict the arithmetic of
the truth gives for a simulated bandwidth and downtime (README "doctor": N = 3, shrink < 10%).
The HTML report draws the downtime budget of a given bandwidth, or says it is unknown. A dirtygen
killed mid-migration: doctor watching it and doctor on a recording of it say so, agree pass for
pass, and still give the verdict over the passes it made.
"""
import json
import math
import os
import re
import select
import signal
import subprocess
import time

from conftest import DIRTYGEN, DIRTYTOP
from vmm import children

N = 3
MIN_SHRINK = 0.10
# 256 pages; 1000 pages/s against a sync every 500 ms: each sync finds all 256
GEN = ["--mode", "bitmap", "--vcpus", "1", "--mem", "1", "--slots", "1", "--pattern", "sequential",
       "--rate", "1000", "--reap-interval", "500", "--duration", "4"]


def expected(pages, bandwidth, downtime):
    """The verdict from the truth's syncs: (outcome, pass)."""
    budget = bandwidth * downtime / 4096
    outcome = "too-few-passes"
    for k in range(1, len(pages)):
        if pages[k] <= budget:
            return "converges", k + 1
        if k >= N:
            q = (pages[k] / pages[k + 1 - N]) ** (1 / (N - 1))
            if 1 - q < MIN_SHRINK:
                return "no-converge", k + 1
            outcome = "shrinking"
    return outcome, None


def migration(doc, pid):
    ms = [m for m in doc["migrations"] if m["pid"] == pid]
    assert len(ms) == 1, json.dumps(doc["migrations"])[:2000]
    return ms[0]


def check(m, truth, bandwidth, downtime):
    syncs = truth["vms"][0]["syncs"]
    pages = [s["dirty_pages"] for s in syncs]
    assert [p["dirty_pages"] for p in m["passes"]] == pages
    assert [p["pass"] for p in m["passes"]] == list(range(1, len(pages) + 1))
    outcome, at = expected(pages, bandwidth, downtime)
    assert (m["verdict"], m["verdict_pass"]) == (outcome, at), (m["verdict"], m["verdict_pass"], pages)
    assert math.isclose(m["budget_pages"], bandwidth * downtime / 4096)
    return outcome


def start_recorder(path):
    """dirtytop record in the background, returned once it is attached (it says "recording to")."""
    rec = subprocess.Popen([DIRTYTOP, "record", "-o", str(path), "-d", "300"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline, line = time.monotonic() + 120, ""
    while "recording to" not in line:
        assert rec.poll() is None, f"dirtytop record exited early ({rec.returncode}): {rec.stderr.read()}"
        assert time.monotonic() < deadline, "dirtytop record did not attach in 120 s"
        if select.select([rec.stderr], [], [], 1)[0]:
            line = rec.stderr.readline()
    return rec


def stop_recorder(rec):
    rec.send_signal(signal.SIGINT)
    err = rec.communicate(timeout=120)[1]
    assert rec.returncode == 0, err


def budget_plot(page, pid):
    """The migration plot of pid's VM in the HTML page: (points, budget line or None, the plot's SVG)."""
    vm = re.search(r'<section class="vm" id="vm\d+"><h2>VM \d+[^<]*?: pid %d \(' % pid, page)
    assert vm, page[:3000]
    section = page[vm.start():page.index("</section>", vm.start())]
    plots = re.findall(r'<svg id="precopy-vm\d+".*?</svg>', section, re.S)
    assert len(plots) == 1, section[:3000]
    points = [dict(pass_=int(k), pages=int(n), fits=f, cy=float(cy)) for k, n, f, cy in re.findall(
        r'<circle class="pass" data-pass="(\d+)" data-pages="(\d+)" data-fits="(\w+)" cx="[\d.]+" cy="([\d.]+)"',
        plots[0])]
    line = re.search(r'<line class="budget" data-budget-pages="([\d.]+)" data-bandwidth-bytes-s="([\d.]+)" '
                     r'data-downtime-ms="([\d.]+)" x1="\d+" y1="([\d.]+)"', plots[0])
    return points, line, plots[0]


def test_bitmap_passes_and_verdict(kvm_bpf, tmp):
    rec = tmp / "run.dtr"
    truth = tmp / "truth.json"
    recorder = start_recorder(rec)
    # 256 KiB/s x 300 ms = 19.2 pages: the 256-page working set never fits
    p = subprocess.run([DIRTYTOP, "doctor", "--json", "--bandwidth", "256K", "--downtime", "300", "--",
                        DIRTYGEN, "--quiet", "--truth", str(truth)] + GEN,
                       capture_output=True, text=True, timeout=300)
    stop_recorder(recorder)
    assert p.returncode == 0, p.stderr
    live = json.loads(p.stdout)
    t = json.load(open(truth))
    assert t["vms"][0]["bitmap_syncs"] >= 1 + N + 1, t["vms"][0]["bitmap_syncs"]
    m = migration(live, t["pid"])
    assert check(m, t, 256 * 1024, 0.3) == "no-converge"
    named = [f for f in live["findings"] if f["id"] == "precopy-no-converge"]
    assert len(named) == 1 and named[0]["evidence"]["named_at_pass"] == 1 + N, named
    assert named[0]["evidence"]["need_bandwidth"] > 256 / 1024

    # offline: the same passes and verdict from the recording; a large bandwidth converges at pass 2
    for bw, bw_arg, quiet in ((256 * 1024, "256K", False), (1 << 30, "1G", True)):
        o = subprocess.run([DIRTYTOP, "doctor", str(rec), "--json", "--bandwidth", bw_arg, "--downtime", "300"],
                           capture_output=True, text=True, timeout=300)
        assert o.returncode == 0, o.stderr
        off = json.loads(o.stdout)
        mo = migration(off, t["pid"])
        # both equal the truth, so live and offline agree pass for pass
        check(mo, t, bw, 0.3)
        assert bool([f for f in off["findings"] if f["id"] == "precopy-no-converge"]) != quiet

    # a recording without bandwidth (no TCP traffic): passes listed, no verdict, a clear line
    o = subprocess.run([DIRTYTOP, "doctor", str(rec)], capture_output=True, text=True, timeout=300)
    assert o.returncode == 0, o.stderr
    assert "no bandwidth" in o.stdout and "passes only, no verdict" in o.stdout, o.stdout

    # the HTML report of the recording: the migration's plot, one point per pass of the truth with
    # its exact dirty pages; no TCP traffic in the file, so no budget line and the page says so
    html = tmp / "report.html"
    o = subprocess.run([DIRTYTOP, "report", str(rec), "--html", str(html)], capture_output=True, text=True,
                       timeout=300)
    assert o.returncode == 0, o.stderr
    page = html.read_text()
    vm = re.search(r'<section class="vm" id="vm\d+"><h2>VM \d+[^<]*?: pid %d \(' % t["pid"], page)
    assert vm, page[:3000]
    section = page[vm.start():page.index("</section>", vm.start())]
    plots = re.findall(r'<svg id="precopy-vm\d+".*?</svg>', section, re.S)
    assert len(plots) == 1, section[:3000]
    points = [(int(k), int(n)) for k, n in
              re.findall(r'<circle class="pass"[^>]*><title>pass (\d+): (\d+) dirty pages', plots[0])]
    pages = [s["dirty_pages"] for s in t["vms"][0]["syncs"]]
    assert points == list(enumerate(pages, 1)), (points, pages)
    assert 'class="budget"' not in plots[0] and "no bandwidth in the recording" in plots[0]
    assert "downtime budget unknown" in plots[0] and 'data-fits="unknown"' in plots[0]
    # a bitmap VM's vCPUs: listed with their real ids and threads (dirtygen's) or not at all
    real = {(c["vcpu_id"], c["tid"]) for c in t["vms"][0]["vcpus"]}
    table = re.search(r'<table class="vcpus">.*?</table>', section, re.S)
    rows = [(int(i), int(tid)) for i, tid in re.findall(r"<tr><td>(-?\d+)</td><td>(\d+)</td>", table.group(0))] \
        if table else []
    assert set(rows) <= real and len(rows) == len(set(rows)), (rows, real)
    assert re.search(r"\), %d vCPUs, bitmap tracking" % len(rows), section), section[:500]


def test_html_budget_line(kvm_bpf, tmp):
    """report --html --bandwidth/--downtime: the budget line is bandwidth x downtime / 4096 pages, drawn at
    that height among the passes, and each pass is marked fitting it or not as the arithmetic says."""
    rec = tmp / "run.dtr"
    truth = tmp / "truth.json"
    p = subprocess.run([DIRTYTOP, "record", "-q", "-o", str(rec), "--", DIRTYGEN, "--quiet", "--truth", str(truth)]
                       + GEN, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    t = json.load(open(truth))
    pages = [s["dirty_pages"] for s in t["vms"][0]["syncs"]]
    assert len(pages) >= 1 + N + 1, pages
    # 256K x 300 ms: 19.2 pages (nothing fits); 4M x 200 ms: 204.8 pages; 1G x 300 ms: everything fits
    for bw_arg, bw, downtime_ms in (("256K", 256 * 1024, 300), ("4M", 4 << 20, 200), ("1G", 1 << 30, 300)):
        html = tmp / f"report-{bw_arg}.html"
        args = ["--bandwidth", bw_arg] + (["--downtime", str(downtime_ms)] if downtime_ms != 300 else [])
        o = subprocess.run([DIRTYTOP, "report", str(rec), "--html", str(html)] + args, capture_output=True,
                           text=True, timeout=300)
        assert o.returncode == 0, o.stderr
        points, line, plot = budget_plot(html.read_text(), t["pid"])
        budget = bw * downtime_ms / 1e3 / 4096
        assert line, plot[:2000]
        assert math.isclose(float(line.group(1)), budget, rel_tol=1e-6), (line.group(0), budget)
        assert math.isclose(float(line.group(2)), bw, rel_tol=1e-6)
        assert math.isclose(float(line.group(3)), downtime_ms, rel_tol=1e-6)
        assert [(q["pass_"], q["pages"]) for q in points] == list(enumerate(pages, 1))
        assert [q["fits"] for q in points] == ["yes" if n <= budget else "no" for n in pages], (points, budget)
        # drawn where it says: above (smaller y) every pass that exceeds it, below every pass that fits
        y = float(line.group(4))
        for q in points:
            assert (q["cy"] >= y - 0.05) if q["pages"] <= budget else (q["cy"] < y), (q, y, budget)
        outcome, at = expected(pages, bw, downtime_ms / 1e3)
        assert f"verdict: {outcome}" in plot, (outcome, plot[:600])
    # no bandwidth in the file, none given: the budget is unknown, no line
    html = tmp / "report-none.html"
    o = subprocess.run([DIRTYTOP, "report", str(rec), "--html", str(html)], capture_output=True, text=True,
                       timeout=300)
    assert o.returncode == 0, o.stderr
    points, line, plot = budget_plot(html.read_text(), t["pid"])
    assert line is None and "downtime budget unknown" in plot
    assert {q["fits"] for q in points} == {"unknown"}


def test_bitmap_vmm_killed_mid_migration(kvm_bpf, tmp):
    """dirtygen (bitmap, logging on all along) killed with SIGKILL after some syncs: doctor watching it
    and doctor on a recording of the run both mark the migration stopped mid-migration, say so on
    stderr, keep its passes (the same, pass for pass) and the verdict over them, exit 0 (README)."""
    rec = tmp / "killed.dtr"
    recorder = start_recorder(rec)
    gen = [a if a != "4" else "120" for a in GEN]  # --duration 120: only the kill ends it
    doctor = subprocess.Popen([DIRTYTOP, "doctor", "--json", "--bandwidth", "256K", "--downtime", "300", "--",
                               DIRTYGEN, "--truth", str(tmp / "never.json")] + gen,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # dirtygen's progress on the shared stderr: enough syncs (256 pages each) for a verdict, then the kill
    deadline, dirty, err = time.monotonic() + 180, 0, []
    while dirty < 256 * (N + 3):
        assert doctor.poll() is None, doctor.communicate()
        assert time.monotonic() < deadline, f"dirtygen made no {N + 3} syncs in 180 s: {err[-3:]}"
        if select.select([doctor.stderr], [], [], 1)[0]:
            err.append(doctor.stderr.readline())
            m = re.search(r"bitmap_dirty=(\d+)", err[-1])
            dirty = int(m.group(1)) if m else dirty
    gens = children(doctor.pid)
    assert len(gens) == 1, gens
    os.kill(gens[0], signal.SIGKILL)
    out, rest = doctor.communicate(timeout=180)
    stop_recorder(recorder)
    stderr = "".join(err) + rest
    assert doctor.returncode == 0, stderr
    live = json.loads(out)
    m = migration(live, gens[0])
    assert "exited mid-migration" in stderr and f"pid {gens[0]}" in stderr, stderr[-2000:]

    o = subprocess.run([DIRTYTOP, "doctor", str(rec), "--json", "--bandwidth", "256K", "--downtime", "300"],
                       capture_output=True, text=True, timeout=300)
    assert o.returncode == 0, o.stderr
    assert "exited mid-migration" in o.stderr, o.stderr
    off = json.loads(o.stdout)
    mo = migration(off, gens[0])
    for x in (m, mo):
        assert (x["end"], x["vmm_exited"], x["stopped_mid_migration"]) == ("vmm-exited", True, True), x
        pages = [q["dirty_pages"] for q in x["passes"]]
        # a 1 MiB slot: no pass finds more than its 256 pages; the rest of the report is still there
        assert len(pages) >= 1 + N and max(pages) <= 256, pages
        assert (x["verdict"], x["verdict_pass"]) == expected(pages, 256 * 1024, 0.3), (x["verdict"], pages)
        assert x["verdict"] == "no-converge"
    # live and offline: the same passes, the same verdict
    assert [q["dirty_pages"] for q in m["passes"]] == [q["dirty_pages"] for q in mo["passes"]]
    assert (m["verdict"], m["verdict_pass"]) == (mo["verdict"], mo["verdict_pass"])
    assert {"findings", "vms"} <= set(live) and [f for f in live["findings"] if f["id"] == "precopy-no-converge"]
    # text: the section says it too
    o = subprocess.run([DIRTYTOP, "doctor", str(rec), "--bandwidth", "256K"], capture_output=True, text=True,
                       timeout=300)
    assert o.returncode == 0 and "STOPPED MID-MIGRATION" in o.stdout, o.stdout
    # the HTML report: its plot says so, with the passes it made
    html = tmp / "killed.html"
    o = subprocess.run([DIRTYTOP, "report", str(rec), "--html", str(html), "--bandwidth", "256K"],
                       capture_output=True, text=True, timeout=300)
    assert o.returncode == 0, o.stderr
    points, line, plot = budget_plot(html.read_text(), gens[0])
    assert [q["pages"] for q in points] == [q["dirty_pages"] for q in mo["passes"]]
    assert f"the VMM exited mid-migration, after pass {len(points)}" in plot, plot[:600]


def test_ring_passes_live_and_offline(kvm_bpf, tmp):
    """Ring mode: a 1024-entry ring filled at 1000 pages/s and reaped every 1.5 s, so the
    vCPU takes soft-full exits between the reaper's resets (the passes). doctor live and on a recording of
    the same run list the same passes with the same soft-full exits and, within one batch of pushes (64,
    README "Precopy passes"), the same dirty pages; no more exits than dirtygen took,
    and the ring's part: its size and soft limit (size minus KVM's reserve), and soft limit x 1 dirtying
    vCPU pages between two throttles."""
    rec = tmp / "ring.dtr"
    truth = tmp / "ring.json"
    recorder = start_recorder(rec)
    p = subprocess.run([DIRTYTOP, "doctor", "--json", "--bandwidth", "256K", "--", DIRTYGEN, "--quiet", "--truth",
                        str(truth), "--mode", "ring", "--ring-size", "1024", "--vcpus", "1", "--mem", "16",
                        "--pattern", "sequential", "--rate", "1000", "--reap-interval", "1500", "--duration", "9"],
                       capture_output=True, text=True, timeout=300)
    stop_recorder(recorder)
    assert p.returncode == 0, p.stderr
    t = json.load(open(truth))
    m = migration(json.loads(p.stdout), t["pid"])
    o = subprocess.run([DIRTYTOP, "doctor", str(rec), "--json", "--bandwidth", "256K"], capture_output=True,
                       text=True, timeout=300)
    assert o.returncode == 0, o.stderr
    mo = migration(json.loads(o.stdout), t["pid"])
    rows = [(q["pass"], q["dirty_pages"], q["full_exits"]) for q in m["passes"]]
    rows_off = [(q["pass"], q["dirty_pages"], q["full_exits"]) for q in mo["passes"]]
    assert [(r[0], r[2]) for r in rows] == [(r[0], r[2]) for r in rows_off], (rows, rows_off)
    assert all(abs(a[1] - b[1]) <= 64 for a, b in zip(rows, rows_off)), (rows, rows_off)
    # 1000 pages/s x 1.5 s between the reaper's resets (the last one: when dirtygen stops, nothing after)
    assert all(1300 < r[1] < 1700 for r in rows[:-1]), rows
    assert (m["verdict"], m["verdict_pass"]) == (mo["verdict"], mo["verdict_pass"]) == ("no-converge", 1 + N)
    assert len(rows) >= 1 + N, rows
    exits = sum(r[2] for r in rows)
    truth_exits = t["vms"][0]["vcpus"][0]["full_exits"]
    assert 0 < exits <= truth_exits, (rows, truth_exits)
    for x in (m, mo):
        assert x["tracking"] == "ring" and x["ring"]["size"] == 1024 and 0 < x["ring"]["soft_limit"] < 1024, x
        assert x["ring"]["pages_between_throttles"] == x["ring"]["soft_limit"]  # one dirtying vCPU
        assert x["ring"]["full_exits_per_pass"] > 0
        assert x["vcpus"] and x["vcpus"][0]["tid"] == t["vms"][0]["vcpus"][0]["tid"]
