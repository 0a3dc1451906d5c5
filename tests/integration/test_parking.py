"""Guarantee 6 with real workers, real Redis and the simulator over HTTP: waiting is
parked, never held. GHL down for longer than the old attempt budget, a worker and
the scheduler killed with SIGKILL, the daily budget spent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.integration.harness import PREFIX, REPO, wait_until, worker_env
from toky_ghl.keys import queue_depth
from toky_ghl.settings import Settings
from worker.circuit import circuit_state
from worker.delay import DelayStore, ParkReason
from worker.delay.report import parked_by_reason, parked_total
from worker.status import collect_status

pytestmark = pytest.mark.integration


def contacts(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"c-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
             "data": {"phone": f"+1512555{i:04d}", "contact_name": f"Person {i}"}}
            for i in range(start, start + n)]


def assert_each_applied_once(ghl, pipeline, n: int) -> None:
    phones = Counter(c["phone"] for c in ghl.objects("contacts"))
    assert len(phones) == n and max(phones.values()) == 1, "duplicate or missing contacts"
    counts = pipeline.stats.snapshot()
    assert counts["applied"] == n, counts
    assert counts["skipped"] == 0, f"a message was delivered twice: {counts}"


def status_of(pipeline, ghl) -> dict:
    settings = Settings(ghl_location_id=ghl.location_id, key_prefix=PREFIX)
    return collect_status(pipeline.redis, settings)


def test_ghl_down_longer_than_the_attempt_budget_parks_probes_and_recovers(
        ghl, pipeline, start_worker):
    # Given workers whose old attempt budget (8 attempts, backoff capped at 1 s) would be
    # spent in a few seconds, and a circuit probed every 1 s (doubling to 2 s)
    env = {"GHL_RETRY_MAX_ATTEMPTS": "8", "GHL_BACKOFF_BASE_MS": "100",
           "GHL_BACKOFF_CAP_MS": "1000", "CIRCUIT_FAILURE_THRESHOLD": "5",
           "CIRCUIT_PROBE_INTERVAL_MS": "1000", "CIRCUIT_PROBE_MAX_MS": "2000"}
    start_worker(name="w1", **env)
    start_worker(name="w2", **env)
    n = 40
    # When GHL is down (every request 503) while the events arrive, for 20 s
    ghl.sim.update_config(down=True)
    down_at = time.monotonic()
    pipeline.enqueue(contacts(n))
    wait_until(lambda: circuit_state(pipeline.redis, PREFIX, ghl.location_id)["state"] != "closed",
               60, "the circuit to open")
    wait_until(lambda: parked_total(pipeline.redis, PREFIX, ghl.location_id) == n, 60,
               "every event parked")
    # Then status tells the truth: parked by reason, the circuit open with its next probe
    report = status_of(pipeline, ghl)
    parked = report["parked"][ghl.location_id]
    assert parked["total"] == n and parked["by_reason"]["circuit"] > 0
    assert report["circuits"][ghl.location_id]["state"] in ("open", "half_open")
    assert parked["oldest_age_s"] is not None
    while time.monotonic() - down_at < 20:
        assert pipeline.dead_letters() == [], "an event was dead-lettered during the outage"
        time.sleep(0.5)
    outage_s = time.monotonic() - down_at
    requests_while_down = ghl.sim.stats_snapshot()["requests_total"]
    # GHL comes back
    ghl.sim.update_config(down=False)
    # Then every event is applied exactly once, without any command
    pipeline.wait_finished([e["id"] for e in contacts(n)], timeout_s=120)
    assert pipeline.dead_letters() == []
    assert_each_applied_once(ghl, pipeline, n)
    # and while down, GHL saw the requests that opened the circuit (at most the threshold
    # plus what the 8 worker threads had in flight) and at most one probe per interval
    opening = 5 + 8
    assert requests_while_down <= opening + outage_s / 1.0 + 1, requests_while_down
    assert circuit_state(pipeline.redis, PREFIX, ghl.location_id)["state"] == "closed"


def test_a_sigkilled_workers_events_are_applied_by_the_other_within_the_bound(
        ghl, pipeline, start_worker):
    # Given two workers, GHL slow enough that each holds events for seconds, and a
    # visibility timeout of 30 s (the bound is that timeout + kombu's sweep, up to 10 s)
    env = {"CELERY_VISIBILITY_TIMEOUT_S": "30"}
    ghl.sim.update_config(latency_ms=1500)
    victim = start_worker(name="victim", **env)
    start_worker(name="survivor", **env)
    n = 24
    pipeline.enqueue(contacts(n))
    key = f"{PREFIX}:inflight"

    def victim_holds() -> int:
        return sum(1 for v in pipeline.redis.hvals(key) if v.decode().startswith("victim@"))

    wait_until(lambda: victim_holds() >= 2, 60, "the victim holding events")
    # When the victim is killed with SIGKILL
    victim.kill()
    killed_at = time.monotonic()
    # Then status stops counting its events as in flight once its heartbeat is gone
    wait_until(lambda: status_of(pipeline, ghl)["awaiting_redelivery"] >= 1, 30,
               "status to show the killed worker's events as awaiting re-delivery")
    assert status_of(pipeline, ghl)["in_flight"] <= 4  # the survivor's 4 threads at most
    # and the survivor applies every event, the killed worker's included, within the bound
    pipeline.wait_finished([e["id"] for e in contacts(n)], timeout_s=30 + 10 + 60)
    assert time.monotonic() - killed_at < 120, "applied later than the 2-minute bound"
    phones = Counter(c["phone"] for c in ghl.objects("contacts"))
    assert len(phones) == n and max(phones.values()) == 1


def test_a_sigkilled_scheduler_loses_and_doubles_nothing(ghl, pipeline, start_worker,
                                                        redis_url, tmp_path):
    # Given parked events (200 a round), a worker without its own scheduler thread, and a
    # budget of 10 requests per 500 ms (GHL's too), so a scheduler releases them over
    # many ticks
    ghl.sim.update_config(max_requests=10, interval_ms=500)
    env = {"DELAY_SCHEDULER_IN_WORKER": "0", "GHL_RATE_LIMIT_MAX": "10",
           "GHL_RATE_LIMIT_INTERVAL_MS": "500", "DELAY_POLL_INTERVAL_MS": "20"}
    batch, max_rounds = 200, 5
    store = DelayStore(pipeline.redis, PREFIX)
    start_worker(name="w1", **env)
    sched_env = worker_env(redis_url, ghl, **env)
    log = (tmp_path / "scheduler.log").open("ab")

    def parked() -> int:
        return parked_total(pipeline.redis, PREFIX, ghl.location_id)

    def scheduler() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "cli.main", "scheduler"],
                                env=sched_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    # When the scheduler process is killed with SIGKILL again and again while releasing:
    # a kill "mid-release" leaves parked events behind. How many kills land so depends on
    # the machine's speed (a slow poll lets one scheduler release a whole round), so
    # rounds of fresh events are parked until 3 kills landed mid-release
    kills_mid_release = rounds = 0
    deadline = time.monotonic() + 480
    while kills_mid_release < 3 and rounds < max_rounds and time.monotonic() < deadline:
        for event in contacts(batch, start=rounds * batch):
            store.park(ghl.location_id, event, reason=ParkReason.RATE, wait_ms=0,
                       kwargs={"failures": 0})
        rounds += 1
        while parked() and time.monotonic() < deadline:
            before = parked()
            proc = scheduler()
            # let it release some (it needs a moment to start), then kill it mid-way
            wait_until(lambda b=before: parked() < b, 60, "the scheduler releasing",
                       interval_s=0.02)
            time.sleep(0.1 * (kills_mid_release % 4))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            if parked():
                kills_mid_release += 1
    assert kills_mid_release >= 3, (
        f"the scheduler was not killed during the release ({kills_mid_release} kills "
        f"landed in {rounds} rounds)")
    # and a last scheduler, left running, releases whatever the worker parks again
    last = scheduler()
    try:
        # Then every event is applied exactly once: none lost, none delivered twice
        n = rounds * batch
        pipeline.wait_finished([e["id"] for e in contacts(n)], timeout_s=180)
        assert_each_applied_once(ghl, pipeline, n)
        assert parked() == 0
        assert queue_depth(pipeline.redis, PREFIX) == 0
    finally:
        last.kill()
        last.wait(timeout=30)
        log.close()


def test_a_spent_daily_budget_parks_events_until_it_returns_without_a_delivery_loop(
        ghl, pipeline, start_worker):
    # Given a daily budget of 12 requests (each contact takes one), on GHL's side too
    ghl.sim.update_config(daily_max=12)
    start_worker(name="w1", GHL_RATE_LIMIT_DAILY="12")
    n = 20
    ids = [e["id"] for e in contacts(n)]
    # When 20 events arrive
    pipeline.enqueue(contacts(n))
    # Then 12 are applied and the 8 others park for the daily budget
    wait_until(lambda: parked_by_reason(pipeline.redis, PREFIX, ghl.location_id)["daily"] == 8,
               60, "8 events parked for the daily budget")
    assert pipeline.stats.snapshot()["applied"] == 12
    # and no delivery loop while they wait: no task runs again (counted over 3 s, at a
    # scheduler tick of 100 ms a loop would re-park each event many times)
    retried = pipeline.stats.snapshot()["retried"]
    time.sleep(3)
    assert pipeline.stats.snapshot()["retried"] == retried
    assert len(pipeline.unfinished(ids)) == 8 and pipeline.dead_letters() == []
    # When the budget returns (a new UTC day, for GHL and for our shared count)
    ghl.sim.limiter.reset()
    daily = f"{PREFIX}:ratelimit:{ghl.location_id}:daily"
    day = int(pipeline.redis.hget(daily, "day"))
    pipeline.redis.hset(daily, mapping={"day": day - 1})
    # Then the parked events are applied, each once
    pipeline.wait_finished(ids, timeout_s=60)
    assert_each_applied_once(ghl, pipeline, n)


def test_the_oauth_token_endpoint_down_parks_events_and_pauses_like_an_outage(
        ghl, pipeline, start_worker, redis_url):
    from tests.integration.auth_support import (
        login_through_consent_page,
        oauth_env,
        oauth_vars,
        register_app,
    )
    from tests.integration.harness import WRITE_SCOPES

    # Given OAuth credentials whose access token has expired, and the token endpoint down
    ghl.sim.update_config(access_token_ttl_s=2.0)
    register_app(ghl)
    chosen = {"GHL_SCOPES": "", "GHL_TOKEN_REFRESH_MARGIN_S": "0.5",
              "CIRCUIT_FAILURE_THRESHOLD": "3"}
    login = login_through_consent_page(oauth_env(redis_url, ghl, **chosen), WRITE_SCOPES)
    assert login.returncode == 0, login.stderr
    start_worker(name="w1", **oauth_vars(ghl, **chosen))
    ghl.sim.update_config(token_endpoint_down=True)
    time.sleep(2.5)  # the access token expires (the simulator's clock)
    n = 20
    pipeline.enqueue(contacts(n))
    # Then the refresh failures open the circuit and the events park; none is dead-lettered
    wait_until(lambda: circuit_state(pipeline.redis, PREFIX, ghl.location_id)["state"] != "closed",
               60, "the circuit to open on the token endpoint's failures")
    wait_until(lambda: parked_total(pipeline.redis, PREFIX, ghl.location_id) == n, 60,
               "every event parked")
    by_reason = parked_by_reason(pipeline.redis, PREFIX, ghl.location_id)
    assert by_reason["auth"] + by_reason["circuit"] == n
    time.sleep(3)
    assert pipeline.dead_letters() == []
    # When the token endpoint answers again
    ghl.sim.update_config(token_endpoint_down=False)
    # Then the probe refreshes the token, and every event is applied once
    pipeline.wait_finished([e["id"] for e in contacts(n)], timeout_s=120)
    assert pipeline.dead_letters() == []
    phones = Counter(c["phone"] for c in ghl.objects("contacts"))
    assert len(phones) == n and max(phones.values()) == 1


def test_workers_sigkilled_while_parking_lose_and_double_nothing(ghl, pipeline, start_worker):
    # Given GHL failing 40% of requests, so events park and come back all along
    ghl.sim.update_config(error_rate=0.4, seed=11)
    n = 120
    ids = [e["id"] for e in contacts(n)]
    pipeline.enqueue(contacts(n))
    # When the worker is killed with SIGKILL three times mid-run (parks half done, messages
    # unacknowledged, the scheduler thread mid-release) and restarted each time
    for round_ in range(3):
        victim = start_worker(name=f"victim{round_}")
        target = (round_ + 1) * n // 4
        wait_until(lambda t=target: n - len(pipeline.unfinished(ids)) >= t, 120,
                   f"{target} events finished before kill {round_ + 1}")
        victim.kill()
    start_worker(name="survivor")
    ghl.sim.update_config(error_rate=0.0)
    # Then every event is applied exactly once
    pipeline.wait_finished(ids, timeout_s=180)
    assert pipeline.dead_letters() == []
    phones = Counter(c["phone"] for c in ghl.objects("contacts"))
    assert len(phones) == n and max(phones.values()) == 1


def contacts_with_email(n: int) -> list[dict]:
    """New contacts with an email: each takes two requests, GHL's duplicate search by
    email (which leaves nothing behind when it finds none), then the upsert."""
    return [{"id": f"ce-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
             "data": {"phone": f"+1512556{i:04d}", "contact_name": f"Person {i}",
                      "email": f"person{i}@example.com"}}
            for i in range(n)]


def test_a_tight_rate_budget_is_used_at_its_pace_without_livelock(ghl, pipeline, start_worker):
    # Given a budget of 2 requests per 1 s (GHL's too), no inline wait allowed by the
    # settings, and two workers of 4 threads: an event takes two requests (the search by
    # email, then the upsert), so most events meet a full window between the two
    ghl.sim.update_config(max_requests=2, interval_ms=1000)
    env = {"GHL_RATE_LIMIT_MAX": "2", "GHL_RATE_LIMIT_INTERVAL_MS": "1000",
           "RATE_WAIT_INLINE_MAX_MS": "0"}
    start_worker(name="w1", **env)
    start_worker(name="w2", **env)
    n = 25
    events = contacts_with_email(n)
    ids = [e["id"] for e in events]
    # When 25 events arrive at once
    started = time.monotonic()
    pipeline.enqueue(events)
    # Then the budget is spent on progress: every event is applied exactly once within a
    # generous multiple of what the budget allows (2 requests an event, 2 a second)
    budget_s = n * 2 / 2
    pipeline.wait_finished(ids, timeout_s=3 * budget_s + 30)
    print(f"{n} events in {time.monotonic() - started:.1f} s, "
          f"{ghl.sim.stats_snapshot()['requests_total']} GHL requests")
    assert pipeline.dead_letters() == []
    assert_each_applied_once(ghl, pipeline, n)
