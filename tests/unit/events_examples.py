"""Example events for the producer tests: the contract's table as data."""

from __future__ import annotations

from pathlib import Path

#: A copy of the contract's samples.ndjson (the contract lives outside the repository).
SAMPLES = Path(__file__).with_name("contract_samples.ndjson")

PHONE = "+14155550134"

#: The contract's table, transcribed: the minimal valid data of each type
#: (its required fields only).
MINIMAL = {
    "contact.created": {"phone": PHONE},
    "contact.updated": {"phone": PHONE},
    "contact.deleted": {"phone": PHONE},
    "contact.tags_added": {"phone": PHONE, "tags": ["vip"]},
    "contact.tags_removed": {"phone": PHONE, "tags": ["vip"]},
    "call.ended": {"callid": "c-1", "direction": "inbound", "state": "missed"},
    "voicemail.created": {"id": "vm-1", "from_number": PHONE},
    "sms.received": {"id": "sms-1", "from_number": PHONE, "to_number": "+14155550100",
                     "text": "hi"},
    "sms.sent": {"id": "sms-2", "from_number": "+14155550100", "to_number": PHONE, "text": "ok"},
    "task.created": {"task_id": "tk-1", "phone": PHONE},
    "task.updated": {"task_id": "tk-1", "phone": PHONE},
    "task.completed": {"task_id": "tk-1", "phone": PHONE},
    "task.deleted": {"task_id": "tk-1", "phone": PHONE},
    "note.created": {"note_id": "nt-1", "phone": PHONE, "body": "Called back."},
    "note.updated": {"note_id": "nt-1", "phone": PHONE, "body": "Called back twice."},
    "note.deleted": {"note_id": "nt-1", "phone": PHONE},
    "appointment.created": {"appointment_id": "ap-1", "phone": PHONE,
                            "start": "2026-11-05T18:00:00-08:00"},
    "appointment.updated": {"appointment_id": "ap-1", "phone": PHONE,
                            "start": "2026-11-05T18:00:00-08:00"},
    "appointment.cancelled": {"appointment_id": "ap-1", "phone": PHONE},
    # Extension (README, "Events added to the contract"): the GHL → Toky mirror.
    "ghl.contact.created": {"id": "ghl-1"},
    "ghl.contact.updated": {"id": "ghl-1"},
}

#: Every optional field of the table, with a valid value, per type.
OPTIONAL = {
    "contact.created": {"contact_name": "Ana María López", "email": "Ana@Example.com",
                        "city": "Austin", "country_code": "US", "tags": ["lead"]},
    "call.ended": {"from_number": PHONE, "to_number": "+14155550100", "duration": 184,
                   "date": "2026-11-02 10:00:00", "agent": "sam@company.test",
                   "agent_name": "Sam", "record_url": "https://x.test/r/1",
                   "contact_name": "Lena", "contact_email": "lena@example.com"},
    "voicemail.created": {"to_number": "+14155550100", "date": "2026-11-02 11:01:00",
                          "duration": 21, "record_url": "https://x.test/v/1",
                          "agent": "sam@company.test"},
    "sms.received": {"date": "2026-11-02 12:00:00", "agent": "sam@company.test"},
    "task.created": {"title": "Send proposal", "body": "Q1", "due_date": "2026-11-04T17:00:00Z",
                     "completed": False, "assignee": "sam@company.test"},
    "task.completed": {"completed": False},
    "note.created": {"agent": "sam@company.test"},
    "appointment.created": {"end": "2026-11-05T18:30:00-08:00", "title": "Review",
                            "assignee": "sam@company.test", "status": "confirmed"},
    "ghl.contact.updated": {"phone": PHONE, "name": "Gina Hall", "firstName": "Gina",
                            "lastName": "Hall", "email": "gina@example.com", "city": "Austin",
                            "country": "US", "dateAdded": "2026-11-01T10:00:00.000Z",
                            "dateUpdated": "2026-11-02T10:00:00.123Z", "phone_raw": ""},
}


def envelope(event_type: str, data: dict, **overrides) -> dict:
    event = {"id": "evt-1", "type": event_type, "occurred_at": "2026-11-02T10:00:00Z",
             "data": data}
    event.update(overrides)
    return event
