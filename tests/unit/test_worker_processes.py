"""``toky-ghl worker --processes N``'s supervisor (cli/worker_processes.py), with stand-in
children: real processes that say they are ready the way a worker does, so the tests
need no Redis. tests/integration/test_worker_processes.py runs real Celery workers.

No timing is asserted: each wait is for something to happen, with a generous bound."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli.worker_processes import READY_FD_ENV, child_nodename, split_hostname

REPO = Path(__file__).resolve().parents[2]

#: A stand-in worker: "bad" exits 2 at once (a bad configuration); otherwise it writes
#: the ready byte, then waits for SIGTERM and exits 0 (Celery's warm shutdown).
FAKE_WORKER = textwrap.dedent(f"""
    import os, signal, sys, time
    if sys.argv[1] == "bad":
        print("configuration error: FIELD_MAP entry 0", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fd = int(os.environ.pop("{READY_FD_ENV}"))
    os.write(fd, b"r")
    os.close(fd)
    while True:
        time.sleep(0.05)
""")

SUPERVISOR = textwrap.dedent("""
    import sys
    from cli.worker_processes import Child, WorkerProcesses
    fake, *modes = sys.argv[1:]
    children = [Child(i, f"fake-{i}@%h", [sys.executable, fake, mode])
                for i, mode in enumerate(modes, 1)]
    sys.exit(WorkerProcesses(children).run())
""")


def wait_for(predicate, what: str, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


@pytest.fixture
def supervise(tmp_path):
    fake = tmp_path / "fake_worker.py"
    fake.write_text(FAKE_WORKER)
    started: list[subprocess.Popen] = []

    def start(*modes: str) -> subprocess.Popen:
        out = tmp_path / f"supervisor-{len(started)}.log"
        with out.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(fake), *modes],
                                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        proc.output = lambda: out.read_text()  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            for child in children_of(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.kill()
            proc.wait()


def test_sigterm_is_passed_on_and_the_supervisor_exits_when_every_child_has(supervise):
    sup = supervise("ok", "ok")
    first = wait_for(lambda: len(children_of(sup.pid)) == 2 and children_of(sup.pid),
                     "both children started")
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(timeout=60) == 0
    assert not [pid for pid in first if Path(f"/proc/{pid}").exists()]  # reaped, none left
    output = sup.output()
    assert output.count("worker process stopped") == 2


def test_a_killed_child_is_started_again_under_its_name(supervise):
    sup = supervise("ok", "ok")
    before = wait_for(lambda: len(children_of(sup.pid)) == 2 and children_of(sup.pid),
                      "both children started")
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    after = wait_for(lambda: (kids := children_of(sup.pid)) and len(kids) == 2
                     and victim not in kids and kids, "the killed child started again")
    assert len(after - before) == 1
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(timeout=60) == 0
    output = sup.output()
    assert "worker process died; starting it again" in output
    assert re.search(r"status\W{1,4}137", output)  # 128 + SIGKILL, as a shell shows it


def test_a_bad_configuration_is_told_once_and_its_status_returned(supervise):
    sup = supervise("bad", "ok")
    assert sup.wait(timeout=60) == 2
    output = sup.output()
    assert output.count("configuration error: FIELD_MAP entry 0") == 1
    assert "fake-2" not in output.replace("fake-1", "")  # the second was never started


def test_a_child_that_stops_on_its_own_is_not_restarted(supervise):
    sup = supervise("ok", "ok")
    wait_for(lambda: sup.output().count("worker process ready") == 2, "both children ready")
    kids = children_of(sup.pid)
    for pid in kids:  # e.g. `celery control shutdown`: each exits 0
        os.kill(pid, signal.SIGTERM)
    assert sup.wait(timeout=60) == 0
    assert "starting it again" not in sup.output()


@pytest.mark.parametrize(("given", "index", "expected"), [
    (None, 1, "celery-1@%h"),
    ("w2@%h", 2, "w2-2@%h"),
    ("bench@host.example", 1, "bench-1@host.example"),
    ("host.example", 3, "celery-3@host.example"),  # no "@": Celery reads a host
])
def test_each_child_gets_a_node_name_of_its_own(given, index, expected):
    assert child_nodename(given, index) == expected


@pytest.mark.parametrize("argv", [
    ["-c", "4", "-n", "w1@%h", "-l", "INFO"],
    ["-c", "4", "--hostname", "w1@%h", "-l", "INFO"],
    ["-c", "4", "--hostname=w1@%h", "-l", "INFO"],
    ["-c", "4", "-nw1@%h", "-l", "INFO"],
])
def test_the_hostname_option_is_taken_out_in_any_spelling(argv):
    assert split_hostname(argv) == (["-c", "4", "-l", "INFO"], "w1@%h")
