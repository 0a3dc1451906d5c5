"""Contacts: get, list, search, duplicate lookup, create, upsert, update, delete.

Sources: apps/contacts.json and reference/ghl-api.md "Endpoints": POST /contacts/
answers 201 ``{"contact"}``; POST /contacts/upsert 200 ``{"new", "contact",
"traceId"}``; PUT /contacts/{id} 200 ``{"succeded": true, "contact"}`` and refuses
``locationId`` (UpdateContactDto has none); GET /contacts/ is deprecated but
served, ``limit`` at most 100 ("will allow maximum up to 100"), paged by
``startAfterId``/``startAfter`` with ``meta`` as n8n reads it
(HighLevel/v2 GenericFunctions.ts ``highLevelApiPagination``); GET
/contacts/search/duplicate's answer shape is UNCONFIRMED (``{"contact": …}``).
A missing contact is answered as ``SimConfig.missing_status`` says (400 or 404).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from simulators.ghl import validation as rules
from simulators.ghl.contacts import (
    apply_fields,
    find_match,
    list_after,
    matches_query,
    new_contact,
)
from simulators.ghl.errors import CONTACTS_VERSION, bad_request, missing, unprocessable
from simulators.ghl.gate import (
    current_location,
    current_sim,
    endpoint,
    required_location_id,
    validated,
)
from simulators.ghl.records import epoch_ms, iso_from_ms
from simulators.ghl.search import search
from simulators.ghl.state import Location

READ, WRITE = "contacts.readonly", "contacts.write"
bp = Blueprint("ghl_contacts", __name__)


def contact_of(location: Location, contact_id: str) -> dict[str, Any]:
    """The location's contact ``contact_id``, or 404 (also for another location's contact)."""
    contact = location.contacts.get(contact_id)
    if contact is None:
        raise missing("Contact", contact_id)
    return contact


def _refuse_duplicate(location: Location, body: dict[str, Any],
                      exclude_id: str | None = None) -> None:
    """400 when the location forbids duplicates and ``body``'s email or phone is taken."""
    if location.allow_duplicates:
        return
    match = find_match(location, body.get("email"), body.get("phone"), exclude_id=exclude_id)
    if match:
        raise bad_request("This location does not allow duplicated contacts.",
                          meta={"contactId": match[0]["id"], "matchingField": match[1]})


def _check_custom_fields(location: Location, body: dict[str, Any]) -> None:
    """ASSUMPTION (GHL's answer to an unknown custom-field id is not documented): when
    the location defines custom fields, an id or key it does not have is refused
    with 400 ``"Custom field with id X not found"``, so the product's refresh of
    its key → id cache is exercised. A location without custom fields checks none."""
    if not location.custom_fields:
        return
    keys = {f["fieldKey"] for f in location.custom_fields.values()}
    for item in body.get("customFields") or []:
        if item.get("id") and item["id"] not in location.custom_fields:
            raise bad_request(f"Custom field with id {item['id']} not found")
        if not item.get("id") and item.get("key") not in keys:
            raise bad_request(f"Custom field with key {item.get('key')} not found")


@bp.get("/contacts/<contact_id>")
@endpoint(READ, CONTACTS_VERSION)
def get_contact(contact_id: str) -> ResponseReturnValue:
    return {"contact": contact_of(current_location(), contact_id)}


@bp.get("/contacts/", strict_slashes=False)
@endpoint(READ, CONTACTS_VERSION)
def list_contacts() -> ResponseReturnValue:
    """Deprecated by GHL in favour of search; pages oldest first by (dateAdded, id)."""
    location_id = required_location_id()
    limit, errors = rules.query_int(request.args, "limit", 20, minimum=1, maximum=100)
    start_after_ms, more = rules.query_int(request.args, "startAfter", -1, minimum=0)
    if errors + more:
        raise unprocessable(errors + more)
    start_after_id = request.args.get("startAfterId") or None
    found = [c for c in current_location().contacts.values()
             if matches_query(c, request.args.get("query"))]
    page, total, has_more = list_after(
        found, start_after=iso_from_ms(start_after_ms) if start_after_ms >= 0 else None,
        start_after_id=start_after_id, limit=limit)
    last = page[-1] if page else None
    meta = {
        "total": total,
        "startAfterId": last["id"] if last else None,
        "startAfter": epoch_ms(last["dateAdded"]) if last else None,
        "nextPageUrl": None,
    }
    if last and has_more:
        query = {"locationId": location_id, "limit": limit, "startAfter": meta["startAfter"],
                 "startAfterId": last["id"]}
        meta["nextPageUrl"] = f"{request.host_url}contacts/?{urlencode(query)}"
    return {"contacts": page, "count": total, "meta": meta}


