"""contact.created / updated / deleted / tags_added / tags_removed.

A contact is written with ONE call: PUT when the id map knows it (a 404
there drops the entry and upserts), else an upsert (also for a payload with
a field PUT refuses, e.g. companyName). GHL replaces a contact's
tags with those of an upsert or PUT, so a payload that carries tags also
carries those GHL last reported (the contract: the contact's tags *include*
the event's). A payload equal to the last one written sends nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from clients.ghl.errors import GhlNotFoundError, GhlValidationError
from contract.events import Event
from toky_ghl.errors import ConfigError
from worker.custom_field_ids import refused_custom_field, resolve_custom_field_keys
from worker.idmap import IdMap
from worker.mapping import UPSERT_ONLY_FIELDS, contact_payload
from worker.sync.contact_upsert import update_for_phone, upsert_for_phone
from worker.sync.context import SyncContext
from worker.sync.ensure_contact import making_contact, with_contact, with_existing_contact
from worker.sync.mapped import mapped
from worker.sync.mirror import written_to_ghl
from worker.sync.outcome import Outcome, Unprocessable


def payload_digest(payload: dict[str, Any]) -> str:
    """A stable hash of a contact payload (key order does not matter)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _keeping_tags(payload: dict[str, Any], known: list[str] | None) -> dict[str, Any]:
    if "tags" not in payload or not known:
        return payload
    return {**payload, "tags": list(dict.fromkeys([*known, *payload["tags"]]))}


def _tags_after(contact: dict[str, Any], sent: dict[str, Any]) -> list[str] | None:
    tags = contact.get("tags")
    return tags if isinstance(tags, list) else sent.get("tags")


def contact_written(event: Event, ctx: SyncContext) -> Outcome:
    """contact.created / contact.updated: exactly one GHL contact per phone.

    When GHL refuses the write naming a custom field and the field map names
    fields by key, the keys are resolved again (the field may have been made
    anew, with a new id) and the write tried once more.
    """
    try:
        return _contact_written(event, ctx)
    except GhlValidationError as exc:
        if not refused_custom_field(exc, ctx.field_map):
            raise
        ctx.log.info("GHL refused a custom field; reading the location's custom fields again")
        try:
            resolve_custom_field_keys(ctx.field_map, ctx.client, ctx.redis,
                                      ctx.settings.key_prefix, refresh=True)
        except ConfigError as config:
            raise Unprocessable(str(config)) from None
        return _contact_written(event, ctx)


def _contact_written(event: Event, ctx: SyncContext) -> Outcome:
    phone = event["data"]["phone"]
    payload = mapped(contact_payload, event["data"], ctx.field_map)
    digest = payload_digest(payload)
    ids = IdMap.for_context(ctx)
    contact_id = ids.contact(phone)
    sent = payload
    if contact_id is not None:
        if ids.payload_hash(phone) == digest:
            return Outcome.skipped("unchanged", contact=contact_id)
        sent = _keeping_tags(payload, ids.contact_tags(phone))
    if contact_id is not None and UPSERT_ONLY_FIELDS.isdisjoint(sent):
        try:
            contact = update_for_phone(phone, contact_id, sent, ctx)
        except GhlNotFoundError:
            ctx.log.info("mapped contact gone from GHL, upserting", contact_id=contact_id)
            ids.forget_contact(phone)
            sent = payload
        else:
            ids.remember_contact(phone, contact_id, tags=_tags_after(contact, sent),
                                 payload_hash=digest,  # and the mirror's loop guard:
                                 also=(written_to_ghl(ctx, phone, sent, contact),))
            return Outcome.applied("contact updated", contact=contact_id)
    with making_contact(phone, ctx):
        contact, new = upsert_for_phone(phone, sent, ctx)
        ids.remember_contact(phone, contact["id"], tags=_tags_after(contact, sent),
                             payload_hash=digest,  # and the mirror's loop guard:
                             also=(written_to_ghl(ctx, phone, sent, contact),))
    return Outcome.applied("contact created" if new else "contact upserted", contact=contact["id"])


def contact_deleted(event: Event, ctx: SyncContext) -> Outcome:
    """contact.deleted: the contact (found by the id map or GHL's search) is deleted."""
    phone = event["data"]["phone"]
    done = with_existing_contact(phone, ctx, ctx.client.delete_contact)
    IdMap.for_context(ctx).forget_phone(phone)
    if done is None:
        return Outcome.skipped(f"GHL has no contact for {phone}")
    return Outcome.applied("contact deleted", contact=done[0])


def tags_added(event: Event, ctx: SyncContext) -> Outcome:
    """contact.tags_added: the tags added to the contact (made first if GHL has none)."""
    phone, tags = event["data"]["phone"], event["data"]["tags"]
    if not tags:
        return Outcome.skipped("no tags to add")
    contact_id, now = with_contact(phone, ctx, lambda cid: ctx.client.add_tags(cid, tags))
    IdMap.for_context(ctx).remember_contact(
        phone, contact_id, tags=now if isinstance(now, list) else None)
    return Outcome.applied(f"tags added: {', '.join(tags)}", contact=contact_id)


def tags_removed(event: Event, ctx: SyncContext) -> Outcome:
    """contact.tags_removed: the tags removed from the contact, if GHL has it."""
    phone, tags = event["data"]["phone"], event["data"]["tags"]
    if not tags:
        return Outcome.skipped("no tags to remove")
    done = with_existing_contact(phone, ctx, lambda cid: ctx.client.remove_tags(cid, tags))
    if done is None:
        return Outcome.skipped(f"GHL has no contact for {phone}")
    contact_id, now = done
    IdMap.for_context(ctx).remember_contact(
        phone, contact_id, tags=now if isinstance(now, list) else None)
    return Outcome.applied(f"tags removed: {', '.join(tags)}", contact=contact_id)
