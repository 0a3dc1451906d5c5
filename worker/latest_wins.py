"""Latest wins: which versions an event is compared with, and what of it is still fresh.

Each applied event leaves a version (its ``occurred_at``) per object key
(``worker.versions``); an event older than a key's version is stale for that key.
What an event type does to its object (``contract.event_types.EventKind``) says
which keys: its object, or its tags one by one, or both. The pipeline reads and
writes the versions under the object's lock (``worker.delivery``).
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.event_types import EVENT_SPECS, EventKind
from contract.events import Event, object_key
from worker.versions import Version


def version_keys(event: Event) -> list[str]:
    """The objects whose versions this event is checked against and sets.

    Tags are versioned one by one (``contact:+1…#tag:vip``): a tag event, and the
    tags a contact.created/updated carries, are additions and removals of single
    tags, so an older event's tags still count when a newer event changed only
    the contact's fields (and an older removal cannot undo a newer addition).
    """
    key = object_key(event)
    tag_keys = [f"{key}#tag:{tag}" for tag in event["data"].get("tags") or []]
    kind = EVENT_SPECS[event["type"]].kind
    if kind is EventKind.TAGS:
        return tag_keys
    if kind is EventKind.CONTACT_STATE:
        return [key, *tag_keys]
    return [key]


def fresh_keys(keys: list[str], stored: Mapping[str, Version | None], at_us: int) -> list[str]:
    """The keys of ``keys`` no newer event than one at ``at_us`` (µs) has set."""
    return [k for k in keys if not ((found := stored.get(k)) and found.at_us > at_us)]


def only_fresh(event: Event, fresh: list[str]) -> Event:
    """The event reduced to its parts that are not stale (see ``version_keys``)."""
    kind = EVENT_SPECS[event["type"]].kind
    if kind not in (EventKind.TAGS, EventKind.CONTACT_STATE):
        return event
    key = object_key(event)
    data = dict(event["data"])
    tags = [t for t in data.get("tags") or [] if f"{key}#tag:{t}" in fresh]
    if kind is EventKind.CONTACT_STATE and key not in fresh:
        # a newer event set the contact's fields; this one still adds its fresh tags
        return {**event, "type": "contact.tags_added", "data": {"phone": data["phone"],
                                                                "tags": tags}}
    if tags:
        data["tags"] = tags
    else:
        data.pop("tags", None)
    return {**event, "data": data}
