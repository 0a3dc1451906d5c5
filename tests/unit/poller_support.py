"""Shared pieces of the poller and webhook tests: the Toky simulator behind a real
``TokyClient`` (in-process, no network), fakeredis, and decoding what was queued.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from clients.toky import TokyClient
from producers.queue import PublishResult
from toky_ghl.keys import queue_key

KEY = "sim-key-poller"
PREFIX = "t"
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
TOKY_LINE = "+15125550000"


class WsgiAdapter(BaseAdapter):
    """A ``requests`` adapter that answers from a WSGI app's Flask test client."""

    def __init__(self, app) -> None:
        super().__init__()
        self.client = app.test_client()

    def send(self, request, **_kwargs):
        url = urlsplit(request.url)
        answer = self.client.open(url.path, method=request.method, query_string=url.query,
                                  headers=dict(request.headers), data=request.body)
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.data
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url, response.request, response.reason = request.url, request, answer.status
        return response

    def close(self) -> None:
        pass


def sim_client(app, **kwargs) -> TokyClient:
    """A real ``TokyClient`` whose requests reach ``app`` in-process."""
    session = requests.Session()
    session.mount("http://", WsgiAdapter(app))
    kwargs.setdefault("max_attempts", 1)
    return TokyClient(base_url="http://toky.sim/v1", api_key=KEY, session=session,
                      sleep=lambda _s: None, **kwargs)


def queued_events(redis_client, prefix: str = PREFIX) -> list[dict]:
    """The events on deployment ``prefix``'s Celery queue, oldest first (decoded from the
    task messages)."""
    messages = [json.loads(raw) for raw in reversed(redis_client.lrange(queue_key(prefix), 0, -1))]
    return [json.loads(base64.b64decode(m["body"]))[0][0] for m in messages]


def queued_ids(redis_client, prefix: str = PREFIX) -> list[str]:
    return [event["id"] for event in queued_events(redis_client, prefix)]


class RecordingPublisher:
    """A publisher that does NOT deduplicate: every event handed to it is recorded, so a
    test sees what the poller produced, whatever the queue's own dedupe would hide."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def publish(self, events) -> PublishResult:
        events = list(events)
        self.events.extend(events)
        ids = tuple(e["id"] for e in events)
        return PublishResult(len(ids), 0, ids, ())

    def publish_one(self, event, counts=()) -> bool:
        self.events.append(event)
        return True

    @property
    def ids(self) -> list[str]:
        return [e["id"] for e in self.events]
