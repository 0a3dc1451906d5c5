"""What the workers, receivers and pollers record, and what the exporter serves from it.

The exporter's answer is parsed with prometheus_client's own parser, as
Prometheus would read it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
import redis
import responses
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlRateLimitedError, GhlServerError
from tests.unit.fake_ghl import FakeGhl
from toky_ghl.metrics import record
from toky_ghl.metrics.collector import RedisCollector
from toky_ghl.settings import Settings
from worker.dlq import DeadLetterStore
from worker.fieldmap import load_field_map
from worker.pipeline import PipelineDeps, process
from worker.stats import Stats

WRITE = frozenset({"contacts.readonly", "contacts.write"})
PHONE = "+15125550101"
SETTINGS = Settings(ghl_token="tok", ghl_location_id="loc", ghl_scopes=WRITE,
                    ghl_retry_max_attempts=3)


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


def scrape(client, settings: Settings = SETTINGS) -> dict[str, list]:
    """The exporter's answer, parsed: family name → its samples."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(lambda: client, settings))
    text = generate_latest(registry).decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(samples, name: str, **labels) -> float:
    found = [s.value for s in samples if s.name == name
             and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


@pytest.mark.parametrize(("path", "template"), [
    ("/contacts/abc123", "/contacts/{id}"),
    ("/contacts/abc123/notes/n-9", "/contacts/{id}/notes/{id}"),
    ("/contacts/upsert", "/contacts/upsert"),
    ("/contacts/search/duplicate?number=%2B1512", "/contacts/search/duplicate"),
    ("/calendars/events/appointments/ev1", "/calendars/events/appointments/{id}"),
    ("/contacts/%2B15125550101/tasks/t1/completed", "/contacts/{id}/tasks/{id}/completed"),
    ("/users/", "/users/"),
])
def test_a_route_template_never_holds_an_id(path, template):
    assert record.route_template(path) == template


def contact(event_id: str, minutes_ago: float, **data) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"id": event_id, "type": "contact.created",
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "data": {"phone": PHONE, **data}}


def test_decisions_are_counted_by_type_outcome_and_reason_with_the_lag(client):
    ghl = FakeGhl()
    deps = PipelineDeps(settings=SETTINGS, redis=client, client=ghl,
                        field_map=load_field_map(None), rand=lambda: 0.5)
    # Given an event applied 2 minutes after it happened, its duplicate, an older
    # (stale) event for the same contact and an invalid event
    assert process(contact("e1", 2, contact_name="Ana"), deps).kind == "applied"
    assert process(contact("e1", 2, contact_name="Ana"), deps).kind == "skipped"
    assert process(contact("e0", 30, contact_name="Old"), deps).kind == "skipped"
    assert process({"id": "bad", "type": "made.up"}, deps).kind == "dead_lettered"
    # When the exporter is scraped
    families = scrape(client)
    events = families["tokyghl_events"]
    # Then each decision is counted once, with its reason
    assert value(events, "tokyghl_events_total", type="contact.created",
                 outcome="applied", reason="") == 1
    assert value(events, "tokyghl_events_total", outcome="skipped", reason="duplicate") == 1
    assert value(events, "tokyghl_events_total", outcome="skipped", reason="stale") == 1
    assert value(events, "tokyghl_events_total", type="other", outcome="dead_lettered",
                 reason="invalid") == 1
    # And the applied event's lag (about 120 s) is in the 300 s bucket, not the 60 s one
    lag = families["tokyghl_lag_seconds"]
    assert value(lag, "tokyghl_lag_seconds_bucket", type="contact.created", le="60.0") == 0
    assert value(lag, "tokyghl_lag_seconds_bucket", type="contact.created", le="300.0") == 1
    assert value(lag, "tokyghl_lag_seconds_count", type="contact.created") == 1
    assert 119 <= value(lag, "tokyghl_lag_seconds_sum", type="contact.created") < 200
    # And the dead letter is there by kind
    assert value(families["tokyghl_dead_letters"], "tokyghl_dead_letters", kind="invalid") == 1


