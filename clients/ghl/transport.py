"""One GHL HTTP call: scope check, shared limiter, ONE attempt, error mapping, debug log.

``GhlTransport`` is the base of ``GhlClient``; it knows nothing of endpoints.
There is no retry loop here: the caller decides (``clients.ghl.retry``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import quote

import requests

from clients.ghl.api import Json
from clients.ghl.errors import (
    Answer,
    GhlAuthError,
    GhlConnectionError,
    GhlError,
    GhlRateLimitedError,
    error_from_exception,
    error_from_response,
)
from clients.ghl.scopes import check_scope
from clients.ghl.wire import WireSender, proxy_applies
from clients.http_policy import pooled_session
from contract.ids import GHL_ID_RULE, is_ghl_id
from toky_ghl.logs import get_logger, register_secrets
from toky_ghl.metrics import record

if TYPE_CHECKING:
    from worker.circuit import Circuit, Ticket
    from worker.ratelimit.base import Grant

log = get_logger(__name__)

CONTACTS_VERSION = "2021-07-28"  # contacts and users APIs (official spec's Version enum)
CALENDARS_VERSION = "2021-04-15"  # calendars API, appointments included
POOL_MAXSIZE = 32


class Limiter(Protocol):
    """The shared rate limiter's interface (``worker/ratelimit/``, whose ``Grant`` it hands
    out; a grant's ``reason`` is optional here)."""

    def acquire(self, location_id: str) -> Grant: ...
    def release(self, grant: Grant) -> None: ...
    def observe(self, location_id: str, headers: Mapping[str, str]) -> None: ...
    # optional: finish(grant, headers), release and observe in one call


TokenSource = str | Callable[[], str | None]


def segment(value: Any, what: str) -> str:
    """``value`` as ONE path segment, when it is a GHL id (``contract.ids``): an empty id,
    ``.``, ``..`` or one with ``/`` would address another endpoint."""
    text = "" if value is None else str(value).strip()
    if not is_ghl_id(text):
        shown = text if len(text) <= 40 else f"{text[:40]}…"
        raise ValueError(f"{what} must be a GHL id ({GHL_ID_RULE}), got {shown!r}")
    return quote(text, safe="")


class _ThreadSessions(threading.local):
    """One ``requests.Session`` per thread (a session is not thread-safe), each keeping
    its connections alive; proxy and CA-bundle settings for ``base_url`` are read from
    the environment when the thread's session is made (``pooled_session``)."""

    session: requests.Session | None = None

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def get(self) -> requests.Session:
        if self.session is None:
            self.session = pooled_session(base_url=self.base_url, pool_maxsize=POOL_MAXSIZE,
                                          pool_connections=4)
        return self.session


