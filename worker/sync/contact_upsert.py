"""Upsert a phone's GHL contact without ever re-pointing another phone's (guarantee 3).

GHL's ``POST /contacts/upsert`` looks for an existing contact by EMAIL before
PHONE ("If two separate contacts already exist, one with the same email and
another with the same phone, and an upsert request includes both, the API will
update the contact that matches the first field in the configured sequence":
apps/contacts.json, Upsert Contact; GET /contacts/search/duplicate: "first
priority for search is email and the second priority will be phone"; reported in
GoHighLevel/highlevel-api-docs issue #37). A Toky contact that shares its email
with another phone's contact (a family, a shared office address, a typo) would
take that contact over: its name and phone replaced, both phones mapped to it.

So before an upsert that carries an email, the email's owner in GHL is looked up
(``GET /contacts/search/duplicate?email=``, one read). When it is the GHL contact
of another phone (by its phone in GHL, or by the id map), the two are kept apart
and the conflict is recorded (``worker.conflicts``, ``toky-ghl conflicts``):

- ``CONTACT_EMAIL_CONFLICT=separate`` (default): a phone GHL has no contact for
  gets one of its own WITH the email by ``POST /contacts/`` when the location
  allows duplicates; a location that does not answers 400 "This location does
  not allow duplicated contacts." (``GhlDuplicateContactError``), and the contact
  is then upserted WITHOUT the email (it matches by phone, or is created). A phone
  that already has a contact is upserted without the email.
- ``omit-email``: always without the email.

Neither loses data: the other contact keeps its name, phone and email; this
contact gets everything else of the event. (Merging both phones into one
contact is not offered: GHL's CreateContactDto / UpsertContactDto have no field
for a second phone.) The email lock serialises upserts that carry one email, so
two phones sharing it cannot both find it free.
"""

from __future__ import annotations

import re
from typing import Any

from clients.ghl.errors import GhlDuplicateContactError, GhlNotFoundError
from worker.conflicts import ConflictStore, email_key
from worker.idmap import IdMap
from worker.sync.context import SyncContext
from worker.sync.outcome import Unprocessable
from worker.sync.phone_lock import phone_lock

