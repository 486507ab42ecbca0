"""Issue 15: make install into a DESTDIR puts the binaries, man pages, bash completion and
the exporter's systemd unit; make uninstall leaves the tree as it was; the man pages render
without a warning and give every option of their command."""
import os
import re
import shutil
import subprocess

from conftest import DIRTYTOP, ROOT


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
              "usr/share/man/man8/dirtytop-exporter.8",
              "usr/share/bash-completion/completions/dirtytop",
              "usr/lib/systemd/system/dirtytop-exporter.service"):
        assert f in got, sorted(got)
    assert os.access(dest / "usr/sbin/dirtytop", os.X_OK)
    unit = (dest / "usr/lib/systemd/system/dirtytop-exporter.service").read_text()
    exec_start = re.findall(r"^ExecStart=(\S+)", unit, re.M)
    assert exec_start == ["/usr/sbin/dirtytop"], f"the installed unit runs {exec_start}, not PREFIX's binary"
    assert "/usr/local" not in unit, "the installed unit still names /usr/local"
    if shutil.which("systemd-analyze"):
        # the unit as installed, its ExecStart pointed at the staged binary and man at the
        # staged pages (verify checks that both exist)
        staged = tmp_path / "dirtytop-exporter.service"
        staged.write_text(unit.replace("/usr/sbin/dirtytop", str(dest / "usr/sbin/dirtytop")))
        r = subprocess.run(["systemd-analyze", "verify", str(staged)], capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=str(dest / "usr/share/man")))
        assert r.returncode == 0 and "dirtytop-exporter" not in r.stderr, r.stderr
    subprocess.run(make + ["uninstall"], check=True, capture_output=True)
    assert tree(dest) == before, sorted(tree(dest) ^ before)


def test_man_pages_render():
    pages = sorted(f for f in os.listdir(os.path.join(ROOT, "man")) if f.endswith(".8"))
    assert {"dirtytop.8", "dirtytop-record.8", "dirtytop-report.8", "dirtytop-tune.8",
            "dirtytop-doctor.8", "dirtytop-exporter.8"} <= set(pages)
    for p in pages:
        r = subprocess.run(["man", "--warnings", "-l", os.path.join(ROOT, "man", p)],
                           capture_output=True, text=True, env=dict(os.environ, MANWIDTH="80"))
        assert r.returncode == 0 and not r.stderr, f"{p}: {r.stderr}"
        assert "EXIT STATUS" in r.stdout and "EXAMPLES" in r.stdout and "OPTIONS" in r.stdout


def test_completion_parses():
    r = subprocess.run(["bash", "-n", os.path.join(ROOT, "completion", "dirtytop")], capture_output=True)
    assert r.returncode == 0, r.stderr


def exporter_options():
    r = subprocess.run([DIRTYTOP, "exporter", "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", r.stdout.split("Exit status")[0]))
    assert {"--listen", "--textfile", "--from-recording", "--hooks"} <= opts, opts
    return opts, r.stdout


def test_exporter_man_page_has_every_option():
    opts, helptext = exporter_options()
    r = subprocess.run(["man", "-l", os.path.join(ROOT, "man", "dirtytop-exporter.8")], capture_output=True,
                       text=True, env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
    page = re.sub(r".\x08", "", r.stdout).replace("\u2010", "-")
    missing = sorted(o for o in opts if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", page))
    assert not missing, f"dirtytop-exporter(8) lacks {missing}"
    for status in re.findall(r"(\d) [a-z]", helptext.split("Exit status:")[1]):
        assert re.search(rf"\b{status} [a-z]", page.split("EXIT STATUS")[1]), f"exit status {status} missing"
    assert "README" in page


# bash-completion's _init_completion, reduced to what completion/dirtytop uses, for hosts
# without the package (the real one is used when installed)
INIT_COMPLETION = """
_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${words[cword]};
                     prev=${words[cword-1]}; }"""


def test_completion_knows_exporter():
    real = "/usr/share/bash-completion/bash_completion"
    init = f"source {real}" if os.path.exists(real) else INIT_COMPLETION
    opts, _ = exporter_options()

    def complete(*words):
        line = " ".join(words)
        script = (f"{init}\nsource {ROOT}/completion/dirtytop; "
                  f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
                  f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; _dirtytop; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return set(r.stdout.split())

    assert "exporter" in complete("dirtytop", "ex")
    got = complete("dirtytop", "exporter", "-")
    assert opts <= got, f"completion lacks {sorted(opts - got)}"
