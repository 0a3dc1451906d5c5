"""redis-py ``Script`` objects made once per Redis client, not once per use.

``client.register_script(source)`` sends nothing, but it hashes the source (SHA1)
and builds a ``Script`` every time it is called (redis-py ``commands/core.py``,
``Script.__init__``); classes made per delivery (``DeliveryScripts``, ``Stats``,
the dead-letter store) paid that for every event. ``script`` keeps the Script of
each source per client, in a ``WeakKeyDictionary`` (a client that is gone takes
its scripts with it; no table keyed by ``id()`` that a new client could reuse).
A kept Script holds its client through a weak proxy: a strong reference from the
value would keep the key, and every client ever used, alive. Each call of a Script
is still one ``EVALSHA``, the source loaded once on ``NOSCRIPT`` (redis-py
``Script.__call__``).
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary, proxy

import redis
from redis.commands.core import Script

_SCRIPTS: WeakKeyDictionary[redis.Redis, dict[str, Script]] = WeakKeyDictionary()
_ADDING = threading.Lock()


def script(client: redis.Redis, source: str) -> Script:
    """The Script of ``source`` registered on ``client`` (made on first use)."""
    known = _SCRIPTS.get(client)
    if known is None:
        with _ADDING:  # (WeakKeyDictionary's writes are not atomic across threads)
            known = _SCRIPTS.setdefault(client, {})
    found = known.get(source)
    if found is None:  # two threads may both make it: equal Scripts, one kept
        found = known.setdefault(source, Script(proxy(client), source))
    return found
