"""``toky-ghl poll`` as a process: the Toky simulator over HTTP, the real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from producers.polling.lock import PollerLock
from simulators.serve import serve_in_thread
from simulators.toky import TokySim, create_app, seed_demo
from tests.unit.poller_support import queued_ids

pytestmark = pytest.mark.integration

KEY = "sim-key-poll-cli"
PREFIX = "t-poll"


@pytest.fixture
def toky():
    sim = TokySim(api_key=KEY)
    seed_demo(sim)
    with serve_in_thread(create_app(sim)) as server:
        yield sim, server


@pytest.fixture
def env(toky, redis_url, real_redis):
    _sim, server = toky
    return {**os.environ, "REDIS_URL": redis_url, "TOKY_API_BASE": f"{server.url}/v1",
            "TOKY_API_KEY": KEY, "TOKY_GHL_KEY_PREFIX": PREFIX, "TOKY_POLL_INTERVAL_S": "1",
            "TOKY_POLL_LOCK_TTL_S": "5", "PYTHONUNBUFFERED": "1"}


def poll(env, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", "poll", *args], env=env,
                          capture_output=True, text=True, timeout=timeout_s)


def start_poller(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli.main", "poll"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class StderrLines:
    """Collects a process's stderr lines as they come (to wait for one, then all); its
    stdout is drained meanwhile, so that a full pipe never blocks it."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        if proc.stdout is not None:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
        self._reader = threading.Thread(target=lambda: self.lines.extend(proc.stderr),
                                         daemon=True)
        self._reader.start()

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def text(self, timeout_s: float = 30) -> str:
        """Everything, once the process closed its stderr."""
        self._reader.join(timeout_s)
        return "".join(self.lines)


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_poll_once_backfills_with_progress_then_finds_nothing_new(env, real_redis):
    # Given the demo account and an empty Redis
    # When `toky-ghl poll --once` runs twice, with pages of 2 rows
    first = poll(env, "--once", "--page-size", "2")
    second = poll(env, "--once", "--page-size", "2")
    # Then the first queues the 11 objects, printing backfill progress; the second nothing
    assert first.returncode == 0, first.stderr
    assert "backfill calls: 3 pages, 5 records, 5 queued, 0 repeats, 0 invalid" in first.stderr
    assert len(queued_ids(real_redis, PREFIX)) == 11
    assert second.returncode == 0, second.stderr
    assert "backfill" not in second.stderr
    assert len(queued_ids(real_redis, PREFIX)) == 11


def test_backfill_since_limits_the_first_read(env, real_redis, toky):
    # Given TOKY_BACKFILL_SINCE one day back (the demo spreads calls over 3 days)
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # When polled once
    result = poll({**env, "TOKY_BACKFILL_SINCE": since}, "--once")
    # Then only the calls of the last day are queued (the outbound ones: 20 h and 3 h ago)
    assert result.returncode == 0, result.stderr
    assert sum(i.startswith("call-") for i in queued_ids(real_redis, PREFIX)) == 2


def test_a_bad_backfill_since_is_a_configuration_error(env):
    # Given an unreadable TOKY_BACKFILL_SINCE
    # When polled
    result = poll({**env, "TOKY_BACKFILL_SINCE": "last tuesday"}, "--once")
    # Then exit 2 naming the variable
    assert result.returncode == 2
    assert "TOKY_BACKFILL_SINCE must be an ISO date" in result.stderr


def test_a_second_poller_waits_for_the_first(env, real_redis):
    # Given a poller running
    first = start_poller(env)
    try:
        wait_for(lambda: real_redis.exists(f"{PREFIX}:poller:lock"), 30, "the first poller")
        # When another runs with --once, and then another one looping
        once = poll(env, "--once")
        second = start_poller(env)
        second_says = StderrLines(second)
        wait_for(lambda: second_says.said("; waiting"), 60, "the second poller waiting")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)
        lock = PollerLock(real_redis, f"{PREFIX}:poller:lock")
        wait_for(lambda: (lock.holder() or {}).get("pid") == second.pid, 30,
                 "the second poller to take the lock")
        time.sleep(0.5)
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
        second_err = second_says.text()
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    # Then --once says who holds the lock and exits 0; the looping one waits, then takes over
    assert once.returncode == 0
    assert "another poller holds the lock (pid " in once.stderr
    assert f"pid {first.pid} on host " in once.stderr
    assert "nothing polled" in once.stderr
    assert "another poller holds the lock" in second_err and "; waiting" in second_err
    assert "took the poller lock" in second_err
    assert second.returncode == 0 and first.returncode == 0
    assert not real_redis.exists(f"{PREFIX}:poller:lock")


def test_once_may_wait_for_the_lock(env, real_redis):
    # Given the lock held by a poller that stops once the --once one is waiting
    lock = PollerLock(real_redis, f"{PREFIX}:poller:lock", ttl_s=30)
    lock.acquire()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "poll", "--once",
                             "--lock-wait", "20"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    says = StderrLines(proc)
    try:
        wait_for(lambda: says.said("waiting up to 20 s"), 60, "the --once poller waiting")
    finally:
        lock.release()
    # When the waiting --once poller gets it
    proc.wait(timeout=60)
    err = says.text()
    # Then it polled
    assert proc.returncode == 0, err
    assert "waiting up to 20 s" in err and "took the poller lock" in err
    assert len(queued_ids(real_redis, PREFIX)) == 11
