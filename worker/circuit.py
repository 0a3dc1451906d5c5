"""A circuit per GHL location: stop calling GHL while it is down, probe it one call at a time.

States (``CircuitState``): ``closed`` (calls go through); ``open`` (no call of
the location is sent: the caller gets ``CircuitOpen`` and parks the event,
which spends no attempt); ``half_open`` (one call, the probe, is in flight).

- ``failure_threshold`` consecutive failures (5xx, timeouts, connection errors,
  the OAuth token endpoint unreachable: ``counts_as_failure``) open it; any answer
  that is not a 5xx (a 4xx too: GHL is up) resets the count.
- While open, the first caller at or after ``next_probe_ms`` gets the probe
  (one at a time, with a lease of ``probe_lease_ms`` in case its process dies).
  The probe's success closes the circuit; its failure re-opens it with the
  interval doubled, from ``probe_interval_ms`` up to ``probe_max_ms``. A probe
  whose call never reached GHL (the rate limiter refused it, the token source
  had nothing, any error before the request) is GIVEN BACK (``gave_up``): the
  circuit is open again with the probe due at once, instead of waiting out the
  lease with nobody probing.

Redis keys: ``worker.keys.circuit_key`` and ``circuit_locations_key``. The circuit's
hash holds ``state``, ``failures`` (consecutive), ``opened_at_ms``, ``next_probe_ms``,
``interval_ms`` (current probe interval), ``probe_until_ms`` (lease of the probe in
flight), ``probes`` (probes sent since it opened), ``last_error`` (no secrets: a GHL
error's summary); all times epoch ms, Redis server clock.

A closed circuit with no failure counted is trusted by the process that read it for
``closed_trust_ms`` (250 ms): its calls meanwhile read nothing (while GHL answers,
the circuit costs no command per event). A failure this process records forgets
that at once, and a read that began before it is not trusted; an open or half-open
circuit, or a closed one with failures counted, is read at every call. So a
circuit opened by ANOTHER process is seen here at most ``closed_trust_ms`` late:
each call sent meanwhile fails (GHL is down), and the first failure makes this
process read again; at most the calls its threads start in that time. Likewise a
success on a trusted read resets no failure another process counted meanwhile: the
next read (within ``closed_trust_ms``) sees the count, and the next success resets it.

``circuit_state`` is the read-only view for ``status`` and the metrics exporter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from clients.ghl.errors import GhlConnectionError, GhlError, GhlServerError
from toky_ghl.redis_conn import text
from toky_ghl.settings import Settings
from worker.keys import circuit_key, circuit_locations_key


class CircuitState(StrEnum):
    """A circuit's state (the hash's ``state`` field)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitTransition(StrEnum):
    """What a failure did to a circuit (``Circuit.failed``), besides leaving a state."""

    OPENED = "opened"  # this failure opened a closed circuit
    REOPENED = "reopened"  # this failure was the probe: open again, interval doubled


def _state_or_transition(raw: Any) -> CircuitState | CircuitTransition:
    word = text(raw)
    return (CircuitTransition(word) if word in tuple(CircuitTransition)
            else CircuitState(word))


class CircuitOpen(GhlError):
    """Refused BEFORE sending: the location's circuit is open (GHL looked down).

    ``next_probe_ms``: when the next probe may go, epoch ms (Redis clock)."""

    def __init__(self, location_id: str, next_probe_ms: int, *, method: str | None = None,
                 path: str | None = None) -> None:
        super().__init__(f"circuit open for location {location_id}: GHL looked down; "
                         "next probe at the latest in a few minutes", method=method, path=path)
        self.location_id = location_id
        self.next_probe_ms = next_probe_ms

    def _label(self) -> str:
        return "GHL circuit"


def counts_as_failure(error: BaseException) -> bool:
    """True for what says "GHL is down": 5xx, transport errors and timeouts, and the
    OAuth token endpoint unreachable (``AuthUnavailable``)."""
    from worker.auth.errors import AuthUnavailable

    return isinstance(error, GhlServerError | GhlConnectionError | AuthUnavailable)


