"""The delay store and its scheduler, on fakeredis (Lua included) and without Celery."""

from __future__ import annotations

import base64
import json

import fakeredis
import pytest

from contract.constants import APPLY_EVENT_TASK
from toky_ghl.keys import queue_key
from toky_ghl.settings import Settings
from worker.circuit import Circuit, circuit_state
from worker.delay import DelayStore, ParkReason
from worker.delay.report import oldest_parked_age_s, parked_by_reason, parked_report
from worker.delay.scheduler import Scheduler

LOC = "loc-1"
#: The events queue's Redis list under the tests' prefix "p".
QUEUE = queue_key("p")


def event(i: int) -> dict:
    return {"id": f"e{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{i:04d}"}}


@pytest.fixture
def r():
    return fakeredis.FakeRedis()


def queued(r) -> list[dict]:
    """The queued messages, oldest first: (args, kwargs) of each."""
    out = []
    for raw in reversed(r.lrange(QUEUE, 0, -1)):
        message = json.loads(raw)
        assert message["headers"]["task"] == APPLY_EVENT_TASK
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        out.append((args, kwargs))
    return out


def test_a_parked_event_stays_until_due_then_goes_back_once_with_its_kwargs(r):
    store = DelayStore(r, "p")
    store.park(LOC, event(1), reason=ParkReason.BACKOFF, wait_ms=60_000,
               kwargs={"failures": 2, "since_ms": 5, "history": ["x"]})
    store.park(LOC, event(2), reason=ParkReason.RATE, wait_ms=0, kwargs={"failures": 0})
    assert store.release_due(LOC, 10) == 1  # only e2 is due
    assert [a[0]["id"] for a, _ in queued(r)] == ["e2"]
    assert parked_by_reason(r, "p", LOC)["backoff"] == 1
    assert parked_by_reason(r, "p", LOC)["rate"] == 0
    # nothing released twice
    assert store.release_due(LOC, 10) == 0
    r.zadd(f"p:delay:{LOC}:due", {"e1": 0})  # make e1 due now
    assert store.release_due(LOC, 10) == 1
    args, kwargs = queued(r)[1]
    assert args[0]["id"] == "e1" and kwargs == {"failures": 2, "since_ms": 5, "history": ["x"]}
    assert store.parked(LOC) == [] and parked_by_reason(r, "p", LOC) == {
        reason.value: 0 for reason in ParkReason}


def test_parking_the_same_event_again_replaces_it_and_keeps_its_first_parked_time(r):
    store = DelayStore(r, "p")
    store.park(LOC, event(1), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    first = store.parked(LOC)[0].since_ms
    store.park(LOC, event(1), reason=ParkReason.BACKOFF, wait_ms=50_000, kwargs={})
    [only] = store.parked(LOC)
    assert only.reason == "backoff" and only.since_ms == first
    assert parked_by_reason(r, "p", LOC)["circuit"] == 0
    assert parked_by_reason(r, "p", LOC)["backoff"] == 1


def test_gate_parked_events_are_released_oldest_first(r):
    store = DelayStore(r, "p")
    for i in range(5):
        store.park(LOC, event(i), reason=ParkReason.CIRCUIT, wait_ms=10_000, kwargs={})
        r.zadd(f"p:delay:{LOC}:since", {f"e{i}": 1000 + i}, xx=True)  # distinct park times
        r.zadd(f"p:delay:{LOC}:due", {f"e{i}": 1000 + i}, xx=True)
    store.park(LOC, event(0), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})  # re-parked
    assert store.release_due(LOC, 2) == 2
    assert [a[0]["id"] for a, _ in queued(r)] == ["e0", "e1"]


