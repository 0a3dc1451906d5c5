"""Reading one history list (calls, voicemails, SMS) from its cursor, page by page.

Each page: rows older than the cursor's floor or already seen are skipped, the
others become events, are validated and queued, then remembered as seen. The
mark moves once the whole list was read (see ``cursor``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clients.toky import paths
from clients.toky.client import TokyClient
from clients.toky.filters import created_between
from contract.events import InvalidEvent
from contract.ids import TOKY_ID_RULE, is_toky_id
from producers.polling.cursor import Cursor
from producers.polling.report import PassReport
from producers.polling.sink import EventSink
from producers.records.calls import cdr_event, needs_recording
from producers.records.messages import sms_event, voicemail_event
from producers.records.toky_time import parse_toky_time

#: ``(client, row)`` → the raw event of that row (``InvalidEvent`` when it cannot be mapped).
RowMapper = Callable[[Any, dict[str, Any]], dict[str, Any]]


def _call(client: TokyClient, row: dict[str, Any]) -> dict[str, Any]:
    callid = str(row.get("callid") or "").strip()
    if needs_recording(row) and not is_toky_id(callid):  # never put it in a URL path
        raise InvalidEvent(f"data.callid: not a valid id {callid[:40]!r}: {TOKY_ID_RULE}")
    url = client.recording_url(callid) if needs_recording(row) else None
    return cdr_event(row, url)


@dataclass(frozen=True)
class HistoryResource:
    """A history list: its path, the row fields holding its id and created time,
    whether Toky filters it by date (else reading stops at the first older row).
    """

    name: str
    path: str
    id_key: str
    created_key: str
    server_filter: bool
    to_event: RowMapper


CALLS = HistoryResource("calls", paths.CDRS, "callid", paths.CDR_CREATED_KEY, True, _call)
VOICEMAILS = HistoryResource("voicemails", paths.VOICEMAILS, "id", paths.VOICEMAIL_CREATED_KEY,
                             False, lambda _client, row: voicemail_event(row))
SMS = HistoryResource("sms", paths.SMS, "id", paths.SMS_CREATED_KEY, True,
                      lambda _client, row: sms_event(row))


def read_history(resource: HistoryResource, client: TokyClient, cursor: Cursor, sink: EventSink, *,
                 backfill_since: datetime, page_size: int,
                 on_page: Callable[[PassReport], None] = lambda _r: None,
                 check: Callable[[], None] = lambda: None) -> PassReport:
    """Queue what is new in ``resource`` since ``cursor``; ``check`` runs before each page
    (it raises to stop, e.g. when the poller lock was lost); ``on_page`` after each page.
    """
    floor = cursor.floor(backfill_since)
    params: dict[str, Any] = {"limit": page_size, "offset": 0}
    if resource.server_filter:
        params[paths.FILTER_PARAM] = created_between(floor, None)
    report = PassReport(resource.name)
    newest: datetime | None = None
    in_pass: set[str] = set()
    pages = client.iter_pages(resource.path, params)
    while True:
        check()
        page = next(pages, None)
        if page is None:
            break
        rows = page[paths.PAGE_RESULTS_KEY]
        fresh, reached_older, unreadable = _fresh_rows(resource, rows, floor, in_pass, sink)
        report.counts.invalid += unreadable
        if fresh:
            newest = max(newest or floor, *(t for _, t, _ in fresh))
        unseen = cursor.unseen(rid for rid, _, _ in fresh)
        todo = [(rid, t, row) for rid, t, row in fresh if rid in unseen]
        events = []
        for _rid, _t, row in todo:
            try:
                events.append(resource.to_event(client, row))
            except InvalidEvent as exc:
                sink.reject(str(row.get(resource.id_key)), resource.name, exc.reason)
                report.counts.invalid += 1
        report.counts.add(sink.submit(events))
        cursor.remember({rid: t for rid, t, _ in todo})
        report.pages += 1
        report.records += len(rows)
        on_page(report)
        if reached_older and not resource.server_filter:
            break  # newest first: every later row is older still
    report.mark = cursor.advance(newest, floor)
    return report


def _fresh_rows(resource: HistoryResource, rows: list[dict[str, Any]], floor: datetime,
                in_pass: set[str], sink: EventSink) -> tuple[list[Any], bool, int]:
    """``[(id, created, row)]`` of rows at or after ``floor`` not yet met in this read,
    whether a row older than ``floor`` was met, and how many rows had no id or time."""
    fresh, reached_older, unreadable = [], False, 0
    for row in rows:
        rid = str(row.get(resource.id_key) or "").strip()
        created = parse_toky_time(row.get(resource.created_key))
        if not rid or created is None:
            sink.reject(rid or "?", resource.name,
                        f"{resource.id_key} or {resource.created_key} missing or unreadable")
            unreadable += 1
            continue
        if created < floor:
            reached_older = True
            continue
        if rid not in in_pass:
            in_pass.add(rid)
            fresh.append((rid, created, row))
    return fresh, reached_older, unreadable