_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1]: the circuit hash, KEYS[2]: locations set. ARGV: lease_ms, location.
# Returns {code, next_probe_ms}: 0 closed and clean, 1 closed with failures
# counted, 2 the probe is granted, -1 refused.
# (Every command counts, a script's too: ``allow`` reads a closed circuit without it.)
_ALLOW_LUA = """
local v = redis.call('HMGET', KEYS[1], 'state', 'failures', 'next_probe_ms', 'probe_until_ms')
local state = v[1]
if not state or state == 'closed' then
  if tonumber(v[2] or '0') > 0 then return {1, 0} end
  return {0, 0}
end
""" + _NOW + """
local next_probe = tonumber(v[3] or '0')
local lease = tonumber(v[4] or '0')
if now >= next_probe and now >= lease then
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until_ms', now + tonumber(ARGV[1]))
  redis.call('HINCRBY', KEYS[1], 'probes', 1)
  return {2, next_probe}
end
return {-1, math.max(next_probe, lease)}
"""

# KEYS[1]: the circuit hash. Returns the state it was in.
_SUCCESS_LUA = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
redis.call('HDEL', KEYS[1], 'next_probe_ms', 'probe_until_ms', 'interval_ms', 'opened_at_ms',
           'probes')
return state
"""

# KEYS[1]: the circuit hash, KEYS[2]: locations set. ARGV: threshold, base_ms, max_ms,
# error summary, location, was_probe (1/0). Returns the state after, or 'opened' /
# 'reopened' when this failure opened the circuit / failed the probe.
_FAILURE_LUA = _NOW + """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'last_error', ARGV[4])
if state == 'closed' then
  local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  if failures >= tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at_ms', now, 'interval_ms', ARGV[2],
               'next_probe_ms', now + tonumber(ARGV[2]), 'probe_until_ms', 0, 'probes', 0)
    return 'opened'
  end
  return 'closed'
end
if state == 'half_open' and ARGV[6] == '1' then
  local interval = math.min(tonumber(ARGV[3]),
                            2 * tonumber(redis.call('HGET', KEYS[1], 'interval_ms') or ARGV[2]))
  redis.call('HSET', KEYS[1], 'state', 'open', 'interval_ms', interval,
             'next_probe_ms', now + interval, 'probe_until_ms', 0)
  return 'reopened'
end
return state
"""


# KEYS[1]: the circuit hash. The probe in flight never reached GHL: open again, the probe
# due at once (its lease cleared). Returns 1 when a probe was given back, else 0.
_GIVE_BACK_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'half_open' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'open', 'probe_until_ms', 0)
return 1
"""


@dataclass(frozen=True)
class Ticket:
    """The answer to ``Circuit.allow``: ``allowed``; ``probe`` (this call is the probe);
    ``clean`` (closed with no failure counted: nothing to reset after a success);
    ``next_probe_ms`` (when refused: when to look again, epoch ms)."""

    allowed: bool
    probe: bool = False
    clean: bool = True
    next_probe_ms: int = 0


#: The answer for a clean closed circuit (a frozen value: one, not one per call)
_CLEAN = Ticket(True)

#: How long a process trusts a clean closed circuit it read, in ms (see the module).
CLOSED_TRUST_MS = 250


