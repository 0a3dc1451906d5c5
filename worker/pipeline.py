"""One event through the guarantees: validate, de-duplicate, lock, latest-wins, apply, decide.

A plain function (``process``) the Celery task calls; it never raises for an
event's own failures. It answers a ``Decision``: applied, skipped (duplicate,
stale, nothing to do), dead-lettered (with the reason), or park it (``retry``)
for N ms with a ``ParkReason`` (the task parks it in ``worker.delay``).

Waiting is not failing: a full rate window, an open circuit, a paused location,
a spent daily budget never count as attempts. Transient failures (5xx,
timeouts, the token endpoint down) are retried until ``GHL_RETRY_HORIZON_S``
after the first one; anything else that fails (a 404 that persists, an error of
our own) counts as an attempt, dead-lettered after ``GHL_RETRY_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
import structlog

from clients.http_policy import backoff_ms
from producers.events import InvalidEvent, event_label, object_key, validate_event
from toky_ghl.metrics import record
from toky_ghl.settings import Settings
from worker.auth.decide import PAUSE_RECHECK_MS, auth_of, decide
from worker.auth.errors import AuthUnavailable, LocationPaused
from worker.auth.pause import Pause
from worker.circuit import CircuitOpen
from worker.delay.reasons import ParkReason
from worker.delivery import Delivery
from worker.dlq import DeadLetterStore
from worker.ghl import errors as ghl_errors
from worker.ghl.retry import RetryPolicy, is_retryable
from worker.ghl.scopes import has_scope
from worker.ghl.transport import one_event
from worker.idmap import IdMap, prefetched
from worker.rules import failed_where, run_rules
from worker.stats import Stats, skip_reason
from worker.sync.context import SyncContext
from worker.sync.customer import customer_phone
from worker.sync.outcome import Deferred, Unprocessable
from worker.versions import Version, VersionStore, occurred_at_us

if TYPE_CHECKING:
    from producers.toky import TokyClient
    from worker.auth.source import TokenSource
    from worker.fieldmap import FieldMap
    from worker.ghl.api import GhlApi
    from worker.rules import RuleSet

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
    #: retry only: why it waits, when its transient failures began (epoch ms, None:
    #: none yet), and its failure history ("<ISO time> <reason>", the last few).
    reason: ParkReason = ParkReason.BACKOFF
    since_ms: int | None = None
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempts:
    """What an event carries from one delivery to the next (task kwargs)."""

    failures: int = 0
    since_ms: int | None = None
    history: tuple[str, ...] = ()


#: How many failures a dead letter's history keeps (the last ones).
HISTORY_KEEP = 10


@dataclass
class PipelineDeps:
    settings: Settings
    redis: redis.Redis
    client: GhlApi
    field_map: FieldMap
    rand: Callable[[], float] = random.random
    auth: TokenSource | None = None  # None: a TokenProvider over settings and redis
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000)
    rules: RuleSet | None = None  # None: AUTOMATIONS or the built-in rules
    fired: list[str] | None = None  # receives each rule action run (dry runs show them)
    toky: TokyClient | None = None  # the mirror's Toky client (None: made when needed)

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


def _version_keys(event: dict[str, Any]) -> list[str]:
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


def _only_fresh(event: dict[str, Any], fresh: list[str]) -> dict[str, Any]:
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
    raw_event: Any, deps: PipelineDeps, *, failures: int = 0, task_id: str | None = None,
    since_ms: int | None = None, history: tuple[str, ...] | list[str] = (),
) -> Decision:
    """Handle one delivery of ``raw_event``; ``failures`` counts earlier failed attempts,
    ``since_ms`` is when its transient failures began, ``history`` what they were.

    What its GHL requests tell the metrics is written with its decision (``worker.stats``).
    """
    with record.collecting(), one_event():  # one_event: see worker.ghl.transport
        return _process(raw_event, deps, failures=failures, task_id=task_id,
                        since_ms=since_ms, history=history)


def _process(raw_event: Any, deps: PipelineDeps, *, failures: int, task_id: str | None,
             since_ms: int | None, history: tuple[str, ...] | list[str]) -> Decision:
    tried = Attempts(failures, since_ms, tuple(history))
    dlq = DeadLetterStore(deps.redis, deps.prefix)
    stats = Stats(deps.redis, deps.prefix)
    try:
        event = validate_event(raw_event)
    except InvalidEvent as exc:
        return _dead_letter(raw_event, f"invalid event: {exc}", "invalid", dlq, stats, task_id)

    bound = log.bind(event_id=event["id"], event_type=event["type"],
                     toky_key=object_key(event), task_id=task_id,
                     location=deps.settings.ghl_location_id)
    missing = missing_scopes(event["type"], deps.settings.ghl_scopes)
    if missing:
        versions = VersionStore(deps.redis, deps.prefix)
        duplicate = _duplicate(event, versions, stats, bound)
        if duplicate:
            return duplicate
        reason = (f"missing scope {' and '.join(missing)}: GHL_SCOPES allows "
                  f"{' '.join(sorted(deps.settings.ghl_scopes))}; grant it, then "
                  "`toky-ghl dlq replay --all`")
        return _dead_letter(raw_event, reason, "scope", dlq, stats, task_id, bound)

    # One script: duplicate check, pause probe, the object's lock, the versions.
    auth = auth_of(deps)
    at_us = occurred_at_us(event["occurred_at"])
    keys = _version_keys(event)
    phone = customer_phone(event)
    contact_key = f"contact:{phone}" if phone else None
    read_keys = list(dict.fromkeys(keys + ([contact_key] if contact_key else [])))
    delivery = Delivery(deps.redis, deps.prefix, lock_ttl_s=OBJECT_LOCK_TTL_S,
                        lock_wait_s=OBJECT_LOCK_WAIT_S)
    probe_keys = auth.probe_keys() if hasattr(auth, "probe_keys") else None
    ahead = _idmap_ahead(event, phone, deps)
    begun = delivery.begin(event["id"], object_key(event), read_keys, probe_keys, ahead)
    probed = probe_keys is not None
    if begun.state == "paused":
        try:  # a paused location sends nothing: the event waits (see worker.auth.decide)
            version = begun.auth_version
            auth.check_probed(int(version) if version else None, Pause.from_json(begun.pause))
        except LocationPaused as exc:
            return _failed(exc, event, deps, dlq, stats, bound, tried, task_id)
        # the pause is of older credentials: begin again without the probe
        begun = delivery.begin(event["id"], object_key(event), read_keys, None, ahead)
        probed = False
    elif probe_keys is None and auth is not None:
        try:
            auth.check_not_paused()
        except LocationPaused as exc:
            return _failed(exc, event, deps, dlq, stats, bound, tried, task_id)
    if begun.state == "dup":
        return _finish(Decision("skipped", f"duplicate: event already {begun.handled}"),
                       event, stats, bound)
    if begun.state == "busy":
        wait_ms = 500 + int(deps.rand() * 1000)
        stats.retrying(event["id"], event["type"], wait_ms, "busy")
        return Decision("retry", "object busy: another worker holds its lock",
                        retry_in_ms=wait_ms, failures=tried.failures,
                        since_ms=tried.since_ms, history=tried.history)
    if probed and begun.state == "go":  # the first GHL call's token probe, already read
        auth.prime(int(begun.auth_version) if begun.auth_version else None, None)
    ended = False
    try:
        with prefetched(begun.idmap):  # the id map's first reads, done by the begin script
            decision, ended = _apply_locked(event, deps, delivery, begun.versions or {},
                                            at_us, keys, contact_key, dlq, stats, bound,
                                            tried, task_id)
        return decision
    finally:
        if probe_keys is not None:
            auth.unprime()
        if not ended and not delivery.unlock(object_key(event)):
            bound.warning("object lock expired before release", lock_ttl_s=OBJECT_LOCK_TTL_S)


def _idmap_ahead(event: dict[str, Any], phone: str | None, deps: PipelineDeps
                 ) -> tuple[list[str], list[str]]:
    """The id map keys the event's handler reads first: its contact's, and for a child
    (a call, note, task, appointment…) the child's entry and, unless deleted, intent."""
    key = object_key(event)
    if event["type"].startswith("ghl."):  # the mirror writes to Toky
        return [], []
    child = None if key.startswith("contact:") else key
    return IdMap(deps.redis, deps.prefix).prefetch_keys(
        phone, child, intent=event["type"] not in _DELETES)


