"""End to end against the simulators serving the forms the real APIs document: the
Toky simulator (agent in an outbound CDR's `from`, Toky's `name__domain` agent ids,
the recording URL under `record_url`, a filter refusing times, a web call without a
number) over HTTP, `toky-ghl poll --once`, a real worker, the real Redis, and the GHL
simulator over HTTP answering a missing contact 400, holding a custom field named by
key in the field map, and recording the appointment automations it runs."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from simulators.serve import serve_in_thread
from simulators.toky import TokySim, create_app
from tests.integration.harness import REPO, WRITE_SCOPES, wait_until, worker_env

pytestmark = pytest.mark.integration

KEY = "toky-real-forms-key"
ANA = "+15125550101"
LINE = "+15125550000"
SCOPES = f"{WRITE_SCOPES} locations/customFields.readonly"
FIELD_MAP = """\
custom_fields:
  - ghl_key: contact.origin
    toky_field: city
    type: text
agents:
  carlos__acme.com: user-carlos
"""


@pytest.fixture
def toky():
    sim = TokySim(api_key=KEY)
    sim.configure(filter_times="reject", recording_key="record_url")
    with serve_in_thread(create_app(sim)) as server:
        yield sim, f"{server.url}/v1"


def poll_once(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def outbound_call(sim: TokySim, minutes_ago: int) -> dict:
    now = datetime.now(UTC).replace(microsecond=0)
    return sim.add_call(direction="outbound", from_number=LINE, to_number=ANA,
                        agent="carlos@acme.com", duration_s=95,
                        init_dt=now - timedelta(minutes=minutes_ago),
                        recording_url=f"https://rec.example/{minutes_ago}.mp3")


def test_outbound_and_web_calls_reach_ghl_and_a_deleted_contact_is_made_again(
        toky, ghl, pipeline, start_worker, redis_url, tmp_path):
    sim, toky_url = toky
    # Given GHL answering a missing contact 400, with the custom field the map names by key
    ghl.sim.update_config(missing_status=400)
    ghl.sim.add_custom_field(ghl.location_id, "Origin", "contact.origin", field_id="cf-origin")
    field_map = tmp_path / "map.yaml"
    field_map.write_text(FIELD_MAP)
    env = worker_env(redis_url, ghl, TOKY_API_BASE=toky_url, TOKY_API_KEY=KEY,
                     GHL_SCOPES=SCOPES, FIELD_MAP=str(field_map))
    start_worker(**{k: env[k] for k in ("GHL_SCOPES", "FIELD_MAP")})
    # and in Toky: a contact, an answered outbound call by carlos (agent id carlos__acme.com
    # in `from`), and a missed web call without a number
    sim.add_contact(phone=ANA, contact_name="Ana Ruiz", city="Austin")
    first = outbound_call(sim, 90)
    assert first["from"] == "carlos__acme.com"
    sim.add_call(direction="inbound", from_number="", to_number=LINE, web_call=True,
                 disposition_code=487, init_dt=datetime.now(UTC) - timedelta(minutes=60))

    # When the poller runs once (Toky refuses any time in its filter)
    poll_once(env)
    pipeline.wait_handled(3, timeout_s=120)

    # Then Ana's contact has the custom field under its id, and one note for the outbound
    # call, by carlos's GHL user, with the recording; the web call was skipped, not refused
    contact = ghl.contact_by_phone(ANA)
    assert {"id": "cf-origin", "value": "Austin"} in contact["customFields"]
    (note,) = ghl.children_of("notes", ANA)
    assert first["callid"] in note["body"] and "https://rec.example/90.mp3" in note["body"]
    assert note.get("userId") == "user-carlos"
    assert len(ghl.objects("contacts")) == 1
    assert pipeline.stats.snapshot()["skipped"] == 1
    assert pipeline.dead_letters() == []

    # When a GHL user deletes Ana's contact, and Carlos calls her again
    with ghl.sim.lock:
        del ghl.sim.location(ghl.location_id).contacts[contact["id"]]
    second = outbound_call(sim, 5)
    handled = pipeline.handled()
    poll_once(env)
    pipeline.wait_handled(handled + 1, timeout_s=120)

    # Then (GHL answering the old id 400 "not found") the contact is made again, with the note
    again = ghl.contact_by_phone(ANA)
    assert again is not None and again["id"] != contact["id"]
    (note,) = ghl.children_of("notes", ANA)
    assert second["callid"] in note["body"]
    assert pipeline.dead_letters() == []


def test_appointments_from_a_worker_run_no_ghl_automation_and_keep_the_title_clean(
        ghl, pipeline, start_worker):
    # Given a worker with the default GHL_APPOINTMENT_NOTIFY (off)
    start_worker()
    data = {"appointment_id": "ap-1", "phone": ANA, "title": "Proposal review",
            "start": "2026-12-05T18:00:00-08:00"}
    # When an appointment is created, then moved, from Toky
    pipeline.enqueue([
        {"id": "ap-e1", "type": "appointment.created", "occurred_at": "2026-12-01T10:00:00Z",
         "data": data},
        {"id": "ap-e2", "type": "appointment.updated", "occurred_at": "2026-12-01T11:00:00Z",
         "data": {**data, "start": "2026-12-06T09:00:00-08:00"}},
    ])
    pipeline.wait_finished(["ap-e1", "ap-e2"], timeout_s=120)
    wait_until(lambda: ghl.children_of("appointments", ANA)
               and ghl.children_of("appointments", ANA)[0]["startTime"].startswith("2026-12-06"),
               60, "the appointment moved")
    # Then GHL holds one appointment titled as in Toky, the key in its description, and ran
    # no automation (no confirmation, no reminder) for it
    (appointment,) = ghl.children_of("appointments", ANA)
    assert appointment["title"] == "Proposal review"
    assert appointment["description"] == "[toky:appointment:ap-1]"
    assert ghl.objects("automations") == []
    assert pipeline.dead_letters() == []


def test_a_worker_refuses_to_start_with_a_custom_field_key_ghl_does_not_have(
        ghl, redis_url, real_redis, tmp_path):
    # Given a field map naming a custom field key the GHL location does not have
    field_map = tmp_path / "map.yaml"
    field_map.write_text("custom_fields:\n  - {ghl_key: contact.nope, toky_field: city}\n")
    env = worker_env(redis_url, ghl, GHL_SCOPES=SCOPES, FIELD_MAP=str(field_map))
    # When a worker starts
    result = subprocess.run([sys.executable, "-m", "cli.main", "worker"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    # Then it stops with status 2, naming the entry and the key
    assert result.returncode == 2, result.stderr[-2000:]
    assert "custom_fields[0].ghl_key: 'contact.nope' is not a contact custom field" in \
        result.stderr
