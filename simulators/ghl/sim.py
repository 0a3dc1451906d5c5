"""``GhlSim``: the whole simulated GHL in memory, behind one lock."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from simulators.ghl.config import SimConfig
from simulators.ghl.contacts import new_contact
from simulators.ghl.faults import FaultDice
from simulators.ghl.oauth import OAuthRegistry
from simulators.ghl.ratelimit import LocationRateLimiter, RateDecision
from simulators.ghl.records import new_id
from simulators.ghl.state import Grant, Location, Store
from simulators.ghl.stats import SimStats


def parse_scopes(scopes: Iterable[str] | str) -> frozenset[str]:
    """Scopes as a set, from a list or a space-separated string (``"contacts.readonly ..."``)."""
    return frozenset(scopes.split() if isinstance(scopes, str) else scopes)


class GhlSim:
    """State, limits, faults and counters of one simulated GHL.

    Every method takes ``lock`` (re-entrant); the Flask app holds it while an
    endpoint runs, so each request sees and leaves a consistent state.
    ``clock`` returns epoch seconds (inject a fake one in tests).
    """

    def __init__(self, config: SimConfig | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._config = config or SimConfig()
        self.store = Store()
        self.limiter = LocationRateLimiter()
        self.dice = FaultDice(self._config.seed)
        self.stats = SimStats()
        self.oauth = OAuthRegistry(self.add_token)  # apps, codes, expiring token pairs

    # -- configuration and set-up -------------------------------------------------
    @property
    def config(self) -> SimConfig:
        return self._config

    def update_config(self, changes: Mapping[str, Any] | None = None, **more: Any) -> SimConfig:
        """Change limits or faults at run time; ValueError names a bad setting."""
        with self.lock:
            updates = {**(changes or {}), **more}
            self._config = self._config.updated(updates)
            if "seed" in updates:
                self.dice.reseed(self._config.seed)
            return self._config

    def add_token(self, token: str, location_id: str, scopes: Iterable[str] | str) -> None:
        """Accept ``Authorization: Bearer <token>`` for ``location_id`` with ``scopes``."""
        if not token or not location_id:
            raise ValueError("token and location_id must not be empty")
        with self.lock:
            self.store.tokens[token] = Grant(location_id, parse_scopes(scopes))
            self.store.location(location_id)

    def add_calendar(self, location_id: str, calendar_id: str) -> None:
        with self.lock:
            self.store.location(location_id).calendars.add(calendar_id)

    def add_user(self, location_id: str, name: str, email: str,
                 user_id: str | None = None) -> dict[str, Any]:
        """A user of the location (listed by GET /users/); returns ``{id, name, email}``."""
        with self.lock:
            user = {"id": user_id or new_id(), "name": name, "email": email}
            self.store.location(location_id).users[user["id"]] = user
            return dict(user)

    def add_custom_field(self, location_id: str, name: str, field_key: str, *,
                         data_type: str = "TEXT", model: str = "contact",
                         field_id: str | None = None) -> dict[str, Any]:
        """A custom field of the location (listed by GET /locations/{id}/customFields)."""
        with self.lock:
            field: dict[str, Any] = {"id": field_id or new_id(), "name": name,
                                     "fieldKey": field_key,
                     "dataType": data_type, "model": model, "locationId": location_id,
                     "position": 0, "placeholder": ""}
            self.store.location(location_id).custom_fields[field["id"]] = field
            return dict(field)

    def remove_custom_field(self, location_id: str, field_id: str) -> None:
        """Delete a custom field, as a GHL user would in the settings."""
        with self.lock:
            self.store.location(location_id).custom_fields.pop(field_id, None)

    def set_allow_duplicates(self, location_id: str, allowed: bool) -> None:
        """GHL's "Allow Duplicate Contact" setting of the location (default False)."""
        with self.lock:
            self.store.location(location_id).allow_duplicates = bool(allowed)

    def add_contact(self, location_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Put a contact in place without a request (no checks, no budget used)."""
        with self.lock:
            contact = new_contact(location_id, fields, self.clock())
            self.store.location(location_id).contacts[contact["id"]] = contact
            return dict(contact)

    def reset(self, *, everything: bool = False) -> None:
        """Forget objects, rate counters and stats, and re-seed the dice. Tokens,
        calendars, users and settings stay unless ``everything``."""
        with self.lock:
            if everything:
                self.store.clear_all()
                self.oauth.clear()
            else:
                self.store.clear_objects()
                self.oauth.reset_stats()
            self.limiter.reset()
            self.stats.reset()
            self.dice.reseed(self._config.seed)

    # -- what the app uses --------------------------------------------------------
    def grant_for(self, token: str | None) -> Grant | None:
        """What ``token`` may do; None when unknown, expired or revoked."""
        with self.lock:
            if not token or self.oauth.expired(token, self.clock()):
                return None
            return self.store.tokens.get(token)

    def location(self, location_id: str) -> Location:
        with self.lock:
            return self.store.location(location_id)

    def admit(self, location_id: str) -> RateDecision:
        """Count one request of ``location_id`` now, or refuse it (429) uncounted."""
        with self.lock:
            c = self._config
            decision = self.limiter.admit(location_id, self.clock(), max_requests=c.max_requests,
                                          interval_ms=c.interval_ms, daily_max=c.daily_max)
            if not decision.allowed:
                self.stats.rate_limited += 1
            return decision

    def record_arrival(self, route: str) -> None:
        """Count one API request to ``route`` (``"METHOD /path-template"``)."""
        with self.lock:
            self.stats.requests_total += 1
            self.stats.by_route[route] += 1

    def record_answer(self, status: int) -> None:
        with self.lock:
            self.stats.by_status[status] += 1

    def draw_server_error(self) -> int | None:
        with self.lock:
            status = self.dice.server_error(self._config.error_rate)
            if status:
                self.stats.injected_5xx += 1
            return status

    def draw_lost_answer(self) -> bool:
        with self.lock:
            lost = self.dice.lose_answer(self._config.lost_answer_rate)
            if lost:
                self.stats.lost_answers += 1
            return lost

    # -- inspection ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Every object by kind, per location (tokens are not shown)."""
        with self.lock:
            return copy.deepcopy(self.store.snapshot())

    def stats_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return self.stats.snapshot()
