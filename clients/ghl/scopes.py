"""Which OAuth/PIT scope each GHL call needs, checked before anything is sent.

From the official ``docs/oauth/Scopes.md`` and the ``security`` entries of
``apps/{contacts,calendars,users,locations,opportunities}.json``. Scopes are taken literally, as the
reference lists them: ``contacts.write`` covers the writes only, and reads need
``contacts.readonly`` too (the simulator answers the same way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from clients.ghl.errors import GhlScopeError

_READ = ".readonly"
_WRITE = ".write"

#: (path pattern, scope family). First match wins; the family gets ``.readonly``
#: for reads and ``.write`` for writes. ``POST /contacts/search`` is a read.
_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/contacts(/|$)"), "contacts"),
    (re.compile(r"^/calendars/events(/|$)"), "calendars/events"),
    (re.compile(r"^/calendars(/|$)"), "calendars"),
    (re.compile(r"^/locations/[^/]+/customFields(/|$)"), "locations/customFields"),
    (re.compile(r"^/locations/[^/]+/?$"), "locations"),  # apps/locations.json: get-location
    (re.compile(r"^/users(/|$)"), "users"),
    (re.compile(r"^/opportunities(/|$)"), "opportunities"),  # apps/opportunities.json
)
_READ_POSTS = (re.compile(r"^/contacts/search/?$"), re.compile(r"^/opportunities/search/?$"))


def _normalise(path: str) -> str:
    path = urlsplit(path).path or "/"
    return path if path.startswith("/") else "/" + path


#: How many (method, path) answers ``required_scope`` keeps: a pure function of constant
#: rules, asked once per GHL call; the fixed paths (upsert, search, appointments) are
#: then answered from memory, the ones with ids make room for each other (least recent
#: out). Nothing to invalidate: the rules are this module's constants.
SCOPE_CACHE_SIZE = 1024


@lru_cache(maxsize=SCOPE_CACHE_SIZE)
def required_scope(method: str, path: str) -> str:
    """The scope ``method path`` needs, e.g. ``("POST", "/contacts/upsert") -> "contacts.write"``.

    Raises ``ValueError`` for a path no rule knows, so no call goes unchecked.
    """
    method = method.upper()
    path = _normalise(path)
    for pattern, family in _FAMILIES:
        if pattern.match(path):
            reading = method in {"GET", "HEAD"} or (
                method == "POST" and any(p.match(path) for p in _READ_POSTS)
            )
            return family + (_READ if reading else _WRITE)
    raise ValueError(f"no GHL scope is known for {method} {path}; add it to clients/ghl/scopes.py")


def has_scope(granted: Iterable[str], scope: str) -> bool:
    """True when ``granted`` holds ``scope`` itself (no scope implies another)."""
    return scope in (granted if isinstance(granted, set | frozenset) else set(granted))


def check_scope(granted: Iterable[str], method: str, path: str) -> str:
    """Return the scope ``method path`` needs; raise ``GhlScopeError`` when not granted."""
    scope = required_scope(method, path)
    if not has_scope(granted, scope):
        raise GhlScopeError(scope, method=method, path=_normalise(path))
    return scope
