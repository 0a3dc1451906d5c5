"""GHL simulator: tokens, scopes, locations and the Version header (reference: Transport,
Scopes, Errors)."""

from __future__ import annotations

import pytest

from simulators.ghl import GhlSim
from simulators.ghl.testing import ALL_SCOPES, GhlTestClient, make_api

LOC, OTHER = "locAAAAAAAAAAAAAAAAA", "locBBBBBBBBBBBBBBBBB"
INVALID_JWT = {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}
NO_SCOPE = {"statusCode": 401, "message": "The token is not authorized for this scope."}
NO_ACCESS = {"statusCode": 403, "message": "The token does not have access to this location."}


@pytest.fixture
def api() -> GhlTestClient:
    api = make_api(LOC)
    api.sim.add_token("tok-other", OTHER, ALL_SCOPES)
    api.sim.add_token("tok-read", LOC, "contacts.readonly")
    api.sim.add_token("tok-write", LOC, ["contacts.write"])
    return api


@pytest.fixture
def sim(api: GhlTestClient) -> GhlSim:
    return api.sim


def _contact(api: GhlTestClient, **fields) -> dict:
    answer = api.post("/contacts/", {"locationId": LOC, **fields})
    assert answer.status_code == 201, answer.json
    return answer.json["contact"]


@pytest.mark.parametrize("token", [None, "no-such-token"])
def test_missing_or_unknown_token_is_401_invalid_jwt_without_rate_headers(api, token):
    answer = api.get("/contacts/", query={"locationId": LOC}, token=token)
    assert answer.status_code == 401
    assert answer.json == INVALID_JWT
    assert "X-RateLimit-Remaining" not in answer.headers


def test_a_token_sent_with_another_scheme_than_bearer_is_refused(api):
    answer = api.get("/contacts/", query={"locationId": LOC}, token=None,
                     headers={"Authorization": "Basic tok"})
    assert answer.status_code == 401
    assert answer.json == INVALID_JWT


def test_refused_tokens_do_not_use_the_location_budget(api):
    for _ in range(3):
        api.get("/contacts/", query={"locationId": LOC}, token="bad")
    answer = api.get("/contacts/", query={"locationId": LOC})
    assert answer.headers["X-RateLimit-Remaining"] == "99"


def test_readonly_token_cannot_write_and_nothing_is_written(api, sim):
    answer = api.post("/contacts/", {"locationId": LOC, "email": "a@example.com"},
                      token="tok-read")
    assert answer.status_code == 401
    assert answer.json == NO_SCOPE
    assert sim.state()["locations"][LOC]["contacts"] == []


def test_write_scope_alone_does_not_grant_reads(api):
    contact = _contact(api, email="a@example.com")
    answer = api.get(f"/contacts/{contact['id']}", token="tok-write")
    assert answer.status_code == 401
    assert answer.json == NO_SCOPE


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/calendars/events/appointments", {}),
        ("GET", "/calendars/events/appointments/x", None),
        ("GET", "/users/", None),
        ("POST", "/contacts/search", {"locationId": LOC, "pageLimit": 10}),
    ],
)
def test_each_endpoint_family_needs_its_own_scope(api, method, path, body):
    answer = api.call(method, path, body, query={"locationId": LOC}, token="tok-write")
    assert answer.status_code == 401
    assert answer.json == NO_SCOPE


def test_location_in_the_query_must_be_the_tokens(api):
    answer = api.get("/contacts/", query={"locationId": OTHER})
    assert answer.status_code == 403
    assert answer.json == NO_ACCESS


def test_location_in_the_body_must_be_the_tokens_and_nothing_is_written(api, sim):
    answer = api.post("/contacts/", {"locationId": OTHER, "email": "a@example.com"})
    assert answer.status_code == 403
    assert answer.json == NO_ACCESS
    assert sim.state()["locations"][OTHER]["contacts"] == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_another_locations_contact_is_404(api, sim, method):
    contact = _contact(api, email="a@example.com")
    body = {"firstName": "X"} if method == "PUT" else None
    answer = api.call(method, f"/contacts/{contact['id']}", body, token="tok-other")
    assert answer.status_code == 404
    assert answer.json["statusCode"] == 404
    kept = sim.state()["locations"][LOC]["contacts"]
    assert [c["id"] for c in kept] == [contact["id"]] and kept[0]["firstName"] is None


@pytest.mark.parametrize("version", [None, "2021-04-15", "2021-07-29"])
def test_contacts_endpoints_need_version_2021_07_28(api, version):
    answer = api.get("/contacts/", query={"locationId": LOC}, version=version)
    assert answer.status_code == 400
    assert answer.json["statusCode"] == 400
    assert "Version" in answer.json["message"] and "2021-07-28" in answer.json["message"]


@pytest.mark.parametrize("version", [None, "2021-07-28"])
def test_calendar_endpoints_need_version_2021_04_15(api, version):
    answer = api.get("/calendars/events/appointments/abc", version=version)
    assert answer.status_code == 400
    assert "Version" in answer.json["message"] and "2021-04-15" in answer.json["message"]


def test_unknown_route_is_a_nest_style_404(api):
    answer = api.get("/contacts/x/y/z")
    assert answer.status_code == 404
    assert answer.json == {"statusCode": 404, "message": "Cannot GET /contacts/x/y/z",
                           "error": "Not Found"}


def test_tokens_added_later_work_at_once(api, sim):
    sim.add_token("late", LOC, "contacts.readonly")
    assert api.get("/contacts/", query={"locationId": LOC}, token="late").status_code == 200
