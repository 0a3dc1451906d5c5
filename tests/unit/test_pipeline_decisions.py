"""The pipeline's decisions as an operator reads them: every failure kind's park or dead
letter, the horizon at its boundary, the history, the counts and log lines."""

from __future__ import annotations

import fakeredis
import pytest
import structlog

from clients.ghl.errors import (
    GhlNotFoundError,
    GhlRateLimitedError,
    GhlScopeError,
    GhlServerError,
)
from clients.http_policy import backoff_ms
from tests.unit.fake_ghl import FakeGhl
from toky_ghl.settings import Settings
from worker.circuit import CircuitOpen
from worker.delay.reasons import ParkReason
from worker.dlq import DeadLetterStore
from worker.fieldmap import load_field_map
from worker.pipeline import HISTORY_KEEP, PipelineDeps, process
from worker.stats import Stats
from worker.sync.outcome import Deferred, Unprocessable

WRITE = frozenset({"contacts.readonly", "contacts.write"})
PHONE = "+15125550101"
NOW_MS = 1_000_000_000_000  # 2001-09-09T01:46:40Z
NOW_ISO = "2001-09-09T01:46:40+00:00"
HORIZON_S = 100


@pytest.fixture
def ghl() -> FakeGhl:
    return FakeGhl()


@pytest.fixture
def deps(ghl) -> PipelineDeps:
    settings = Settings(ghl_token="tok", ghl_location_id="loc", ghl_scopes=WRITE,
                        ghl_retry_max_attempts=3, ghl_retry_horizon_s=HORIZON_S)
    return PipelineDeps(settings=settings, redis=fakeredis.FakeRedis(), client=ghl,
                        field_map=load_field_map(None), rand=lambda: 0.5,
                        now_ms=lambda: NOW_MS)


def created(event_id: str = "e1") -> dict:
    return {"id": event_id, "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": PHONE, "contact_name": "Ana"}}


def counts(deps) -> dict[str, int]:
    return Stats(deps.redis, deps.prefix).snapshot()


def server_error() -> GhlServerError:
    return GhlServerError("boom", status=503, method="POST", path="/contacts/upsert")


# -- dead letters: the entry, the count by type, the log line ---------------------------------


def test_a_dead_letter_keeps_the_task_id_and_is_counted_and_logged_by_type(deps, ghl):
    ghl.fail("upsert_contact", Unprocessable("the data cannot be written"))
    with structlog.testing.capture_logs() as logs:
        decision = process(created(), deps, task_id="task-9")
    assert decision.kind == "dead_lettered"
    assert decision.detail.endswith("the data cannot be written")  # after the rule's name
    entry = DeadLetterStore(deps.redis, deps.prefix).get("e1")
    assert (entry.kind, entry.task_id) == ("unprocessable", "task-9")
    assert counts(deps)["dead_lettered:contact.created"] == 1
    assert counts(deps)["dead_lettered"] == 1
    (line,) = [x for x in logs if x["event"] == "dead-lettered"]
    assert (line["log_level"], line["reason"], line["kind"], line["dlq_id"]) == (
        "warning", decision.detail, "unprocessable", "e1")


@pytest.mark.parametrize(("raw", "counted_as"), [
    ({"id": "x1", "type": "contact.created", "occurred_at": "nope", "data": {}},
     "dead_lettered:contact.created"),
    ({"id": "x2", "occurred_at": "2026-11-02T09:00:00Z", "data": {}}, "dead_lettered:?"),
    ("not an event", "dead_lettered:?"),
])
def test_an_invalid_event_is_counted_under_its_type_or_a_question_mark(deps, raw, counted_as):
    assert process(raw, deps).kind == "dead_lettered"
    assert counts(deps)[counted_as] == 1


def test_a_scope_refusal_is_a_scope_dead_letter(deps, ghl):
    refusal = GhlScopeError("contacts.write", method="POST", path="/contacts/upsert")
    ghl.fail("upsert_contact", refusal)
    assert process(created(), deps).detail.endswith(str(refusal))
    assert DeadLetterStore(deps.redis, deps.prefix).get("e1").kind == "scope"


