"""One event through the guarantees: validate, de-duplicate, lock, latest-wins, apply, decide.

A plain function (``process``) the Celery task calls; it never raises for an
event's own failures. It answers a ``Decision``: applied, skipped (duplicate,
stale, nothing to do), dead-lettered (with the reason), or park it (``retry``)
for N ms with a ``ParkReason`` (the task parks it in ``worker.delay``).

One ``Delivery`` is one delivery of one event: the event, the dependencies, its
log and what its earlier attempts left; the steps above are its methods. What
an event type is (its object key, its kind, the scopes it needs) comes from the
registry (``contract.event_types``); what a failure becomes (park or dead
letter) from ``worker.classify``; the Redis work of a delivery's begin and end
from ``worker.delivery``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis

from clients.ghl.errors import GhlAuthError
from clients.ghl.scopes import has_scope
from clients.ghl.transport import one_event
from clients.http_policy import backoff_ms
from contract.event_types import EVENT_SPECS, EventKind
from contract.events import (
    Event,
    InvalidEvent,
    customer_phone,
    event_label,
    object_key,
    validate_event,
)
from toky_ghl.logs import get_logger
from toky_ghl.metrics import record
from toky_ghl.settings import Settings
from worker.auth.decide import AuthAction, auth_of, decide
from worker.auth.errors import LocationPaused
from worker.auth.pause import Pause
from worker.classify import Action, Attempt, FailurePolicy, History, Verdict, Wait, classify
from worker.delay.reasons import ParkReason
from worker.delivery import BeginState, Begun, DeliveryScripts
from worker.dlq import DeadKind, DeadLetterStore
from worker.idmap import Ahead, IdMap, prefetched
from worker.latest_wins import fresh_keys, only_fresh, version_keys
from worker.rules import failed_where, run_rules
from worker.stats import Counted, Stats, skip_reason
from worker.sync.context import HeldLock, SyncContext
from worker.sync.ensure_contact import MAKING_LOCK_TTL_S
from worker.versions import Version, VersionStore, occurred_at_us

if TYPE_CHECKING:
    from clients.ghl.api import GhlApi
    from clients.toky import TokyClient
    from worker.auth.source import TokenSource
    from worker.fieldmap import FieldMap
    from worker.rules import RuleSet

log = get_logger("toky_ghl.pipeline")

#: How long one object's lock is held at most, in seconds; a worker killed
#: while holding it delays that object by at most this long.
OBJECT_LOCK_TTL_S = 30
#: How long a contact's lock (``contact:<phone>``) is held at most, in seconds. It is
#: also the lock under which the phone's contact is made (``worker.sync.ensure_contact``),
#: so it lasts one upsert after the delivery's first steps, which take far less than
#: 5 s (else that lock is extended before the upsert).
CONTACT_LOCK_TTL_S = MAKING_LOCK_TTL_S + 5
#: How long a task waits for an object's lock before it is re-scheduled, in seconds.
OBJECT_LOCK_WAIT_S = 0.5


class DecisionKind(StrEnum):
    """What became of one delivery of an event."""

    APPLIED = "applied"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"  # parked: delivered again later (counted as ``Counted.RETRIED``)


@dataclass(frozen=True)
class Decision:
    """What became of one delivery of an event."""

    kind: DecisionKind
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
class Carried:
    """What an event carries from one delivery to the next (task kwargs): its earlier
    failures, when its transient failures began (epoch ms), what they were."""

    failures: int = 0
    since_ms: int | None = None
    history: tuple[str, ...] = ()


#: How many failures a dead letter's history keeps (the last ones).
HISTORY_KEEP = 10
#: The retry reason the counters give an event whose object another worker holds.
BUSY = "busy"


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
    return [s for s in EVENT_SPECS[event_type].scopes if not has_scope(granted, s)]


def process(
    raw_event: Any, deps: PipelineDeps, *, failures: int = 0, task_id: str | None = None,
    since_ms: int | None = None, history: tuple[str, ...] | list[str] = (),
) -> Decision:
    """Handle one delivery of ``raw_event``; ``failures`` counts earlier failed attempts,
    ``since_ms`` is when its transient failures began, ``history`` what they were.

    What its GHL requests tell the metrics is written with its decision (``worker.stats``).
    """
    tried = Carried(failures, since_ms, tuple(history))
    with record.collecting(), one_event():  # one_event: see clients.ghl.transport
        return Delivery(raw_event, deps, tried, task_id).run()


class Delivery:
    """One delivery of one event: ``raw`` as it arrived, ``deps``, what the earlier
    attempts left (``tried``), the Celery task's id; once validated, ``event`` and
    ``log`` (bound to the event). ``run`` takes the steps and answers the decision."""

    event: Event
    key: str
    #: the TTL of the object's lock (a contact's is longer: ``CONTACT_LOCK_TTL_S``)
    lock_ttl_s: float = OBJECT_LOCK_TTL_S

    def __init__(self, raw: object, deps: PipelineDeps, tried: Carried,
                 task_id: str | None) -> None:
        self.raw = raw
        self.deps = deps
        self.tried = tried
        self.task_id = task_id
        self.log: Any = log
        self.stats = Stats(deps.redis, deps.prefix)
        self.redis = DeliveryScripts(deps.redis, deps.prefix, lock_ttl_s=OBJECT_LOCK_TTL_S,
                                     lock_wait_s=OBJECT_LOCK_WAIT_S)

    @cached_property
    def dlq(self) -> DeadLetterStore:
        """The dead-letter store (made only for a delivery that dead-letters)."""
        return DeadLetterStore(self.deps.redis, self.deps.prefix)

    def run(self) -> Decision:
        """Validate, refuse what the scopes do not allow, then lock and apply."""
        try:
            self.event = validate_event(self.raw)
        except InvalidEvent as exc:
            return self.dead_letter(self.raw, f"invalid event: {exc}", DeadKind.INVALID)
        self.key = object_key(self.event)
        self.log = log.bind(event_id=self.event["id"], event_type=self.event["type"],
                            toky_key=self.key, task_id=self.task_id,
                            location=self.deps.settings.ghl_location_id)
        missing = missing_scopes(self.event["type"], self.deps.settings.ghl_scopes)
        if missing:
            return self.refuse(missing)
        return self.deliver()

    def refuse(self, missing: list[str]) -> Decision:
        """Dead-letter an event whose writes ``GHL_SCOPES`` does not allow (a duplicate of
        one handled before is skipped)."""
        previous = VersionStore(self.deps.redis, self.deps.prefix).handled(self.event["id"])
        if previous is not None:
            return self.finish(Decision(DecisionKind.SKIPPED,
                                        f"duplicate: event already {previous}"))
        granted = " ".join(sorted(self.deps.settings.ghl_scopes))
        return self.dead_letter(self.raw, f"missing scope {' and '.join(missing)}: GHL_SCOPES "
                                f"allows {granted}; grant it, then `toky-ghl dlq replay --all`",
                                DeadKind.SCOPE)

    def deliver(self) -> Decision:
        """One script: the duplicate check, the pause probe, the object's lock and the
        versions; then, holding the lock, latest wins and the rules."""
        auth = auth_of(self.deps)
        keys = version_keys(self.event)
        phone = customer_phone(self.event)
        contact_key = f"contact:{phone}" if phone else None
        read_keys = list(dict.fromkeys(keys + ([contact_key] if contact_key else [])))
        probe_keys = (auth.probe_keys() if auth is not None and hasattr(auth, "probe_keys")
                      else None)
        ahead = self.idmap_ahead(phone)
        if self.key == contact_key:
            self.lock_ttl_s = CONTACT_LOCK_TTL_S
        begun = self.redis.begin(self.event["id"], self.key, read_keys, probe_keys, ahead,
                                 lock_ttl_s=self.lock_ttl_s)
        probed = probe_keys is not None
        if begun.state is BeginState.PAUSED and auth is not None:  # only a probe finds a pause
            try:  # a paused location sends nothing: the event waits (see worker.auth.decide)
                version = begun.auth_version
                auth.check_probed(int(version) if version else None,
                                  Pause.from_json(begun.pause))
            except LocationPaused as exc:
                return self.failed(exc)
            # the pause is of older credentials: begin again without the probe
            begun = self.redis.begin(self.event["id"], self.key, read_keys, None, ahead,
                                     lock_ttl_s=self.lock_ttl_s)
            probed = False
        elif probe_keys is None and auth is not None:
            try:
                auth.check_not_paused()
            except LocationPaused as exc:
                return self.failed(exc)
        if begun.state is BeginState.DUP:
            return self.finish(Decision(DecisionKind.SKIPPED,
                                        f"duplicate: event already {begun.handled}"))
        if begun.state is BeginState.BUSY:
            return self.busy()
        if probed and begun.state is BeginState.GO and auth is not None:  # the first call's probe
            auth.prime(int(begun.auth_version) if begun.auth_version else None, None)
        ended = False
        try:
            with prefetched(begun.idmap):  # the id map's first reads, done by the begin script
                decision, ended = self.apply_locked(begun, keys, contact_key)
            return decision
        finally:
            if probe_keys is not None and auth is not None:
                auth.unprime()
            if not ended and not self.redis.unlock(self.key):
                self.log.warning("object lock expired before release",
                                 lock_ttl_s=self.lock_ttl_s)

    def idmap_ahead(self, phone: str | None) -> Ahead | None:
        """What of the id map the event's handler reads first: its contact's, and for a
        child (a call, note, task, appointment…) the child's entry or intent."""
        spec = EVENT_SPECS[self.event["type"]]
        if not spec.writes_ghl:  # the mirror writes to Toky
            return None
        child = None if self.key.startswith("contact:") else self.key
        return IdMap(self.deps.redis, self.deps.prefix).ahead(
            phone, child, intent=spec.kind is not EventKind.DELETE)

    def busy(self) -> Decision:
        """Another worker holds the object's lock: retry soon (not a failure)."""
        wait_ms = 500 + int(self.deps.rand() * 1000)
        self.stats.retrying(self.event["id"], self.event["type"], wait_ms, BUSY)
        return Decision(DecisionKind.RETRY, "object busy: another worker holds its lock",
                        retry_in_ms=wait_ms, failures=self.tried.failures,
                        since_ms=self.tried.since_ms, history=self.tried.history)

    def apply_locked(self, begun: Begun, keys: list[str],
                     contact_key: str | None) -> tuple[Decision, bool]:
        """Latest wins, then the rules; (the decision, True when ``end`` ran: it recorded
        the event and released the lock)."""
        stored = begun.versions or {}
        at_us = occurred_at_us(self.event["occurred_at"])
        contact_version = stored.get(contact_key) if contact_key else None
        if contact_version and contact_version.tombstone and contact_version.at_us > at_us:
            return self.end(Decision(DecisionKind.SKIPPED,
                                     "stale: the contact was deleted after this event"),
                            "skipped: contact deleted later")
        fresh = fresh_keys(keys, stored, at_us)
        if not fresh:
            return self.end(Decision(DecisionKind.SKIPPED,
                                     "stale: a newer event for this object was applied"),
                            "skipped: stale")
        self.event = only_fresh(self.event, fresh)
        ctx = SyncContext(client=self.deps.client, redis=self.deps.redis,
                          settings=self.deps.settings, field_map=self.deps.field_map,
                          log=self.log, toky=self.deps.toky,
                          held=HeldLock(self.redis.lock_key(self.key), self.redis.token,
                                        begun.held_until_s))
        try:
            # the rules: built-in (the contract) or AUTOMATIONS (a dry run may name its own)
            outcome = run_rules(self.event, ctx, self.deps.rules, fired=self.deps.fired)
        except Exception as exc:  # every failure becomes a retry or a dead letter, never lost
            return self.failed(exc), False
        tombstone = EVENT_SPECS[self.event["type"]].kind is EventKind.DELETE
        return self.end(Decision(DecisionKind(outcome.status), outcome.detail,
                                 ghl_ids=outcome.ghl_ids),
                        outcome.status, {k: Version(at_us, tombstone) for k in fresh})

    def failed(self, exc: Exception) -> Decision:
        """Turn a handler's exception into a park (``retry``) or a dead letter (never a
        loss), as ``worker.classify`` says."""
        attempt = Attempt(self.tried.failures, self.tried.since_ms, self.deps.now_ms())
        verdict = classify(exc, attempt, FailurePolicy.from_settings(self.deps.settings))
        if verdict.action is Action.REFRESH and isinstance(exc, GhlAuthError):
            verdict = self.after_unauthorized(exc)  # a 401: refresh or reload once, or pause
        if verdict.action is Action.DEAD:
            assert verdict.dead_kind is not None
            where = failed_where(exc)  # the rule and action that failed, when one did
            reason = f"{where}: {verdict.detail}" if where else verdict.detail
            history = {History.NONE: (), History.EARLIER: self.tried.history,
                       History.WITH_THIS: self.history_with(verdict, attempt.now_ms)}
            return self.dead_letter(self.event, reason, verdict.dead_kind,
                                    history[verdict.history])
        if verdict.unexpected:
            self.log.exception("handler failed unexpectedly; will retry",
                               attempt=self.tried.failures + 1)
        return self.park(verdict, attempt.now_ms)

    def after_unauthorized(self, exc: GhlAuthError) -> Verdict:
        """What ``worker.auth.decide`` answers once the token provider looked for newer
        credentials."""
        answer = decide(exc, auth_of(self.deps), failures=self.tried.failures,
                        max_attempts=self.deps.settings.ghl_retry_max_attempts,
                        backoff_ms=self.backoff_ms, rand=self.deps.rand)
        if answer.action is AuthAction.DEAD:
            return Verdict(Action.DEAD, answer.detail, dead_kind=answer.kind,
                           history=History.EARLIER)
        return Verdict(Action.PARK, answer.detail, Wait(answer.wait_ms), ParkReason.AUTH,
                       failed=answer.failed)

    def backoff_ms(self) -> int:
        settings = self.deps.settings
        return backoff_ms(self.tried.failures, base_ms=settings.ghl_backoff_base_ms,
                          cap_ms=settings.ghl_backoff_cap_ms, rand=self.deps.rand)

    def history_with(self, verdict: Verdict, now_ms: int) -> tuple[str, ...]:
        """The failure history with this one: the last ``HISTORY_KEEP``."""
        return (*self.tried.history, f"{_iso(now_ms)} {verdict.history_entry}")[-HISTORY_KEEP:]

    def park(self, verdict: Verdict, now_ms: int) -> Decision:
        """Park the event (the task puts it in the delay store) for the verdict's wait."""
        wait_ms = max(1, verdict.wait.resolve_ms(self.deps.rand, self.backoff_ms))
        failures = self.tried.failures + int(verdict.failed)
        since_ms = self.tried.since_ms
        if verdict.transient and since_ms is None:  # the retry horizon starts here
            since_ms = now_ms
        self.stats.retrying(self.event["id"], self.event["type"], wait_ms,
                            verdict.park_reason.value)
        self.log.info("parked", reason=verdict.park_reason.value, detail=verdict.detail,
                      wait_ms=wait_ms, failures=failures)
        return Decision(DecisionKind.RETRY, verdict.detail, retry_in_ms=wait_ms,
                        failures=failures, reason=verdict.park_reason, since_ms=since_ms,
                        history=self.history_with(verdict, now_ms))

    def dead_letter(self, kept: object, reason: str, kind: DeadKind,
                    history: tuple[str, ...] = ()) -> Decision:
        """Keep ``kept`` (the event as it arrived, or as validated) in the dead-letter store."""
        entry = self.dlq.add(kept, reason, kind, task_id=self.task_id, history=list(history))
        event_type = kept.get("type", "?") if isinstance(kept, dict) else "?"
        self.stats.finish(Counted.DEAD_LETTERED, str(event_type), entry.id, kind)
        self.log.warning("dead-lettered", reason=reason, kind=kind, dlq_id=entry.id)
        return Decision(DecisionKind.DEAD_LETTERED, reason)

    def finish(self, decision: Decision) -> Decision:
        """Count a decision taken without holding the object's lock."""
        self.stats.finish(*self.counted(decision))
        self.log_decision(decision)
        return decision

    def end(self, decision: Decision, handled: str,
            versions: dict[str, Version] | None = None) -> tuple[Decision, bool]:
        """Record, unlock and count in one script (``worker.delivery``)."""
        outcome, event_type, event_id, reason = self.counted(decision)
        parts = self.stats.finish_parts(outcome, event_type, event_id, reason,
                                        occurred_at=self.occurred_at(decision))
        if not self.redis.end(self.event["id"], self.key, handled, versions or {}, parts):
            self.log.warning("object lock expired before release", lock_ttl_s=self.lock_ttl_s)
        self.log_decision(decision)
        return decision, True

    def counted(self, decision: Decision) -> tuple[Counted, str, str, str]:
        """The counter of ``decision``, the event's type and id, and the skip's reason."""
        applied = decision.kind is DecisionKind.APPLIED
        return (Counted(decision.kind), self.event["type"], self.event["id"],
                "" if applied else skip_reason(decision.detail))

    def occurred_at(self, decision: Decision) -> str | None:
        """When an applied event occurred (its lag is measured), else None."""
        return self.event["occurred_at"] if decision.kind is DecisionKind.APPLIED else None

    def log_decision(self, decision: Decision) -> None:
        self.log.info(f"event {decision.kind}", detail=decision.detail,
                      label=event_label(self.event),
                      **({"ghl_ids": decision.ghl_ids} if decision.ghl_ids else {}))


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")