def test_retries_wait_by_reason_until_the_event_finishes(client):
    ghl = FakeGhl()
    deps = PipelineDeps(settings=SETTINGS, redis=client, client=ghl,
                        field_map=load_field_map(None), rand=lambda: 0.5)
    ghl.fail("upsert_contact", GhlRateLimitedError("429", retry_after_ms=1000))
    assert process(contact("e1", 1), deps).kind == "retry"
    ghl.fail("upsert_contact", GhlServerError("502", status=502))
    assert process(contact("e2", 1, contact_name="B"), deps).kind == "retry"
    families = scrape(client)
    assert value(families["tokyghl_retrying"], "tokyghl_retrying", reason="rate") == 1
    assert value(families["tokyghl_retrying"], "tokyghl_retrying", reason="backoff") == 1
    assert value(families["tokyghl_events"], "tokyghl_events_total", outcome="retried",
                 reason="rate") == 1
    # When both are applied on their next delivery
    assert process(contact("e1", 1), deps, failures=0).kind == "applied"
    assert process(contact("e2", 1, contact_name="B"), deps, failures=1).kind == "applied"
    # Then nothing waits any more
    assert [s for s in scrape(client)["tokyghl_retrying"] if s.value] == []


@responses.activate
def test_ghl_requests_are_counted_by_route_template_status_and_duration(client):
    base = "https://ghl.test"
    responses.get(f"{base}/contacts/c-1", json={"contact": {"id": "c-1"}})
    responses.get(f"{base}/contacts/c-2", json={"message": "slow down"}, status=429)
    ghl = GhlClient(base_url=base, token="pit-x", location_id="loc", scopes=WRITE)
    stats = Stats(client, "tokyghl")
    # Given one event's requests: one answered 200, one 429
    with record.collecting():
        ghl.get_contact("c-1")
        with pytest.raises(GhlRateLimitedError):
            ghl.get_contact("c-2")
        # When its decision is written
        stats.finish("applied", "contact.updated", "e1", "")
    families = scrape(client)
    requests_ = families["tokyghl_ghl_requests"]
    # Then both requests count under the route template, never the contact ids
    assert value(requests_, "tokyghl_ghl_requests_total", location="loc", method="GET",
                 route="/contacts/{id}", status="200") == 1
    assert value(requests_, "tokyghl_ghl_requests_total", status="429") == 1
    assert value(families["tokyghl_ghl_rate_limited"], "tokyghl_ghl_rate_limited_total",
                 location="loc", source="ghl") == 1
    duration = families["tokyghl_ghl_request_duration_seconds"]
    assert value(duration, "tokyghl_ghl_request_duration_seconds_count", method="GET",
                 route="/contacts/{id}") == 2
    assert value(duration, "tokyghl_ghl_request_duration_seconds_bucket", method="GET",
                 route="/contacts/{id}", le="+Inf") == 2
    text = "".join(str(s) for samples in families.values() for s in samples)
    assert "c-1" not in text and "c-2" not in text


def test_histogram_buckets_are_cumulative(client):
    tally = record.Tally()
    for seconds in (0.5, 3, 3, 100, 10**6):
        tally.observe(record.LAG, "call.ended", seconds, record.LAG_BUCKETS_S)
    pipe = client.pipeline()
    tally.apply(pipe, "tokyghl")
    pipe.execute()
    lag = scrape(client)["tokyghl_lag_seconds"]
    assert [value(lag, "tokyghl_lag_seconds_bucket", type="call.ended", le=le) for le in
            ("1.0", "5.0", "60.0", "120.0", "86400.0", "+Inf")] == [1, 3, 3, 4, 4, 5]
    assert value(lag, "tokyghl_lag_seconds_count", type="call.ended") == 5
    # the other types are there, empty, so their first observations show as a rate
    assert value(lag, "tokyghl_lag_seconds_count", type="sms.received") == 0