def test_report_counts_by_reason_and_oldest_age(r):
    store = DelayStore(r, "p")
    store.park(LOC, event(1), reason=ParkReason.DAILY, wait_ms=0, kwargs={})
    store.park(LOC, event(2), reason=ParkReason.AUTH, wait_ms=30_000, kwargs={})
    r.zadd(f"p:delay:{LOC}:since", {"e1": 1_000}, xx=True)
    report = parked_report(r, "p")[LOC]
    assert report["total"] == 2
    assert report["by_reason"]["daily"] == 1 and report["by_reason"]["auth"] == 1
    assert oldest_parked_age_s(r, "p", LOC, now_ms=61_000) == 60.0


def settings(**kw) -> Settings:
    return Settings(ghl_location_id=LOC, key_prefix="p", **kw)


def test_the_scheduler_holds_everything_while_the_circuit_is_open_then_sends_one_probe(r):
    s = settings(circuit_failure_threshold=1, circuit_probe_interval_ms=10,
                 circuit_probe_max_ms=20)
    circuit = Circuit.from_settings(s, r)
    circuit.failed(LOC, RuntimeError("503"), probe=False)
    assert circuit_state(r, "p", LOC)["state"] == "open"
    store = DelayStore(r, "p")
    for i in range(3):
        store.park(LOC, event(i), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    sched = Scheduler(r, s, circuit=circuit, store=store, queue_depth=lambda _r: 0)
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 10**15)  # next probe far away
    assert sched.tick() == 0
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 0)  # the probe is due
    assert sched.tick() == 1  # one event carries the probe
    assert sched.tick() == 0  # and not another for the same probe slot
    assert circuit.succeeded(LOC) == "open"
    assert sched.tick() == 2  # closed: the rest flows


def test_the_scheduler_releases_at_the_budgets_pace(r):
    class Budget:
        daily_remaining = 100
        remaining_in_window = 3
        interval_ms = 60_000

    class Limiter:
        def snapshot(self, _location):
            return Budget()

    store = DelayStore(r, "p")
    for i in range(10):
        store.park(LOC, event(i), reason=ParkReason.RATE, wait_ms=0, kwargs={})
    sched = Scheduler(r, settings(), limiter=Limiter(), store=store,
                      queue_depth=lambda client: client.llen(QUEUE))
    assert sched.tick() == 3
    assert sched.tick() == 0  # three are queued already: the window has no room left
    Budget.daily_remaining = 0
    r.delete(QUEUE)
    assert sched.tick() == 0  # the daily budget is spent: nothing goes


def test_the_circuit_opens_after_consecutive_failures_and_backs_off_its_probes(r):
    circuit = Circuit(r, "p", failure_threshold=3, probe_interval_ms=1000, probe_max_ms=3000)
    for _ in range(2):
        assert circuit.failed(LOC, RuntimeError("x"), probe=False) == "closed"
    circuit.succeeded(LOC)  # an answer resets the count
    for _ in range(2):
        circuit.failed(LOC, RuntimeError("x"), probe=False)
    assert circuit.allow(LOC).allowed
    assert circuit.failed(LOC, RuntimeError("x"), probe=False) == "opened"
    assert not circuit.allow(LOC).allowed
    intervals = []
    for _ in range(3):
        r.hset(f"p:circuit:{LOC}", "next_probe_ms", 0)
        ticket = circuit.allow(LOC)
        assert ticket.allowed and ticket.probe
        assert not circuit.allow(LOC).allowed  # one probe at a time
        assert circuit.failed(LOC, RuntimeError("x"), probe=True) == "reopened"
        intervals.append(circuit_state(r, "p", LOC)["interval_ms"])
    assert intervals == [2000, 3000, 3000]  # doubled, capped
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 0)
    assert circuit.allow(LOC).probe
    assert circuit.succeeded(LOC) == "half_open"
    assert circuit_state(r, "p", LOC)["state"] == "closed" and circuit.allow(LOC).clean


