"""Shared helpers for the integration tests: they run dirtytop and dirtygen for real.

A test that needs root, /dev/kvm, BPF or a tracepoint this machine lacks is skipped
with a reason naming the capability (pytest -rs prints it as a SKIPPED line). With
DIRTYTOP_NO_SKIP=1 (CI on machines that have all of them) such a skip fails instead.
"""
import json
import os
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
DIRTYTOP = os.path.join(BUILD, "dirtytop")
DIRTYGEN = os.path.join(BUILD, "dirtygen")
TRACEFS_EVENTS = ["/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"]


def missing(what):
    """Skip loudly, or fail where CI says every capability must be there."""
    msg = f"SKIPPED: this machine lacks {what}"
    if os.environ.get("DIRTYTOP_NO_SKIP") == "1":
        pytest.fail(msg + " (DIRTYTOP_NO_SKIP=1: a missing capability is a failure here)")
    pytest.skip(msg)


def require_root():
    if os.geteuid() != 0:
        missing("root (these tests load BPF programs and create KVM VMs)")


def require_kvm():
    if not os.path.exists("/dev/kvm"):
        missing("/dev/kvm")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        missing("read/write access to /dev/kvm")


def require_bpf():
    require_root()
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        missing("kernel BTF (/sys/kernel/btf/vmlinux)")


# Fixtures that run VMs: a test using one (directly or through another fixture) is marked
# `kvm`, so tests/run-integration can run it where KVM is (this host, or a guest).
KVM_FIXTURES = {"kvm_bpf", "healthy", "small_recording"}


# Needs hardware virtualization's speed: rates of 10-100K dirtied pages/s, rings filled by a
# paced writer against a periodic reaper, QEMU booting SeaBIOS within a deadline, timings to
# the millisecond. Under emulation (tests/run-integration's guest: ~1000 pages/s) such a test
# cannot produce its premise; where this host has no /dev/kvm it is listed and not run.
native_kvm = pytest.mark.native_kvm


def pytest_configure(config):
    config.addinivalue_line("markers", "kvm: runs KVM VMs (dirtygen or QEMU)")
    config.addinivalue_line("markers", "native_kvm: needs hardware virtualization's speed (not emulation's)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if KVM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kvm)


@pytest.fixture
def kvm_bpf():
    """A machine where dirtygen runs VMs and dirtytop attaches."""
    require_bpf()
    require_kvm()
    for f in (DIRTYTOP, DIRTYGEN):
        assert os.access(f, os.X_OK), f"{f} is not built: run make"


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


def run_traced(gen_args, top_args=(), delay=0.5, timeout=120, hooks=None):
    """Run dirtygen under `dirtytop --json -- dirtygen ...`.

    dirtytop attaches before it starts dirtygen and ends after dirtygen exits with
    a last refresh, so every event of the run is in its output. Returns
    (records, truth): the JSON Lines dirtytop printed and dirtygen's ground truth.
    """
    with tempfile.TemporaryDirectory() as d:
        truth_path = os.path.join(d, "truth.json")
        cmd = [DIRTYTOP, "--json", "-d", str(delay)]
        if hooks:
            cmd += ["--hooks", hooks]
        cmd += list(top_args) + ["--", DIRTYGEN, "--quiet", "--truth", truth_path] + list(gen_args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert p.returncode == 0, f"dirtytop/dirtygen failed ({p.returncode}): {p.stderr}"
        records = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        with open(truth_path) as f:
            truth = json.load(f)
    return records, truth


def vm_tids(truth_vm):
    return {c["tid"] for c in truth_vm["vcpus"]}


def final_vm_record(records, truth_vm):
    """The last record dirtytop printed for the VM whose vCPU threads are truth_vm's."""
    tids = vm_tids(truth_vm)
    found = None
    for rec in records:
        for vm in rec["vms"]:
            if {c["tid"] for c in vm["vcpus"]} & tids:
                found = vm
    assert found is not None, f"dirtytop never showed the VM with vCPU threads {sorted(tids)}"
    return found


def records_of_vm(records, truth_vm):
    """Every (record, vm) pair for the VM of truth_vm, in order."""
    tids = vm_tids(truth_vm)
    out = []
    for rec in records:
        for vm in rec["vms"]:
            if {c["tid"] for c in vm["vcpus"]} & tids:
                out.append((rec, vm))
    return out


def vcpu_by_tid(vm_record, tid):
    for c in vm_record["vcpus"]:
        if c["tid"] == tid:
            return c
    raise AssertionError(f"vCPU thread {tid} is missing from dirtytop's VM record")
