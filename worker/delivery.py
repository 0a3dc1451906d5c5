"""What one delivery of an event reads and writes in Redis: one script when it begins,
one when it ends.

``begin``: the duplicate check (``handled:<id>``), the location's pause probe
(credentials version and pause record), the object's lock (``SET NX PX``) and the
versions latest-wins compares against, atomically: an event whose id is recorded
as handled is never locked, and an event that gets the lock sees every version
and handled id its previous holder wrote (``end`` writes them before unlocking).

``end``: the versions and the handled id (``worker.versions``), the lock's
release (only while this delivery still holds it) and the decision's counters
(``worker.stats``, with the metrics the event's GHL requests noted), in one
script. Failures (parks and dead letters) keep their own writes.

Redis counts every command a script runs (``INFO commandstats``), so the scripts
run only what the delivery needs: no second duplicate check, no transaction
around single writes. Keys are those of ``worker.versions`` and ``worker.stats``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis
from redis.typing import EncodableT

from contract.constants import EVENT_ID_TTL_S
from toky_ghl.redis_direct import direct
from toky_ghl.redis_scripts import script
from worker.idmap import BEGIN_ARGS, BEGIN_KEYS, Ahead
from worker.idmap import BEGIN_LUA as IDMAP_BEGIN_LUA
from worker.keys import handled_key, object_lock_key, version_key
from worker.stats import DECISION_BODY
from worker.versions import VERSION_TTL_S, Version

# KEYS[1]: handled:<id>; KEYS[2]: the object's lock; KEYS[3]: the auth summary hash,
# its version and its copy of the pause record read by one HMGET ('' and "0" in ARGV[3]:
# no pause probe); KEYS[4 .. 3+nv]: version keys; then the id map's BEGIN_KEYS keys
# (``worker.idmap.BEGIN_LUA``).
# ARGV[1]: lock token; ARGV[2]: lock TTL (ms); ARGV[3]: "1" to probe the pause;
# ARGV[4]: nv; ARGV[5]: the summary hash's pause field (``worker.auth.store``);
# ARGV[6 ..]: the id map's BEGIN_ARGS arguments.
# (The handled id is read by GET, not in the versions' MGET: MGET answers nil for a key
# of another type, GET an error, and a handled key that errors is how
# tests/integration/test_poison_and_failed_park.py makes an event fail every delivery.)
# Returns {"dup", outcome} | {"paused", version, pause} | {"busy"} |
# {"go", versions, version, idmap} (version: the credentials' version, '' when none or
# not probed; idmap: what BEGIN_LUA read, ``worker.idmap.Ahead.values``).
_BEGIN_LUA = """
local handled = redis.call('GET', KEYS[1])
if handled then return {'dup', handled} end
local auth = ''
if ARGV[3] == '1' then
  local probe = redis.call('HMGET', KEYS[3], 'version', ARGV[5])
  auth = probe[1] or ''
  if probe[2] then return {'paused', auth, probe[2]} end
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
local nv = tonumber(ARGV[4])
local unpack = unpack or table.unpack
local versions = {}
if nv > 0 then versions = redis.call('MGET', unpack(KEYS, 4, 3 + nv)) end
local ib, ia = 3 + nv, 5
""" + IDMAP_BEGIN_LUA + """
return {'go', versions, auth, idmap}
"""

# KEYS[1]: handled:<id>; KEYS[2]: the lock; KEYS[3 .. 2+n]: version keys; then the
# keys of DECISION_BODY. ARGV[1]: the handled outcome; ARGV[2]: its TTL (s); ARGV[3]:
# lock token, '' when the delivery surely still holds the lock (``DeliveryScripts.end``:
# released by DEL alone, no GET to compare); ARGV[4]: version TTL (s); ARGV[5]: n;
# ARGV[6 .. 5+n]: the versions; then the arguments of DECISION_BODY. Returns 1, or 0
# when the lock had expired.
_END_LUA = """
local n = tonumber(ARGV[5])
for i = 1, n do
  redis.call('SET', KEYS[2 + i], ARGV[5 + i], 'EX', ARGV[4])
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local held = 0
if ARGV[3] == '' or redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
  held = 1
