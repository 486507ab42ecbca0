"""`dirtytop record` and `dirtytop report` against dirtygen's ground truth and the live view.

A recording of a dirtygen run, reported, must count exactly what dirtygen did and
what the live view showed for the same run; at dirtygen's highest rate nothing may
be lost silently; a file cut anywhere reports its complete blocks; damaged, foreign
or future files are refused cleanly; --html draws its plots in a real browser.
"""
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

import recfile
from conftest import (DIRTYGEN, DIRTYTOP, final_vm_record, missing, run_traced, vcpu_by_tid)
from test_counts import compare_counts

BUILD = os.path.dirname(DIRTYTOP)
# Sized so that rings fill between reaps at emulated speed too (scripts/guest-run: about 3000
# pages/s per vCPU with 4 vCPUs): 1024 entries (soft limit 960) reaped every 600 or 1000 ms.
# a reaper slow enough (1.5 s) that every vCPU fills its ring between reaps even at an emulated
# guest's ~1000 pages/s (at 0.6 s, one CI run saw a single soft-full exit and 4 blocks)
SMALL = ["--vms", "2", "--vcpus", "2", "--mem", "32", "--ring-size", "1024", "--rate", "15000",
         "--reap-interval", "1500", "--reap-delay", "50", "--duration", "4"]
LIVE_CASE = ["--vms", "2", "--vcpus", "2", "--mem", "64", "--ring-size", "1024", "--rate", "20000",
             "--reap-interval", "1000", "--reap-delay", "100", "--duration", "3"]
MAXRATE = ["--vcpus", "4", "--mem", "2048", "--ring-size", "65536", "--rate", "0",
           "--reap-interval", "100", "--duration", "4"]


def gen_cmd(truth, args):
    return [DIRTYGEN, "--quiet", "--truth", str(truth)] + list(args)


