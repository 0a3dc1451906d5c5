"""The GHL ids of the custom fields the field map names by key.

Every typed custom-field input schema in GHL's spec (apps/contacts.json) requires
``id``; a field map may name a field by its key (``contact.lead_score``). Keys
are resolved with ``GET /locations/{locationId}/customFields?model=contact``
(apps/locations.json; ``fieldKey`` → ``id``) when a worker starts: a key GHL
does not have stops the start with a message naming the entry. The answer is
shared in Redis by every worker for ``CACHE_TTL_S`` (an older one is used when
GHL is down), and read again when GHL refuses an id (a field made anew). Its key:
``worker.keys.custom_field_ids_key``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import redis

from clients.ghl.api import GhlApi
from clients.ghl.errors import (
    GhlConnectionError,
    GhlError,
    GhlRateLimitedError,
    GhlScopeError,
    GhlServerError,
    GhlValidationError,
)
from toky_ghl.errors import ConfigError
from worker.fieldmap import FieldMap
from worker.keys import custom_field_ids_key

#: How long the fieldKey → id answer is shared between workers, in seconds.
CACHE_TTL_S = 3600
SCOPE = "locations/customFields.readonly"
#: A refused write that names a custom field (GHL's wording is UNCONFIRMED).
_NAMES_CUSTOM_FIELD = re.compile(r"custom\s*_?fields?", re.IGNORECASE)




def _fetch(client: GhlApi) -> dict[str, str]:
    fields = client.list_custom_fields("contact") or []
    return {str(f["fieldKey"]): str(f["id"]) for f in fields
            if isinstance(f, dict) and f.get("fieldKey") and f.get("id")}


def _cached(redis: redis.Redis, prefix: str) -> tuple[dict[str, str], float] | None:
    """The cached answer and when it was read (epoch s), or None."""
    raw = redis.get(custom_field_ids_key(prefix))
    if not raw:
        return None
    try:
        entry = json.loads(raw)
        return {str(k): str(v) for k, v in dict(entry["ids"]).items()}, float(entry["at"])
    except (TypeError, ValueError, KeyError):
        return None  # unreadable: read GHL again


def _known_ids(client: GhlApi, redis: redis.Redis, prefix: str, refresh: bool,
               now_s: float) -> dict[str, str]:
    """fieldKey → id: the cache while it is younger than ``CACHE_TTL_S`` (and not
    ``refresh``), else GHL's answer. When GHL cannot answer (down, rate limited), an
    older cached answer is used rather than none."""
    cached = _cached(redis, prefix)
    if cached and not refresh and now_s - cached[1] < CACHE_TTL_S:
        return cached[0]
    try:
        ids = _fetch(client)
    except (GhlServerError, GhlConnectionError, GhlRateLimitedError):
        if cached:
            return cached[0]
        raise
    redis.set(custom_field_ids_key(prefix), json.dumps({"ids": ids, "at": now_s}))
    return ids


def _lookup(ids: dict[str, str], key: str) -> str | None:
    """The id of ``key`` (``contact.lead_score``, or ``lead_score`` for a contact field)."""
    return ids.get(key) or ids.get(f"contact.{key}")


def resolve_custom_field_keys(field_map: FieldMap, client: GhlApi, redis: redis.Redis, prefix: str,
                              *,
                              refresh: bool = False,
                              clock: Callable[[], float] = time.time) -> FieldMap:
    """Fill ``field_map.key_ids`` for every ``ghl_key`` entry; ``field_map`` itself is
    returned (no GHL call when the map names no field by key).

    Raises ``ConfigError`` naming the entry: a key the location does not have, a
    token without ``locations/customFields.readonly``, or GHL refusing the list.
    """
    keyed = [(index, custom) for index, custom in enumerate(field_map.custom_fields)
             if custom.ghl_key]
    if not keyed:
        return field_map
    first = f"field map custom_fields[{keyed[0][0]}].ghl_key ({keyed[0][1].ghl_key!r})"
    try:
        ids = _known_ids(client, redis, prefix, refresh, clock())
    except GhlScopeError:
        raise ConfigError(f"{first}: resolving keys to ids needs the {SCOPE} scope "
                          f"(add it to the token and GHL_SCOPES), or give ghl_id instead") \
            from None
    except GhlError as exc:
        raise ConfigError(f"{first}: cannot list the location's custom fields to resolve "
                          f"keys to ids: {exc}") from None
    resolved: dict[str, str] = {}
    for index, custom in keyed:
        found = _lookup(ids, custom.ghl_key or "")
        if found is None:
            known = ", ".join(sorted(ids)[:20]) or "none"
            raise ConfigError(
                f"field map custom_fields[{index}].ghl_key: {custom.ghl_key!r} is not a contact "
                f"custom field of this GHL location (its keys: {known})")
        resolved[custom.ghl_key or ""] = found
    field_map.key_ids.clear()
    field_map.key_ids.update(resolved)
    return field_map


def refused_custom_field(error: GhlError, field_map: FieldMap) -> bool:
    """True when GHL refused a write naming a custom field and the map has keyed fields
    (whose ids may have changed since they were resolved)."""
    return (isinstance(error, GhlValidationError) and bool(field_map.key_ids)
            and bool(_NAMES_CUSTOM_FIELD.search(error.message[:2000])))
