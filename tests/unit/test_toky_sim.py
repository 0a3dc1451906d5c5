"""The Toky simulator through Flask's test client."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from clients.toky import paths
from simulators.toky import TokySim, create_app, seed_demo

KEY = "sim-key-123"
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> TokySim:
    return TokySim(api_key=KEY, clock=lambda: T0)


@pytest.fixture
def http(sim: TokySim):
    app = create_app(sim)
    app.testing = True
    return app.test_client()


def get(http, path: str, **query):
    return http.get(f"/v1{path}", query_string=query, headers={"X-Toky-Key": KEY})


def add_calls(sim: TokySim, hours: list[int]) -> None:
    for hour in hours:
        sim.add_call(from_number="+15125550101", to_number="+15125550000",
                     init_dt=T0 + timedelta(hours=hour))


def test_cdr_values_are_strings_with_the_reference_fields(sim, http):
    # Given an answered inbound call of 22 s
    sim.add_call(from_number="+15125550101", to_number="+15125550000", duration_s=22,
                 init_dt=datetime(2017, 7, 5, 21, 46, 17, tzinfo=UTC), ring_s=5)
    # When the CDRs are listed
    row = get(http, "/cdrs").get_json()["results"][0]
    # Then every field of the reference is there, every value a string
    assert set(row) == set(paths.CDR_FIELDS)
    assert all(isinstance(value, str) for value in row.values())
    assert (row["duration"], row["disposition_code"], row["web_call"]) == ("22", "200", "no")
    assert (row["start_time"], row["end_time"]) == ("2017-07-05 21:46:22", "2017-07-05 21:46:44")


def test_lists_are_newest_first(sim, http):
    # Given calls added out of time order
    add_calls(sim, [1, 3, 2])
    # When listed
    rows = get(http, "/cdrs").get_json()["results"]
    # Then the newest comes first
    assert [r["init_dt"][11:13] for r in rows] == ["15", "14", "13"]


def test_pagination_envelope_with_absolute_next(sim, http):
    # Given 5 calls
    add_calls(sim, [1, 2, 3, 4, 5])
    # When read 2 at a time
    first = get(http, "/cdrs", limit=2).get_json()
    last = get(http, "/cdrs", limit=2, offset=4).get_json()
    # Then count is the page's size and next an absolute URL until the last page
    assert first["count"] == 2 and len(first["results"]) == 2
    assert first["next"].startswith("http://localhost/v1/cdrs?")
    assert "offset=2" in first["next"] and "limit=2" in first["next"]
    assert (last["count"], last["next"]) == (1, None)


def test_limit_over_500_is_clamped(sim, http):
    # Given 501 contacts
    for n in range(501):
        sim.add_contact(phone=f"+1512555{n:04d}")
    # When 1000 are asked for
    page = get(http, "/contacts", limit=1000).get_json()
    # Then 500 come back and next names offset 500
    assert page["count"] == 500
    assert "offset=500" in page["next"] and "limit=500" in page["next"]


def test_bad_limit_is_refused(http):
    # When / Then a limit that is not a positive number is a 400
    assert get(http, "/cdrs", limit="ten").status_code == 400
    assert get(http, "/cdrs", limit=0).status_code == 400


def test_filter_selects_a_created_at_range(sim, http):
    # Given calls at 13:00, 14:00 and 15:00 on 20 Nov
    add_calls(sim, [1, 2, 3])
    # When filtered to 13:30 .. 15:00 inclusive
    rows = get(http, "/cdrs", filter="(created_at >= 2026-11-20 13:30:00) AND "
                                     "(created_at <= 2026-11-20 15:00:00)").get_json()["results"]
    # Then only 14:00 and 15:00 remain, and a date-only bound works too
    assert [r["init_dt"] for r in rows] == ["2026-11-20 15:00:00", "2026-11-20 14:00:00"]
    assert get(http, "/cdrs", filter="(created_at >= 2026-11-21)").get_json()["count"] == 0


def test_filter_applies_to_sms_and_next_keeps_it(sim, http):
    # Given three SMS on three days
    for day in (1, 2, 3):
        sim.add_sms(from_number="+15125550101", to_number="+15125550000", text=f"d{day}",
                    date=datetime(2026, 11, day, 9, tzinfo=UTC))
    # When filtered from 2 Nov, one per page
    page = get(http, "/sms", limit=1, filter="(created_at >= 2026-11-02)").get_json()
    # Then the newest matching comes first and next carries the filter
    assert page["results"][0]["text"] == "d3"
    assert "filter=" in page["next"]


def test_malformed_filter_is_a_400(http):
    # When / Then
    response = get(http, "/cdrs", filter="created_at > yesterday")
    assert response.status_code == 400
    assert "filter" in response.get_json()["error"]


@pytest.mark.parametrize("headers", [{}, {"X-Toky-Key": "wrong"}])
def test_missing_or_wrong_key_is_401(http, headers):
    # When the key is missing or wrong / Then 401 with an error body
    response = http.get("/v1/agents", headers=headers)
    assert response.status_code == 401
    assert "error" in response.get_json()


def test_api_is_served_at_root_too(sim, http):
    # Given a contact
    sim.add_contact(phone="+15125550101")
    # When listed without the /v1 prefix / Then same answer
    response = http.get("/contacts", headers={"X-Toky-Key": KEY})
    assert response.get_json()["results"][0]["phone"] == "+15125550101"


def test_contacts_create_get_update_and_duplicate(http):
    headers = {"X-Toky-Key": KEY}
    # Given a contact created over HTTP
    created = http.post("/v1/contacts", headers=headers,
                        json={"phone": "+15125550101", "contact_name": "Ana", "tags": ["x"]})
    # When the same phone is created again, then the contact is read and updated
    again = http.post("/v1/contacts", headers=headers, json={"phone": "+15125550101"})
    fetched = http.get("/v1/contacts/%2B15125550101", headers=headers)
    updated = http.put("/v1/contacts/%2B15125550101", headers=headers, json={"city": "Austin"})
    # Then: 201, 409 (phone is unique), the contact, and the merged change
    assert created.status_code == 201 and "tags" not in created.get_json()
    assert again.status_code == 409
    assert fetched.get_json()["contact_name"] == "Ana"
    assert updated.get_json() == {"phone": "+15125550101", "contact_name": "Ana",
                                  "email": "", "city": "Austin", "country_code": ""}
    assert http.get("/v1/contacts/%2B19999999999", headers=headers).status_code == 404


def test_recording_answers_with_the_url_key(sim, http):
    # Given a call with a recording and one without
    with_rec = sim.add_call(from_number="+1", to_number="+2", recording_url="https://r/1.mp3")
    without = sim.add_call(from_number="+1", to_number="+2")
    # When / Then
    body = get(http, f"/recordings/{with_rec['callid']}").get_json()
    assert body == {paths.RECORDING_URL_KEY: "https://r/1.mp3"}
    assert get(http, f"/recordings/{without['callid']}").status_code == 404


def test_webhooks_register_list_delete(http):
    headers = {"X-Toky-Key": KEY}
    # Given a registered hook
    created = http.post("/v1/webhooks", headers=headers,
                        json={"event": "new_call", "hook_url": "https://h.example/x"})
    hook_id = created.get_json()["id"]
    # When listed, deleted, and an unknown event registered
    listed = http.get("/v1/webhooks", headers=headers).get_json()["results"]
    deleted = http.delete(f"/v1/webhooks/{hook_id}", headers=headers)
    bad = http.post("/v1/webhooks", headers=headers, json={"event": "x", "hook_url": "https://h"})
    # Then
    assert created.status_code == 201 and set(created.get_json()) == {"id"}
    assert listed == [{"id": hook_id, "event": "new_call", "hook_url": "https://h.example/x"}]
    assert deleted.status_code == 204
    assert http.get("/v1/webhooks", headers=headers).get_json()["count"] == 0
    assert bad.status_code == 400


def test_admin_routes_add_count_and_reset_without_auth(sim, http):
    # Given a call added through the admin route (no key)
    added = http.post("/_sim/calls", json={"from_number": "+15125550101",
                                           "to_number": "+15125550000", "disposition_code": 487})
    # When the API is read twice and the stats fetched, then the sim reset
    get(http, "/cdrs")
    get(http, "/cdrs")
    stats = http.get("/_sim/stats").get_json()
    missed = http.get("/_sim/state").get_json()["cdrs"][0]
    http.post("/_sim/reset")
    # Then
    assert added.status_code == 201
    assert (missed["disposition_code"], missed["duration"]) == ("487", "0")
    assert missed["start_time"] == ""
    assert stats["requests"]["/v1/cdrs"] == 2
    assert http.get("/_sim/state").get_json()["cdrs"] == []
    assert http.post("/_sim/calls", json={"nope": 1}).status_code == 400


def test_armed_fault_answers_then_clears(sim, http):
    # Given one 503 armed on /cdrs with a Retry-After hint
    sim.fail_next("/cdrs", 503, retry_after_s=1)
    # When /cdrs is asked twice / Then a 503 with the hint, then the list
    first = get(http, "/cdrs")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "1")
    assert get(http, "/cdrs").status_code == 200


def test_seed_demo_has_the_call_kinds(sim):
    # When the demo is seeded
    counts = seed_demo(sim, now=T0)
    state = sim.snapshot()
    kinds = {(c["direction"], c["disposition_code"]) for c in state["cdrs"]}
    # Then answered, missed inbound and unsuccessful outbound calls are there
    assert {("inbound", "200"), ("inbound", "487"), ("outbound", "486")} <= kinds
    assert counts["calls"] == len(state["cdrs"]) and state["voicemails"] and state["sms"]
    assert all(c["init_dt"] <= "2026-11-20 12:00:00" for c in state["cdrs"])


def test_concurrent_adds_lose_nothing(sim):
    # Given 8 threads each adding 50 contacts
    def add(worker: int) -> None:
        for n in range(50):
            sim.add_contact(phone=f"+1512{worker}55{n:04d}")
    threads = [threading.Thread(target=add, args=(w,)) for w in range(8)]
    # When they run at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every contact is there
    assert len(sim.contacts()) == 400


def test_sms_and_voicemail_rows_use_the_names_in_paths(sim, http):
    # Given one SMS and one voicemail
    sim.add_sms(from_number="+15125550101", to_number="+15125550000", text="hi")
    sim.add_voicemail(from_number="+15125550101", to_number="+15125550000", duration_s=12)
    # When listed / Then their fields are exactly those paths.py declares, as strings
    sms = get(http, "/sms").get_json()["results"][0]
    voicemail = get(http, "/voicemails").get_json()["results"][0]
    assert set(sms) == set(paths.SMS_FIELDS)
    assert set(voicemail) == set(paths.VOICEMAIL_FIELDS)
    assert voicemail["duration"] == "12" and sms["date"] == "2026-11-20 12:00:00"
