"""What ``toky-ghl status`` reports, collected from Redis in one place."""

from __future__ import annotations

from typing import Any

import redis

from toky_ghl.constants import EVENTS_QUEUE
from toky_ghl.settings import Settings
from worker.auth.report import format_pause, pause_report
from worker.dlq import DeadLetterStore
from worker.stats import Stats
from worker.sync.mirror import format_mirror, mirror_report

#: kombu's Redis transport keeps delivered, unacknowledged messages in this hash.
KOMBU_UNACKED_KEY = "unacked"
#: kombu's priority sub-queues: "<queue>", "<queue>\x06\x163", ... (see kombu's _q_for_pri)
_PRIORITY_SEPARATOR = "\x06\x16"


def queue_depth(client: redis.Redis, queue: str = EVENTS_QUEUE) -> int:
    keys = [queue] + [f"{queue}{_PRIORITY_SEPARATOR}{p}" for p in (3, 6, 9)]
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.llen(k)
    return sum(pipe.execute())


def collect_status(client: redis.Redis, settings: Settings) -> dict[str, Any]:
    from worker.ratelimit import RateLimiter

    counts = Stats(client, settings.key_prefix).snapshot()
    report: dict[str, Any] = {
        "queued": queue_depth(client),
        "in_flight": int(client.hlen(KOMBU_UNACKED_KEY)),
        "retrying": counts.pop("retrying"),
        "dead_lettered_now": DeadLetterStore(client, settings.key_prefix).count(),
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
        snap = RateLimiter.from_settings(settings, client).snapshot(location)
        report["rate_budget"][location] = {
            "window_max": snap.max_requests,
            "window_ms": snap.interval_ms,
            "window_remaining": snap.remaining_in_window,
            "daily_max": snap.daily_max,
            "daily_remaining": snap.daily_remaining,
        }
    return report


def format_status(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [
        f"queued        {report['queued']}",
        f"in flight     {report['in_flight']}",
        f"retrying      {report['retrying']} (retries so far: {counts['retried']})",
        f"dead letters  {report['dead_lettered_now']} (toky-ghl dlq list)",
        f"applied       {counts['applied']}",
        f"skipped       {counts['skipped']}",
        f"dead-lettered {counts['dead_lettered']} (all time)",
    ]
    for location, budget in report["rate_budget"].items():
        lines.append(
            f"rate budget   {location}: {budget['window_remaining']}/{budget['window_max']} "
            f"per {budget['window_ms']} ms, {budget['daily_remaining']}/{budget['daily_max']} today"
        )
    if not report["rate_budget"]:
        lines.append("rate budget   (GHL_LOCATION_ID not set)")
    lines.append(format_pause(report.get("paused")))
    if report.get("mirror"):
        lines.append(format_mirror(report["mirror"]))
    if report.get("alerts") is not None:
        from toky_ghl.metrics.alerts import format_alerts

        lines.extend(format_alerts(report["alerts"]))
    return "\n".join(lines)