@bp.post("/contacts/search")
@endpoint(READ, CONTACTS_VERSION)
def search_contacts() -> ResponseReturnValue:
    body = validated(rules.SEARCH_CONTACTS)
    try:
        page, total = search(list(current_location().contacts.values()), body)
    except ValueError as exc:
        raise unprocessable([str(exc)]) from None
    return {"contacts": page, "total": total}


@bp.get("/contacts/search/duplicate")
@endpoint(READ, CONTACTS_VERSION)
def find_duplicate() -> ResponseReturnValue:
    """Email first, then phone; ``{"contact": null}`` when none matches."""
    required_location_id()
    match = find_match(current_location(), request.args.get("email"), request.args.get("number"))
    return {"contact": match[0] if match else None}


@bp.get("/contacts/business/<business_id>")
@endpoint(READ, CONTACTS_VERSION)
def business_contacts(business_id: str) -> ResponseReturnValue:
    required_location_id()
    limit, errors = rules.query_int(request.args, "limit", 25, minimum=1, maximum=100)
    skip, more = rules.query_int(request.args, "skip", 0, minimum=0)
    if errors + more:
        raise unprocessable(errors + more)
    found = [c for c in current_location().contacts.values()
             if c.get("businessId") == business_id and matches_query(c, request.args.get("query"))]
    found.sort(key=lambda c: (c["dateAdded"], c["id"]))
    return {"contacts": found[skip:skip + limit], "count": len(found)}


@bp.post("/contacts/", strict_slashes=False)
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def create_contact() -> ResponseReturnValue:
    body = validated(rules.CREATE_CONTACT)
    location = current_location()
    _check_custom_fields(location, body)
    _refuse_duplicate(location, body)
    contact = new_contact(location.location_id, body, current_sim().clock())
    location.contacts[contact["id"]] = contact
    return {"contact": contact}, 201


@bp.post("/contacts/upsert")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def upsert_contact() -> ResponseReturnValue:
    """Update the contact matching the email, else the phone; create one if none matches
    (or always, when the location allows duplicates and ``createNewIfDuplicateAllowed``)."""
    body = validated(rules.UPSERT_CONTACT)
    location = current_location()
    _check_custom_fields(location, body)
    match = find_match(location, body.get("email"), body.get("phone"))
    always_new = location.allow_duplicates and body.get("createNewIfDuplicateAllowed")
    if match and not always_new:
        contact = match[0]
        apply_fields(contact, body, current_sim().clock())
    else:
        contact = new_contact(location.location_id, body, current_sim().clock())
        location.contacts[contact["id"]] = contact
    return {"new": match is None or bool(always_new), "contact": contact,
            "traceId": str(uuid.uuid4())}


@bp.put("/contacts/<contact_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def update_contact(contact_id: str) -> ResponseReturnValue:
    body = validated(rules.UPDATE_CONTACT)
    location = current_location()
    _check_custom_fields(location, body)
    contact = contact_of(location, contact_id)
    # ASSUMPTION: changing email/phone to another contact's is refused like a create.
    _refuse_duplicate(location, body, exclude_id=contact_id)
    apply_fields(contact, body, current_sim().clock())
    return {"succeded": True, "contact": contact}


@bp.delete("/contacts/<contact_id>")
@endpoint(WRITE, CONTACTS_VERSION, write=True)
def delete_contact(contact_id: str) -> ResponseReturnValue:
    """The contact goes, and its tasks and notes with it."""
    location = current_location()
    contact_of(location, contact_id)
    del location.contacts[contact_id]
    for kind in (location.tasks, location.notes):
        for item in location.children(kind, contact_id):
            del kind[item["id"]]
    return {"succeded": True}
