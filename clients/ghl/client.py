"""``GhlClient``: the GHL API v2 endpoints toky-ghl uses, one method each.

Methods return the object, not GHL's envelope (``get_contact`` returns the
contact, not ``{"contact": ...}``). Every call is ONE attempt and raises a
``clients.ghl.errors.GhlError`` on failure; see ``GhlTransport`` for the
scope check, the shared limiter and timeouts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from clients.ghl.engagement import EngagementEndpoints
from clients.ghl.errors import GhlError, GhlNotFoundError, GhlValidationError
from clients.ghl.transport import GhlTransport, segment
from toky_ghl.logs import get_logger

log = get_logger(__name__)

MAX_PAGE_SIZE = 100  # GET /contacts/ "will allow maximum up to 100"


class GhlClient(EngagementEndpoints, GhlTransport):
    """A client for one GHL sub-account (location).

    Keyword-only: ``base_url``; ``token``, a string or a zero-argument callable
    returning the current token (called on every request, so a rotated token is
    used from the next call); ``location_id``; ``scopes``, the granted scopes
    (a call needing another is refused before sending); ``limiter``, the shared
    rate limiter (None: no limiting); ``session``, a ``requests.Session`` (None:
    a pooled one); ``connect_timeout_s`` / ``read_timeout_s``; ``max_inline_wait_ms``,
    the longest total wait on the limiter before raising ``GhlRateLimitedError``
    (0: never wait inline); ``sleep``, injectable for tests; ``wire``, send on a
    per-thread kept-alive connection (``clients.ghl.wire``, the worker's path) instead
    of requests, unless a ``session`` is given or a proxy applies.
    """

    def _located(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "locationId": self.location_id}

    # -- contacts -----------------------------------------------------------

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        return self._json("GET", f"/contacts/{segment(contact_id, 'contact_id')}",
                          expect="contact")

    def list_contacts(
        self,
        *,
        query: str | None = None,
        limit: int = 20,
        start_after_id: str | None = None,
        start_after_ms: int | None = None,
    ) -> dict[str, Any]:
        """One page of ``GET /contacts/`` (deprecated by GHL, still served): contacts, meta."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be 1..{MAX_PAGE_SIZE}, got {limit}")
        return self._json("GET", "/contacts/", params={
            "locationId": self.location_id, "query": query, "limit": limit,
            "startAfterId": start_after_id, "startAfter": start_after_ms,
        })

    def iter_contacts(self, *, query: str | None = None,
                      page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every contact, page after page (cursor: ``meta`` if given, else the last contact)."""
        cursor: tuple[str | None, int | None] = (None, None)
        while True:
            page = self.list_contacts(query=query, limit=page_size,
                                      start_after_id=cursor[0], start_after_ms=cursor[1])
            contacts = page.get("contacts") or []
            yield from contacts
            if len(contacts) < page_size:
                return
            following = _next_cursor(page, contacts)
            if following[0] is None or following == cursor:
                return
            cursor = following

    def search_contacts(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /contacts/search`` (a read); returns GHL's whole answer (contacts, total)."""
        return self._json("POST", "/contacts/search", json=self._located(body))

    def contacts_by_business(
        self, business_id: str, *, limit: int | None = None, skip: int | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        return self._json(
            "GET", f"/contacts/business/{segment(business_id, 'business_id')}",
            params={"locationId": self.location_id, "limit": limit, "skip": skip,
                    "query": query},
        )

    def search_duplicate(self, *, number: str | None = None, email: str | None = None
                         ) -> dict[str, Any] | None:
        """The contact GHL would treat as a duplicate of ``number``/``email``, or None."""
        if not number and not email:
            raise ValueError("search_duplicate needs a number or an email")
        body = self._call("GET", "/contacts/search/duplicate", params={
            "locationId": self.location_id, "number": number, "email": email,
        })
        found = body.get("contact") if isinstance(body, dict) else None
        return found or None

    def create_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/contacts/", json=self._located(payload), expect="contact")

    def upsert_contact(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """``POST /contacts/upsert``: (the contact, True when GHL created it)."""
        body = self._call("POST", "/contacts/upsert", json=self._located(payload),
                          expect="contact", unwrap=False)
        return body["contact"], bool(body.get("new"))

    def update_contact(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``PUT /contacts/{id}``; ``locationId`` is dropped (GHL refuses it on update)."""
        body = {k: v for k, v in payload.items() if k != "locationId"}
        return self._json("PUT", f"/contacts/{segment(contact_id, 'contact_id')}", json=body,
                          expect="contact")

    def delete_contact(self, contact_id: str) -> None:
        self._call("DELETE", f"/contacts/{segment(contact_id, 'contact_id')}")

    # -- tags -----------------------------------------------------------------

    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        """Add ``tags``; returns the tags GHL reports back."""
        path = f"/contacts/{segment(contact_id, 'contact_id')}/tags"
        answer: list[str] = self._call("POST", path, json={"tags": list(tags)}, expect="tags")
        return answer

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        """Remove ``tags`` (a DELETE with a JSON body); returns the tags GHL reports back."""
        path = f"/contacts/{segment(contact_id, 'contact_id')}/tags"
        answer: list[str] = self._call("DELETE", path, json={"tags": list(tags)}, expect="tags")
        return answer

    # -- tasks ----------------------------------------------------------------

    def _tasks(self, contact_id: str, task_id: str | None = None) -> str:
        path = f"/contacts/{segment(contact_id, 'contact_id')}/tasks"
        return path if task_id is None else f"{path}/{segment(task_id, 'task_id')}"

    def list_tasks(self, contact_id: str) -> list[dict[str, Any]]:
        return self._rows("GET", self._tasks(contact_id), expect="tasks")

    def get_task(self, contact_id: str, task_id: str) -> dict[str, Any]:
        return self._json("GET", self._tasks(contact_id, task_id), expect="task")

    def create_task(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` needs ``title``, ``dueDate`` and ``completed``."""
        return self._json("POST", self._tasks(contact_id), json=payload, expect="task")

    def update_task(self, contact_id: str, task_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._json("PUT", self._tasks(contact_id, task_id), json=payload, expect="task")

    def complete_task(self, contact_id: str, task_id: str,
                      completed: bool = True) -> dict[str, Any]:
        return self._json("PUT", self._tasks(contact_id, task_id) + "/completed",
                          json={"completed": bool(completed)}, expect="task")

    def delete_task(self, contact_id: str, task_id: str) -> None:
        self._call("DELETE", self._tasks(contact_id, task_id))

    # -- notes ----------------------------------------------------------------

    def _notes(self, contact_id: str, note_id: str | None = None) -> str:
        path = f"/contacts/{segment(contact_id, 'contact_id')}/notes"
        return path if note_id is None else f"{path}/{segment(note_id, 'note_id')}"

    def list_notes(self, contact_id: str) -> list[dict[str, Any]]:
        return self._rows("GET", self._notes(contact_id), expect="notes")

    def get_note(self, contact_id: str, note_id: str) -> dict[str, Any]:
        return self._json("GET", self._notes(contact_id, note_id), expect="note")

    def create_note(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` needs ``body``; ``userId``, ``title``, ``color``, ``pinned`` optional."""
        return self._json("POST", self._notes(contact_id), json=payload, expect="note")

    def update_note(self, contact_id: str, note_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._json("PUT", self._notes(contact_id, note_id), json=payload, expect="note")

    def delete_note(self, contact_id: str, note_id: str) -> None:
        self._call("DELETE", self._notes(contact_id, note_id))

    # -- appointments (calendars API, Version 2021-04-15) ---------------------

    def list_contact_appointments(self, contact_id: str) -> list[dict[str, Any]]:
        return self._rows("GET", f"/contacts/{segment(contact_id, 'contact_id')}/appointments",
                          expect="events")

    def create_appointment(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` needs ``calendarId``, ``contactId``, ``startTime``; answer: a bare object."""
        return self._json("POST", "/calendars/events/appointments", json=self._located(payload),
                          expect="id", unwrap=False)

    def update_appointment(self, event_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._json("PUT", f"/calendars/events/appointments/{segment(event_id, 'event_id')}",
                          json=payload, expect="id", unwrap=False)

    def get_appointment(self, event_id: str) -> dict[str, Any]:
        return self._json("GET", f"/calendars/events/appointments/{segment(event_id, 'event_id')}",
                          expect="event")

    # -- the location and its custom fields --------------------------------------

    def get_location(self) -> dict[str, Any]:
        """``GET /locations/{locationId}`` (scope ``locations.readonly``): the location,
        with its ``companyId``."""
        return self._json("GET", f"/locations/{segment(self.location_id, 'location_id')}",
                          expect="location")

    def list_custom_fields(self, model: str = "contact") -> list[dict[str, Any]]:
        """``GET /locations/{locationId}/customFields?model=``: ``[{id, name, fieldKey,
        dataType, ...}]`` (scope ``locations/customFields.readonly``)."""
        path = f"/locations/{segment(self.location_id, 'location_id')}/customFields"
        return self._rows("GET", path, params={"model": model}, expect="customFields")

    # -- users ----------------------------------------------------------------

    def list_users(self, company_id: str | None = None) -> list[dict[str, Any]]:
        """The location's users.

        ``GET /users/`` is deprecated in apps/users.json in favour of ``GET
        /users/search`` with the required ``companyId`` and ``locationId``. The
        search is used when the company is known (``company_id``, else the
        location's ``companyId`` when ``locations.readonly`` is granted), page by
        page; the old route is the fallback when it is not, or when the search
        answers 404, 400 or 422 (a GHL without it, or refusing our query).
        """
        company_id = company_id or self._company_id()
        if company_id:
            try:
                return self.search_users(company_id)
            except (GhlNotFoundError, GhlValidationError) as exc:
                log.info("ghl.users_search_unavailable", status=exc.status,
                         fallback="GET /users/")
        return self._rows("GET", "/users/", params={"locationId": self.location_id},
                          expect="users")

    def search_users(self, company_id: str, *, page_size: int = 100) -> list[dict[str, Any]]:
        """Every user of the location through ``GET /users/search`` (``skip``/``limit``)."""
        users: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", "/users/search", params={
                "companyId": company_id, "locationId": self.location_id,
                "skip": len(users), "limit": page_size})
            rows = page.get("users") if isinstance(page, dict) else None
            rows = rows if isinstance(rows, list) else []
            users.extend(rows)
            total = page.get("count") if isinstance(page, dict) else None
            if len(rows) < page_size or (isinstance(total, int) and len(users) >= total):
                return users

    def _company_id(self) -> str | None:
        """The location's ``companyId``, when the scopes allow reading the location."""
        if "locations.readonly" not in self.scopes:
            return None
        try:
            company = self.get_location().get("companyId")
        except GhlError as exc:
            log.info("ghl.company_unknown", status=exc.status)
            return None
        return company if isinstance(company, str) and company else None


def _next_cursor(page: dict[str, Any],
                 contacts: list[dict[str, Any]]) -> tuple[str | None, int | None]:
    """``(startAfterId, startAfter ms)`` for the next page: ``meta`` if given, else the last row."""
    meta = page.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("startAfterId"):
        after = meta.get("startAfter")
        return meta["startAfterId"], int(after) if isinstance(after, int | float) else None
    last = contacts[-1]
    return last.get("id"), _iso_to_ms(last.get("dateAdded"))


def _iso_to_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
