"""The webhook receiver as a WSGI app (Flask): contract section 4.

``POST /webhooks/toky/{event}?token=SECRET`` (or header ``X-Webhook-Token``):

| answer | when | body |
|---|---|---|
| 202 | validated and queued, or a repeat of one queued before | ``{"status", "event_id"}`` |
| 400 | malformed body or payload | ``{"status": "invalid", "field", "error"}`` |
| 401 | token missing or wrong (checked first; nothing read, nothing queued) | ``{"error"}`` |
| 404 | an event the receiver does not handle | ``{"error", "handled": [...]}`` |
| 413 | body over ``max_body_bytes`` | ``{"error"}`` |
| 503 | Redis unreachable: nothing queued, Toky may retry | ``{"error"}`` |

``GET /healthz``: 200 ``{"status": "ok"}`` when Redis answers, else 503.

Every answer on the route is counted for the metrics by event name and status
(``toky_ghl.metrics.record.WEBHOOK``; an event name the receiver does not
handle counts as ``other``): a 202 in the same Lua call that queues the event,
any other answer with one ``HINCRBY`` (docs/monitoring.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from contract.events import InvalidEvent, validate_event
from producers.queue import OnePublisher
from producers.records.toky_time import iso_z
from producers.webhook.body import BadPayload, parse_body
from producers.webhook.mapping import HANDLED_EVENTS, event_for
from producers.webhook.token import ENVIRON_KEY, HideToken, check_secret, check_tokens
from toky_ghl.errors import ConfigError
from toky_ghl.keys import metrics_key
from toky_ghl.logs import get_logger, register_secrets
from toky_ghl.metrics import record
from toky_ghl.settings import Settings

log = get_logger(__name__)
ROUTE = "/webhooks/toky/<event>"
#: An event name is logged and answered cut to this many characters (it is attacker text).
SHOWN_EVENT_CHARS = 64


def first_field(reason: str) -> str:
    """The payload field a validation reason names first: ``"data.callid: ..."`` → ``callid``."""
    path = reason.split(";", 1)[0].split(":", 1)[0].strip()
    return path.removeprefix("data.") or "body"


def shown_event(event: str) -> str:
    """``event`` as logged and answered: at most ``SHOWN_EVENT_CHARS`` characters."""
    if len(event) <= SHOWN_EVENT_CHARS:
        return event
    return f"{event[:SHOWN_EVENT_CHARS]}… ({len(event)} characters)"


#: A view's answer: the JSON response and its HTTP status.
Answer = tuple[Response, int]


def _answer(http_status: int, **body: Any) -> Answer:
    return jsonify(body), http_status


def create_app(*, secret: str | None, publisher: OnePublisher, redis_client: redis.Redis,
               max_body_bytes: int = 262_144,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC),
               key_prefix: str | None = None) -> Flask:
    """The receiver. ``secret``: WEBHOOK_SECRET (required). ``publisher``: an
    ``EventPublisher``. ``redis_client``: checked by /healthz. ``max_body_bytes``:
    larger bodies get 413. ``clock``: now, UTC (``occurred_at`` of dateless payloads).
    ``key_prefix``: of the metrics' keys (default: the publisher's).
    """
    refused_secret = check_secret(secret)
    if refused_secret or secret is None:
        raise ConfigError(refused_secret or "WEBHOOK_SECRET must be set")
    register_secrets([secret])
    app = Flask("toky_ghl_webhook")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.wsgi_app = HideToken(app.wsgi_app)  # type: ignore[method-assign]
    prefix = key_prefix or str(getattr(publisher, "key_prefix", Settings.key_prefix))

    def counted(event: str, http_status: int) -> tuple[str, str]:
        name = event if event in HANDLED_EVENTS else "other"
        return record.WEBHOOK, record.field(name, http_status)

    @app.post(ROUTE)
    def receive(event: str) -> Answer:
        refused = check_tokens(request.environ.get(ENVIRON_KEY, []), secret)
        if refused:
            log.warning("webhook.unauthorized", toky_event=shown_event(event), token=refused,
                        remote_addr=request.remote_addr)
            if refused == "several":
                return _answer(401, error="send the token once (one token= or one "
                                          "X-Webhook-Token header, not both, not repeated)")
            return _answer(401, error="missing or wrong token")
        if event not in HANDLED_EVENTS:
            return _answer(404, error=f"event {shown_event(event)!r} is not handled",
                           handled=list(HANDLED_EVENTS))
        if request.content_length is not None and request.content_length > max_body_bytes:
            raise RequestEntityTooLarge()
        try:
            accepted = validate_event(event_for(event, parse_body(request), iso_z(clock())))
        except BadPayload as exc:
            return _bad(event, exc.field, exc.message)
        except InvalidEvent as exc:
            return _bad(event, first_field(exc.reason), exc.reason)
        try:
            fresh = publisher.publish_one(accepted, counts=[counted(event, 202)])
            g.webhook_counted = True
        except redis.RedisError as exc:
            log.error("webhook.queue_failed", toky_event=event, event_id=accepted["id"],
                      error=str(exc))
            return _answer(503, error="the queue is unavailable; nothing was queued, retry later")
        status = "queued" if fresh else "repeat"
        log.info("webhook.accepted", toky_event=event, event_id=accepted["id"], status=status)
        return _answer(202, status=status, event_id=accepted["id"])

    @app.after_request
    def count_answer(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule else None
        if rule == ROUTE and not g.get("webhook_counted"):
            name, field_name = counted((request.view_args or {}).get("event", ""),
                                       response.status_code)
            try:
                redis_client.hincrby(metrics_key(prefix, name), field_name, 1)
            except redis.RedisError as exc:  # counting never changes the answer
                log.warning("webhook.metrics_failed", error=str(exc))
        return response

    @app.get("/healthz")
    def healthz() -> Answer:
        try:
            redis_client.ping()
        except redis.RedisError as exc:
            log.warning("webhook.unhealthy", error=str(exc))
            return _answer(503, status="unavailable", redis="unreachable")
        return _answer(200, status="ok", redis="ok")

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: HTTPException) -> Answer:
        return _answer(413, error=f"the body is larger than {max_body_bytes} bytes")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Answer:
        return _answer(exc.code or 500, error=exc.description or exc.name)

    return app


def _bad(event: str, field: str, reason: str) -> tuple[Any, int]:
    log.warning("webhook.invalid", toky_event=event, field=field, reason=reason)
    return _answer(400, status="invalid", field=field, error=reason)
