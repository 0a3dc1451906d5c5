"""GHL contacts by ``(dateUpdated, id)``, page after page: the mirror poller's contact source.

``POST /contacts/search`` sorted by ``dateUpdated`` ascending, paged with
``searchAfter`` (``[epoch ms, id]``, strictly after). Chosen over
``GET /contacts/`` with ``startAfter``/``startAfterId`` because that list is
ordered by ``dateAdded``: an edit of an old contact never shows up there, and
GHL has deprecated it. The search is a read (``contacts.readonly``) and goes
through the client, so through the shared rate limiter of the location, like
every worker's request.

UNCONFIRMED (not in the official spec): the search body's ``sort`` and
``searchAfter`` (from GHL's search documentation); ``[ms, ""]`` is sent to
start at a moment (every id sorts after ``""``).
"""

from __future__ import annotations

from typing import Any

from clients.ghl.api import GhlApi
from clients.ghl.errors import GhlError, GhlRateLimitedError
from clients.ghl.retry import wait_ms
from producers.mirror.source import SourceBusy, SourceFailed

#: The largest ``pageLimit`` the mirror asks for.
MAX_PAGE_SIZE = 500
#: Wait before retrying a page GHL (or the shared limiter) refused with 429 and no hint, in ms.
DEFAULT_BUSY_WAIT_MS = 1000


class GhlContactChanges:
    """A ``producers.mirror.source.ContactSource`` over a ``GhlClient`` (with its limiter)."""

    def __init__(self, client: GhlApi, *, page_size: int = 100) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        self.client = client
        self.page_size = page_size

    def body(self, after: tuple[int, str]) -> dict[str, Any]:
        """The search body of the page strictly after ``after`` (``locationId`` added by the
        client)."""
        return {
            "pageLimit": self.page_size,
            "sort": [{"field": "dateUpdated", "direction": "asc"}],
            "searchAfter": [int(after[0]), str(after[1])],
        }

    def page(self, after: tuple[int, str]) -> list[dict[str, Any]]:
        try:
            answer = self.client.search_contacts(self.body(after))
        except GhlRateLimitedError as exc:
            raise SourceBusy(str(exc), wait_ms=wait_ms(
                exc, 0, base_ms=DEFAULT_BUSY_WAIT_MS, cap_ms=60_000, rand=lambda: 1.0)) from None
        except GhlError as exc:
            raise SourceFailed(f"GHL contact search failed: {exc}") from None
        contacts = answer.get("contacts") if isinstance(answer, dict) else None
        if not isinstance(contacts, list):
            raise SourceFailed("GHL contact search answered without a 'contacts' list")
        return [c for c in contacts if isinstance(c, dict)]
