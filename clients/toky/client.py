"""The Toky REST client: auth, retries, pagination and one method per resource.

Paths and field names come from ``paths`` (where the unconfirmed ones are
flagged). The key travels only in the ``X-Toky-Key`` header: it is never
logged, never in an error and never sent to another host than ``base_url``'s
(redirects are not followed: a 3xx is a ``TokyError``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests

from clients.http_policy import parse_retry_after_s, pooled_session
from clients.toky import paths, retry
from clients.toky.errors import (
    TokyError,
    TokyNotFoundError,
    error_for_exception,
    error_for_response,
)
from clients.toky.filters import created_between
from contract.times import parse_toky_date
from toky_ghl.errors import ConfigError
from toky_ghl.logs import get_logger, register_secrets

log = get_logger(__name__)
Moment = date | datetime


class TokyClient:
    """A Toky API client.

    ``timeout_s``: (connect, read) seconds per attempt. ``max_attempts``: tries
    per request, the first included (1: no retry). ``backoff_base_ms`` /
    ``backoff_cap_ms``: full-jitter backoff, doubling from the base, never above
    the cap (a ``Retry-After`` hint is honoured up to the cap too). ``sleep``
    takes seconds; ``rand`` returns a float in [0, 1).
    """

    def __init__(
        self, *, base_url: str, api_key: str, session: requests.Session | None = None,
        timeout_s: float | tuple[float, float] = (5, 30), max_attempts: int = 5,
        backoff_base_ms: int = 500, backoff_cap_ms: int = 30_000,
        sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
    ) -> None:
        if not api_key:
            raise ConfigError("TOKY_API_KEY must be set")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        register_secrets([api_key])
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session or pooled_session(base_url=self.base_url, pool_maxsize=10,
                                                    pool_connections=2)
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._base_ms = backoff_base_ms
        self._cap_ms = backoff_cap_ms
        self._sleep = sleep
        self._rand = rand

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> TokyClient:
        """A client for ``settings.toky_api_base`` with ``settings.toky_api_key``."""
        if not settings.toky_api_key:
            raise ConfigError("TOKY_API_KEY must be set")
        return cls(base_url=settings.toky_api_base, api_key=settings.toky_api_key, **kwargs)

    def __repr__(self) -> str:
        return f"TokyClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> TokyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        """Send ``method path`` (retrying what is safe) and return the JSON answer (None: empty).

        ``path`` is relative to ``base_url`` (``/cdrs``) or an absolute URL of
        Toky's own (a ``next`` link), which is always sent to ``base_url``'s host.
        """
        url = self._url(path, params)
        shown = url[len(self.base_url):] if url.startswith(self.base_url) else url
        attempt = 0  # the 0-based index of the attempt being made
        while True:
            try:
                return self._send_once(method, url, shown, json)
            except TokyError as error:
                if attempt + 1 >= self._max_attempts or not retry.should_retry(error, method):
                    raise
                wait_ms = retry.wait_ms(
                    error, attempt, base_ms=self._base_ms, cap_ms=self._cap_ms, rand=self._rand
                )
                log.warning("toky.retry", method=method, path=shown, attempt=attempt + 1,
                            status=error.status, error=type(error).__name__, wait_ms=wait_ms)
                self._sleep(wait_ms / 1000)
                attempt += 1

    def _send_once(self, method: str, url: str, shown: str, json: Any) -> Any:
        headers = {paths.API_KEY_HEADER: self._api_key, "Accept": "application/json"}
        try:
            # Never follow a redirect: requests keeps a custom header (X-Toky-Key) on a
            # change of host, so following one could hand the key to another server.
            response = self._session.request(
                method, url, headers=headers, json=json, timeout=self._timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise error_for_exception(
                exc, method=method, path=shown, secret=self._api_key
            ) from None
        if response.is_redirect or 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("Location") or "")
            raise TokyError(
                f"Toky answered a redirect to {target.netloc or 'the same host'}"
                f"{target.path[:80]}; not followed: the API key is only sent to "
                f"{urlsplit(self.base_url).netloc} (check TOKY_API_BASE)",
                status=response.status_code, method=method, path=shown)
        if not response.ok:
            hint_s = parse_retry_after_s(response.headers.get("Retry-After"))
            raise error_for_response(response, method=method, path=shown,
                                     secret=self._api_key, retry_after_s=hint_s)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise TokyError("Toky answered with a body that is not JSON",
                            status=response.status_code, method=method, path=shown) from None

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        if path.startswith(("http://", "https://")):
            # Never send the key elsewhere: keep Toky's path and query, our scheme and host.
            base, link = urlsplit(self.base_url), urlsplit(path)
            url = urlunsplit((base.scheme, base.netloc, link.path, link.query, ""))
        else:
            url = self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return url

    # -- pagination --------------------------------------------------------

    def iter_pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str,
                                                                                           Any]]:
        """Each page of a list, as ``{"count", "next", "results"}``, following ``next`` until null.

        A bare JSON list is taken as one page. An empty page ends the walk even
        if it names a ``next`` (so a faulty server cannot loop us forever).
        """
        url: str | None = self._url(path, params)
        seen: set[str] = set()
        while url:
            seen.add(url)
            page = _as_page(self.request("GET", url), path)
            yield page
            link = page.get(paths.PAGE_NEXT_KEY)
            more = link and page[paths.PAGE_RESULTS_KEY]
            url = self._url(urljoin(url, link), None) if more else None
            if url in seen:
                raise TokyError(f"Toky's next link repeats a page: {link}", method="GET", path=path)

    def iter_results(self, path: str, *, params: dict[str, Any] | None = None,
                     page_size: int = paths.MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every row of a list, page by page; ``page_size`` is capped at 500 (Toky's maximum)."""
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        query = {"limit": min(page_size, paths.MAX_PAGE_SIZE), "offset": 0, **(params or {})}
        for page in self.iter_pages(path, query):
            yield from page[paths.PAGE_RESULTS_KEY]

    # -- resources ---------------------------------------------------------

    def agents(self) -> list[dict[str, Any]]:
        """Every agent of the account."""
        return list(self.iter_results(paths.AGENTS))

    def cdrs(self, *, since: Moment | None = None, until: Moment | None = None,
             page_size: int = paths.MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Call records, newest first, created in [since, until] (GMT; None: open end).

        Toky is asked by date only (``filters``); rows outside the exact range are dropped here.
        """
        rows = self.iter_results(paths.CDRS, params=_date_filter(since, until),
                                 page_size=page_size)
        return _within(rows, paths.CDR_CREATED_KEY, since, until)

    def recording_url(self, callid: str) -> str | None:
        """The public URL of a call's recording; None when the call has none."""
        try:
            body = self.request("GET", paths.recording_path(callid))
        except TokyNotFoundError:
            return None
        return recording_url_of(body)

    def sms(self, *, since: Moment | None = None, until: Moment | None = None,
            page_size: int = paths.MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """SMS messages, newest first, created in [since, until] (GMT; None: open end)."""
        rows = self.iter_results(paths.SMS, params=_date_filter(since, until),
                                 page_size=page_size)
        return _within(rows, paths.SMS_CREATED_KEY, since, until)

    def voicemails(self, *, page_size: int = paths.MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Voicemails, newest first."""
        return self.iter_results(paths.VOICEMAILS, page_size=page_size)

    def contacts(self, *, page_size: int = paths.MAX_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every contact of the phone directory."""
        return self.iter_results(paths.CONTACTS, page_size=page_size)

    def get_contact(self, phone: str) -> dict[str, Any] | None:
        """The contact with this E.164 phone; None when there is none."""
        try:
            return cast(dict[str, Any] | None, self.request("GET", paths.contact_path(phone)))
        except TokyNotFoundError:
            return None

    def create_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create a contact (``phone`` required); TokyConflictError if the phone is taken."""
        return self.request("POST", paths.CONTACTS, json=payload) or {}

    def update_contact(self, phone: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Change the contact with this phone; TokyNotFoundError if there is none."""
        return self.request("PUT", paths.contact_path(phone), json=payload) or {}

    def webhooks(self) -> list[dict[str, Any]]:
        """Every registered webhook."""
        return list(self.iter_results(paths.WEBHOOKS))

    def register_webhook(self, event: str, hook_url: str) -> dict[str, Any]:
        """Have Toky POST ``event`` to ``hook_url``; returns Toky's answer (``{"id": ...}``)."""
        body = {paths.WEBHOOK_EVENT_KEY: event, paths.WEBHOOK_URL_KEY: hook_url}
        return self.request("POST", paths.WEBHOOKS, json=body) or {}

    def delete_webhook(self, hook_id: str | int) -> None:
        """Remove a webhook by the id ``register_webhook`` returned."""
        self.request("DELETE", paths.webhook_path(hook_id))


def _bound(moment: Moment | None) -> datetime | None:
    """``moment`` as an aware GMT datetime (a date: its midnight; naive: GMT already)."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _created(raw: Any) -> datetime | None:
    try:
        return parse_toky_date(raw).astimezone(UTC) if isinstance(raw, str) else None
    except ValueError:
        return None


def _within(rows: Iterator[dict[str, Any]], created_key: str, since: Moment | None,
            until: Moment | None) -> Iterator[dict[str, Any]]:
    """The rows created in [since, until] (a row whose time is unreadable is kept: the
    caller names it). A date ``until`` includes its whole day."""
    low = _bound(since)
    high = _bound(until)
    if high is not None and not isinstance(until, datetime):
        high += timedelta(days=1) - timedelta(microseconds=1)
    for row in rows:
        created = _created(row.get(created_key)) if isinstance(row, dict) else None
        if created is None or ((low is None or created >= low)
                               and (high is None or created <= high)):
            yield row


def recording_url_of(body: Any) -> str | None:
    """The URL in a /recordings/{callid} answer: the first non-empty string among
    ``paths.RECORDING_URL_KEYS`` (``url``, ``record_url``, ``recording_url``)."""
    if not isinstance(body, dict):
        return None
    for key in paths.RECORDING_URL_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _date_filter(since: Moment | None, until: Moment | None) -> dict[str, Any] | None:
    if since is None and until is None:
        return None
    return {paths.FILTER_PARAM: created_between(since, until)}


def _as_page(body: Any, path: str) -> dict[str, Any]:
    if isinstance(body, list):
        return {paths.PAGE_COUNT_KEY: len(body), paths.PAGE_NEXT_KEY: None,
                paths.PAGE_RESULTS_KEY: body}
    if isinstance(body, dict) and isinstance(body.get(paths.PAGE_RESULTS_KEY), list):
        return body
    raise TokyError("Toky's answer is not a list page (no 'results' list)", method="GET", path=path)