class GhlTransport:
    """Sends single GHL requests for one location. See ``GhlClient`` for the arguments."""

    def __init__(
        self,
        *,
        base_url: str,
        token: TokenSource | None,
        location_id: str | None,
        scopes: Iterable[str],
        limiter: Limiter | None = None,
        session: requests.Session | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        max_inline_wait_ms: int = 2000,
        sleep: Callable[[float], Any] = time.sleep,
        circuit: Circuit | None = None,
        wire: bool = False,
    ) -> None:
        if not base_url:
            raise ValueError("GHL base URL is missing: set GHL_API_BASE")
        if token is None or (isinstance(token, str) and not token.strip()):
            raise ValueError(
                "GHL token is missing: set GHL_TOKEN to the sub-account's OAuth access "
                "token or Private Integration Token"
            )
        if not (location_id or "").strip():
            raise ValueError("GHL location id is missing: set GHL_LOCATION_ID (the sub-account id)")
        if isinstance(token, str):
            fixed = token.strip()
            register_secrets([fixed])
            self._token_source: Callable[[], str | None] = lambda: fixed
        else:
            self._token_source = token
        self.base_url = base_url.rstrip("/")
        self.location_id = (location_id or "").strip()
        self.scopes = frozenset(scopes)
        self._limiter = limiter
        self._given_session = session  # None: one session per thread
        self._sessions = _ThreadSessions(self.base_url)
        # The cheaper path (clients.ghl.wire), opted into by the worker (worker/runtime.py);
        # a given session (tests' adapters, ``responses``) or a proxy keeps requests'.
        self._wire = (WireSender(self.base_url, connect_timeout_s=connect_timeout_s,
                                 read_timeout_s=read_timeout_s)
                      if wire and session is None and not proxy_applies(self.base_url)
                      else None)
        self._timeout_s = (connect_timeout_s, read_timeout_s)
        self._max_inline_wait_ms = max_inline_wait_ms
        self._sleep = sleep
        self._circuit = circuit  # worker.circuit.Circuit (None: no circuit)

    @property
    def _session(self) -> requests.Session:
        """The session this thread sends with: the one given, else the thread's own."""
        return self._given_session or self._sessions.get()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"location_id={self.location_id!r}, scopes={sorted(self.scopes)!r})"
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expect: str | None = None,
        unwrap: bool = True,
    ) -> Any:
        """One request; the parsed body, or its ``expect`` key (checked present).

        ``unwrap=False`` checks ``expect`` is there but returns the whole body.
        Raises ``GhlError`` (and ``ValueError`` for a path no scope rule knows).
        """
        method = method.upper()
        check_scope(self.scopes, method, path)
        ticket = self._pass_circuit(method, path)
        try:
            headers = self._headers(method, path)
            grant = self._acquire(method, path)
        except GhlError as exc:  # the token endpoint unreachable counts like a 5xx
            from worker.circuit import counts_as_failure

            if counts_as_failure(exc):
                self._circuit_after(ticket, exc)
            else:  # not sent (rate limiter, no token, paused): GHL told us nothing
                self._give_back(ticket)
            raise
        except BaseException:
            self._give_back(ticket)
            raise
        started = time.monotonic()
        answered = False
        try:
            response = self._send(method, path, headers, params, json)
            answered = True
        except requests.RequestException as exc:
            log.debug("ghl.request", method=method, path=path, status=None,
                      elapsed_ms=_ms_since(started), error=type(exc).__name__)
            record.ghl_request(self.location_id, method, path, None, _s_since(started))
            error = error_from_exception(exc, method, path)
            self._circuit_after(ticket, error)
            raise error from exc
        finally:
            if grant is not None and self._limiter is not None and not answered:
                self._limiter.release(grant)
        if self._limiter is not None:
            self._after_answer(grant, response.headers)
        log.debug("ghl.request", method=method, path=path, status=response.status_code,
                  elapsed_ms=_ms_since(started))
        record.ghl_request(self.location_id, method, path, response.status_code,
                           _s_since(started))
        if not 200 <= response.status_code < 300:
            error = error_from_response(response, method, path)
            self._circuit_after(ticket, error)
            raise error
        self._circuit_after(ticket, None)
        body = _parse(response, method, path, expect)
        return body[expect] if expect is not None and unwrap else body

    def _send(self, method: str, path: str, headers: dict[str, str],
              params: Mapping[str, Any] | None, json: Any) -> Answer:
        """One HTTP exchange, its body read: on the thread's own kept-alive connection
        when the transport was built with ``wire=True`` (``clients.ghl.wire``), else
        through the session's adapter (below). Failures raise requests' exceptions.

        Not ``Session.request``: per request it merges cookie jars, hooks and settings
        (``merge_setting``'s protocol ``isinstance`` checks), looks up redirects and
        stores cookies, about a fifth of the CPU of a GHL call (py-spy, issue 12). What a
        GHL call needs of it is kept: the session's default headers (User-Agent,
        Accept-Encoding) under ours, its proxies and CA bundle (``pooled_session``), and
        its adapter, so a test's adapter or ``responses`` still answers. Not kept:
        cookies (GHL's API authenticates by the header) and redirects (GHL's API does
        not redirect; a 3xx is an error, never a POST re-sent as a GET)."""
        if self._wire is not None:
            return self._wire.send(method, path, headers, params, json)
        session = self._session
        request = requests.PreparedRequest()
        # PreparedRequest.prepare's steps less cookies (an empty jar built and read per
        # request) and auth (none: the token travels in our header)
        request.prepare_method(method)
        request.prepare_url(self.base_url + path,
                            {k: v for k, v in (params or {}).items() if v is not None} or None)
        request.prepare_headers({**session.headers, **headers})
        request.prepare_body(None, None, json)
        assert request.url is not None  # (prepared)
        response = session.get_adapter(request.url).send(
            request, stream=False, timeout=self._timeout_s,
            verify=True if session.verify is None else session.verify,
            cert=session.cert, proxies=session.proxies)
        response.content  # noqa: B018  (read now, as Session.send does: the connection goes back)
        return response

    def _after_answer(self, grant: Grant | None, headers: Mapping[str, str]) -> None:
        """Release the slot and correct the budget from the answer's headers: one call
        (``finish``) when the limiter has it, one Redis round trip."""
        if self._limiter is None:
            return
        finish = getattr(self._limiter, "finish", None)
        if grant is not None and finish is not None:
            finish(grant, headers)
            return
        if grant is not None:
            self._limiter.release(grant)
        self._limiter.observe(self.location_id, headers)

    def _pass_circuit(self, method: str, path: str) -> Ticket | None:
        """The circuit's ticket for one call; raises ``CircuitOpen`` while it is open."""
        if self._circuit is None:
            return None
        ticket = self._circuit.allow(self.location_id)
        if not ticket.allowed:
            from worker.circuit import CircuitOpen  # (deferred: a µs per call, issue 12)

            raise CircuitOpen(self.location_id, ticket.next_probe_ms, method=method, path=path)
        if ticket.probe:
            log.info("circuit.probe", location=self.location_id, method=method, path=path)
        return ticket

    def _mid_event_wait_ms(self) -> int:
        """How long, in total, an event that already spent a slot may wait inline: two
        windows of the configured budget, at most ``MID_EVENT_WAIT_CAP_MS``."""
        limits = getattr(self._limiter, "limits", None)
        interval_ms = int(getattr(limits, "interval_ms", 10_000))
        return min(MID_EVENT_WAIT_CAP_MS, 2 * interval_ms)

    def _give_back(self, ticket: Ticket | None) -> None:
        """The call was not sent: a probe ticket goes back, so another call probes at
        once (else the circuit would stay open with nobody probing until the lease ends)."""
        if (ticket is not None and ticket.probe and self._circuit is not None
                and self._circuit.gave_up(self.location_id)):
            log.info("circuit.probe_given_back", location=self.location_id)

    def _circuit_after(self, ticket: Ticket | None, error: BaseException | None) -> None:
        """Tell the circuit how the call went (``error`` None: success)."""
        if ticket is None or self._circuit is None:  # (a ticket comes from the circuit)
            return
        if error is None and ticket.clean and not ticket.probe:
            return  # the usual call: nothing to tell (the import below costs a µs per call)
        from worker.circuit import CircuitState, CircuitTransition, counts_as_failure

        if error is not None and counts_as_failure(error):
            state = self._circuit.failed(self.location_id, error, probe=ticket.probe)
            if state in (CircuitTransition.OPENED, CircuitTransition.REOPENED):
                log.warning("circuit.open", location=self.location_id, probe=ticket.probe,
                            error=str(error)[:200])
        elif not ticket.clean or ticket.probe:
            was = self._circuit.succeeded(self.location_id)
            if was is not CircuitState.CLOSED:
                log.warning("circuit.closed", location=self.location_id, was=was)

    def _headers(self, method: str, path: str) -> dict[str, str]:
        token = (self._token_source() or "").strip()
        if not token:
            raise GhlAuthError(
                "no GHL token available (the token source returned nothing); "
                "set or refresh GHL_TOKEN", method=method, path=path,
            )
        register_secrets([token])
        version = CALENDARS_VERSION if path.startswith("/calendars/") else CONTACTS_VERSION
        return {
            "Authorization": f"Bearer {token}",
            "Version": version,
            "Accept": "application/json",
        }

    def _json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None, expect: str | None = None, unwrap: bool = True) -> Json:
        """``_call`` of an endpoint answering a JSON object (GHL's, not checked further)."""
        return cast(Json, self._call(method, path, params=params, json=json, expect=expect,
                                     unwrap=unwrap))

    def _rows(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              expect: str | None = None) -> list[Json]:
        """``_call`` of an endpoint answering a list of JSON objects (under ``expect``)."""
        return cast(list[Json], self._call(method, path, params=params, expect=expect))

    def _acquire(self, method: str, path: str) -> Grant | None:
        """A limiter grant; waits inline up to ``max_inline_wait_ms`` in total, else raises.

        Within one event (``one_event``) whose earlier call already spent a slot, the
        limit is the event's mid-way allowance instead (``_mid_event_wait_ms``)."""
        if self._limiter is None:
            return None
        event = _event_budget.get()
        limit_ms = self._max_inline_wait_ms
        if event is not None and event.granted:
            limit_ms = max(limit_ms, self._mid_event_wait_ms() - event.waited_ms)
        waited_ms = 0
        while True:
            grant = self._limiter.acquire(self.location_id)
            if grant.ok:
                if event is not None:
                    event.granted += 1
                    event.waited_ms += waited_ms
                return grant
            wait = max(1, int(grant.wait_ms))
            daily = getattr(grant, "reason", None) == "daily"
            if daily or waited_ms + wait > limit_ms:
                record.limiter_refused(self.location_id)
                what = "daily budget is spent" if daily else "shared rate limiter asks"
                raise GhlRateLimitedError(
                    f"the {what}: wait {wait} ms for location {self.location_id}",
                    retry_after_ms=wait, from_server=False, daily=daily,
                    method=method, path=path,
                )
            self._sleep(wait / 1000)
            waited_ms += wait