class Circuit:
    """The circuits of every location, in Redis (shared by all workers on all hosts).
    ``closed_trust_ms``: how long this object trusts a clean closed circuit it read (0:
    read at every call)."""

    def __init__(self, client: redis.Redis, prefix: str, *, failure_threshold: int = 5,
                 probe_interval_ms: int = 15_000, probe_max_ms: int = 240_000,
                 probe_lease_ms: int = 60_000,
                 closed_trust_ms: int = CLOSED_TRUST_MS) -> None:
        if failure_threshold < 1 or probe_interval_ms < 1 or probe_max_ms < probe_interval_ms:
            raise ValueError("need failure_threshold >= 1 and 1 <= probe_interval_ms <= "
                             "probe_max_ms")
        self.prefix = prefix
        self._client = client
        self.failure_threshold = failure_threshold
        self.probe_interval_ms = probe_interval_ms
        self.probe_max_ms = probe_max_ms
        self.probe_lease_ms = probe_lease_ms
        self.closed_trust_ms = closed_trust_ms
        #: location -> until when (time.monotonic) its clean closed circuit is trusted
        self._trusted_until: dict[str, float] = {}
        #: changed by every failure recorded here: a read older than it is not trusted
        self._failures_seen = 0
        self._allow = client.register_script(_ALLOW_LUA)
        self._success = client.register_script(_SUCCESS_LUA)
        self._failure = client.register_script(_FAILURE_LUA)
        self._give_back = client.register_script(_GIVE_BACK_LUA)

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis) -> Circuit:
        lease_ms = int((settings.ghl_connect_timeout_s + settings.ghl_read_timeout_s) * 1000)
        return cls(client, settings.key_prefix,
                   failure_threshold=settings.circuit_failure_threshold,
                   probe_interval_ms=settings.circuit_probe_interval_ms,
                   probe_max_ms=settings.circuit_probe_max_ms,
                   probe_lease_ms=lease_ms + 5_000)

    def _keys(self, location: str) -> list[str]:
        return [circuit_key(self.prefix, location), circuit_locations_key(self.prefix)]

    def allow(self, location: str) -> Ticket:
        """May a call to GHL for ``location`` be sent now? A closed circuit costs one
        ``HMGET`` (the script, atomic, runs only when it is not closed: a probe's grant),
        a clean closed one read less than ``closed_trust_ms`` ago none."""
        now_s = time.monotonic()
        if self._trusted_until.get(location, 0.0) > now_s:
            return _CLEAN
        seen = self._failures_seen
        state, failures = self._client.hmget(circuit_key(self.prefix, location),
                                             "state", "failures")
        if state is None or text(state) == CircuitState.CLOSED:
            clean = int(failures or 0) == 0
            if clean and self.closed_trust_ms > 0 and seen == self._failures_seen:
                self._trusted_until[location] = now_s + self.closed_trust_ms / 1000
            return _CLEAN if clean else Ticket(True, clean=False)
        code, next_probe = (int(x) for x in self._allow(keys=self._keys(location),
                                                        args=[self.probe_lease_ms, location]))
        if code < 0:
            return Ticket(False, next_probe_ms=next_probe)
        return Ticket(True, probe=code == 2, clean=code == 0)

    def succeeded(self, location: str) -> CircuitState:
        """GHL answered (anything but a 5xx): close the circuit; the state it was in."""
        return CircuitState(text(self._success(keys=[circuit_key(self.prefix, location)])))

    def failed(self, location: str, error: BaseException, *,
               probe: bool) -> CircuitState | CircuitTransition:
        """A call failed as ``counts_as_failure`` says; the state after (``OPENED`` or
        ``REOPENED`` when this failure opened it or was the failed probe)."""
        summary = str(error)[:200]
        self._distrust(location)
        state = self._failure(keys=self._keys(location),
                              args=[self.failure_threshold, self.probe_interval_ms,
                                    self.probe_max_ms, summary, location, int(probe)])
        self._distrust(location)  # (a read made while the script ran is not trusted either)
        return _state_or_transition(state)

    def _distrust(self, location: str) -> None:
        """Forget the clean closed circuit read here, and any read in progress."""
        self._failures_seen += 1
        self._trusted_until.pop(location, None)


    def gave_up(self, location: str) -> bool:
        """The probe granted to a call that never reached GHL is given back (the next
        caller, or the scheduler's next release, probes at once); True when one was."""
        return bool(self._give_back(keys=[circuit_key(self.prefix, location)]))


def circuit_state(client: redis.Redis, prefix: str, location: str) -> dict[str, Any]:
    """``{"state", "failures", "opened_at_ms", "next_probe_ms", "interval_ms",
    "probe_until_ms", "probes", "last_error"}`` of ``location`` (closed, 0 failures, when
    never touched)."""
    stored = client.hgetall(circuit_key(prefix, location))
    raw = {text(k): text(v) for k, v in stored.items()}

    def number(name: str) -> int | None:
        return int(float(raw[name])) if raw.get(name) not in (None, "") else None

    return {
        "state": CircuitState(raw.get("state", CircuitState.CLOSED)),
        "failures": number("failures") or 0,
        "opened_at_ms": number("opened_at_ms"),
        "next_probe_ms": number("next_probe_ms"),
        "interval_ms": number("interval_ms"),
        "probe_until_ms": number("probe_until_ms"),
        "probes": number("probes") or 0,
        "last_error": raw.get("last_error"),
    }


def circuit_locations(client: redis.Redis, prefix: str) -> list[str]:
    """Locations whose circuit was ever touched, sorted."""
    return sorted(text(m) for m in client.smembers(circuit_locations_key(prefix)))
