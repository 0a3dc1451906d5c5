"""The pipeline and refused credentials: a 401 that persists dead-letters the event and
pauses the location; while paused nothing is sent and events wait (never lost); a new
credential lifts the pause; ``toky-ghl status`` shows the pause and why."""

from __future__ import annotations

import fakeredis
import pytest
import responses
from responses import matchers

from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlAuthError
from tests.unit.auth_support import BASE, LOC, make_settings, provider, store_oauth
from worker.auth.bootstrap import build_token_provider
from worker.auth.decide import PAUSE_RECHECK_MS, decide
from worker.auth.errors import AuthUnavailable
from worker.auth.manage import resume, rotate_pit
from worker.dlq import DeadLetterStore
from worker.fieldmap import load_field_map
from worker.pipeline import PipelineDeps, process
from worker.status import collect_status, format_status

UPSERT = f"{BASE}/contacts/upsert"
PIT = {"ghl_client_id": None, "ghl_client_secret": None, "ghl_token": "pit-env-0001",
       "ghl_backoff_cap_ms": 60_000, "visibility_timeout_s": 1800}


def contact_event(n: int) -> dict:
    return {"id": f"evt-{n}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"phone": f"+1512555{n:04d}", "contact_name": f"Person {n}"}}


@pytest.fixture
def world():
    redis = fakeredis.FakeRedis()
    settings = make_settings(**PIT)
    prov = build_token_provider(settings, redis)
    client = GhlClient(base_url=BASE, token=prov, location_id=LOC, scopes=settings.ghl_scopes)
    deps = PipelineDeps(settings=settings, redis=redis, client=client,
                        field_map=load_field_map(None), rand=lambda: 0.0, auth=prov)
    return deps


def upsert_answer(token: str, status: int = 200):
    body = ({"new": True, "contact": {"id": "c1", "tags": []}, "traceId": "t"} if status == 200
            else {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"})
    return dict(method=responses.POST, url=UPSERT, status=status, json=body,
                match=[matchers.header_matcher({"Authorization": f"Bearer {token}"})])


def test_a_persistent_401_dead_letters_the_event_and_pauses_sending(world):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(**upsert_answer("pit-env-0001", 401))
        # When GHL refuses the only token there is
        decision = process(contact_event(1), world)
        # Then the event is dead-lettered with a clear reason
        assert decision.kind == "dead_lettered"
        assert "GHL refused GHL_TOKEN" in decision.detail and "paused" in decision.detail
        letter = DeadLetterStore(world.redis, "t").get("evt-1")
        assert letter.kind == "auth" and "pit-env-0001" not in letter.reason
        # and the next events are re-scheduled without any call to GHL (strict stub)
        later = [process(contact_event(n), world) for n in (2, 3, 4)]
        assert [d.kind for d in later] == ["retry"] * 3
        assert all(d.retry_in_ms >= PAUSE_RECHECK_MS and d.failures == 0 for d in later)
        assert len(rsps.calls) == 1


def test_status_shows_the_pause_and_why(world):
    with responses.RequestsMock() as rsps:
        rsps.add(**upsert_answer("pit-env-0001", 401))
        process(contact_event(1), world)
    report = collect_status(world.redis, world.settings)
    assert report["paused"]["location"] == LOC and report["paused"]["current"] is True
    assert "GHL refused GHL_TOKEN" in report["paused"]["reason"]
    text = format_status(report)
    assert "paused        YES since" in text and "GHL refused GHL_TOKEN" in text
    assert "pit-env-0001" not in text


def test_status_says_not_paused_otherwise(world):
    assert collect_status(world.redis, world.settings)["paused"] is None
    assert "paused        no" in format_status(collect_status(world.redis, world.settings))


def test_a_rotation_lifts_the_pause_and_the_waiting_events_go_through(world):
    with responses.RequestsMock() as rsps:
        rsps.add(**upsert_answer("pit-env-0001", 401))
        process(contact_event(1), world)
        assert process(contact_event(2), world).kind == "retry"
    # When a new token is rotated in
    rotate_pit(world.settings, world.redis, "pit-new-0002")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(**upsert_answer("pit-new-0002"))
        # Then the waiting event is applied with it
        assert process(contact_event(2), world).kind == "applied"
    assert collect_status(world.redis, world.settings)["paused"] is None


def test_resume_lifts_a_pause_by_hand(world):
    with responses.RequestsMock() as rsps:
        rsps.add(**upsert_answer("pit-env-0001", 401))
        process(contact_event(1), world)
    assert resume(world.settings, world.redis) is True
    assert resume(world.settings, world.redis) is False


def test_an_oauth_401_refreshes_once_and_the_event_is_retried_not_failed(world):
    # Given OAuth credentials that GHL refuses although they are not expired
    settings = make_settings(ghl_backoff_cap_ms=60_000)
    prov = provider(settings, world.redis)
    store_oauth(prov, access="at-revoked", refresh="rt-1", expires_in_s=3600)
    deps = PipelineDeps(settings=settings, redis=world.redis, field_map=world.field_map,
                        client=GhlClient(base_url=BASE, token=prov, location_id=LOC,
                                         scopes=settings.ghl_scopes),
                        rand=lambda: 0.0, auth=prov)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(**upsert_answer("at-revoked", 401))
        rsps.post(f"{BASE}/oauth/token", json={"access_token": "at-good", "expires_in": 3600,
                                               "refresh_token": "rt-2"})
        # When an event meets the 401
        first = process(contact_event(1), deps)
        # Then: a prompt retry that is not counted as a failure
        assert first.kind == "retry" and first.failures == 0 and first.retry_in_ms < 1000
        assert "refreshed the OAuth token" in first.detail
        rsps.add(**upsert_answer("at-good"))
        assert process(contact_event(1), deps).kind == "applied"


def test_a_401_naming_a_scope_is_dead_lettered_without_pausing(world):
    with responses.RequestsMock() as rsps:
        rsps.post(UPSERT, status=401,
                  json={"statusCode": 401, "message": "The token is not authorized for this "
                                                      "scope."})
        decision = process(contact_event(1), world)
    assert decision.kind == "dead_lettered"
    assert DeadLetterStore(world.redis, "t").get("evt-1").kind == "scope"
    assert collect_status(world.redis, world.settings)["paused"] is None


def test_an_unreachable_token_endpoint_backs_off_and_finally_dead_letters():
    error = AuthUnavailable("GHL answered 503 to the refresh grant", retry_after_ms=None)
    common = dict(provider=None, max_attempts=3, backoff_ms=lambda: 777, rand=lambda: 0.0)
    first = decide(error, failures=0, **common)
    assert (first.action, first.wait_ms, first.failed) == ("retry", 777, True)
    last = decide(error, failures=2, **common)
    assert last.action == "dead" and "gave up after 3 attempts" in last.detail


def test_without_a_location_a_401_is_tried_once_more_then_dead_lettered():
    error = GhlAuthError("Invalid JWT", status=401)
    common = dict(provider=None, max_attempts=8, backoff_ms=lambda: 1, rand=lambda: 0.0)
    assert decide(error, failures=0, **common).action == "retry"
    assert decide(error, failures=1, **common).action == "dead"
