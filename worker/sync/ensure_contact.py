"""The GHL contact of a phone: from the id map, else found or made in GHL.

A note, task, appointment or call for a phone GHL does not know first makes
the contact (guarantee 3: the contact before its children, by code, not luck).
When GHL answers 404 for a contact id the id map gave (deleted in GHL
meanwhile), the entry is dropped and the contact found or made again, once.
Upserts of one phone are serialised across workers (``making_contact``): two
at once could make two contacts, and the second would cost a call for nothing.
The lock they hold is the phone's contact's OBJECT lock (``P:lock:contact:<phone>``,
``worker.pipeline``): a contact event's delivery holds it already and takes
nothing more; a call, note, task... for the phone takes it, and waits for a
contact event of the phone in progress, as for another upsert.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar, cast

from clients.ghl.errors import GhlDuplicateContactError, GhlNotFoundError
from worker.idmap import IdMap
from worker.keys import object_lock_key
from worker.mapping import basic_contact_payload
from worker.sync.contact_upsert import upsert_for_phone
from worker.sync.context import SyncContext
from worker.sync.mirror import written_to_ghl
from worker.sync.phone_lock import key_lock

T = TypeVar("T")

#: The longest a worker holds a phone's "making the contact" lock, in seconds
#: (one upsert, within GHL_CONNECT_TIMEOUT_S + GHL_READ_TIMEOUT_S; a worker killed
#: holding it delays that phone by this long). A contact event's delivery, which
#: holds that lock already, has it extended to this when less is left.
MAKING_LOCK_TTL_S = 35
#: How long another worker waits for that lock before the event is deferred, in seconds.
MAKING_LOCK_WAIT_S = 2.0


def making_contact(phone: str, ctx: SyncContext) -> AbstractContextManager[None]:
    """Hold the lock under which ``phone``'s contact is upserted; ``Deferred`` when
    another worker keeps it longer than ``MAKING_LOCK_WAIT_S``."""
    return key_lock(ctx, object_lock_key(ctx.settings.key_prefix, f"contact:{phone}"),
                    ttl_s=MAKING_LOCK_TTL_S, wait_s=MAKING_LOCK_WAIT_S,
                    busy="another worker is making this phone's contact in GHL",
                    purpose="making-contact")


def ensure_contact(
    phone: str, ctx: SyncContext, *, name: str | None = None, email: str | None = None
) -> str:
    """The GHL contact id of ``phone``: the id map first, else an upsert.

    The upsert carries the phone, ``name``/``email`` when given and source
    "Toky" (no tags: an upsert's tags would replace the contact's). One GHL
    call when the phone is new to the id map, none otherwise.
    """
    ids = IdMap.for_context(ctx)
    known = ids.contact(phone)
    if known:
        return known
    with making_contact(phone, ctx):
        known = ids.contact(phone)  # made by another worker while this one waited
        if known:
            return known
        payload = basic_contact_payload(phone, name=name, email=email)
        try:
            contact, new = upsert_for_phone(phone, payload, ctx)
        except GhlDuplicateContactError as exc:
            # the 400 names the contact that has this phone; one matched by email
            # (or mapped to another phone) is not this phone's (guarantee 3)
            if not exc.contact_id or exc.matching_field == "email" or \
                    ids.owner(exc.contact_id) not in (None, phone):
                raise
            ids.remember_contact(phone, exc.contact_id)
            return exc.contact_id
        tags = contact.get("tags")
        # made by toky-ghl (new): not a GHL contact to mirror to Toky (an existing one is);
        # the mirror's loop guard goes in the id map's round trip
        ids.remember_contact(phone, contact["id"], tags=tags if isinstance(tags, list) else None,
                             also=(written_to_ghl(ctx, phone, payload, contact),) if new else ())
    ctx.log.info("contact made in GHL" if new else "contact found in GHL",
                 contact_id=contact["id"])
    return cast(str, contact["id"])


def find_contact(phone: str, ctx: SyncContext) -> str | None:
    """The GHL contact id of ``phone`` without making one: the id map, else GHL's search."""
    ids = IdMap.for_context(ctx)
    known = ids.contact(phone)
    if known:
        return known
    found = ctx.client.search_duplicate(number=phone)
    if not found:
        return None
    ids.remember_contact(phone, found["id"], tags=found.get("tags"))
    return cast(str | None, found["id"])


def _with(
    finder: Callable[[], str | None], phone: str, ctx: SyncContext,
    action: Callable[[str], T],
) -> tuple[str, T] | None:
    ids = IdMap.for_context(ctx)
    known = ids.contact(phone)
    contact_id = known or finder()
    if contact_id is None:
        return None
    try:
        return contact_id, action(contact_id)
    except GhlNotFoundError:
        if not known:
            raise
    ctx.log.info("contact gone from GHL, looking again", contact_id=known)
    ids.forget_contact(phone)
    contact_id = finder()
    return None if contact_id is None else (contact_id, action(contact_id))


def with_contact(
    phone: str, ctx: SyncContext, action: Callable[[str], T], *,
    name: str | None = None, email: str | None = None,
) -> tuple[str, T]:
    """``action(contact_id)`` on ``phone``'s contact, made first if GHL has none."""
    result = _with(lambda: ensure_contact(phone, ctx, name=name, email=email), phone, ctx,
                   action)
    assert result is not None  # ensure_contact always answers an id
    return result


def with_existing_contact(
    phone: str, ctx: SyncContext, action: Callable[[str], T]
) -> tuple[str, T] | None:
    """``action(contact_id)`` on ``phone``'s contact; None (and no action) if GHL has none."""
    return _with(lambda: find_contact(phone, ctx), phone, ctx, action)
