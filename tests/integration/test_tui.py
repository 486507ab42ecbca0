"""The interactive screen, driven for real: dirtytop runs in a detached tmux session of a
fixed size, dirtygen runs VMs beside it, and the tests type keys (send-keys) and read the
screen (capture-pane) until what they expect shows, within a deadline.

Each test has its own tmux server (-L) so nothing leaks between tests or into the user's
tmux; teardown kills the server and every dirtygen it started.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import DIRTYGEN, DIRTYTOP, missing

WIDTH, HEIGHT = 220, 50      # the whole table is 217 columns wide
SGR = re.compile(r"\x1b\[([0-9;]*)m")
START_TIMEOUT = 90      # loading and verifying the BPF programs can take a while
TIMEOUT = 30


class Screen:
    """dirtytop in a tmux pane of its own server."""

    def __init__(self, name, args=(), width=WIDTH, height=HEIGHT):
        self.socket = f"dirtytop-test-{os.getpid()}-{name}"
        self.last = []
        self.cursor = None
        self.socket_path = None
        cmd = " ".join([DIRTYTOP] + [str(a) for a in args])
        # remain-on-exit: when dirtytop ends, the pane stays (dead) so we can read its status
        self.tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", str(height), cmd,
                  ";", "set-option", "-g", "remain-on-exit", "on")
        self.socket_path = self.pane("#{socket_path}")

    def tmux(self, *args, check=True):
        p = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                           capture_output=True, text=True, timeout=10)
        if check and p.returncode:
            raise AssertionError(f"tmux {' '.join(args)} failed: {p.stderr.strip()}")
        return p.stdout

    def lines(self):
        """The screen's lines as text; self.cursor is the index of the line drawn in the
        cursor's colours (white on blue, or reverse video without colours), or None."""
        out = self.tmux("capture-pane", "-p", "-e", "-t", "top")
        raw = (out[:-1] if out.endswith("\n") else out).split("\n")
        self.last = [SGR.sub("", l) for l in raw]
        self.cursor = None
        for i, l in enumerate(raw):
            lead = re.match(r"(?:\x1b\[[0-9;]*m)+", l)
            params = set(";".join(SGR.findall(lead.group(0))).split(";")) if lead else set()
            if "44" in params or "7" in params:
                self.cursor = i
        return self.last

    def text(self):
        return "\n".join(self.lines())

    def keys(self, *keys):
        """tmux key names: 'Enter', 'Home', 'C-c', 'q'..."""
        self.tmux("send-keys", "-t", "top", *keys)

    def type(self, s):
        self.tmux("send-keys", "-t", "top", "-l", s)

    def pane(self, fmt):
        return self.tmux("display-message", "-p", "-t", "top", fmt).strip()

    def dead(self):
        return self.pane("#{pane_dead}") == "1"

    def dump(self):
        return "\n".join(self.last).rstrip()

    def wait(self, what, pred, timeout=TIMEOUT):
        """Poll the screen until pred(lines) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            if self.dead():
                self.lines()
                raise AssertionError(f"dirtytop ended while waiting for {what}:\n{self.dump()}")
            got = pred(self.lines())
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; the screen:\n"
                                     f"{self.dump()}")
            time.sleep(0.1)

    def wait_text(self, s, timeout=TIMEOUT):
        return self.wait(repr(s), lambda lines: s in "\n".join(lines), timeout)

    def wait_ready(self):
        self.wait("the dirtytop screen", lambda lines: any(l.startswith("Sort:") for l in lines),
                  START_TIMEOUT)

    def wait_exit(self, timeout=TIMEOUT):
        """dirtytop's exit status, once its process has ended and tmux has reaped it."""
        pid = int(self.pane("#{pane_pid}"))
        server = int(self.pane("#{pid}"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.dead():
                status = self.pane("#{pane_dead_status}")
                if status:
                    assert proc_state(pid) is None, f"tmux reports pid {pid} dead but it is still there"
                    return int(status)
                if proc_state(pid) == "Z":
                    # tmux built with libutempter loses the SIGCHLD of a pane process that
                    # exits while it removes the pane's utmp record (tmux issue #311), right
                    # after the pty closed; dirtytop's exit, slowed by the kernel detaching
                    # its BPF programs, often lands there. Remind our own server.
                    os.kill(server, signal.SIGCHLD)
            time.sleep(0.05)
        self.lines()
        raise AssertionError(f"dirtytop (pid {pid}, state {proc_state(pid)}) did not end within "
                             f"{timeout}s:\n{self.dump()}")

    def kill(self):
        self.tmux("kill-server", check=False)
        if self.socket_path and os.path.exists(self.socket_path):
            os.unlink(self.socket_path)     # tmux leaves it behind


def proc_state(pid):
    """The state letter of a process (R, S, D, Z...), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


@pytest.fixture
def screens():
    if not shutil.which("tmux"):
        missing("tmux (apt-get install tmux)")
    made = []

    def make(name, *args, **kw):
        s = Screen(name, *args, **kw)
        made.append(s)
        return s

    try:
        yield make
    finally:
        for s in made:
            s.kill()


class Gen:
    def __init__(self, proc, vcpus, rate):
        self.proc = proc
        self.pid = proc.pid
        self.vcpus = vcpus
        self.rate = rate

    def tasks(self):
        return {int(t) for t in os.listdir(f"/proc/{self.pid}/task")}


@pytest.fixture
def gens(tmp):
    """A start(vcpus, rate) that runs one dirtygen VM in the background; all are killed at the end."""
    procs = []

    def start(vcpus, rate):
        p = subprocess.Popen([DIRTYGEN, "--quiet", "--vms", "1", "--vcpus", str(vcpus), "--mem", "64",
                              "--rate", str(rate), "--reap-interval", "100", "--duration", "300",
                              "--truth", str(tmp / f"truth-{len(procs)}.json")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        return Gen(p, vcpus, rate)

    try:
        yield start
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# --- reading the table ---

# the header titles the tests read; the table has more (the help page lists them all)
COLUMNS = {"VM": "id", "NAME": "name", "PID": "pid", "COMMAND": "comm", "STATE": "state",
           "TRACKING": "tracking", "VCPUS": "vcpus", "RING": "ring", "FILL": "fill"}
# the columns an 80-column terminal must show first, in this order (issue 15)
LEFT_ALIGNED = {"VM", "NAME", "COMMAND", "STATE", "TRACKING"}
FIRST_SCREEN = ["VM", "NAME", "FILL", "USED%", "FULLEX/s", "STALL%", "LAT-P99"]
VM_ID = re.compile(r"(?P<mark>[+-])?\s*(?P<id>\d+)")
VCPU_ID = re.compile(r"[^\d\s]{2}(?P<id>\d+)")    # the tree glyphs, then the vCPU id


def rate_value(s):
    m = re.fullmatch(r"([\d.]+)([KMGT]?)/s", s)
    assert m, f"not a rate: {s!r}"
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]


def header_titles(line):
    """[(title, start, end)] of a column header line, left to right."""
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"\S+", line)]


def cells(line, titles):
    """{title: text} of a table row. A cell's text overlaps its title (left-aligned cells
    start where their title does, right-aligned ones end where it does); the words of a
    cell that reach past its title (a VM number after its +/- or spaces, "vCPU 0", a name
    with spaces) join the left-aligned cell on their left."""
    out, cur = {}, titles[0][0] if titles else None    # the row starts in its first column
    for m in re.finditer(r"\S+", line):
        owner = next((t for t, a, b in titles if m.start() < b and a < m.end()), None)
        if owner and owner != cur:
            cur = owner
            out[cur] = [m.start(), m.end()]
        elif cur in LEFT_ALIGNED or owner:
            out.setdefault(cur, [m.start(), m.end()])[1] = m.end()
    return {t: line[a:b] for t, (a, b) in out.items()}


def table(lines):
    """The VM rows, each a dict with the fields of the COLUMNS on the screen (None for those
    off screen), 'vcpu_rows' (the vCPU rows under it), 'cells' (every cell by header title),
    in screen order; None if the column header is not on the screen."""
    hdr = next((i for i, l in enumerate(lines) if l.startswith("VM ") and " FILL" in l), None)
    if hdr is None:
        return None
    titles = header_titles(lines[hdr])
    vms = []
    for y, line in enumerate(lines[hdr + 1:], hdr + 1):
        c = cells(line, titles)
        if "COMMAND" in c and c["COMMAND"].startswith("vCPU ") or "COMMAND" not in c and \
                VCPU_ID.fullmatch(c.get("VM", "")):
            m = VCPU_ID.fullmatch(c.get("VM", ""))
            assert m and vms, f"a vCPU row that does not parse or has no VM above it: {line!r}"
            tid = c.get("PID")
            vms[-1]["vcpu_rows"].append({"id": int(m["id"]), "tid": int(tid) if tid else None,
                                         "line": line, "y": y})
            continue
        m = VM_ID.fullmatch(c.get("VM", ""))
        if not m or "FILL" not in c:
            continue
        vm = {key: c.get(title) for title, key in COLUMNS.items()}
        vm["mark"], vm["id"] = m["mark"], int(m["id"])
        for k in ("pid", "vcpus"):
            vm[k] = int(vm[k]) if vm[k] is not None else None
        vm["fill"] = rate_value(vm["fill"])
        vm["cells"] = c
        vm["vcpu_rows"] = []
        vm["line"] = line
        vm["y"] = y
        vms.append(vm)
    return vms


def vm_of(vms, pid):
    found = [v for v in vms if v["pid"] == pid]
    return found[0] if len(found) == 1 else None


def both_shown(a, b):
    """A predicate: the VM rows of gens a and b with their vCPU counts (other processes' VMs,
    e.g. other tests running on this machine, may be there too)."""
    def pred(lines):
        vms = table(lines)
        if not vms:
            return None
        va, vb = vm_of(vms, a.pid), vm_of(vms, b.pid)
        if not va or not vb or va["vcpus"] != a.vcpus or vb["vcpus"] != b.vcpus:
            return None
        return vms
    return pred


def start_two(screens, gens, name):
    """dirtytop first (so it sees the VMs from their creation), then two dirtygen VMs: a fast one
    with 2 vCPUs and a slow one with 4."""
    s = screens(name, ["-d", "0.5"])
    s.wait_ready()
    fast = gens(2, 20000)       # 40K entries/s
    slow = gens(4, 1000)        # 4K entries/s
    s.wait("both VM rows with their vCPU counts", both_shown(fast, slow))
    return s, fast, slow


def header_line(lines, prefix):
    return next((l for l in lines if l.startswith(prefix)), "")


def cursor_moved(s, before, timeout=3):
    """Wait until the cursor leaves line `before` (False if it does not)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.lines()
        if s.cursor != before:
            return True
        time.sleep(0.05)
    return False


def goto_vm(s, pid):
    """Move the cursor with Up/Down onto the VM row of pid."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        vms = table(s.lines())
        target = vm_of(vms or [], pid)
        if target and s.cursor == target["y"]:
            return target
        if target and s.cursor is not None:
            before = s.cursor
            s.keys("Down" if target["y"] > s.cursor else "Up")
            cursor_moved(s, before)
        else:
            time.sleep(0.1)
    raise AssertionError(f"could not move the cursor to the VM of pid {pid}:\n{s.dump()}")


def expansion(vms, gens_):
    """{pid: number of vCPU rows under its VM row} for our VMs."""
    return {g.pid: len(vm_of(vms, g.pid)["vcpu_rows"]) for g in gens_ if vm_of(vms, g.pid)}


# --- the tests ---

def test_no_vm_banner(kvm_bpf, screens):
    s = screens("banner", ["-d", "0.5"])
    s.wait_ready()

    def banner_or_rows(lines):
        if table(lines):
            return "rows"
        return "banner" if "No VM is using KVM dirty tracking yet" in "\n".join(lines) else None

    if s.wait("the no-VM banner", banner_or_rows) == "rows":
        pytest.skip("another process runs a dirty-ring VM on this machine: no banner to see")
    text = s.text()
    assert "dirtygen" in text, f"the banner gives no hint how to start a VM:\n{s.dump()}"
    banner = next(l for l in s.last if "No VM is using" in l)
    assert banner.startswith(" " * 20), f"the banner is not centred:\n{s.dump()}"
    assert s.last.index(banner) > HEIGHT // 4, f"the banner is not in the middle:\n{s.dump()}"
    assert "VMs: 0 shown" in text
    assert not s.dead()


def test_vm_rows_and_expansion(kvm_bpf, screens, gens):
    s, fast, slow = start_two(screens, gens, "expand")
    ours = (fast, slow)
    vms = table(s.lines())
    for g in ours:
        v = vm_of(vms, g.pid)
        assert v["comm"] == "dirtygen" and v["tracking"] == "ring" and v["mark"] == "+", v["line"]
        assert not v["vcpu_rows"], f"a VM is expanded before any key:\n{s.dump()}"

    # VM number order (stable); Home and End move the cursor to the first and last row
    s.keys("V")
    s.wait_text("Sort: VM ascending")
    s.keys("End")
    s.wait("the cursor on the last row", lambda l: s.cursor == table(l)[-1]["y"])
    s.keys("Home")
    s.wait("the cursor on the first row", lambda l: s.cursor == table(l)[0]["y"])

    # Enter expands the VM under the cursor, and only it: exactly its vCPU rows, its threads
    first, second = sorted(ours, key=lambda g: vm_of(table(s.lines()), g.pid)["id"])
    goto_vm(s, first.pid)
    s.keys("Enter")
    vms = s.wait("the first VM expanded",
                 lambda l: expansion(table(l), ours) == {first.pid: first.vcpus, second.pid: 0} and table(l))
    v = vm_of(vms, first.pid)
    assert v["mark"] == "-" and vm_of(vms, second.pid)["mark"] == "+", s.dump()
    tids = [r["tid"] for r in v["vcpu_rows"]]
    assert len(set(tids)) == first.vcpus, f"vCPU rows with the same TID:\n{s.dump()}"
    assert set(tids) <= first.tasks() - {first.pid}, \
        f"vCPU rows {tids} are not threads of dirtygen {first.pid} ({sorted(first.tasks())}):\n{s.dump()}"
    assert sorted(r["id"] for r in v["vcpu_rows"]) == list(range(first.vcpus)), s.dump()
    assert [r["y"] for r in v["vcpu_rows"]] == list(range(v["y"] + 1, v["y"] + 1 + first.vcpus)), \
        f"the vCPU rows are not right under their VM:\n{s.dump()}"

    # j and k move the cursor by one row too (onto the first vCPU row and back)
    y = s.cursor
    s.keys("j")
    s.wait("j to move down", lambda l: s.cursor == y + 1)
    s.keys("k")
    s.wait("k to move up", lambda l: s.cursor == y)

    # Right expands the other VM
    goto_vm(s, second.pid)
    s.keys("Right")
    vms = s.wait("both VMs expanded",
                 lambda l: expansion(table(l), ours) == {first.pid: first.vcpus, second.pid: second.vcpus} and table(l))
    tids2 = {r["tid"] for r in vm_of(vms, second.pid)["vcpu_rows"]}
    assert len(tids2) == second.vcpus and tids2 <= second.tasks() - {second.pid}, s.dump()
    assert not tids2 & set(tids)

    # Left collapses the VM under the cursor (still the second one)
    s.keys("Left")
    s.wait("the second VM collapsed", lambda l: expansion(table(l), ours) == {first.pid: first.vcpus, second.pid: 0})

    # the expansion follows the VM, not the row, through re-sorting both ways and refreshes
    for key, order in (("F", "FILL descending"), ("r", "FILL ascending"), ("V", "VM ascending")):
        s.keys(key)
        s.wait_text(f"Sort: {order}")
        vms = s.wait("the first VM still expanded after re-sorting",
                     lambda l: expansion(table(l), ours) == {first.pid: first.vcpus, second.pid: 0} and table(l))
        assert {r["tid"] for r in vm_of(vms, first.pid)["vcpu_rows"]} == set(tids), s.dump()

    # e expands every VM, e again collapses every VM
    s.keys("e")
    s.wait("every VM expanded",
           lambda l: expansion(table(l), ours) == {first.pid: first.vcpus, second.pid: second.vcpus})
    s.keys("e")
    s.wait("every VM collapsed", lambda l: expansion(table(l), ours) == {first.pid: 0, second.pid: 0})

    # Space toggles too; Enter on one of its vCPU rows collapses the VM
    goto_vm(s, second.pid)
    s.keys("Space")
    s.wait("the second VM expanded by Space", lambda l: expansion(table(l), ours) == {first.pid: 0, second.pid: second.vcpus})
    s.keys("Down", "Down", "Enter")
    s.wait("collapsed from a vCPU row", lambda l: expansion(table(l), ours) == {first.pid: 0, second.pid: 0})
    s.wait("the cursor back on the VM row", lambda l: vm_of(table(l), second.pid)["y"] == s.cursor)


def test_sort_by_fill_and_reverse(kvm_bpf, screens, gens):
    s, fast, slow = start_two(screens, gens, "sort")

    def order(lines):
        """Our two VMs in screen order, once both have a fill rate."""
        vms = [v for v in table(lines) or [] if v["pid"] in (fast.pid, slow.pid)]
        if len(vms) != 2 or not all(v["fill"] > 0 for v in vms):
            return None
        return [v["pid"] for v in vms]

    s.keys("V")
    s.wait_text("Sort: VM ascending")
    ids = [v["id"] for v in table(s.lines())]
    assert ids == sorted(ids), s.dump()

    s.keys("F")
    s.wait_text("Sort: FILL descending")
    s.wait("the faster VM first", lambda l: order(l) == [fast.pid, slow.pid])
    vms = table(s.last)
    assert vm_of(vms, fast.pid)["fill"] > vm_of(vms, slow.pid)["fill"], s.dump()
    fills = [v["fill"] for v in vms]
    assert fills == sorted(fills, reverse=True), f"not sorted by fill:\n{s.dump()}"

    s.keys("r")
    s.wait_text("Sort: FILL ascending")
    s.wait("the slower VM first after reversing", lambda l: order(l) == [slow.pid, fast.pid])

    # < and > walk the sortable columns: VM <- FILL -> PEAK%
    s.keys(">")
    s.wait_text("Sort: PEAK% descending")
    s.keys("<", "<")
    s.wait_text("Sort: VM ascending")
    s.keys(">")
    s.wait_text("Sort: FILL descending")
    s.wait("the faster VM first again", lambda l: order(l) == [fast.pid, slow.pid])
    for key, title in (("U", "PEAK%"), ("X", "FULLEX/s"), ("S", "STALL%"), ("L", "LAT-P99")):
        s.keys(key)
        s.wait_text(f"Sort: {title} descending")


def test_help_screen(kvm_bpf, screens):
    s = screens("help", ["-d", "0.5"])
    s.wait_ready()
    for key in ("h", "?"):
        s.keys(key)
        s.wait_text("Press any key to return")
        text = s.text()
        for want in ("Keys", "Columns", "expand/collapse", "reverse the sort order", "filter",
                     "refresh interval", "pause", "quit", "FILL", "STALL%", "LAT-P99", "RECL-P50"):
            assert want in text, f"the help page lacks {want!r}:\n{s.dump()}"
        s.keys("Space")
        s.wait("the help page to close", lambda l: any(x.startswith("Sort:") for x in l)
               and "Press any key" not in "\n".join(l))
    assert not s.dead()


def test_pid_filter(kvm_bpf, screens, gens):
    s, fast, slow = start_two(screens, gens, "filter")

    def only(pid):
        def pred(lines):
            vms = table(lines)
            return vms is not None and [v["pid"] for v in vms] == [pid]
        return pred

    s.keys("p")
    s.wait_text("Show only the VMs of PID")
    s.type(str(slow.pid))
    s.keys("Enter")
    s.wait(f"only the VM of pid {slow.pid}", only(slow.pid))
    text = s.text()
    assert f"Filter: pid {slow.pid}" in text
    assert str(fast.pid) not in text, f"the other VM is still on the screen:\n{s.dump()}"
    assert re.search(r"VMs: 1 shown of \d+", text), s.dump()

    # neither a pid nor a name (a name is valid: -p web-01): an error message, the filter
    # unchanged, dirtytop still running
    s.keys("p")
    s.type("0")
    s.keys("Enter")
    s.wait_text("'0' is not a PID")
    assert only(slow.pid)(s.lines()) and f"Filter: pid {slow.pid}" in s.text()

    # a pid without VMs: the banner says so
    s.keys("p")
    s.type("999999999")
    s.keys("Enter")
    s.wait_text("No VM of PID 999999999 is using KVM dirty tracking")

    # Esc cancels a prompt; empty input clears the filter
    s.keys("p")
    s.type("1")
    s.keys("Escape")
    s.wait_text("Cancelled")
    assert "Filter: pid 999999999" in s.text()
    s.keys("p", "Enter")
    s.wait("both VMs again", both_shown(fast, slow))
    assert "Filter: none" in s.text()


def test_interval_and_pause(kvm_bpf, screens):
    s = screens("interval", ["-d", "0.5"])
    s.wait_ready()
    s.wait_text("refresh 0.50s")

    s.keys("d")
    s.wait_text("Refresh interval in seconds")
    s.type("0.25")
    s.keys("Enter")
    s.wait_text("refresh 0.25s")
    # the new interval counts at once: the measured one follows
    s.wait("a measured interval of 0.25s",
           lambda l: re.search(r"\(last 0\.2[4-7]s\)", header_line(l, "dirtytop")))
    for key, want in (("+", "0.50s"), ("+", "1.00s"), ("-", "0.50s")):
        s.keys(key)
        s.wait_text(f"refresh {want}")
    for bad in ("0.01", "4000", "fast"):
        s.keys("d")
        s.type(bad)
        s.keys("Enter")
        s.wait_text(f"not '{bad}'")
        assert "refresh 0.50s" in s.text()

    # pause: PAUSED shows and the clock of the data stops; z resumes
    clock = re.compile(r"^dirtytop (\d\d:\d\d:\d\d)")
    s.keys("P")
    s.wait_text("PAUSED")
    frozen = clock.match(header_line(s.lines(), "dirtytop")).group(1)
    watch_until = time.monotonic() + 2.2         # longer than a second: the clock would move
    while time.monotonic() < watch_until:
        now = clock.match(header_line(s.lines(), "dirtytop")).group(1)
        assert now == frozen and "PAUSED" in s.text(), f"the screen moved while paused:\n{s.dump()}"
        time.sleep(0.2)
    s.keys("z")
    s.wait("the refresh to resume", lambda l: "PAUSED" not in "\n".join(l)
           and clock.match(header_line(l, "dirtytop")).group(1) != frozen)


@pytest.mark.parametrize("key", ["q", "C-c"])
def test_quit_restores_terminal(kvm_bpf, screens, key):
    s = screens(f"quit-{key}", ["-d", "0.5"])
    s.wait_ready()
    if key == "C-c":
        s.keys("p")     # even in the middle of a prompt
        s.type("12")
    s.keys(key)
    assert s.wait_exit() == 0
    text = s.text()
    assert "Sort:" not in text and "COMMAND" not in text, \
        f"the screen was not restored (still the alternate screen):\n{s.dump()}"


def test_resize_and_tiny_terminals(kvm_bpf, screens, gens):
    s, fast, slow = start_two(screens, gens, "resize")
    s.keys("V")
    vms = table(s.lines())
    ours = {vm_of(vms, fast.pid)["id"], vm_of(vms, slow.pid)["id"]}     # narrow screens lack PID
    for w, h in ((80, 24), (40, 8), (20, 3), (10, 2), (1, 1), (120, 30)):
        s.tmux("resize-window", "-t", "top", "-x", str(w), "-y", str(h))
        s.wait(f"a {w}x{h} pane", lambda l: s.pane("#{pane_width}x#{pane_height}") == f"{w}x{h}")
        if w >= 40:
            s.wait(f"the table redrawn at {w}x{h}",
                   lambda l: len(l) == h and all(len(x) <= w for x in l) and table(l) is not None
                   and any(v["id"] in ours for v in table(l)))
        elif h >= 2:
            s.wait(f"the header redrawn at {w}x{h}", lambda l: l and l[0].startswith("dirtytop"[:w]))
        # 1x1: its only cell is the bottom-right corner, which curses cannot write; the
        # sizes after it show the screen survived
        assert not s.dead()
    s.tmux("resize-window", "-t", "top", "-x", str(WIDTH), "-y", str(HEIGHT))
    s.wait("the full width again",
           lambda l: any(x.startswith("VM ") and x.rstrip().endswith("RST-P99") for x in l))
    s.wait("both VMs at full size", both_shown(fast, slow))
    s.keys("q")
    assert s.wait_exit() == 0


def test_80_columns(kvm_bpf, screens, gens):
    """An 80x24 terminal shows the columns ring tuning is about first, in order of importance;
    a wider one adds the rest, and < and > still walk the sort columns."""
    s = screens("narrow", ["-d", "0.5"], width=80, height=24)
    s.wait_ready()
    g = gens(2, 20000)

    def our_row(lines):
        return (v := vm_of(table(lines) or [], g.pid)) and v["fill"] > 0 and v
    hdr = s.wait("the column header", lambda l: next((x for x in l if x.startswith("VM ") and " FILL" in x), None))
    titles = [t for t, _, end in header_titles(hdr) if end < 80]     # the last may be cut at the edge
    assert all(len(x) <= 80 for x in s.lines()), s.dump()
    assert [t for t in titles if t in FIRST_SCREEN] == FIRST_SCREEN, \
        f"the first screen's columns are {titles}, want {FIRST_SCREEN} in that order:\n{s.dump()}"
    assert titles[:2] == ["VM", "NAME"], s.dump()
    # the VM's row has a value under each of them; dirtygen's command line names no VM: "-"
    vm = s.wait("a dirtygen VM row with a fill rate", our_row)
    for t in FIRST_SCREEN:
        assert vm["cells"].get(t), f"no {t} on the VM row {vm['line']!r}:\n{s.dump()}"
    assert vm["name"] == "-", vm["line"]
    s.keys(">")
    s.wait_text("Sort: PEAK% descending")
    s.keys("<", "<")
    s.wait_text("Sort: VM ascending")

    # wider: the rest of the columns join, after the first screen's
    s.tmux("resize-window", "-t", "top", "-x", str(WIDTH), "-y", str(HEIGHT))
    wide = s.wait("the full header", lambda l: next((x for x in l if x.startswith("VM ")
                                                      and x.rstrip().endswith("RST-P99")), None))
    wide_titles = [t for t, _, _ in header_titles(wide)]
    assert wide_titles[:len(titles)] == titles and "COMMAND" in wide_titles and "TRACKING" in wide_titles, wide
    s.wait("our VM with its pid", lambda l: vm_of(table(l) or [], g.pid))
    s.keys("q")
    assert s.wait_exit() == 0


# --- the detail page of a VM ---

MIB = 1 << 20
SIZE_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
DETAIL_VM = re.compile(r"^VM (?P<id>\d+)\s+PID (?P<pid>\d+)\s+COMMAND (?P<comm>\S+)\s+"
                       r"(?:TRACKING (?P<tracking>\S+)\s+VCPUS (?P<vcpus>\d+)\s+RING (?P<ring>\S+)\s+)?"
                       r"STATE (?P<state>\S+)")
MEMSLOT_ROW = re.compile(r"^\s+(?P<as>\d+)\s+(?P<slot>\d+)\s+(?P<base>0x[0-9a-f]+|unknown)\s+"
                         r"(?P<size>[\d.]+ [KMGT]?i?B|unknown)\s+(?P<flags>\S+)\s+(?P<get>\S+/s)\s+"
                         r"(?P<dirty>\S+/s)\s+(?P<mib>\S+/s)\s+(?P<heat>\S+/s)\s+(?P<get50>\S+)\s+"
                         r"(?P<get99>\S+)\s+(?P<clear>\S+/s)\s+(?P<chunk>\S+)\s*$")
HEAT_ROW = re.compile(r"^\s+(?P<as>\d+)\s+(?P<slot>\d+)\s+(?P<region>\d+)\s+(?P<base>0x[0-9a-f]+|\?)\s+"
                      r"(?P<rate>\S+/s)\s+(?P<mib>\S+/s)\s+(?P<pages>[\d.]+[KMGT]?)(?:\s+#+)?\s*$")


def size_value(s):
    n, unit = s.split()
    return int(float(n) * SIZE_UNITS[unit])


def detail_page(lines):
    """The detail page as a dict: its VM header fields, the memslot rows, the memslot
    operations text, the ring resets line, the region size and the hottest-region rows;
    None if the screen is not a detail page."""
    m = DETAIL_VM.match(lines[1]) if len(lines) > 1 else None
    if not m:
        return None
    page = {k: v for k, v in m.groupdict().items()}
    page["id"], page["pid"] = int(page["id"]), int(page["pid"])
    page.update(memslots=[], ops="", resets="", region_size=None, heat=[], heat_header=False)
    section = None
    for line in lines[2:]:
        if line.startswith("Memslots"):
            section = "memslots"
        elif line.startswith("Memslot operations"):
            section = "ops"
        elif line.startswith("Dirty ring resets"):
            section = "resets"
        elif line.startswith("Hottest regions"):
            section = "heat"
            r = re.search(r"Hottest regions\s+([\d.]+ [KMGT]?i?B) each", line)
            page["region_size"] = size_value(r.group(1)) if r else None
        elif section == "memslots" and (r := MEMSLOT_ROW.match(line)):
            row = r.groupdict()
            for k in ("as", "slot"):
                row[k] = int(row[k])
            row["base"] = None if row["base"] == "unknown" else int(row["base"], 16)
            row["size"] = None if row["size"] == "unknown" else size_value(row["size"])
            row["line"] = line
            page["memslots"].append(row)
        elif section == "ops" and line.strip():
            page["ops"] += " " + line.strip()
        elif section == "resets" and line.strip():
            page["resets"] += " " + line.strip()
        elif section == "heat" and line.lstrip().startswith("AS  SLOT  REGION"):
            page["heat_header"] = True
        elif section == "heat" and (r := HEAT_ROW.match(line)):
            row = r.groupdict()
            for k in ("as", "slot", "region"):
                row[k] = int(row[k])
            row["base"] = None if row["base"] == "?" else int(row["base"], 16)
            row["rate"] = rate_value(row["rate"])
            row["line"] = line
            page["heat"].append(row)
    return page


def dirtygen_layout(mem_mib, slots):
    """{slot id: (base, size, logged)} as dirtygen lays its memory out: slot 0 is the 1 MiB
    code slot at GPA 0 without dirty logging; data slots 1..K follow contiguously from 1 MiB."""
    out = {0: (0, MIB, False)}
    size = mem_mib * MIB // slots
    for i in range(slots):
        out[i + 1] = (MIB + i * size, size, True)
    return out


@pytest.fixture
def dirtygens(tmp):
    """A start(*args) that runs one dirtygen VM with those options in the background; all
    are ended at the end."""
    procs = []

    def start(*args):
        p = subprocess.Popen([DIRTYGEN, "--quiet", "--vms", "1", "--duration", "300",
                              "--truth", str(tmp / f"detail-truth-{len(procs)}.json"), *map(str, args)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        return p

    try:
        yield start
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def open_detail(s, pid, key="i"):
    goto_vm(s, pid)
    s.keys(key)
    return s.wait(f"the detail page of the VM of pid {pid}",
                  lambda l: (p := detail_page(l)) and p["pid"] == pid and p)


def wait_memslots(s, pid, layout):
    """The detail page once its memslot table has exactly the slots of layout, all known."""
    def pred(lines):
        p = detail_page(lines)
        if not p or p["pid"] != pid:
            return None
        slots = {r["slot"]: r for r in p["memslots"]}
        if set(slots) != set(layout) or any(r["base"] is None for r in slots.values()):
            return None
        return p
    return s.wait(f"the memslots {sorted(layout)} of pid {pid}, all known", pred)


def check_memslots(s, page, layout):
    rows = {r["slot"]: r for r in page["memslots"]}
    assert [r["slot"] for r in page["memslots"]] == sorted(layout), f"memslots not in slot order:\n{s.dump()}"
    for slot, (base, size, logged) in layout.items():
        r = rows[slot]
        assert r["as"] == 0, r["line"]
        assert r["base"] == base, f"slot {slot}: base {r['base']:#x}, dirtygen put it at {base:#x}: {r['line']}"
        assert r["size"] == size, f"slot {slot}: size {r['size']}, dirtygen made it {size}: {r['line']}"
        assert r["flags"] == ("dirty-log" if logged else "-"), f"slot {slot}: flags {r['line']}"
    assert "this table may be incomplete" not in s.text(), \
        f"a VM created under dirtytop is said to predate it:\n{s.dump()}"


def check_ops(s, page, creates):
    m = re.search(r"\bcreate (\d+)", page["ops"])
    assert m and int(m.group(1)) == creates, f"want create {creates} in the memslot ops:\n{s.dump()}"
    for op in ("delete", "move", "flags"):
        assert re.search(rf"\b{op} 0\b", page["ops"]), f"{op} should be 0:\n{s.dump()}"
    assert re.search(r"dirty logging on \d+, off \d+", page["ops"]), s.dump()


def back_to_list(s, pid, key):
    s.keys(key)
    s.wait(f"the list again after {key}", lambda l: detail_page(l) is None and table(l) is not None)
    s.wait("the cursor still on the VM", lambda l: (v := vm_of(table(l) or [], pid)) and s.cursor == v["y"])
    assert not s.dead(), f"{key} on the detail page ended dirtytop"


def test_detail_page(kvm_bpf, screens, dirtygens):
    s = screens("detail", ["-d", "0.5"])
    s.wait_ready()          # first: dirtytop sees the VMs from their creation
    bslots, bmem, rslots, rmem = 3, 96, 2, 64
    bitmap = dirtygens("--mode", "bitmap", "--manual-protect", "--clear-chunk", 256, "--slots", bslots,
                       "--vcpus", 2, "--mem", bmem, "--rate", 5000, "--pattern", "hot:10")
    ring = dirtygens("--mode", "ring", "--ring-size", 4096, "--slots", rslots, "--vcpus", 2,
                     "--mem", rmem, "--rate", 2000)
    s.wait("both VM rows with their tracking",
           lambda l: (b := vm_of(table(l) or [], bitmap.pid)) and b["tracking"] == "bitmap"
           and (r := vm_of(table(l) or [], ring.pid)) and r["tracking"] == "ring" and r["vcpus"] == 2)
    s.keys("V")
    s.wait_text("Sort: VM ascending")
    assert re.search(r"\bi Detail\b", s.lines()[-1]), f"the footer lacks i:\n{s.dump()}"

    # the bitmap VM: header, memslots, ops, no ring resets, hottest regions
    layout = dirtygen_layout(bmem, bslots)
    page = open_detail(s, bitmap.pid)
    vm_id = page["id"]
    assert page["comm"] == "dirtygen" and page["tracking"] == "bitmap" and page["state"] == "ok", s.dump()
    page = wait_memslots(s, bitmap.pid, layout)
    check_memslots(s, page, layout)
    check_ops(s, page, bslots + 1)
    assert "none: the VM tracks dirty pages with bitmaps" in page["resets"], s.dump()

    def synced(lines):
        """Every data slot harvested with KVM_GET_DIRTY_LOG, and hot regions on the page."""
        p = detail_page(lines)
        if not p or p["id"] != vm_id:
            return None
        rows = {r["slot"]: r for r in p["memslots"]}
        if not all(rate_value(rows[i]["get"]) > 0 for i in range(1, bslots + 1) if i in rows):
            return None
        return p if p["heat_header"] and any(h["rate"] > 0 for h in p["heat"]) else None

    page = s.wait("the bitmap VM's syncs and its hottest regions", synced)
    rows = {r["slot"]: r for r in page["memslots"]}
    assert rate_value(rows[0]["get"]) == 0 and rows[0]["chunk"] == "-", f"slot 0 is not logged:\n{s.dump()}"
    for i in range(1, bslots + 1):
        assert rows[i]["chunk"] in ("-", "256"), f"slot {i}: clear chunks of 256 pages:\n{s.dump()}"
    assert any(rows[i]["chunk"] == "256" for i in range(1, bslots + 1)), s.dump()
    assert page["region_size"] == 2 * MIB, s.dump()
    # hot:10 with 2 vCPUs: each vCPU writes the first 10% of its half of the data memory
    half = bmem * MIB // 2
    hot = [(MIB + v * half, MIB + v * half + half // 10) for v in range(2)]
    for h in page["heat"]:
        assert h["slot"] in range(1, bslots + 1), f"a hot region outside the data slots: {h['line']}"
        base, size, _ = layout[h["slot"]]
        assert h["base"] == base + h["region"] * page["region_size"] and h["base"] < base + size, h["line"]
        if h["rate"] > 0:
            assert any(lo - page["region_size"] < h["base"] < hi for lo, hi in hot), \
                f"a region dirtied outside the hot ranges {[(hex(a), hex(b)) for a, b in hot]}: {h['line']}"
    rates = [h["rate"] for h in page["heat"]]
    assert rates == sorted(rates, reverse=True), f"the regions are not hottest first:\n{s.dump()}"

    # scrolling: in a short pane the page does not fit
    s.tmux("resize-window", "-t", "top", "-x", "120", "-y", "16")
    s.wait("a scroll position", lambda l: len(l) == 16 and re.search(r"lines 1-\d+ of \d+, more below", l[1]))
    s.keys("Down")
    s.wait("scrolled by one line", lambda l: re.search(r"lines 2-\d+ of \d+", l[1]))
    s.keys("End")
    s.wait("scrolled to the end", lambda l: re.search(r"lines \d+-(\d+) of \1$", l[1]))
    s.keys("PPage", "Home")
    s.wait("back at the top", lambda l: re.search(r"lines 1-\d+ of \d+, more below", l[1])
           and any(x.startswith("Memslots") for x in l))
    s.tmux("resize-window", "-t", "top", "-x", str(WIDTH), "-y", str(HEIGHT))
    s.wait("the whole page again", lambda l: len(l) == HEIGHT and (p := detail_page(l)) and p["heat_header"])

    # pause works on the page; help opens from it and returns to it
    clock = re.compile(r"^dirtytop (\d\d:\d\d:\d\d)")
    s.keys("P")
    s.wait("PAUSED on the detail page", lambda l: "PAUSED" in l[0] and detail_page(l))
    frozen = clock.match(s.lines()[0]).group(1)
    time.sleep(1.2)
    assert clock.match(s.lines()[0]).group(1) == frozen and detail_page(s.last), s.dump()
    s.keys("P")
    s.wait("resumed on the detail page", lambda l: "PAUSED" not in l[0]
           and clock.match(l[0]).group(1) != frozen and detail_page(l))
    s.keys("h")
    s.wait_text("Press any key to return")
    assert "Detail page" in s.text(), s.dump()
    s.keys("Space")
    s.wait("the detail page after help", lambda l: (p := detail_page(l)) and p["id"] == vm_id)

    # Esc returns to the list, on the same VM
    back_to_list(s, bitmap.pid, "Escape")

    # the ring VM: memslots, ops, ring resets; q returns to the list (does not quit)
    layout = dirtygen_layout(rmem, rslots)
    page = open_detail(s, ring.pid)
    assert page["tracking"] == "ring" and page["vcpus"] == "2" and page["ring"].startswith("4096/"), s.dump()
    page = wait_memslots(s, ring.pid, layout)
    check_memslots(s, page, layout)
    check_ops(s, page, rslots + 1)
    page = s.wait("the ring VM's resets", lambda l: (p := detail_page(l)) and "entries per call p50" in p["resets"]
                  and p)
    assert re.search(r"latency p50 \S+ p99 \S+", page["resets"]), s.dump()
    back_to_list(s, ring.pid, "q")

    # i toggles; when the VM exits the page says so
    page = open_detail(s, ring.pid)
    ring.send_signal(signal.SIGTERM)
    ring.wait(timeout=10)
    s.wait_text("no longer tracks it")
    assert f"VM {page['id']} (PID {ring.pid}, dirtygen) has exited" in s.text(), s.dump()
    s.keys("i")
    s.wait("the list without the ring VM", lambda l: detail_page(l) is None and table(l) is not None
           and vm_of(table(l), ring.pid) is None and vm_of(table(l), bitmap.pid))
    s.keys("q")
    assert s.wait_exit() == 0
