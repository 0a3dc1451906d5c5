"""What to do with an event whose delivery failed: ``classify(error, attempt, policy)``.

One pure function from the error a delivery met, what earlier attempts left
(``Attempt``) and the retry settings (``FailurePolicy``) to a ``Verdict``: park the
event (for how long, why, whether it counts as a failed attempt, whether the retry
horizon applies) or dead-letter it (as which ``DeadKind``, keeping which history).
The pipeline (``worker.pipeline``) acts on it; the dry run goes through the
pipeline, so it reports what a worker would do. Only a 401 needs more than the
error: ``Action.REFRESH`` asks the token provider (``worker.auth.decide``).

Waiting is not failing: a full rate window, an open circuit, a paused location, a
spent daily budget, a lock held elsewhere never count as attempts. Transient
failures (5xx, timeouts, the token endpoint down) are parked until
``GHL_RETRY_HORIZON_S`` after the first one; anything else that fails (a 404 that
persists, an error of our own) counts as an attempt, dead-lettered after
``GHL_RETRY_MAX_ATTEMPTS``. Randomness stays out: a ``Wait`` says how to draw it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from clients import http_policy
from clients.ghl import errors as ghl_errors
from clients.ghl.retry import RetryPolicy, hint_ms, is_retryable
from toky_ghl.settings import Settings
from worker.auth.errors import AuthUnavailable, CredentialsRefused, LocationPaused
from worker.circuit import CircuitOpen
from worker.delay.reasons import ParkReason
from worker.dlq import DeadKind
from worker.sync.outcome import Deferred, Unprocessable

#: How long a paused location's events wait before they look again, in ms.
PAUSE_RECHECK_MS = 30_000
#: How soon an event is retried after the credentials changed under it, in ms.
CHANGED_RETRY_MS = 100
#: The random share added to the waits above (and to a lock's retry-after), in ms.
JITTER_MS = 250
#: A spent daily budget without a Retry-After waits this long, in ms.
DAILY_WAIT_MS = 60_000
#: Without credentials to refresh, a refused token is tried once more after this, in ms.
ONCE_MORE_MS = 1000


class Action(StrEnum):
    PARK = "park"  # wait, then deliver again (the pipeline's decision ``retry``)
    DEAD = "dead"  # dead-letter as ``Verdict.dead_kind``
    REFRESH = "refresh"  # a 401: ask the token provider, then decide (``worker.auth.decide``)


class History(StrEnum):
    """Which failures a dead letter keeps."""

    NONE = "none"
    EARLIER = "earlier"  # those of the earlier attempts
    WITH_THIS = "with_this"  # those and this one


@dataclass(frozen=True)
class Wait:
    """How long a parked event waits: ``ms`` plus a random share of ``jitter_ms``, or
    (``backoff``) exponential backoff with full jitter after the earlier failures."""

    ms: int = 0
    jitter_ms: int = 0
    backoff: bool = False

    def resolve_ms(self, rand: Callable[[], float], backoff_ms: Callable[[], int]) -> int:
        if self.backoff:
            return backoff_ms()
        return self.ms + (int(rand() * self.jitter_ms) if self.jitter_ms else 0)


@dataclass(frozen=True)
class Attempt:
    """What a delivery knows of its event's attempts: ``failures`` before this one,
    ``since_ms`` when its transient failures began (epoch ms; None: none yet), and
    ``now_ms`` (epoch ms)."""

    failures: int = 0
    since_ms: int | None = None
    now_ms: int = 0


@dataclass(frozen=True)
class FailurePolicy:
    """``retry``: attempts and backoff (``GHL_RETRY_MAX_ATTEMPTS``, ``GHL_BACKOFF_*``);
    ``horizon_s``: how long transient failures may last (``GHL_RETRY_HORIZON_S``)."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    horizon_s: int = 86_400

    @classmethod
    def from_settings(cls, settings: Settings) -> FailurePolicy:
        return cls(RetryPolicy.from_settings(settings), settings.ghl_retry_horizon_s)


