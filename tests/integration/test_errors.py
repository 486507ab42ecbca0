"""Bad input gets a clear error and the documented exit code (README: Exit status)."""
import json
import os
import subprocess
import time

import pytest

from conftest import DIRTYGEN, DIRTYTOP, require_bpf, require_root, run_traced


def run(args, env=None, user=None, timeout=60):
    cmd = [DIRTYTOP] + args
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("args,needle", [
    (["-d", "abc"], "--delay takes seconds"),
    (["-d", "0"], "--delay takes seconds"),
    (["-n", "0"], "--iterations takes a count"),
    (["-p", "0"], "--pid takes a process id"),  # a name is valid (-p web-01): 0 is no pid and no name
    (["-s", "nope"], "--sort takes"),
    (["--hooks", "kprobe"], "--hooks takes auto, btf or raw"),
    (["--heat-region", "3"], "--heat-region takes MiB, a power of two"),
    (["--bogus"], "unrecognized option"),
])
def test_bad_flags_exit_2(args, needle):
    p = run(args)
    assert p.returncode == 2
    assert needle in p.stderr
    assert p.stdout == ""


def test_no_privileges_names_the_capabilities():
    require_root()  # to drop to nobody
    p = run(["-b", "-n", "1"], user=65534)
    assert p.returncode == 4, p.stderr
    assert "CAP_BPF" in p.stderr and "CAP_PERFMON" in p.stderr and "setcap" in p.stderr


def test_missing_btf_exit_3():
    require_root()
    p = run(["-b", "-n", "1"], env={"DIRTYTOP_BTF": "/nonexistent/vmlinux"})
    assert p.returncode == 3
    assert "no BTF" in p.stderr and "CONFIG_DEBUG_INFO_BTF" in p.stderr


def test_missing_tracepoints_exit_3(tmp):
    require_root()
    (tmp / "events" / "syscalls").mkdir(parents=True)
    p = run(["-b", "-n", "1"], env={"DIRTYTOP_TRACEFS": str(tmp)})
    assert p.returncode == 3
    assert "kvm/kvm_dirty_ring_push" in p.stderr and "5.11" in p.stderr


def test_failing_command_status_passed_on(kvm_bpf):
    p = run(["--json", "-d", "0.2", "--", DIRTYGEN, "--ring-size", "1000"])
    assert p.returncode == 2, p.stderr           # dirtygen's usage error
    assert "power of two" in p.stderr
    p = run(["--json", "-d", "0.2", "--", "/nonexistent/cmd"])
    assert p.returncode == 127 and "cannot run" in p.stderr


def test_vm_killed_mid_trace(kvm_bpf):
    """A VMM killed with SIGKILL while dirtytop watches: its VM is shown exited once, then
    dropped, and dirtytop goes on."""
    top = subprocess.Popen([DIRTYTOP, "--json", "-d", "0.3"], stdout=subprocess.PIPE, text=True)
    gen = None
    try:
        top.stdout.readline()
        gen = subprocess.Popen([DIRTYGEN, "--quiet", "--truth", "/dev/null", "--vcpus", "2", "--mem", "16",
                                "--ring-size", "1024", "--rate", "5000", "--duration", "60"])
        states = []
        for _ in range(200):
            rec = json.loads(top.stdout.readline())
            mine = [vm for vm in rec["vms"] if vm["pid"] == gen.pid]
            states.append(mine[0]["state"] if mine else None)
            if mine and mine[0]["state"] == "running" and mine[0]["pushes"] > 0 and gen.poll() is None:
                gen.kill()
                gen.wait()
            if states[-1] is None and "exited" in states:
                break
        assert "running" in states and states.count("exited") == 1, states
        assert states[-1] is None
        assert top.poll() is None, "dirtytop stopped when the VM died"
    finally:
        if gen and gen.poll() is None:
            gen.kill()
        top.terminate()
        top.wait(timeout=30)


@pytest.mark.parametrize("drain", [0, 100], ids=["blocked", "partly-written"])
def test_sigterm_with_a_full_output_pipe(drain):
    """A reader that stopped reading: dirtytop blocked writing still ends on SIGTERM.

    partly-written: the reader takes a few bytes, so the blocked write goes on with part of
    its line and blocks again; the signal then cuts a write that already wrote something,
    which stdio carries on (and exit would flush).
    """
    require_bpf()
    p = subprocess.Popen([DIRTYTOP, "--json", "-d", "0.05"], stdout=subprocess.PIPE)
    try:
        def blocked_in_write():
            with open(f"/proc/{p.pid}/wchan") as f:
                return f.read().strip().endswith("pipe_write")  # anon_pipe_write since 6.16
        deadline = time.monotonic() + 60
        while not blocked_in_write():  # until it waits in write() on the full pipe
            assert p.poll() is None, "dirtytop ended on its own"
            assert time.monotonic() < deadline, "the pipe never filled"
            time.sleep(0.2)
        if drain:
            os.read(p.stdout.fileno(), drain)
            deadline = time.monotonic() + 10
            while not blocked_in_write():
                assert time.monotonic() < deadline, "the write did not block again"
                time.sleep(0.05)
        p.terminate()
        assert p.wait(timeout=10) == 0
    finally:
        p.kill()