def report(path, *args, timeout=120):
    """Run `dirtytop report`; -> (exit code, parsed --json or None, stderr)."""
    p = subprocess.run([DIRTYTOP, "report", str(path)] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode >= 0, f"dirtytop report died of signal {-p.returncode}: {p.stderr}"
    doc = json.loads(p.stdout) if "--json" in args and p.returncode == 0 else None
    return p.returncode, doc, p.stderr


def record_command(path, gen_args, truth, *rec_args, timeout=180):
    """`dirtytop record -c -o path -- dirtygen ...`: -> dirtygen's truth."""
    cmd = [DIRTYTOP, "record", "-o", str(path), "-c"] + list(rec_args) + ["--"] + gen_cmd(truth, gen_args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"dirtytop record failed ({p.returncode}): {p.stderr}"
    with open(truth) as f:
        return json.load(f), p.stderr


def start_recorder(path, *args):
    """A recorder in the background, returned once it is attached."""
    rec = subprocess.Popen([DIRTYTOP, "record", "-o", str(path)] + list(args), stderr=subprocess.PIPE,
                           text=True)
    deadline = time.monotonic() + 60
    line = ""
    while "recording to" not in line:
        assert rec.poll() is None, f"dirtytop record exited early ({rec.returncode}): {rec.stderr.read()}"
        assert time.monotonic() < deadline, "dirtytop record did not attach in 60 s"
        if select.select([rec.stderr], [], [], 1)[0]:
            line = rec.stderr.readline()
    return rec


def stop_recorder(rec, sig=signal.SIGINT):
    rec.send_signal(sig)
    try:
        err = rec.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        rec.kill()
        raise AssertionError("dirtytop record did not stop within 60 s of the signal")
    assert rec.returncode == 0, f"dirtytop record exited {rec.returncode} on {sig!r}: {err}"
    return err


def vms_of(doc, pid):
    return [vm for vm in doc["summary"]["vms"] if vm["pid"] == pid]


def total(doc, pid, field):
    return sum(vm[field] for vm in vms_of(doc, pid))


def assert_nothing_lost(doc):
    lost = doc["recording"]["lost_total"]
    assert lost == 0, f"the recording lost {lost} events: {doc['recording']['lost']}"


@pytest.fixture(scope="module")
def small_recording(tmp_path_factory):
    """One small recording (2 VMs x 2 vCPUs, soft-full exits), many blocks, shared by the file tests."""
    from conftest import require_bpf, require_kvm
    require_bpf()
    require_kvm()
    d = tmp_path_factory.mktemp("rec")
    path, truth_path = d / "small.dtr", d / "truth.json"
    truth, _ = record_command(path, SMALL, truth_path, "--block-events", "400")
    assert truth["totals"]["full_exits"] > 0
    return path, truth


# --- counts: truth and the live view ---

LIVE_VM_FIELDS = ["pushes", "full_exits", "stalls", "reset_calls", "reset_entries", "vcpu_count",
                  "ring_size", "soft_limit"]
LIVE_VCPU_FIELDS = ["pushes", "full_exits", "ring_resets", "entries_reset", "stalls", "userspace_exits",
                    "ring_size", "soft_limit", "vcpu_id", "reentries", "reentries_full"]


def compare_with_live(live_records, summary, truth):
    errors = []
    for tvm in truth["vms"]:
        live = final_vm_record(live_records, tvm)
        rep = final_vm_record([summary], tvm)
        for f in LIVE_VM_FIELDS:
            if live.get(f) != rep.get(f):
                errors.append(f"vm {tvm['index']}: {f}: live {live.get(f)} != report {rep.get(f)}")
        # heat: live reads (slot, offset) back from the ring, a batch at a time; the
        # recording has each push's tracepoint arguments. The hottest regions agree.
        lh = {(h["slot"], h["region"]): h["pages"] for h in live["heat"]}
        rh = {(h["slot"], h["region"]): h["pages"] for h in rep["heat"]}
        if not lh or len(lh) != len(rh):
            errors.append(f"vm {tvm['index']}: heat regions: live {len(lh)}, report {len(rh)}")
        for k in lh.keys() | rh.keys():
            if k in lh and k in rh:
                if lh[k] != rh[k]:
                    errors.append(f"vm {tvm['index']}: heat {k}: live {lh[k]} != report {rh[k]} pages")
            elif max(lh.get(k, 0), rh.get(k, 0)) > min(min(lh.values()), min(rh.values())):
                errors.append(f"vm {tvm['index']}: heat {k} in one top list only")  # not a tie at the cut
        for tc in tvm["vcpus"]:
            lc, rc = vcpu_by_tid(live, tc["tid"]), vcpu_by_tid(rep, tc["tid"])
            for f in LIVE_VCPU_FIELDS:
                if lc.get(f) != rc.get(f):
                    errors.append(f"vm {tvm['index']} vcpu {tc['vcpu_id']}: {f}: live {lc.get(f)} != "
                                  f"report {rc.get(f)}")
    if errors:
        raise AssertionError("the report disagrees with the live view:\n  " + "\n  ".join(errors))


def pushes_by_tid(vm_records, truth):
    """{vCPU thread: pushes} of truth's vCPUs in a live-view (or report) record."""
    out = {}
    for tvm in truth["vms"]:
        vm = final_vm_record(vm_records, tvm)
        for tc in tvm["vcpus"]:
            out[tc["tid"]] = vcpu_by_tid(vm, tc["tid"])["pushes"]
    return out


def test_report_equals_truth_and_live_view(kvm_bpf, tmp):
    """Record a run while the live view shows it: the report counts exactly like both."""
    path = tmp / "run.dtr"
    rec = start_recorder(path, "--block-events", "5000")
    try:
        # one live interval for the whole run: its heat ranking (by the interval's rate) is then
        # the ranking by total pages, as the report's whole-recording summary ranks
        live_records, truth = run_traced(LIVE_CASE, delay=60)
    finally:
        stop_recorder(rec)
    assert truth["totals"]["full_exits"] > 0
    # the recording streams pushes in batches read back from the rings (format 2.0)
    parsed = recfile.parse(open(path, "rb").read())
    kinds = {}
    for b in parsed["blocks"]:
        for k, n in b["counts"].items():
            kinds[k] = kinds.get(k, 0) + n
    assert parsed["version"] == (2, 0) and kinds.get("batch", 0) > 0 and 1 not in kinds, kinds
    # pushes per vCPU: recording == live view == dirtygen's truth, exactly
    harvested = {tc["tid"]: tc["harvested"] for tvm in truth["vms"] for tc in tvm["vcpus"]}
    assert pushes_by_tid(live_records, truth) == harvested
    rc, doc, err = report(path, "--json")
    assert rc == 0, err
    assert pushes_by_tid([doc["summary"]], truth) == harvested
    assert kinds["push"] >= sum(harvested.values())  # the file's batches hold them (and other VMs')
    assert rc == 0, err
    assert doc["recording"]["complete"], doc["recording"]["message"]
    assert_nothing_lost(doc)
    compare_counts([doc["summary"]], truth)
    compare_with_live(live_records, doc["summary"], truth)
    # the windows add up to the summary
    last = {}
    for w in doc["windows"]:
        for vm in w["vms"]:
            last[vm["vm_id"]] = vm["pushes"]
    for vm in vms_of(doc, truth["pid"]):
        assert last[vm["vm_id"]] == vm["pushes"]
    assert len(doc["windows"]) >= 2


def test_report_equals_truth_raw_tp(kvm_bpf, tmp):
    """The raw_tp fallback records the same."""
    truth, _ = record_command(tmp / "raw.dtr", SMALL, tmp / "truth.json", "--hooks", "raw")
    rc, doc, err = report(tmp / "raw.dtr", "--json", "-S")
    assert rc == 0, err
    assert doc["recording"]["hooks"] == "raw_tp"
    assert_nothing_lost(doc)
    compare_counts([doc["summary"]], truth)


def test_bitmap_mode_counts(kvm_bpf, tmp):
    """Bitmap tracking: the dirty pages KVM_GET_DIRTY_LOG returned, as dirtygen counted them."""
    truth, _ = record_command(tmp / "bm.dtr", ["--vcpus", "2", "--mem", "32", "--mode", "bitmap", "--rate",
                                              "5000", "--reap-interval", "100", "--duration", "1.5"],
                              tmp / "truth.json")
    rc, doc, err = report(tmp / "bm.dtr", "--json", "-S")
    assert rc == 0, err
    assert_nothing_lost(doc)
    (vm,) = vms_of(doc, truth["pid"])
    tvm = truth["vms"][0]
    assert vm["tracking"] == "bitmap"
    assert vm["bitmap"]["syncs"] == tvm["bitmap_syncs"]
    assert vm["bitmap"]["dirty_pages"] == tvm["bitmap_dirty_pages"]


# --- losing nothing, or saying exactly what ---

def check_exact_accounting(doc, truth):
    """Every push KVM made was recorded or counted as lost: nothing vanished."""
    rec = doc["recording"]
    pid = truth["pid"]
    assert rec["pid_filter"] == pid
    pushes = total(doc, pid, "pushes")
    assert pushes == rec["events_by_kind"]["push"]
    assert pushes + rec["lost"]["push"] == truth["totals"]["harvested"], (
        f"recorded {pushes} pushes + lost {rec['lost']['push']} != harvested {truth['totals']['harvested']}")
    resets = sum(c["ring_resets"] for vm in vms_of(doc, pid) for c in vm["vcpus"])
    assert resets + rec["lost"]["reset"] == truth["totals"]["rings_reset"]
    fulls = total(doc, pid, "full_exits")
    assert fulls + rec["lost"]["full"] == truth["totals"]["full_exits"]


def test_max_rate_loses_nothing_or_says_how_much(kvm_bpf, tmp):
    """dirtygen's highest rate with 4 vCPUs: recorded + lost == truth, exactly (lost is 0 here)."""
    truth, err = record_command(tmp / "max.dtr", MAXRATE, tmp / "truth.json")
    rc, doc, rerr = report(tmp / "max.dtr", "--json", "-S")
    assert rc == 0, rerr
    check_exact_accounting(doc, truth)
    rec = doc["recording"]
    rate = rec["events"] / rec["duration_s"]
    size = os.path.getsize(tmp / "max.dtr")
    with open(os.path.join(BUILD, "record-maxrate.txt"), "w") as f:
        f.write(f"harvested {truth['totals']['harvested']} pushes in {rec['duration_s']:.2f} s; recorded "
                f"{rec['events']} events ({rate:.0f}/s), lost {rec['lost_total']}; {size} bytes = "
                f"{size / rec['events'] * 1e6 / 2**20:.2f} MiB per million events\n")
    assert rec["lost_total"] == 0, f"lost {rec['lost']} at {rate:.0f} events/s with a 64 MiB ring buffer"


def test_forced_loss_is_counted_exactly(kvm_bpf, tmp):
    """A ring buffer far too small and a reader that cannot drain it (stopped while dirtygen runs):
    events are lost, and the file says exactly how many. Stopping the reader makes the loss certain at
    any machine's speed (an emulated guest's pushes alone did not always fill 8 KiB)."""
    truth_path = tmp / "truth.json"
    # the command stops dirtytop (its parent), then runs dirtygen, which dirtytop already filters on
    cmd = [DIRTYTOP, "record", "-o", str(tmp / "lossy.dtr"), "-c", "--ringbuf-size", "8K", "--",
           "sh", "-c", 'kill -STOP "$PPID" && exec "$@"', "sh"] + gen_cmd(truth_path, MAXRATE[:-1] + ["2"])
    rec = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:  # until dirtygen has exited: a zombie, as its parent cannot reap it while stopped
            assert rec.poll() is None, f"dirtytop record exited early ({rec.returncode}): {rec.stderr.read()}"
            assert time.monotonic() < deadline, "dirtygen did not finish in 180 s"
            try:
                with open(f"/proc/{rec.pid}/task/{rec.pid}/children") as f:
                    kids = f.read().split()
                states = []
                for kid in kids:
                    with open(f"/proc/{kid}/stat") as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                states = []
            if states == ["Z"]:
                break
            time.sleep(0.1)
    finally:
        rec.send_signal(signal.SIGCONT)
    err = rec.communicate(timeout=120)[1]
    assert rec.returncode == 0, f"dirtytop record failed ({rec.returncode}): {err}"
    with open(truth_path) as f:
        truth = json.load(f)
    assert "LOST" in err, err
    rc, doc, rerr = report(tmp / "lossy.dtr", "--json", "-S")
    assert rc == 0, rerr
    assert doc["recording"]["lost"]["push"] > 0, "an 8 KiB ring buffer lost nothing: the test proves nothing"
    check_exact_accounting(doc, truth)
    rc, _, _ = report(tmp / "lossy.dtr", "--text")
    assert rc == 0


# --- files: cut, damaged, foreign, future, older ---

def test_batch_file_reads_the_same_both_ways():
    """The independent reader and `dirtytop report` count the same pushes in a 2.0 file of batches."""
    path = os.path.join(os.path.dirname(__file__), "..", "data", "v2.0-batch.dtr")
    data = open(path, "rb").read()
    parsed = recfile.parse(data)
    assert parsed["version"] == (2, 0) and parsed["trailer"]
    rc, doc, err = report(path, "--json", "-S")
    assert rc == 0 and err == "", err
    rec = doc["recording"]
    assert rec["events_by_kind"]["push"] == recfile.events_before(parsed, len(data), "push") == 1160
    assert rec["events_by_kind"]["batch"] == recfile.events_before(parsed, len(data), "batch") == 24
    assert rec["events"] == recfile.events_before(parsed, len(data))
    (vm,) = doc["summary"]["vms"]
    assert sorted(c["pushes"] for c in vm["vcpus"]) == [580, 580]


def test_reads_format_1_0():
    """A recording of format 1.0 (a record per push), committed, reads and reports as it did."""
    path = os.path.join(os.path.dirname(__file__), "..", "data", "v1.0.dtr")
    data = open(path, "rb").read()
    parsed = recfile.parse(data)
    assert parsed["version"] == (1, 0) and parsed["trailer"]
    rc, doc, err = report(path, "--json", "-S")
    assert rc == 0 and err == "", err
    rec = doc["recording"]
    assert rec["complete"] and rec["format_version"] == "1.0"
    assert rec["events_by_kind"]["push"] == recfile.events_before(parsed, len(data), "push") == 500
    assert rec["events_by_kind"]["batch"] == 0
    assert rec["events"] == recfile.events_before(parsed, len(data)) == 504
    (vm,) = doc["summary"]["vms"]
    assert vm["pushes"] == 500 and vm["reset_calls"] == 1 and vm["reset_entries"] == 500
    assert sorted((c["vcpu_id"], c["pushes"], c["entries_reset"]) for c in vm["vcpus"]) == [(0, 300, 300),
                                                                                             (1, 200, 200)]


def test_cut_anywhere_reports_its_complete_blocks(small_recording, tmp):
    path, truth = small_recording
    data = open(path, "rb").read()
    parsed = recfile.parse(data)
    assert parsed["trailer"] and len(parsed["blocks"]) > 5
    rc, full, err = report(path, "--json", "-S")
    assert rc == 0, err
    full_pushes = total(full, truth["pid"], "pushes")
    rnd = random.Random(1234)
    cuts = {0, 5, parsed["header_end"] - 1, parsed["header_end"], len(data) - 1}
    for b in parsed["blocks"][:6]:
        cuts |= {b["start"] + 1, b["start"] + 30, b["end"] - 1, b["end"]}
    cuts |= {rnd.randrange(parsed["header_end"], len(data)) for _ in range(14)}
    cuts.discard(len(data))  # the last block's end can be the file's end: the whole file is no cut
    for cut in sorted(cuts):
        cutfile = tmp / f"cut{cut}.dtr"
        cutfile.write_bytes(data[:cut])
        rc, doc, err = report(cutfile, "--json", "-S")
        if cut < parsed["header_end"]:
            assert rc == 1 and ("not a dirtytop recording" in err or "header" in err), (cut, rc, err)
            continue
        assert rc == 0, f"cut at {cut}: {err}"
        assert "not finalized" in err, err
        rec = doc["recording"]
        assert rec["status"] == "truncated" and not rec["complete"]
        want = recfile.events_before(parsed, cut, "push")
        assert rec["events_by_kind"]["push"] == want, f"cut at {cut}"
        assert rec["events"] == recfile.events_before(parsed, cut), f"cut at {cut}"
        got = total(doc, truth["pid"], "pushes") if doc["summary"]["vms"] else 0
        assert got == want <= full_pushes, f"cut at {cut}: reported {got} pushes, complete blocks hold {want}"


def test_damaged_foreign_and_future_files(small_recording, tmp):
    path, _ = small_recording
    data = bytearray(open(path, "rb").read())
    parsed = recfile.parse(bytes(data))
    for i, b in enumerate(parsed["blocks"][1:6]):
        bad = bytearray(data)
        off = b["start"] + (4 + 7 * i if i % 2 else 60 + i)  # its header or its payload
        bad[off] ^= 0x5A
        f = tmp / f"bad{i}.dtr"
        f.write_bytes(bytes(bad))
        rc, _, err = report(f, "--json")
        assert rc == 1, (off, rc, err)
        assert "corrupt" in err, err
        rc, doc, err = report(f, "--json", "-S", "--salvage")
        assert rc == 0, err
        assert doc["recording"]["status"] == "corrupt"
    for name, content in (("empty", b""), ("text", b"hello, world\n" * 50),
                          ("elf", open(DIRTYGEN, "rb").read()[:70000]), ("random", os.urandom(5000)),
                          ("png", b"\x89PNG\r\n\x1a\n" + os.urandom(100))):
        f = tmp / name
        f.write_bytes(content)
        rc, _, err = report(f)
        assert rc == 1 and "not a dirtytop recording" in err, (name, rc, err)
    future = bytearray(data)
    future[8:10] = (parsed["version"][0] + 1).to_bytes(2, "little")  # the next major version
    (tmp / "future.dtr").write_bytes(bytes(future))
    rc, _, err = report(tmp / "future.dtr")
    assert rc == 1 and "newer dirtytop" in err, err
    rc, _, err = report(tmp)
    assert rc == 1 and "directory" in err, err
    rc, _, err = report(tmp / "missing.dtr")
    assert rc == 1 and "No such file" in err, err


def test_force_and_symlinks(kvm_bpf, tmp):
    existing = tmp / "existing.dtr"
    existing.write_text("precious")
    p = subprocess.run([DIRTYTOP, "record", "-q", "-o", str(existing), "-d", "0.2"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1 and "already exists" in p.stderr and "--force" in p.stderr, p.stderr
    assert existing.read_text() == "precious"
    p = subprocess.run([DIRTYTOP, "record", "-q", "--force", "-o", str(existing), "-d", "0.2"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rc, doc, err = report(existing, "--json", "-S")
    assert rc == 0 and doc["recording"]["complete"], err
    target = tmp / "target"
    target.write_text("precious too")
    link = tmp / "link.dtr"
    link.symlink_to(target)
    for extra in ([], ["--force"]):
        p = subprocess.run([DIRTYTOP, "record", "-q", "-o", str(link), "-d", "0.2"] + extra,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 1, p.stderr
        assert ("symbolic link" if extra else "already exists") in p.stderr, p.stderr
        assert target.read_text() == "precious too"
    dangling = tmp / "dangling.dtr"
    dangling.symlink_to(tmp / "nowhere")
    p = subprocess.run([DIRTYTOP, "record", "-q", "--force", "-o", str(dangling), "-d", "0.2"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and not (tmp / "nowhere").exists(), p.stderr


# --- signals ---

def test_sigkill_leaves_a_readable_prefix(kvm_bpf, tmp):
    path = tmp / "killed.dtr"
    rec = subprocess.Popen([DIRTYTOP, "record", "-o", str(path), "-c", "--block-events", "1000", "--"] +
                           gen_cmd(tmp / "truth.json", SMALL[:-1] + ["8"]), stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        time.sleep(3)
        assert rec.poll() is None, rec.stderr.read()
        rec.send_signal(signal.SIGKILL)
        rec.wait(timeout=30)
    finally:
        os.killpg(rec.pid, signal.SIGKILL)	# its dirtygen
    assert rec.returncode == -signal.SIGKILL
    parsed = recfile.parse(open(path, "rb").read())
    assert not parsed["trailer"] and parsed["blocks"]
    rc, doc, err = report(path, "--json")
    assert rc == 0, err
    assert "not finalized" in err
    rec_ = doc["recording"]
    assert rec_["status"] == "truncated" and rec_["events_by_kind"]["push"] > 1000
    assert rec_["events"] == recfile.events_before(parsed, os.path.getsize(path))
    assert doc["windows"] and doc["summary"]["vms"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_finalizes_with_a_trailer(kvm_bpf, tmp, sig):
    path = tmp / "sig.dtr"
    rec = start_recorder(path)
    try:
        subprocess.run(gen_cmd(tmp / "truth.json", ["--vcpus", "2", "--mem", "16", "--rate", "5000",
                                                    "--duration", "1"]), check=True, timeout=60)
        truth = json.load(open(tmp / "truth.json"))
    finally:
        err = stop_recorder(rec, sig)
    assert "recorded" in err
    parsed = recfile.parse(open(path, "rb").read())
    assert parsed["trailer"], "no trailer after the signal"
    assert parsed["blocks"][-1]["kind"] == 2
    rc, doc, err = report(path, "--json", "-S")
    assert rc == 0 and doc["recording"]["complete"] and err == "", err
    assert total(doc, truth["pid"], "pushes") == truth["totals"]["harvested"]


# --- the HTML page and the Perfetto trace ---

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def chromium(tmp, *args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        missing("chromium (scripts/install-deps installs it)")
    p = subprocess.run([exe] + CHROMIUM_FLAGS + [f"--user-data-dir={tmp}/chromium"] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"chromium failed ({p.returncode}): {p.stderr[-2000:]}"
    return p.stdout


def test_html_report_draws_its_plots(small_recording, tmp):
    path, truth = small_recording
    html = tmp / "report.html"
    rc, _, err = report(path, "--html", str(html))
    assert rc == 0, err
    page = html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page loads something from outside"
    rc, doc, _ = report(path, "--json", "-S")
    dom = chromium(tmp, "--dump-dom", f"file://{html}")
    ids = []
    for vm in vms_of(doc, truth["pid"]):
        n = vm["vm_id"]
        ids += [f"fillrate-vm{n}", f"timeline-vm{n}", f"reaplat-vm{n}", f"heatmap-vm{n}-slot1"]
        ids += [f"occupancy-vm{n}-vcpu{c['vcpu_id']}" for c in vm["vcpus"]]
    assert len(ids) == 2 * (4 + 2)
    for i in ids:
        m = re.search(r'<svg id="%s".*?</svg>' % re.escape(i), dom, re.S)
        assert m, f"the page has no plot {i}"
        svg = m.group(0)
        marks = len(re.findall(r"<(polyline|polygon|rect|line)\b", svg))
        assert marks > 5, f"plot {i} is empty ({marks} marks)"
        if i.startswith("occupancy"):
            assert 'class="softlimit"' in svg and re.search(r'class="series"[^>]*points="[^"]{200,}', svg), i
        if i.startswith("timeline"):
            assert 'class="stall"' in svg and 'class="exit"' in svg, "no stall or soft-full exit drawn"
        if i.startswith("heatmap"):
            assert svg.count('class="cell"') > 10
        if i.startswith("reaplat"):
            assert 'class="bar"' in svg
    png = tmp / "report.png"
    chromium(tmp, f"--screenshot={png}", "--window-size=900,1300", "--hide-scrollbars", f"file://{html}")
    colors, top_share = recfile.png_colors(png)
    assert colors > 30 and top_share < 0.97, f"the screenshot looks blank: {colors} colors, {top_share:.1%} one"


def test_perfetto_trace(small_recording, tmp):
    path, truth = small_recording
    out = tmp / "trace.json"
    rc, _, err = report(path, "--perfetto", str(out))
    assert rc == 0, err
    trace = json.load(open(out))
    ev = trace["traceEvents"]
    rc, doc, _ = report(path, "--json", "-S")
    names = {(e["ph"], e["name"]) for e in ev}
    assert ("M", "process_name") in names and ("M", "thread_name") in names
    procs = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
    for vm in vms_of(doc, truth["pid"]):
        (pid,) = [p for p, n in procs.items() if n.startswith(f"VM {vm['vm_id']}:")]
        exits = [e for e in ev if e["ph"] == "i" and e["name"] == "soft-full exit" and e["pid"] == pid]
        stalls = [e for e in ev if e["ph"] == "X" and e["name"] == "full stall" and e["pid"] == pid]
        counters = [e for e in ev if e["ph"] == "C" and e["pid"] == pid]
        resets = [e for e in ev if e["ph"] == "X" and e["name"] == "KVM_RESET_DIRTY_RINGS" and e["pid"] == pid]
        assert len(exits) == vm["full_exits"] > 0
        assert len(stalls) == vm["stalls"] and all(e["dur"] > 0 for e in stalls)
        assert len(resets) == vm["reset_calls"]
        assert max(c["args"]["used"] for c in counters) >= vm["soft_limit"]
        assert all(e["ts"] >= 0 for e in ev if "ts" in e)


def test_text_report(small_recording):
    path, _ = small_recording
    p = subprocess.run([DIRTYTOP, "report", str(path), "-V", "-D"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "== window 1" in p.stdout and "== whole recording" in p.stdout and "lost events: none" in p.stdout
    p = subprocess.run([DIRTYTOP, "report"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "which recording" in p.stderr
