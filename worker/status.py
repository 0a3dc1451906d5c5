"""What ``toky-ghl status`` reports, collected from Redis in one place."""

from __future__ import annotations

from typing import Any

import redis

from toky_ghl.keys import queue_depth, unacked_key
from toky_ghl.settings import Settings
from worker.auth.report import format_pause, pause_report
from worker.circuit import CircuitState, circuit_locations, circuit_state
from worker.conflicts import ConflictStore
from worker.delay.report import parked_report, server_now_ms
from worker.dlq import DeadLetterStore
from worker.inflight import held_by_workers
from worker.stats import Stats
from worker.sync.mirror import format_mirror, mirror_report


def collect_status(client: redis.Redis, settings: Settings) -> dict[str, Any]:
    from worker.ratelimit.shared import shared_limiter

    counts = Stats(client, settings.key_prefix).snapshot()
    held = held_by_workers(client, settings.key_prefix, scan=True)
    report: dict[str, Any] = {
        "queued": queue_depth(client, settings.key_prefix),
        # what LIVE workers hold; a killed worker's messages are "awaiting_redelivery"
        "in_flight": held["live"],
        "awaiting_redelivery": held["dead"],
        "unacked_in_broker": int(client.hlen(unacked_key(settings.key_prefix))),
        "parked": parked_report(client, settings.key_prefix),
        "circuits": _circuits(client, settings),
        "retrying": counts.pop("retrying"),
        "dead_lettered_now": DeadLetterStore(client, settings.key_prefix).count(),
        # emails shared by several phones' GHL contacts, kept apart (guarantee 3)
        "email_conflicts": ConflictStore(client, settings.key_prefix).count(),
        "counts": counts,
        "rate_budget": {},
        "paused": pause_report(settings, client),  # None, or why sending is paused
        "mirror": mirror_report(settings.mirror_ghl_to_toky, counts),  # GHL → Toky
    }
    from toky_ghl.metrics.alerts import evaluate_now
    from toky_ghl.metrics.snapshot import read_snapshot

    report["alerts"] = evaluate_now(read_snapshot(client, settings))
    location = settings.ghl_location_id
    if location:
        snap = shared_limiter(settings, client).snapshot(location)
        report["rate_budget"][location] = {
            "window_max": snap.max_requests,
            "window_ms": snap.interval_ms,
            "window_remaining": snap.remaining_in_window,
            "daily_max": snap.daily_max,
            "daily_remaining": snap.daily_remaining,
        }
    return report


def _circuits(client: redis.Redis, settings: Settings) -> dict[str, dict[str, Any]]:
    """The circuit of every location touched, and of the configured one."""
    locations = set(circuit_locations(client, settings.key_prefix))
    if settings.ghl_location_id:
        locations.add(settings.ghl_location_id)
    now_ms = server_now_ms(client)
    out = {}
    for location in sorted(locations):
        state = circuit_state(client, settings.key_prefix, location)
        nxt = state["next_probe_ms"]
        state["next_probe_in_s"] = (None if state["state"] == CircuitState.CLOSED or nxt is None
                                    else round(max(0, nxt - now_ms) / 1000, 1))
        out[location] = state
    return out


def _format_parked(report: dict[str, Any]) -> list[str]:
    lines = []
    for location, parked in report.get("parked", {}).items():
        if not parked["total"]:
            continue
        reasons = ", ".join(f"{r} {n}" for r, n in parked["by_reason"].items() if n)
        oldest = parked["oldest_age_s"]
        lines.append(f"parked        {location}: {parked['total']} ({reasons}); oldest "
                     f"{oldest:.0f} s" if oldest is not None else
                     f"parked        {location}: {parked['total']} ({reasons})")
    return lines or ["parked        0"]


def _format_circuits(report: dict[str, Any]) -> list[str]:
    lines = []
    for location, c in report.get("circuits", {}).items():
        if c["state"] == CircuitState.CLOSED:
            lines.append(f"circuit       {location}: closed")
            continue
        probe = ("probe in flight" if c["state"] == CircuitState.HALF_OPEN
                 else f"next probe in {c['next_probe_in_s']} s")
        lines.append(f"circuit       {location}: {c['state'].upper()} ({probe}, "
                     f"{c['probes']} probes; last error: {c['last_error']})")
    return lines


def format_status(report: dict[str, Any]) -> str:
    counts = report["counts"]
    waiting = report.get("awaiting_redelivery", 0)
    lines = [
        f"queued        {report['queued']}",
        f"in flight     {report['in_flight']}" + (
            f" (+{waiting} held by stopped workers, put back on the queue by the sweep)"
            if waiting else ""),
        *_format_parked(report),
        f"retrying      {report['retrying']} (retries so far: {counts['retried']})",
        f"dead letters  {report['dead_lettered_now']} (toky-ghl dlq list)",
        f"applied       {counts['applied']}",
        f"skipped       {counts['skipped']}",
        f"dead-lettered {counts['dead_lettered']} (all time)",
    ]
    if report.get("email_conflicts"):
        lines.append(f"email conflicts {report['email_conflicts']} "
                     "(contacts of several phones share an email: toky-ghl conflicts)")
    for location, budget in report["rate_budget"].items():
        lines.append(
            f"rate budget   {location}: {budget['window_remaining']}/{budget['window_max']} "
            f"per {budget['window_ms']} ms, {budget['daily_remaining']}/{budget['daily_max']} today"
        )
    if not report["rate_budget"]:
        lines.append("rate budget   (GHL_LOCATION_ID not set)")
    lines.extend(_format_circuits(report))
    lines.append(format_pause(report.get("paused")))
    if report.get("mirror"):
        lines.append(format_mirror(report["mirror"]))
    if report.get("alerts") is not None:
        from toky_ghl.metrics.alerts import format_alerts

        lines.extend(format_alerts(report["alerts"]))
    return "\n".join(lines)