# -- parks: how long, why, whether it counts as an attempt, and the log line -----------------


def test_a_server_error_parks_with_backoff_and_counts_an_attempt(deps, ghl):
    ghl.fail("upsert_contact", server_error())
    with structlog.testing.capture_logs() as logs:
        decision = process(created(), deps)
    assert (decision.kind, decision.reason, decision.failures) == ("retry", ParkReason.BACKOFF, 1)
    assert decision.since_ms == NOW_MS and decision.retry_in_ms >= 1
    assert decision.history == (f"{NOW_ISO} {decision.detail}",)
    assert counts(deps)["retried:contact.created"] == 1 and counts(deps)["retrying"] == 1
    (line,) = [x for x in logs if x["event"] == "parked"]
    assert (line["reason"], line["detail"], line["wait_ms"], line["failures"]) == (
        "backoff", decision.detail, decision.retry_in_ms, 1)


@pytest.mark.parametrize(("probe_in_ms", "waits_ms"), [(5_000, 5_000), (-10, 1)])
def test_an_open_circuit_parks_until_the_next_probe_without_an_attempt(deps, ghl, probe_in_ms,
                                                                       waits_ms):
    circuit = CircuitOpen("loc", NOW_MS + probe_in_ms)
    ghl.fail("upsert_contact", circuit)
    decision = process(created(), deps)
    assert (decision.kind, decision.reason, decision.retry_in_ms, decision.failures) == (
        "retry", ParkReason.CIRCUIT, waits_ms, 0)
    assert decision.detail == str(circuit) and decision.since_ms == NOW_MS


def test_a_deferral_with_a_wait_is_waiting_not_failing(deps, ghl):
    ghl.fail("upsert_contact", Deferred("another worker holds it", retry_after_ms=700))
    decision = process(created(), deps, failures=2, since_ms=NOW_MS - 5_000)
    assert (decision.kind, decision.reason, decision.detail) == (
        "retry", ParkReason.BACKOFF, "another worker holds it")
    assert decision.retry_in_ms == 700 + 125  # and a quarter second of jitter at most
    assert decision.failures == 2 and decision.since_ms == NOW_MS - 5_000


def test_a_deferral_without_a_wait_counts_and_ends_as_deferred(deps, ghl):
    for _ in range(3):
        ghl.fail("upsert_contact", Deferred("task.created not seen yet"))
    first = process(created(), deps)
    assert (first.kind, first.failures, first.since_ms) == ("retry", 1, None)
    last = process(created(), deps, failures=2)
    assert last.kind == "dead_lettered"
    assert last.detail.endswith("gave up after 3 attempts: task.created not seen yet")
    assert DeadLetterStore(deps.redis, deps.prefix).get("e1").kind == "deferred"


def test_a_spent_daily_budget_parks_until_told_or_a_minute(deps, ghl):
    spent = GhlRateLimitedError("daily limit", daily=True, retry_after_ms=None,
                                from_server=False)
    ghl.fail("upsert_contact", spent)
    ghl.fail("upsert_contact", GhlRateLimitedError("daily limit", daily=True,
                                                   retry_after_ms=3_600_000, from_server=False))
    unknown = process(created("e1"), deps)
    told = process(created("e2"), deps)
    assert (unknown.reason, unknown.retry_in_ms, unknown.failures) == (ParkReason.DAILY,
                                                                       60_000, 0)
    assert unknown.detail == f"daily budget spent: {spent}"
    assert (told.reason, told.retry_in_ms) == (ParkReason.DAILY, 3_600_000)


def test_a_full_window_parks_as_rate_without_an_attempt(deps, ghl):
    ghl.fail("upsert_contact", GhlRateLimitedError("slow down", retry_after_ms=1_500,
                                                   method="POST", path="/contacts/upsert"))
    decision = process(created(), deps, failures=1)
    assert (decision.reason, decision.retry_in_ms, decision.failures) == (ParkReason.RATE,
                                                                          1_500, 1)
    assert decision.detail.startswith("rate limited: ")


# -- the retry horizon at its boundary, and the history ---------------------------------------


