"""Every Redis key the worker package reads or writes, built here and nowhere else.

``prefix`` is ``TOKY_GHL_KEY_PREFIX`` (``P`` below, default ``tokyghl``); ``L`` a GHL
location id. Each function's docstring is the key's one description: what it
holds, its Redis type and its lifetime (TTL). Lua scripts get these names as KEYS,
built here. Celery's own keys (the queue, ``unacked``) are in ``toky_ghl.keys``; the
producers' (queued ids, pollers' cursors) in ``producers.keys``.

The names are data: a running deployment's keys must keep them byte for byte.
"""

from __future__ import annotations

# -- one event, one object (worker.delivery, worker.versions) -----------------------


def handled_key(prefix: str, event_id: str) -> str:
    """STRING ``P:handled:<event id>``: the event was applied or skipped for good (a
    repeat is a duplicate). Expires ``EVENT_ID_TTL_S`` (30 days) after it was written."""
    return f"{prefix}:handled:{event_id}"


def version_key(prefix: str, object_key: str) -> str:
    """STRING ``P:version:<object key>``: ``"<occurred_at µs>:l|d"``, the newest event
    applied to the object (``d``: it deleted it). Expires ``VERSION_TTL_S`` (a year)
    after it was written."""
    return f"{prefix}:version:{object_key}"


def object_lock_key(prefix: str, object_key: str) -> str:
    """STRING ``P:lock:<object key>``: the token of the delivery working on the object.
    Expires ``OBJECT_LOCK_TTL_S`` after it was taken (a killed worker's frees itself),
    a contact's (``P:lock:contact:<phone>``) ``CONTACT_LOCK_TTL_S``: it is also the lock
    under which the phone's contact is made (``worker.sync.ensure_contact``), taken
    then by redis-py's lock for the delivery of another object (a call, a note...)."""
    return f"{prefix}:lock:{object_key}"


def sync_lock_key(prefix: str, purpose: str, subject: str) -> str:
    """STRING ``P:lock:<purpose>:<subject>``: redis-py's lock of work that must not run
    twice at once for one phone or email (``worker.sync.phone_lock``: ``contact-email``
    per email, ``toky-contact`` per phone, ...). Expires after the holder's ``ttl_s``.
    (``making-contact`` per phone is no longer taken: see ``object_lock_key``.)"""
    return f"{prefix}:lock:{purpose}:{subject}"


# -- the id map (worker.idmap); every key expires IDMAP_TTL_S (a year) after its last
# -- write or read through the map


#: The id map's kinds of key: ``contact`` (HASH: the GHL contact id, tags and payload
#: hash of a phone, the day its lifetime was last renewed, and a ``c:<object key>``
#: field per child: the phone's index, holding the contact id while the child is being
#: created), ``owner`` (STRING: the phone mapped to a GHL contact id), ``obj``
#: (STRING: ``<GHL id> <contact id>`` of a child object by Toky object key, or
#: ``?<contact id>``: an intent moved from ``intent``; a HASH ``ghl_id``,
#: ``contact_id`` when written by a version before); read only, as versions before
#: wrote them: ``intent`` (STRING: the contact a child is being created on) and
#: ``phone`` (SET: the object keys of a phone).
IDMAP_KINDS = ("contact", "owner", "obj", "intent", "phone")


def idmap_key(prefix: str, kind: str, name: str) -> str:
    """``P:idmap:<kind>:<name>``, ``kind`` one of ``IDMAP_KINDS`` (their types above)."""
    return f"{prefix}:idmap:{kind}:{name}"


# -- counters and registries --------------------------------------------------------


def stats_counts_key(prefix: str) -> str:
    """HASH ``P:stats:counts``: ``<outcome>:<event type>`` (and the mirror's counters) ->
    count (``toky-ghl status``). No expiry; one field per type and outcome."""
    return f"{prefix}:stats:counts"


