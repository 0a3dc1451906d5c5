"""The contract's samples, in order, through the handlers: their effects and their cost."""

from __future__ import annotations

from contract.events import EVENT_TYPES
from tests.unit.sync_support import apply_counting, make_context, samples
from worker.sync import HANDLERS

LENA = "+14155550134"
CALLER = "+14155550177"

#: The GHL calls each sample costs on the normal path.
EXPECTED_CALLS = {
    "s-001": ["search_duplicate", "upsert_contact"],  # who has the email? (guarantee 3)
    "s-002": ["update_contact"],
    "s-003": ["add_tags"],
    "s-004": ["create_note"],
    "s-005": ["upsert_contact", "create_note", "create_task"],
    "s-006": ["create_note", "create_task"],
    "s-007": ["create_note"],
    "s-008": ["create_task"],
    "s-009": ["complete_task"],
    "s-010": ["create_note"],
    "s-011": ["create_appointment"],
    "s-012": ["delete_contact"],
}


def test_every_contract_event_type_has_a_handler() -> None:
    assert set(HANDLERS) == set(EVENT_TYPES)


def test_samples_in_order() -> None:
    # Given an empty sub-account, an agent map and a calendar
    ctx = make_context(field_map={"agents": {"sam@company.test": "u-sam"}},
                       followup_due_minutes=60)
    # When every sample is applied in order
    costs = {}
    for event_id, ev in samples().items():
        outcome, calls = apply_counting(ev, ctx)
        assert outcome.status == "applied", (event_id, outcome)
        costs[event_id] = calls
    # Then each cost what the normal path should
    assert costs == EXPECTED_CALLS
    # And GHL holds exactly the contract's effects: Lena's one contact ...
    client = ctx.client
    assert client.contact_by_phone(CALLER) is None  # s-012 deleted the caller
    (lena,) = client.contacts.values()
    assert (lena["name"], lena["email"], lena["city"]) == \
        ("Lena Park-Moreau", "lena@example.com", "San Francisco")
    assert set(lena["tags"]) == {"inbound", "priority"}
    # ... with a call note, an sms note and a Toky note ...
    bodies = [n["body"] for n in client.notes_of(lena["id"])]
    assert len(bodies) == 3
    assert any("[toky:call:8c1e5d02-77a1-4f5e-9d1c-0b7f3c2a9e11]" in b for b in bodies)
    assert any("[toky:sms:sms-9001]" in b for b in bodies)
    assert any(b.startswith("Decision maker is the CFO.") for b in bodies)
    # ... one completed task, and one appointment on the calendar
    (task,) = client.tasks_of(lena["id"])
    assert (task["title"], task["completed"], task["assignedTo"]) == \
        ("Send proposal", True, "u-sam")
    (appointment,) = client.appointments.values()
    assert appointment["contactId"] == lena["id"]
