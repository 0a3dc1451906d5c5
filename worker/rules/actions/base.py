"""What an action is: a name, the GHL requests it sends, their scopes, typed
parameters, how it stays idempotent, and the plain function that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.events import Event
from worker.rules.params import Param
from worker.sync.context import SyncContext
from worker.sync.outcome import Outcome

#: The scope an action writing to Toky (not GHL) declares: Toky's API key.
TOKY_API_KEY = "toky: TOKY_API_KEY"


@dataclass(frozen=True)
class ActionRun:
    """One action of one rule for one event: resolved parameters and its key.

    ``key`` is ``<event id>:<rule>:<position>``: the idempotency key of this
    action for this event (its completion record, and the marker a created
    task or note carries so a retry adopts it instead of making another).
    """

    event: Event
    ctx: SyncContext
    params: dict[str, Any]
    key: str
    rule: str


@dataclass(frozen=True)
class Action:
    """An action of the catalogue.

    ``requests``: the GHL (or Toky) requests it may send, e.g.
    ``"POST /contacts/{contactId}/workflow/{workflowId}"``; ``scopes``: the
    scopes those need (checked at start-up against ``GHL_SCOPES`` for a user's
    rules, and again by the client before any request); ``idempotent``: why a
    retry or a replay does not apply it twice; ``events``: the event types it
    can act on (empty: any event with a customer contact); ``keyed``: given a
    ``key`` parameter it acts on the object a rule named so, on any event
    (``events`` then limits only its use without one); ``needs_one_of``: at least
    one of these parameters must be given.
    """

    name: str
    summary: str
    requests: tuple[str, ...]
    scopes: tuple[str, ...]
    params: tuple[Param, ...]
    idempotent: str
    run: Callable[[ActionRun], Outcome]
    events: tuple[str, ...] = ()
    keyed: bool = False
    needs_one_of: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)
