"""Guarantees 1 and 2 under faults: workers killed with SIGKILL, GHL answering 5xx
or losing answers of writes that happened. Nothing lost, nothing duplicated."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.integration.harness import wait_until

pytestmark = pytest.mark.integration


def contacts_then_calls(n: int, *, missed_every: int = 0) -> list[dict]:
    """``n`` contacts, then one call for each (every ``missed_every``-th a missed one)."""
    events = []
    for i in range(n):
        phone = f"+1512555{i:04d}"
        events.append({"id": f"c-{i}", "type": "contact.created",
                       "occurred_at": "2026-11-02T09:00:00Z",
                       "data": {"phone": phone, "contact_name": f"Person {i}"}})
    for i in range(n):
        missed = missed_every and i % missed_every == 0
        events.append({"id": f"call-{i}", "type": "call.ended",
                       "occurred_at": "2026-11-02T10:00:00Z",
                       "data": {"callid": f"cid-{i:05d}", "direction": "inbound",
                                "state": "missed" if missed else "completed",
                                "from_number": f"+1512555{i:04d}", "to_number": "+15125559999",
                                "duration": 0 if missed else 42}})
    return events


def assert_no_duplicates(ghl, n: int, missed: int = 0) -> None:
    phones = Counter(c["phone"] for c in ghl.objects("contacts"))
    assert len(phones) == n and max(phones.values()) == 1, "duplicate or missing contacts"
    callids = Counter(b.split("cid-")[1][:5] for b in (x["body"] for x in ghl.objects("notes"))
                      if "cid-" in b)
    assert len(callids) == n, f"{n - len(callids)} call notes missing"
    assert max(callids.values()) == 1, f"duplicate notes: {callids.most_common(3)}"
    followups = [t for t in ghl.objects("tasks") if t["title"].startswith("Call back")]
    assert len(followups) == missed, f"{len(followups)} follow-ups for {missed} missed calls"


def test_sigkilled_workers_lose_nothing_and_duplicate_nothing(ghl, pipeline, start_worker):
    # Given several hundred events and GHL answering slowly (so kills land mid-request)
    ghl.sim.update_config(latency_ms=20)
    n = 150
    events = contacts_then_calls(n, missed_every=10)
    ids = [e["id"] for e in events]
    pipeline.enqueue(events)

    # When a worker is killed with SIGKILL twice during the run, and restarted each time
    workers = []
    for round_ in range(2):
        worker = start_worker(name=f"victim{round_}")
        workers.append(worker)
        target = (round_ + 1) * len(events) // 3
        wait_until(lambda t=target: len(ids) - len(pipeline.unfinished(ids)) >= t, 120,
                   f"{target} events finished before kill {round_ + 1}")
        worker.kill()
    workers.append(start_worker(name="survivor"))

    # Then every event finishes (re-delivered after the visibility timeout)
    pipeline.wait_finished(ids, timeout_s=180, workers=workers)
    assert pipeline.dead_letters() == []
    # and GHL holds exactly one contact per phone, one note per call, one follow-up per miss
    assert_no_duplicates(ghl, n, missed=n // 10)


def test_server_errors_and_lost_answers_leave_no_duplicate(ghl, pipeline, start_worker):
    # Given GHL failing a fifth of requests and losing the answer of a fifth of writes
    ghl.sim.update_config(error_rate=0.2, lost_answer_rate=0.2, seed=7)
    n = 40
    events = contacts_then_calls(n, missed_every=4)
    start_worker(GHL_RETRY_MAX_ATTEMPTS="12")

    # When the events are applied
    pipeline.enqueue(events)
    pipeline.wait_finished([e["id"] for e in events], timeout_s=180)

    # Then faults happened, nothing was dead-lettered, and nothing is duplicated
    stats = ghl.sim.stats_snapshot()
    assert stats["injected_5xx"] > 0 and stats["lost_answers"] > 0
    assert pipeline.dead_letters() == []
    assert_no_duplicates(ghl, n, missed=n // 4)


LATE = {"id": "c-late", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
        "data": {"phone": "+15125557777", "contact_name": "Late Person"}}


def freeze_with_a_message_popped(pipeline, victim) -> None:
    """SIGSTOP ``victim`` while its pop (BRPOPLPUSH, worker/broker.py) waits in Redis,
    then queue ``LATE``: Redis hands it to the frozen worker at once."""
    import os
    import signal
    import time

    db = str(pipeline.redis.connection_pool.connection_kwargs.get("db", 0))

    def pop_outstanding() -> bool:  # in this test's database (other runs may share Redis)
        return any(c.get("cmd") == "brpoplpush" and "b" in c.get("flags", "")
                   and c.get("db") == db for c in pipeline.redis.client_list())

    for _ in range(100):
        os.kill(victim.proc.pid, signal.SIGSTOP)
        if pop_outstanding():
            pipeline.enqueue([LATE])
            wait_until(lambda: not pop_outstanding(), 10, "Redis answering the frozen pop")
            return
        os.kill(victim.proc.pid, signal.SIGCONT)
        time.sleep(0.1)
    pytest.fail("the worker never had a pop outstanding")


def test_a_message_popped_by_a_worker_killed_before_reading_it_is_not_lost(
        ghl, pipeline, start_worker):
    # Given a worker waiting for work (its pop outstanding in Redis)
    victim = start_worker(name="victim")
    pipeline.enqueue(contacts_then_calls(1)[:1])
    pipeline.wait_finished(["c-0"], timeout_s=90, workers=[victim])

    # When it is frozen with its pop outstanding, an event is queued (Redis pops it
    # into the frozen worker's processing list) and the worker is killed with SIGKILL
    freeze_with_a_message_popped(pipeline, victim)
    victim.kill()
    survivor = start_worker(name="survivor")

    # Then another worker applies it within seconds (the popped message's consumer has no
    # alive key after a third of the harness's 10 s visibility timeout), once
    pipeline.wait_finished(["c-late"], timeout_s=60, workers=[victim, survivor])
    assert ghl.contact_by_phone("+15125557777") is not None


def test_a_worker_frozen_after_its_pop_and_resumed_does_not_apply_the_message_twice(
        ghl, pipeline, start_worker):
    import os
    import signal

    # Given a worker frozen (SIGSTOP) after Redis answered its pop with an event
    victim = start_worker(name="victim")
    pipeline.enqueue(contacts_then_calls(1)[:1])
    pipeline.wait_finished(["c-0"], timeout_s=90, workers=[victim])
    freeze_with_a_message_popped(pipeline, victim)

    # When another worker puts it back on the queue (the frozen one's alive key expired)
    # and applies it, and then the frozen worker resumes
    survivor = start_worker(name="survivor")
    pipeline.wait_finished(["c-late"], timeout_s=60, workers=[victim, survivor])
    os.kill(victim.proc.pid, signal.SIGCONT)

    # Then the resumed worker finds the message taken back and does not deliver it again
    wait_until(lambda: "put back on the queue by a sweep" in victim.log(), 30,
               "the resumed worker's claim refused")
    assert '"c-late"' not in victim.log()  # no task of it ran there
    assert len([c for c in ghl.objects("contacts") if c["phone"] == "+15125557777"]) == 1
    wait_until(lambda: pipeline.redis.hlen("tokyghl:unacked") == 0, 30, "nothing left unacked")
