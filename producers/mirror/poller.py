"""``MirrorPoller``: one read of the GHL contacts added or changed since the cursor.

GHL lists contacts sorted by ``(dateUpdated, id)`` ascending and pages with
``searchAfter``; each read starts at ``floor = mark - overlap`` (the first one
at the backfill start) and goes to the end of the list. The cursor is the Toky
poller's own (``producers.polling.cursor.Cursor``): the mark (Unix seconds) plus
the set of versions seen, here ``"<contact id>@<dateUpdated ms>"``, so an edit
of a contact already read is new while re-reading the same version is not.
Versions are remembered page by page after their events were queued; the mark
moves only after a complete read.

A contact whose shared fields are exactly what toky-ghl last wrote to GHL from
Toky (``SyncMemory``, direction ``toky>ghl``) is an echo: remembered as seen,
not queued. A page the shared rate budget cannot serve yet is waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

from producers.keys import mirror_cursor_key
from producers.mirror.mapping import ghl_contact_event, position, seen_id
from producers.mirror.memory import TO_GHL, SyncMemory
from producers.mirror.shared import fingerprint, from_ghl
from producers.mirror.source import ContactSource, SourceBusy, SourceFailed
from producers.polling.cursor import Cursor
from producers.polling.report import PassReport, PollReport
from producers.polling.sink import EventSink
from producers.queue import Publisher
from toky_ghl.logs import get_logger

log = get_logger(__name__)

NAME = "ghl contacts"
#: How many times one page waits for the shared rate budget before the poll gives up.
MAX_BUSY_WAITS = 20


def _version_time(version: str) -> datetime:
    """The ``dateUpdated`` of a ``"<id>@<ms>"`` version."""
    return datetime.fromtimestamp(int(version.rsplit("@", 1)[1]) / 1000, UTC)


class MirrorPoller:
    """Reads GHL contacts from ``source`` and queues ``ghl.contact.*`` events.

    ``publisher``: an ``EventPublisher``. ``key_prefix``: prefix of the cursor
    (``<prefix>:mirror:ghl:mark`` / ``:seen``) and of the sync memory.
    ``backfill_since``: where the first read starts. ``overlap_s``: seconds
    re-read before the mark (GHL's search index may list a change late).
    ``progress``: called with a line after each page of a first read.
    ``wait``: sleeps the given seconds while the rate budget is busy (the
    command passes its stop event's ``wait``).
    """

    def __init__(self, source: ContactSource, redis_client: redis.Redis, publisher: Publisher, *,
                 key_prefix: str, backfill_since: datetime, overlap_s: int = 300,
                 progress: Callable[[str], None] = lambda _line: None,
                 wait: Callable[[float], Any] = time.sleep,
                 max_busy_waits: int = MAX_BUSY_WAITS) -> None:
        self.source = source
        self.sink = EventSink(publisher, source="mirror")
        self.cursor = Cursor(redis_client, mirror_cursor_key(key_prefix), overlap_s=overlap_s)
        self.memory = SyncMemory(redis_client, key_prefix)
        self.backfill_since = backfill_since
        self.progress = progress
        self.wait = wait
        self.max_busy_waits = max_busy_waits

    def poll_once(self, check: Callable[[], None] = lambda: None) -> PollReport:
        """Read once to the end of GHL's list. ``check`` runs before each page and may raise
        to stop (the lock was lost); a page that cannot be read fails the poll (reported)."""
        report = PollReport()
        current = PassReport(NAME, shows_echoes=True)
        report.passes.append(current)
        try:
            self._read(current, check)
        except SourceFailed as exc:
            report.failures[NAME] = str(exc)
            log.error("mirror.read_failed", error=str(exc))
        log.info("mirror.polled", summary=report.text())
        return report

    def _read(self, current: PassReport, check: Callable[[], None]) -> None:
        floor = self.cursor.floor(self.backfill_since)
        backfilling = self.cursor.mark() is None
        after = (int(floor.timestamp() * 1000), "")
        newest: datetime | None = None
        while True:
            check()
            rows = self._page(after)
            page_newest = self._take(rows, current)
            if page_newest and (newest is None or page_newest > newest):
                newest = page_newest
            current.pages += 1
            current.records += len(rows)
            if backfilling:
                self.progress(f"backfill {current.text()}")
            if len(rows) < self.source.page_size:
                break
            following = position(rows[-1])
            if following is None or following <= after:
                raise SourceFailed(f"GHL's contact list does not move past {after}: "
                                   "stopped (the next poll reads again)")
            after = following
        current.mark = self.cursor.advance(newest, floor)

    def _page(self, after: tuple[int, str]) -> list[dict[str, Any]]:
        for _ in range(self.max_busy_waits):
            try:
                return self.source.page(after)
            except SourceBusy as exc:
                log.info("mirror.rate_wait", wait_ms=exc.wait_ms)
                self.wait(exc.wait_ms / 1000)
        try:
            return self.source.page(after)
        except SourceBusy as exc:
            raise SourceFailed(f"the shared rate budget stayed busy: {exc}") from None

    def _take(self, rows: list[dict[str, Any]], current: PassReport) -> datetime | None:
        """Queue the unseen versions of ``rows`` (echoes left out), remember them; the
        newest ``dateUpdated`` of the page."""
        versions: dict[str, dict[str, Any]] = {}
        newest: datetime | None = None
        for row in rows:
            version = seen_id(row)
            if version is None:
                self.sink.reject(str(row.get("id")), "ghl.contact",
                                 "data.dateUpdated: missing or not a time (or no id)")
                current.counts.invalid += 1
                continue
            versions.setdefault(version, row)
            moment = _version_time(version)
            newest = moment if newest is None or moment > newest else newest
        unseen = self.cursor.unseen(versions)
        fresh = [(version, row) for version, row in versions.items() if version in unseen]
        events = [ghl_contact_event(row) for _, row in fresh]
        echo_ids = self._echoes(events)
        current.echoes += len(echo_ids)
        for event in events:
            if event["id"] in echo_ids:
                log.info("mirror.echo_skipped", event_id=event["id"],
                         reason="toky-ghl wrote these fields to GHL from Toky")
        current.counts.add(self.sink.submit(e for e in events if e["id"] not in echo_ids))
        self.cursor.remember({version: _version_time(version) for version, _ in fresh})
        return newest

    def _echoes(self, events: list[dict[str, Any]]) -> set[str]:
        """The ids of ``events`` whose contact is toky-ghl's own Toky → GHL write."""
        with_phone = [e for e in events if e["data"].get("phone")]
        stored = self.memory.last_many([e["data"]["phone"] for e in with_phone])
        return {e["id"] for e in with_phone
                if stored.get(e["data"]["phone"]) == f"{TO_GHL}:{fingerprint(from_ghl(e['data']))}"}
