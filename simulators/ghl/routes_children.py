"""A contact's tasks, notes and tags.

Sources: apps/contacts.json (CreateTaskParams: ``title``, ``dueDate``,
``completed`` required; UpdateTaskBody; NotesDTO; TagsDTO; a create answers 201
with ``{"task"}``/``{"note"}``, a delete ``{"succeded": true}``, misspelled as the
spec has it; the tags endpoints answer the contact's tags), reference/ghl-api.md
"Endpoints". ``dueDate`` is read back with milliseconds and refused with them on
update: n8n's HighLevel node strips them ("the api response dueDate has to be
formatted or it will error on update", GenericFunctions.ts). A missing contact,
task or note is answered as ``SimConfig.missing_status`` says (400 or 404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from simulators.ghl import validation as rules
from simulators.ghl.contacts import dedupe
from simulators.ghl.errors import CONTACTS_VERSION, missing
from simulators.ghl.gate import current_location, current_sim, endpoint, validated
from simulators.ghl.records import iso_ms, new_id
from simulators.ghl.routes_contacts import READ, WRITE, contact_of
from simulators.ghl.state import Location

bp = Blueprint("ghl_children", __name__)


def _child(location: Location, kind: dict[str, dict[str, Any]], what: str, contact_id: str,
           item_id: str) -> dict[str, Any]:
    """Task or note ``item_id`` of the contact, or 404 naming the contact or the ``what``."""
    contact_of(location, contact_id)
    item = kind.get(item_id)
    if item is None or item["contactId"] != contact_id:
        raise missing(what, item_id)
    return item


def _task_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Body fields as stored: ``dueDate`` is read back with milliseconds, as GHL does."""
    fields = dict(body)
    if fields.get("dueDate"):
        fields["dueDate"] = fields["dueDate"][:-1] + ".000Z"  # validated: ends in Z
    return fields


# -- tasks -----------------------------------------------------------------------
@bp.get("/contacts/<contact_id>/tasks")
@endpoint(READ, CONTACTS_VERSION)
def list_tasks(contact_id: str) -> ResponseReturnValue:
    location = current_location()
    contact_of(location, contact_id)
    return {"tasks": location.children(location.tasks, contact_id)}


@bp.get("/contacts/<contact_id>/tasks/<task_id>")
@endpoint(READ, CONTACTS_VERSION)
def get_task(contact_id: str, task_id: str) -> ResponseReturnValue:
    location = current_location()
    return {"task": _child(location, location.tasks, "Task", contact_id, task_id)}


@bp.post("/contacts/<contact_id>/tasks")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def create_task(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.CREATE_TASK)
    location = current_location()
    contact_of(location, contact_id)
    task = {"id": new_id(), **_task_fields(body), "contactId": contact_id}
    location.tasks[task["id"]] = task
    return {"task": task}, 201


@bp.put("/contacts/<contact_id>/tasks/<task_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def update_task(contact_id: str, task_id: str) -> ResponseReturnValue:
    body = validated(rules.UPDATE_TASK)
    location = current_location()
    task = _child(location, location.tasks, "Task", contact_id, task_id)
    task.update(_task_fields(body))
    return {"task": task}


@bp.put("/contacts/<contact_id>/tasks/<task_id>/completed")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def complete_task(contact_id: str, task_id: str) -> ResponseReturnValue:
    body = validated(rules.COMPLETE_TASK)
    location = current_location()
    task = _child(location, location.tasks, "Task", contact_id, task_id)
    task["completed"] = body["completed"]
    return {"task": task}


@bp.delete("/contacts/<contact_id>/tasks/<task_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def delete_task(contact_id: str, task_id: str) -> ResponseReturnValue:
    location = current_location()
    _child(location, location.tasks, "Task", contact_id, task_id)
    del location.tasks[task_id]
    return {"succeded": True}


# -- notes -----------------------------------------------------------------------
@bp.get("/contacts/<contact_id>/notes")
@endpoint(READ, CONTACTS_VERSION)
def list_notes(contact_id: str) -> ResponseReturnValue:
    location = current_location()
    contact_of(location, contact_id)
    return {"notes": location.children(location.notes, contact_id)}


@bp.get("/contacts/<contact_id>/notes/<note_id>")
@endpoint(READ, CONTACTS_VERSION)
def get_note(contact_id: str, note_id: str) -> ResponseReturnValue:
    location = current_location()
    return {"note": _child(location, location.notes, "Note", contact_id, note_id)}


@bp.post("/contacts/<contact_id>/notes")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def create_note(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.CREATE_NOTE)
    location = current_location()
    contact_of(location, contact_id)
    note = {"id": new_id(), **body, "dateAdded": iso_ms(current_sim().clock()),
            "contactId": contact_id}
    location.notes[note["id"]] = note
    return {"note": note}, 201


@bp.put("/contacts/<contact_id>/notes/<note_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def update_note(contact_id: str, note_id: str) -> ResponseReturnValue:
    body = validated(rules.UPDATE_NOTE)
    location = current_location()
    note = _child(location, location.notes, "Note", contact_id, note_id)
    note.update(body)
    return {"note": note}


@bp.delete("/contacts/<contact_id>/notes/<note_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def delete_note(contact_id: str, note_id: str) -> ResponseReturnValue:
    location = current_location()
    _child(location, location.notes, "Note", contact_id, note_id)
    del location.notes[note_id]
    return {"succeded": True}


# -- tags ------------------------------------------------------------------------
@bp.post("/contacts/<contact_id>/tags")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def add_tags(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.TAGS)
    contact = contact_of(current_location(), contact_id)
    contact["tags"] = dedupe(contact["tags"] + body["tags"])
    contact["dateUpdated"] = iso_ms(current_sim().clock())
    return {"tags": contact["tags"]}, 201


@bp.delete("/contacts/<contact_id>/tags")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def remove_tags(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.TAGS)
    contact = contact_of(current_location(), contact_id)
    contact["tags"] = [tag for tag in contact["tags"] if tag not in body["tags"]]
    contact["dateUpdated"] = iso_ms(current_sim().clock())
    return {"tags": contact["tags"]}
