"""Reading the contact directory: every page, every time, compared with the fingerprints.

Contacts have no timestamps, so there is no cursor: each poll reads the whole
directory and queues ``contact.created`` for a phone never seen and
``contact.updated`` for a changed fingerprint (see ``fingerprints``).
``occurred_at`` is the time of the poll. A contact that disappears from Toky
is NOT deleted in GHL (a short or faulty listing must never delete contacts).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from producers.phones import normalize_phone
from producers.poller.fingerprints import ContactFingerprints, contact_data
from producers.poller.history import PassReport
from producers.poller.sink import EventSink
from producers.poller.toky_time import iso_z
from producers.toky import paths

#: Fingerprints of contacts whose phone cannot be read are kept under this prefix,
#: so each is reported once per change, not at every poll.
UNREADABLE = "unreadable:"


def read_contacts(client: Any, fingerprints: ContactFingerprints, sink: EventSink, *,
                  now: datetime, page_size: int,
                  on_page: Callable[[PassReport], None] = lambda _r: None,
                  check: Callable[[], None] = lambda: None) -> PassReport:
    """Queue the new and changed contacts; ``check`` / ``on_page`` as in ``read_history``."""
    report = PassReport("contacts")
    occurred_at = iso_z(now)
    in_pass: set[str] = set()
    pages = client.iter_pages(paths.CONTACTS, {"limit": page_size, "offset": 0})
    while True:
        check()
        page = next(pages, None)
        if page is None:
            break
        rows = page[paths.PAGE_RESULTS_KEY]
        contacts: dict[str, dict] = {}
        errors: dict[str, str] = {}
        for row in rows:
            data = contact_data(row)
            try:
                phone = normalize_phone(data.get("phone", ""), data.get("country_code"))
                data = {**data, "phone": phone}
            except ValueError as exc:
                phone = f"{UNREADABLE}{data.get('phone', '')}"
                errors[phone] = f"data.phone: {exc}"
            if phone not in in_pass:
                in_pass.add(phone)
                contacts[phone] = data
        changes = fingerprints.changes(contacts)
        events = []
        for phone, change in changes.items():
            if phone in errors:
                sink.reject(phone, change.event_type, errors[phone])
                report.counts.invalid += 1
                continue
            events.append({"id": change.event_id, "type": change.event_type,
                           "occurred_at": occurred_at, "data": contacts[phone]})
        report.counts.add(sink.submit(events))
        fingerprints.save(changes.values())
        report.pages += 1
        report.records += len(rows)
        on_page(report)
    return report