def stats_log_key(prefix: str) -> str:
    """LIST ``P:stats:log``: decisions' counter increments not yet added to the hashes
    (one entry per decision, folded in by the heartbeat and before every read;
    ``worker.stats.fold``). No expiry; emptied by each fold."""
    return f"{prefix}:stats:log"


def stats_retrying_key(prefix: str) -> str:
    """ZSET ``P:stats:retrying``: event id -> when its retry is due (epoch s), while it
    waits. No expiry; an entry goes when the event is decided."""
    return f"{prefix}:stats:retrying"


def stats_retrying_reason_key(prefix: str) -> str:
    """HASH ``P:stats:retrying_reason``: event id -> why it waits, beside
    ``stats_retrying_key``. No expiry; an entry goes when the event is decided."""
    return f"{prefix}:stats:retrying_reason"


def inflight_key(prefix: str) -> str:
    """HASH ``P:inflight``: Celery task id -> ``"<hostname>|<started epoch ms>"`` while the
    task runs. No expiry; a killed worker's entries are pruned."""
    return f"{prefix}:inflight"


def worker_key(prefix: str, hostname: str) -> str:
    """STRING ``P:workers:<hostname>``: the worker is alive. Expires ``HEARTBEAT_TTL_S``
    after its last heartbeat."""
    return f"{prefix}:workers:{hostname}"


def dlq_items_key(prefix: str) -> str:
    """HASH ``P:dlq:items``: dead letter id -> JSON entry (event, reason, kind, times).
    No expiry: kept until replayed or purged."""
    return f"{prefix}:dlq:items"


def dlq_index_key(prefix: str) -> str:
    """ZSET ``P:dlq:index``: dead letter id -> when it was dead-lettered (epoch s). No
    expiry, as ``dlq_items_key``."""
    return f"{prefix}:dlq:index"


def dlq_kinds_key(prefix: str) -> str:
    """HASH ``P:dlq:kinds``: dead letter id -> its kind (counted without reading
    entries). No expiry, as ``dlq_items_key``."""
    return f"{prefix}:dlq:kinds"


def conflicts_email_key(prefix: str) -> str:
    """HASH ``P:conflicts:email``: lower-cased email -> JSON entry (the phones and GHL
    contacts sharing it). No expiry: kept until ``toky-ghl conflicts clear``."""
    return f"{prefix}:conflicts:email"


def conflicts_index_key(prefix: str) -> str:
    """ZSET ``P:conflicts:index``: email -> last time seen (epoch s). No expiry, as
    ``conflicts_email_key``."""
    return f"{prefix}:conflicts:index"


# -- per GHL location: circuit, rate budget, credentials ----------------------------


def circuit_key(prefix: str, location: str) -> str:
    """HASH ``P:circuit:L``: the location's circuit (``state``, ``failures``,
    ``next_probe_ms``, ...; ``worker.circuit``). No expiry (one per location)."""
    return f"{prefix}:circuit:{location}"


def circuit_locations_key(prefix: str) -> str:
    """SET ``P:circuit:locations``: the locations whose circuit was ever touched. No
    expiry (one member per location)."""
    return f"{prefix}:circuit:locations"


def ratelimit_keys(prefix: str, location: str) -> list[str]:
    """The rate budget of ``L``, in the order the scripts take them: ZSET
    ``P:ratelimit:L:window`` (slots of the sliding window, by time), STRING
    ``P:ratelimit:L:daily`` (the UTC day's count) and HASH ``P:ratelimit:L:limits``
    (GHL's limits when they differ from the settings). Each expires by itself: the
    window and day after their span, the limits a day after GHL last sent them."""
    base = f"{prefix}:ratelimit:{location}"
    return [f"{base}:window", f"{base}:daily", f"{base}:limits"]


