"""ghl.contact.created / ghl.contact.updated: the GHL contact created or updated in Toky.

Toky keeps one contact per phone, so the phone is the key: ``GET /contacts/{phone}``,
then ``PUT`` only the fields that differ (in the shared canonical form), or
``POST`` when Toky has none. Skipped, with the reason logged and counted
(``toky-ghl status``):

- a contact without a (readable) phone: Toky cannot hold it;
- an echo: its shared fields are what toky-ghl itself last wrote to GHL from
  Toky (``SyncMemory``, ``toky>ghl``);
- nothing to change: Toky already holds those fields.

Before writing, the fingerprint of what Toky will hold is recorded
(``ghl>toky``), so the Toky poller recognises the write as the mirror's own and
does not send it back to GHL; and the Toky → GHL payload cache of the phone is
dropped (GHL was changed by someone else than toky-ghl), so the next Toky change
is written to GHL even if it restores the old payload. A phone the id map does not
know yet is mapped to this GHL contact (later Toky changes update it directly).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from clients.toky import (
    TokyAuthError,
    TokyClient,
    TokyConflictError,
    TokyError,
    TokyNotFoundError,
    TokyRateLimitedError,
    TokyValidationError,
)
from contract.events import Event
from producers.mirror.memory import TO_GHL, TO_TOKY, SyncMemory
from producers.mirror.shared import fingerprint, from_ghl, from_toky
from toky_ghl.settings import Settings
from worker.idmap import IdMap
from worker.mapping.toky_contact import changed_fields, toky_contact_fields, toky_fields_of
from worker.stats import Stats
from worker.sync.context import SyncContext
from worker.sync.outcome import Deferred, Outcome, Unprocessable
from worker.sync.phone_lock import phone_lock

T = TypeVar("T")

#: Counters (``worker.stats``) shown by ``toky-ghl status``.
CREATED, UPDATED, UNCHANGED, ECHO, NO_PHONE = (
    "mirror_created", "mirror_updated", "mirror_unchanged", "mirror_echo", "mirror_no_phone")
COUNTERS = (CREATED, UPDATED, UNCHANGED, ECHO, NO_PHONE)
#: One phone's Toky contact is written by one worker at a time (two GHL contacts may
#: share a phone); held at most this long, in seconds.
TOKY_LOCK_TTL_S = 30
TOKY_LOCK_WAIT_S = 2.0
#: Waits the Toky client does itself stay short: longer ones go back to the pipeline.
TOKY_MAX_ATTEMPTS = 2
TOKY_BACKOFF_CAP_MS = 2000

def toky_client(settings: Settings) -> TokyClient:
    """A Toky client for ``settings`` (a worker builds one at start-up, ``Runtime.toky``);
    ``Unprocessable`` without a key."""
    if not settings.toky_api_key:
        raise Unprocessable("TOKY_API_KEY is not set: the worker cannot write mirrored contacts "
                            "to Toky; set it, restart the workers, then "
                            "`toky-ghl dlq replay --all`")
    return TokyClient(
        base_url=settings.toky_api_base, api_key=settings.toky_api_key,
        timeout_s=(settings.ghl_connect_timeout_s, settings.ghl_read_timeout_s),
        max_attempts=TOKY_MAX_ATTEMPTS, backoff_cap_ms=TOKY_BACKOFF_CAP_MS)


def mirror_report(enabled: bool, counts: dict[str, int]) -> dict[str, Any]:
    """The mirror's part of ``toky-ghl status``: on/off and its counters (all time)."""
    names = {CREATED: "created", UPDATED: "updated", UNCHANGED: "unchanged", ECHO: "echoes",
             NO_PHONE: "skipped_no_phone"}
    return {"enabled": bool(enabled), **{label: int(counts.get(key, 0))
                                         for key, label in names.items()}}


def format_mirror(report: dict[str, Any]) -> str:
    """``mirror        on: 2 created, 1 updated in Toky; 0 unchanged, 3 echoes skipped, 1
    without a phone`` (the status line)."""
    state = "on" if report["enabled"] else "off (MIRROR_GHL_TO_TOKY)"
    return (f"mirror        {state}: {report['created']} created, {report['updated']} updated "
            f"in Toky; {report['unchanged']} unchanged, {report['echoes']} echoes skipped, "
            f"{report['skipped_no_phone']} without a phone (skipped)")


def _toky(ctx: SyncContext) -> TokyClient:
    """The Toky client: ``ctx.toky`` (the worker's, or a dry run's), else one for the
    settings (made for this call)."""
    if ctx.toky is None:
        ctx.toky = toky_client(ctx.settings)
    return ctx.toky


