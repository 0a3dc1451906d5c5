"""GhlClient against a STRICT HTTP stub: any request not registered fails the test."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

import pytest
import requests
import responses
import structlog
from responses import matchers

from clients.ghl.client import GhlClient
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
    GhlValidationError,
)

BASE = "https://ghl.test"
TOKEN = "pit-SECRET-0123456789"
LOC = "loc123"
ALL_SCOPES = {"contacts.readonly", "contacts.write", "calendars/events.readonly",
              "calendars/events.write", "users.readonly"}
CONTACTS_V = "2021-07-28"
CALENDARS_V = "2021-04-15"


@dataclass
class FakeGrant:
    ok: bool
    wait_ms: int = 0


@dataclass
class FakeLimiter:
    """Hands out the queued grants (then ok ones) and records every call."""

    grants: list[FakeGrant] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)

    def acquire(self, location_id):
        self.events.append(("acquire", location_id))
        return self.grants.pop(0) if self.grants else FakeGrant(ok=True)

    def release(self, grant):
        self.events.append(("release", grant))

    def observe(self, location_id, headers):
        self.events.append(("observe", location_id, dict(headers)))


@pytest.fixture
def stub():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def make_client(**overrides) -> GhlClient:
    kwargs = {"base_url": BASE, "token": TOKEN, "location_id": LOC, "scopes": ALL_SCOPES,
              "sleep": lambda s: pytest.fail(f"unexpected sleep({s})")}
    kwargs.update(overrides)
    return GhlClient(**kwargs)


def expect_headers(version: str, token: str = TOKEN):
    return matchers.header_matcher(
        {"Authorization": f"Bearer {token}", "Version": version, "Accept": "application/json"}
    )


CONTACT = {"id": "c1", "locationId": LOC, "email": "a@b.co", "tags": ["x"]}
TASK = {"id": "t1", "title": "Call back", "completed": False}
NOTE = {"id": "n1", "body": "hello"}
EVENT = {"id": "e1", "calendarId": "cal1", "contactId": "c1"}

# (name, call, method, path, query, request json, status, answer, expected return)
ENDPOINTS = [
    ("get_contact", lambda c: c.get_contact("c1"), "GET", "/contacts/c1", None, None,
     200, {"contact": CONTACT}, CONTACT),
    ("list_contacts", lambda c: c.list_contacts(query="ann", limit=50, start_after_id="c0",
                                                start_after_ms=1700000000000),
     "GET", "/contacts/", {"locationId": LOC, "query": "ann", "limit": "50",
                           "startAfterId": "c0", "startAfter": "1700000000000"}, None,
     200, {"contacts": [CONTACT], "count": 1}, {"contacts": [CONTACT], "count": 1}),
    ("search_contacts", lambda c: c.search_contacts({"query": "ann", "pageLimit": 10}),
     "POST", "/contacts/search", None, {"query": "ann", "pageLimit": 10, "locationId": LOC},
     200, {"contacts": [CONTACT], "total": 1}, {"contacts": [CONTACT], "total": 1}),
    ("contacts_by_business", lambda c: c.contacts_by_business("b1", limit=5, skip=10),
     "GET", "/contacts/business/b1", {"locationId": LOC, "limit": "5", "skip": "10"}, None,
     200, {"contacts": [], "count": 0}, {"contacts": [], "count": 0}),
    ("search_duplicate", lambda c: c.search_duplicate(number="+15550001", email="a+b@c.co"),
     "GET", "/contacts/search/duplicate",
     {"locationId": LOC, "number": "+15550001", "email": "a+b@c.co"}, None,
     200, {"contact": CONTACT}, CONTACT),
    ("create_contact", lambda c: c.create_contact({"email": "a@b.co"}),
     "POST", "/contacts/", None, {"email": "a@b.co", "locationId": LOC},
     201, {"contact": CONTACT}, CONTACT),
    ("update_contact", lambda c: c.update_contact("c1", {"email": "a@b.co", "locationId": "x"}),
     "PUT", "/contacts/c1", None, {"email": "a@b.co"},
     200, {"succeded": True, "contact": CONTACT}, CONTACT),
    ("delete_contact", lambda c: c.delete_contact("c1"), "DELETE", "/contacts/c1", None, None,
     200, {"succeded": True}, None),
    ("add_tags", lambda c: c.add_tags("c1", ["vip", "lead"]), "POST", "/contacts/c1/tags",
     None, {"tags": ["vip", "lead"]}, 201, {"tags": ["x", "vip", "lead"]}, ["x", "vip", "lead"]),
    ("remove_tags", lambda c: c.remove_tags("c1", ["vip"]), "DELETE", "/contacts/c1/tags",
     None, {"tags": ["vip"]}, 200, {"tags": ["x"]}, ["x"]),
    ("list_tasks", lambda c: c.list_tasks("c1"), "GET", "/contacts/c1/tasks", None, None,
     200, {"tasks": [TASK]}, [TASK]),
    ("get_task", lambda c: c.get_task("c1", "t1"), "GET", "/contacts/c1/tasks/t1", None, None,
     200, {"task": TASK}, TASK),
    ("create_task", lambda c: c.create_task("c1", {"title": "Call back", "completed": False,
                                                   "dueDate": "2026-01-01T10:00:00Z"}),
     "POST", "/contacts/c1/tasks", None,
     {"title": "Call back", "completed": False, "dueDate": "2026-01-01T10:00:00Z"},
     201, {"task": TASK}, TASK),
    ("update_task", lambda c: c.update_task("c1", "t1", {"title": "New"}),
     "PUT", "/contacts/c1/tasks/t1", None, {"title": "New"}, 200, {"task": TASK}, TASK),
    ("complete_task", lambda c: c.complete_task("c1", "t1"),
     "PUT", "/contacts/c1/tasks/t1/completed", None, {"completed": True},
     200, {"task": TASK}, TASK),
    ("reopen_task", lambda c: c.complete_task("c1", "t1", completed=False),
     "PUT", "/contacts/c1/tasks/t1/completed", None, {"completed": False},
     200, {"task": TASK}, TASK),
    ("delete_task", lambda c: c.delete_task("c1", "t1"), "DELETE", "/contacts/c1/tasks/t1",
     None, None, 200, {"succeded": True}, None),
    ("list_notes", lambda c: c.list_notes("c1"), "GET", "/contacts/c1/notes", None, None,
     200, {"notes": [NOTE]}, [NOTE]),
    ("get_note", lambda c: c.get_note("c1", "n1"), "GET", "/contacts/c1/notes/n1", None, None,
     200, {"note": NOTE}, NOTE),
    ("create_note", lambda c: c.create_note("c1", {"body": "hello"}),
     "POST", "/contacts/c1/notes", None, {"body": "hello"}, 201, {"note": NOTE}, NOTE),
    ("update_note", lambda c: c.update_note("c1", "n1", {"body": "hi"}),
     "PUT", "/contacts/c1/notes/n1", None, {"body": "hi"}, 200, {"note": NOTE}, NOTE),
    ("delete_note", lambda c: c.delete_note("c1", "n1"), "DELETE", "/contacts/c1/notes/n1",
     None, None, 200, {"succeded": True}, None),
    ("list_contact_appointments", lambda c: c.list_contact_appointments("c1"),
     "GET", "/contacts/c1/appointments", None, None, 200, {"events": [EVENT]}, [EVENT]),
    ("create_appointment", lambda c: c.create_appointment(
        {"calendarId": "cal1", "contactId": "c1", "startTime": "2026-01-01T10:00:00+00:00"}),
     "POST", "/calendars/events/appointments", None,
     {"calendarId": "cal1", "contactId": "c1", "startTime": "2026-01-01T10:00:00+00:00",
      "locationId": LOC}, 200, EVENT, EVENT),
    ("update_appointment", lambda c: c.update_appointment("e1", {"title": "Demo"}),
     "PUT", "/calendars/events/appointments/e1", None, {"title": "Demo"}, 200, EVENT, EVENT),
    ("get_appointment", lambda c: c.get_appointment("e1"),
     "GET", "/calendars/events/appointments/e1", None, None, 200, {"event": EVENT}, EVENT),
    ("list_users", lambda c: c.list_users(), "GET", "/users/", {"locationId": LOC}, None,
     200, {"users": [{"id": "u1"}]}, [{"id": "u1"}]),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "sent", "status", "answer", "expected"),
    [e[1:] for e in ENDPOINTS], ids=[e[0] for e in ENDPOINTS],
)
def test_each_endpoint_sends_exactly_the_documented_request(
    stub, call, method, path, query, sent, status, answer, expected
):
    # Given a stub that only knows this exact request
    version = CALENDARS_V if path.startswith("/calendars/") else CONTACTS_V
    match = [expect_headers(version), matchers.query_param_matcher(query or {})]
    if sent is not None:
        match.append(matchers.json_params_matcher(sent))
    stub.add(method, BASE + path, json=answer, status=status, match=match)
    # When the client method is called
    result = call(make_client())
    # Then it returns the object, not the envelope, and sent no body when none is due
    assert result == expected
    if sent is None:
        assert stub.calls[0].request.body is None


def test_upsert_returns_the_contact_and_whether_it_is_new(stub):
    # Given GHL answers an upsert that created the contact
    stub.post(BASE + "/contacts/upsert", status=200,
              json={"new": True, "contact": CONTACT, "traceId": "tr-1"},
              match=[expect_headers(CONTACTS_V),
                     matchers.json_params_matcher({"email": "a@b.co", "locationId": LOC})])
    stub.post(BASE + "/contacts/upsert", status=200,
              json={"new": False, "contact": CONTACT, "traceId": "tr-2"})
    client = make_client()
    # When upserting twice
    first = client.upsert_contact({"email": "a@b.co"})
    second = client.upsert_contact({"email": "a@b.co"})
    # Then the flag follows the answer
    assert first == (CONTACT, True)
    assert second == (CONTACT, False)


def test_search_duplicate_returns_none_when_ghl_finds_nothing(stub):
    # Given GHL answers with a null contact
    stub.get(BASE + "/contacts/search/duplicate", json={"contact": None})
    # When searching
    found = make_client().search_duplicate(email="nobody@x.co")
    # Then there is no duplicate
    assert found is None


def test_search_duplicate_needs_a_number_or_an_email(stub):
    # Given / When / Then: nothing is sent for an empty search
    with pytest.raises(ValueError, match="number or an email"):
        make_client().search_duplicate()


@pytest.mark.parametrize("bad_id", ["", " ", ".", "..", "a/b", "a?b=1", "%2e%2e", "x" * 65,
                                    "ve9EPM428h8v\nX"])
def test_ids_outside_ghls_character_set_are_refused_before_any_request(stub, bad_id):
    # Given an id that would address another route (empty, a dot step, a slash, a query)
    client = make_client()
    # When / Then: it is refused naming the id, and nothing is sent
    with pytest.raises(ValueError, match="contact_id must be a GHL id"):
        client.get_contact(bad_id)
    with pytest.raises(ValueError, match="task_id must be a GHL id"):
        client.update_task("ve9EPM428h8vShlRW1KT", bad_id, {"title": "x"})
    assert len(stub.calls) == 0


def test_a_ghl_id_is_sent_as_one_segment(stub):
    # Given GHL's 20-character id
    stub.get(BASE + "/contacts/ve9EPM428h8vShlRW1KT", json={"contact": CONTACT})
    # When / Then: it addresses that contact
    assert make_client().get_contact("ve9EPM428h8vShlRW1KT") == CONTACT


def test_iter_contacts_follows_the_meta_cursor_until_a_short_page(stub):
    # Given two full pages and a short one, each page's meta giving the next cursor
    def page(ids, after_id=None, after_ms=None):
        meta = {"startAfterId": after_id, "startAfter": after_ms} if after_id else {}
        return {"contacts": [{"id": i} for i in ids], "meta": meta}

    stub.get(BASE + "/contacts/", json=page(["a", "b"], "b", 2),
             match=[matchers.query_param_matcher({"locationId": LOC, "limit": "2"})])
    stub.get(BASE + "/contacts/", json=page(["c", "d"], "d", 4),
             match=[matchers.query_param_matcher(
                 {"locationId": LOC, "limit": "2", "startAfterId": "b", "startAfter": "2"})])
    stub.get(BASE + "/contacts/", json=page(["e"]),
             match=[matchers.query_param_matcher(
                 {"locationId": LOC, "limit": "2", "startAfterId": "d", "startAfter": "4"})])
    # When iterating
    ids = [c["id"] for c in make_client().iter_contacts(page_size=2)]
    # Then every contact comes once, in order
    assert ids == ["a", "b", "c", "d", "e"]


def test_iter_contacts_without_meta_uses_the_last_contact_as_cursor(stub):
    # Given a full page without meta, then an empty page
    stub.get(BASE + "/contacts/", json={"contacts": [
        {"id": "a", "dateAdded": "2024-01-01T00:00:00.000Z"},
        {"id": "b", "dateAdded": "2024-01-01T00:00:01.500Z"}]})
    stub.get(BASE + "/contacts/", json={"contacts": []}, match=[matchers.query_param_matcher(
        {"locationId": LOC, "limit": "2", "startAfterId": "b", "startAfter": "1704067201500"})])
    # When iterating
    ids = [c["id"] for c in make_client().iter_contacts(page_size=2)]
    # Then the second request used the last contact's id and dateAdded in ms
    assert ids == ["a", "b"]


def test_list_contacts_refuses_a_limit_above_100():
    with pytest.raises(ValueError, match="limit"):
        make_client().list_contacts(limit=101)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"statusCode": 400, "message": "Bad"}, GhlValidationError),
        (401, {"statusCode": 401, "message": "Invalid JWT"}, GhlAuthError),
        (403, {"statusCode": 403, "message": "no access"}, GhlPermissionError),
        (404, {"statusCode": 404, "message": "Contact not found"}, GhlNotFoundError),
        (422, {"statusCode": 422, "message": ["a", "b"]}, GhlValidationError),
        (429, {"statusCode": 429, "message": "Too many"}, GhlRateLimitedError),
        (500, {"statusCode": 500, "message": "boom"}, GhlServerError),
        (503, None, GhlServerError),
    ],
)
def test_each_error_status_raises_its_class(stub, status, body, cls):
    # Given GHL answers the status
    stub.get(BASE + "/contacts/c1", status=status,
             **({"json": body} if body is not None else {"body": "<html>down</html>"}))
    # When / Then the matching error class is raised, naming the call
    with pytest.raises(cls) as info:
        make_client().get_contact("c1")
    assert type(info.value) is cls
    assert (info.value.status, info.value.method, info.value.path) == (status, "GET",
                                                                       "/contacts/c1")


def test_422_list_message_is_joined_and_kept(stub):
    # Given a 422 with a list message
    stub.put(BASE + "/contacts/abc", status=422, json={
        "statusCode": 422, "message": ["property locationId should not exist", "bad email"],
        "error": "Unprocessable Entity"})
    # When updating
    with pytest.raises(GhlValidationError) as info:
        make_client().update_contact("abc", {"email": "x"})
    # Then both messages are kept and the text reads well
    assert info.value.messages == ["property locationId should not exist", "bad email"]
    assert str(info.value) == (
        "GHL 422 on PUT /contacts/abc: property locationId should not exist; bad email")


def test_duplicate_contact_answer_names_the_existing_contact(stub):
    # Given the location refuses duplicates
    stub.post(BASE + "/contacts/", status=400, json={
        "statusCode": 400, "message": "This location does not allow duplicated contacts.",
        "meta": {"contactId": "c-existing", "matchingField": "email"}})
    # When creating
    with pytest.raises(GhlDuplicateContactError) as info:
        make_client().create_contact({"email": "a@b.co"})
    # Then the existing contact and the matching field are known
    assert (info.value.contact_id, info.value.matching_field) == ("c-existing", "email")


def test_429_carries_the_server_hints(stub):
    # Given a 429 with Retry-After and the rate-limit headers
    stub.get(BASE + "/contacts/c1", status=429, json={"message": "Too many requests"},
             headers={"Retry-After": "3", "X-RateLimit-Interval-Milliseconds": "10000",
                      "X-RateLimit-Remaining": "0"})
    # When calling
    with pytest.raises(GhlRateLimitedError) as info:
        make_client().get_contact("c1")
    # Then the wait and window are known and the error came from the server
    err = info.value
    assert (err.retry_after_ms, err.interval_ms, err.from_server) == (3000, 10000, True)


def test_connect_error_was_not_sent_but_read_timeout_may_have_been(stub):
    # Given one request that cannot connect and one whose answer times out
    stub.get(BASE + "/contacts/c1", body=requests.exceptions.ConnectTimeout("connect"))
    stub.post(BASE + "/contacts/upsert", body=requests.exceptions.ReadTimeout("read"))
    client = make_client()
    # When calling each
    with pytest.raises(GhlConnectionError) as connect:
        client.get_contact("c1")
    with pytest.raises(GhlConnectionError) as read:
        client.upsert_contact({"email": "a@b.co"})
    # Then only the read timeout may have reached GHL
    assert connect.value.maybe_sent is False
    assert read.value.maybe_sent is True
    assert connect.value.status is None


def test_unreadable_success_answer_is_a_broken_answer_that_may_have_been_applied(stub):
    # Given a 201 whose body is not JSON
    stub.post(BASE + "/contacts/", status=201, body="<html>oops</html>")
    # When / Then
    with pytest.raises(GhlConnectionError) as info:
        make_client().create_contact({"email": "a@b.co"})
    assert info.value.maybe_sent is True


def test_answer_without_the_expected_key_is_an_error(stub):
    stub.get(BASE + "/contacts/c1", json={"something": "else"})
    with pytest.raises(GhlError, match="no 'contact'"):
        make_client().get_contact("c1")


def test_missing_scope_refuses_before_sending_anything(stub):
    # Given a client with read-only scopes and a stub that knows no request
    client = make_client(scopes={"contacts.readonly"})
    # When writing
    with pytest.raises(GhlScopeError) as info:
        client.upsert_contact({"email": "a@b.co"})
    # Then the scope is named and nothing went out
    assert info.value.scope == "contacts.write"
    assert str(info.value) == "GHL_SCOPES lacks contacts.write, needed for POST /contacts/upsert"
    assert len(stub.calls) == 0


def test_missing_scope_does_not_touch_the_limiter(stub):
    limiter = FakeLimiter()
    with pytest.raises(GhlScopeError):
        make_client(scopes=set(), limiter=limiter).list_users()
    assert limiter.events == []


def test_token_callable_is_read_on_every_call(stub):
    # Given a token source that rotates between calls
    tokens = iter(["tok-one-1111", "tok-two-2222"])
    stub.get(BASE + "/contacts/c1", json={"contact": CONTACT},
             match=[expect_headers(CONTACTS_V, token="tok-one-1111")])
    stub.get(BASE + "/contacts/c1", json={"contact": CONTACT},
             match=[expect_headers(CONTACTS_V, token="tok-two-2222")])
    client = make_client(token=lambda: next(tokens))
    # When calling twice / Then each call used the then-current token (the stub enforces it)
    client.get_contact("c1")
    client.get_contact("c1")


def test_token_source_returning_nothing_sends_nothing(stub):
    with pytest.raises(GhlAuthError, match="no GHL token"):
        make_client(token=lambda: None).get_contact("c1")
    assert len(stub.calls) == 0


@pytest.mark.parametrize(
    ("overrides", "names"),
    [({"token": ""}, "GHL_TOKEN"), ({"token": None}, "GHL_TOKEN"),
     ({"location_id": ""}, "GHL_LOCATION_ID"), ({"location_id": None}, "GHL_LOCATION_ID")],
)
def test_missing_token_or_location_fails_fast_with_an_actionable_message(overrides, names):
    with pytest.raises(ValueError, match=names):
        make_client(**overrides)


@pytest.mark.parametrize(
    ("status", "body"),
    [(401, {"message": f"Invalid token {TOKEN}"}), (422, {"message": ["bad"]}),
     (429, {"message": "slow"}), (500, None), (404, {"message": "nope"})],
)
def test_token_never_appears_in_errors_or_logs(stub, status, body):
    # Given an error answer (one even echoing the token)
    stub.get(BASE + "/contacts/c1", status=status, json=body)
    client = make_client()
    # When the call fails while logs are captured
    with structlog.testing.capture_logs() as logs, pytest.raises(GhlError) as info:
        client.get_contact("c1")
    # Then the token is nowhere: error text, repr, attributes, logs, client repr
    err = info.value
    for text in (str(err), repr(err), json.dumps(err.headers), json.dumps(err.body), repr(client),
                 repr(logs)):
        assert TOKEN not in text
    assert not any("authorization" in k.lower() for k in err.headers)
    assert logs == [{"event": "ghl.request", "log_level": "debug", "method": "GET",
                     "path": "/contacts/c1", "status": status,
                     "elapsed_ms": logs[0]["elapsed_ms"]}]


def test_connection_error_is_logged_without_secrets(stub):
    stub.get(BASE + "/contacts/c1", body=requests.exceptions.ConnectionError("refused"))
    with structlog.testing.capture_logs() as logs, pytest.raises(GhlConnectionError) as info:
        make_client().get_contact("c1")
    assert TOKEN not in repr(logs) + str(info.value) + repr(info.value)
    assert logs[0]["status"] is None and logs[0]["error"] == "ConnectionError"


def test_limiter_inline_wait_sleeps_then_sends(stub):
    # Given a limiter that asks for a short wait twice
    limiter = FakeLimiter([FakeGrant(False, 300), FakeGrant(False, 500)])
    slept: list[float] = []
    stub.get(BASE + "/contacts/c1", json={"contact": CONTACT},
             headers={"X-RateLimit-Remaining": "99"})
    client = make_client(limiter=limiter, sleep=slept.append, max_inline_wait_ms=2000)
    # When calling
    client.get_contact("c1")
    # Then it slept what the limiter said, sent once, released and observed the answer
    assert slept == [0.3, 0.5]
    assert [e[0] for e in limiter.events] == ["acquire", "acquire", "acquire", "release",
                                              "observe"]
    assert limiter.events[-1][1] == LOC
    assert limiter.events[-1][2]["X-RateLimit-Remaining"] == "99"


def test_limiter_long_wait_raises_without_sending(stub):
    # Given a limiter that asks for more than the inline maximum
    limiter = FakeLimiter([FakeGrant(False, 5000)])
    client = make_client(limiter=limiter, max_inline_wait_ms=2000)
    # When calling
    with pytest.raises(GhlRateLimitedError) as info:
        client.upsert_contact({"email": "a@b.co"})
    # Then nothing was sent and the error says to wait, locally
    assert len(stub.calls) == 0
    assert (info.value.retry_after_ms, info.value.from_server) == (5000, False)
    assert limiter.events == [("acquire", LOC)]


def test_limiter_inline_waits_are_bounded_in_total(stub):
    # Given a limiter that keeps asking for 800 ms
    limiter = FakeLimiter([FakeGrant(False, 800)] * 10)
    slept: list[float] = []
    # When / Then: after 1600 ms of waiting, a third 800 ms wait exceeds 2000 ms and raises
    with pytest.raises(GhlRateLimitedError):
        make_client(limiter=limiter, sleep=slept.append).get_contact("c1")
    assert slept == [0.8, 0.8]


@pytest.mark.parametrize(
    "answer",
    [{"status": 200, "json": {"contact": CONTACT}}, {"status": 500, "json": {"message": "x"}},
     {"status": 429, "json": {"message": "x"}}],
)
def test_limiter_release_and_observe_follow_every_answer(stub, answer):
    limiter = FakeLimiter()
    stub.get(BASE + "/contacts/c1", headers={"X-RateLimit-Max": "100"}, **answer)
    with contextlib.suppress(GhlError):
        make_client(limiter=limiter).get_contact("c1")
    assert [e[0] for e in limiter.events] == ["acquire", "release", "observe"]
    assert limiter.events[2][2]["X-RateLimit-Max"] == "100"


def test_limiter_grant_is_released_when_requests_fails(stub):
    limiter = FakeLimiter()
    stub.get(BASE + "/contacts/c1", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(GhlConnectionError):
        make_client(limiter=limiter).get_contact("c1")
    assert [e[0] for e in limiter.events] == ["acquire", "release"]


def test_requests_use_explicit_timeouts_and_a_large_pool(stub):
    # Given a client with custom timeouts
    stub.get(BASE + "/contacts/c1", json={"contact": CONTACT})
    client = make_client(connect_timeout_s=2.0, read_timeout_s=9.0)
    # When calling
    client.get_contact("c1")
    # Then (connect, read) timeouts were passed and the pool holds at least 32 connections
    assert stub.calls[0].request.req_kwargs["timeout"] == (2.0, 9.0)
    adapter = client._session.get_adapter(BASE)
    assert adapter._pool_maxsize >= 32


def test_the_worker_runtime_builds_a_working_client_from_settings():
    import fakeredis

    from simulators.ghl import GhlSim, SimConfig, create_app
    from simulators.serve import serve_in_thread
    from toky_ghl.settings import Settings
    from worker.runtime import build_runtime

    # The worker's client sends on clients.ghl.wire (which `responses` does not see):
    # a real simulator over HTTP answers, checking the token and the Version header.
    sim = GhlSim(SimConfig())
    sim.add_token(TOKEN, LOC, ["users.readonly"])
    with serve_in_thread(create_app(sim), threads=2) as server:
        settings = Settings(ghl_api_base=server.url, ghl_token=TOKEN, ghl_location_id=LOC,
                            ghl_scopes=frozenset({"users.readonly"}),
                            rate_wait_inline_max_ms=0)
        client = build_runtime(settings, fakeredis.FakeRedis()).client
        assert client._wire is not None  # type: ignore[attr-defined]
        assert client.list_users() == []
        assert TOKEN not in repr(client)
        client._wire.close()  # type: ignore[attr-defined]  (else the server waits for it)


def test_within_one_event_a_call_after_a_granted_one_waits_for_its_slot_instead_of_giving_up(
        stub):
    from clients.ghl.transport import one_event

    # Given no inline wait allowed by the settings, and a full window (800 ms to wait)
    # for the second call of an event whose first call was granted a slot
    limiter = FakeLimiter([FakeGrant(True), FakeGrant(False, 800), FakeGrant(False, 800)])
    slept: list[float] = []
    stub.get(BASE + "/contacts/c1", json={"contact": CONTACT})
    stub.get(BASE + "/contacts/c1", json={"contact": CONTACT})
    client = make_client(limiter=limiter, sleep=slept.append, max_inline_wait_ms=0)
    with one_event():
        client.get_contact("c1")
        # When the event's second call meets the full window
        client.get_contact("c1")
    # Then it waited for its slot (giving up would park the event and waste the first)
    assert slept == [0.8, 0.8] and len(stub.calls) == 2
    # while an event's FIRST call still gives up at once (parking it costs nothing)
    limiter.grants = [FakeGrant(False, 800)]
    with one_event(), pytest.raises(GhlRateLimitedError):
        client.get_contact("c1")
    assert slept == [0.8, 0.8]


def test_an_event_inside_another_gives_the_outer_event_its_budget_back():
    from clients.ghl import transport

    # Given an event's budget, and a nested event that fails
    with transport.one_event():
        outer = transport._event_budget.get()
        with pytest.raises(RuntimeError), transport.one_event():
            inner = transport._event_budget.get()
            assert inner is not None and inner is not outer
            raise RuntimeError("boom")
        # Then the outer event's budget is current again, and none after it
        assert transport._event_budget.get() is outer
    assert transport._event_budget.get() is None


@pytest.mark.parametrize(("content", "body"), [
    (b"", None), (b" \r\n\t", None), (b' {"ok": true} ', {"ok": True})])
def test_an_empty_or_blank_answer_is_no_body_and_json_is_read(content, body):
    from requests.structures import CaseInsensitiveDict

    from clients.ghl.transport import _parse
    from clients.ghl.wire import WireAnswer

    answer = WireAnswer(200, "OK", CaseInsensitiveDict(), content)
    assert _parse(answer, "GET", "/contacts/c1", None) == body