def auth_keys(prefix: str, location: str) -> tuple[str, str, str, str]:
    """The credentials of ``L`` (``worker.auth.store``), no expiry: STRING
    ``P:auth:L:creds`` (the Fernet blob: tokens and all), HASH ``P:auth:L:meta`` (the
    plain summary: version, kind, expiry, scopes), STRING ``P:auth:L:lock`` (the
    write/refresh lock; expires after the refresh's time-outs) and HASH
    ``P:auth:L:paused`` (the pause record, ``worker.auth.pause``)."""
    base = f"{prefix}:auth:{location}"
    return f"{base}:creds", f"{base}:meta", f"{base}:lock", f"{base}:paused"


def custom_field_ids_key(prefix: str) -> str:
    """STRING ``P:ghl:custom-field-ids``: JSON ``{"ids": {fieldKey: id}, "at": epoch
    s}``, the custom fields' ids resolved at start-up. No expiry (fresh for
    ``CACHE_TTL_S``; an older one is used while GHL is down)."""
    return f"{prefix}:ghl:custom-field-ids"


# -- the delay store (worker.delay): parked events, per location --------------------


def delay_locations_key(prefix: str) -> str:
    """SET ``P:delay:locations``: the locations that have, or had, parked events. No
    expiry (one member per location)."""
    return f"{prefix}:delay:locations"


def delay_due_key(prefix: str, location: str) -> str:
    """ZSET ``P:delay:L:due``: event id -> due time (epoch ms, Redis clock); events
    behind a gate (open circuit, pause, spent day) are due at once and held by the
    scheduler. No expiry: an entry goes when the event is released."""
    return f"{prefix}:delay:{location}:due"


def delay_items_key(prefix: str, location: str) -> str:
    """HASH ``P:delay:L:items``: event id -> JSON ``{"message", "reason", "parked_at_ms",
    "label"}`` (``message``: the Celery task message pushed back when due). As
    ``delay_due_key``."""
    return f"{prefix}:delay:{location}:items"


def delay_since_key(prefix: str, location: str) -> str:
    """ZSET ``P:delay:L:since``: event id -> when it was FIRST parked (epoch ms, kept
    across re-parks). As ``delay_due_key``."""
    return f"{prefix}:delay:{location}:since"


def delay_reasons_key(prefix: str, location: str) -> str:
    """HASH ``P:delay:L:reasons``: reason -> how many events are parked for it (kept by
    the park and release scripts). No expiry; one field per reason."""
    return f"{prefix}:delay:{location}:reasons"


def delay_location_keys(prefix: str, location: str) -> list[str]:
    """The four per-location keys above, in the order the Lua scripts take them."""
    return [delay_due_key(prefix, location), delay_items_key(prefix, location),
            delay_since_key(prefix, location), delay_reasons_key(prefix, location)]


def scheduler_lock_key(prefix: str) -> str:
    """STRING ``P:delay:scheduler``: the scheduler tick's lock (one tick at a time across
    workers). Expires by itself after the tick's lease."""
    return f"{prefix}:delay:scheduler"


def probe_released_key(prefix: str, location: str) -> str:
    """STRING ``P:delay:L:probe_released``: an event carrying the open circuit's probe is
    on its way. Expires after the circuit's probe lease."""
    return f"{prefix}:delay:{location}:probe_released"


# -- automations (worker.rules) -----------------------------------------------------


def rule_done_key(prefix: str, action_key: str) -> str:
    """STRING ``P:rules:done:<event id>:<rule>:<position>``: the action's status once
    applied. Expires ``EVENT_ID_TTL_S`` after it was written."""
    return f"{prefix}:rules:done:{action_key}"


def rule_matched_key(prefix: str, event_id: str, rule_id: str) -> str:
    """STRING ``P:rules:matched:<event id>:<rule>``: 1 once a rule of several actions
    started (a retry finishes it). Expires ``EVENT_ID_TTL_S`` after it was written."""
    return f"{prefix}:rules:matched:{event_id}:{rule_id}"


def rule_object_version_key(prefix: str, object_key: str) -> str:
    """STRING ``P:rules:version:<object key>``: the version of the newest event that
    changed an object a rule named (latest wins per key). Expires ``VERSION_TTL_S``
    after it was written."""
    return f"{prefix}:rules:version:{object_key}"
