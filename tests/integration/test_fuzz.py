"""The recording reader and the whole report under libFuzzer, for a bounded time.

tests/fuzz/run builds both targets (clang -fsanitize=fuzzer,address,undefined) and
runs each from the committed corpus in tests/fuzz/corpus for FUZZ_SECONDS (30 s by
default here; DIRTYTOP_FUZZ_SECONDS overrides). Any crash, hang or runaway memory
fails the test; the input is left in build/fuzz/artifacts/.
"""
import os
import subprocess
import tempfile

from conftest import ROOT, missing


def clang_has_libfuzzer():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "f.c")
        with open(src, "w") as f:
            f.write("int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n")
        p = subprocess.run(["clang", "-fsanitize=fuzzer,address", src, "-o", os.path.join(d, "f")],
                           capture_output=True)
        return p.returncode == 0


def test_fuzz_reader_and_report():
    if not clang_has_libfuzzer():
        missing("clang with libFuzzer (-fsanitize=fuzzer)")
    secs = os.environ.get("DIRTYTOP_FUZZ_SECONDS", "30")
    p = subprocess.run([os.path.join(ROOT, "tests", "fuzz", "run"), secs], capture_output=True, text=True,
                       timeout=int(secs) * 2 + 600)
    print(p.stdout)
    assert p.returncode == 0, f"the fuzzer found a crash:\n{p.stdout[-6000:]}\n{p.stderr[-3000:]}"
    assert p.stdout.count("no crash") == 2, p.stdout