def _calling(action: Callable[[], T]) -> T:
    """``action()`` with Toky's errors as the pipeline's: wait, retry, or dead-letter."""
    try:
        return action()
    except (TokyNotFoundError, TokyConflictError):
        raise  # the caller handles them
    except TokyRateLimitedError as exc:
        wait_ms = int((exc.retry_after_s or 1.0) * 1000)
        raise Deferred(f"Toky asks to slow down: {exc}", retry_after_ms=wait_ms) from None
    except TokyAuthError as exc:
        raise Unprocessable(f"{exc}; then `toky-ghl dlq replay --all`") from None
    except TokyValidationError as exc:
        raise Unprocessable(f"Toky refused the contact: {exc}") from None
    except TokyError as exc:
        raise Deferred(f"Toky failed: {exc}") from None


def _phone_lock(phone: str, ctx: SyncContext) -> AbstractContextManager[None]:
    return phone_lock(ctx, "toky-contact", phone, ttl_s=TOKY_LOCK_TTL_S,
                      wait_s=TOKY_LOCK_WAIT_S,
                      busy="another worker is writing this phone's Toky contact")


def contact_mirrored(event: Event, ctx: SyncContext) -> Outcome:
    """ghl.contact.*: the Toky contact of the GHL contact's phone created or updated."""
    data = event["data"]
    ghl_id = data["id"]
    stats = Stats(ctx.redis, ctx.settings.key_prefix)
    phone = data.get("phone")
    if not phone:
        why = "an unreadable phone" if data.get("phone_raw") else "no phone"
        ctx.log.info("mirror skipped: GHL contact without a usable phone", ghl_contact=ghl_id,
                     reason=why)
        stats.count(NO_PHONE, event["type"])
        return Outcome.skipped(f"GHL contact has {why}: Toky keys contacts by phone",
                               contact=ghl_id)
    memory = SyncMemory(ctx.redis, ctx.settings.key_prefix)
    if memory.is_echo(phone, TO_GHL, fingerprint(from_ghl(data))):
        stats.count(ECHO, event["type"])
        return Outcome.skipped("echo: toky-ghl wrote these fields to GHL from Toky",
                               contact=ghl_id)
    ids = IdMap.for_context(ctx)
    if ids.contact(phone) is None:  # this GHL contact is the phone's: later writes PUT it
        ids.remember_contact(phone, ghl_id)
    else:
        ids.forget_payload_hash(phone)  # GHL changed outside toky-ghl
    wanted = toky_contact_fields(data)
    toky = _toky(ctx)
    with _phone_lock(phone, ctx):
        current = _calling(lambda: toky.get_contact(phone))
        if current is None:
            created = _create(toky, phone, wanted, memory)
            if created:
                stats.count(CREATED, event["type"])
                return Outcome.applied("contact created in Toky", contact=ghl_id)
            current = _calling(lambda: toky.get_contact(phone)) or {}
        changes = changed_fields(current, wanted)
        if not changes:
            stats.count(UNCHANGED, event["type"])
            return Outcome.skipped("Toky already has these fields", contact=ghl_id)
        desired = {**toky_fields_of(current), **changes, "phone": phone}
        memory.record(phone, TO_TOKY, fingerprint(from_toky(desired)))
        try:
            _calling(lambda: toky.update_contact(phone, changes))
        except TokyNotFoundError:  # deleted in Toky meanwhile: make it again
            if not _create(toky, phone, {**toky_fields_of(current), **changes}, memory):
                raise Deferred("Toky's contact changed under us; trying again") from None
        stats.count(UPDATED, event["type"])
        return Outcome.applied(f"contact updated in Toky: {', '.join(sorted(changes))}",
                               contact=ghl_id)


def written_to_ghl(ctx: SyncContext, phone: str, sent: dict[str, Any],
                   answer: object = None) -> tuple[str, ...]:
    """After toky-ghl wrote ``phone``'s contact to GHL from Toky (``toky>ghl``): the command
    that remembers the shared fields GHL holds now (its answer when it carries the
    contact, else ``sent``), so the mirror does not copy toky-ghl's own write back to
    Toky. Sent with the id map's write of the same contact, in its round trip
    (``IdMap.remember_contact``'s ``also``)."""
    held = answer if isinstance(answer, dict) and answer.get("phone") else sent
    return SyncMemory(ctx.redis, ctx.settings.key_prefix).record_command(
        phone, TO_GHL, fingerprint(from_ghl({**held, "phone": phone})))


def _create(toky: TokyClient, phone: str, fields: dict[str, str], memory: SyncMemory) -> bool:
    """POST the contact; False when Toky already has the phone (made meanwhile)."""
    desired = {"phone": phone, **fields}
    memory.record(phone, TO_TOKY, fingerprint(from_toky(desired)))  # before: see the module
    try:
        _calling(lambda: toky.create_contact(desired))
    except TokyConflictError:
        return False
    return True