end
local kb, ab = 2 + n, 5 + n
""" + DECISION_BODY + """
return held
"""

# KEYS[1]: the lock; ARGV[1]: its token. 1 when released, 0 when it had expired.
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


#: The share of a lock's TTL within which ``end`` releases it by ``DEL`` alone; past
#: it, the lock's token is compared first. Half: a release is then wrong only if this
#: process stalls for half a TTL (15 s or more) between its clock read and Redis
#: running the script, a margin far beyond clock rates and scheduling pauses.
SURELY_HELD_SHARE = 0.5


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class BeginState(StrEnum):
    """What the begin script found (its answer's first word)."""

    DUP = "dup"  # the event id was handled before
    PAUSED = "paused"  # the location's sending is paused (probed)
    BUSY = "busy"  # another delivery holds the object's lock
    GO = "go"  # the lock is held by this delivery


@dataclass(frozen=True)
class Begun:
    """What ``DeliveryScripts.begin`` found: ``state`` dup (``handled`` says how), paused
    (``auth_version``/``pause`` the raw probe), busy (the lock stayed held) or go
    (the lock is held; ``versions`` by object key; ``auth_version`` the credentials'
    version when probed, no pause being recorded)."""

    state: BeginState
    handled: str | None = None
    versions: dict[str, Version | None] | None = None
    auth_version: str | None = None
    pause: str | None = None
    #: "go": the id map read ahead (``worker.idmap.prefetched``).
    idmap: dict[tuple[str, str], Any] | None = None
    #: "go": before when (``time.monotonic``) the lock surely still holds (the time
    #: before the script that took it, plus its TTL).
    held_until_s: float = 0.0


class DeliveryScripts:
    """The Redis scripts that begin and end one event's delivery (check, lock, read;
    record, unlock), over the key prefix ``prefix``."""

    def __init__(self, client: redis.Redis, prefix: str, *, lock_ttl_s: float, lock_wait_s: float,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._redis = client
        self.prefix = prefix
        self.lock_ttl_ms = int(lock_ttl_s * 1000)
        self.lock_wait_s = lock_wait_s
        self._sleep = sleep
        self.token = uuid.uuid4().hex
        #: before when (``time.monotonic``) ``end`` may release the lock by DEL alone
        self.surely_held_until_s = 0.0
        # Script objects (no command sent), made once per client: each call is one
        # EVALSHA, the script loaded once on NOSCRIPT (``toky_ghl.redis_scripts``), sent
        # without redis-py's per-command layers (``toky_ghl.redis_direct``).
        self._begin, self._end, self._unlock = (script(client, s) for s in (
            _BEGIN_LUA, _END_LUA, _UNLOCK_LUA))
        self._direct = direct(client)

    def _handled_key(self, event_id: str) -> str:
        return handled_key(self.prefix, event_id)

    def _version_key(self, object_key: str) -> str:
        return version_key(self.prefix, object_key)

    def lock_key(self, object_key: str) -> str:
        return object_lock_key(self.prefix, object_key)

    def begin(self, event_id: str, object_key: str, version_keys: list[str],
              probe: tuple[str, str] | None,
              idmap: Ahead | None = None, *, lock_ttl_s: float | None = None) -> Begun:
        """Check, probe, lock and read in one script; while the lock is held by another
        delivery, ask again every 100 ms up to ``lock_wait_s``. ``probe``: the
        credentials' summary hash and its pause field to probe (None: no probe).
        ``idmap``: what to read of the id map once locked (``IdMap.ahead``).
        ``lock_ttl_s``: the lock's TTL (None: the one given at construction)."""
        lock_ttl_ms = self.lock_ttl_ms if lock_ttl_s is None else int(lock_ttl_s * 1000)
        probe_hash, pause_field = probe or ("", "")
        keys = [self._handled_key(event_id), self.lock_key(object_key), probe_hash,
                *(self._version_key(k) for k in version_keys),
                *(idmap.keys if idmap else ("",) * BEGIN_KEYS)]
        args: list[EncodableT] = [self.token, lock_ttl_ms, "1" if probe else "0",
                                  len(version_keys), pause_field,
                                  *(idmap.args if idmap else ("",) * BEGIN_ARGS)]
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            asked_s = time.monotonic()
            answer = self._direct.run(self._begin, keys, args)
            state = BeginState(_text(answer[0]))
            if state is not BeginState.BUSY or time.monotonic() >= deadline:
                break
            self._sleep(0.1)
        if state is BeginState.DUP:
            return Begun(state, handled=_text(answer[1]))
        if state is BeginState.PAUSED:
            return Begun(state, auth_version=_text(answer[1]) or None, pause=_text(answer[2]))
        if state is BeginState.BUSY:
            return Begun(state)
        raws = list(answer[1]) + [None] * (len(version_keys) - len(answer[1]))
        ahead = idmap.values(answer[3]) if idmap and len(answer) > 3 else None
        self.surely_held_until_s = asked_s + SURELY_HELD_SHARE * lock_ttl_ms / 1000
        return Begun(BeginState.GO, versions={k: (Version.decode(r) if r else None)
                                     for k, r in zip(version_keys, raws, strict=True)},
                     auth_version=_text(answer[2]) or None, idmap=ahead,
                     held_until_s=asked_s + lock_ttl_ms / 1000)

    def end(self, event_id: str, object_key: str, handled: str,
            versions: dict[str, Version], decision: tuple[list[str], list[Any]]) -> bool:
        """Record the versions and the handled id, unlock, and count ``decision`` (keys
        and arguments of ``DECISION_BODY``, from ``Stats.finish_parts``); False when
        the lock had expired. Within the first ``SURELY_HELD_SHARE`` of the lock's TTL
        (by this host's clock, from before the begin script was sent), the lock is surely
        still this delivery's (another takes it only by ``SET NX`` once it expired) and
        ``DEL`` alone releases it; past that its token is compared first."""
        stat_keys, stat_args = decision
        keys = [self._handled_key(event_id), self.lock_key(object_key),
                *(self._version_key(k) for k in versions), *stat_keys]
        surely = time.monotonic() < self.surely_held_until_s
        args = [handled, EVENT_ID_TTL_S, "" if surely else self.token, VERSION_TTL_S,
                len(versions),
                *(v.encode() for v in versions.values()), *stat_args]
        return bool(self._direct.run(self._end, keys, args))

    def unlock(self, object_key: str) -> bool:
        """Release the lock (a failed delivery); False when it had expired."""
        return bool(self._direct.run(self._unlock, [self.lock_key(object_key)], [self.token]))

