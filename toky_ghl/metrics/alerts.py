"""The alert rules, with their thresholds in one place.

``deploy/prometheus/alerts.yml`` is rendered from ``RULES``
(``python -m toky_ghl.metrics.alerts > deploy/prometheus/alerts.yml``; a test
checks the file is current), and ``toky-ghl status`` evaluates the same rules
on the state in Redis now (``evaluate_now``): the rules on a level (budget,
pause, poller silent, backlog) are decided there; the rules on a rate need
Prometheus' history and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import yaml

from toky_ghl.metrics.snapshot import Snapshot


class Thresholds(TypedDict):
    """The type of each threshold (``THRESHOLDS``)."""

    dead_letters_window: str
    backlog_min_events: int
    backlog_for: str
    lag_p95_max_s: int
    lag_for: str
    ghl_429_share_max: float
    ghl_5xx_share_max: float
    ghl_share_window: str
    ghl_share_min_requests_per_s: float
    blocked_for: str
    blocked_for_s: int
    daily_budget_min_share: float
    nothing_applied_window: str
    poller_silent_s: int
    webhook_silent_window: str
    unauthorized_burst: int
    unauthorized_window: str
    delete_burst: int
    delete_window: str
    rise_factor: int
    rise_min_per_minute: int
    exporter_down_for: str


#: Every threshold of every rule (the rules below and ``toky-ghl status`` read them here).
THRESHOLDS: Thresholds = {
    "dead_letters_window": "15m",  # dead letters added within this window
    "backlog_min_events": 100,  # a backlog smaller than this never alerts
    "backlog_for": "10m",  # growing for this long
    "lag_p95_max_s": 300,  # lag p95 above 5 minutes
    "lag_for": "10m",
    "ghl_429_share_max": 0.05,  # share of GHL requests answered 429
    "ghl_5xx_share_max": 0.05,  # share answered 5xx or not at all
    "ghl_share_window": "10m",
    "ghl_share_min_requests_per_s": 0.05,  # below this rate the shares are not judged
    "blocked_for": "5m",  # circuit open or location paused this long
    "blocked_for_s": 300,
    "daily_budget_min_share": 0.10,  # daily budget left below 10 %
    "nothing_applied_window": "1h",
    "poller_silent_s": 900,  # no successful poll for 15 minutes
    "webhook_silent_window": "1h",
    "unauthorized_burst": 10,  # webhook 401s within the burst window
    "unauthorized_window": "5m",
    "delete_burst": 20,  # delete events queued within the burst window
    "delete_window": "10m",
    "rise_factor": 3,  # events per minute over the last 10 min vs the last day's mean
    "rise_min_per_minute": 5,  # below this a rise is not unusual
    "exporter_down_for": "5m",
}
T = THRESHOLDS
RUNBOOK = "docs/monitoring.md#"


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str  # "critical" pages; "warning" waits for working hours
    expr: str
    summary: str
    runbook: str
    for_: str | None = None
    #: decides the rule on the state now (True fires); None: it needs history
    now: Callable[[Snapshot], bool] | None = None

    def as_prometheus(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_:
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity}
        rule["annotations"] = {"summary": self.summary,
                               "runbook": f"{self.runbook} ({RUNBOOK}{self.name.lower()})"}
        return rule


def _paused_long(snap: Snapshot) -> bool:
    return any(paused and since is not None and snap.at_s - since >= T["blocked_for_s"]
               for paused, since in snap.paused.values())


def _circuit_open_long(snap: Snapshot) -> bool:
    return any(state != "closed" and snap.at_s - snap.circuit_opened_at_s.get(loc, snap.at_s)
               >= T["blocked_for_s"] for loc, state in snap.circuits.items())


def _budget_low(snap: Snapshot) -> bool:
    return any(b.daily_max and b.daily_remaining / b.daily_max < T["daily_budget_min_share"]
               for b in snap.budgets.values())


def _poller_silent(snap: Snapshot) -> bool:
    last = snap.hashes.get("cycle_last", {})
    return any(snap.at_s - value > T["poller_silent_s"]
               for key, value in last.items() if key.endswith("|ok"))


def _backlog(snap: Snapshot) -> bool:
    # now: a backlog over the minimum whose oldest event has waited the whole period
    return (snap.queued >= T["backlog_min_events"]
            and (snap.oldest_queued_age_s or 0) >= 600)


_GHL_RATE = f"sum(rate(tokyghl_ghl_requests_total[{T['ghl_share_window']}]))"
_QUEUED_RATE = "sum(rate(tokyghl_events_queued_total[{w}]))"

RULES: list[Rule] = [
    Rule("TokyGhlExporterDown", "critical",
         'up{job="toky-ghl"} == 0 or tokyghl_up == 0',
         "The toky-ghl exporter cannot be scraped or cannot read Redis",
         "Check `toky-ghl metrics` runs and REDIS_URL answers (`toky-ghl status`); "
         "every other alert is blind meanwhile.",
         for_=T["exporter_down_for"]),
    Rule("TokyGhlDeadLettersGrowing", "warning",
         # the gauge catches the first dead letter of a new kind (a new series has no
         # increase); the counter catches new ones while others were replayed
         f'(sum(tokyghl_dead_letters) - (sum(tokyghl_dead_letters offset '
         f'{T["dead_letters_window"]}) or vector(0))) > 0 '
         f'or sum(increase(tokyghl_events_total{{outcome="dead_lettered"}}'
         f'[{T["dead_letters_window"]}])) > 0',
         "Events were dead-lettered in the last " + T["dead_letters_window"],
         "`toky-ghl dlq list` shows each reason; fix the cause (scope, mapping, config), "
         "then `toky-ghl dlq replay --all`."),
    Rule("TokyGhlBacklogGrowing", "warning",
         f'sum(tokyghl_queue_depth) > {T["backlog_min_events"]} '
         f'and deriv(sum(tokyghl_queue_depth)[{T["backlog_for"]}:1m]) > 0',
         "The event queue has grown for " + T["backlog_for"],
         "Are workers running (Flower) and GHL answering? Add workers "
         "(`docker compose up -d --scale worker=N`) if the rate budget allows.",
         for_=T["backlog_for"], now=_backlog),
    Rule("TokyGhlLagHigh", "warning",
         f'histogram_quantile(0.95, sum by (le) (rate(tokyghl_lag_seconds_bucket'
         f'[{T["lag_for"]}]))) > {T["lag_p95_max_s"]}',
         f"95% of events reach GHL later than {T['lag_p95_max_s']} s after they happened",
         "Look at the backlog, retries by reason and GHL 429s on the dashboard; a poller "
         "backfill also raises lag for a while.",
         for_=T["lag_for"]),
    Rule("TokyGhlGhlThrottled", "warning",
         f'sum(rate(tokyghl_ghl_requests_total{{status="429"}}[{T["ghl_share_window"]}])) '
         f'/ {_GHL_RATE} > {T["ghl_429_share_max"]} '
         f'and {_GHL_RATE} > {T["ghl_share_min_requests_per_s"]}',
         f"More than {T['ghl_429_share_max']:.0%} of GHL requests are answered 429",
         "Another app may share the location's budget; lower GHL_RATE_LIMIT_MAX so the "
         "shared limiter keeps under GHL's limit.",
         for_="5m"),
    Rule("TokyGhlGhlErrors", "critical",
         f'sum(rate(tokyghl_ghl_requests_total{{status=~"5..|error"}}'
         f'[{T["ghl_share_window"]}])) / {_GHL_RATE} > {T["ghl_5xx_share_max"]} '
         f'and {_GHL_RATE} > {T["ghl_share_min_requests_per_s"]}',
         f"More than {T['ghl_5xx_share_max']:.0%} of GHL requests fail (5xx or no answer)",
         "Check GHL's status page; events retry by themselves and dead-letter only when "
         "attempts run out (replay them after the outage).",
         for_="5m"),
    Rule("TokyGhlCircuitOpen", "critical",
         "max by (location) (tokyghl_ghl_circuit_open) == 1",
         "Sending to a GHL location has been stopped by its circuit for " + T["blocked_for"],
         "GHL keeps failing for this location; events are parked, not lost. Check GHL, "
         "then watch the circuit close on the dashboard.",
         for_=T["blocked_for"],
         now=_circuit_open_long),
    Rule("TokyGhlLocationPaused", "critical",
         "max by (location) (tokyghl_ghl_auth_paused) == 1",
         "Sending to a GHL location is paused for its credentials for " + T["blocked_for"],
         "`toky-ghl auth status` says why; `toky-ghl auth rotate` or `auth login` lifts it "
         "(see docs/AUTH.md). Events wait, nothing is lost.",
         for_=T["blocked_for"], now=_paused_long),
    Rule("TokyGhlDailyBudgetLow", "warning",
         'tokyghl_ghl_budget_remaining{window="day"} / tokyghl_ghl_budget_limit{window="day"} '
         f'< {T["daily_budget_min_share"]}',
         f"Less than {T['daily_budget_min_share']:.0%} of the location's daily GHL budget is left",
         "Events will wait for the next UTC day once it is spent; look for a burst "
         "(dashboard) or another app using the same location.",
         now=_budget_low),
    Rule("TokyGhlNothingApplied", "critical",
         f'sum(increase(tokyghl_events_total{{outcome="applied"}}'
         f'[{T["nothing_applied_window"]}])) == 0 '
         f'and sum(increase(tokyghl_events_queued_total[{T["nothing_applied_window"]}])) > 0',
         "No event was applied to GHL for " + T["nothing_applied_window"]
         + " while events keep arriving",
         "Workers down or stuck? `toky-ghl status`, Flower; then the GHL and pause alerts."),
    Rule("TokyGhlPollerSilent", "critical",
         f'time() - tokyghl_poller_last_success_timestamp_seconds > {T["poller_silent_s"]}',
         f"A poller has not completed a cycle for {T['poller_silent_s'] // 60} minutes",
         "Is `toky-ghl poll` (or `mirror`) running and holding its lock? Its log says why "
         "a cycle failed (Toky key, Toky down).",
         now=_poller_silent),
    Rule("TokyGhlWebhookSilent", "warning",
         f'sum(increase(tokyghl_webhook_requests_total{{status="202"}}'
         f'[{T["webhook_silent_window"]}])) == 0 '
         f'and sum(increase(tokyghl_poller_items_total{{poller="poll",what="queued"}}'
         f'[{T["webhook_silent_window"]}])) > 0 '
         'and sum(increase(tokyghl_webhook_requests_total{status="202"}[1d])) > 0',
         "Toky webhooks stopped arriving while the poller finds new activity",
         "Check the webhook subscriptions (`toky-ghl webhooks list`), the proxy in front "
         "of the receiver and WEBHOOK_SECRET; the poller keeps the sync going meanwhile."),
    Rule("TokyGhlWebhookUnauthorizedBurst", "warning",
         f'sum(increase(tokyghl_webhook_unauthorized_total[{T["unauthorized_window"]}])) '
         f'> {T["unauthorized_burst"]}',
         "Many webhook requests with a missing or wrong token: someone may be guessing the "
         "secret",
         "Look at the receiver's webhook.unauthorized log lines (remote address); block "
         "it at the proxy; rotate WEBHOOK_SECRET if it may have leaked."),
    Rule("TokyGhlDeleteBurst", "warning",
         f'sum(increase(tokyghl_events_queued_total{{type=~".+\\\\.deleted"}}'
         f'[{T["delete_window"]}])) > {T["delete_burst"]}',
         f"More than {T['delete_burst']} deletes queued in {T['delete_window']}",
         "Was it intended (a cleanup in Toky)? If not, stop the workers, inspect the "
         "queue in Flower, and find who deletes in Toky."),
    Rule("TokyGhlEventRateRise", "warning",
         f'{_QUEUED_RATE.format(w="10m")} > {T["rise_factor"]} * {_QUEUED_RATE.format(w="1d")} '
         f'and {_QUEUED_RATE.format(w="10m")} * 60 > {T["rise_min_per_minute"]}',
         f"Events per minute are more than {T['rise_factor']}x the last day's mean",
         "A backfill, a bulk import in Toky, or requests that are not Toky's: see events "
         "by source and type on the dashboard."),
]


def render() -> str:
    """The Prometheus rules file."""
    head = ("# Generated from toky_ghl/metrics/alerts.py (thresholds: THRESHOLDS there):\n"
            "#   python -m toky_ghl.metrics.alerts > deploy/prometheus/alerts.yml\n"
            "# Tested by deploy/prometheus/alerts_test.yml (promtool test rules).\n")
    groups = {"groups": [{"name": "toky-ghl", "rules": [r.as_prometheus() for r in RULES]}]}
    return head + yaml.safe_dump(groups, sort_keys=False, width=100, allow_unicode=True)


def evaluate_now(snap: Snapshot) -> list[dict[str, Any]]:
    """Each rule's state now: ``firing``, ``ok`` or ``needs history`` (a rate)."""
    out = []
    for rule in RULES:
        state = "needs history" if rule.now is None else "firing" if rule.now(snap) else "ok"
        out.append({"alert": rule.name, "severity": rule.severity, "state": state,
                    "summary": rule.summary})
    return out


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")


def format_alerts(alerts: list[dict[str, Any]]) -> list[str]:
    """The status lines: each alert firing now, then how many were judged."""
    firing = [a for a in alerts if a["state"] == "firing"]
    judged = sum(1 for a in alerts if a["state"] != "needs history")
    lines = [f"alert         FIRING {a['alert']} ({a['severity']}): {a['summary']}"
             for a in firing]
    lines.append(f"alerts        {len(firing)} firing of {judged} judged now; "
                 f"{len(alerts) - judged} need Prometheus' history (toky-ghl metrics)")
    return lines