#: The longest a worker holds an email's lock, in seconds (a lookup and up to two writes).
EMAIL_LOCK_TTL_S = 100
#: How long another worker waits for it before its event is deferred, in seconds.
EMAIL_LOCK_WAIT_S = 2.0
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def _same_phone(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return _PHONE_PUNCTUATION.sub("", a) == _PHONE_PUNCTUATION.sub("", b)


def other_phone(contact: dict[str, Any] | None, phone: str, ids: IdMap) -> str | None:
    """The phone other than ``phone`` that GHL ``contact`` belongs to, or None.

    Another phone owns it when the id map maps another phone to it, or when its
    phone in GHL is another one. A contact without a phone (e.g. made in GHL from
    a form with only an email) belongs to nobody yet: the upsert may give it ours.
    """
    if not contact or not contact.get("id"):
        return None
    mapped = ids.owner(contact["id"])
    if mapped:  # the id map knows whose it is
        return None if mapped == phone else mapped
    ghl_phone = contact.get("phone")
    if ghl_phone and not _same_phone(ghl_phone, phone):
        return str(ghl_phone)
    return None


def upsert_for_phone(phone: str, payload: dict[str, Any], ctx: SyncContext
                     ) -> tuple[dict[str, Any], bool]:
    """Write ``payload`` to ``phone``'s GHL contact (found or made): (contact, made new).

    Raises ``Unprocessable`` when GHL answers with another phone's contact anyway
    (it changed in GHL between the lookup and the write): nothing is mapped.
    """
    email = payload.get("email")
    ids = IdMap.for_context(ctx)
    if not email:
        return _checked(phone, *ctx.client.upsert_contact(payload), ids, ctx)
    with phone_lock(ctx, "contact-email", email_key(email), ttl_s=EMAIL_LOCK_TTL_S,
                    wait_s=EMAIL_LOCK_WAIT_S,
                    busy="another worker is writing a contact with this email"):
        owner = ctx.client.search_duplicate(email=email)
        owner_phone = other_phone(owner, phone, ids)
        if owner_phone is None:
            return _checked(phone, *ctx.client.upsert_contact(payload), ids, ctx)
        assert owner is not None
        return _kept_apart(phone, payload, owner, owner_phone, ids, ctx)


def _kept_apart(phone: str, payload: dict[str, Any], owner: dict[str, Any], owner_phone: str,
                ids: IdMap, ctx: SyncContext) -> tuple[dict[str, Any], bool]:
    email = payload["email"]
    written = None
    if ctx.settings.contact_email_conflict == "separate" and not _has_contact(phone, owner, ids,
                                                                              ctx):
        try:
            written = ctx.client.create_contact(payload), True
        except GhlDuplicateContactError:
            ctx.log.info("location refuses duplicate contacts; writing without the email")
    if written is None:
        written = ctx.client.upsert_contact({k: v for k, v in payload.items() if k != "email"})
    contact, new = _checked(phone, *written, ids, ctx)
    email_on = [owner_phone] + ([phone] if contact.get("email") else [])
    kept = "both contacts carry it" if phone in email_on else (
        f"it stays on {owner_phone}'s contact only")
    resolution = f"kept apart: {phone} has a contact of its own; {kept}"
    ConflictStore(ctx.redis, ctx.settings.key_prefix).record(
        email, contacts={owner_phone: owner["id"], phone: contact["id"]}, email_on=email_on,
        resolution=resolution)
    ctx.log.warning("email shared with another phone's contact; kept apart",
                    email=email_key(email), phone=phone, other_phone=owner_phone,
                    other_contact_id=owner["id"], contact_id=contact["id"],
                    email_written=phone in email_on)
    return contact, new


def _has_contact(phone: str, owner: dict[str, Any], ids: IdMap, ctx: SyncContext) -> bool:
    """Whether GHL already has a contact for ``phone`` (the id map, else GHL's search)."""
    if ids.contact(phone):
        return True
    found = ctx.client.search_duplicate(number=phone)
    if not found:
        return False
    return bool(found.get("id") != owner["id"])


def _checked(phone: str, contact: dict[str, Any], new: bool, ids: IdMap, ctx: SyncContext
             ) -> tuple[dict[str, Any], bool]:
    """``(contact, new)`` unless GHL answered with a contact another phone is mapped to
    (a contact GHL made just now is no one's: its owner is not read)."""
    if new:
        return contact, new
    other = ids.owner(contact["id"])
    if other and other != phone:
        ctx.log.error("GHL matched this phone to another phone's contact",
                      phone=phone, other_phone=other, contact_id=contact["id"])
        raise Unprocessable(
            f"GHL wrote {phone} onto contact {contact['id']}, which is {other}'s "
            "(it matched by email or phone); fix the contacts in GHL, then replay")
    return contact, new


def update_for_phone(phone: str, contact_id: str, payload: dict[str, Any], ctx: SyncContext
                     ) -> dict[str, Any]:
    """``PUT`` ``payload`` on ``phone``'s contact ``contact_id``; the updated contact.

    A PUT names its contact, so it cannot re-point another; but a location that
    refuses duplicates answers 400 (``meta.matchingField`` "email") when the new
    email is another contact's. Then the conflict is recorded and the contact
    updated without the email.
    """
    try:
        return ctx.client.update_contact(contact_id, payload)
    except GhlDuplicateContactError as exc:
        email = payload.get("email")
        if not email or exc.matching_field == "phone" or not exc.contact_id \
                or exc.contact_id == contact_id:
            raise
        ids = IdMap.for_context(ctx)
        owner_phone = ids.owner(exc.contact_id) or _phone_in_ghl(exc.contact_id, ctx)
        contact = ctx.client.update_contact(
            contact_id, {k: v for k, v in payload.items() if k != "email"})
        ConflictStore(ctx.redis, ctx.settings.key_prefix).record(
            email, contacts={owner_phone: exc.contact_id, phone: contact_id},
            email_on=[owner_phone],
            resolution=f"kept apart: {phone}'s contact was updated without the email")
        ctx.log.warning("email shared with another phone's contact; updated without it",
                        email=email_key(email), phone=phone, other_phone=owner_phone,
                        other_contact_id=exc.contact_id, contact_id=contact_id)
        return contact


def _phone_in_ghl(contact_id: str, ctx: SyncContext) -> str:
    """The phone of GHL contact ``contact_id`` (or a label naming the contact)."""
    try:
        phone = ctx.client.get_contact(contact_id).get("phone")
    except GhlNotFoundError:  # deleted meanwhile: only a label for the operator
        phone = None
    return str(phone) if phone else f"(no phone: GHL contact {contact_id})"
