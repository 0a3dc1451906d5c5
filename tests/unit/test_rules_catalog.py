"""The catalogue: generated from the registry, fresh in docs/, and every action it lists
exercised against the GHL simulator (the real client, the real engine, the simulator's
Flask app answering in process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from contract.events import validate_event
from tests.unit.rules_support import DOCS
from toky_ghl.settings import Settings
from worker.dryrun import DryRun
from worker.fieldmap import load_field_map
from worker.rules import ACTIONS, TRIGGERS
from worker.rules.catalog import catalog_markdown
from worker.rules.loader import compile_rules, default_rules

PHONE = "+15125550101"
REPO = Path(__file__).resolve().parents[2]


def test_docs_catalog_is_what_the_registry_generates():
    assert (DOCS / "catalog.md").read_text() == catalog_markdown(), (
        "docs/catalog.md is stale: run `toky-ghl catalog --markdown > docs/catalog.md`")


def test_every_action_and_trigger_has_an_entry_with_requests_and_scopes(capsys):
    assert main(["catalog", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listed["actions"]] == list(ACTIONS)
    assert [t["event"] for t in listed["triggers"]] == list(TRIGGERS)
    for action in listed["actions"]:
        assert action["scopes"] and action["requests"] and action["idempotent"], action["name"]
    call = next(t for t in listed["triggers"] if t["event"] == "call.ended")
    assert {"name": "duration", "type": "number", "required": False} in call["fields"]


def ev(n: int, kind: str, **data) -> dict:
    return validate_event({"id": f"e{n}", "type": kind,
                           "occurred_at": f"2026-11-26T18:{n:02d}:00Z", "data": data})


CONTACT = ("contact.created", {"phone": PHONE, "contact_name": "Ana Lopez", "tags": ["lead"]})
CALL = ("call.ended", {"callid": "c1", "direction": "inbound", "state": "missed",
                       "from_number": PHONE, "agent": "bob@example.com", "duration": 0})


def loc(dry: DryRun) -> dict:
    return dry.sim.state()["locations"][dry.settings.ghl_location_id]


def contact(dry: DryRun) -> dict:
    [found] = [c for c in loc(dry)["contacts"] if c["phone"] == PHONE]
    return found


#: action → (events, the rule's action parameters or None for the built-in rules,
#: a check of the simulator's state after the LAST event). The contract's actions run
#: through the built-in rules; the others through one rule on the last event.
EXERCISES = {
    "sync_contact": ([CONTACT], None, lambda d: contact(d)["name"] == "Ana Lopez"),
    "delete_contact": ([CONTACT, ("contact.deleted", {"phone": PHONE})], None,
                       lambda d: loc(d)["contacts"] == []),
    "add_event_tags": ([CONTACT, ("contact.tags_added", {"phone": PHONE, "tags": ["vip"]})],
                       None, lambda d: "vip" in contact(d)["tags"]),
    "remove_event_tags": ([CONTACT, ("contact.tags_removed", {"phone": PHONE,
                                                               "tags": ["lead"]})],
                          None, lambda d: "lead" not in contact(d)["tags"]),
    "log_call": ([CALL], None, lambda d: len(loc(d)["notes"]) == 1 and len(loc(d)["tasks"]) == 1),
    "log_voicemail": ([("voicemail.created", {"id": "v1", "from_number": PHONE})], None,
                      lambda d: len(loc(d)["notes"]) == 1 and len(loc(d)["tasks"]) == 1),
    "log_sms": ([("sms.received", {"id": "s1", "from_number": PHONE,
                                   "to_number": "+15125550199", "text": "hi"})], None,
                lambda d: "hi" in loc(d)["notes"][0]["body"]),
    "sync_task": ([("task.created", {"task_id": "t1", "phone": PHONE, "title": "Quote"})], None,
                  lambda d: loc(d)["tasks"][0]["title"] == "Quote"),
    "complete_task": ([("task.created", {"task_id": "t1", "phone": PHONE, "title": "Quote"}),
                       ("task.completed", {"task_id": "t1", "phone": PHONE})], None,
                      lambda d: loc(d)["tasks"][0]["completed"] is True),
    "delete_task": ([("task.created", {"task_id": "t1", "phone": PHONE, "title": "Quote"}),
                     ("task.deleted", {"task_id": "t1", "phone": PHONE})], None,
                    lambda d: loc(d)["tasks"] == []),
    "sync_note": ([("note.created", {"note_id": "n1", "phone": PHONE, "body": "Nice"})], None,
                  lambda d: "Nice" in loc(d)["notes"][0]["body"]),
    "delete_note": ([("note.created", {"note_id": "n1", "phone": PHONE, "body": "Nice"}),
                     ("note.deleted", {"note_id": "n1", "phone": PHONE})], None,
                    lambda d: loc(d)["notes"] == []),
    "sync_appointment": ([("appointment.created", {"appointment_id": "a1", "phone": PHONE,
                                                   "start": "2026-12-01T15:00:00Z"})], None,
                         lambda d: len(loc(d)["appointments"]) == 1),
    "cancel_appointment": ([("appointment.created", {"appointment_id": "a1", "phone": PHONE,
                                                     "start": "2026-12-01T15:00:00Z"}),
                            ("appointment.cancelled", {"appointment_id": "a1",
                                                       "phone": PHONE})], None,
                           lambda d: loc(d)["appointments"][0]["appointmentStatus"]
                           == "cancelled"),
    "add_tags": ([CONTACT, CALL], {"tags": ["called", "{{ data.state }}"]},
                 lambda d: {"called", "missed"} <= set(contact(d)["tags"])),
    "remove_tags": ([CONTACT, CALL], {"tags": ["lead"]},
                    lambda d: "lead" not in contact(d)["tags"]),
    "update_contact": ([CONTACT, CALL], {"fields": {"source": "Toky call {{ data.callid }}"}},
                       lambda d: contact(d)["source"] == "Toky call c1"),
    # a DND for Call keeps the Email one set before it (the simulator replaces the object)
    "set_dnd": ([CONTACT, CALL],
                {"channel": "Call", "status": "active"},
                lambda d: contact(d)["dndSettings"] == {"Email": {"status": "permanent"},
                                                        "Call": {"status": "active"}}),
    "add_followers": ([CONTACT, CALL], {"followers": ["userA000000000000001"]},
                      lambda d: loc(d)["followers"][contact(d)["id"]] == ["userA000000000000001"]),
    "remove_followers": ([CONTACT, CALL], {"followers": ["userA000000000000001"]},
                         lambda d: loc(d)["followers"].get(contact(d)["id"], []) == []),
    "add_to_workflow": ([CONTACT, CALL], {"workflow_id": "wf1"},
                        lambda d: contact(d)["id"] in loc(d)["workflows"]["wf1"]),
    "remove_from_workflow": ([CONTACT, CALL], {"workflow_id": "wf1"},
                             lambda d: contact(d)["id"] not in loc(d)["workflows"].get("wf1", {})),
    "add_to_campaign": ([CONTACT, CALL], {"campaign_id": "cp1"},
                        lambda d: contact(d)["id"] in loc(d)["campaigns"]["cp1"]),
    "remove_from_campaign": ([CONTACT, CALL], {"campaign_id": "cp1"},
                             lambda d: contact(d)["id"] not in loc(d)["campaigns"].get("cp1", {})),
    "create_task": ([CONTACT, CALL], {"title": "Call {{ data.from_number }}", "due_in": "15m"},
                    lambda d: [t for t in loc(d)["tasks"] if t["title"] == f"Call {PHONE}"]
                    [0]["dueDate"].startswith("2026-11-26T18:16:00")),
    "book_appointment": ([CONTACT, CALL], {"title": "Call {{ data.from_number }}",
                                           "start_in": "2h", "length": "15m"},
                         lambda d: [(a["title"], a["startTime"][:19], a["endTime"][:19])
                                    for a in loc(d)["appointments"]]
                         == [(f"Call {PHONE}", "2026-11-26T20:01:00", "2026-11-26T20:16:00")]),
    "create_note": ([CONTACT, CALL], {"body": "Missed: {{ data.callid }}"},
                    lambda d: any(n["body"].startswith("Missed: c1") for n in loc(d)["notes"])),
    # two calls: the first creates the opportunity in its stage, the second moves it
    "move_opportunity": ([CONTACT, CALL, ("call.ended", {**CALL[1], "callid": "c2"})],
                         {"pipeline_id": "p1", "stage_id": "stage-{{ data.callid }}"},
                         lambda d: [(o["pipelineId"], o["pipelineStageId"], o["contactId"])
                                    for o in loc(d)["opportunities"]]
                         == [("p1", "stage-c2", contact(d)["id"])]),
}
#: Exercised elsewhere against the Toky simulator (the GHL → Toky direction).
ELSEWHERE = {"mirror_contact_to_toky": "tests/integration/test_mirror_loop.py"}

SMS = ("sms.received", {"id": "s1", "from_number": PHONE, "to_number": "+15125550199",
                        "text": "hi"})
#: A missed call creates a task, a note and an appointment, each named by a key.
CREATES = {"name": "named on the call", "when": {"event": "call.ended"}, "do": [
    {"create_task": {"title": "Call back", "key": "cb-{{ data.from_number }}"}},
    {"create_note": {"body": "Missed {{ data.callid }}", "key": "miss-{{ data.from_number }}"}},
    {"book_appointment": {"title": "Callback", "start_in": "1d",
                          "key": "appt-{{ data.from_number }}"}}]}
TASK_KEY, NOTE_KEY, APPT_KEY = ("cb-{{ data.from_number }}", "miss-{{ data.from_number }}",
                                "appt-{{ data.from_number }}")


def only(d: DryRun, kind: str) -> dict:
    [found] = loc(d)[kind]
    return found


#: action → (the action's parameters on the SMS that follows the call, a check): the
#: actions that change an object a rule made, reaching it by its key on another event.
KEYED_EXERCISES = {
    "update_task": ({"key": TASK_KEY, "title": "Texted: {{ data.text }}", "due_in": "2h",
                     "completed": True},
                    lambda d: (only(d, "tasks")["title"], only(d, "tasks")["dueDate"][:19],
                               only(d, "tasks")["completed"])
                    == ("Texted: hi", "2026-11-26T20:02:00", True)),
    "complete_task": ({"key": TASK_KEY}, lambda d: only(d, "tasks")["completed"] is True),
    "delete_task": ({"key": TASK_KEY}, lambda d: loc(d)["tasks"] == []),
    "update_note": ({"key": NOTE_KEY, "body": "Then texted {{ data.text }}"},
                    lambda d: only(d, "notes")["body"].startswith("Then texted hi\n")),
    "delete_note": ({"key": NOTE_KEY}, lambda d: loc(d)["notes"] == []),
    "update_appointment": ({"key": APPT_KEY, "title": "Moved", "start_in": "2h",
                            "length": "15m", "status": "confirmed"},
                           lambda d: (only(d, "appointments")["title"],
                                      only(d, "appointments")["startTime"][:19],
                                      only(d, "appointments")["endTime"][:19],
                                      only(d, "appointments")["appointmentStatus"])
                           == ("Moved", "2026-11-26T20:02:00", "2026-11-26T20:17:00",
                               "confirmed")),
    "cancel_appointment": ({"key": APPT_KEY},
                           lambda d: only(d, "appointments")["appointmentStatus"]
                           == "cancelled"),
}
#: action → (events, its parameters on the last one, a check): the update actions on
#: the object the event itself is about (no key), after the built-in rules made it.
OWN_OBJECT_EXERCISES = {
    "update_task": ([("task.created", {"task_id": "t1", "phone": PHONE, "title": "Quote"}),
                     ("task.updated", {"task_id": "t1", "phone": PHONE, "title": "Quote 2"})],
                    {"assignee": "userA000000000000001", "due_in": "1d"},
                    lambda d: (only(d, "tasks")["assignedTo"], only(d, "tasks")["dueDate"][:19])
                    == ("userA000000000000001", "2026-11-27T18:01:00")),
    "update_note": ([("note.created", {"note_id": "n1", "phone": PHONE, "body": "Nice"}),
                     ("note.updated", {"note_id": "n1", "phone": PHONE, "body": "Nicer"})],
                    {"body": "Rewritten: {{ data.body }}"},
                    lambda d: only(d, "notes")["body"].startswith("Rewritten: Nicer")),
    "update_appointment": ([("appointment.created", {"appointment_id": "a1", "phone": PHONE,
                                                     "start": "2026-12-01T15:00:00Z"}),
                            ("appointment.updated", {"appointment_id": "a1", "phone": PHONE,
                                                     "start": "2026-12-01T15:00:00Z"})],
                           {"status": "showed"},
                           lambda d: only(d, "appointments")["appointmentStatus"] == "showed"),
}


def test_every_action_in_the_registry_is_exercised():
    """Fails when an action is added to the registry without a test against the simulator
    (and an action taking key: without one reaching an object by its key)."""
    assert set(EXERCISES) | set(KEYED_EXERCISES) | set(ELSEWHERE) == set(ACTIONS)
    assert set(KEYED_EXERCISES) == {a.name for a in ACTIONS.values() if a.keyed}
    assert set(OWN_OBJECT_EXERCISES) == {a.name for a in ACTIONS.values()
                                         if a.keyed and a.name not in EXERCISES}
    for path in ELSEWHERE.values():
        assert "ghl.contact" in (REPO / path).read_text()


def _exercise(events, rules, check) -> None:
    """``events`` through ``rules`` against the simulator: each applied, the last one
    writing, and ``check`` of the simulator's state true."""
    dry = DryRun(Settings.from_env({}), load_field_map(None), rules)
    try:
        results = [dry.apply(ev(n, kind, **data)) for n, (kind, data) in enumerate(events)]
        assert [r.kind for r in results] == ["applied"] * len(events), [r.detail
                                                                         for r in results]
        assert check(dry), loc(dry)
        assert any(req.is_write for req in results[-1].requests)
    finally:
        dry.close()


