"""GHL simulator: OAuth (reference: Transport; official apps/oauth.json). The token
endpoint is form-encoded, answers a new pair, refresh tokens work once, access
tokens expire, wrong client credentials answer 401 in GHL's shape."""

from __future__ import annotations

import pytest

from simulators.ghl.testing import FakeClock, GhlTestClient, make_api

LOC = "locOAUTHAAAAAAAAAAAA"
CLIENT, SECRET = "client-1", "secret-1"
SCOPES = "contacts.readonly contacts.write"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock) -> GhlTestClient:
    api = make_api(LOC, clock=clock, access_token_ttl_s=60)
    api.sim.oauth.register_app(CLIENT, SECRET, LOC, SCOPES.split())
    return api


def token_call(api: GhlTestClient, **form):
    base = {"client_id": CLIENT, "client_secret": SECRET, "user_type": "Location"}
    return api.flask.post("/oauth/token", data={**base, **form})


def code_pair(api: GhlTestClient) -> dict:
    code = api.sim.oauth.issue_code(CLIENT)
    answer = token_call(api, grant_type="authorization_code", code=code)
    assert answer.status_code == 200, answer.json
    return answer.json


def contacts(api: GhlTestClient, token: str):
    return api.get("/contacts/", query={"locationId": LOC}, token=token)


def test_authorization_code_grant_answers_a_usable_pair_in_the_spec_shape(api):
    # When a consent code is exchanged
    pair = code_pair(api)
    # Then the answer has the fields of GetAccessCodeSuccessfulResponseDto
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 60
    assert pair["scope"] == SCOPES and pair["userType"] == "Location"
    assert pair["locationId"] == LOC and pair["refresh_token"] != pair["access_token"]
    # and the access token works on the API with the app's scopes
    assert contacts(api, pair["access_token"]).status_code == 200


def test_a_code_works_once(api):
    code = api.sim.oauth.issue_code(CLIENT)
    assert token_call(api, grant_type="authorization_code", code=code).status_code == 200
    again = token_call(api, grant_type="authorization_code", code=code)
    assert again.status_code == 400 and "authorization code" in again.json["message"]


def test_refresh_grant_gives_a_new_pair_and_the_old_refresh_token_stops_working(api):
    # Given a pair
    first = code_pair(api)
    # When it is refreshed
    second = token_call(api, grant_type="refresh_token", refresh_token=first["refresh_token"])
    # Then a new pair comes back, and the old refresh token is refused from now on
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert second.json["access_token"] != first["access_token"]
    reused = token_call(api, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json == {"statusCode": 400, "message": "Invalid grant: the refresh token is "
                                                         "invalid or was already used"}
    assert api.sim.oauth.snapshot()["grants"] == {"authorization_code": 1, "refresh_token": 1,
                                                  "refused": 1}


def test_access_tokens_expire_after_the_configured_time(api, clock):
    pair = code_pair(api)
    clock.advance(59)
    assert contacts(api, pair["access_token"]).status_code == 200
    # When the lifetime is over
    clock.advance(1)
    answer = contacts(api, pair["access_token"])
    # Then the token is refused like any invalid one
    assert answer.status_code == 401 and answer.json["message"] == "Invalid JWT"


def test_each_refresh_records_how_long_the_previous_token_had_left(api, clock):
    pair = code_pair(api)
    clock.advance(50)
    token_call(api, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert api.sim.oauth.snapshot()["refreshes"] == [{"at_s": clock.now_s, "remaining_s": 10.0}]


def test_wrong_client_secret_is_401_in_ghls_shape_and_spends_nothing(api):
    pair = code_pair(api)
    answer = api.flask.post("/oauth/token", data={
        "client_id": CLIENT, "client_secret": "wrong", "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"]})
    assert answer.status_code == 401
    assert answer.json == {"statusCode": 401, "message": "Invalid client credentials",
                           "error": "Unauthorized"}
    # and the refresh token still works with the right secret
    ok = token_call(api, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert ok.status_code == 200


@pytest.mark.parametrize("form, message", [
    ({"client_secret": SECRET, "grant_type": "refresh_token"}, "client_id should not be empty"),
    ({"client_id": CLIENT, "client_secret": SECRET, "grant_type": "password"},
     "grant_type must be one of the following values"),
])
def test_missing_or_bad_fields_are_422_with_a_list(api, form, message):
    answer = api.flask.post("/oauth/token", data=form)
    assert answer.status_code == 422 and answer.json["error"] == "Unprocessable Entity"
    assert any(message in m for m in answer.json["message"])


def test_a_json_body_is_refused_the_endpoint_is_form_encoded(api):
    answer = api.flask.post("/oauth/token", json={"client_id": CLIENT, "client_secret": SECRET,
                                                  "grant_type": "refresh_token"})
    assert answer.status_code == 422


def test_the_token_endpoint_needs_no_bearer_and_is_not_counted(api):
    code_pair(api)
    assert api.sim.stats_snapshot()["requests_total"] == 0


def test_consent_page_redirects_with_a_code_that_exchanges(api):
    answer = api.flask.get("/v2/oauth/chooselocation", query_string={
        "response_type": "code", "client_id": CLIENT, "scope": "contacts.readonly",
        "redirect_uri": "https://app.example/cb"})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("https://app.example/cb?code=")
    code = location.split("code=", 1)[1]
    pair = token_call(api, grant_type="authorization_code", code=code)
    assert pair.status_code == 200 and pair.json["scope"] == "contacts.readonly"


def test_consent_for_a_scope_the_app_lacks_is_refused(api):
    answer = api.flask.get("/v2/oauth/chooselocation", query_string={
        "response_type": "code", "client_id": CLIENT, "scope": "users.readonly",
        "redirect_uri": "https://app.example/cb"})
    assert answer.status_code == 400


def test_admin_routes_register_a_client_issue_a_code_and_revoke(api):
    flask = api.flask
    made = flask.post("/_sim/oauth/clients", json={"client_id": "c2", "client_secret": "s2",
                                                   "location_id": LOC, "scopes": SCOPES})
    assert made.status_code == 201
    code = flask.post("/_sim/oauth/codes", json={"client_id": "c2"}).json["code"]
    pair = flask.post("/oauth/token", data={"client_id": "c2", "client_secret": "s2",
                                            "grant_type": "authorization_code",
                                            "code": code}).json
    assert contacts(api, pair["access_token"]).status_code == 200
    # When every OAuth access token is revoked
    assert flask.post("/_sim/oauth/revoke", json={}).json == {"revoked": 1}
    # Then it is refused, and the stats say what happened
    assert contacts(api, pair["access_token"]).status_code == 401
    assert flask.get("/_sim/oauth/stats").json["grants"] == {"authorization_code": 1}


def test_revoking_a_pit_expires_it_now(api):
    api.sim.oauth.revoke(api.sim.clock(), "tok")
    assert contacts(api, "tok").status_code == 401


def test_reset_everything_forgets_apps(api):
    api.sim.reset(everything=True)
    assert token_call(api, grant_type="refresh_token", refresh_token="x").status_code == 401


def test_ttl_must_be_positive():
    from simulators.ghl.config import SimConfig

    with pytest.raises(ValueError, match="access_token_ttl_s"):
        SimConfig(access_token_ttl_s=0)
