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

from clients.toky import paths
from clients.toky.client import TokyClient
from contract.phones import normalize_phone
from producers.mirror.memory import TO_TOKY, SyncMemory
from producers.mirror.shared import fingerprint, from_toky
from producers.poller.fingerprints import ContactFingerprints, contact_data
from producers.polling.report import PassReport
from producers.polling.sink import EventSink
from producers.records.toky_time import iso_z
from toky_ghl.logs import get_logger

log = get_logger(__name__)

#: Fingerprints of contacts whose phone cannot be read are kept under this prefix,
#: so each is reported once per change, not at every poll.
UNREADABLE = "unreadable:"


def mirror_echoes(memory: SyncMemory | None, contacts: dict[str, dict[str, Any]],
                  phones: Any) -> set[str]:
    """Those of ``phones`` whose contact is exactly what the GHL → Toky mirror last wrote
    to Toky (``SyncMemory``, ``ghl>toky``): its own write, not a change to send to GHL."""
    if memory is None:
        return set()
    wanted = {p: fingerprint(from_toky(contacts[p])) for p in phones
              if not p.startswith(UNREADABLE)}
    return memory.matching(wanted, TO_TOKY)


def read_contacts(client: TokyClient, fingerprints: ContactFingerprints, sink: EventSink, *,
                  now: datetime, page_size: int,
                  on_page: Callable[[PassReport], None] = lambda _r: None,
                  check: Callable[[], None] = lambda: None,
                  memory: SyncMemory | None = None) -> PassReport:
    """Queue the new and changed contacts; ``check`` / ``on_page`` as in ``read_history``.

    With ``memory``, a change that is the GHL → Toky mirror's own write (see
    ``mirror_echoes``) is remembered but not queued (``echoes`` in the report).
    """
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
        contacts: dict[str, dict[str, Any]] = {}
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
        echoes = mirror_echoes(memory, contacts, changes)
        events = []
        for phone, change in changes.items():
            if phone in errors:
                sink.reject(phone, change.event_type, errors[phone])
                report.counts.invalid += 1
                continue
            if phone in echoes:
                log.info("poller.echo_skipped", event_id=change.event_id,
                         reason="the GHL → Toky mirror wrote this contact")
                report.echoes += 1
                continue
            events.append({"id": change.event_id, "type": change.event_type,
                           "occurred_at": occurred_at, "data": contacts[phone]})
        report.counts.add(sink.submit(events))
        fingerprints.save(changes.values())
        report.pages += 1
        report.records += len(rows)
        on_page(report)
    return report
