"""``toky-ghl check-map FILE SAMPLE.ndjson``: the requests a field map would produce,
from the real handlers and client, with nothing sent and no deployment Redis used."""

from __future__ import annotations

import json

import pytest
import responses

from cli.main import main

FIELD_MAP = """\
standard:
  companyName: company
custom_fields:
  - ghl_id: "Kp2bQ4xY0aZ9cD1eF3gH"
    toky_field: company
    type: text
  - ghl_key: contact.lead_score
    toky_field: lead_score
    type: number
tags:
  - add: [toky]
  - when: {field: country_code, equals: MX}
    add: [mexico, spanish]
agents:
  Sam@Company.test: "9NkT25Vor1v4aQatFsv2"
"""

EVENTS = [
    {"id": "e-1", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
     "data": {"phone": "+525512345678", "contact_name": "Ana María López",
              "email": " Ana@Example.com ", "country_code": "MX", "company": "Moreau",
              "lead_score": "42", "tags": ["lead"]}},
    {"id": "e-2", "type": "call.ended", "occurred_at": "2026-11-02T11:00:00Z",
     "data": {"callid": "c-77", "direction": "inbound", "state": "missed",
              "from_number": "+525512345678", "to_number": "+14155550100",
              "date": "2026-11-02 11:00:00", "agent": "sam@company.test"}},
]




