"""Actions on the customer's GHL contact: fields, tags, DND, followers, workflows, campaigns.

Each acts on the contact of the event's customer phone (the caller, the
sender, ``data.phone``), made first if GHL has none ("add" actions) or left
alone when GHL has none ("remove" actions). Each is idempotent in GHL itself
(adding what is there, removing what is not, setting a value again), and the
engine's completion record keeps a replay from sending it again at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract.events import customer_phone
from worker.idmap import IdMap
from worker.rules.actions.base import Action, ActionRun
from worker.rules.params import CHOICE, GHL_ID, TEXT, TEXT_LIST, TEXT_MAP, USER, Param
from worker.sync.ensure_contact import with_contact, with_existing_contact
from worker.sync.outcome import Outcome, Status, Unprocessable

WRITE = ("contacts.write",)
#: Channels of DndSettingsSchema (apps/contacts.json) and the statuses of DndSettingSchema.
DND_CHANNELS = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
DND_STATUSES = ("active", "inactive", "permanent")
#: Contact fields ``update_contact`` may set (UpdateContactDto, apps/contacts.json).
CONTACT_FIELDS = ("firstName", "lastName", "name", "email", "phone", "address1", "city",
                  "state", "postalCode", "website", "timezone", "source", "country",
                  "assignedTo")


def _phone(run: ActionRun) -> str:
    phone = customer_phone(run.event)
    if not phone:
        raise Unprocessable(f"{run.event['type']} names no customer phone: no contact to act on")
    return phone


def on_contact(run: ActionRun, act: Callable[[str], Any], *, make: bool = True,
               name: str | None = None) -> Outcome:
    """``act(contact_id)`` on the customer's contact; made first when ``make``, else
    skipped when GHL has none."""
    phone = _phone(run)
    if make:
        contact_id, _ = with_contact(phone, run.ctx, act,
                                     name=run.event["data"].get("contact_name"))
    else:
        done = with_existing_contact(phone, run.ctx, act)
        if done is None:
            return Outcome.skipped(f"GHL has no contact for {phone}")
        contact_id = done[0]
    return Outcome.applied(name or "done", contact=contact_id)


def _remember_tags(run: ActionRun, contact_id: str, tags: Any) -> None:
    if isinstance(tags, list):
        IdMap.for_context(run.ctx).remember_contact(_phone(run), contact_id, tags=tags)


def _add_tags(run: ActionRun) -> Outcome:
    tags = run.params["tags"]
    out = on_contact(run, lambda cid: _remember_tags(run, cid, run.ctx.client.add_tags(cid, tags)))
    return Outcome.applied(f"tags added: {', '.join(tags)}", **out.ghl_ids)


def _remove_tags(run: ActionRun) -> Outcome:
    tags = run.params["tags"]
    out = on_contact(run, lambda cid: _remember_tags(
        run, cid, run.ctx.client.remove_tags(cid, tags)), make=False)
    return out if out.status is Status.SKIPPED else Outcome.applied(
        f"tags removed: {', '.join(tags)}", **out.ghl_ids)


def _update_contact(run: ActionRun) -> Outcome:
    body: dict[str, Any] = {k: v for k, v in (run.params.get("fields") or {}).items()}
    unknown = sorted(set(body) - set(CONTACT_FIELDS))
    if unknown:  # checked at load too; a rule built in code reaches here
        raise Unprocessable(f"update_contact cannot set {', '.join(unknown)}")
    custom = run.params.get("custom_fields") or {}
    if custom:
        body["customFields"] = [{"id" if _is_id(k) else "key": k, "field_value": v}
                                for k, v in custom.items()]
    return on_contact(run, lambda cid: run.ctx.client.update_contact(cid, body),
                      name=f"contact updated: {', '.join(sorted(body))}")


def _is_id(name: str) -> bool:
    """A GHL custom field id (20 letters and digits) rather than a key like ``contact.score``."""
    return len(name) == 20 and name.isalnum()


def _set_dnd(run: ActionRun) -> Outcome:
    channel, status = run.params["channel"], run.params["status"]
    setting: dict[str, str] = {"status": status}
    if run.params.get("message"):
        setting["message"] = run.params["message"]
    client = run.ctx.client

    def write(contact_id: str) -> None:
        # Whether GHL merges dndSettings per channel or replaces the object is not
        # documented (apps/contacts.json has only the schema): the other channels are
        # read first and sent back unchanged, so a DND on Email never loses the SMS one.
        current = client.get_contact(contact_id).get("dndSettings")
        settings = dict(current) if isinstance(current, dict) else {}
        settings[channel] = setting
        client.update_contact(contact_id, {"dndSettings": settings})

    return on_contact(run, write, name=f"DND {channel} {status}")


def _followers(adding: bool) -> Callable[[ActionRun], Outcome]:
    def run_it(run: ActionRun) -> Outcome:
        users = [run.ctx.field_map.user_for(u) or u if "@" in u else u
                 for u in run.params["followers"]]
        unmapped = [u for u in users if "@" in u]
        if unmapped:
            raise Unprocessable(f"followers: no GHL user mapped to {', '.join(unmapped)} "
                                "(field map agents)")
        call = run.ctx.client.add_followers if adding else run.ctx.client.remove_followers
        return on_contact(run, lambda cid: call(cid, users), make=adding,
                          name=f"followers {'added' if adding else 'removed'}: "
                               f"{', '.join(users)}")
    return run_it


def _workflow(adding: bool) -> Callable[[ActionRun], Outcome]:
    def run_it(run: ActionRun) -> Outcome:
        workflow = run.params["workflow_id"]
        client = run.ctx.client
        if adding:
            start = run.params.get("event_start_time") or None
            return on_contact(run, lambda cid: client.add_to_workflow(cid, workflow, start),
                              name=f"added to workflow {workflow}")
        return on_contact(run, lambda cid: client.remove_from_workflow(cid, workflow),
                          make=False, name=f"removed from workflow {workflow}")
    return run_it


def _campaign(adding: bool) -> Callable[[ActionRun], Outcome]:
    def run_it(run: ActionRun) -> Outcome:
        campaign = run.params["campaign_id"]
        client = run.ctx.client
        if adding:
            return on_contact(run, lambda cid: client.add_to_campaign(cid, campaign),
                              name=f"added to campaign {campaign}")
        return on_contact(run, lambda cid: client.remove_from_campaign(cid, campaign),
                          make=False, name=f"removed from campaign {campaign}")
    return run_it


_NATURAL = "GHL keeps one of each: doing it again changes nothing"
_TAGS = Param("tags", TEXT_LIST, "tags (templates allowed)", required=True)
_FOLLOWERS = Param("followers", TEXT_LIST, "GHL user ids, or Toky agent emails mapped by the "
                   "field map (e.g. '{{ data.agent }}')", required=True)

CONTACT_ACTIONS: tuple[Action, ...] = (
    Action("add_tags", "tags added to the customer's contact (made first if new)",
           ("POST /contacts/{contactId}/tags",), WRITE, (_TAGS,), _NATURAL, _add_tags),
    Action("remove_tags", "tags removed from the customer's contact",
           ("DELETE /contacts/{contactId}/tags",), WRITE, (_TAGS,), _NATURAL, _remove_tags),
    Action("update_contact", "standard fields and custom fields of the customer's contact set",
           ("PUT /contacts/{contactId}",), WRITE,
           (Param("fields", TEXT_MAP, f"GHL contact fields: {', '.join(CONTACT_FIELDS)}"),
            Param("custom_fields", TEXT_MAP, "custom field id or key → value")),
           "a PUT of the same values again changes nothing", _update_contact),
    Action("set_dnd", "Do Not Disturb for one channel of the customer's contact",
           ("GET /contacts/{contactId}", "PUT /contacts/{contactId}"),
           ("contacts.readonly", "contacts.write"),
           (Param("channel", CHOICE, "the channel", required=True, choices=DND_CHANNELS),
            Param("status", CHOICE, "the DND status", default="active",
                  choices=DND_STATUSES),
            Param("message", TEXT, "a note GHL keeps with the setting")),
           "a PUT of the same settings again changes nothing; the other channels' "
           "settings are read and sent back unchanged", _set_dnd),
    Action("add_followers", "GHL users follow the customer's contact",
           ("POST /contacts/{contactId}/followers",), WRITE, (_FOLLOWERS,), _NATURAL,
           _followers(True)),
    Action("remove_followers", "GHL users stop following the customer's contact",
           ("DELETE /contacts/{contactId}/followers",), WRITE, (_FOLLOWERS,), _NATURAL,
           _followers(False)),
    Action("add_to_workflow", "the customer's contact added to a GHL workflow",
           ("POST /contacts/{contactId}/workflow/{workflowId}",), WRITE,
           (Param("workflow_id", GHL_ID, "the GHL workflow id", required=True),
            Param("event_start_time", TEXT, "ISO 8601 time with offset the workflow's "
                  "event starts at (eventStartTime)")),
           "the completion record; after a lost answer the POST is sent again (GHL has no "
           "API to ask; its 'Allow re-entry' setting decides, unconfirmed)", _workflow(True)),
    Action("remove_from_workflow", "the customer's contact removed from a GHL workflow",
           ("DELETE /contacts/{contactId}/workflow/{workflowId}",), WRITE,
           (Param("workflow_id", GHL_ID, "the GHL workflow id", required=True),),
           _NATURAL, _workflow(False)),
    Action("add_to_campaign", "the customer's contact added to a GHL campaign",
           ("POST /contacts/{contactId}/campaigns/{campaignId}",), WRITE,
           (Param("campaign_id", GHL_ID, "the GHL campaign id", required=True),),
           _NATURAL, _campaign(True)),
    Action("remove_from_campaign", "the customer's contact removed from a GHL campaign",
           ("DELETE /contacts/{contactId}/campaigns/{campaignId}",), WRITE,
           (Param("campaign_id", GHL_ID, "the GHL campaign id", required=True),),
           _NATURAL, _campaign(False)),
)
__all__ = ["CONTACT_ACTIONS", "USER", "on_contact"]
