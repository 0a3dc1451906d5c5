"""What ``toky-ghl status`` says about parked events, circuits and in-flight work
(fakeredis; the values an operator reads)."""

from __future__ import annotations

import fakeredis

from toky_ghl.settings import Settings
from worker import inflight
from worker.circuit import Circuit
from worker.delay import DelayStore, ParkReason
from worker.status import collect_status, format_status

LOC = "loc-1"


def event(i: int) -> dict:
    return {"id": f"e{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{i:04d}"}}


def test_status_shows_parked_by_reason_the_open_circuit_and_only_live_work_in_flight():
    r = fakeredis.FakeRedis()
    settings = Settings(ghl_location_id=LOC, ghl_token="tok")
    store = DelayStore(r, settings.key_prefix)
    store.park(LOC, event(1), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    store.park(LOC, event(2), reason=ParkReason.DAILY, wait_ms=0, kwargs={})
    store.park(LOC, event(3), reason=ParkReason.BACKOFF, wait_ms=60_000, kwargs={})
    Circuit(r, settings.key_prefix, failure_threshold=1, probe_interval_ms=30_000,
            probe_max_ms=60_000).failed(LOC, RuntimeError("GHL 503"), probe=False)
    # one task on a live worker, one left by a worker whose heartbeat is gone
    inflight.beat(r, settings.key_prefix, "alive@h")
    inflight.started(r, settings.key_prefix, "t-1", "alive@h")
    inflight.started(r, settings.key_prefix, "t-2", "killed@h")

    report = collect_status(r, settings)
    text = format_status(report)

    assert report["parked"][LOC]["total"] == 3
    assert report["parked"][LOC]["by_reason"] == {"rate": 0, "backoff": 1, "circuit": 1,
                                                 "auth": 0, "daily": 1}
    assert f"parked        {LOC}: 3 (backoff 1, circuit 1, daily 1); oldest" in text
    assert report["circuits"][LOC]["state"] == "open"
    assert 0 < report["circuits"][LOC]["next_probe_in_s"] <= 30
    assert f"circuit       {LOC}: OPEN (next probe in" in text and "GHL 503" in text
    assert report["in_flight"] == 1 and report["awaiting_redelivery"] == 1
    assert "in flight     1 (+1 held by stopped workers" in text


def test_status_with_nothing_parked_and_a_closed_circuit():
    r = fakeredis.FakeRedis()
    text = format_status(collect_status(r, Settings(ghl_location_id=LOC, ghl_token="tok")))
    assert "parked        0" in text and f"circuit       {LOC}: closed" in text
    assert "in flight     0\n" in text
