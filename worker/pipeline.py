"""One event through the guarantees: validate, de-duplicate, lock, latest-wins, apply, decide.

A plain function (``process``) the Celery task calls; it never raises for an
event's own failures. It answers a ``Decision``: applied, skipped (duplicate,
stale, nothing to do), dead-lettered (with the reason), or retry in N ms.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog

from producers.events import InvalidEvent, event_label, object_key, validate_event
from toky_ghl.metrics import record
from toky_ghl.settings import Settings
from worker.auth.decide import auth_of, decide
from worker.auth.errors import LocationPaused
from worker.dlq import DeadLetterStore
from worker.ghl import errors as ghl_errors
from worker.ghl.retry import RetryPolicy, backoff_ms, is_retryable
from worker.ghl.scopes import has_scope
from worker.stats import Stats, retry_reason, skip_reason
from worker.sync import HANDLERS
from worker.sync.context import SyncContext
from worker.sync.customer import customer_phone
from worker.sync.outcome import Deferred, Unprocessable
from worker.versions import Version, VersionStore, occurred_at_us

log = structlog.get_logger("toky_ghl.pipeline")

#: How long one object's lock is held at most, in seconds; a worker killed
#: while holding it delays that object by at most this long.
OBJECT_LOCK_TTL_S = 30
#: How long a task waits for an object's lock before it is re-scheduled, in seconds.
OBJECT_LOCK_WAIT_S = 0.5

_DELETES = {"contact.deleted", "task.deleted", "note.deleted"}
_TAG_EVENTS = {"contact.tags_added", "contact.tags_removed"}
_CONTACT_STATE = {"contact.created", "contact.updated"}


@dataclass(frozen=True)
class Decision:
    """What became of one delivery of an event."""

    kind: str  # "applied" | "skipped" | "dead_lettered" | "retry"
    detail: str
    retry_in_ms: int = 0
    failures: int = 0
    ghl_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class PipelineDeps:
    settings: Settings
    redis: redis.Redis
    client: Any
    field_map: Any
    rand: Callable[[], float] = random.random
    auth: Any = None  # worker.auth.TokenProvider (None: one over settings and redis)

    @property
    def prefix(self) -> str:
        return self.settings.key_prefix


def safe_label(raw_event: Any) -> str:
    """The operator label of an event, even of an invalid one."""
    try:
        return event_label(raw_event)
    except Exception:  # an invalid event still gets a label
        if isinstance(raw_event, dict):
            return f"{raw_event.get('type', '?')} evt={raw_event.get('id', '?')}"
        return "invalid event"


def missing_scopes(event_type: str, granted: frozenset[str]) -> list[str]:
    """The write scopes an event type needs that ``granted`` lacks (guarantee 6:
    refused before any request, so granting the scope and replaying loses nothing)."""
    if event_type.startswith("ghl."):  # the mirror writes to Toky, never to GHL
        return []
    needed = ["contacts.write"]
    if event_type.startswith("appointment."):
        needed.append("calendars/events.write")
    return [s for s in needed if not has_scope(granted, s)]


def _version_keys(event: dict) -> list[str]:
    """The objects whose versions this event is checked against and sets.

    Tags are versioned one by one (``contact:+1…#tag:vip``): a tag event, and the
    tags a contact.created/updated carries, are additions and removals of single
    tags, so an older event's tags still count when a newer event changed only
    the contact's fields (and an older removal cannot undo a newer addition).
    """
    key = object_key(event)
    tag_keys = [f"{key}#tag:{tag}" for tag in event["data"].get("tags") or []]
    if event["type"] in _TAG_EVENTS:
        return tag_keys
    if event["type"] in _CONTACT_STATE:
        return [key, *tag_keys]
    return [key]


def _only_fresh(event: dict, fresh: list[str]) -> dict:
    """The event reduced to its parts that are not stale (see ``_version_keys``)."""
    if event["type"] not in _TAG_EVENTS | _CONTACT_STATE:
        return event
    key = object_key(event)
    data = dict(event["data"])
    tags = [t for t in data.get("tags") or [] if f"{key}#tag:{t}" in fresh]
    if event["type"] in _CONTACT_STATE and key not in fresh:
        # a newer event set the contact's fields; this one still adds its fresh tags
        return {**event, "type": "contact.tags_added", "data": {"phone": data["phone"],
                                                                "tags": tags}}
    if tags:
        data["tags"] = tags
    else:
        data.pop("tags", None)
    return {**event, "data": data}


def process(
    raw_event: Any, deps: PipelineDeps, *, failures: int = 0, task_id: str | None = None
) -> Decision:
    """Handle one delivery of ``raw_event``; ``failures`` counts earlier failed attempts.

    What its GHL requests tell the metrics is written with its decision (``worker.stats``).
    """
    with record.collecting():
        return _process(raw_event, deps, failures=failures, task_id=task_id)


def _process(raw_event: Any, deps: PipelineDeps, *, failures: int, task_id: str | None
             ) -> Decision:
    dlq = DeadLetterStore(deps.redis, deps.prefix)
    stats = Stats(deps.redis, deps.prefix)
    try:
        event = validate_event(raw_event)
    except InvalidEvent as exc:
        return _dead_letter(raw_event, f"invalid event: {exc}", "invalid", dlq, stats, task_id)

    bound = log.bind(event_id=event["id"], event_type=event["type"],
                     toky_key=object_key(event), task_id=task_id,
                     location=deps.settings.ghl_location_id)
    versions = VersionStore(deps.redis, deps.prefix)
    duplicate = _duplicate(event, versions, stats, bound)
    if duplicate:
        return duplicate
    missing = missing_scopes(event["type"], deps.settings.ghl_scopes)
    if missing:
        reason = (f"missing scope {' and '.join(missing)}: GHL_SCOPES allows "
                  f"{' '.join(sorted(deps.settings.ghl_scopes))}; grant it, then "
                  "`toky-ghl dlq replay --all`")
        return _dead_letter(raw_event, reason, "scope", dlq, stats, task_id, bound)
    auth = auth_of(deps)
    try:  # a paused location sends nothing: the event waits (see worker.auth.decide)
        if auth is not None:
            auth.check_not_paused()
    except LocationPaused as exc:
        return _failed(exc, event, deps, dlq, stats, bound, failures, task_id)

    lock = deps.redis.lock(f"{deps.prefix}:lock:{object_key(event)}",
                           timeout=OBJECT_LOCK_TTL_S, blocking_timeout=OBJECT_LOCK_WAIT_S)
    if not lock.acquire():
        wait_ms = 500 + int(deps.rand() * 1000)
        stats.retrying(event["id"], event["type"], wait_ms, "busy")
        return Decision("retry", "object busy: another worker holds its lock",
                        retry_in_ms=wait_ms, failures=failures)
    try:
        return _apply_locked(event, deps, versions, dlq, stats, bound, failures, task_id)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            bound.warning("object lock expired before release", lock_ttl_s=OBJECT_LOCK_TTL_S)


def _duplicate(event, versions, stats, bound) -> Decision | None:
    """A skip decision when the event id was handled before, else None."""
    previous = versions.handled(event["id"])
    if previous is None:
        return None
    return _finish(Decision("skipped", f"duplicate: event already {previous}"), event, stats, bound)


def _apply_locked(event, deps, versions, dlq, stats, bound, failures, task_id) -> Decision:
    duplicate = _duplicate(event, versions, stats, bound)  # again: a re-delivery may race
    if duplicate:
        return duplicate
    at_us = occurred_at_us(event["occurred_at"])
    keys = _version_keys(event)
    phone = customer_phone(event)
    contact_key = f"contact:{phone}" if phone else None
    stored = versions.get_many(keys + ([contact_key] if contact_key else []))

    contact_version = stored.get(contact_key) if contact_key else None
    if contact_version and contact_version.tombstone and contact_version.at_us > at_us:
        decision = Decision("skipped", "stale: the contact was deleted after this event")
        versions.record(event["id"], "skipped: contact deleted later")
        return _finish(decision, event, stats, bound)

    fresh = [k for k in keys if not (stored[k] and stored[k].at_us > at_us)]
    if not fresh:
        versions.record(event["id"], "skipped: stale")
        return _finish(Decision("skipped", "stale: a newer event for this object was applied"),
                       event, stats, bound)
    event = _only_fresh(event, fresh)

    ctx = SyncContext(client=deps.client, redis=deps.redis, settings=deps.settings,
                      field_map=deps.field_map, log=bound)
    try:
        outcome = HANDLERS[event["type"]](event, ctx)
    except Exception as exc:  # every failure becomes a retry or a dead letter, never lost
        return _failed(exc, event, deps, dlq, stats, bound, failures, task_id)

    tombstone = event["type"] in _DELETES
    versions.record(event["id"], outcome.status,
                    {k: Version(at_us, tombstone) for k in fresh})
    return _finish(Decision(outcome.status, outcome.detail, ghl_ids=outcome.ghl_ids),
                   event, stats, bound)


def _failed(exc, event, deps, dlq, stats, bound, failures, task_id) -> Decision:
    """Turn a handler's exception into a retry or a dead letter (never a loss)."""
    settings = deps.settings
    policy = RetryPolicy.from_settings(settings)
    attempt = failures + 1
    cap_ms = settings.max_countdown_s * 1000

    def dead(reason: str, kind: str) -> Decision:
        return _dead_letter(event, reason, kind, dlq, stats, task_id, bound)

    def retry(detail: str, wait_ms: int, failures_after: int) -> Decision:
        wait_ms = max(1, min(cap_ms, wait_ms))
        stats.retrying(event["id"], event["type"], wait_ms, retry_reason(exc))
        bound.info("re-scheduled", reason=detail, wait_ms=wait_ms, failures=failures_after)
        return Decision("retry", detail, retry_in_ms=wait_ms, failures=failures_after)

    if isinstance(exc, ghl_errors.GhlScopeError):
        return dead(str(exc), "scope")
    if isinstance(exc, Unprocessable):
        return dead(str(exc), "unprocessable")
    if isinstance(exc, Deferred) and exc.retry_after_ms is not None:  # waiting is not failing
        return retry(str(exc), exc.retry_after_ms + int(deps.rand() * 250), failures)
    if isinstance(exc, ghl_errors.GhlRateLimitedError):  # waiting is not failing
        return retry(f"rate limited: {exc}", policy.wait_ms(exc, failures, rand=deps.rand),
                     failures)
    if isinstance(exc, ghl_errors.GhlAuthError):  # refresh / reload once, pause, or wait
        verdict = decide(exc, auth_of(deps), failures=failures,
                         max_attempts=settings.ghl_retry_max_attempts, rand=deps.rand,
                         backoff_ms=lambda: policy.wait_ms(exc, failures, rand=deps.rand))
        if verdict.action == "dead":
            return dead(verdict.detail, verdict.kind)
        return retry(verdict.detail, verdict.wait_ms, failures + int(verdict.failed))
    # A 404 may come from a race (another worker deleted the contact between our
    # lookup and our write): retried, the latest-wins check then skips the event if
    # it is stale; a 404 that persists is dead-lettered when the attempts run out.
    if (isinstance(exc, ghl_errors.GhlError) and not is_retryable(exc)
            and not isinstance(exc, ghl_errors.GhlNotFoundError)):
        return dead(f"GHL rejected the event: {exc}", "rejected")

    reason = str(exc) if isinstance(exc, ghl_errors.GhlError | Deferred) else (
        f"{type(exc).__name__}: {exc}")
    if attempt >= settings.ghl_retry_max_attempts:
        kind = "deferred" if isinstance(exc, Deferred) else (
            "retries_exhausted" if isinstance(exc, ghl_errors.GhlError) else "internal")
        return dead(f"gave up after {attempt} attempts: {reason}", kind)
    if not isinstance(exc, ghl_errors.GhlError | Deferred):
        bound.exception("handler failed unexpectedly; will retry", attempt=attempt)
    if isinstance(exc, ghl_errors.GhlError):
        wait_ms = policy.wait_ms(exc, failures, rand=deps.rand)
    else:
        wait_ms = backoff_ms(failures, base_ms=settings.ghl_backoff_base_ms,
                             cap_ms=settings.ghl_backoff_cap_ms, rand=deps.rand)
    return retry(reason, wait_ms, attempt)


def _dead_letter(raw, reason, kind, dlq, stats, task_id, bound=None) -> Decision:
    entry = dlq.add(raw, reason, kind, task_id=task_id)
    event_type = raw.get("type", "?") if isinstance(raw, dict) else "?"
    stats.finish("dead_lettered", str(event_type), entry.id, kind)
    (bound or log).warning("dead-lettered", reason=reason, kind=kind, dlq_id=entry.id)
    return Decision("dead_lettered", reason)


def _finish(decision: Decision, event: dict, stats: Stats, bound) -> Decision:
    applied = decision.kind == "applied"
    stats.finish(decision.kind, event["type"], event["id"],
                 "" if applied else skip_reason(decision.detail),
                 occurred_at=event["occurred_at"] if applied else None)
    bound.info(f"event {decision.kind}", detail=decision.detail, label=event_label(event),
               **({"ghl_ids": decision.ghl_ids} if decision.ghl_ids else {}))
    return decision
