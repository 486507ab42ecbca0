"""The changed-only vCPU read against a BPF hash map the test writes itself (tests/bpf/test_vcpu_reader.c).

No VM needed: after every step (600 new entries, a few changed, one changed by a write that ended after the
read that saw it change, deletions, a new entry at a deleted key, a copy under a new key, another snapshot,
the map full at 8192) the snapshot holds what the map holds, byte for byte, and the read copied only the
entries that changed.
"""
import os
import subprocess

from conftest import BUILD, require_bpf


def test_reader_keeps_what_did_not_change_and_copies_what_did():
    require_bpf()
    p = subprocess.run([os.path.join(BUILD, "tests", "test_vcpu_reader")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[       OK ] test_changes_deletions_and_new_entries" in p.stdout, p.stdout + p.stderr
