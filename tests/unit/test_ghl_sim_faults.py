"""GHL simulator: injected server errors, lost answers and latency."""

from __future__ import annotations

import time

import pytest

from simulators.ghl.testing import GhlTestClient, make_api

LOC = "locAAAAAAAAAAAAAAAAA"


def make(**config) -> GhlTestClient:
    api = make_api(LOC, **config)
    api.sim.add_calendar(LOC, "cal1")
    return api


def objects(api: GhlTestClient, kind: str) -> list[dict]:
    return api.sim.state()["locations"][LOC][kind]


def test_error_rate_one_answers_5xx_and_writes_nothing():
    api = make(error_rate=1.0)
    answers = [api.post("/contacts/", {"locationId": LOC, "email": f"{i}@example.com"})
               for i in range(10)]
    assert {a.status_code for a in answers} <= {500, 502, 503}
    assert all(a.json["statusCode"] == a.status_code for a in answers)
    assert all("X-RateLimit-Remaining" in a.headers for a in answers)  # counted on arrival
    assert objects(api, "contacts") == []
    assert api.sim.stats_snapshot()["injected_5xx"] == 10


def test_error_rate_fails_even_requests_that_would_be_refused_otherwise():
    api = make(error_rate=1.0)
    answer = api.post("/contacts/", {"locationId": LOC, "nonsense": True})
    assert answer.status_code in (500, 502, 503)


def test_lost_answer_rate_one_keeps_the_write_and_answers_504():
    api = make(lost_answer_rate=1.0)
    answer = api.post("/contacts/", {"locationId": LOC, "email": "a@example.com"})
    assert answer.status_code == 504
    assert answer.json["statusCode"] == 504
    assert [c["email"] for c in objects(api, "contacts")] == ["a@example.com"]
    assert api.sim.stats_snapshot()["lost_answers"] == 1


def test_a_retried_create_after_a_lost_answer_meets_the_duplicate_rule():
    api = make(lost_answer_rate=1.0)
    api.post("/contacts/", {"locationId": LOC, "email": "a@example.com"})
    api.sim.update_config(lost_answer_rate=0.0)
    retry = api.post("/contacts/", {"locationId": LOC, "email": "a@example.com"})
    assert retry.status_code == 400
    assert retry.json["meta"]["contactId"] == objects(api, "contacts")[0]["id"]


@pytest.mark.parametrize(
    ("method", "path", "body", "kind"),
    [
        ("POST", "/contacts/upsert", {"locationId": LOC, "email": "a@example.com"}, "contacts"),
        ("POST", "/calendars/events/appointments", "appointment", "appointments"),
        ("POST", "/contacts/{cid}/notes", {"body": "x"}, "notes"),
        ("POST", "/contacts/{cid}/tasks",
         {"title": "t", "dueDate": "2026-01-01T00:00:00Z", "completed": False}, "tasks"),
    ],
)
def test_every_write_can_lose_its_answer(method, path, body, kind):
    api = make()
    cid = api.post("/contacts/", {"locationId": LOC, "phone": "+15125550100"}).json[
        "contact"]["id"]
    if body == "appointment":
        body = {"calendarId": "cal1", "locationId": LOC, "contactId": cid,
                "startTime": "2026-12-01T10:00:00Z"}
    api.sim.update_config(lost_answer_rate=1.0)
    answer = api.call(method, path.format(cid=cid), body)
    assert answer.status_code == 504
    assert len(objects(api, kind)) == (2 if kind == "contacts" else 1)


def test_reads_and_refused_writes_never_lose_their_answer():
    api = make(lost_answer_rate=1.0)
    assert api.get("/contacts/", query={"locationId": LOC}).status_code == 200
    assert api.post("/contacts/search", {"locationId": LOC, "pageLimit": 5}).status_code == 200
    assert api.post("/contacts/", {"locationId": LOC, "bad": 1}).status_code == 422
    assert api.sim.stats_snapshot()["lost_answers"] == 0


def test_a_seed_repeats_the_same_faults():
    def statuses(seed: int) -> list[int]:
        api = make(error_rate=0.5, seed=seed)
        return [api.get("/contacts/", query={"locationId": LOC}).status_code for _ in range(30)]

    first = statuses(7)
    assert first == statuses(7)
    assert 200 in first and set(first) - {200}


def test_latency_delays_each_request():
    api = make(latency_ms=60)
    started = time.monotonic()
    api.get("/contacts/", query={"locationId": LOC})
    assert time.monotonic() - started >= 0.06