def test_a_probe_refused_by_the_rate_limiter_is_given_back_and_another_event_probes_at_once(r):
    """The race: the one event released to probe the open circuit takes the probe, then
    the shared rate limiter refuses its call (the window is full) and the event parks.
    GHL was never asked; the probe must not stay leased to nobody (until the lease ran
    out the circuit stayed open, and the scheduler released nothing: a stall)."""
    import responses as responses_lib

    from clients.ghl.client import GhlClient
    from clients.ghl.errors import GhlRateLimitedError
    from worker.ratelimit.base import Grant

    class FullWindow:  # the limiter's answer while the window is full
        full = True

        def acquire(self, location_id):
            if self.full:
                return Grant(False, 800, location_id, None, "burst")
            return Grant(True, 0, location_id, "slot", None)

        def release(self, grant):
            pass

        def observe(self, location_id, headers):
            pass

    s = settings(circuit_failure_threshold=1, circuit_probe_interval_ms=10,
                 circuit_probe_max_ms=20)
    circuit = Circuit.from_settings(s, r)
    circuit.failed(LOC, RuntimeError("503"), probe=False)
    store = DelayStore(r, "p")
    for i in range(3):
        store.park(LOC, event(i), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    sched = Scheduler(r, s, circuit=circuit, store=store, queue_depth=lambda _r: 0)
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 0)  # the probe is due
    assert sched.tick() == 1  # one event goes to carry the probe
    limiter = FullWindow()
    ghl = GhlClient(base_url="https://ghl.test", token="tok", location_id=LOC,
                    scopes={"contacts.readonly"}, circuit=circuit, limiter=limiter,
                    max_inline_wait_ms=0)
    with responses_lib.RequestsMock() as stub, pytest.raises(GhlRateLimitedError):
        ghl.get_contact("c1")  # the released event's call: the probe, then the limiter
        assert len(stub.calls) == 0
    # Then the probe is free again at once: the scheduler's next tick sends another event
    assert circuit_state(r, "p", LOC)["state"] == "open"
    assert sched.tick() == 1
    assert sched.tick() == 0  # one per probe slot still
    # and that event's call is the probe: GHL answers, the circuit closes
    limiter.full = False
    with responses_lib.RequestsMock() as stub:
        stub.get("https://ghl.test/contacts/c1", json={"contact": {"id": "c1"}})
        assert ghl.get_contact("c1") == {"id": "c1"}
    assert circuit_state(r, "p", LOC)["state"] == "closed"