def test_poller_cycles_and_webhook_401s(client):
    record.record_cycle(client, "tokyghl", "poll", ok=True, records=7, queued=3, now_s=1000.0)
    record.record_cycle(client, "tokyghl", "poll", ok=False, now_s=1060.0)
    client.hincrby("tokyghl:metrics:webhook", "other|401", 4)
    client.hincrby("tokyghl:metrics:webhook", "new_sms|202", 2)
    families = scrape(client)
    cycles = families["tokyghl_poller_cycles"]
    assert value(cycles, "tokyghl_poller_cycles_total", poller="poll", outcome="ok") == 1
    assert value(cycles, "tokyghl_poller_cycles_total", poller="poll", outcome="failed") == 1
    assert value(families["tokyghl_poller_items"], "tokyghl_poller_items_total",
                 poller="poll", what="queued") == 3
    assert value(families["tokyghl_poller_last_success_timestamp_seconds"],
                 "tokyghl_poller_last_success_timestamp_seconds", poller="poll") == 1000.0
    assert value(families["tokyghl_poller_last_cycle_timestamp_seconds"],
                 "tokyghl_poller_last_cycle_timestamp_seconds", poller="poll") == 1060.0
    assert value(families["tokyghl_webhook_unauthorized"],
                 "tokyghl_webhook_unauthorized_total") == 4


def test_dead_letters_by_kind_follow_replay_and_purge(client):
    dlq = DeadLetterStore(client, "tokyghl")
    dlq.add({"id": "a"}, "bad", "invalid")
    dlq.add({"id": "b"}, "refused", "rejected")
    dlq.add({"id": "c"}, "refused", "rejected")
    assert dlq.count_by_kind() == {"invalid": 1, "rejected": 2}
    dlq.remove(["b"])
    assert dlq.count_by_kind() == {"invalid": 1, "rejected": 1}
    # entries stored before kinds were kept are still counted (read from the entries)
    client.hdel("tokyghl:dlq:kinds", "a")
    assert dlq.count_by_kind() == {"invalid": 1, "rejected": 1}
    dlq.purge()
    assert dlq.count_by_kind() == {}


def test_budget_and_pause_of_the_location(client):
    families = scrape(client)
    budget = families["tokyghl_ghl_budget_remaining"]
    assert value(budget, "tokyghl_ghl_budget_remaining", location="loc", window="day") == \
        SETTINGS.ghl_rate_limit_daily
    assert value(families["tokyghl_ghl_budget_limit"], "tokyghl_ghl_budget_limit",
                 location="loc", window="burst") == SETTINGS.ghl_rate_limit_max
    assert value(families["tokyghl_ghl_auth_paused"], "tokyghl_ghl_auth_paused",
                 location="loc") == 0


def test_redis_down_is_said_by_tokyghl_up_not_by_an_error():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    families = scrape(dead)
    assert value(families["tokyghl_up"], "tokyghl_up") == 0
    assert set(families) == {"tokyghl_up"}


def test_parked_events_by_reason_and_location_and_the_open_circuit(client):
    from worker.circuit import Circuit
    from worker.delay import DelayStore, ParkReason

    settings = Settings(ghl_token="tok", ghl_location_id="loc", circuit_failure_threshold=1)
    # Given the location's circuit opened by a 503 and three events parked behind it,
    # and one waiting for the rate window
    Circuit.from_settings(settings, client).failed("loc", GhlServerError("503", status=503),
                                                   probe=False)
    store = DelayStore(client, "tokyghl")
    for i in range(3):
        store.park("loc", contact(f"c{i}", 1), reason=ParkReason.CIRCUIT, wait_ms=0, kwargs={})
    store.park("loc", contact("r1", 1), reason=ParkReason.RATE, wait_ms=5000, kwargs={})
    store.park("loc-2", contact("d1", 1), reason=ParkReason.DAILY, wait_ms=0, kwargs={})
    families = scrape(client, settings)
    # (every location the workers touched has its budget shown, not only the configured one)
    assert value(families["tokyghl_ghl_budget_remaining"], "tokyghl_ghl_budget_remaining",
                 location="loc-2", window="day") == settings.ghl_rate_limit_daily
    assert value(families["tokyghl_parked"], "tokyghl_parked", reason="daily",
                 location="loc-2") == 1
    parked = families["tokyghl_parked"]
    # Then the exporter shows them by reason, and the circuit open
    assert value(parked, "tokyghl_parked", reason="circuit", location="loc") == 3
    assert value(parked, "tokyghl_parked", reason="rate", location="loc") == 1
    assert value(parked, "tokyghl_parked", reason="daily", location="loc") == 0
    assert value(families["tokyghl_ghl_circuit_open"], "tokyghl_ghl_circuit_open",
                 location="loc", state="open") == 1
    assert value(families["tokyghl_parked_oldest_age_seconds"],
                 "tokyghl_parked_oldest_age_seconds", location="loc") >= 0


