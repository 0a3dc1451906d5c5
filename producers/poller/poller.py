"""``Poller``: one poll of every Toky resource (contacts, calls, voicemails, SMS).

A failure of one resource (Toky down after the client's retries, a path Toky
does not serve) is logged and reported; the others are still read, and the
failed one is read again from its unchanged cursor at the next poll.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis

from clients.toky import TokyAuthError, TokyError, paths
from clients.toky.client import TokyClient
from contract.times import parse_timestamp
from producers.keys import contact_fingerprints_key, poller_cursor_key
from producers.mirror.memory import SyncMemory
from producers.poller.contacts import read_contacts
from producers.poller.fingerprints import ContactFingerprints
from producers.poller.history import (
    CALLS,
    SMS,
    VOICEMAILS,
    HistoryResource,
    read_history,
)
from producers.polling.cursor import Cursor
from producers.polling.report import PassReport, PollReport
from producers.polling.sink import EventSink
from producers.queue import Publisher
from toky_ghl.errors import ConfigError
from toky_ghl.logs import get_logger

log = get_logger(__name__)

RESOURCES = ("contacts", "calls", "voicemails", "sms")
HISTORY: dict[str, HistoryResource] = {"calls": CALLS, "voicemails": VOICEMAILS, "sms": SMS}
DEFAULT_BACKFILL_DAYS = 7


def backfill_start(raw: str | None, now: datetime, *,
                   variable: str = "TOKY_BACKFILL_SINCE") -> datetime:
    """``TOKY_BACKFILL_SINCE`` (an ISO date or time; no zone: GMT) or 7 days before ``now``.

    ``variable``: the setting named in the error (the mirror's ``MIRROR_BACKFILL_SINCE``).
    """
    if not raw:
        return now - timedelta(days=DEFAULT_BACKFILL_DAYS)
    try:
        return parse_timestamp(raw).astimezone(UTC)
    except ValueError:
        raise ConfigError(
            f"{variable} must be an ISO date or time (2026-11-01 or "
            f"2026-11-01T00:00:00Z), got {raw!r}") from None


class Poller:
    """Polls Toky and queues events.

    ``client``: a ``TokyClient``. ``publisher``: an ``EventPublisher``.
    ``key_prefix``: prefix of the cursor and fingerprint keys. ``backfill_since``:
    where a first read starts (GMT). ``overlap_s``: seconds re-read before each
    cursor's mark. ``page_size``: rows per request (1..500). ``progress``: called
    with a line after each page of a first read (a backfill). ``clock``: now, UTC.
    """

    def __init__(self, client: TokyClient, redis_client: redis.Redis, publisher: Publisher, *,
                 key_prefix: str,
                 backfill_since: datetime, overlap_s: int = 3600,
                 page_size: int = paths.MAX_PAGE_SIZE,
                 resources: tuple[str, ...] = RESOURCES,
                 progress: Callable[[str], None] = lambda _line: None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not 1 <= page_size <= paths.MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{paths.MAX_PAGE_SIZE}, got {page_size}")
        unknown = set(resources) - set(RESOURCES)
        if unknown:
            raise ValueError(f"unknown resource(s) {sorted(unknown)}; known: {RESOURCES}")
        self.client = client
        self.sink = EventSink(publisher)
        self.backfill_since = backfill_since
        self.page_size = page_size
        self.resources = resources
        self.progress = progress
        self.clock = clock
        self.fingerprints = ContactFingerprints(redis_client,
                                                contact_fingerprints_key(key_prefix))
        self.memory = SyncMemory(redis_client, key_prefix)  # the GHL → Toky mirror's writes
        self.cursors = {name: Cursor(redis_client, poller_cursor_key(key_prefix, name),
                                     overlap_s=overlap_s)
                        for name in HISTORY}

    def poll_once(self, check: Callable[[], None] = lambda: None) -> PollReport:
        """Read every resource once. ``check`` runs before each page and may raise to stop.

        Raises ``TokyAuthError`` (a wrong key fails every resource: no use going on).
        """
        report = PollReport()
        for name in self.resources:
            try:
                report.passes.append(self._read(name, check))
            except TokyAuthError:
                raise
            except TokyError as exc:
                report.failures[name] = str(exc)
                log.error("poller.resource_failed", resource=name, error=str(exc))
        log.info("poller.polled", summary=report.text())
        return report

    def _read(self, name: str, check: Callable[[], None]) -> PassReport:
        if name == "contacts":
            first = self.fingerprints.redis.exists(self.fingerprints.key) == 0
            return read_contacts(self.client, self.fingerprints, self.sink, now=self.clock(),
                                 page_size=self.page_size, check=check,
                                 on_page=self._on_page(first), memory=self.memory)
        cursor = self.cursors[name]
        return read_history(HISTORY[name], self.client, cursor, self.sink,
                            backfill_since=self.backfill_since, page_size=self.page_size,
                            check=check, on_page=self._on_page(cursor.mark() is None))

    def _on_page(self, backfilling: bool) -> Callable[[PassReport], None]:
        if not backfilling:
            return lambda _report: None
        return lambda report: self.progress(f"backfill {report.text()}")