def test_a_probe_slot_is_spent_only_when_an_event_went(r):
    """Nothing due when the probe fell due (every parked event backing off): the slot
    must not be marked spent, or the event due a moment later waits out the lease."""
    s = settings(circuit_failure_threshold=1, circuit_probe_interval_ms=10,
                 circuit_probe_max_ms=20)
    circuit = Circuit.from_settings(s, r)
    circuit.failed(LOC, RuntimeError("503"), probe=False)
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 0)
    store = DelayStore(r, "p")
    store.park(LOC, event(1), reason=ParkReason.BACKOFF, wait_ms=60_000, kwargs={})
    sched = Scheduler(r, s, circuit=circuit, store=store, queue_depth=lambda _r: 0)
    assert sched.tick() == 0  # the probe is due, but no event is
    store.park(LOC, event(2), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    assert sched.tick() == 1  # the gate-parked event goes at once to carry the probe


def test_a_slow_tick_does_not_remove_the_lock_another_scheduler_took_meanwhile(r):
    class SlowStore(DelayStore):
        slow = True

        def release_due(self, location, max_count):
            if self.slow:  # this tick outlived its lock, and another scheduler took it
                r.set("p:delay:scheduler", "other", px=60_000)
            return super().release_due(location, max_count)

    store = SlowStore(r, "p")
    store.park(LOC, event(1), reason=ParkReason.RATE, wait_ms=0, kwargs={})
    sched = Scheduler(r, settings(), store=store, queue_depth=lambda _r: 0)
    assert sched.tick() == 1
    assert r.get("p:delay:scheduler") == b"other"  # the other's lock is kept
    r.delete("p:delay:scheduler")
    store.slow = False
    assert sched.tick() == 0 and r.get("p:delay:scheduler") is None  # its own is removed


def test_parked_events_still_go_one_a_tick_when_a_steady_stream_keeps_the_queue_full(r):
    class Budget:
        daily_remaining = 100
        remaining_in_window = 5
        interval_ms = 1000

    class Limiter:
        def snapshot(self, _location):
            return Budget()

    # Given two events parked and due, and a queue a steady stream keeps 50 deep
    store = DelayStore(r, "p")
    for i in range(2):
        store.park(LOC, event(i), reason=ParkReason.BACKOFF, wait_ms=0, kwargs={})
    sched = Scheduler(r, settings(), limiter=Limiter(), store=store, queue_depth=lambda _r: 50)
    # When they have just come due: nothing goes (the queued events take the window)
    assert sched.tick() == 0
    # When the oldest has waited a whole rate window past its due time: one a tick goes,
    # oldest first
    r.zadd(f"p:delay:{LOC}:due", {"e0": 1, "e1": 2})
    assert sched.tick() == 1
    assert [args[0]["id"] for args, _ in queued(r)] == ["e0"]
    assert sched.tick() == 1
    # but never while the window is spent
    store.park(LOC, event(3), reason=ParkReason.BACKOFF, wait_ms=0, kwargs={})
    r.zadd(f"p:delay:{LOC}:due", {"e3": 3})
    Budget.remaining_in_window = 0
    assert sched.tick() == 0


def test_an_event_held_behind_the_circuit_past_the_horizon_is_dead_lettered_with_its_history(r):
    from worker.dlq import DeadLetterStore

    s = settings(circuit_failure_threshold=1, ghl_retry_horizon_s=3600)
    circuit = Circuit.from_settings(s, r)
    circuit.failed(LOC, RuntimeError("503"), probe=False)
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 10**15)  # GHL stays down: no probe
    store = DelayStore(r, "p")
    # Given one event parked for the open circuit two hours ago (after two failures),
    # one parked for it just now, and one parked for the daily budget two hours ago
    store.park(LOC, event(1), reason=ParkReason.CIRCUIT, wait_ms=0,
               kwargs={"failures": 2, "since_ms": None,
                       "history": ["2026-11-02T09:00:00+00:00 GHL 503",
                                   "2026-11-02T09:00:05+00:00 GHL 503"]})
    store.park(LOC, event(2), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    store.park(LOC, event(3), reason=ParkReason.DAILY, wait_ms=0, kwargs={})
    two_hours_ago = int(r.time()[0]) * 1000 - 7_200_000
    r.zadd(f"p:delay:{LOC}:since", {"e1": two_hours_ago, "e3": two_hours_ago})
    sched = Scheduler(r, s, circuit=circuit, store=store, queue_depth=lambda _r: 0)

    # When the scheduler ticks (twice: a second tick finds nothing more)
    sched.tick()
    sched.tick()

    # Then the old circuit-held event is a dead letter of kind "horizon", with its
    # history and the horizon's line; nothing was queued; the others stay parked
    entry = DeadLetterStore(r, "p").get("e1")
    assert entry is not None and entry.kind == "horizon" and entry.count == 1
    assert "GHL_RETRY_HORIZON_S=3600" in entry.reason and "circuit" in entry.reason
    assert entry.history[:2] == ["2026-11-02T09:00:00+00:00 GHL 503",
                                 "2026-11-02T09:00:05+00:00 GHL 503"]
    assert "still parked (circuit) at the horizon" in entry.history[-1]
    assert entry.event["id"] == "e1"
    assert queued(r) == []
    assert sorted(p.event_id for p in store.parked(LOC)) == ["e2", "e3"]
    assert parked_by_reason(r, "p", LOC)["circuit"] == 1