@dataclass
class _EventBudget:
    """One event's use of the rate budget so far: slots granted, ms waited inline."""

    granted: int = 0
    waited_ms: int = 0


_event_budget: ContextVar[_EventBudget | None] = ContextVar("ghl_event_budget", default=None)

#: The most one event waits inline, in total, once a call of it was granted a slot.
MID_EVENT_WAIT_CAP_MS = 20_000


class one_event:  # (named as the function it replaced: ``with one_event():``)
    """The calls made inside belong to one event's delivery.

    Once one of them was granted a slot of the rate budget, the later ones wait inline
    for theirs (up to two windows, at most ``MID_EVENT_WAIT_CAP_MS`` for the event)
    instead of giving up after ``RATE_WAIT_INLINE_MAX_MS``: giving up parks the event,
    which starts again from scratch and throws away the slots it spent (a duplicate
    search finding nothing leaves nothing behind). Under a tight budget every event
    then spent its slot and parked at the next call: a livelock. Waiting before the
    first slot is still limited by ``RATE_WAIT_INLINE_MAX_MS`` (parking then costs
    nothing).

    A class, not ``@contextmanager``: entered once per event, and a generator-based
    context manager costs a few µs more to make, enter and leave (issue 12)."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _event_budget.set(_EventBudget())

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        _event_budget.reset(self._token)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _s_since(started: float) -> float:
    return time.monotonic() - started


def _parse(response: Answer, method: str, path: str, expect: str | None) -> Any:
    content = response.content
    if not content or content.isspace():  # (as ``not content.strip()``, without a copy)
        body = None
    else:
        try:
            body = response.json()
        except ValueError:
            raise GhlConnectionError(
                f"unreadable answer (HTTP {response.status_code}, not JSON)", maybe_sent=True,
                status=response.status_code, method=method, path=path, headers=response.headers,
            ) from None
    if expect is None:
        return body
    if not isinstance(body, dict) or expect not in body:
        raise GhlError(
            f"unexpected answer: no {expect!r} in the body", status=response.status_code,
            method=method, path=path, body=body, headers=response.headers,
        )
    return body
