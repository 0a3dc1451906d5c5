"""The simulator's tunables: rate limits and injected faults, changeable at run time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class SimConfig:
    """Limits per location (GHL's defaults) and fault injection.

    - ``max_requests`` per sliding window of ``interval_ms`` milliseconds, and
      ``daily_max`` per UTC day: both per location, as GHL counts per resource.
    - ``send_retry_after``: add a ``Retry-After`` header (whole seconds) to 429
      answers. False by default: whether GHL sends one is UNCONFIRMED.
    - ``latency_ms``: added to every API request (0: none).
    - ``error_rate``: share (0.0-1.0) of API requests answered 500/502/503
      before anything is read or written (0.0: never, 1.0: always).
    - ``lost_answer_rate``: share of successful WRITES that are applied and then
      answered 504, as when GHL did the work but the answer was lost.
    - ``seed``: seed of the fault dice (None: a different sequence each run).
    - ``access_token_ttl_s``: lifetime of OAuth access tokens, in seconds (GHL: 86399).
    - ``down``: GHL is down: every API request AND the OAuth token endpoint are
      answered 503 before anything is read, written or counted against the rate
      limit (the "slow" switch is ``latency_ms``). 503 is what RFC 9110 §15.6.4
      gives a server "currently unable to handle the request due to a temporary
      overload or scheduled maintenance"; the body has GHL's ``statusCode`` /
      ``message`` error shape (as ``faults.error_body``).
    - ``token_endpoint_down``: only ``POST /oauth/token`` is answered 503 (the API
      still answers): the OAuth refresh fails while the tokens in hand still work
      until they expire.
    - ``missing_status``: how an unknown contact, task, note or appointment id is
      answered. GHL's spec (apps/contacts.json, apps/calendars.json) lists no 404
      for ``/contacts/{contactId}…`` nor ``/calendars/events/appointments/{eventId}``,
      only 400, and working clients report ``400 "Contact with id X not found"``
      (reference/ghl-api.md, "Errors"); some routes may still answer 404. 404
      (``{"message": "Contact not found"}``) or 400 (``{"message": "Contact with
      id X not found"}``): the product must take both as "not found".
    - ``users_search``: serve ``GET /users/search`` (apps/users.json: the
      replacement of the deprecated ``GET /users/``). False: answer it 404, as a
      GHL without it would, so the product's fallback to ``GET /users/`` runs.
    - ``list_description_as_notes``: ``GET /contacts/{id}/appointments`` answers
      GetEventSchema (apps/contacts.json), which has ``notes`` and no
      ``description``; whether ``notes`` carries the description is UNCONFIRMED.
      True: it does; False: ``notes`` is empty (the product must then find an
      appointment by calendar and start time).
    """

    max_requests: int = 100
    interval_ms: int = 10_000
    daily_max: int = 200_000
    send_retry_after: bool = False
    latency_ms: int = 0
    error_rate: float = 0.0
    lost_answer_rate: float = 0.0
    seed: int | None = None
    access_token_ttl_s: float = 86399
    down: bool = False
    token_endpoint_down: bool = False
    missing_status: int = 404
    users_search: bool = True
    list_description_as_notes: bool = True

    def __post_init__(self) -> None:
        for name in ("max_requests", "interval_ms", "daily_max"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("latency_ms", self.latency_ms, minimum=0)
        for name in ("error_rate", "lost_answer_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number from 0.0 to 1.0, got {value!r}")
        for name in ("send_retry_after", "down", "token_endpoint_down"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.seed is not None:
            _check_int("seed", self.seed, minimum=None)
        if self.missing_status not in (400, 404):
            raise ValueError(f"missing_status must be 400 or 404, got {self.missing_status!r}")
        for name in ("users_search", "list_description_as_notes"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        ttl = self.access_token_ttl_s
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            raise ValueError(f"access_token_ttl_s must be a number of seconds above 0, got {ttl!r}")

    def updated(self, changes: dict[str, Any]) -> SimConfig:
        """A copy with ``changes`` applied; ValueError names an unknown or bad field."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_int(name: str, value: object, *, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