@dataclass(frozen=True)
class Verdict:
    """What to do with a failed delivery. Park: after ``wait``, because of
    ``park_reason``; ``failed``: it counts as a failed attempt; ``transient``: the
    retry horizon applies. Dead: as ``dead_kind``, keeping ``history``. ``detail``:
    the reason, in words an operator reads; ``failure``: this failure as the history
    keeps it (None: ``detail``); ``unexpected``: an error of our own."""

    action: Action
    detail: str
    wait: Wait = Wait()
    park_reason: ParkReason = ParkReason.BACKOFF
    failed: bool = False
    transient: bool = False
    dead_kind: DeadKind | None = None
    history: History = History.NONE
    failure: str | None = None
    unexpected: bool = False

    @property
    def history_entry(self) -> str:
        return self.failure if self.failure is not None else self.detail


def _park(detail: str, wait: Wait, reason: ParkReason, *, failed: bool = False,
          transient: bool = True) -> Verdict:
    return Verdict(Action.PARK, detail, wait, reason, failed=failed, transient=transient)


def _dead(detail: str, kind: DeadKind, history: History = History.NONE, *,
          failure: str | None = None) -> Verdict:
    return Verdict(Action.DEAD, detail, dead_kind=kind, history=history, failure=failure)


def _server_wait(error: ghl_errors.GhlError, policy: RetryPolicy) -> Wait:
    """A 429's own wait (``Retry-After``, else its window), cut to the cap; else backoff."""
    hint = hint_ms(error)
    if hint is None:
        return Wait(backoff=True)
    return Wait(http_policy.wait_ms(hint, 0, base_ms=policy.base_ms, cap_ms=policy.cap_ms))


def classify(error: BaseException, attempt: Attempt, policy: FailurePolicy) -> Verdict:
    """The verdict on a delivery that met ``error`` (a transient one past the retry
    horizon is dead-lettered as ``horizon``)."""
    verdict = _classify(error, attempt, policy)
    if verdict.action is not Action.PARK or not verdict.transient:
        return verdict
    since_ms = attempt.since_ms if attempt.since_ms is not None else attempt.now_ms
    if attempt.now_ms - since_ms < policy.horizon_s * 1000:
        return verdict
    return _dead(f"gave up after {(attempt.now_ms - since_ms) // 1000} s of transient failures "
                 f"(GHL_RETRY_HORIZON_S={policy.horizon_s}): {verdict.detail}",
                 DeadKind.HORIZON, History.WITH_THIS, failure=verdict.detail)


def _classify(error: BaseException, attempt: Attempt, policy: FailurePolicy) -> Verdict:
    if isinstance(error, ghl_errors.GhlScopeError):  # refused before sending
        return _dead(str(error), DeadKind.SCOPE)
    if isinstance(error, Unprocessable):
        return _dead(str(error), DeadKind.UNPROCESSABLE)
    if isinstance(error, CircuitOpen):  # GHL looked down: not sent, no attempt spent
        return _park(str(error), Wait(max(0, error.next_probe_ms - attempt.now_ms)),
                     ParkReason.CIRCUIT)
    if isinstance(error, Deferred) and error.retry_after_ms is not None:  # waiting is not failing
        return _park(str(error), Wait(error.retry_after_ms, JITTER_MS), ParkReason.BACKOFF,
                     transient=False)
    if isinstance(error, ghl_errors.GhlRateLimitedError):  # waiting is not failing
        if error.daily:
            return _park(f"daily budget spent: {error}",
                         Wait(error.retry_after_ms or DAILY_WAIT_MS), ParkReason.DAILY)
        return _park(f"rate limited: {error}", _server_wait(error, policy.retry), ParkReason.RATE)
    if isinstance(error, LocationPaused):  # no request is sent while paused
        return _park(f"waiting: {error}", Wait(PAUSE_RECHECK_MS, JITTER_MS), ParkReason.AUTH)
    if isinstance(error, AuthUnavailable):  # the token endpoint is down: like a 5xx, parked
        return _park(str(error), _unavailable_wait(error), ParkReason.AUTH, failed=True)
    if isinstance(error, ghl_errors.GhlAuthError):
        return credentials(error, attempt, policy.retry.max_attempts, refreshable=True)
    if isinstance(error, ghl_errors.GhlError) and is_retryable(error):  # 5xx, timeouts
        return _park(str(error), _server_wait(error, policy.retry), ParkReason.BACKOFF,
                     failed=True)
    # A 404 may come from a race (another worker deleted the contact between our
    # lookup and our write): retried, the latest-wins check then skips the event if
    # it is stale; a 404 that persists is dead-lettered when the attempts run out.
    if (isinstance(error, ghl_errors.GhlError)
            and not isinstance(error, ghl_errors.GhlNotFoundError)):
        return _dead(f"GHL rejected the event: {error}", DeadKind.REJECTED, History.EARLIER)
    return _attempted(error, attempt, policy.retry.max_attempts)


