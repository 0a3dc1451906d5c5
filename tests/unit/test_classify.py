"""classify: every error a delivery can meet, and what the worker then does with the event
(park: how long, why, counted or not; dead letter: which kind, with which history). The
dry run reaches the same verdict: it runs the worker's pipeline."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from clients.ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlDuplicateContactError,
    GhlError,
    GhlNotFoundError,
    GhlPermissionError,
    GhlRateLimitedError,
    GhlScopeError,
    GhlServerError,
    GhlTokenScopeError,
    GhlValidationError,
    error_from_response,
)
from clients.ghl.retry import RetryPolicy
from toky_ghl.settings import Settings
from worker.auth.errors import AuthUnavailable, CredentialsRefused, LocationPaused, SaveRefused
from worker.circuit import CircuitOpen
from worker.classify import (
    CHANGED_RETRY_MS,
    JITTER_MS,
    PAUSE_RECHECK_MS,
    Action,
    Attempt,
    FailurePolicy,
    History,
    Wait,
    changed_credentials,
    classify,
    credentials,
)
from worker.delay.reasons import ParkReason
from worker.dlq import DeadKind
from worker.sync.outcome import Deferred, Unprocessable

NOW_MS = 1_000_000_000_000
POLICY = FailurePolicy(RetryPolicy(max_attempts=3, base_ms=500, cap_ms=60_000), horizon_s=100)
FIRST = Attempt(failures=0, since_ms=None, now_ms=NOW_MS)
LAST = Attempt(failures=2, since_ms=NOW_MS - 1000, now_ms=NOW_MS)  # the third of three


def parked(verdict, reason: ParkReason, wait: Wait, *, failed: bool, transient: bool) -> bool:
    return (verdict.action, verdict.park_reason, verdict.wait, verdict.failed,
            verdict.transient) == (Action.PARK, reason, wait, failed, transient)


def dead(verdict, kind: DeadKind, history: History) -> bool:
    return (verdict.action, verdict.dead_kind, verdict.history) == (Action.DEAD, kind, history)


def answer(status: int, message: str, **headers: str):
    import requests

    response = requests.Response()
    response.status_code = status
    response._content = f'{{"message": "{message}"}}'.encode()
    response.headers = CaseInsensitiveDict(headers)
    return response


# --- waiting is not failing -------------------------------------------------------------

def test_a_rate_limited_call_waits_as_long_as_ghl_asks_and_is_no_failure():
    error = GhlRateLimitedError("slow down", retry_after_ms=5000)
    verdict = classify(error, LAST, POLICY)  # even on what would be the last attempt
    assert parked(verdict, ParkReason.RATE, Wait(5000), failed=False, transient=True)
    assert verdict.detail.startswith("rate limited: ")


def test_a_rate_limit_wait_is_the_window_without_retry_after_and_never_above_the_cap():
    window = GhlRateLimitedError("x", interval_ms=10_000)
    assert classify(window, FIRST, POLICY).wait == Wait(10_000)
    too_long = GhlRateLimitedError("x", retry_after_ms=3_600_000)
    assert classify(too_long, FIRST, POLICY).wait == Wait(60_000)
    unsaid = GhlRateLimitedError("x")
    assert classify(unsaid, FIRST, POLICY).wait == Wait(backoff=True)


def test_a_spent_daily_budget_waits_for_its_gate():
    error = GhlRateLimitedError("day over", retry_after_ms=None, daily=True)
    verdict = classify(error, FIRST, POLICY)
    assert parked(verdict, ParkReason.DAILY, Wait(60_000), failed=False, transient=True)
    assert verdict.detail.startswith("daily budget spent: ")


def test_an_open_circuit_waits_for_the_next_probe():
    verdict = classify(CircuitOpen("loc", NOW_MS + 7000), FIRST, POLICY)
    assert parked(verdict, ParkReason.CIRCUIT, Wait(7000), failed=False, transient=True)
    past = classify(CircuitOpen("loc", NOW_MS - 5), FIRST, POLICY)
    assert past.wait == Wait(0)


def test_a_lock_held_elsewhere_waits_its_time_uncounted_and_without_horizon():
    verdict = classify(Deferred("phone locked", retry_after_ms=2000), LAST, POLICY)
    assert parked(verdict, ParkReason.BACKOFF, Wait(2000, JITTER_MS), failed=False,
                  transient=False)


def test_a_paused_location_waits_for_the_recheck():
    verdict = classify(LocationPaused("loc", "refused"), FIRST, POLICY)
    assert parked(verdict, ParkReason.AUTH, Wait(PAUSE_RECHECK_MS, JITTER_MS), failed=False,
                  transient=True)


# --- transient failures: counted, parked until the horizon -------------------------------

@pytest.mark.parametrize("error", [
    GhlServerError("boom", status=503),
    GhlConnectionError("timeout", maybe_sent=True),
    GhlConnectionError("refused", maybe_sent=False),
])
def test_server_and_connection_errors_back_off_and_count(error):
    verdict = classify(error, LAST, POLICY)  # the attempts do not end them: the horizon does
    assert parked(verdict, ParkReason.BACKOFF, Wait(backoff=True), failed=True, transient=True)
    assert verdict.detail == str(error)


def test_an_unreachable_token_endpoint_backs_off_and_counts():
    verdict = classify(AuthUnavailable("503 from /oauth/token"), FIRST, POLICY)
    assert parked(verdict, ParkReason.AUTH, Wait(backoff=True), failed=True, transient=True)
    told = classify(SaveRefused("lock lost", retry_after_ms=300), FIRST, POLICY)
    assert told.wait == Wait(300)


def test_past_the_horizon_a_transient_failure_is_dead_lettered_with_its_history():
    # Given transient failures that began exactly the horizon ago
    attempt = Attempt(failures=1, since_ms=NOW_MS - 100_000, now_ms=NOW_MS)
    verdict = classify(GhlServerError("boom", status=502), attempt, POLICY)
    # Then it is a dead letter naming how long it tried, this failure joining the history
    assert dead(verdict, DeadKind.HORIZON, History.WITH_THIS)
    assert verdict.detail == ("gave up after 100 s of transient failures "
                              "(GHL_RETRY_HORIZON_S=100): GHL 502: boom")
    assert verdict.history_entry == "GHL 502: boom"
    # and a millisecond earlier it is still parked
    earlier = Attempt(failures=1, since_ms=NOW_MS - 99_999, now_ms=NOW_MS)
    assert classify(GhlServerError("boom", status=502), earlier, POLICY).action is Action.PARK


def test_the_horizon_counts_from_now_when_nothing_failed_before():
    assert classify(GhlServerError("x", status=500), FIRST, POLICY).action is Action.PARK


def test_waits_that_are_not_transient_never_meet_the_horizon():
    long_ago = Attempt(failures=0, since_ms=NOW_MS - 10**9, now_ms=NOW_MS)
    verdict = classify(Deferred("locked", retry_after_ms=10), long_ago, POLICY)
    assert verdict.action is Action.PARK


# --- answers that will not change: dead letters ------------------------------------------

@pytest.mark.parametrize("error", [
    GhlValidationError("bad email", status=422),
    GhlPermissionError("not yours", status=403),
    GhlDuplicateContactError("dup", status=400),
    GhlError("conflict", status=409),
])
def test_a_refused_request_is_dead_lettered_as_rejected(error):
    verdict = classify(error, FIRST, POLICY)
    assert dead(verdict, DeadKind.REJECTED, History.EARLIER)
    assert verdict.detail == f"GHL rejected the event: {error}"


def test_a_scope_refused_before_sending_is_dead_lettered_as_scope():
    error = GhlScopeError("calendars/events.write", method="POST", path="/calendars/x")
    verdict = classify(error, FIRST, POLICY)
    assert dead(verdict, DeadKind.SCOPE, History.NONE) and verdict.detail == str(error)


def test_an_unprocessable_event_is_dead_lettered_at_once():
    verdict = classify(Unprocessable("GHL_CALENDAR_ID is not set"), FIRST, POLICY)
    assert dead(verdict, DeadKind.UNPROCESSABLE, History.NONE)


# --- failures that count as attempts ------------------------------------------------------

@pytest.mark.parametrize(("error", "kind"), [
    (GhlNotFoundError("gone", status=404), DeadKind.RETRIES_EXHAUSTED),
    (Deferred("no task yet"), DeadKind.DEFERRED),
    (ValueError("a bug"), DeadKind.INTERNAL),
])
def test_attempts_back_off_then_dead_letter_when_they_run_out(error, kind):
    first = classify(error, FIRST, POLICY)
    assert parked(first, ParkReason.BACKOFF, Wait(backoff=True), failed=True, transient=False)
    last = classify(error, LAST, POLICY)
    assert dead(last, kind, History.WITH_THIS)
    assert last.detail.startswith("gave up after 3 attempts: ")


def test_an_error_of_our_own_is_named_by_its_type_and_flagged_unexpected():
    verdict = classify(KeyError("phone"), FIRST, POLICY)
    assert verdict.detail == "KeyError: 'phone'" and verdict.unexpected
    assert not classify(GhlNotFoundError("gone", status=404), FIRST, POLICY).unexpected


# --- credentials ------------------------------------------------------------------------

def test_a_401_asks_the_token_provider():
    assert classify(GhlAuthError("Invalid JWT", status=401), FIRST, POLICY).action \
        is Action.REFRESH


def test_a_401_naming_a_scope_is_recognised_by_its_type_and_dead_lettered():
    error = error_from_response(answer(401, "The token is not authorized for this scope."),
                                "POST", "/contacts/upsert")
    assert type(error) is GhlTokenScopeError
    verdict = classify(error, FIRST, POLICY)
    assert dead(verdict, DeadKind.SCOPE, History.EARLIER)
    assert "lacks the scope" in verdict.detail
    plain = error_from_response(answer(401, "Invalid JWT"), "POST", "/contacts/upsert")
    assert type(plain) is GhlAuthError


def test_refused_credentials_are_dead_lettered_as_auth():
    verdict = classify(CredentialsRefused("GHL refused the refresh grant"), FIRST, POLICY)
    assert dead(verdict, DeadKind.AUTH, History.EARLIER)
    assert "toky-ghl dlq replay --all" in verdict.detail


def test_without_credentials_to_refresh_a_401_is_tried_once_more():
    error = GhlAuthError("Invalid JWT", status=401)
    once = credentials(error, FIRST, 3, refreshable=False)
    assert parked(once, ParkReason.AUTH, Wait(1000), failed=True, transient=False)
    again = credentials(error, Attempt(failures=1), 3, refreshable=False)
    assert dead(again, DeadKind.AUTH, History.EARLIER)


def test_what_the_provider_says_after_a_401_keeps_the_auth_gate():
    paused = credentials(LocationPaused("loc", "refused"), FIRST, 3, refreshable=False)
    assert parked(paused, ParkReason.AUTH, Wait(PAUSE_RECHECK_MS, JITTER_MS), failed=False,
                  transient=False)
    down = credentials(AuthUnavailable("503"), FIRST, 3, refreshable=False)
    assert parked(down, ParkReason.AUTH, Wait(backoff=True), failed=True, transient=False)
    assert dead(credentials(AuthUnavailable("503"), LAST, 3, refreshable=False),
                DeadKind.AUTH, History.EARLIER)
    changed = changed_credentials(GhlAuthError("Invalid JWT", status=401), "newer credentials")
    assert parked(changed, ParkReason.AUTH, Wait(CHANGED_RETRY_MS, JITTER_MS), failed=False,
                  transient=False)


# --- the function itself ------------------------------------------------------------------

def test_classify_is_pure_the_same_inputs_give_the_same_verdict():
    error = GhlRateLimitedError("x")
    assert classify(error, FIRST, POLICY) == classify(error, FIRST, POLICY)


def test_a_wait_draws_its_randomness_only_when_resolved():
    assert Wait(100, 250).resolve_ms(lambda: 0.5, lambda: 7) == 225
    assert Wait(100).resolve_ms(lambda: 0.5, lambda: 7) == 100
    assert Wait(backoff=True).resolve_ms(lambda: 0.5, lambda: 7) == 7


def test_the_policy_is_the_settings():
    settings = Settings(ghl_retry_max_attempts=4, ghl_backoff_base_ms=200,
                        ghl_backoff_cap_ms=9000, ghl_retry_horizon_s=60)
    assert FailurePolicy.from_settings(settings) == FailurePolicy(
        RetryPolicy(max_attempts=4, base_ms=200, cap_ms=9000), horizon_s=60)


def test_the_dry_run_reports_a_rate_limited_event_as_the_pipeline_parks_it():
    # Given a dry run whose simulated GHL has spent the location's rate window
    from worker.dryrun import DryRun
    from worker.fieldmap import load_field_map

    dry = DryRun(Settings(ghl_location_id="loc"), load_field_map(None))
    try:
        dry.sim.update_config(max_requests=1, interval_ms=3_600_000)
        assert dry.sim.admit("loc").allowed
        result = dry.apply({"id": "e1", "type": "contact.created",
                            "occurred_at": "2026-11-02T09:00:00Z",
                            "data": {"phone": "+15125550101"}})
    finally:
        dry.close()
    # Then it says the worker would park it for the rate window, not dead-letter it
    assert result.kind == "retry" and result.detail.startswith("rate limited: ")
