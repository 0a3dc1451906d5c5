"""The pipeline's answer to a credentials failure: retry (when and whether it counts as a
failed attempt) or dead-letter (with which reason).

- ``LocationPaused``: wait ``PAUSE_RECHECK_MS`` (capped by the pipeline), not a failure:
  events that arrive during a pause are kept and retried, never lost.
- ``CredentialsRefused``: dead-letter with the reason; the location is paused already.
- ``AuthUnavailable`` (token endpoint down...): backoff, counted like a 5xx.
- A 401 from GHL naming a scope (``GhlTokenScopeError``): dead-letter (a refresh does not
  grant scopes).
- Any other 401: ``TokenProvider.after_unauthorized``: newer credentials or a refresh
  → retry at once, not counted; the same credentials refused again → pause + dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from clients.ghl.errors import GhlAuthError
from worker.auth.errors import AuthError
from worker.classify import (
    PAUSE_RECHECK_MS,
    Action,
    Attempt,
    changed_credentials,
    credentials,
)
from worker.dlq import DeadKind

if TYPE_CHECKING:
    from worker.auth.source import TokenSource
    from worker.pipeline import PipelineDeps

__all__ = ["PAUSE_RECHECK_MS", "AuthAction", "AuthVerdict", "auth_of", "decide"]


class AuthAction(StrEnum):
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class AuthVerdict:
    """``action``: retry (after ``wait_ms``; ``failed`` True when it counts as a
    failed attempt) or dead (dead-letter as ``kind``). ``detail``: the reason."""

    action: AuthAction
    detail: str
    wait_ms: int = 0
    failed: bool = False
    kind: DeadKind = DeadKind.AUTH


def auth_of(deps: PipelineDeps) -> TokenSource | None:
    """The deps' token provider: ``deps.auth``, else one over their settings and Redis,
    built on first use and kept on the deps (all its state is in Redis); None when no
    location is configured."""
    if deps.auth is None and deps.settings.ghl_location_id:
        from worker.auth.bootstrap import make_provider

        deps.auth = make_provider(deps.settings, deps.redis)
    return deps.auth


def decide(error: GhlAuthError, provider: TokenSource | None, *, failures: int,
           max_attempts: int, backoff_ms: Callable[[], int],
           rand: Callable[[], float]) -> AuthVerdict:
    """What to do with an event whose handler met ``error`` (``failures``: earlier ones):
    ``worker.classify.credentials``, asking ``provider`` for newer credentials first
    when there is one and the error is a 401 a refresh may cure."""
    attempt = Attempt(failures)
    verdict = credentials(error, attempt, max_attempts, refreshable=provider is not None)
    if verdict.action is Action.REFRESH and provider is not None:
        try:
            changed = provider.after_unauthorized(error.message)
        except AuthError as again:
            verdict = credentials(again, attempt, max_attempts, refreshable=False)
        else:
            verdict = changed_credentials(error, changed)
    if verdict.action is Action.DEAD:
        return AuthVerdict(AuthAction.DEAD, verdict.detail, kind=verdict.dead_kind or DeadKind.AUTH)
    return AuthVerdict(AuthAction.RETRY, verdict.detail, verdict.wait.resolve_ms(rand, backoff_ms),
                       verdict.failed)