def _unavailable_wait(error: AuthUnavailable) -> Wait:
    return Wait(error.retry_after_ms) if error.retry_after_ms else Wait(backoff=True)


def _attempted(error: BaseException, attempt: Attempt, max_attempts: int) -> Verdict:
    """A failure that counts as an attempt: backoff, dead-lettered when they run out."""
    ours = not isinstance(error, ghl_errors.GhlError | Deferred)
    reason = f"{type(error).__name__}: {error}" if ours else str(error)
    tried = attempt.failures + 1
    if tried >= max_attempts:
        kind = DeadKind.DEFERRED if isinstance(error, Deferred) else (
            DeadKind.INTERNAL if ours else DeadKind.RETRIES_EXHAUSTED)
        return _dead(f"gave up after {tried} attempts: {reason}", kind, History.WITH_THIS,
                     failure=reason)
    return Verdict(Action.PARK, reason, Wait(backoff=True), ParkReason.BACKOFF, failed=True,
                   unexpected=ours)


def credentials(error: ghl_errors.GhlAuthError, attempt: Attempt, max_attempts: int, *,
                refreshable: bool) -> Verdict:
    """The verdict on a credentials failure seen by ``worker.auth.decide`` (none of these
    waits is transient: a pause or a refresh ends by itself). ``refreshable``: a token
    provider can look for newer credentials (``Action.REFRESH``)."""
    if isinstance(error, LocationPaused):
        return _park(f"waiting: {error}", Wait(PAUSE_RECHECK_MS, JITTER_MS), ParkReason.AUTH,
                     transient=False)
    if isinstance(error, CredentialsRefused):
        return _dead(f"{error.message}; replay with `toky-ghl dlq replay --all` once the "
                     "credentials are fixed", DeadKind.AUTH, History.EARLIER)
    tried = attempt.failures + 1
    if isinstance(error, AuthUnavailable):
        if tried >= max_attempts:
            return _dead(f"gave up after {tried} attempts: {error}", DeadKind.AUTH,
                         History.EARLIER)
        return _park(str(error), _unavailable_wait(error), ParkReason.AUTH, failed=True,
                     transient=False)
    if isinstance(error, ghl_errors.GhlTokenScopeError):  # a refresh does not grant scopes
        return _dead(f"{error}: the token lacks the scope; grant it, then "
                     "`toky-ghl dlq replay --all`", DeadKind.SCOPE, History.EARLIER)
    if refreshable:
        return Verdict(Action.REFRESH, str(error))
    if attempt.failures == 0:  # no credentials to refresh: one more try, then give up
        return _park(f"token refused, trying once more: {error}", Wait(ONCE_MORE_MS),
                     ParkReason.AUTH, failed=True, transient=False)
    return _dead(f"GHL refused the token: {error}", DeadKind.AUTH, History.EARLIER)


def changed_credentials(error: ghl_errors.GhlAuthError, changed: str) -> Verdict:
    """The verdict once the token provider found newer credentials: retry at once."""
    return _park(f"{error}; {changed}: retrying with them", Wait(CHANGED_RETRY_MS, JITTER_MS),
                 ParkReason.AUTH, transient=False)