def _duplicate(event, versions, stats, bound) -> Decision | None:
    """A skip decision when the event id was handled before, else None."""
    previous = versions.handled(event["id"])
    if previous is None:
        return None
    return _finish(Decision("skipped", f"duplicate: event already {previous}"), event, stats, bound)


def _apply_locked(event, deps, delivery, stored, at_us, keys, contact_key, dlq, stats, bound,
                  tried, task_id) -> tuple[Decision, bool]:
    """Latest wins, then the rules; (the decision, True when ``delivery.end`` ran: it
    recorded the event and released the lock)."""
    contact_version = stored.get(contact_key) if contact_key else None
    if contact_version and contact_version.tombstone and contact_version.at_us > at_us:
        decision = Decision("skipped", "stale: the contact was deleted after this event")
        return _end(decision, event, delivery, stats, bound, "skipped: contact deleted later")

    fresh = [k for k in keys if not (stored.get(k) and stored[k].at_us > at_us)]
    if not fresh:
        return _end(Decision("skipped", "stale: a newer event for this object was applied"),
                    event, delivery, stats, bound, "skipped: stale")
    event = _only_fresh(event, fresh)

    ctx = SyncContext(client=deps.client, redis=deps.redis, settings=deps.settings,
                      field_map=deps.field_map, log=bound, toky=deps.toky)
    try:
        # the rules: built-in (the contract) or AUTOMATIONS (a dry run may name its own)
        outcome = run_rules(event, ctx, deps.rules, fired=deps.fired)
    except Exception as exc:  # every failure becomes a retry or a dead letter, never lost
        return _failed(exc, event, deps, dlq, stats, bound, tried, task_id), False

    tombstone = event["type"] in _DELETES
    return _end(Decision(outcome.status, outcome.detail, ghl_ids=outcome.ghl_ids), event,
                delivery, stats, bound, outcome.status,
                {k: Version(at_us, tombstone) for k in fresh})


