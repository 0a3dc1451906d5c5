"""A recording, in-memory stand-in for ``clients.ghl.client.GhlClient``.

It keeps contacts, notes, tasks and appointments in dicts, records every call
(``calls``: method names in order), behaves like GHL where the sync layer
relies on it, as the GHL simulator does (upsert and the duplicate search match
by EMAIL first, then phone; a location refuses duplicate contacts unless
``allow_duplicates``; an upsert's or PUT's tags REPLACE the contact's, 404 for
unknown objects, the task's dueDate without milliseconds) and raises the real
error classes. The ``any_ghl`` fixture (tests/unit/conftest.py) runs the same
scenarios against this fake and the simulator behind the real client.
``fail(method, error)`` makes the next call of ``method`` raise ``error``;
``lose_answer(method)`` makes it do its work and then raise a connection error,
like an answer lost on the way back.
"""

from __future__ import annotations

import copy
import itertools
import re

from clients.ghl.api import GhlRecords, Json
from clients.ghl.errors import (
    GhlDuplicateContactError,
    GhlNotFoundError,
    GhlValidationError,
)
from tests.unit.ghl_double import GhlDouble, T

_DUE_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class FakeGhl(GhlDouble):
    def __init__(self) -> None:
        self.contacts: dict[str, Json] = {}
        self.notes: dict[str, Json] = {}
        self.tasks: dict[str, Json] = {}
        self.appointments: dict[str, Json] = {}
        self._start_recording()
        self._ids = itertools.count(1)
        self.allow_duplicates = False  # GHL's "Allow Duplicate Contact" location setting

    def _leave(self, method: str, result: T) -> T:
        return copy.deepcopy(super()._leave(method, result))

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def _contact(self, contact_id: str) -> Json:
        if contact_id not in self.contacts:
            raise GhlNotFoundError("Contact not found", status=404, path=f"/contacts/{contact_id}")
        return self.contacts[contact_id]

    @staticmethod
    def _child(store: dict[str, Json], child_id: str, contact_id: str, kind: str) -> Json:
        obj = store.get(child_id)
        if obj is None or obj.get("contactId") != contact_id:
            raise GhlNotFoundError(f"{kind} not found", status=404, path=f"/{kind}s/{child_id}")
        return obj

    # -- contacts ---------------------------------------------------------------

    def get_contact(self, contact_id: str) -> Json:
        self._enter("get_contact")
        return self._leave("get_contact", self._contact(contact_id))

    def _match(self, email: str | None, phone: str | None, exclude: str | None = None
               ) -> tuple[Json, str] | None:
        """The contact with this email (any case), else with this phone, and the field."""
        wanted = (("email", email.strip().lower() if email else None), ("phone", phone))
        for name, value in wanted:
            for contact in self.contacts.values():
                have = contact.get(name)
                have = have.strip().lower() if name == "email" and have else have
                if value and contact["id"] != exclude and have == value:
                    return contact, name
        return None

    def _refuse_duplicate(self, payload: Json, exclude: str | None = None) -> None:
        match = None if self.allow_duplicates else self._match(
            payload.get("email"), payload.get("phone"), exclude)
        if match:
            raise GhlDuplicateContactError(
                "This location does not allow duplicated contacts.", status=400,
                body={"statusCode": 400, "message": "This location does not allow duplicated "
                      "contacts.", "meta": {"contactId": match[0]["id"],
                                            "matchingField": match[1]}})

    def search_duplicate(self, *, number: str | None = None,
                         email: str | None = None) -> Json | None:
        self._enter("search_duplicate", {"number": number, "email": email})
        match = self._match(email, number)
        return self._leave("search_duplicate", match[0] if match else None)

    def create_contact(self, payload: Json) -> Json:
        self._enter("create_contact", payload)
        self._refuse_duplicate(payload)
        contact = {"id": self._new_id("c"), "tags": [], **copy.deepcopy(payload)}
        self.contacts[contact["id"]] = contact
        return self._leave("create_contact", contact)

    def upsert_contact(self, payload: Json) -> tuple[Json, bool]:
        self._enter("upsert_contact", payload)
        match = self._match(payload.get("email"), payload.get("phone"))
        new = match is None
        found: Json = {"id": self._new_id("c"), "tags": []} if match is None else match[0]
        if new:
            self.contacts[found["id"]] = found
        found.update(copy.deepcopy(payload))
        return self._leave("upsert_contact", (found, new))

    def update_contact(self, contact_id: str, payload: Json) -> Json:
        self._enter("update_contact", payload)
        refused = [f for f in ("locationId", "companyName", "gender") if f in payload]
        if refused:
            raise GhlValidationError([f"property {f} should not exist" for f in refused],
                                     status=422)
        contact = self._contact(contact_id)
        self._refuse_duplicate(payload, exclude=contact_id)
        contact.update(copy.deepcopy(payload))
        return self._leave("update_contact", contact)

    def delete_contact(self, contact_id: str) -> None:
        self._enter("delete_contact")
        self._contact(contact_id)
        del self.contacts[contact_id]
        for store in (self.notes, self.tasks):
            for key in [k for k, v in store.items() if v["contactId"] == contact_id]:
                del store[key]
        return self._leave("delete_contact", None)

    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        self._enter("add_tags", tags)
        contact = self._contact(contact_id)
        contact["tags"] = list(dict.fromkeys([*contact.get("tags", []), *tags]))
        return self._leave("add_tags", contact["tags"])

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        self._enter("remove_tags", tags)
        contact = self._contact(contact_id)
        contact["tags"] = [t for t in contact.get("tags", []) if t not in tags]
        return self._leave("remove_tags", contact["tags"])

    # -- tasks --------------------------------------------------------------------

    @staticmethod
    def _check_due(payload: Json) -> None:
        if "dueDate" in payload and not _DUE_DATE.match(payload["dueDate"]):
            raise GhlValidationError(["dueDate must be YYYY-MM-DDTHH:MM:SSZ"], status=422)

    def list_tasks(self, contact_id: str) -> list[Json]:
        self._enter("list_tasks")
        self._contact(contact_id)
        return self._leave("list_tasks", self.tasks_of(contact_id))

    def get_task(self, contact_id: str, task_id: str) -> Json:
        self._enter("get_task")
        return self._leave("get_task", self._child(self.tasks, task_id, contact_id, "task"))

    def create_task(self, contact_id: str, payload: Json) -> Json:
        self._enter("create_task", payload)
        self._contact(contact_id)
        missing = [f for f in ("title", "dueDate", "completed") if f not in payload]
        if missing:
            raise GhlValidationError([f"{f} should not be empty" for f in missing], status=422)
        self._check_due(payload)
        task = {**copy.deepcopy(payload), "id": self._new_id("t"), "contactId": contact_id}
        self.tasks[task["id"]] = task
        return self._leave("create_task", task)

    def update_task(self, contact_id: str, task_id: str, payload: Json) -> Json:
        self._enter("update_task", payload)
        self._check_due(payload)
        task = self._child(self.tasks, task_id, contact_id, "task")
        task.update(copy.deepcopy(payload))
        return self._leave("update_task", task)

    def complete_task(self, contact_id: str, task_id: str, completed: bool = True) -> Json:
        self._enter("complete_task", {"completed": completed})
        task = self._child(self.tasks, task_id, contact_id, "task")
        task["completed"] = bool(completed)
        return self._leave("complete_task", task)

    def delete_task(self, contact_id: str, task_id: str) -> None:
        self._enter("delete_task")
        self._child(self.tasks, task_id, contact_id, "task")
        del self.tasks[task_id]
        return self._leave("delete_task", None)

    # -- notes --------------------------------------------------------------------

    def list_notes(self, contact_id: str) -> list[Json]:
        self._enter("list_notes")
        self._contact(contact_id)
        return self._leave("list_notes", self.notes_of(contact_id))

    def get_note(self, contact_id: str, note_id: str) -> Json:
        self._enter("get_note")
        return self._leave("get_note", self._child(self.notes, note_id, contact_id, "note"))

    def create_note(self, contact_id: str, payload: Json) -> Json:
        self._enter("create_note", payload)
        self._contact(contact_id)
        if not payload.get("body"):
            raise GhlValidationError(["body should not be empty"], status=422)
        note = {**copy.deepcopy(payload), "id": self._new_id("n"), "contactId": contact_id}
        self.notes[note["id"]] = note
        return self._leave("create_note", note)

    def update_note(self, contact_id: str, note_id: str, payload: Json) -> Json:
        self._enter("update_note", payload)
        note = self._child(self.notes, note_id, contact_id, "note")
        note.update(copy.deepcopy(payload))
        return self._leave("update_note", note)

    def delete_note(self, contact_id: str, note_id: str) -> None:
        self._enter("delete_note")
        self._child(self.notes, note_id, contact_id, "note")
        del self.notes[note_id]
        return self._leave("delete_note", None)

    # -- appointments ---------------------------------------------------------------

    def list_contact_appointments(self, contact_id: str) -> list[Json]:
        self._enter("list_contact_appointments")
        self._contact(contact_id)
        found = [a for a in self.appointments.values() if a["contactId"] == contact_id]
        return self._leave("list_contact_appointments", found)

    def create_appointment(self, payload: Json) -> Json:
        self._enter("create_appointment", payload)
        missing = [f for f in ("calendarId", "contactId", "startTime") if f not in payload]
        if missing:
            raise GhlValidationError([f"{f} should not be empty" for f in missing], status=422)
        self._contact(payload["contactId"])
        appointment = {**copy.deepcopy(payload), "id": self._new_id("a")}
        self.appointments[appointment["id"]] = appointment
        return self._leave("create_appointment", appointment)

    def update_appointment(self, event_id: str, payload: Json) -> Json:
        self._enter("update_appointment", payload)
        if event_id not in self.appointments:
            raise GhlNotFoundError("Appointment not found", status=404,
                                   path=f"/calendars/events/appointments/{event_id}")
        self.appointments[event_id].update(copy.deepcopy(payload))
        return self._leave("update_appointment", self.appointments[event_id])

    def get_appointment(self, event_id: str) -> Json:
        self._enter("get_appointment")
        if event_id not in self.appointments:
            raise GhlNotFoundError("Appointment not found", status=404)
        return self._leave("get_appointment", self.appointments[event_id])


def _meets_the_client_protocol(fake: FakeGhl) -> GhlRecords:
    """Never called: mypy (``make test``) checks here that every method of the fake takes
    and answers what ``GhlClient``'s does (``clients.ghl.api.GhlRecords``)."""
    return fake
