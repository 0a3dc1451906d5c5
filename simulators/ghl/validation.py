"""Which body fields each endpoint accepts, and GHL's class-validator style messages.

GHL validates bodies with a whitelist that FORBIDS unknown properties: each
stray field gives ``"property X should not exist"``; all messages of one body
come back together as a LIST in a 422. The field lists below come from the
official spec (GoHighLevel/highlevel-api-docs ``apps/contacts.json``:
CreateContactDto, UpdateContactDto, UpsertContactDto, CreateTaskParams,
UpdateTaskBody, UpdateTaskStatusParams, NotesDTO, UpdateNoteDTO, TagsDTO;
``apps/calendars.json``: AppointmentCreateSchema, AppointmentEditSchema). The
search body is not in the spec (SearchBodyV2DTO is empty); its fields come from
GHL's published search documentation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Checker = Callable[[str, Any], list[str]]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Task ``dueDate``: whole seconds, UTC. GHL refused milliseconds on update (n8n).
_DUE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def string(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, str) else [f"{name} must be a string"]


def boolean(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, bool) else [f"{name} must be a boolean value"]


def number(name: str, value: Any) -> list[str]:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return [] if ok else [f"{name} must be a number conforming to the specified constraints"]


def obj(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, dict) else [f"{name} must be an object"]


def anything(name: str, value: Any) -> list[str]:
    return []


def _list_of(kind: type, noun: str) -> Checker:
    def check(name: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            return [f"{name} must be an array"]
        if all(isinstance(v, kind) for v in value):
            return []
        return [f"each value in {name} must be {noun}"]

    return check


string_list = _list_of(str, "a string")
object_list = _list_of(dict, "an object")


def email(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, str) and _EMAIL.match(value) else [f"{name} must be an email"]


def due_date(name: str, value: Any) -> list[str]:
    if isinstance(value, str) and _DUE_DATE.match(value) and _parses(value):
        return []
    return [f"{name} must be a valid ISO 8601 date string without milliseconds "
            "(YYYY-MM-DDTHH:MM:SSZ)"]


def iso_with_offset(name: str, value: Any) -> list[str]:
    if isinstance(value, str) and _parses(value) and datetime.fromisoformat(value).tzinfo:
        return []
    return [f"{name} must be a valid ISO 8601 date string with a time zone offset"]


def one_of(*allowed: str) -> Checker:
    def check(name: str, value: Any) -> list[str]:
        if value in allowed:
            return []
        return [f"{name} must be one of the following values: {', '.join(allowed)}"]

    return check


def custom_fields(name: str, value: Any) -> list[str]:
    """``[{"id" or "key", "field_value"}]``: the WRITE shape of custom fields.

    Every TYPED custom-field input schema of apps/contacts.json (numeric,
    checkbox, single/multi select, ...) requires ``id``; only the plain
    string-value schema says "either id or key". So a ``key`` without an ``id``
    is taken only with a string value.
    """
    errors = object_list(name, value)
    if errors:
        return errors
    for index, item in enumerate(value):
        path = f"{name}.{index}"
        errors += [f"property {path}.{k} should not exist" for k in item
                   if k not in ("id", "key", "field_value")]
        by_key_only = not item.get("id")
        if by_key_only and not (item.get("key") and isinstance(item.get("field_value"), str)):
            errors.append(f"{path}.id should not be empty")
    return errors


def _parses(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class BodyRule:
    """The fields a body may have (name -> checker) and those it must have."""

    fields: Mapping[str, Checker]
    required: tuple[str, ...] = ()

    def check(self, body: Mapping[str, Any]) -> list[str]:
        """Every message for ``body``: forbidden fields first, then fields in rule order."""
        errors = [f"property {k} should not exist" for k in body if k not in self.fields]
        for name, checker in self.fields.items():
            value = body.get(name)
            if value is None or (value == "" and name in self.required):
                if name in self.required:
                    errors += checker(name, None) if checker is boolean else [
                        f"{name} should not be empty"]
                continue
            errors += checker(name, value)
        return errors


# Shared by UpdateContactDto; the spec's UpdateContactDto has no locationId,
# gender nor companyName, so PUT /contacts/{id} refuses all three.
_CONTACT_UPDATE_FIELDS: dict[str, Checker] = {
    "firstName": string, "lastName": string, "name": string, "email": email,
    "phone": string, "address1": string, "city": string, "state": string,
    "postalCode": string, "website": string, "timezone": string, "dnd": boolean,
    "dndSettings": obj, "inboundDndSettings": obj, "tags": string_list,
    "customFields": custom_fields, "source": string, "dateOfBirth": anything,
    "country": string, "assignedTo": string,
}
_CONTACT_CREATE_FIELDS = {
    **_CONTACT_UPDATE_FIELDS, "locationId": string, "gender": string, "companyName": string,
}

CREATE_CONTACT = BodyRule(_CONTACT_CREATE_FIELDS, ("locationId",))
UPSERT_CONTACT = BodyRule(
    {**_CONTACT_CREATE_FIELDS, "createNewIfDuplicateAllowed": boolean}, ("locationId",))
UPDATE_CONTACT = BodyRule(_CONTACT_UPDATE_FIELDS)

SEARCH_CONTACTS = BodyRule(
    {"locationId": string, "page": number, "pageLimit": number, "searchAfter": anything,
     "filters": object_list, "sort": object_list, "query": string},
    ("locationId", "pageLimit"),
)

_TASK_FIELDS: dict[str, Checker] = {
    "title": string, "body": string, "dueDate": due_date, "completed": boolean,
    "assignedTo": string,
}
CREATE_TASK = BodyRule(_TASK_FIELDS, ("title", "dueDate", "completed"))
UPDATE_TASK = BodyRule(_TASK_FIELDS)
COMPLETE_TASK = BodyRule({"completed": boolean}, ("completed",))

_NOTE_FIELDS: dict[str, Checker] = {
    "userId": string, "body": string, "title": string, "color": string, "pinned": boolean,
}
CREATE_NOTE = BodyRule(_NOTE_FIELDS, ("body",))
UPDATE_NOTE = BodyRule(_NOTE_FIELDS)

TAGS = BodyRule({"tags": string_list}, ("tags",))

APPOINTMENT_STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")
_APPOINTMENT_EDIT_FIELDS: dict[str, Checker] = {
    "title": string,
    "meetingLocationType": one_of("custom", "zoom", "gmeet", "phone", "address", "ms_teams",
                                  "google"),
    "meetingLocationId": string, "overrideLocationConfig": boolean,
    "appointmentStatus": one_of(*APPOINTMENT_STATUSES), "assignedUserId": string,
    "description": string, "address": string, "ignoreDateRange": boolean, "toNotify": boolean,
    "ignoreFreeSlotValidation": boolean, "rrule": string, "calendarId": string,
    "startTime": iso_with_offset, "endTime": iso_with_offset,
}
CREATE_APPOINTMENT = BodyRule(
    {**_APPOINTMENT_EDIT_FIELDS, "locationId": string, "contactId": string},
    ("calendarId", "locationId", "contactId", "startTime"),
)
UPDATE_APPOINTMENT = BodyRule(_APPOINTMENT_EDIT_FIELDS)


def query_int(
    args: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> tuple[int, list[str]]:
    """Query parameter ``name`` as a whole number within bounds, with class-validator messages."""
    raw = args.get(name)
    if raw in (None, ""):
        return default, []
    try:
        value = int(raw)
    except ValueError:
        return default, [f"{name} must be a number conforming to the specified constraints"]
    if value < minimum:
        return default, [f"{name} must not be less than {minimum}"]
    if maximum is not None and value > maximum:
        return default, [f"{name} must not be greater than {maximum}"]
    return value, []


# Automations (apps/contacts.json CreateWorkflowDto, AddContactToCampaignDto, FollowersDTO;
# apps/opportunities.json CreateDto and UpdateOpportunityDto).
WORKFLOW = BodyRule({"eventStartTime": iso_with_offset})
CAMPAIGN = BodyRule({})
FOLLOWERS = BodyRule({"followers": string_list}, ("followers",))
OPPORTUNITY_STATUSES = ("open", "won", "lost", "abandoned", "all")


def opportunity_status(name: str, value: Any) -> list[str]:
    if value in OPPORTUNITY_STATUSES:
        return []
    return [f"{name} must be one of the following values: {', '.join(OPPORTUNITY_STATUSES)}"]


_OPPORTUNITY_FIELDS: dict[str, Checker] = {
    "pipelineId": string, "name": string, "pipelineStageId": string,
    "status": opportunity_status, "monetaryValue": number, "assignedTo": string,
    "customFields": object_list,
}
CREATE_OPPORTUNITY = BodyRule(
    {**_OPPORTUNITY_FIELDS, "locationId": string, "contactId": string},
    ("pipelineId", "locationId", "name", "status", "contactId"))
UPDATE_OPPORTUNITY = BodyRule(_OPPORTUNITY_FIELDS)
