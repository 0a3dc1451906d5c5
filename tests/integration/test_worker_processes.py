"""``toky-ghl worker --processes 2``: both Celery processes take events, a killed one is
started again and what it held is applied, SIGTERM stops them all.

Real pieces: the command as a Procfile runs it, the real Redis, the GHL simulator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import REPO, wait_until, worker_env
from tests.integration.test_pipeline_faults import assert_no_duplicates, contacts_then_calls

pytestmark = pytest.mark.integration


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def tasks_by_node(env: dict[str, str], nodes: list[str]) -> dict[str, int]:
    """Tasks each node has run (``celery inspect stats``, Celery's own count)."""
    out = subprocess.run([sys.executable, "-m", "celery", "-A", "worker", "inspect", "stats",
                          "--json", "-t", "10", "-d", ",".join(nodes)], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    return {node: sum(reply.get("total", {}).values()) for node, reply in stats.items()}


def test_two_processes_share_the_queue_survive_a_kill_and_stop_on_sigterm(
        ghl, pipeline, redis_url, tmp_path):
    # Given `toky-ghl worker --processes 2` (2 slots each) and GHL answering slowly
    ghl.sim.update_config(latency_ms=20)
    env = worker_env(redis_url, ghl)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        sup = subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--processes", "2",
                                "-c", "2", "--without-gossip", "--without-mingle",
                                "-n", "two@%h"], env=env, cwd=REPO, stdout=log,
                               stderr=subprocess.STDOUT)

    def log_text() -> str:
        return log_path.read_text(errors="replace")

    try:
        wait_until(lambda: log_text().count(" ready.") >= 2, 120, "both processes ready")
        names = [f"two-1@{socket.gethostname()}", f"two-2@{socket.gethostname()}"]  # %h

        # When events are queued: both processes take some
        events = contacts_then_calls(60)
        first = events[:30] + events[60:90]  # contacts 0-29, then their calls
        more = events[30:60] + events[90:]  # contacts 30-59, then theirs
        pipeline.enqueue(first)
        pipeline.wait_handled(len(first), timeout_s=120)
        counts = tasks_by_node(env, names)
        assert set(counts) == set(names), counts
        assert all(n > 0 for n in counts.values()), f"a process took no event: {counts}"

        # When one process is killed mid-run: it is started again, nothing is lost
        victim = min(children_of(sup.pid))
        pipeline.enqueue(more)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: "starting it again" in log_text(), 60, "the restart announced")
        wait_until(lambda: log_text().count(" ready.") >= 3, 120, "the new process ready")
        assert len(children_of(sup.pid)) == 2
        pipeline.wait_handled(len(first) + len(more), timeout_s=180)
        assert pipeline.unfinished([e["id"] for e in first + more]) == []
        assert not pipeline.dead_letters()
        assert_no_duplicates(ghl, 60)

        # When the supervisor gets SIGTERM: every process stops and it exits 0
        kids = children_of(sup.pid)
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=90) == 0
        assert not [pid for pid in kids if Path(f"/proc/{pid}").exists()]
        assert log_text().count("worker process stopped") == 2
    finally:
        if sup.poll() is None:
            for pid in children_of(sup.pid):
                os.kill(pid, signal.SIGKILL)
            sup.kill()
            sup.wait()
