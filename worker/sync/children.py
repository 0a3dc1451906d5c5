"""Notes, tasks and appointments written once each (guarantee 2, no duplicates).

The id map says which GHL object stands for a Toky object. A create writes an
intent first and the id map entry right after; a create that finds an intent
but no entry (an earlier attempt may have created the object and lost the
answer) first lists the contact's objects and adopts the one carrying the
Toky key. So the normal path costs exactly one GHL call per child.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from clients.ghl.api import GhlRecords
from clients.ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlError,
    GhlNotFoundError,
    GhlRateLimitedError,
)
from worker.idmap import Child, IdMap
from worker.mapping import carries_marker, marker
from worker.mapping.appointments import same_appointment
from worker.sync.context import SyncContext
from worker.sync.ensure_contact import with_contact
from worker.sync.outcome import Outcome
from worker.sync.task_update import full_task_update

#: The start of every Toky key marker (``[toky:``).
MARKER_PREFIX = marker("")[:-1]


@dataclass(frozen=True)
class ChildKind:
    """How one kind of GHL child is created, updated, deleted, listed and recognised."""

    name: str
    #: (client, contact id, payload) → object
    create: Callable[[GhlRecords, str, dict[str, Any]], dict[str, Any]]
    update: Callable[[GhlRecords, Child, dict[str, Any]], object]
    listing: Callable[[GhlRecords, str], list[dict[str, Any]]]  # (client, contact id) → objects
    key_text: Callable[[dict[str, Any]], str | None]  # the text of an object carrying its Toky key
    delete: Callable[[GhlRecords, Child], object] | None = None  # None: GHL objects never deleted
    #: (listed object, create payload) → True when it is the object the payload makes,
    #: for a listing that may not show the key (None: the key alone recognises it).
    same_object: Callable[[dict[str, Any], dict[str, Any]], bool] | None = None


NOTE = ChildKind(
    "note",
    create=lambda c, cid, p: c.create_note(cid, p),
    update=lambda c, ch, p: c.update_note(ch.contact_id, ch.ghl_id, p),
    delete=lambda c, ch: c.delete_note(ch.contact_id, ch.ghl_id),
    listing=lambda c, cid: c.list_notes(cid),
    key_text=lambda obj: obj.get("body"),
)
TASK = ChildKind(
    "task",
    create=lambda c, cid, p: c.create_task(cid, p),
    update=lambda c, ch, p: full_task_update(c, ch, p),
    delete=lambda c, ch: c.delete_task(ch.contact_id, ch.ghl_id),
    listing=lambda c, cid: c.list_tasks(cid),
    key_text=lambda obj: obj.get("body"),
)
APPOINTMENT = ChildKind(
    "appointment",
    create=lambda c, cid, p: c.create_appointment({**p, "contactId": cid}),
    update=lambda c, ch, p: c.update_appointment(ch.ghl_id, p),
    listing=lambda c, cid: c.list_contact_appointments(cid),
    # The key is in the description; GHL's list of a contact's appointments
    # (GetEventSchema, apps/contacts.json) has ``notes``, not ``description``:
    # whether notes carries it is UNCONFIRMED, so an appointment is also
    # recognised by its calendar and start time (the contact is the listing's).
    key_text=lambda obj: obj.get("description") or obj.get("notes"),
    same_object=same_appointment,
)


def _find(ctx: SyncContext, kind: ChildKind, key: str, contact_id: str,
          payload: dict[str, Any]) -> str | None:
    try:
        objects = kind.listing(ctx.client, contact_id)
    except GhlNotFoundError:  # the contact itself is gone: so is anything made on it
        return None
    for obj in objects or []:
        if carries_marker(kind.key_text(obj), key):
            return cast(str | None, obj["id"])
    if kind.same_object is None:
        return None
    for obj in objects or []:  # no key shown: the same object by what it is (never one
        # that carries another Toky key)
        if MARKER_PREFIX not in (kind.key_text(obj) or "") and kind.same_object(obj, payload):
            return cast(str | None, obj["id"])
    return None


def surely_unwritten(error: GhlError) -> bool:
    """True when a failed create surely wrote nothing: never sent (connection refused,
    scope or local rate limit), refused before any work (429, 401) or no such contact
    (404). A 5xx, a timeout after sending or a 400/422 may still have written."""
    if isinstance(error, GhlConnectionError):
        return not error.maybe_sent
    return isinstance(error, GhlRateLimitedError | GhlAuthError | GhlNotFoundError)


def create_once(
    ctx: SyncContext, kind: ChildKind, key: str, payload: dict[str,
                                                               Any], *, contact_id: str, phone: str,
) -> tuple[Child, bool]:
    """Create ``key``'s object on ``contact_id`` unless an earlier attempt did.

    Returns (the child, True when an object an earlier attempt made was adopted).
    """
    ids = IdMap.for_context(ctx)
    earlier = ids.intent(key, phone)
    if earlier is not None:
        found = _find(ctx, kind, key, earlier, payload)
        if found is not None:
            child = Child(found, earlier)
            ids.put(key, child, phone)
            ctx.log.info("adopted what an earlier attempt made", kind=kind.name, ghl_id=found)
            return child, True
    ids.mark_intent(key, contact_id, phone)
    try:
        created = kind.create(ctx.client, contact_id, payload)
    except GhlError as exc:
        if surely_unwritten(exc):  # the retry needs no look in GHL first
            ids.clear_intent(key, phone)
        raise
    child = Child(created["id"], contact_id)
    ids.put(key, child, phone, indexed=True)  # mark_intent indexed it just before
    return child, False


def write_child(
    ctx: SyncContext, kind: ChildKind, key: str, payload: dict[str, Any], *, phone: str,
    update_payload: dict[str, Any] | None = None, name: str | None = None, email: str | None = None,
) -> tuple[Child, str]:
    """Make GHL hold ``key``'s object: update the mapped one, else create it once.

    ``update_payload`` (default ``payload``) is sent to an object that exists;
    ``name``/``email`` are used when the contact must be made. Returns the
    child and what was done: "updated", "created" or "adopted".
    """
    ids = IdMap.for_context(ctx)
    update_payload = payload if update_payload is None else update_payload
    child = ids.get(key)
    if child is not None:
        try:
            kind.update(ctx.client, child, update_payload)
            return child, "updated"
        except GhlNotFoundError:
            ctx.log.info("mapped object gone from GHL, making it again", kind=kind.name,
                         ghl_id=child.ghl_id)
            ids.forget(key, phone)
    _, (child, adopted) = with_contact(
        phone, ctx, lambda cid: create_once(ctx, kind, key, payload, contact_id=cid, phone=phone),
        name=name, email=email)
    if adopted:
        kind.update(ctx.client, child, update_payload)
        return child, "adopted"
    return child, "created"


def delete_child(ctx: SyncContext, kind: ChildKind, key: str) -> Outcome:
    """Delete ``key``'s object; GHL never having it, or no longer, is fine."""
    assert kind.delete is not None, f"{kind.name}s are not deleted"
    ids = IdMap.for_context(ctx)
    child = ids.get(key)
    if child is None:
        return Outcome.skipped(f"GHL has no {kind.name} for {key}")
    try:
        kind.delete(ctx.client, child)
        detail = f"{kind.name} deleted"
    except GhlNotFoundError:
        detail = f"{kind.name} already gone from GHL"
    ids.forget(key)
    return Outcome.applied(detail, **{kind.name: child.ghl_id})
