"""The shared budget on a real Redis, under threads and separate processes.

Each granted request is timed (wall clock, same host as Redis) after
``acquire`` returns and before ``release`` is sent. Those times bound the
server-side grant and completion times, so "never more than max in any
window" must hold for them exactly (a 1 ms allowance covers rounding).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from bisect import bisect_left
from pathlib import Path

import pytest

from worker.ratelimit import Limits, PooledLimiter, RateLimiter, RedisBackend

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def most_in_any_window(times_s: list[float], interval_ms: int) -> int:
    """The largest number of times inside one half-open window [t, t + interval - 1 ms)."""
    times = sorted(times_s)
    span = (interval_ms - 1) / 1000
    return max((bisect_left(times, t + span) - i for i, t in enumerate(times)), default=0)


def run_client(limiter: RateLimiter, location_id: str, until_s: float, latency_ms: int) -> list:
    """Ask until ``until_s``: on a grant note the time, "send" (sleep), release."""
    granted = []
    while time.time() < until_s:
        grant = limiter.acquire(location_id)
        if not grant.ok:
            time.sleep(min(grant.wait_ms, 1000) / 1000)
            continue
        granted.append(time.time())
        time.sleep(random.uniform(0, latency_ms) / 1000)
        limiter.release(grant)
    return granted


def run_threads(limiter: RateLimiter, seconds: float, latency_ms: int,
                threads: int = 8) -> list[float]:
    """``run_client`` in ``threads`` threads for ``seconds``: every grant's time."""
    until = time.time() + seconds
    results: list[list] = []
    workers = [
        threading.Thread(
            target=lambda: results.append(run_client(limiter, "loc", until, latency_ms)))
        for _ in range(threads)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return [t for thread_times in results for t in thread_times]


def test_most_in_any_window_counts_a_burst():
    # Given 3 times within 100 ms and one a window later / Then 3 share a window
    assert most_in_any_window([0.0, 0.05, 0.1, 1.2], 1000) == 3
    assert most_in_any_window([0.0, 1.0, 2.0], 1000) == 1


def test_eight_threads_never_exceed_max_in_any_window(real_redis):
    # Given one limiter of 10 per 200 ms shared by 8 threads
    limiter = RateLimiter(RedisBackend(real_redis, prefix="it"), Limits(10, 200, 1_000_000))
    # When each thread acquires as fast as it may for 2 s, "requests" taking up to 5 ms
    times = run_threads(limiter, 2.0, 5)
    # Then no window held more than 10 grants, and the budget was well used
    assert most_in_any_window(times, 200) <= 10
    assert len(times) >= 0.8 * 10 * (2.0 / 0.2)


CHILD = """
import json, sys, time
import redis
from tests.integration.test_ratelimit_redis import run_client
from worker.ratelimit import Limits, PooledLimiter, RateLimiter, RedisBackend
url, duration, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
factory = PooledLimiter if kind == "pooled" else RateLimiter
limiter = factory(RedisBackend(redis.Redis.from_url(url), prefix="it-" + kind),
                  Limits(20, 1000, 10**6))
print("ready", flush=True)
start = float(sys.stdin.readline())
time.sleep(max(0.0, start - time.time()))
print(json.dumps(run_client(limiter, "shared", start + duration, 20)))
"""


def test_eight_threads_of_a_pooled_limiter_never_exceed_max_in_any_window(real_redis):
    # Given the workers' limiter (slots leased in batches) of 40 per 400 ms, 8 threads
    limiter = PooledLimiter(RedisBackend(real_redis, prefix="it-pool"),
                            Limits(40, 400, 1_000_000))
    # When each thread acquires as fast as it may for 2 s, "requests" taking up to 5 ms
    times = run_threads(limiter, 2.0, 5)
    limiter.close()
    # Then no window held more than 40 grants, and the budget was well used
    assert most_in_any_window(times, 400) <= 40
    assert len(times) >= 0.8 * 40 * (2.0 / 0.4)


@pytest.mark.parametrize("kind", ["plain", "pooled"])
def test_four_processes_share_one_budget(real_redis, redis_url, kind):
    # Given 4 separate processes sharing a budget of 20 per 1000 ms
    duration_s = 5.0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, redis_url, str(duration_s), kind],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    # (each starts once all have imported: a busy machine starts them seconds apart)
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    start = time.time() + 0.5
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start}\n")
        proc.stdin.flush()  # (communicate closes it)
    # When each asks for slots as fast as it may for 5 s, "requests" taking up to 20 ms
    per_process = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        per_process.append(json.loads(out))
    times = [t for process_times in per_process for t in process_times]
    # Then no sliding 1 s window saw more than 20 grants
    assert most_in_any_window(times, 1000) <= 20
    # And together they used at least 90% of 20/s over the run, each taking part
    assert len(times) >= 0.9 * 20 * duration_s
    assert all(per_process), [len(p) for p in per_process]
