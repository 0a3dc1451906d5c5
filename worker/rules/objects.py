"""Objects a rule names with ``key:``: their id-map entry, latest wins and one writer at a time.

``create_task: {key: "callback-{{ data.from_number }}", ...}`` records the task it
makes in the id map under ``rule:key:callback-+1512…`` (and ends its body with
that key's marker, so a retry after a lost answer adopts it); a later action of
any rule, on any event, with the same ``key:`` updates, completes, deletes or
cancels that object.

Latest wins per object, as for Toky's own objects: each key keeps the
``occurred_at`` of the newest event that wrote it (``rules:version:<key>``, with
a tombstone once deleted). An action of an older event is skipped as stale; an
update of a deleted object is skipped; a create after a newer delete is skipped.
While one action writes a key, it holds the key's lock (``lock:rule-object:<key>``,
``OBJECT_LOCK_TTL_S``), so two events never interleave their check and write;
another worker finding it held waits (the event is parked, uncounted).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from worker.keys import rule_object_version_key
from worker.rules.actions.base import ActionRun
from worker.sync.phone_lock import phone_lock
from worker.versions import VERSION_TTL_S, Version, occurred_at_us

#: How long an action may hold an object's lock, and how long another waits for it.
LOCK_TTL_S = 30
LOCK_WAIT_S = 0.5


def object_key(name: str) -> str:
    """The id-map key (and marker) of the object a rule named ``name``."""
    return f"rule:key:{name}"


def _version_key(run: ActionRun, okey: str) -> str:
    return rule_object_version_key(run.ctx.settings.key_prefix, okey)


def event_version(run: ActionRun, *, tombstone: bool = False) -> Version:
    return Version(occurred_at_us(run.event["occurred_at"]), tombstone)


def stored_version(run: ActionRun, okey: str) -> Version | None:
    raw = run.ctx.redis.get(_version_key(run, okey))
    return Version.decode(raw) if raw else None


def record_version(run: ActionRun, okey: str, *, tombstone: bool = False) -> None:
    """Remember that this event wrote ``okey`` (call with the key's lock held)."""
    run.ctx.redis.set(_version_key(run, okey), event_version(run, tombstone=tombstone).encode(),
                      ex=VERSION_TTL_S)


def stale(run: ActionRun, okey: str, what: str, *, reviving: bool = False) -> str | None:
    """Why this event must not write ``okey`` now (a skip's detail), or None.

    ``reviving``: the action creates the object, which a delete of an event as old
    or older than this one does not prevent (a new one is made)."""
    stored = stored_version(run, okey)
    if stored is None:
        return None
    mine = event_version(run).at_us
    if stored.at_us > mine:
        return f"stale: a newer event already wrote the {what}"
    if stored.tombstone and not reviving:
        return f"the {what} was deleted by an earlier event"
    return None


@contextmanager
def held(run: ActionRun, okey: str) -> Iterator[None]:
    """Hold ``okey``'s lock while checking and writing it."""
    with phone_lock(run.ctx, "rule-object", okey, ttl_s=LOCK_TTL_S, wait_s=LOCK_WAIT_S,
                    busy=f"another worker is writing {okey}"):
        yield