def test_counters_an_alert_watches_start_at_zero(client):
    # A series first seen at 25 has no increase for Prometheus: the first burst of
    # deletes (or the first webhook) would go unnoticed if its series appeared with it.
    families = scrape(client)
    queued = families["tokyghl_events_queued"]
    assert value(queued, "tokyghl_events_queued_total", type="contact.deleted",
                 source="webhook") == 0
    assert value(families["tokyghl_events"], "tokyghl_events_total", type="call.ended",
                 outcome="applied") == 0
    assert value(families["tokyghl_webhook_requests"], "tokyghl_webhook_requests_total",
                 event="new_sms", status="202") == 0
    assert value(families["tokyghl_ghl_rate_limited"], "tokyghl_ghl_rate_limited_total",
                 location="loc", source="ghl") == 0


def test_nested_collections_give_the_outer_tally_back_even_after_an_error():
    # Given an event's tally, and inside it another one (a nested delivery) that fails
    with record.collecting() as outer:
        record.ghl_request("loc", "GET", "/contacts/c-1", 200, 0.01)
        with pytest.raises(RuntimeError), record.collecting() as inner:
            record.ghl_request("loc", "GET", "/contacts/c-2", 500, 0.2)
            raise RuntimeError("boom")
        # When the outer one records again / Then it is the current tally again
        assert record.current() is outer
        record.ghl_request("loc", "POST", "/contacts/upsert", 201, 0.03)
    assert record.current() is None
    assert inner.counts == {("ghl", "loc|GET|/contacts/{id}|500|0.25"): 1,
                            ("ghl", "loc|GET|/contacts/{id}|500|sum_ms"): 200}
    assert outer.counts == {("ghl", "loc|GET|/contacts/{id}|200|0.025"): 1,
                            ("ghl", "loc|GET|/contacts/{id}|200|sum_ms"): 10,
                            ("ghl", "loc|POST|/contacts/upsert|201|0.05"): 1,
                            ("ghl", "loc|POST|/contacts/upsert|201|sum_ms"): 30}


@pytest.mark.parametrize(("values", "expected"), [
    (("loc", "GET", None, 200), "loc|GET||200"),
    (("a|b", 3.5, "x"), "a/b|3.5|x"),
])
def test_a_field_joins_its_labels_with_no_separator_inside_one(values, expected):
    assert record.field(*values) == expected
    assert [record.label(v) for v in values] == expected.split("|")


def test_a_bucket_is_labelled_by_its_bound_as_the_exporter_reads_it():
    # the label of each bound is format_bound's (the exporter sums slots by it)
    assert [record.bucket_of(b, record.GHL_DURATION_BUCKETS_S)
            for b in record.GHL_DURATION_BUCKETS_S] == [
        record.format_bound(b) for b in record.GHL_DURATION_BUCKETS_S]
    assert record.bucket_of(0.0251, record.GHL_DURATION_BUCKETS_S) == "0.05"
    assert record.bucket_of(31, record.GHL_DURATION_BUCKETS_S) == "+Inf"
    assert record.bucket_of(2, (1, 5)) == "5.0"