@pytest.mark.parametrize("name", sorted(KEYED_EXERCISES))
def test_keyed_action_reaches_what_a_rule_made_against_the_simulator(name):
    params, check = KEYED_EXERCISES[name]
    rules = compile_rules({"rules": [
        {"when": {"event": CONTACT[0]}, "do": [{"sync_contact": {}}]}, CREATES,
        {"when": {"event": SMS[0]}, "do": [{name: params}]}]}, "test")
    _exercise([CONTACT, CALL, SMS], rules, check)


@pytest.mark.parametrize("name", sorted(OWN_OBJECT_EXERCISES))
def test_update_action_on_the_events_own_object_against_the_simulator(name):
    events, params, check = OWN_OBJECT_EXERCISES[name]
    first, last = events[0][0], events[-1][0]
    rules = compile_rules({"rules": [{"when": {"event": last}, "do": [{name: params}]}]},
                          "test", base=[r for r in default_rules().rules
                                        if first in r.events])
    _exercise(events, rules, check)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_action_against_the_simulator(name):
    events, params, check = EXERCISES[name]
    rules = None
    if params is not None:
        last = events[-1][0]
        rules = compile_rules({"rules": [{"when": {"event": CONTACT[0]},
                                          "do": [{"sync_contact": {}}]},
                                         {"when": {"event": last}, "do": [{name: params}]}]},
                              "test")
        if name.startswith("remove_"):  # first add what the removal takes away
            adding = name.replace("remove_from_", "add_to_").replace("remove_", "add_")
            rules = compile_rules({"rules": [
                {"when": {"event": CONTACT[0]}, "do": [{"sync_contact": {}}]},
                {"when": {"event": last}, "do": [{adding: params}, {name: params}]}]}, "test")
    dry = DryRun(Settings.from_env({}), load_field_map(None), rules)
    try:
        results = []
        for n, (kind, data) in enumerate(events):
            if n == 1 and name == "set_dnd":  # the contact has a DND on another channel
                with dry.sim.lock:
                    found = dry.sim.location(dry.settings.ghl_location_id).contacts
                    next(iter(found.values()))["dndSettings"] = {"Email": {"status": "permanent"}}
            results.append(dry.apply(ev(n, kind, **data)))
        assert [r.kind for r in results] == ["applied"] * len(events), [r.detail for r in results]
        assert check(dry), loc(dry)
        assert any(req.is_write for req in results[-1].requests)
    finally:
        dry.close()


def test_the_dry_runs_scopes_hold_every_scope_an_event_or_action_needs():
    """``ALL_SCOPES`` stays a list (the dry run also reads the users, the custom fields and
    the calendar events, scopes no event or action declares), but no write an event or an
    action needs may be missing from it: the dry run would refuse it."""
    from contract.event_types import EVENT_SPECS
    from worker.dryrun import ALL_SCOPES
    from worker.rules.actions import TOKY_API_KEY

    declared = ({s for spec in EVENT_SPECS.values() for s in spec.scopes}
                | {s for action in ACTIONS.values() for s in action.scopes}) - {TOKY_API_KEY}
    assert declared <= set(ALL_SCOPES), sorted(declared - set(ALL_SCOPES))