def test_transient_failures_for_exactly_the_horizon_are_dead_lettered(deps, ghl):
    ghl.fail("upsert_contact", server_error())
    decision = process(created(), deps, since_ms=NOW_MS - HORIZON_S * 1000,
                       history=["2001-09-09T01:45:00+00:00 boom"])
    assert decision.kind == "dead_lettered"
    assert (f"gave up after {HORIZON_S} s of transient failures "
            f"(GHL_RETRY_HORIZON_S={HORIZON_S}): ") in decision.detail
    entry = DeadLetterStore(deps.redis, deps.prefix).get("e1")
    assert entry.kind == "horizon"
    assert entry.history[0] == "2001-09-09T01:45:00+00:00 boom"
    assert entry.history[-1].startswith(NOW_ISO)


def test_transient_failures_a_millisecond_short_of_the_horizon_still_wait(deps, ghl):
    ghl.fail("upsert_contact", server_error())
    decision = process(created(), deps, since_ms=NOW_MS - HORIZON_S * 1000 + 1)
    assert decision.kind == "retry" and decision.since_ms == NOW_MS - HORIZON_S * 1000 + 1


def test_the_history_keeps_the_last_failures_only(deps, ghl):
    ghl.fail("upsert_contact", server_error())
    older = [f"2001-09-09T01:{m:02d}:00+00:00 boom" for m in range(HISTORY_KEEP + 3)]
    decision = process(created(), deps, failures=1, since_ms=NOW_MS - 1_000, history=older)
    assert len(decision.history) == HISTORY_KEEP
    assert decision.history[:-1] == tuple(older[-(HISTORY_KEEP - 1):])


@pytest.mark.parametrize(("error", "kind"), [
    (GhlNotFoundError("Contact not found", status=404, method="PUT", path="/contacts/x"),
     "retries_exhausted"),
    (ValueError("a bug"), "internal"),
])
def test_the_last_attempt_dead_letters_naming_what_failed(deps, ghl, error, kind):
    ghl.fail("upsert_contact", error)
    decision = process(created(), deps, failures=2, since_ms=NOW_MS - 1_000)
    assert decision.kind == "dead_lettered"
    assert DeadLetterStore(deps.redis, deps.prefix).get("e1").kind == kind
    assert "gave up after 3 attempts: " in decision.detail


def test_an_unexpected_error_is_retried_and_logged_with_its_traceback(deps, ghl):
    ghl.fail("upsert_contact", ValueError("a bug"))
    with structlog.testing.capture_logs() as logs:
        decision = process(created(), deps)
    assert (decision.kind, decision.failures, decision.detail) == ("retry", 1,
                                                                   "ValueError: a bug")
    assert decision.since_ms is None  # a bug is not a transient GHL failure: no horizon
    assert decision.retry_in_ms == backoff_ms(0, base_ms=500, cap_ms=60_000, rand=lambda: 0.5)
    (line,) = [x for x in logs if x["event"] == "handler failed unexpectedly; will retry"]
    assert line["attempt"] == 1 and line["log_level"] == "error"


def test_a_handled_event_delivered_again_without_the_scope_is_a_duplicate_not_a_dead_letter(
        deps, ghl):
    # Given an event applied while the scope was granted
    assert process(created(), deps).kind == "applied"
    # When it is delivered again after the scope was withdrawn
    read_only = PipelineDeps(settings=Settings(ghl_token="tok", ghl_location_id="loc"),
                             redis=deps.redis, client=ghl, field_map=deps.field_map,
                             rand=lambda: 0.5, now_ms=lambda: NOW_MS)
    with structlog.testing.capture_logs() as logs:
        again = process(created(), read_only)
    # Then it is skipped as the duplicate it is, counted and logged so, and not dead-lettered
    assert (again.kind, again.detail) == ("skipped", "duplicate: event already applied")
    assert DeadLetterStore(deps.redis, deps.prefix).count() == 0
    assert counts(deps)["skipped"] == 1 and counts(deps)["applied"] == 1
    (line,) = [x for x in logs if x["event"] == "event skipped"]
    assert line["detail"] == again.detail
