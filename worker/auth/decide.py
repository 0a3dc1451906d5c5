"""The pipeline's answer to a credentials failure: retry (when and whether it counts as a
failed attempt) or dead-letter (with which reason).

- ``LocationPaused``: wait ``PAUSE_RECHECK_MS`` (capped by the pipeline), not a failure:
  events that arrive during a pause are kept and retried, never lost.
- ``CredentialsRefused``: dead-letter with the reason; the location is paused already.
- ``AuthUnavailable`` (token endpoint down...): backoff, counted like a 5xx.
- A 401 from GHL naming a scope: dead-letter (a refresh does not grant scopes).
- Any other 401: ``TokenProvider.after_unauthorized``: newer credentials or a refresh
  → retry at once, not counted; the same credentials refused again → pause + dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.auth.errors import AuthError, AuthUnavailable, CredentialsRefused, LocationPaused
from worker.ghl.errors import GhlAuthError

if TYPE_CHECKING:
    from worker.auth.source import TokenSource
    from worker.pipeline import PipelineDeps

#: How long a paused location's events wait before they look again, in ms.
PAUSE_RECHECK_MS = 30_000
#: How soon an event is retried after the credentials changed under it, in ms.
CHANGED_RETRY_MS = 100
_JITTER_MS = 250


@dataclass(frozen=True)
class AuthVerdict:
    """``action``: ``"retry"`` (after ``wait_ms``; ``failed`` True when it counts as a
    failed attempt) or ``"dead"`` (dead-letter as ``kind``). ``detail``: the reason."""

    action: str
    detail: str
    wait_ms: int = 0
    failed: bool = False
    kind: str = "auth"


def auth_of(deps: PipelineDeps) -> TokenSource | None:
    """The deps' token provider: ``deps.auth``, else one over their settings and Redis,
    built on first use and kept on the deps (all its state is in Redis); None when no
    location is configured."""
    if deps.auth is None and deps.settings.ghl_location_id:
        from worker.auth.bootstrap import make_provider

        deps.auth = make_provider(deps.settings, deps.redis)
    return deps.auth


def _about_scope(error: GhlAuthError) -> bool:
    return "scope" in (error.message or "").lower()


def decide(error: GhlAuthError, provider: TokenSource | None, *, failures: int, max_attempts: int,
           backoff_ms: Callable[[], int], rand: Callable[[], float]) -> AuthVerdict:
    """What to do with an event whose handler met ``error`` (``failures``: earlier ones)."""
    jitter = int(rand() * _JITTER_MS)
    if isinstance(error, LocationPaused):
        return AuthVerdict("retry", f"waiting: {error}", PAUSE_RECHECK_MS + jitter)
    if isinstance(error, CredentialsRefused):
        return AuthVerdict("dead", f"{error.message}; replay with `toky-ghl dlq replay --all` "
                           "once the credentials are fixed")
    if isinstance(error, AuthUnavailable):
        if failures + 1 >= max_attempts:
            return AuthVerdict("dead", f"gave up after {failures + 1} attempts: {error}")
        return AuthVerdict("retry", str(error), error.retry_after_ms or backoff_ms(), True)
    if _about_scope(error):
        return AuthVerdict("dead", f"{error}: the token lacks the scope; grant it, then "
                           "`toky-ghl dlq replay --all`", kind="scope")
    if provider is None:  # no location to keep credentials for: one more try, then give up
        if failures == 0:
            return AuthVerdict("retry", f"token refused, trying once more: {error}", 1000, True)
        return AuthVerdict("dead", f"GHL refused the token: {error}")
    try:
        changed = provider.after_unauthorized(error.message)
    except AuthError as again:
        return decide(again, None, failures=failures, max_attempts=max_attempts,
                      backoff_ms=backoff_ms, rand=rand)
    return AuthVerdict("retry", f"{error}; {changed}: retrying with them",
                       CHANGED_RETRY_MS + jitter)
