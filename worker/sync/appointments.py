"""appointment.created / updated / cancelled: one GHL appointment per appointment_id,
on the calendar ``GHL_CALENDAR_ID``."""

from __future__ import annotations

from clients.ghl.errors import GhlNotFoundError
from contract.events import Event, object_key
from worker.idmap import IdMap
from worker.mapping import appointment_payload, cancelled_payload
from worker.sync.children import APPOINTMENT, write_child
from worker.sync.context import SyncContext
from worker.sync.mapped import mapped
from worker.sync.outcome import Deferred, Outcome, Unprocessable


def _calendar_id(ctx: SyncContext) -> str:
    if not ctx.settings.ghl_calendar_id:
        raise Unprocessable("GHL_CALENDAR_ID is not set")
    return ctx.settings.ghl_calendar_id


def appointment_written(event: Event, ctx: SyncContext) -> Outcome:
    data = event["data"]
    key = object_key(event)
    payload = mapped(appointment_payload, data, ctx.field_map,
                     calendar_id=_calendar_id(ctx), key=key,
                     notify=ctx.settings.ghl_appointment_notify)
    appointment, done = write_child(ctx, APPOINTMENT, key, payload, phone=data["phone"])
    return Outcome.applied(f"appointment {done}", contact=appointment.contact_id,
                           appointment=appointment.ghl_id)


def appointment_cancelled(event: Event, ctx: SyncContext) -> Outcome:
    """appointment.cancelled: the mapped appointment's status becomes ``cancelled``."""
    _calendar_id(ctx)
    key = object_key(event)
    ids = IdMap.for_context(ctx)
    appointment = ids.get(key)
    if appointment is None:
        raise Deferred(f"GHL has no appointment for {key} yet (its appointment.created "
                       "not applied)")
    try:
        APPOINTMENT.update(ctx.client, appointment,
                           cancelled_payload(notify=ctx.settings.ghl_appointment_notify))
    except GhlNotFoundError:
        ids.forget(key)
        return Outcome.skipped(f"appointment for {key} is gone from GHL",
                               appointment=appointment.ghl_id)
    return Outcome.applied("appointment cancelled", contact=appointment.contact_id,
                           appointment=appointment.ghl_id)
