"""GHL simulator: admin routes, configuration, reset, stats, demo seed and CLI."""

from __future__ import annotations

import pytest

from simulators.ghl import DEMO_CALENDAR, DEMO_LOCATION, DEMO_TOKEN, GhlSim, SimConfig, seed_demo
from simulators.ghl.__main__ import build_parser, main
from simulators.ghl.testing import FakeClock, GhlTestClient

LOC = "locAAAAAAAAAAAAAAAAA"


@pytest.fixture
def api() -> GhlTestClient:
    """A client for token ``tok``, which each test registers (or not) itself."""
    return GhlTestClient(GhlSim(SimConfig(), clock=FakeClock()), "tok")


def test_defaults_are_ghls_published_limits_and_no_faults():
    config = SimConfig()
    assert (config.max_requests, config.interval_ms, config.daily_max) == (100, 10_000, 200_000)
    assert (config.latency_ms, config.error_rate, config.lost_answer_rate) == (0, 0.0, 0.0)
    assert config.send_retry_after is False


@pytest.mark.parametrize(
    "changes",
    [{"max_requests": 0}, {"error_rate": 1.5}, {"interval_ms": "10"}, {"speed": 3},
     {"send_retry_after": "yes"}],
)
def test_bad_settings_are_refused(api, changes):
    answer = api.flask.post("/_sim/config", json=changes)
    assert answer.status_code == 400
    assert api.flask.get("/_sim/config").json == SimConfig().as_dict()


def test_config_changes_at_run_time(api):
    answer = api.flask.post("/_sim/config", json={"max_requests": 5, "error_rate": 0.25})
    assert answer.status_code == 200
    assert answer.json["max_requests"] == 5 and answer.json["error_rate"] == 0.25
    assert api.sim.config.max_requests == 5


def test_tokens_calendars_users_and_settings_by_admin_route(api):
    assert api.flask.post("/_sim/tokens", json={
        "token": "tok", "location_id": LOC,
        "scopes": "contacts.readonly contacts.write calendars/events.write users.readonly",
    }).status_code == 201
    assert api.flask.post("/_sim/calendars", json={"location_id": LOC,
                                                   "calendar_id": "cal1"}).status_code == 201
    user = api.flask.post("/_sim/users", json={"location_id": LOC, "name": "A",
                                               "email": "a@example.com"})
    assert user.status_code == 201 and len(user.json["id"]) == 20
    assert api.flask.post("/_sim/locations", json={"location_id": LOC,
                                                   "allow_duplicates": True}).json[
        "allow_duplicates"] is True
    assert api.get("/users/", query={"locationId": LOC}).json["users"] == [user.json]
    for _ in range(2):
        assert api.post("/contacts/", {"locationId": LOC, "email": "d@example.com"}
                        ).status_code == 201
    cid = api.get("/contacts/", query={"locationId": LOC}).json["contacts"][0]["id"]
    booked = api.post("/calendars/events/appointments", {
        "calendarId": "cal1", "locationId": LOC, "contactId": cid,
        "startTime": "2026-12-01T10:00:00Z"})
    assert booked.status_code == 200


def test_admin_routes_need_their_fields(api):
    answer = api.flask.post("/_sim/tokens", json={"token": "x"})
    assert answer.status_code == 400
    assert "location_id" in answer.json["message"]


def test_state_shows_objects_by_location_and_kind_without_tokens(api):
    api.sim.add_token("secret-token", LOC, "contacts.write")
    api.post("/contacts/", {"locationId": LOC, "email": "a@example.com"}, token="secret-token")
    state = api.flask.get("/_sim/state").json
    location = state["locations"][LOC]
    assert [c["email"] for c in location["contacts"]] == ["a@example.com"]
    assert location["tasks"] == location["notes"] == location["appointments"] == []
    assert location["allowDuplicates"] is False
    assert "secret-token" not in str(state)


def test_stats_count_by_route_template_and_status(api):
    api.sim.update_config(max_requests=3)
    api.sim.add_token("tok", LOC, "contacts.readonly contacts.write")
    cid = api.post("/contacts/", {"locationId": LOC}).json["contact"]["id"]
    api.get(f"/contacts/{cid}")
    api.get(f"/contacts/{cid}")
    api.get(f"/contacts/{cid}")
    stats = api.flask.get("/_sim/stats").json
    assert stats["requests_total"] == 4
    assert stats["by_route"] == {"POST /contacts/": 1, "GET /contacts/{contactId}": 3}
    assert stats["by_status"] == {"200": 2, "201": 1, "429": 1}
    assert stats["rate_limited"] == 1
    assert stats["injected_5xx"] == 0 and stats["lost_answers"] == 0


def test_reset_forgets_objects_and_counters_but_keeps_tokens(api):
    api.sim.add_token("tok", LOC, "contacts.readonly contacts.write")
    api.sim.update_config(max_requests=2)
    api.post("/contacts/", {"locationId": LOC})
    api.get("/contacts/", query={"locationId": LOC})
    assert api.flask.post("/_sim/reset").status_code == 200
    assert api.sim.state()["locations"][LOC]["contacts"] == []
    assert api.sim.stats_snapshot()["requests_total"] == 0
    answer = api.get("/contacts/", query={"locationId": LOC})
    assert answer.status_code == 200 and answer.headers["X-RateLimit-Remaining"] == "1"
    api.flask.post("/_sim/reset", json={"everything": True})
    assert api.get("/contacts/", query={"locationId": LOC}).status_code == 401


def test_seed_demo_gives_a_working_location():
    sim = GhlSim()
    seed_demo(sim)
    seed_demo(sim)
    api = GhlTestClient(sim, DEMO_TOKEN)
    cid = api.post("/contacts/", {"locationId": DEMO_LOCATION, "phone": "+15125550101"}).json[
        "contact"]["id"]
    assert api.post("/calendars/events/appointments", {
        "calendarId": DEMO_CALENDAR, "locationId": DEMO_LOCATION, "contactId": cid,
        "startTime": "2026-12-01T10:00:00Z"}).status_code == 200
    users = api.get("/users/", query={"locationId": DEMO_LOCATION}).json["users"]
    assert len(users) == 2 and all(len(u["id"]) == 20 for u in users)


def test_cli_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--token", "--location", "--scopes", "--calendar",
                   "--max-requests", "--interval-ms", "--daily-max", "--latency-ms",
                   "--error-rate", "--lost-answer-rate", "--seed", "--demo"):
        assert option in out


def test_cli_refuses_a_token_without_location_and_bad_rates(capsys):
    with pytest.raises(SystemExit):
        main(["--token", "t"])
    with pytest.raises(SystemExit):
        main(["--error-rate", "2"])
    assert "error_rate" in capsys.readouterr().err
    assert build_parser().parse_args([]).max_requests == 100