def _failed(exc, event, deps, dlq, stats, bound, tried: Attempts, task_id) -> Decision:
    """Turn a handler's exception into a park (``retry``) or a dead letter (never a loss)."""
    settings = deps.settings
    policy = RetryPolicy.from_settings(settings)
    failures = tried.failures
    now_ms = deps.now_ms()

    def dead(reason: str, kind: str, history: tuple[str, ...] = ()) -> Decision:
        where = failed_where(exc)  # the rule and action that failed, when one did
        reason = f"{where}: {reason}" if where else reason
        return _dead_letter(event, reason, kind, dlq, stats, task_id, bound, history=history)

    def park(detail: str, wait_ms: int, reason: ParkReason, *, failed: bool = False,
             transient: bool = True) -> Decision:
        """Park the event; ``failed``: this counts as an attempt; ``transient``: the
        retry horizon applies (it starts at the first transient failure)."""
        since = tried.since_ms if tried.since_ms is not None else now_ms
        history = (*tried.history, f"{_iso(now_ms)} {detail}")[-HISTORY_KEEP:]
        if transient and now_ms - since >= settings.ghl_retry_horizon_s * 1000:
            waited_s = (now_ms - since) // 1000
            return dead(f"gave up after {waited_s} s of transient failures "
                        f"(GHL_RETRY_HORIZON_S={settings.ghl_retry_horizon_s}): {detail}",
                        "horizon", history)
        wait_ms = max(1, wait_ms)
        failures_after = failures + int(failed)
        stats.retrying(event["id"], event["type"], wait_ms, reason.value)
        bound.info("parked", reason=reason.value, detail=detail, wait_ms=wait_ms,
                   failures=failures_after)
        return Decision("retry", detail, retry_in_ms=wait_ms, failures=failures_after,
                        reason=reason, since_ms=since if transient else tried.since_ms,
                        history=history)

    def backoff() -> int:
        return backoff_ms(failures, base_ms=settings.ghl_backoff_base_ms,
                          cap_ms=settings.ghl_backoff_cap_ms, rand=deps.rand)

    if isinstance(exc, ghl_errors.GhlScopeError):
        return dead(str(exc), "scope")
    if isinstance(exc, Unprocessable):
        return dead(str(exc), "unprocessable")
    if isinstance(exc, CircuitOpen):  # GHL looked down: not sent, no attempt spent
        return park(str(exc), max(0, exc.next_probe_ms - now_ms), ParkReason.CIRCUIT)
    if isinstance(exc, Deferred) and exc.retry_after_ms is not None:  # waiting is not failing
        return park(str(exc), exc.retry_after_ms + int(deps.rand() * 250), ParkReason.BACKOFF,
                    transient=False)
    if isinstance(exc, ghl_errors.GhlRateLimitedError):  # waiting is not failing
        if exc.daily:
            return park(f"daily budget spent: {exc}", exc.retry_after_ms or 60_000,
                        ParkReason.DAILY)
        return park(f"rate limited: {exc}", policy.wait_ms(exc, failures, rand=deps.rand),
                    ParkReason.RATE)
    if isinstance(exc, LocationPaused):  # no request is sent while paused
        return park(f"waiting: {exc}", PAUSE_RECHECK_MS + int(deps.rand() * 250),
                    ParkReason.AUTH)
    if isinstance(exc, AuthUnavailable):  # the token endpoint is down: like a 5xx, parked
        return park(str(exc), exc.retry_after_ms or backoff(), ParkReason.AUTH, failed=True)
    if isinstance(exc, ghl_errors.GhlAuthError):  # refresh / reload once, or pause
        verdict = decide(exc, auth_of(deps), failures=failures,
                         max_attempts=settings.ghl_retry_max_attempts, rand=deps.rand,
                         backoff_ms=backoff)
        if verdict.action == "dead":
            return dead(verdict.detail, verdict.kind, tried.history)
        return park(verdict.detail, verdict.wait_ms, ParkReason.AUTH, failed=verdict.failed,
                    transient=False)
    if isinstance(exc, ghl_errors.GhlError) and is_retryable(exc):  # 5xx, timeouts
        return park(str(exc), policy.wait_ms(exc, failures, rand=deps.rand), ParkReason.BACKOFF,
                    failed=True)
    # A 404 may come from a race (another worker deleted the contact between our
    # lookup and our write): retried, the latest-wins check then skips the event if
    # it is stale; a 404 that persists is dead-lettered when the attempts run out.
    if (isinstance(exc, ghl_errors.GhlError)
            and not isinstance(exc, ghl_errors.GhlNotFoundError)):
        return dead(f"GHL rejected the event: {exc}", "rejected", tried.history)

    reason = str(exc) if isinstance(exc, ghl_errors.GhlError | Deferred) else (
        f"{type(exc).__name__}: {exc}")
    attempt = failures + 1
    if attempt >= settings.ghl_retry_max_attempts:
        kind = "deferred" if isinstance(exc, Deferred) else (
            "retries_exhausted" if isinstance(exc, ghl_errors.GhlError) else "internal")
        history = (*tried.history, f"{_iso(now_ms)} {reason}")[-HISTORY_KEEP:]
        return dead(f"gave up after {attempt} attempts: {reason}", kind, history)
    if not isinstance(exc, ghl_errors.GhlError | Deferred):
        bound.exception("handler failed unexpectedly; will retry", attempt=attempt)
    return park(reason, backoff(), ParkReason.BACKOFF, failed=True, transient=False)


