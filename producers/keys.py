"""Every Redis key the producers read or write, built here and nowhere else.

``prefix`` is ``TOKY_GHL_KEY_PREFIX`` (``P`` below, default ``tokyghl``). Each
function's docstring is the key's one description: what it holds, its Redis type and
its lifetime. Celery's queue (where events go) is in ``toky_ghl.keys``; what the
workers keep in ``worker.keys``.

The names are data: a running deployment's keys must keep them byte for byte.
"""

from __future__ import annotations


def queued_key(prefix: str, event_id: str) -> str:
    """STRING ``P:queued:<event id>``: the event was queued (a repeat is not queued
    again). Expires ``EVENT_ID_TTL_S`` (30 days) after it was set."""
    return f"{prefix}:queued:{event_id}"


def poller_cursor_key(prefix: str, resource: str) -> str:
    """The base name of the Toky poller's cursor of ``resource`` (``calls``, ``sms``,
    ...): ``P:poller:<resource>``, whose keys are ``cursor_keys``."""
    return f"{prefix}:poller:{resource}"


def mirror_cursor_key(prefix: str) -> str:
    """The base name of the GHL -> Toky mirror's cursor: ``P:mirror:ghl``, whose keys are
    ``cursor_keys``."""
    return f"{prefix}:mirror:ghl"


def cursor_keys(base: str) -> tuple[str, str]:
    """A cursor's keys (``producers.polling.cursor``), no expiry: STRING ``<base>:mark``
    (the high-water mark, epoch s) and ZSET ``<base>:seen`` (ids read in the overlap
    window -> their time, trimmed to the window at each pass)."""
    return f"{base}:mark", f"{base}:seen"


def contact_fingerprints_key(prefix: str) -> str:
    """HASH ``P:poller:contacts``: E.164 phone -> ``"<version>:<fingerprint>"`` of the
    Toky contact last read (``producers.poller.fingerprints``: tells new from changed).
    No expiry; one field per contact."""
    return f"{prefix}:poller:contacts"


def mirror_memory_key(prefix: str) -> str:
    """HASH ``P:mirror:last``: E.164 phone -> ``"<direction>:<fingerprint>"``, what
    either side last received from the other (``producers.mirror.memory``: an echo is
    not copied back). No expiry; one field per contact."""
    return f"{prefix}:mirror:last"


def poller_lock_key(prefix: str) -> str:
    """STRING ``P:poller:lock``: who polls Toky now (one poller at a time). Expires
    ``TOKY_POLL_LOCK_TTL_S`` after its holder last renewed it."""
    return f"{prefix}:poller:lock"


def mirror_lock_key(prefix: str) -> str:
    """STRING ``P:mirror:lock``: who polls GHL for the mirror now (one at a time).
    Expires ``TOKY_POLL_LOCK_TTL_S`` after its holder last renewed it."""
    return f"{prefix}:mirror:lock"
