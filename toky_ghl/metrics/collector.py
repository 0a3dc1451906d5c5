"""The Prometheus collector of ``toky-ghl metrics``: reads Redis at each scrape.

One exporter serves the whole deployment: every number comes from the shared
Redis (``snapshot.read_snapshot``), so it is right with any number of workers
on any hosts, and a restart of the exporter loses nothing. Metric names and
meanings: README, "Monitoring"; docs/monitoring.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from toky_ghl.logs import get_logger
from toky_ghl.metrics import record
from toky_ghl.metrics.snapshot import Snapshot, read_snapshot
from toky_ghl.settings import Settings

log = get_logger(__name__)
NS = "tokyghl"


def _histogram(snap: Snapshot, name: str, label_names: list[str],
               buckets: tuple[float, ...], zeros: Sequence[tuple[str, ...]] = ()
               ) -> dict[tuple[str, ...], tuple[list[tuple[str, float]], float]]:
    """Cumulative buckets and the sum (seconds) per series of a bucket-counter hash;
    ``zeros``: label values shown with empty buckets until observed."""
    series: dict[tuple[str, ...], dict[str, float]] = {tuple(z): {} for z in zeros}
    for labels, value in snap.rows(name):
        *values, slot = labels
        if len(values) != len(label_names):
            continue
        series.setdefault(tuple(values), {})[slot] = value
    out: dict[tuple[str, ...], tuple[list[tuple[str, float]], float]] = {}
    for key, slots in series.items():
        running = 0.0
        cumulative: list[tuple[str, float]] = []
        for bound in buckets:
            running += slots.get(record.format_bound(bound), 0.0)
            cumulative.append((record.format_bound(bound), running))
        running += slots.get("+Inf", 0.0)
        cumulative.append(("+Inf", running))  # the count
        out[key] = (cumulative, slots.get("sum_ms", 0.0) / 1000)
    return out


def _ghl_families(snap: Snapshot) -> Iterator[Metric]:
    """Requests by status, durations by route and 429s: sums of the one GHL histogram."""
    per_request = _histogram(snap, record.GHL, ["location", "method", "route", "status"],
                             record.GHL_DURATION_BUCKETS_S)
    requests_total = CounterMetricFamily(f"{NS}_ghl_requests", "GHL API requests by "
                                         "location, method, route template and status "
                                         "(error: no answer)",
                                         labels=["location", "method", "route", "status"])
    by_route: dict[tuple[str, str], tuple[list[float], float]] = {}
    throttled: dict[str, float] = {}
    for (location, method, route, status), (buckets, total) in sorted(per_request.items()):
        count = buckets[-1][1]
        requests_total.add_metric([location, method, route, status], count)
        counts, seconds = by_route.get((method, route), ([0.0] * len(buckets), 0.0))
        by_route[(method, route)] = ([c + b[1] for c, b in zip(counts, buckets, strict=True)],
                                     seconds + total)
        if status == "429":
            throttled[location] = throttled.get(location, 0.0) + count
    yield requests_total
    duration = HistogramMetricFamily(f"{NS}_ghl_request_duration_seconds",
                                     "Duration of GHL API requests", labels=["method", "route"])
    bounds = [record.format_bound(b) for b in record.GHL_DURATION_BUCKETS_S] + ["+Inf"]
    for (method, route), (counts, seconds) in sorted(by_route.items()):
        duration.add_metric([method, route], list(zip(bounds, counts, strict=True)), seconds)
    yield duration
    limited = CounterMetricFamily(f"{NS}_ghl_rate_limited", "Requests refused for the rate "
                                  "limit, by location and source (ghl: a 429 from GHL; "
                                  "limiter: our shared budget made the event wait)",
                                  labels=["location", "source"])
    refused = {labels[0]: value for labels, value in snap.rows(record.GHL_RATE_LIMITED)
               if len(labels) == 2 and labels[1] == "limiter"}
    for location in sorted(set(throttled) | set(refused) | set(snap.budgets)):
        limited.add_metric([location, "ghl"], throttled.get(location, 0.0))
        limited.add_metric([location, "limiter"], refused.get(location, 0.0))
    yield limited


def families(snap: Snapshot) -> Iterator[Metric]:
    """Every metric family of a snapshot.

    Counters an alert or panel takes the rate of start at 0 for every known label
    value (a series that first appears at 25 has no increase for Prometheus):
    applied and queued events and the lag by type, accepted webhooks by event name.
    """
    from contract.event_types import EVENT_TYPES
    from producers.webhook.mapping import HANDLED_EVENTS

    yield _counter("events", "Events handled by the workers, by type, outcome "
                   "(applied, skipped, dead_lettered, retried) and reason",
                   ["type", "outcome", "reason"], snap, record.EVENTS,
                   zeros=[(t, "applied", "") for t in EVENT_TYPES])
    yield _counter("events_queued", "Events queued for the workers, by type and source "
                   "(webhook, poll, mirror, enqueue, replay)", ["type", "source"], snap,
                   record.ENQUEUED, zeros=[(t, s) for t in EVENT_TYPES for s in record.SOURCES])
    yield GaugeMetricFamily(f"{NS}_queue_depth", "Events waiting in the queue",
                            value=snap.queued)
    yield GaugeMetricFamily(f"{NS}_in_flight", "Events live workers hold (delivered, "
                            "not yet acknowledged)", value=snap.in_flight)
    yield GaugeMetricFamily(f"{NS}_awaiting_redelivery", "Events held by workers that died: "
                            "re-delivered after the visibility timeout",
                            value=snap.awaiting_redelivery)
    yield GaugeMetricFamily(f"{NS}_queue_oldest_age_seconds", "Age (since occurred_at) of "
                            "the event longest in the queue; 0 when empty",
                            value=snap.oldest_queued_age_s or 0.0)
    retrying = GaugeMetricFamily(f"{NS}_retrying", "Events waiting for a retry, by reason",
                                 labels=["reason"])
    from worker.delay.reasons import ParkReason

    waiting = {**{r.value: 0 for r in ParkReason}, "busy": 0, **snap.retrying}
    for reason, count in sorted(waiting.items()):
        retrying.add_metric([reason], count)
    yield retrying
    parked = GaugeMetricFamily(f"{NS}_parked", "Events parked until a location can take "
                               "them, by reason and location", labels=["reason", "location"])
    for (reason, location), count in sorted(snap.parked.items()):
        parked.add_metric([reason, location], count)
    yield parked
    parked_age = GaugeMetricFamily(f"{NS}_parked_oldest_age_seconds", "Seconds since the "
                                   "location's longest-waiting parked event was first parked",
                                   labels=["location"])
    for location, age_s in sorted(snap.parked_oldest_age_s.items()):
        parked_age.add_metric([location], age_s)
    yield parked_age
    lag = HistogramMetricFamily(f"{NS}_lag_seconds", "From an event's occurred_at to its "
                                "effect in GHL (applied events), by type", labels=["type"])
    for values, (buckets, total) in _histogram(snap, record.LAG, ["type"], record.LAG_BUCKETS_S,
                                               zeros=[(t,) for t in EVENT_TYPES]).items():
        lag.add_metric(list(values), buckets, total)
    yield lag
    yield from _ghl_families(snap)
    yield from _location_families(snap)
    yield _counter("webhook_requests", "Webhook requests answered, by Toky event name and "
                   "HTTP status", ["event", "status"], snap, record.WEBHOOK,
                   zeros=[(name, "202") for name in HANDLED_EVENTS])
    unauthorized = CounterMetricFamily(f"{NS}_webhook_unauthorized", "Webhook requests "
                                       "refused for a missing or wrong token (401)")
    unauthorized.add_metric([], snap.total(record.WEBHOOK, status="401"))
    yield unauthorized
    yield _counter("poller_cycles", "Poller cycles by poller (poll: Toky, mirror: GHL) and "
                   "outcome (ok, failed)", ["poller", "outcome"], snap, record.CYCLES)
    yield _counter("poller_items", "What poller cycles read and queued, by poller and what "
                   "(records, queued, repeats, invalid)", ["poller", "what"], snap,
                   record.CYCLE_ITEMS)
    last_ok = GaugeMetricFamily(f"{NS}_poller_last_success_timestamp_seconds",
                                "Unix time of the end of each poller's last successful cycle",
                                labels=["poller"])
    last_any = GaugeMetricFamily(f"{NS}_poller_last_cycle_timestamp_seconds",
                                 "Unix time of the end of each poller's last cycle",
                                 labels=["poller"])
    for (poller, which), value in ((tuple(labels), v) for labels, v in
                                   snap.rows(record.CYCLE_LAST) if len(labels) == 2):
        (last_ok if which == "ok" else last_any).add_metric([poller], value)
    yield last_ok
    yield last_any
    dead = GaugeMetricFamily(f"{NS}_dead_letters", "Dead letters now, by kind", labels=["kind"])
    for kind, count in sorted(snap.dead_letters.items()):
        dead.add_metric([kind], count)
    yield dead


def _location_families(snap: Snapshot) -> Iterator[Metric]:
    remaining = GaugeMetricFamily(f"{NS}_ghl_budget_remaining", "GHL requests left in the "
                                  "location's budget (burst: the sliding window; day: the UTC "
                                  "day)", labels=["location", "window"])
    limit = GaugeMetricFamily(f"{NS}_ghl_budget_limit", "The location's GHL budget (as GHL "
                              "last stated it, else as configured)", labels=["location", "window"])
    for location, budget in sorted(snap.budgets.items()):
        remaining.add_metric([location, "burst"], budget.window_remaining)
        remaining.add_metric([location, "day"], budget.daily_remaining)
        limit.add_metric([location, "burst"], budget.window_max)
        limit.add_metric([location, "day"], budget.daily_max)
    yield remaining
    yield limit
    paused = GaugeMetricFamily(f"{NS}_ghl_auth_paused", "1 while sending to the location is "
                               "paused for its credentials (toky-ghl auth status)",
                               labels=["location"])
    since = GaugeMetricFamily(f"{NS}_ghl_auth_paused_since_timestamp_seconds",
                              "Unix time the location's current pause began", labels=["location"])
    for location, (is_paused, at_s) in sorted(snap.paused.items()):
        paused.add_metric([location], 1 if is_paused else 0)
        if is_paused and at_s is not None:
            since.add_metric([location], at_s)
    yield paused
    yield since
    circuit = GaugeMetricFamily(f"{NS}_ghl_circuit_open", "1 while the location's circuit "
                                "breaker is open or half-open (GHL failing)",
                                labels=["location", "state"])
    for location, state in sorted(snap.circuits.items()):
        circuit.add_metric([location, state], 0 if state == "closed" else 1)
    yield circuit


def _counter(name: str, documentation: str, labels: list[str], snap: Snapshot,
             hash_name: str, zeros: Sequence[tuple[str, ...]] = ()) -> CounterMetricFamily:
    """A counter family from a hash; ``zeros``: label values shown as 0 until counted."""
    family = CounterMetricFamily(f"{NS}_{name}", documentation, labels=labels)
    seen = set()
    for values, value in snap.rows(hash_name):
        if len(values) == len(labels):
            family.add_metric(values, value)
            seen.add(tuple(values))
    for zero in zeros:
        if tuple(zero) not in seen:
            family.add_metric(list(zero), 0)
    return family


class RedisCollector(Collector):
    """Reads the shared state at each scrape. ``client``: a function answering the
    Redis client (so a lost connection is retried at the next scrape)."""

    def __init__(self, client: Callable[[], redis.Redis], settings: Settings) -> None:
        self._client = client
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        up = GaugeMetricFamily(f"{NS}_up", "1 when the exporter could read the shared Redis")
        try:
            snap = read_snapshot(self._client(), self._settings)
        except redis.RedisError as exc:
            log.warning("metrics.redis_failed", error=str(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families(snap)
        yield GaugeMetricFamily(f"{NS}_scrape_duration_seconds",
                                "How long reading Redis took for this scrape",
                                value=time.monotonic() - started)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read at scrape time only: never at registration