def _iso(epoch_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")


def _dead_letter(raw, reason, kind, dlq, stats, task_id, bound=None, history=()) -> Decision:
    entry = dlq.add(raw, reason, kind, task_id=task_id, history=list(history))
    event_type = raw.get("type", "?") if isinstance(raw, dict) else "?"
    stats.finish("dead_lettered", str(event_type), entry.id, kind)
    (bound or log).warning("dead-lettered", reason=reason, kind=kind, dlq_id=entry.id)
    return Decision("dead_lettered", reason)


def _finish(decision: Decision, event: dict[str, Any], stats: Stats, bound) -> Decision:
    applied = decision.kind == "applied"
    stats.finish(decision.kind, event["type"], event["id"],
                 "" if applied else skip_reason(decision.detail),
                 occurred_at=event["occurred_at"] if applied else None)
    _log_decision(decision, event, bound)
    return decision


def _end(decision: Decision, event: dict[str, Any], delivery: Delivery, stats: Stats, bound,
         handled: str, versions: dict[str, Version] | None = None) -> tuple[Decision, bool]:
    """Record, unlock and count in one script (``worker.delivery``)."""
    applied = decision.kind == "applied"
    parts = stats.finish_parts(decision.kind, event["type"], event["id"],
                               "" if applied else skip_reason(decision.detail),
                               occurred_at=event["occurred_at"] if applied else None)
    if not delivery.end(event["id"], object_key(event), handled, versions or {}, parts):
        bound.warning("object lock expired before release", lock_ttl_s=OBJECT_LOCK_TTL_S)
    _log_decision(decision, event, bound)
    return decision, True


def _log_decision(decision: Decision, event: dict[str, Any], bound) -> None:
    bound.info(f"event {decision.kind}", detail=decision.detail, label=event_label(event),
               **({"ghl_ids": decision.ghl_ids} if decision.ghl_ids else {}))