@pytest.fixture
def files(tmp_path, monkeypatch):
    """A field map and a sample file; Redis pointed at a port nobody listens on."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("GHL_LOCATION_ID", "loc-prod-1")
    monkeypatch.setenv("GHL_SCOPES", "contacts.readonly contacts.write calendars/events.write "
                       "locations/customFields.readonly")
    monkeypatch.delenv("GHL_CALENDAR_ID", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    field_map = tmp_path / "map.yaml"
    field_map.write_text(FIELD_MAP)
    sample = tmp_path / "sample.ndjson"
    sample.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    return field_map, sample


def _run_json(capsys, *argv: str) -> tuple[int, list[dict], str]:
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # no real HTTP at all
        status = main(["check-map", *argv, "--json"])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_prints_the_mapped_requests_without_sending_them(files, capsys):
    # Given a field map with a standard field, custom fields, tag rules and agents
    field_map, sample = files
    # When the sample events are checked against it
    status, results, _err = _run_json(capsys, str(field_map), str(sample))
    # Then the contact's upsert carries every mapped field, in the configured location
    assert status == 0
    assert [r["id"] for r in results] == ["e-1", "e-2"]
    # (after the look-up of the email's owner in GHL: guarantee 3, one phone one contact)
    lookup, upsert = results[0]["requests"]
    assert (lookup["method"], lookup["path"].split("?")[0]) == ("GET", "/contacts/search/duplicate")
    assert (upsert["method"], upsert["path"]) == ("POST", "/contacts/upsert")
    body = upsert["body"]
    assert body["locationId"] == "loc-prod-1"
    assert body["phone"] == "+525512345678"
    assert body["email"] == "ana@example.com"
    assert (body["firstName"], body["lastName"]) == ("Ana", "María López")
    assert body["companyName"] == "Moreau"
    assert {"id": "Kp2bQ4xY0aZ9cD1eF3gH", "field_value": "Moreau"} in body["customFields"]
    # a custom field named by key goes out by the id GHL has for it (here the dry run's)
    assert {"id": "contact.lead_score-id", "field_value": 42} in body["customFields"]
    assert set(body["tags"]) == {"lead", "toky", "mexico", "spanish"}
    # And the missed call makes a note and a follow-up task assigned to the mapped user,
    # on the contact the first event created (later events see earlier answers)
    writes = [(r["method"], r["path"]) for r in results[1]["requests"] if r["method"] != "GET"]
    assert [method for method, _ in writes] == ["POST", "POST"]  # no second upsert
    contact_id = writes[0][1].split("/")[2]
    assert writes == [("POST", f"/contacts/{contact_id}/notes"),
                      ("POST", f"/contacts/{contact_id}/tasks")]
    task = results[1]["requests"][-1]["body"]
    assert task["assignedTo"] == "9NkT25Vor1v4aQatFsv2"
    assert task["title"].startswith("Call back +525512345678")
    assert results[1]["outcome"] == "applied"


def test_text_output_shows_method_path_and_body(files, capsys):
    field_map, sample = files
    assert main(["check-map", str(field_map), str(sample)]) == 0
    out = capsys.readouterr().out
    assert "line 1: contact.created contact:…5678 evt=e-1" in out
    assert "  POST /contacts/upsert\n" in out
    assert '"companyName": "Moreau"' in out
    assert "=> applied: " in out


def test_a_bad_map_stops_with_status_2_naming_the_entry(files, capsys):
    field_map, sample = files
    field_map.write_text("custom_fields:\n  - {toky_field: company, type: date, ghl_id: x}\n")
    assert main(["check-map", str(field_map), str(sample)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "custom_fields[0].type" in err


def test_invalid_sample_lines_are_reported_and_the_others_still_checked(files, capsys):
    field_map, sample = files
    sample.write_text("not json\n" + json.dumps({"id": "x", "type": "call.ended",
                                                 "occurred_at": "2026-11-02T11:00:00Z",
                                                 "data": {}}) + "\n" + json.dumps(EVENTS[0]))
    status, results, err = _run_json(capsys, str(field_map), str(sample))
    assert status == 1
    assert "line 1: invalid" in err
    assert "line 2: invalid" in err and "callid" in err
    assert [r["line"] for r in results] == [3]


def test_missing_arguments_print_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check-map"])
    assert exc.value.code == 2
    assert "usage: toky-ghl check-map" in capsys.readouterr().err


APPOINTMENT = {"id": "a-1", "type": "appointment.created", "occurred_at": "2026-11-02T09:00:00Z",
               "data": {"appointment_id": "ap-1", "phone": "+525512345678",
                        "start": "2026-11-20T15:00:00Z", "title": "Demo"}}
MIRRORED = {"id": "ghl-contact-Kp2b-1", "type": "ghl.contact.updated",
            "occurred_at": "2026-11-02T09:00:00Z",
            "data": {"id": "Kp2bQ4xY0aZ9cD1eF3gH", "phone": "+14155550188", "name": "Lee Park",
                     "email": "lee@example.com", "dateAdded": "2026-11-01T09:00:00Z",
                     "dateUpdated": "2026-11-02T09:00:00Z"}}


def _check(capsys, tmp_path, field_map, *events: dict, extra: tuple[str, ...] = ()):
    from toky_ghl.settings import get_settings

    get_settings.cache_clear()  # each run reads the environment anew, like a new process
    sample = tmp_path / "decisions.ndjson"
    sample.write_text("".join(json.dumps(e) + "\n" for e in events))
    return _run_json(capsys, str(field_map), str(sample), *extra)


def test_an_appointment_without_a_calendar_is_dead_lettered_as_the_worker_does(
        files, capsys, tmp_path, monkeypatch):
    field_map, _ = files
    # Given GHL_CALENDAR_ID unset: the worker dead-letters appointments
    status, results, _err = _check(capsys, tmp_path, field_map, APPOINTMENT)
    # Then the dry run reaches the same decision, naming the variable, and exits 1
    assert status == 1
    assert results[0]["outcome"] == "dead_lettered"
    assert "GHL_CALENDAR_ID is not set" in results[0]["detail"]
    assert [r for r in results[0]["requests"] if r["path"].startswith("/calendars")] == []
    # When the calendar is set, the appointment is created on it
    monkeypatch.setenv("GHL_CALENDAR_ID", "cal-prod-7")
    status, results, _err = _check(capsys, tmp_path, field_map, APPOINTMENT)
    assert status == 0 and results[0]["outcome"] == "applied"
    created = [r for r in results[0]["requests"] if r["path"] == "/calendars/events/appointments"]
    assert created and created[0]["body"]["calendarId"] == "cal-prod-7"


def test_a_mirror_event_needs_toky_api_key_as_in_the_worker(files, capsys, tmp_path,
                                                           monkeypatch):
    field_map, _ = files
    monkeypatch.delenv("TOKY_API_KEY", raising=False)
    # Given no TOKY_API_KEY: the worker dead-letters GHL -> Toky events
    status, results, _err = _check(capsys, tmp_path, field_map, MIRRORED)
    assert status == 1 and results[0]["outcome"] == "dead_lettered"
    assert "TOKY_API_KEY is not set" in results[0]["detail"]
    # When the key is set, the dry run shows the Toky writes, answered by the simulator
    monkeypatch.setenv("TOKY_API_KEY", "toky-key-for-check-map")
    status, results, err = _check(capsys, tmp_path, field_map, MIRRORED)
    assert status == 0 and results[0]["outcome"] == "applied", results[0]["detail"]
    toky = [r for r in results[0]["requests"] if r["api"] == "Toky"]
    assert any(r["method"] in {"POST", "PUT"} for r in toky)
    assert "toky-key-for-check-map" not in json.dumps(results) + err


def test_scopes_come_from_ghl_scopes_unless_all_scopes_is_asked(files, capsys, tmp_path,
                                                               monkeypatch):
    field_map, _ = files
    field_map.write_text("tags:\n  - add: [toky]\n")
    monkeypatch.setenv("GHL_SCOPES", "contacts.readonly")
    # Given the default scopes: the worker refuses every write before sending it
    status, results, _err = _check(capsys, tmp_path, field_map, EVENTS[0])
    assert status == 1 and results[0]["outcome"] == "dead_lettered"
    assert "missing scope contacts.write" in results[0]["detail"]
    assert results[0]["requests"] == []
    # When every scope is granted for the preview, the requests are shown
    status, results, _err = _check(capsys, tmp_path, field_map, EVENTS[0],
                                   extra=("--all-scopes",))
    assert status == 0 and results[0]["outcome"] == "applied"
    sent = {(r["method"], r["path"]) for r in results[0]["requests"]}
    assert ("POST", "/contacts/upsert") in sent
