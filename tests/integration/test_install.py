"""Issue 15: make install into a DESTDIR puts the binaries, man pages and bash completion;
make uninstall leaves the tree as it was; the man pages render without a warning."""
import os
import subprocess

from conftest import ROOT


def tree(d):
    out = set()
    for base, dirs, files in os.walk(d):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(base, n), d))
    return out


def test_install_uninstall(tmp_path):
    dest = tmp_path / "stage"
    dest.mkdir()
    (dest / "usr" / "share" / "man" / "man8").mkdir(parents=True)
    (dest / "usr" / "share" / "man" / "man8" / "other.8").write_text(".TH OTHER 8\n")
    before = tree(dest)
    make = ["make", "-s", "-C", ROOT, f"DESTDIR={dest}", "PREFIX=/usr"]
    subprocess.run(make + ["install"], check=True, capture_output=True)
    got = tree(dest) - before
    for f in ("usr/sbin/dirtytop", "usr/sbin/dirtygen", "usr/share/man/man8/dirtytop.8",
              "usr/share/man/man8/dirtytop-record.8", "usr/share/man/man8/dirtytop-report.8",
              "usr/share/man/man8/dirtytop-tune.8", "usr/share/man/man8/dirtytop-doctor.8",
              "usr/share/bash-completion/completions/dirtytop"):
        assert f in got, sorted(got)
    assert os.access(dest / "usr/sbin/dirtytop", os.X_OK)
    subprocess.run(make + ["uninstall"], check=True, capture_output=True)
    assert tree(dest) == before, sorted(tree(dest) ^ before)


def test_man_pages_render():
    pages = sorted(f for f in os.listdir(os.path.join(ROOT, "man")) if f.endswith(".8"))
    assert {"dirtytop.8", "dirtytop-record.8", "dirtytop-report.8", "dirtytop-tune.8",
            "dirtytop-doctor.8"} <= set(pages)
    for p in pages:
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(ROOT, "man", p)],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
        assert r.returncode == 0 and not r.stderr, f"{p}: {r.stderr}"
        assert "EXIT STATUS" in r.stdout and "EXAMPLES" in r.stdout and "OPTIONS" in r.stdout


def test_completion_parses():
    r = subprocess.run(["bash", "-n", os.path.join(ROOT, "completion", "dirtytop")], capture_output=True)
    assert r.returncode == 0, r.stderr
